"""`flows check` holds every text to the plain-language rules, with file:line and the numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.flows.content import TextEntry
from bot.flows.plain import check_plain, english_likelihood, reading_ease

from support import MINI, UI_FILE
from test_terminal import run_cli

PLAIN = "Tell people what was decided and why. Say when it will happen."
DENSE = (
    "Operationalisation of participatory governance necessitates institutional "
    "accountability mechanisms commensurate with devolved decision-making responsibilities."
)


def entry(text: str, line: int = 3, file: str = "content/en/x.yaml") -> TextEntry:
    return TextEntry(text, file, line)


def messages(texts: dict[str, dict[str, TextEntry]]) -> list[str]:
    return [str(f) for f in check_plain(texts)]


def test_the_measure_tells_plain_from_dense() -> None:
    """The reading-ease measure really separates plain wording from dense jargon."""
    assert reading_ease(PLAIN) >= 65 > 30 > reading_ease(DENSE)


def test_plain_texts_pass() -> None:
    """Short plain English and its Welsh give no finding."""
    texts = {
        "en": {"x.q": entry(PLAIN + " " + PLAIN)},
        "cy": {
            "x.q": entry(
                "Dywedwch wrth bobl beth gafodd ei benderfynu a pham.", 4, "content/cy/x.yaml"
            )
        },
    }
    assert messages(texts) == []


def test_long_sentence_label_and_text_are_measured() -> None:
    """A sentence over 30 words and a text over 700 characters are each named."""
    long_sentence = " ".join(["word"] * 31) + "."
    texts = {
        "en": {
            "x.q": entry(long_sentence, 5),
            "x.help": entry("Short words. " * 60, 7),
        }
    }
    found = messages(texts)
    assert (
        "content/en/x.yaml:5: text 'x.q' (en) has a sentence of 31 words ('word word word word "
        "word word …'); keep sentences to 30 (split it into two sentences)" in found
    )
    assert (
        "content/en/x.yaml:7: text 'x.help' (en) is 780 characters; keep texts to 700 "
        "(split it, or move detail into a help text)" in found
    )


def test_hard_english_scores_are_given() -> None:
    """A hard English text is named with its score, and the file with its average."""
    found = messages({"en": {"x.q": entry(DENSE)}})
    score = round(reading_ease(DENSE))
    assert found == [
        f"content/en/x.yaml:3: text 'x.q' scores {score} for reading ease; aim for 30 or more "
        "(use shorter words and shorter sentences)",
        f"content/en/x.yaml:1: the English texts in this file average {score} for reading ease; "
        "aim for 65 or more (plain English) (rewrite the lowest-scoring texts in shorter words "
        "and sentences)",
    ]


def test_english_in_the_welsh_file_is_caught() -> None:
    """Welsh that is its English unchanged, or that reads as English, is named."""
    english = "Is the decision still open, or has it been made already?"
    texts = {
        "en": {"x.q": entry(english), "x.r": entry("Who decides?")},
        "cy": {
            "x.q": entry(english, 8, "content/cy/x.yaml"),
            "x.r": entry("Please tell us who decides this in the end.", 9, "content/cy/x.yaml"),
        },
    }
    likely = english_likelihood("Please tell us who decides this in the end.")
    assert messages(texts) == [
        "content/cy/x.yaml:8: Welsh text 'x.q' is the same as its English (translate it, or ask "
        "a Welsh speaker to)",
        f"content/cy/x.yaml:9: Welsh text 'x.r' reads as English ({likely:.0%} likely) "
        "(translate it, or check it was pasted into the right file)",
    ]


def test_flows_check_runs_the_rules_and_lenient_softens_them(tmp_path: Path) -> None:
    """`flows check` exits 1 on a 31-word sentence; `--lenient` reports it as a warning."""
    shutil.copytree(MINI, tmp_path / "mini")
    shutil.copy(UI_FILE, tmp_path / "mini" / "content" / "en" / "ui.yaml")
    texts = tmp_path / "mini" / "content" / "en" / "mini.yaml"
    long_sentence = " ".join(["word"] * 31)
    texts.write_text(texts.read_text().replace("open: Is it open?", f"open: {long_sentence}?"))
    done = run_cli(["flows", "check", str(tmp_path / "mini")], cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "has a sentence of 31 words" in done.stderr
    lenient = run_cli(["flows", "check", "--lenient", str(tmp_path / "mini")], cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "warning: text 'mini.q.open' (en) has a sentence of 31 words" in lenient.stdout
