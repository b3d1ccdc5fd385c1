"""`flows check` proves the advice over every path: dead rules, dead branches, broken guarantees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_loader import edit, line_of

from bot.advice.explore import Explorer
from bot.advice.loader import Source, load
from bot.advice.testing import generate_flow
from bot.advice.uitext import UI
from bot.flows.findings import Severity

from support import MINI, UI_FILE, fixture_catalog, load_flow_text, mini_text


def findings(text: str) -> tuple[list[str], list[str]]:
    """Errors and warnings of the proofs; answers that change nothing: see test_counts.py."""
    report = load_flow_text(text)
    proved = [f for f in report.findings if "changes nothing in the advice" not in f.message]
    errs = [str(f) for f in proved if f.severity is Severity.ERROR]
    warns = [str(f) for f in proved if f.severity is Severity.WARNING]
    return errs, warns


GUARANTEE = """
guarantees:
  - id: none_means_no_consult
    when: {fact: resources, has: none}
    never_recommend: [consult]
"""


def test_the_tests_own_flows_prove_clean() -> None:
    """The tests' plan and check flows load with no error, and the plan flow's promises hold."""
    catalog = fixture_catalog()
    assert {"plan", "check"} <= set(catalog.flows)
    assert catalog.flows["plan"].model.guarantees, "the staff flow declares guarantees"


def test_broken_guarantee_is_an_error_with_a_path() -> None:
    """A guarantee the rules break is reported with a concrete path of answers."""
    text = mini_text() + GUARANTEE
    errs, _ = findings(text)
    assert errs == [
        f"flow.yaml:{line_of(text, '- id: none_means_no_consult')}: guarantee "
        "'none_means_no_consult' is broken: answering about=…, open=yes, resources=[none] "
        "gives consult (change the outcome rules or cautions so this path keeps the promise)"
    ]


def test_kept_guarantee_is_silent() -> None:
    """A guarantee every path keeps produces no finding."""
    text = mini_text() + GUARANTEE.replace(
        "never_recommend: [consult]", "never_recommend: [inform]"
    )
    assert findings(text) == ([], [])


def test_must_caution_and_must_include() -> None:
    """must_caution and must_include are checked against the caution and texts actually shown."""
    text = mini_text() + (
        "guarantees:\n"
        "  - id: caution_when_closed\n"
        "    if_recommend: [inform]\n"
        "    must_caution: [no_resources]\n"
        "  - id: shared_names_change\n"
        "    if_recommend: [co_produce]\n"
        "    must_include: [mini.c.shared]\n"
    )
    errs, _ = findings(text)
    assert len(errs) == 1
    assert (
        "guarantee 'caution_when_closed' is broken: answering about=…, open=no gives inform "
        "without the caution no_resources" in errs[0]
    )


def test_shadowed_outcome_is_a_warning_naming_the_earlier_rule() -> None:
    """A rule an earlier rule always pre-empts is reported with the rule that wins."""
    text = edit(
        "  - id: otherwise\n",
        "  - id: also_closed\n    when: {fact: open, is: no}\n    recommend: consult\n"
        "  - id: otherwise\n",
    )
    _, warns = findings(text)
    assert any(
        w.startswith(
            f"flow.yaml:{line_of(text, '- id: also_closed')}: warning: outcome "
            "'also_closed' is never given: an earlier rule always matches first "
            "(e.g. 'closed' for about=…, open=no)"
        )
        for w in warns
    ), warns


def impossible_caution_reason_and_branch() -> str:
    """The mini flow with a caution, a reason and a branch whose conditions never hold."""
    text = edit(
        "    when: {fact: resources, has: none}\n    title:",
        "    when: {all: [{fact: resources, has: none}, {fact: accountable, is: yes}]}\n    title:",
    )
    text = text.replace(
        "        when: {fact: resources, has: staff}",
        "        when: {fact: resources, has: none}",
    )
    return text.replace(
        "      - goto: accountable",
        "      - when: {fact: resources, has: none}\n"
        "        goto: accountable\n"
        "      - goto: accountable",
    )


def test_impossible_caution_and_reason_are_errors_and_branch_a_warning() -> None:
    """A caution or reason that can never show stops the load; a dead branch is a warning."""
    errs, warns = findings(impossible_caution_reason_and_branch())
    assert len(errs) == 2, errs
    assert "caution 'no_resources' is never raised" in errs[0] + errs[1]
    assert "reason 'mini.r.staff' is never shown with outcome 'shared'" in errs[0] + errs[1]
    assert ["branch to 'accountable' is never taken" in w for w in warns] == [True]


def test_lenient_keeps_them_as_warnings() -> None:
    """``lenient`` (``--lenient`` while drafting) loads the same flow with the two as warnings."""
    report = load(
        [Source("flow.yaml", impossible_caution_reason_and_branch(), stem="mini")],
        [
            Source("mini.yaml", (MINI / "content" / "en" / "mini.yaml").read_text(), locale="en"),
            Source("ui.yaml", UI_FILE.read_text(), locale="en"),
        ],
        required_texts=[u.value for u in UI],
        lenient=True,
    )
    assert report.catalog is not None
    warns = [
        str(f)
        for f in report.findings
        if f.severity is Severity.WARNING and "changes nothing in the advice" not in f.message
    ]
    assert len(warns) == 3, warns
    assert not [f for f in report.findings if f.severity is Severity.ERROR]


def test_guarantee_about_no_path_is_an_error() -> None:
    """A guarantee whose condition holds on no path would always pass, so it is refused."""
    text = mini_text() + GUARANTEE.replace(
        "when: {fact: resources, has: none}",
        "when: {all: [{fact: resources, has: none}, {fact: accountable, is: yes}]}",
    )
    errs, _ = findings(text)
    assert errs == [
        f"flow.yaml:{line_of(text, '- id: none_means_no_consult')}: guarantee "
        "'none_means_no_consult' proves nothing: no path has its condition (check the values "
        "its when: tests against the options; a promise about no path always passes)"
    ]


def test_generated_flow_of_300_questions_checks() -> None:
    """A 300-question generated flow loads and is proved without a finding."""
    flow_text, content_text = generate_flow(300)
    report = load(
        [Source("generated.yaml", flow_text, stem="generated")],
        [
            Source("gen.yaml", content_text, locale="en"),
            Source("ui.yaml", UI_FILE.read_text(), locale="en"),
        ],
        required_texts=[u.value for u in UI],
    )
    assert [str(f) for f in report.findings] == []
    explorer = Explorer(report.unwrap().flows["generated"])
    assert explorer.branches_taken()


def many_facts_flow(options: int) -> tuple[str, str]:
    """One multi-select whose every option sets its own fact, and one caution reading them
    all: listing every subset of the options would be 2**options paths."""
    lines = ["id: w", "version: 1", "title: w.s", "audience: staff", "start: pick"]
    lines += ["questions:", "  - id: pick", "    kind: multi", "    text: w.s", "    options:"]
    lines += [f"      - {{id: o{i}, label: w.s, set: {{f{i}: true}}}}" for i in range(options)]
    lines += ["recommendations:"]
    lines += [f"  {lv}: {{label: w.s, summary: w.s, ladder: w.s, spectrum: w.s}}" for lv in LEVELS]
    every = ", ".join(f"{{fact: f{i}, is: true}}" for i in range(options))
    lines += ["outcomes:", "  - id: all", "    recommend: consult", "    reasons: [w.s]"]
    lines += ["cautions:", "  - id: every", f"    when: {{all: [{every}]}}"]
    lines += ["    title: w.s", "    why: w.s", "    do: w.s"]
    return "\n".join(lines) + "\n", "w.s: Some text.\n"


def grid_flow(questions: int, options: int) -> tuple[str, str]:
    """Choice questions in a row and one caution reading every answer."""
    ids = "abcdefgh"[:options]
    lines = ["id: w", "version: 1", "title: w.s", "audience: staff", "start: q0"]
    lines += ["questions:"]
    for i in range(questions):
        lines += [f"  - id: q{i}", "    text: w.s", "    options:"]
        lines += [f"      - {{id: {o}, label: w.s}}" for o in ids]
    lines += ["recommendations:"]
    lines += [f"  {lv}: {{label: w.s, summary: w.s, ladder: w.s, spectrum: w.s}}" for lv in LEVELS]
    every = ", ".join(f"{{fact: q{i}, is: {ids[i % options]}}}" for i in range(questions))
    lines += ["outcomes:", "  - id: all", "    recommend: consult", "    reasons: [w.s]"]
    lines += ["cautions:", "  - id: every", f"    when: {{all: [{every}]}}"]
    lines += ["    title: w.s", "    why: w.s", "    do: w.s"]
    return "\n".join(lines) + "\n", "w.s: Some text.\n"


LEVELS = ("inform", "consult", "co_produce")


@pytest.mark.parametrize(
    "made", [lambda: many_facts_flow(30), lambda: grid_flow(10, 4)], ids=["30-option", "10x4"]
)
def test_hostile_flows_are_proved_or_refused_in_bounded_time_and_memory(made) -> None:
    """A 30-option multi-select of facts, and ten 4-option questions read by one rule:
    each is proved, or refused with a file:line finding, within 10 s and 300 MB."""
    flow, content = made()
    script = (
        "import sys, time\n"
        "from bot.advice.loader import Source, load\n"
        "from bot.advice.uitext import UI\n"
        "from pathlib import Path\n"
        "flow, content, ui = sys.argv[1], sys.argv[2], Path(sys.argv[3]).read_text()\n"
        "start = time.monotonic()\n"
        "report = load([Source('flow.yaml', flow, stem='w')],\n"
        "    [Source('w.yaml', content, locale='en'), Source('ui.yaml', ui, locale='en')],\n"
        "    required_texts=[u.value for u in UI])\n"
        "took = time.monotonic() - start\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across exec,
        # so a large pytest process would count against this child.
        "status = Path('/proc/self/status').read_text()\n"
        "peak = int(status.split('VmHWM:')[1].split()[0]) / 1024\n"
        "print(f'{took:.2f} {peak:.0f}')\n"
        "for f in report.findings: print(f)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, flow, content, str(UI_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures, *found = done.stdout.splitlines()
    took, peak = map(float, figures.split())
    assert took < 10, f"{took:.1f} s"
    assert peak < 300, f"{peak:.0f} MB"
    refused = [f for f in found if "cannot be proved" in f]
    assert not refused or refused[0].startswith("flow.yaml:7: "), refused


@pytest.mark.parametrize(
    ("guarantee", "kept", "broken"),
    [
        (
            "handover_without_lasting_resources",
            "        - {fact: handover_support, in: [short, none]}\n"
            "    title: plan.caution.no_resources.title",
            "    title: plan.caution.no_resources.title",
        ),
        (
            "handover_stepping_away",
            '    when: {fact: accountable, is: "no"}\n    title: plan.caution.abdication.title',
            '    when: {all: [{fact: accountable, is: "no"}, {fact: handover, is: "no"}]}\n'
            "    title: plan.caution.abdication.title",
        ),
    ],
)
def test_a_broken_copy_of_the_handover_promises_gets_a_counterexample(
    project: Path, guarantee: str, kept: str, broken: str
) -> None:
    """Weakening the caution a handover guarantee relies on fails flows check with a path."""
    flow = project / "flows" / "plan.yaml"
    text = flow.read_text(encoding="utf-8")
    assert kept in text, "the staff flow still words this caution as the test expects"
    flow.write_text(text.replace(kept, broken, 1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "check", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    out = done.stdout + done.stderr
    said = [line for line in out.splitlines() if f"guarantee '{guarantee}' is broken" in line]
    assert said, out
    assert "answering " in said[0]
    assert "handover=" in said[0]


def test_never_include_is_checked_against_the_texts_shown() -> None:
    """A text a result must never show is reported with a path that shows it; kept, silent."""
    promise = (
        "guarantees:\n"
        "  - id: shared_only_when_coproducing\n"
        "    if_recommend: [{level}]\n"
        "    never_include: [mini.c.shared]\n"
    )
    text = mini_text() + promise.format(level="co_produce")
    errs, _ = findings(text)
    assert len(errs) == 1, errs
    assert errs[0].startswith(f"flow.yaml:{line_of(text, '- id: shared_only_when_coproducing')}")
    assert "guarantee 'shared_only_when_coproducing' is broken: answering" in errs[0]
    assert "gives co_produce with mini.c.shared" in errs[0]
    assert findings(mini_text() + promise.format(level="inform")) == ([], [])
