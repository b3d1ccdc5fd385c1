"""The eight points of the argument (DOMAIN.md) and where the plan flow carries them.

Each point names the outcome rules, cautions and texts that reflect it. A
rule or caution comes with a scenario (answers as typed at the terminal)
that must actually fire it, so the table cannot drift from the flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import advise, fixture_catalog

FLOW = "plan"
FLOW_FILE = Path(__file__).resolve().parent / "data" / "advisor" / "flows" / f"{FLOW}.yaml"

Answers = tuple[str, ...]


def said(transcript: str) -> Answers:
    """Answers written as a transcript, ``"about | open | yes | ..."``."""
    return tuple(answer.strip() for answer in transcript.split("|"))


# Scenarios, in the flow's question order (see the top of flows/tests/plan.yaml).
FOOTPATH = said("closing the footpath behind the school | skip | made | us | no | no")
SOMEONE_ELSE_DECIDES = said("national benefit rules | skip | open | no | no | no")
SURGERY = said(
    "a new surgical procedure | skip | open | views | months | no | yes | outcomes | yes | no"
)
CO_PRODUCE = said(
    "the young carers' service | skip | open | yes | longer | no | no | "
    "budget,staff,training,support | yes | outcomes | yes | told"
)
STEPPING_BACK = said(
    "handing the sports hall to a trust | skip | open | yes | longer | no | no | budget,staff | "
    "no | outcomes | yes | no"
)
NO_RESOURCES = said(
    "looking after the park | skip | open | yes | longer | no | no | none | yes | outcomes | "
    "yes | no"
)
NEEDS_SUPPORT = said(
    "the day centre | skip | open | yes | longer | no | no | budget,staff,support | yes | "
    "outcomes | support | no"
)
SAVINGS_FIXED = said(
    "the library opening hours | skip | open | yes | longer | no | no | budget,staff | yes | "
    "money | yes | yes | no"
)
SHORT_TIME = said(
    "the summer activity programme | skip | open | yes | weeks | no | no | budget,staff | yes | "
    "outcomes | yes | no"
)
# The seed's own example: the worst of Community Asset Transfer. Views can
# shape how, the money lasts a year, the council steps away, it is for money.
LIBRARY_HANDOVER = said(
    "handing the library to volunteers | england | open | views | months | yes | short | no | "
    "no | no | money | yes | yes | no"
)


@dataclass(frozen=True)
class Point:
    """One point of the argument and the parts of the flow that carry it."""

    number: int
    claim: str
    rules: Mapping[str, Answers] = field(default_factory=dict)
    """Outcome rule id -> a scenario that fires it."""
    cautions: Mapping[str, Answers] = field(default_factory=dict)
    """Caution id -> a scenario that raises it."""
    texts: tuple[str, ...] = ()
    """Text ids whose wording carries the point."""


ARGUMENT = (
    Point(
        1,
        "Power is not pie: sharing power keeps the organisation responsible.",
        rules={"co_produce": CO_PRODUCE},
        cautions={"abdication": STEPPING_BACK},
        texts=(
            "plan.co_produce.summary",
            "plan.q.accountable.help",
            "plan.reason.co_produce",
            "plan.change.stay_answerable",
            "plan.co_produce.step.answerable",
            "plan.step.handover_answerable",
        ),
    ),
    Point(
        2,
        "Abdication is not empowerment.",
        rules={"not_ready": STEPPING_BACK, "handover": LIBRARY_HANDOVER},
        cautions={"abdication": LIBRARY_HANDOVER},
        texts=(
            "plan.reason.stepping_back",
            "plan.caution.abdication.why",
            "plan.q.handover",
            "plan.reason.handover",
        ),
    ),
    Point(
        3,
        "No power to share means inform, and that is right, not a failure.",
        rules={"decision_made": FOOTPATH, "no_power": SOMEONE_ELSE_DECIDES},
        cautions={"fixed_outcome": FOOTPATH},
        texts=(
            "plan.inform.summary",
            "plan.reason.decision_made",
            "plan.reason.no_power",
            "plan.step.no_mock_consultation",
        ),
    ),
    Point(
        4,
        "Not everything should be co-produced; specialist decisions are still consulted on.",
        rules={"specialist": SURGERY},
        texts=(
            "plan.q.expertise.help",
            "plan.reason.specialist",
            "plan.reason.some_specialist",
            "plan.consult.step.report_back",
        ),
    ),
    Point(
        5,
        "The ladder can become a cycle: responsibility without resources is manipulation.",
        rules={"not_ready": NO_RESOURCES},
        cautions={"no_resources": LIBRARY_HANDOVER, "needs_support": NEEDS_SUPPORT},
        texts=(
            "plan.q.resources.help",
            "plan.reason.no_resources",
            "plan.reason.handover_short",
            "plan.caution.no_resources.why",
        ),
    ),
    Point(
        6,
        "Money is a poor organising principle; savings should not be fixed in advance.",
        rules={"not_ready": SAVINGS_FIXED},
        cautions={"money_first": LIBRARY_HANDOVER},
        texts=("plan.q.savings.help", "plan.reason.savings_fixed", "plan.reason.savings_open"),
    ),
    Point(
        7,
        "It takes time, and usually several attempts.",
        rules={"time_short": SHORT_TIME},
        cautions={"takes_time": SHORT_TIME},
        texts=(
            "plan.reason.time_short",
            "plan.change.more_time",
            "plan.change.phasing",
            "plan.co_produce.step.rounds",
        ),
    ),
    Point(
        8,
        "The scale is not a moral ranking: each level is right in its place.",
        texts=(
            "level.inform",
            "plan.inform.summary",
            "plan.reason.views_only",
            "plan.reason.not_clear_yet",
            "plan.caution.fixed_outcome.do",
        ),
    ),
)

POINT_IDS = [f"point {p.number}" for p in ARGUMENT]


def _flow():
    return fixture_catalog().flows[FLOW].model


def _texts() -> Mapping[str, str]:
    return fixture_catalog().texts["en"]


def test_the_table_covers_all_eight_points():
    """The table lists the eight points of DOMAIN.md, once each, in order."""
    assert [p.number for p in ARGUMENT] == list(range(1, 9))


@pytest.mark.parametrize("point", ARGUMENT, ids=POINT_IDS)
def test_every_point_is_carried(point: Point):
    """Every point is reflected by at least one rule, caution or text."""
    assert point.rules or point.cautions or point.texts


@pytest.mark.parametrize("point", ARGUMENT, ids=POINT_IDS)
def test_named_ids_exist(point: Point):
    """Each rule and caution named exists in the flow; each text exists and the flow uses it."""
    flow = _flow()
    assert set(point.rules) <= {o.id for o in flow.outcomes}
    assert set(point.cautions) <= {c.id for c in flow.cautions}
    source = FLOW_FILE.read_text(encoding="utf-8")
    texts = _texts()
    for text_id in point.texts:
        assert texts.get(text_id, "").strip(), f"{text_id} has no English text"
        assert re.search(rf"\b{re.escape(text_id)}\b(?![.\w])", source), (
            f"{text_id} is not used by flows/{FLOW}.yaml"
        )


@pytest.mark.parametrize("point", [p for p in ARGUMENT if p.rules or p.cautions], ids=str)
def test_rules_and_cautions_fire(point: Point):
    """Each named rule and caution is triggered by its scenario."""
    for rule, answers in point.rules.items():
        assert advise(FLOW, answers).outcome_id == rule, (point.number, rule)
    for caution, answers in point.cautions.items():
        assert caution in advise(FLOW, answers).caution_ids, (point.number, caution)


# --- Point 8: not a moral ranking ---------------------------------------------

RANKING = re.compile(
    r"\b(only|merely|mere|just|simply|best|better|worse|worst|lowest|highest|lower|higher"
    r"|superior|inferior|ideal|gold[- ]standard|tokenistic|genuine|true|real|proper)\b",
    re.IGNORECASE,
)
"""Words that rank one level above another, or belittle one."""

BELITTLING = re.compile(
    r"\b(just|only|merely|simply|mere)\s+(inform|informing|consult|consulting|consultation)\b"
    r"|\bbetter than (inform|consult)|\bgold[- ]standard\b|\bthe best\b",
    re.IGNORECASE,
)
"""Phrases that belittle informing or consulting, checked in every text of the flow."""


@pytest.mark.parametrize(
    "ranking",
    [
        "Just inform people about it.",
        "You can only inform them.",
        "This is merely a consultation.",
        "Co-production is the best option.",
        "Co-production is better than consulting.",
        "Real engagement means co-production.",
    ],
)
def test_the_ranking_check_catches_ranking_words(ranking: str):
    """The word check below is not vacuous: it catches typical ranking phrases."""
    assert RANKING.search(ranking)


@pytest.mark.parametrize("level", ["inform", "consult", "co_produce"])
def test_no_summary_ranks_the_levels(level: str):
    """No recommendation summary uses words that rank or belittle a level."""
    summary_id = _flow().recommendations[level].summary
    summary = _texts()[summary_id]
    assert len(summary) > 80, "the summary should say what the level means"
    found = RANKING.search(summary)
    assert found is None, f"{summary_id} ranks levels: {found.group(0)!r}"


def test_inform_summary_says_informing_is_right():
    """The inform summary says honest informing is right when nothing can change."""
    summary = _texts()[_flow().recommendations["inform"].summary].casefold()
    assert "right" in summary
    assert "not a failure" in summary
    assert "nothing can change" in summary


def test_no_text_of_the_flow_belittles_informing_or_consulting():
    """No wording of the flow belittles informing or consulting, or calls co-production best."""
    texts = _texts()
    offenders = {
        text_id: found.group(0)
        for text_id, text in texts.items()
        if text_id.startswith(f"{FLOW}.") and (found := BELITTLING.search(text))
    }
    assert offenders == {}
    assert BELITTLING.search("Just inform them; co-production is the best.")
