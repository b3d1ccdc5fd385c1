"""What every peer says: the bench flow's wording, as ours renders it.

No import from ``bot``: a peer is a different bot. ``bench.flow`` writes the
same wording into the flow ours loads, so messages are of the same size.
"""

from __future__ import annotations

import os

TITLE = "Bench flow"
QUESTIONS = [
    "Is the decision still open to change?",
    "Can power over the decision really be shared?",
    "Does the decision need specialist judgement?",
    "What resources come with the decision?",
    "Who stays accountable for the outcome?",
]
OPTIONS = ["Yes, fully", "Partly", "No"]
BACK = "« Back"
AGAIN = "Start again"
MENU = "Main menu"

RESULT_HTML = (
    "<b>Recommendation: Inform</b>\n\n"
    "Tell people clearly what has been decided, why, and what they can still influence.\n\n"
    "<b>Why</b>\n\n"
    "• The decision is open and power can be shared, so start by informing people well.\n\n"
    "<b>Cautions</b>\n\n"
    "⚠ 1. Accountability stays with you"
)
"""Ours' result card for the first-option path, byte for byte (checked by ``bench.run``)."""


def question_html(number: int) -> str:
    return f"<b>Question {number} of about {len(QUESTIONS)}</b>\n{QUESTIONS[number - 1]}"


def chosen_html(number: int, option: int) -> str:
    return f"{question_html(number)}\n\n<b>→ {OPTIONS[option]}</b>"


def settings() -> tuple[str, str]:
    """(token, base url such as http://127.0.0.1:PORT) from the environment."""
    return os.environ["BENCH_TOKEN"], os.environ["BENCH_API_BASE"]
