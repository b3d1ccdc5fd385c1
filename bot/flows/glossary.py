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

from bot.flows.content import TextEntry
from bot.flows.findings import Finding, Severity
from bot.flows.yamltext import Document

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
    """The glossary in ``doc``, with a finding for each entry that is malformed."""
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
        lists = {key: _words(entry.get(key)) for key in ("en", "cy", "forbidden")}
        if any(v is None for v in lists.values()) or not lists["en"] or not lists["cy"]:
            findings.append(Finding(file, line, "en and cy need a word or a list of words", _SHAPE))
            continue
        terms.append(Term(lists["en"] or (), lists["cy"] or (), lists["forbidden"] or (), line))
    return Glossary(file, tuple(terms)), findings


_SHAPE = "terms: [{en: [consult*], cy: [ymgynghor*], forbidden: [...]}]; see docs/admin.md"


def _words(value: object) -> tuple[str, ...] | None:
    """A field's words: one string or a list of them; ``None`` when it is neither."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return tuple(v.strip() for v in value)


def check_glossary(
    glossary: Glossary,
    welsh: Mapping[str, TextEntry],
    english: Mapping[str, TextEntry],
) -> list[Finding]:
    """Welsh texts that use a forbidden variant, or miss the term their English uses.

    A forbidden variant inside a longer accepted term is fine:
    ``cyfieithwyr`` is wrong alone but right in ``cyfieithwyr ar y pryd``.
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
