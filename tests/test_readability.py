"""Every text is plain and short enough for a phone, measured, in both languages.

The bar (also in the README): each English text of twelve words or more
scores at least 30 on the Flesch reading ease scale, and each file's texts
average at least 65 ("plain English"; 60-70 is what most adults read
easily). No reading-ease formula is validated for Welsh, so Welsh texts are
held to the same length limits instead: sentences of at most 30 words,
button labels of at most 32 characters, texts of at most 700 characters.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest
import textstat

from bot.flows.content import TextEntry, collect_texts
from bot.flows.yamltext import parse

CONTENT = Path(__file__).resolve().parent.parent / "content"
FILES = ["plan", "check", "ui"]


def texts(locale: str, name: str) -> dict[str, TextEntry]:
    path = CONTENT / locale / f"{name}.yaml"
    found: dict[str, TextEntry] = {}
    collect_texts(path.name, parse(path.read_text(encoding="utf-8")), found, [])
    return found


@pytest.mark.parametrize("name", FILES)
def test_english_reading_ease(name: str) -> None:
    """Each longer English text reads easily enough, and so does the file as a whole."""
    scored = {
        text_id: textstat.flesch_reading_ease(entry.text)
        for text_id, entry in texts("en", name).items()
        if len(entry.text.split()) >= 12
    }
    assert scored, "there are texts to measure"
    hard = {k: round(v) for k, v in scored.items() if v < 30}
    assert not hard, f"rewrite in shorter words and sentences: {hard}"
    assert statistics.mean(scored.values()) >= 65


def test_the_measure_tells_plain_from_dense() -> None:
    """The measure used really separates plain wording from dense jargon."""
    plain = "Tell people what was decided and why. Say when it will happen."
    dense = (
        "Operationalisation of participatory governance necessitates institutional "
        "accountability mechanisms commensurate with devolved decision-making responsibilities."
    )
    assert textstat.flesch_reading_ease(plain) >= 65 > 30 > textstat.flesch_reading_ease(dense)


@pytest.mark.parametrize("locale", ["en", "cy"])
@pytest.mark.parametrize("name", FILES)
def test_lengths_fit_a_phone(locale: str, name: str) -> None:
    """Sentences, labels and texts stay short in every language."""
    for text_id, entry in texts(locale, name).items():
        assert len(entry.text) <= 700, text_id
        if ".o." in text_id:
            assert len(entry.text) <= 32, text_id
        for sentence in re.split(r"(?<=[.!?])\s+", entry.text):
            assert len(sentence.split()) <= 30, (text_id, sentence)
