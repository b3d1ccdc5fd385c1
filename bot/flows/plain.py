"""Plain language for a phone: the wording rules ``flows check`` measures, with the numbers.

People read the advice on a phone, often under pressure, in English or
Welsh. The bar (README, "English and Welsh"): sentences of at most 30 words
and texts of at most 700 characters, in both languages (button labels are
held to what a phone shows whenever a flow loads, with Telegram's limits);
each English text of twelve words or more scores at least 30 on the Flesch
reading ease scale and each file's English texts average at least 65
("plain English"). No reading-ease formula is validated for Welsh,
so Welsh is held to the lengths, and to being Welsh: a Welsh text that is
its English unchanged, or that a language detector reads as English, was
pasted in untranslated.

Each finding is a strict error (``--lenient`` makes it a warning) at the
text's ``file:line``, with the measured number and the limit, so an admin
sees how far off a text is. Pure: texts in, findings out.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from bot.flows.content import TextEntry
from bot.flows.findings import Finding

if TYPE_CHECKING:
    from lingua import LanguageDetector

SENTENCE_WORDS = 30
TEXT_CHARS = 700
EASE_TEXT = 30
"""The lowest Flesch reading ease for one English text of ``EASE_MIN_WORDS`` words or more."""
EASE_FILE = 65
"""The lowest average Flesch reading ease of a file's English texts."""
EASE_MIN_WORDS = 12
"""Shorter texts are not scored: the formula means little on a few words."""
ENGLISH_LIKELY = 0.8
"""How sure the detector must be that a Welsh text is English before saying so."""
DETECT_MIN_WORDS = 4
"""Shorter texts are not detected ('2 i 6 mis' looks English to any detector)."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def check_plain(texts: Mapping[str, Mapping[str, TextEntry]]) -> list[Finding]:
    """Every text held to the plain-language rules."""
    findings: list[Finding] = []
    for locale, table in sorted(texts.items()):
        for text_id, entry in table.items():
            findings.extend(_lengths(locale, text_id, entry))
    findings.extend(_reading_ease(texts.get("en", {})))
    findings.extend(_welsh(texts.get("cy", {}), texts.get("en", {})))
    return findings


def _strict(entry: TextEntry, message: str, hint: str) -> Finding:
    return Finding(entry.file, entry.line, message, hint, strict=True)


def _lengths(locale: str, text_id: str, entry: TextEntry) -> list[Finding]:
    found: list[Finding] = []
    text = entry.text
    if len(text) > TEXT_CHARS:
        found.append(
            _strict(
                entry,
                f"text '{text_id}' ({locale}) is {len(text)} characters; "
                f"keep texts to {TEXT_CHARS}",
                "split it, or move detail into a help text",
            )
        )
    for sentence in _SENTENCE_END.split(text):
        words = len(sentence.split())
        if words > SENTENCE_WORDS:
            start = " ".join(sentence.split()[:6])
            found.append(
                _strict(
                    entry,
                    f"text '{text_id}' ({locale}) has a sentence of {words} words "
                    f"('{start} …'); keep sentences to {SENTENCE_WORDS}",
                    "split it into two sentences",
                )
            )
    return found


def reading_ease(text: str) -> float:
    """The Flesch reading ease of an English text: higher is easier; 60 to 70 is plain."""
    import textstat

    return float(textstat.flesch_reading_ease(text))


def _reading_ease(english: Mapping[str, TextEntry]) -> list[Finding]:
    found: list[Finding] = []
    by_file: dict[str, list[float]] = {}
    for text_id, entry in english.items():
        if len(entry.text.split()) < EASE_MIN_WORDS:
            continue
        score = reading_ease(entry.text)
        by_file.setdefault(entry.file, []).append(score)
        if score < EASE_TEXT:
            found.append(
                _strict(
                    entry,
                    f"text '{text_id}' scores {score:.0f} for reading ease; "
                    f"aim for {EASE_TEXT} or more",
                    "use shorter words and shorter sentences",
                )
            )
    for file, scores in sorted(by_file.items()):
        average = statistics.mean(scores)
        if average < EASE_FILE:
            found.append(
                Finding(
                    file,
                    1,
                    f"the English texts in this file average {average:.0f} for reading ease; "
                    f"aim for {EASE_FILE} or more (plain English)",
                    "rewrite the lowest-scoring texts in shorter words and sentences",
                    strict=True,
                )
            )
    return found


@cache
def _detector() -> LanguageDetector:
    """A detector that knows only English and Welsh: the one question asked of it."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.WELSH).build()


def english_likelihood(text: str) -> float:
    """How likely (0 to 1) the detector thinks ``text`` is English rather than Welsh."""
    from lingua import Language

    return float(_detector().compute_language_confidence(text, Language.ENGLISH))


def _welsh(welsh: Mapping[str, TextEntry], english: Mapping[str, TextEntry]) -> list[Finding]:
    found: list[Finding] = []
    for text_id, entry in welsh.items():
        words = _WORD.findall(_PLACEHOLDER.sub(" ", entry.text))
        if len(words) < 2:
            continue
        same = text_id in english and english[text_id].text == entry.text
        if not same and len(words) < DETECT_MIN_WORDS:
            continue
        likely = english_likelihood(entry.text)
        if same and likely >= 0.5:
            found.append(
                _strict(
                    entry,
                    f"Welsh text '{text_id}' is the same as its English",
                    "translate it, or ask a Welsh speaker to",
                )
            )
        elif likely >= ENGLISH_LIKELY:
            found.append(
                _strict(
                    entry,
                    f"Welsh text '{text_id}' reads as English ({likely:.0%} likely)",
                    "translate it, or check it was pasted into the right file",
                )
            )
    return found
