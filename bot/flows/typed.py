"""How typed words are read, per locale: the words that never pick an option by themselves,
and the number and unit words of durations (read by ``bot.flows.durations``).

The words are content, not code: each locale lists them in its
``synonyms.yaml`` under ``typed.*`` ids (see ``VOCABULARY``), so a new
language needs no Python. A locale without them still matches safely (the
matcher is strict by itself); it only loses number words, durations and the
"all" and "and" of multi-select answers. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

TYPED = "typed."
"""The prefix of the ids that hold a locale's typed-word lists (in ``synonyms.yaml``)."""
SYNONYMS_SUFFIX = ".synonyms"
NOT = "typed.not.synonyms"
"""Words that turn a meaning round (not, never, ddim): a reply with one is asked about.
This and the other lists may be split in parts: ``typed.not.<part>.synonyms``."""
FILLER = "typed.filler.synonyms"
"""Words that carry no answer of their own (the, it, we): never enough to pick an option."""
AND = "typed.and.synonyms"
"""Words that join several picks of a multi-select question ("budget and staff")."""
ALONE = "typed.alone.synonyms"
"""Unit words that mean one of the unit said alone ("pythefnos", "blwyddyn", "fortnight")."""
ALL = "typed.all.synonyms"
"""Replies meaning every option of a multi-select question that can be combined."""
_NUMBER = re.compile(r"^typed\.number\.(\d+)\.synonyms$")
"""``typed.number.2.synonyms: [two]``: the words for a number."""
_UNIT = re.compile(r"^typed\.unit\.(\d+)\.synonyms$")
"""``typed.unit.7.synonyms: [week, weeks]``: the words for a unit of time, keyed by its days."""
COMMAND = "ui.command."
"""Command words (back, help, nol, ...): a reply that is or holds one is never an answer."""
SKIP_COMMAND = "ui.command.skip"
"""The one command word an option may carry as a synonym: "skip" for "Rather not say"."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The typed words of one locale, as ``plain_words``; commands are every locale's."""

    negations: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()
    joins: frozenset[str] = frozenset()
    all_words: frozenset[str] = frozenset()
    commands: frozenset[str] = frozenset()
    skip_words: frozenset[str] = frozenset()
    numbers: Mapping[str, int] = field(default_factory=dict)
    units: Mapping[str, int] = field(default_factory=dict)
    alone: frozenset[str] = frozenset()
    """Days per unit word: day 1, week 7, fortnight 14, month 30, year 365."""


def vocabulary(texts: Mapping[str, Mapping[str, str]]) -> dict[str, Vocabulary]:
    """Each locale's ``Vocabulary`` from its texts (text id to text, lists joined by newlines)."""
    commands = frozenset(
        _fold(text)
        for table in texts.values()
        for text_id, text in table.items()
        if text_id.startswith(COMMAND) and text_id != SKIP_COMMAND
    ) | frozenset(
        _fold(text_id.removeprefix(COMMAND))
        for table in texts.values()
        for text_id in table
        if text_id.startswith(COMMAND) and text_id != SKIP_COMMAND
    )
    skips = frozenset(_fold(t.get(SKIP_COMMAND, "")) for t in texts.values()) - {""}
    found = {}
    for locale, table in texts.items():
        numbers: dict[str, int] = {}
        units: dict[str, int] = {}
        for text_id, text in table.items():
            if not text_id.startswith(TYPED):
                continue
            if number := _NUMBER.match(text_id):
                numbers.update(dict.fromkeys(_words(text), int(number.group(1))))
            elif unit := _UNIT.match(text_id):
                units.update(dict.fromkeys(_words(text), int(unit.group(1))))
        found[locale] = Vocabulary(
            negations=_listed(table, NOT),
            fillers=_listed(table, FILLER),
            joins=_listed(table, AND),
            all_words=_listed(table, ALL),
            alone=_listed(table, ALONE),
            commands=commands,
            skip_words=skips,
            numbers=numbers,
            units=units,
        )
    return found


def _listed(table: Mapping[str, str], list_id: str) -> frozenset[str]:
    """The words of ``list_id`` and of its parts: ``typed.not.synonyms`` and, say,
    ``typed.not.contractions.synonyms`` (short lists read better than one long one)."""
    stem = list_id.removesuffix(SYNONYMS_SUFFIX) + "."
    return frozenset().union(
        *(
            _words(text)
            for text_id, text in table.items()
            if text_id == list_id
            or (text_id.startswith(stem) and text_id.endswith(SYNONYMS_SUFFIX))
        )
    )


def _words(text: str) -> frozenset[str]:
    """Each line of a word list as ``plain_words``, accents kept (Welsh 'siŵr' stays)."""
    from bot.flows.catalog import plain_words  # catalog builds vocabularies: import late

    return frozenset(w for line in text.split("\n") if (w := plain_words(line)))


def _fold(words: str) -> str:
    """``plain_words`` without accents, so 'nôl' reads as the command word 'nol'."""
    from bot.flows.catalog import plain_words

    decomposed = unicodedata.normalize("NFKD", plain_words(words))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


fold = _fold
"""How command words are compared: ``plain_words`` without accents."""
