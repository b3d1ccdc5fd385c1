"""`flows check` finds answers that change nothing in the advice, by searching paths."""

from __future__ import annotations

import time

from test_loader import edit, line_of

from bot.advice.counts import every_answer_counts
from bot.advice.loader import Source, load
from bot.advice.uitext import UI
from bot.flows.yamltext import parse

from support import MINI, UI_FILE, load_flow_text, mini_text, source

LATER = """      - id: no
        label: mini.o.no
        next: result
      - id: later
        label: mini.o.later
"""
EXTRA = {"extra.yaml": "mini:\n  o:\n    later: Later\n    training: Training\n"}
"""Labels of their own for the options these tests add: two options reading alike are
refused on their own, before any search."""


def warnings(text: str) -> list[str]:
    """Every finding: an answer that changes nothing is an error, unless lenient."""
    found = load_flow_text(text, EXTRA).findings
    return [str(f) for f in found if f.file != "extra.yaml"]  # unused where not added


def test_option_that_changes_nothing_is_found_at_its_line() -> None:
    """An option that gives the same advice as another wherever it is chosen gets a finding."""
    text = edit("      - id: no\n        label: mini.o.no\n        next: result\n", LATER)
    found = warnings(text)
    expected = (
        f"flow.yaml:{line_of(text, '- id: later')}: option 'later' of question "
        "'open' changes nothing in the advice on any path where it can be chosen"
    )
    assert any(f.startswith(expected) for f in found), found
    # 'yes' and 'later' give the same advice everywhere; 'no' still counts.
    assert any("option 'yes' of question 'open' changes nothing" in f for f in found)
    assert not any("option 'no' of question 'open'" in f for f in found)


def test_record_only_question_is_exempt() -> None:
    """A free-text question for the record only is not reported; without the mark, it is."""
    assert warnings(mini_text()) == []
    unmarked = edit("    record_only: true\n", "")
    found = warnings(unmarked)
    assert any(
        f.startswith(
            f"flow.yaml:{line_of(unmarked, '- id: about')}: the answer of question "
            "'about' changes nothing"
        )
        for f in found
    ), found


def test_multi_option_counts_when_dropping_it_changes_the_advice() -> None:
    """'staff' shows a reason when picked; a second option that shows nothing is reported."""
    text = edit(
        "      - id: staff\n        label: mini.o.staff\n",
        "      - id: staff\n        label: mini.o.staff\n"
        "      - id: training\n        label: mini.o.training\n",
    )
    found = warnings(text)
    assert any("option 'training' of question 'resources' changes nothing" in f for f in found)
    assert not any("option 'staff' of question 'resources'" in f for f in found)


def test_conditional_step_never_shown_is_reported() -> None:
    """A step whose condition never holds with its rule is reported where it is written."""
    text = edit(
        "    next_steps: [mini.step.rule]\n",
        "    next_steps:\n      - text: mini.step.rule\n        when: {fact: open, is: no}\n",
    )
    found = warnings(text)
    line = line_of(text, "- text: mini.step.rule")
    assert any(
        f.startswith(f"flow.yaml:{line}: step 'mini.step.rule' is never shown") for f in found
    ), found


def test_search_budget_ends_with_a_finding() -> None:
    """A search that runs out of budget ends quickly with a finding instead of running on."""
    text = edit("      - id: no\n        label: mini.o.no\n        next: result\n", LATER)
    catalog = load(
        [Source("flow.yaml", text, stem="mini")],
        [
            source(MINI / "content" / "en" / "mini.yaml", "en"),
            source(UI_FILE, "en"),
            *(Source(name, text, locale="en") for name, text in EXTRA.items()),
        ],
        required_texts=[u.value for u in UI],
        lenient=True,
    ).unwrap()
    started = time.monotonic()
    found = every_answer_counts(catalog.flows["mini"], "flow.yaml", parse(text), budget=1)
    assert time.monotonic() - started < 5
    said = " ".join(str(f) for f in found)
    assert "could not tell whether it ever changes the advice" in said, found
    assert "too many ways through to try them all (stopped after 1 partly" in said
    assert "states" not in said
