"""The glossary: one Welsh word for each key term, held to in every text.

Translation tools and new translators drift: ``cyd-gynhyrchu`` for the
statutory ``cydgynhyrchu``, ``cyfieithwyr`` (translators) for interpreters.
``content/glossary.yaml`` names the key English terms, the Welsh term that
renders them and the Welsh variants not to use; this module reads it and
checks the Welsh texts against their English counterparts (same text id).

Welsh words change their first letter after certain words (``ei
gydgynhyrchu``, ``fy nghydgynhyrchu``, ``a chydgynhyrchu``), so a Welsh
term counts in any of its mutated forms; ``mutations`` holds those rules on
their own. Pure: it takes a parsed document and texts, never a path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.flows.catalog import SYNONYMS
from bot.flows.content import TextEntry
from bot.flows.findings import Finding, Severity
from bot.flows.yamltext import Document, Path

SOFT = {"p": "b", "t": "d", "c": "g", "b": "f", "d": "dd", "g": "", "m": "f", "ll": "l", "rh": "r"}
"""Soft mutation (treiglad meddal): ``cynnig`` → ``gynnig``, ``gwaith`` → ``waith``."""
NASAL = {"p": "mh", "t": "nh", "c": "ngh", "b": "m", "d": "n", "g": "ng"}
"""Nasal mutation (treiglad trwynol): ``cydgynhyrchu`` → ``nghydgynhyrchu``."""
ASPIRATE = {"p": "ph", "t": "th", "c": "ch"}
"""Aspirate mutation (treiglad llaes): ``cynnig`` → ``chynnig``."""
UNMUTATED = ("ch", "dd", "ff", "ng", "ph", "th")
"""Welsh letters written with two characters that never mutate: ``ch`` is not ``c``."""
VOWELS = "aeiouwyâêîôûŵŷ"
"""A word starting with one of these takes ``h`` after ``ei`` (her), ``eu``, ``ein``."""

FIELDS = ("en", "cy", "forbidden", "why")
"""What an entry may hold; ``why`` is for people (the source of the term)."""
WELSH = "cy"
"""The locale whose texts the glossary checks (the mutation rules are Welsh)."""
ENGLISH = "en"
"""The locale whose texts say which terms a Welsh text must use."""


def mutations(word: str) -> frozenset[str]:
    """Every form ``word`` can take at its start: radical, soft, nasal, aspirate.

    Lower case; ``h`` before a vowel (``ei hadnoddau``) counts as a form too.
    """
    lower = word.lower()
    forms = {lower}
    if not lower or lower.startswith(UNMUTATED):
        return frozenset(forms)
    initial = lower[:2] if lower.startswith(("ll", "rh")) else lower[:1]
    rest = lower[len(initial) :]
    for table in (SOFT, NASAL, ASPIRATE):
        if initial in table and table[initial] + rest:
            forms.add(table[initial] + rest)
    if initial in VOWELS:
        forms.add("h" + lower)
    return frozenset(forms)


def term_pattern(term: str, *, welsh: bool) -> str:
    """A regular expression for ``term`` as a whole word (or phrase).

    A trailing ``*`` lets the last word go on (``consult*`` matches
    ``consultation``). In Welsh the first word may be in any mutated form.
    """
    stem = term.strip()
    open_end = stem.endswith("*")
    words = stem.rstrip("*").split()
    if not words:
        raise ValueError(f"no word in glossary term {term!r}: read_glossary refuses it")
    first = mutations(words[0]) if welsh else {words[0].lower()}
    head = "|".join(re.escape(f) for f in sorted(first, key=len, reverse=True))
    tail = "".join(r"\s+" + re.escape(w) for w in words[1:])
    end = r"\w*" if open_end else r"(?!\w)"
    return rf"(?<!\w)(?:{head}){tail}{end}"


def _compile(terms: Sequence[str], *, welsh: bool) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile("|".join(term_pattern(t, welsh=welsh) for t in terms), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary entry: the English words, their Welsh, and Welsh to avoid."""

    english: tuple[str, ...]
    welsh: tuple[str, ...]
    forbidden: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Glossary:
    """The terms of ``content/glossary.yaml`` and the file they came from."""

    file: str
    terms: tuple[Term, ...]


def read_glossary(file: str, doc: Document) -> tuple[Glossary, list[Finding]]:
    """The glossary in ``doc``, with a finding for each entry that is malformed.

    Only terms that ``term_pattern`` can match reach the ``Glossary``: an
    admin's slip (``'*'``, an empty word, a number) is a finding at its line,
    never an exception in the check that follows.
    """
    findings: list[Finding] = []
    entries = doc.data.get("terms") if isinstance(doc.data, Mapping) else None
    if not isinstance(entries, list):
        findings.append(
            Finding(file, doc.line(()), "the glossary must have a list under 'terms:'", _SHAPE)
        )
        return Glossary(file, ()), findings
    terms: list[Term] = []
    for i, entry in enumerate(entries):
        line = doc.line(("terms", i))
        if not isinstance(entry, Mapping):
            findings.append(Finding(file, line, "a glossary entry must be a mapping", _SHAPE))
            continue
        unknown = sorted(str(k) for k in entry if k not in FIELDS)
        if unknown:
            findings.append(
                Finding(file, line, f"unknown glossary field(s): {', '.join(unknown)}", _SHAPE)
            )
        lists: dict[str, tuple[str, ...]] = {}
        problems: list[Finding] = []
        for key in ("en", "cy", "forbidden"):
            lists[key] = _words(file, doc, ("terms", i, key), entry.get(key), problems)
        findings.extend(problems)
        if problems:
            continue
        if not lists["en"] or not lists["cy"]:
            findings.append(Finding(file, line, "en and cy need a word or a list of words", _SHAPE))
            continue
        terms.append(Term(lists["en"], lists["cy"], lists["forbidden"], line))
    return Glossary(file, tuple(terms)), findings


_SHAPE = "terms: [{en: [consult*], cy: [ymgynghor*], forbidden: [...]}]; see docs/admin.md"
_WORD = re.compile(r"\w")


def _words(
    file: str, doc: Document, path: Path, value: object, problems: list[Finding]
) -> tuple[str, ...]:
    """A field's words: one string or a list of them, each a term ``term_pattern`` can match.

    Each word that is not one is a finding at its own line in ``problems``.
    """
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.append(
            Finding(
                file,
                doc.line(path),
                f"'{path[-1]}' must be a word or a list of words, not {_kind(value)}",
                _SHAPE,
            )
        )
        return ()
    words: list[str] = []
    for j, item in enumerate(items):
        where = doc.line(path if isinstance(value, str) else (*path, j))
        problem = _term_problem(item)
        if problem is None:
            words.append(str(item).strip())
        else:
            problems.append(Finding(file, where, f"'{path[-1]}': {problem}", _TERM))
    return tuple(words)


_TERM = "a word or phrase, with '*' only at its end to let the last word go on: consult*"


def _term_problem(item: object) -> str | None:
    """What makes ``item`` no glossary term, or None if it is one.

    ``term_pattern`` escapes every character, so a regex metacharacter only
    matches itself; what it cannot take is a term with no word in it.
    """
    if not isinstance(item, str):
        return f"{_kind(item)} is not a word; quote it if it is one"
    stem = item.strip()
    if not stem:
        return "an empty word"
    body = stem.rstrip("*")
    shown = stem if len(stem) <= 40 else stem[:39] + "…"
    if not body.strip():
        return f"'{shown}' has no word before the '*'"
    if "*" in body:
        return f"'{shown}' has a '*' inside it; a '*' may only end a term"
    if not _WORD.search(body):
        return f"'{shown}' has no letter or digit, so it would match punctuation, not a word"
    return None


def _kind(value: object) -> str:
    """What YAML made of a value, in an admin's words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    return f"a {type(value).__name__}"


def check_glossary(
    glossary: Glossary,
    welsh: Mapping[str, TextEntry],
    english: Mapping[str, TextEntry],
) -> list[Finding]:
    """Welsh texts that use a forbidden variant, or miss the term their English uses.

    A forbidden variant inside a longer accepted term is fine:
    ``cyfieithwyr`` is wrong alone but right in ``cyfieithwyr ar y pryd``.
    Synonym lists are skipped: they hold what people type ("cymryd drosodd"
    may be typed), not what the bot says.
    """
    findings: list[Finding] = []
    compiled = [
        (
            term,
            _compile(term.english, welsh=False),
            _compile(term.welsh, welsh=True),
            _compile(term.forbidden, welsh=True),
        )
        for term in glossary.terms
    ]
    for text_id, entry in welsh.items():
        if text_id.rsplit(".", 1)[-1] == SYNONYMS:
            continue
        counterpart = english.get(text_id)
        for term, en, cy, forbidden in compiled:
            if en is None or cy is None:  # read_glossary keeps no entry without both
                continue
            accepted = [m.span() for m in cy.finditer(entry.text)]
            reported = False
            for bad in forbidden.finditer(entry.text) if forbidden else ():
                start, end = bad.span()
                if any(s <= start and end <= e and (s, e) != (start, end) for s, e in accepted):
                    continue
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"'{bad.group()}' in '{text_id}': the glossary's Welsh for "
                        f"'{term.english[0]}' is '{term.welsh[0]}'",
                        f"see {glossary.file}:{term.line}",
                    )
                )
                reported = True
            used = en.search(counterpart.text) if counterpart else None
            if used and not accepted and not reported:
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"'{text_id}': the English says '{used.group()}' but the Welsh has no "
                        f"form of '{term.welsh[0]}'",
                        f"the glossary's entry is {glossary.file}:{term.line}",
                        Severity.WARNING,
                    )
                )
    return findings
