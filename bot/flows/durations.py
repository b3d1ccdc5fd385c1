"""Typed durations ("3 months", "two weeks", "dau fis", "pythefnos") as a number of days.

A choice option may carry ``days: [from, under]``; a typed duration picks
the one option whose range holds it. The words for numbers and units are
content (``typed.number.*`` and ``typed.unit.*`` in each locale's
``synonyms.yaml``, see ``bot.flows.typed``), so this module holds no
language. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MAX_DIGITS = 4
"""'9999 days' is read; a longer number is not a duration anyone means."""


def days_in(
    words: str,
    numbers: Mapping[str, int],
    units: Mapping[str, int],
    fillers: frozenset[str] = frozenset(),
    alone: frozenset[str] = frozenset(),
) -> int | None:
    """The days a typed duration means, or None if ``words`` is not exactly one duration.

    ``words`` are ``plain_words``. A duration is a unit word with an optional
    count before it, in digits or a number word: "3 months", "two weeks", "a
    year", "year", "12 wythnos", "dau fis". Fillers may come first ("about 3
    months"). Anything else ("3 to 6 months", "under 2 months", "1 year 2
    months") is not read, so it is never taken for a duration it does not say.
    A unit without a count is one of it only if listed in ``alone``: Welsh
    "blwyddyn" is "a year", but "months" could be any number of them.
    """
    parts = words.split()
    while parts and parts[0] in fillers and parts[0] not in numbers:
        parts = parts[1:]
    if not parts or parts[-1] not in units:
        return None
    unit = units[parts[-1]]
    counted = parts[:-1]
    if not counted:
        return unit if parts[-1] in alone else None
    count = " ".join(counted)  # "un ar ddeg", "a couple of": number words may be phrases
    if count.isdecimal() and len(count) <= MAX_DIGITS:
        return int(count) * unit
    if count in numbers:
        return numbers[count] * unit
    return None


def holds(days: Sequence[int | None] | None, value: int) -> bool:
    """Whether an option's ``days: [from, under]`` holds ``value`` (under null: no end)."""
    if days is None or len(days) != 2 or days[0] is None:
        return False
    start, under = days
    return start <= value and (under is None or value < under)
