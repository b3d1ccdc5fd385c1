"""The benchmark's flow: five choice questions of three options each, then a result.

Its questions are ``record_only``: the bench measures the cost of a turn, not
advice, so most options lead to the same result on purpose, which the strict
"every answer counts" check would otherwise refuse (and the bot would not
start). ``tests/test_bench.py`` holds it to ``flows check``.

Written to a temporary folder laid out as ``flows/`` and ``content/en/`` (the
project's ``ui.yaml`` and ``levels.yaml`` are copied in, since the loader
requires every text the bot itself says). The peers mirror its wording, so
every bot sends messages of about the same size.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.sources import PROJECT_ROOT

QUESTIONS = 5
OPTIONS = ("a", "b", "c")

QUESTION_TEXTS = [
    "Is the decision still open to change?",
    "Can power over the decision really be shared?",
    "Does the decision need specialist judgement?",
    "What resources come with the decision?",
    "Who stays accountable for the outcome?",
]
OPTION_TEXTS = ["Yes, fully", "Partly", "No"]
RESULT_TEXT = (
    "Recommendation: Inform\n\n"
    "Tell people clearly what has been decided, why, and what they can still influence.\n\n"
    "Why: You said the decision is open and that power can be shared, but the rest of "
    "your answers point to informing people well first.\n\n"
    "Caution: Accountability stays with you. Say so plainly, and say who to contact.\n\n"
    "Next steps: explain what was decided; tell people early; use plain words."
)
"""What the peers send as the result: about the size of ours for the first-option path."""

FLOW_YAML = """\
id: bench
version: 1
title: bench.title
audience: staff
start: q1
questions:
{questions}
recommendations:
  inform:
    label: level.inform
    summary: bench.inform.summary
    ladder: bench.ladder
    spectrum: bench.spectrum
    next_steps: [bench.step.what, bench.step.early, bench.step.plain]
  consult:
    label: level.consult
    summary: bench.consult.summary
    ladder: bench.ladder
    spectrum: bench.spectrum
  co_produce:
    label: level.co_produce
    summary: bench.co_produce.summary
    ladder: bench.ladder
    spectrum: bench.spectrum
outcomes:
  - id: open_and_shared
    when: {{all: [{{fact: q1, is: a}}, {{fact: q2, is: a}}]}}
    recommend: inform
    reasons: [bench.reason.open]
    next_steps: [bench.step.contact]
  - id: specialist
    when: {{fact: q3, is: b}}
    recommend: co_produce
    reasons: [bench.reason.specialist]
  - id: otherwise
    recommend: consult
    reasons: [bench.reason.default]
cautions:
  - id: accountable
    when: {{fact: q5, is: a}}
    title: bench.caution.title
    why: bench.caution.why
    do: bench.caution.do
"""


def flow_yaml() -> str:
    questions = []
    for i in range(1, QUESTIONS + 1):
        questions.append(f"  - id: q{i}\n    text: bench.q{i}\n    record_only: true\n    options:")
        questions.extend(f"      - {{id: {o}, label: bench.o.{o}}}" for o in OPTIONS)
    return FLOW_YAML.format(questions="\n".join(questions))


def content_yaml() -> str:
    lines = ["bench.title: Bench flow"]
    lines += [f'bench.q{i}: "{t}"' for i, t in enumerate(QUESTION_TEXTS, start=1)]
    lines += [f'bench.o.{o}: "{t}"' for o, t in zip(OPTIONS, OPTION_TEXTS, strict=True)]
    lines += [
        'bench.inform.summary: "Tell people clearly what has been decided, why, and what '
        'they can still influence."',
        'bench.consult.summary: "Ask people for their views before deciding, and report back."',
        'bench.co_produce.summary: "Share the decision and the resources that come with it."',
        'bench.ladder: "Tokenism on Arnstein\'s ladder."',
        'bench.spectrum: "Inform on the IAP2 spectrum."',
        'bench.reason.open: "The decision is open and power can be shared, so start by '
        'informing people well."',
        'bench.reason.specialist: "Specialist judgement is needed."',
        'bench.reason.default: "Nothing pointed elsewhere."',
        'bench.step.what: "Explain what was decided."',
        'bench.step.early: "Tell people early."',
        'bench.step.plain: "Use plain words."',
        'bench.step.contact: "Say who to contact."',
        'bench.caution.title: "Accountability stays with you"',
        'bench.caution.why: "People need to know who answers for the outcome."',
        'bench.caution.do: "Say so plainly, and say who to contact."',
    ]
    return "\n".join(lines) + "\n"


def write_project(root: Path, *, with_project_flows: bool = False) -> tuple[Path, Path]:
    """Lay out ``root/flows`` and ``root/content/en``; (flows dir, content dir).

    ``with_project_flows`` also copies the shipped ``plan`` flow and its wording,
    so a database full of real ``plan`` sessions stays readable (only that
    flow: another one half-way through an edit must not stop the bench).
    """
    flows = root / "flows"
    content = root / "content"
    (content / "en").mkdir(parents=True, exist_ok=True)
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "bench.yaml").write_text(flow_yaml(), encoding="utf-8")
    (content / "en" / "bench.yaml").write_text(content_yaml(), encoding="utf-8")
    shipped = PROJECT_ROOT / "content" / "en"
    wanted = ["ui.yaml", "levels.yaml"]
    if with_project_flows:
        shutil.copy(PROJECT_ROOT / "flows" / "plan.yaml", flows / "plan.yaml")
        # plan's own wording, and the texts flows share (places, synonyms); not
        # the other flows' own files
        others = {f"{p.stem}.yaml" for p in (PROJECT_ROOT / "flows").glob("*.yaml")} - {"plan.yaml"}
        wanted = sorted({*wanted, *(p.name for p in shipped.glob("*.yaml"))} - others)
    for name in wanted:
        shutil.copy(shipped / name, content / "en" / name)
    return flows, content
