"""Scenario files admins write: the shipped ones pass, and failures read as a diff."""

from __future__ import annotations

import pytest

from bot.advice.scenarios import (
    Scenario,
    ScenarioOutcome,
    add_answer,
    format_report,
    parse_scenarios,
    run_scenarios,
    succeeded,
)
from bot.sources import PROJECT_ROOT, project_catalog

from support import fixture_catalog

TESTS_DIR = PROJECT_ROOT / "flows" / "tests"
SCENARIO_FILES = sorted(TESTS_DIR.glob("*.yaml"))


def read(path) -> tuple[list[Scenario], list]:
    return parse_scenarios(str(path.relative_to(PROJECT_ROOT)), path.read_text(encoding="utf-8"))


def run_text(text: str, name: str = "flows/tests/x.yaml") -> list[ScenarioOutcome]:
    scenarios, findings = parse_scenarios(name, text)
    assert findings == []
    return run_scenarios(fixture_catalog(), scenarios)


def one(answers: str, expect: str) -> ScenarioOutcome:
    """A single plan scenario from inline YAML fragments."""
    (outcome,) = run_text(
        f"flow: plan\nscenarios:\n  - name: case\n    answers: {answers}\n    expect: {expect}\n"
    )
    return outcome


FOOTPATH = '["Closing the footpath", skip, made, us, "no", "no"]'


# --- The shipped files ------------------------------------------------------------


def test_there_are_scenario_files_for_every_flow():
    flows = set(project_catalog().flows)
    assert {p.stem for p in SCENARIO_FILES} >= flows


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_shipped_scenarios_pass(path):
    scenarios, findings = read(path)
    assert findings == []
    assert scenarios
    outcomes = run_scenarios(project_catalog(), scenarios)
    assert succeeded(outcomes), format_report(outcomes)
    assert all(s.flow == path.stem for s in scenarios)


def test_shipped_scenarios_reach_every_level_their_flows_give():
    """Each level a shipped flow can recommend is expected by at least one of its scenarios."""
    catalog = project_catalog()
    for path in SCENARIO_FILES:
        scenarios, _ = read(path)
        levels = {o.model.recommend for o in catalog.flows[path.stem].outcomes}
        assert {s.expect.recommend for s in scenarios} >= levels, path.name


def test_scenarios_remember_where_they_were_written():
    scenarios, _ = read(TESTS_DIR / "plan.yaml")
    lines = (TESTS_DIR / "plan.yaml").read_text(encoding="utf-8").splitlines()
    for scenario in scenarios:
        assert lines[scenario.line - 1].strip() == f"- name: {scenario.name}"


# --- Passing and failing -------------------------------------------------------------


def test_a_matching_scenario_passes_and_keeps_the_result():
    outcome = one(
        FOOTPATH, "{recommend: inform, outcome: decision_made, cautions: [fixed_outcome]}"
    )
    assert outcome.passed
    assert outcome.problems == ()
    assert outcome.result is not None
    assert outcome.result.outcome_id == "decision_made"


def test_wrong_recommendation_names_expected_and_got():
    outcome = one(FOOTPATH, "{recommend: co_produce}")
    assert not outcome.passed
    assert outcome.problems == ("recommend: expected: co_produce / got: inform",)


def test_wrong_outcome_names_expected_and_got():
    outcome = one(FOOTPATH, "{recommend: inform, outcome: no_power}")
    assert outcome.problems == ("outcome: expected: no_power / got: decision_made",)


def test_misspelt_outcome_is_pointed_out():
    outcome = one(FOOTPATH, "{recommend: inform, outcome: decison_made}")
    (problem,) = outcome.problems
    assert "flow 'plan' has no outcome rule 'decison_made'" in problem


def test_wrong_caution_set_shows_missing_and_unexpected():
    outcome = one(FOOTPATH, "{recommend: inform, cautions: [abdication, no_feedback]}")
    assert outcome.problems == (
        "cautions: missing: {abdication, no_feedback} / unexpected: {fixed_outcome}",
    )


def test_no_cautions_expected_shows_unexpected_only():
    outcome = one(FOOTPATH, "{recommend: inform, cautions: []}")
    assert outcome.problems == ("cautions: unexpected: {fixed_outcome}",)


def test_cautions_include_checks_a_subset():
    assert one(FOOTPATH, "{recommend: inform, cautions_include: [fixed_outcome]}").passed
    outcome = one(FOOTPATH, "{recommend: inform, cautions_include: [fixed_outcome, abdicaton]}")
    (problem,) = outcome.problems
    assert problem.startswith("cautions_include: missing: {abdicaton} / got: {fixed_outcome}")
    assert "no caution 'abdicaton'" in problem


def test_every_mismatch_is_listed():
    outcome = one(
        FOOTPATH, "{recommend: consult, outcome: specialist, cautions: [], cautions_include: [x]}"
    )
    assert [p.split(":")[0] for p in outcome.problems] == [
        "recommend",
        "outcome",
        "cautions",
        "cautions_include",
    ]


def test_refused_answer_says_which_and_why():
    outcome = one('["the footpath", skip, maybe, "no"]', "{recommend: inform}")
    (problem,) = outcome.problems
    assert problem.startswith("answer 3 (\"maybe\") to question 'decision' was refused: ")
    assert "Please pick one of the options: type its number (1 to 3) or its words." in problem
    assert outcome.result is None


def test_refused_multi_answer_shows_the_hint():
    outcome = one(
        '[x, skip, open, "yes", longer, "no", "no", "budget,none"]', "{recommend: consult}"
    )
    (problem,) = outcome.problems
    assert "answer 8 (\"budget,none\") to question 'resources' was refused" in problem
    assert "None of these yet" in problem  # the option's label, not its id


def test_answers_running_out_name_the_question_reached():
    outcome = one("[x, skip, open]", "{recommend: consult}")
    (problem,) = outcome.problems
    assert problem == (
        "the answers ran out at question 4, 'power' (Could the people affected share in "
        "making this decision?), before the result"
    )


def test_answers_left_over_after_the_result():
    outcome = one('[x, skip, made, us, "no", "no", "yes", "no"]', "{recommend: inform}")
    assert outcome.problems == ("the result was reached after answer 6; answers 7 to 8 not used",)
    outcome = one('[x, skip, made, us, "no", "no", "yes"]', "{recommend: inform}")
    assert outcome.problems == ("the result was reached after answer 6; answer 7 not used",)


def test_numbers_and_labels_are_typed_answers():
    outcome = one('[x, 6, 3, 1, 2, "No"]', "{recommend: inform, outcome: decision_made}")
    assert outcome.passed
    outcome = one(
        '[x, "rather NOT say", "it\'s ALREADY made", "we did (my organisation)", "NO", 3]',
        "{recommend: inform, outcome: decision_made}",
    )
    assert outcome.passed


def test_unknown_flow_fails_the_scenario():
    (outcome,) = run_text(
        "flow: nope\nscenarios:\n  - name: a\n    answers: [x]\n    expect: {recommend: inform}\n"
    )
    loaded = ", ".join(sorted(fixture_catalog().flows))
    assert outcome.problems == (f"flow 'nope' is not loaded (loaded: {loaded})",)


def test_unknown_locale_fails_the_scenario():
    (outcome,) = run_text(
        "flow: plan\nlocale: fr\nscenarios:\n  - name: a\n    answers: [x]\n"
        "    expect: {recommend: inform}\n"
    )
    assert outcome.problems == ("no texts for locale 'fr' (known: en, cy)",)


# --- Malformed files -------------------------------------------------------------


def findings_for(text: str) -> list[str]:
    scenarios, findings = parse_scenarios("flows/tests/bad.yaml", text)
    assert scenarios == []
    assert findings
    return [str(f) for f in findings]


def test_yaml_syntax_error_has_file_and_line():
    assert findings_for("flow: plan\nscenarios:\n  - name: a\n    answers: [x, y\n")[0].startswith(
        "flows/tests/bad.yaml:5: not valid YAML"
    )


def test_missing_and_misspelt_keys_have_file_and_line():
    found = findings_for(
        "flow: plan\n"
        "scenarios:\n"
        "  - name: a\n"
        "    answers: [x]\n"
        "    expect:\n"
        "      recomend: inform\n"
    )
    assert (
        "flows/tests/bad.yaml:6: unknown key 'recomend' (check the spelling against the "
        "scenario format at the top of flows/tests/plan.yaml)"
    ) in found
    assert any(
        f.startswith(
            "flows/tests/bad.yaml:5: scenario 1 ('a'), expect: the required key 'recommend' "
            "is missing"
        )
        for f in found
    ), found
    assert all("docs/admin.md" not in f for f in found)


def test_bad_values_have_file_and_line():
    found = findings_for(
        "flow: plan\n"
        "scenarios:\n"
        "  - name: a\n"
        "    answers: [x, true]\n"
        "    expect: {recommend: involve}\n"
        "  - name: b\n"
        "    answers: []\n"
        "    expect: {recommend: inform}\n"
    )
    assert found == [
        "flows/tests/bad.yaml:4: scenario 1 ('a'), answer 2: expected text or an id, got "
        "true/false",
        "flows/tests/bad.yaml:5: scenario 1 ('a'), expect.recommend: 'involve' is not one of "
        "'inform', 'consult' or 'co_produce'",
        "flows/tests/bad.yaml:7: scenario 2 ('b'), answers: must not be empty (add at least "
        "one entry)",
    ]


def test_duplicate_names_are_refused():
    found = findings_for(
        "flow: plan\n"
        "scenarios:\n"
        "  - name: a\n"
        "    answers: [x]\n"
        "    expect: {recommend: inform}\n"
        "  - name: a\n"
        "    answers: [y]\n"
        "    expect: {recommend: inform}\n"
    )
    assert found[0].startswith(
        "flows/tests/bad.yaml:6: duplicate scenario name 'a' (also on line 3)"
    )


@pytest.mark.parametrize("text", ["", "- a\n", "just words\n"])
def test_not_a_mapping(text):
    assert findings_for(text)[0].startswith(
        "flows/tests/bad.yaml:1: a scenario file must be a mapping with flow: and scenarios:"
    )


def test_aliases_are_refused_like_in_flows():
    found = findings_for("flow: plan\nx: &a [1]\nscenarios: *a\n")
    assert found[0].startswith("flows/tests/bad.yaml:3: YAML aliases")


# --- The report ------------------------------------------------------------------


def test_report_lists_passes_and_failure_blocks():
    outcomes = run_text(
        "flow: plan\n"
        "scenarios:\n"
        "  - name: Footpath\n"
        f"    answers: {FOOTPATH}\n"
        "    expect: {recommend: inform}\n"
        "  - name: Footpath, wrongly\n"
        f"    answers: {FOOTPATH}\n"
        "    expect: {recommend: consult, cautions: []}\n",
        name="flows/tests/plan.yaml",
    )
    assert format_report(outcomes).splitlines() == [
        "ok  flows/tests/plan.yaml: Footpath",
        "FAIL  flows/tests/plan.yaml:6: Footpath, wrongly",
        "    recommend: expected: consult / got: inform",
        "    cautions: unexpected: {fixed_outcome}",
        "1 passed, 1 failed",
    ]
    assert not succeeded(outcomes)


def test_report_puts_findings_first_and_counts_them():
    _, findings = parse_scenarios("flows/tests/bad.yaml", "flow: plan\n")
    outcomes = run_text(
        f"flow: plan\nscenarios:\n  - name: ok\n    answers: {FOOTPATH}\n"
        "    expect: {recommend: inform}\n"
    )
    report = format_report(outcomes, findings).splitlines()
    assert report[0].startswith("flows/tests/bad.yaml:1: the required key 'scenarios' is missing")
    assert report[-1] == "1 passed, 0 failed, 1 problem in scenario files"
    assert not succeeded(outcomes, findings)
    assert succeeded(outcomes)


# --- Answers keyed by question id --------------------------------------------------

KEYED = """\
flow: plan
defaults:
  about: A decision
  where: skip
  decider: us
  handover: "no"
scenarios:
  - name: block
    answers:
      decision: made   # a comment that stays
    expect: {recommend: inform, outcome: decision_made}
  - name: flow style
    answers: {about: The footpath, decision: made}
    expect: {recommend: inform}
  - name: other path
    answers: {decision: open, power: "no", asked_before: "no"}
    expect: {recommend: inform, outcome: no_power}
"""


def test_keyed_answers_with_defaults_run_and_say_where_they_ran_out():
    """Answers by question id, filled from defaults:, run out at a named question with a fix."""
    block, flowed, other = run_text(KEYED)
    assert other.passed, other.problems
    assert block.ran_out_at == flowed.ran_out_at == "asked_before"
    assert block.problems == (
        "the answers ran out at question 6, 'asked_before' (Have these people been asked about "
        "this, or something like it, before?), before the result: add 'asked_before: ...' to "
        "its answers (or to defaults:)",
    )


def test_keyed_answers_name_unknown_and_unused_questions():
    """A misspelt question id is named with a suggestion; an answer the path never asks too."""
    (typo,) = run_text(
        "flow: plan\nscenarios:\n  - name: a\n    answers: {about: x, decison: made}\n"
        "    expect: {recommend: inform}\n"
    )
    assert typo.problems == (
        "answers: flow 'plan' has no question 'decison' (did you mean 'decision'?)",
    )
    (unused,) = run_text(
        "flow: plan\nscenarios:\n  - name: a\n    answers: {about: x, where: skip, decision: made, "
        'decider: us, handover: "no", power: "yes", asked_before: "no"}\n'
        "    expect: {recommend: inform}\n"
    )
    assert unused.problems == ("answers for 'power' not used: this path does not ask it",)


def test_add_answer_writes_into_block_and_flow_style_and_keeps_comments():
    """add_answer gives every scenario that runs out at the question its answer, in place."""
    text, notes = add_answer(fixture_catalog(), "x.yaml", KEYED, "asked_before", "no")
    assert notes == [
        'x.yaml:8: block: added asked_before: "no"',
        'x.yaml:13: flow style: added asked_before: "no"',
    ]
    assert '      decision: made   # a comment that stays\n      asked_before: "no"\n' in text
    assert 'answers: {about: The footpath, decision: made, asked_before: "no"}' in text
    assert all(o.passed for o in run_text(text)), [o.problems for o in run_text(text)]
    again, notes = add_answer(fixture_catalog(), "x.yaml", text, "asked_before", "no")
    assert (again, notes) == (text, [])
