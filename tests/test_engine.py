"""The engine takes answers in every accepted form, refuses the rest with a hint,
and keeps its invariants."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.advice import engine
from bot.advice.engine import Session, SessionError

from support import ScenarioError, advise, mini_catalog, walk

CATALOG = mini_catalog()
FLOW = CATALOG.flows["mini"]


def typed(session: Session, text: str) -> engine.Step:
    return engine.answer(FLOW, session, text, "en", "skip")


def test_start_is_at_the_first_question() -> None:
    """A new session waits on the flow's start question with nothing answered."""
    session = engine.start(FLOW)
    assert (session.question, session.history, dict(session.answers)) == ("about", (), {})


@pytest.mark.parametrize("text", ["2", "no", "NO", " No ", "nO"])
def test_choice_by_number_id_or_label_in_any_case(text: str) -> None:
    """A choice is taken by its number, its id, or its label typed in any case."""
    session = walk("mini", ["x"], CATALOG)
    step = typed(session, text)
    assert step.accepted
    assert step.session.answers["open"] == "no"


@pytest.mark.parametrize("text", ["3", "0", "maybe", "", "-1", "1.5"])
def test_choice_refuses_anything_else_with_a_hint(text: str) -> None:
    """Anything that is not an option leaves the session unchanged and says what to type."""
    session = walk("mini", ["x"], CATALOG)
    step = typed(session, text)
    assert not step.accepted
    assert step.session == session
    assert step.problem == engine.Problem("ui.hint.choice", {"count": 2})


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        ("1,2", ("budget", "staff")),
        ("2, 1", ("budget", "staff")),
        ("1 2", ("budget", "staff")),
        ("staff time; A BUDGET", ("budget", "staff")),
        ("2", ("staff",)),
        ("2,2", ("staff",)),
        ("none", ("none",)),
    ],
)
def test_multi_select_forms(text: str, picked: tuple[str, ...]) -> None:
    """A multi-select takes numbers, ids or labels, separated by commas, semicolons or spaces."""
    session = walk("mini", ["x", "yes"], CATALOG)
    step = typed(session, text)
    assert step.accepted, step.problem
    assert step.session.answers["resources"] == picked


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,3", engine.Problem("ui.hint.exclusive", {"option": "none"})),
        ("1,9", engine.Problem("ui.hint.multi_unknown", {"token": "9", "count": 3})),
        ("", engine.Problem("ui.hint.min_choices", {"count": 1})),
    ],
)
def test_multi_select_refusals(text: str, problem: engine.Problem) -> None:
    """An exclusive option with others, an unknown token or no pick at all is refused."""
    session = walk("mini", ["x", "yes"], CATALOG)
    step = typed(session, text)
    assert step.problem == problem
    assert step.session == session


def test_toggle_and_confirm_build_a_multi_answer() -> None:
    """Button toggles gather picks (an exclusive pick clears the others) and confirm answers."""
    session = walk("mini", ["x", "yes"], CATALOG)
    session = engine.toggle(FLOW, session, "staff").session
    session = engine.toggle(FLOW, session, "budget").session
    assert session.draft == ("budget", "staff")
    session = engine.toggle(FLOW, session, "none").session
    assert session.draft == ("none",)
    session = engine.toggle(FLOW, session, "budget").session
    assert session.draft == ("budget",)
    done = engine.confirm(FLOW, session).session
    assert done.answers["resources"] == ("budget",)
    assert done.question == "accountable"
    assert done.draft == ()


def test_text_answers_limits_and_skip() -> None:
    """Free text is trimmed, refused when empty or too long, and skippable when optional."""
    start = engine.start(FLOW)
    assert typed(start, "  a footpath  ").session.answers["about"] == "a footpath"
    assert typed(start, "   ").problem == engine.Problem("ui.hint.text_empty")
    assert typed(start, "x" * 21).problem == engine.Problem(
        "ui.hint.too_long", {"length": 21, "limit": 20}
    )
    skipped = typed(start, "SKIP").session
    assert skipped.answers["about"] == ""
    assert "about" not in engine.facts(FLOW, skipped)


def test_option_next_and_branches_route_the_flow() -> None:
    """An option's next wins; otherwise the first branch whose condition holds."""
    assert walk("mini", ["x", "no"], CATALOG).finished
    assert walk("mini", ["x", "yes", "none"], CATALOG).finished
    assert walk("mini", ["x", "yes", "1"], CATALOG).question == "accountable"


def test_back_forgets_the_answer_and_facts_follow_the_path() -> None:
    """Going back returns to the previous question and its answer no longer counts."""
    session = walk("mini", ["x", "yes", "budget"], CATALOG)
    assert engine.facts(FLOW, session)["funded"] is True
    back = engine.back(FLOW, session).session
    assert back.question == "resources"
    assert "resources" not in back.answers
    assert "funded" not in engine.facts(FLOW, back)
    assert engine.back(FLOW, engine.start(FLOW)).problem == engine.Problem("ui.hint.at_start")


def test_back_from_the_result_reopens_the_last_question() -> None:
    """After the result, back returns to the last question answered."""
    finished = walk("mini", ["x", "no"], CATALOG)
    assert engine.back(FLOW, finished).session.question == "open"


def test_answer_after_the_result_is_refused() -> None:
    """Once finished, answers are refused with a hint to restart."""
    finished = walk("mini", ["x", "no"], CATALOG)
    assert typed(finished, "1").problem == engine.Problem("ui.hint.finished")


def test_result_first_rule_wins_with_reasons_citing_answers() -> None:
    """The first matching outcome gives the level; reasons cite the answers they read."""
    result = advise("mini", ["x", "yes", "budget,staff", "yes"], CATALOG)
    assert (result.level, result.outcome_id) == ("co_produce", "shared")
    assert [(r.text, r.cited) for r in result.reasons] == [
        ("mini.r.shared", ("resources", "accountable")),
        ("mini.r.staff", ("resources",)),
    ]
    assert result.next_steps == ("mini.step.level", "mini.step.rule")
    assert result.would_change == ("mini.c.shared",)
    assert result.caution_ids == frozenset()


def test_conditional_reason_is_left_out_when_it_does_not_hold() -> None:
    """A reason with its own condition appears only when that condition holds."""
    result = advise("mini", ["x", "yes", "budget", "yes"], CATALOG)
    assert [r.text for r in result.reasons] == ["mini.r.shared"]


def test_default_rule_and_cautions() -> None:
    """Without a matching rule the default applies; every matching caution is listed."""
    result = advise("mini", ["x", "yes", "none"], CATALOG)
    assert (result.level, result.outcome_id) == ("consult", "otherwise")
    assert result.caution_ids == {"no_resources"}
    assert result.cautions[0].cited == ("resources",)


def test_advise_reports_a_refused_answer() -> None:
    """The scenario helper names the refused answer instead of carrying on."""
    with pytest.raises(ScenarioError, match=r"answer 2 \('maybe'\) to question 'open'"):
        advise("mini", ["x", "maybe"], CATALOG)


def test_session_json_round_trip_and_refusal() -> None:
    """A session survives JSON unchanged; a tampered one is refused, not trusted."""
    session = walk("mini", ["x", "yes", "1,2"], CATALOG)
    data = json.loads(json.dumps(session.to_json()))
    assert Session.from_json(data) == session
    data["history"] = ["about"]
    with pytest.raises(SessionError):
        Session.from_json(data)
    with pytest.raises(SessionError):
        Session.from_json({"format": 1})


inputs = st.one_of(
    st.sampled_from(["1", "2", "3", "1,2", "1,3", "yes", "no", "none", "skip", "", "x" * 30]),
    st.text(max_size=40),
    st.sampled_from(["<back>", "<restart>", "<confirm>", "<toggle:budget>", "<toggle:zzz>"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(inputs, max_size=25))
def test_any_input_sequence_keeps_the_session_valid(sequence: list[str]) -> None:
    """Whatever is typed, the session stays at a real question or the result and round-trips."""
    session = engine.start(FLOW)
    for text in sequence:
        if text == "<back>":
            session = engine.back(FLOW, session).session
        elif text == "<restart>":
            session = engine.start(FLOW)
        elif text == "<confirm>":
            session = engine.confirm(FLOW, session).session
        elif text.startswith("<toggle:"):
            session = engine.toggle(FLOW, session, text[8:-1]).session
        else:
            session = typed(session, text).session
        assert session.question is None or session.question in FLOW.questions
        assert set(session.history) == set(session.answers)
        assert Session.from_json(json.loads(json.dumps(session.to_json()))) == session
        if session.finished:
            assert engine.result(FLOW, session).level in {"inform", "consult", "co_produce"}
