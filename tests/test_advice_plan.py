"""Scenario tests of the advice the staff flow `plan` gives.

Each scenario is a list of answers typed as a person would type them at the
terminal (option ids, comma-separated ids for the multi-select question,
free text for `about`). The assertions are on the advice: the level, the
outcome rule that fired and the exact set of cautions shown.

Question order on the longest path: about, decision, power, expertise,
resources, accountable, driver, [savings if money], time, people,
asked_before. A decision already made, or one nobody affected can change,
skips straight to asked_before; specialist decisions and "views only"
decisions skip resources and accountable.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from support import advise

FLOW = "plan"


@dataclass(frozen=True)
class Scenario:
    """Answers in order, and the advice they must lead to."""

    must: str
    answers: tuple[str, ...]
    level: str
    outcome: str
    cautions: frozenset[str] = frozenset()


def scenario(must: str, answers: str, level: str, outcome: str, *cautions: str) -> Scenario:
    """A scenario from answers written as a transcript: ``"about | open | yes | ..."``."""
    typed = tuple(answer.strip() for answer in answers.split("|"))
    return Scenario(must, typed, level, outcome, frozenset(cautions))


# --- The three illustrative cases of DOMAIN.md -----------------------------

FOOTPATH = ["closing the footpath behind the school next term", "skip", "made", "us", "no", "no"]
SURGERY = [
    "choosing a new surgical procedure for the hospital",
    "skip",  # where: not given
    "open",
    "views",  # patients' experience can shape it; clinicians decide
    "months",
    "no",  # not a handover
    "yes",  # the clinical choice needs specialists
    "outcomes",
    "yes",
    "no",
]
COMMUNITY_CENTRE = [
    "residents taking over the community centre",
    "skip",
    "open",
    "yes",
    "longer",
    "yes",  # a handover: residents would run it
    "none",  # no money or support comes with it
    "unsure",  # what happens if they say no is not decided
    "no",
    "no",  # the council plans to step back
    "money",
    "yes",  # the saving is fixed before any discovery work
    "yes",
    "no",
]


def test_footpath_already_closed_is_inform():
    """A decision already made for safety reasons gets honest informing, not a consultation."""
    r = advise(FLOW, FOOTPATH)
    assert r.level == "inform"
    assert r.outcome_id == "decision_made"
    assert r.caution_ids == {"fixed_outcome"}
    assert "plan.inform.step.what" in r.next_steps
    assert "plan.step.no_mock_consultation" in r.next_steps
    assert [x.text for x in r.reasons] == ["plan.reason.decision_made"]
    assert r.reasons[0].cited == ("decision",)
    assert r.would_change == ("plan.change.reopen",)


def test_surgical_procedure_is_consult_with_report_back():
    """A clinical choice needs specialists: consult patients and tell them how they shaped it."""
    r = advise(FLOW, SURGERY)
    assert r.level == "consult"
    assert r.outcome_id == "specialist"
    assert r.caution_ids == frozenset()
    assert "plan.consult.step.report_back" in r.next_steps
    assert "plan.step.experience_early" in r.next_steps
    assert [x.text for x in r.reasons] == ["plan.reason.specialist"]
    assert "expertise" in r.reasons[0].cited
    assert r.would_change == ("plan.change.specialist",)


def test_community_centre_to_save_money_is_not_co_production():
    """Handing over to save money, with no resources and stepping back, is not co-production."""
    r = advise(FLOW, COMMUNITY_CENTRE)
    assert r.level != "co_produce"
    assert r.level == "consult"
    assert r.outcome_id == "handover"
    assert r.caution_ids == {"abdication", "no_resources", "money_first"}
    assert r.would_change == ("plan.change.handover",)
    cited = {x.text: x.cited for x in r.reasons}
    assert cited["plan.reason.handover_none"] == ("handover_support",)
    assert cited["plan.reason.stepping_back"] == ("accountable",)
    assert cited["plan.reason.savings_fixed"] == ("savings",)
    assert cited["plan.reason.refuse_unclear"] == ("say_no",)
    assert {"plan.step.handover_money", "plan.step.handover_liability"} <= set(r.next_steps)


# --- Designed scenarios -----------------------------------------------------

SCENARIOS = {
    "co-production with real resources": scenario(
        "Shared power, budget and staff, an accountable organisation and time give co-production.",
        "redesigning the young carers' service | skip | open | yes | longer | no | no | "
        "budget,staff,information,training,support | yes | outcomes | yes | told",
        "co_produce",
        "co_produce",
    ),
    "co-production on a tighter timetable": scenario(
        "Two to six months still allows co-production, with a caution that it takes time.",
        "redesigning the young carers' service | skip | open | yes | months | no | no | "
        "budget,staff,support | yes | outcomes | yes | no",
        "co_produce",
        "co_produce",
        "takes_time",
    ),
    "legal duty to consult": scenario(
        "A statutory consultation the council decides on is consult, with the legal-duty caution.",
        "the new local development plan | skip | open | views | months | no | no | duty | yes | no",
        "consult",
        "views_only",
        "legal_duty",
    ),
    "partly open, co-produced part": scenario(
        "The open part of a partly made decision can be co-produced, saying what is settled.",
        "how the new library space is used | skip | partly | yes | longer | no | some | "
        "budget,staff,information | yes | outcomes | yes | no",
        "co_produce",
        "co_produce",
        "partly_open",
    ),
    "partly open, views shape it": scenario(
        "A partly open decision the organisation keeps is consult, clear about what is open.",
        "when the clinic moves to its new site | skip | partly | views | months | no | no | "
        "outcomes | yes | no",
        "consult",
        "views_only",
        "partly_open",
    ),
    "short time": scenario(
        "Under two months rules out co-production even when everything else is in place.",
        "the summer activity programme | skip | open | yes | weeks | no | no | "
        "budget,staff | yes | outcomes | yes | no",
        "consult",
        "time_short",
        "takes_time",
    ),
    "people need support to take part": scenario(
        "People who can take part only with support raise the support caution, not a lower level.",
        "the day centre for older people | skip | open | yes | longer | no | no | "
        "budget,staff,support | yes | outcomes | support | no",
        "co_produce",
        "co_produce",
        "needs_support",
    ),
    "asked before and never told": scenario(
        "People consulted before without feedback raise the consultation-fatigue caution.",
        "the bus route review | skip | open | views | longer | no | no | outcomes | yes | not_told",
        "consult",
        "views_only",
        "no_feedback",
    ),
    "decision made after an unanswered consultation": scenario(
        "A made decision still informs, and says to close the loop on the earlier consultation.",
        "closing the ward at the community hospital | skip | made | us | no | not_told",
        "inform",
        "decision_made",
        "fixed_outcome",
        "no_feedback",
    ),
    "someone else decides": scenario(
        "An open decision that nobody affected can change is inform.",
        "national changes to the benefit rules | skip | open | no | no | no",
        "inform",
        "no_power",
        "fixed_outcome",
    ),
    "partly open but nothing people say counts": scenario(
        "A partly open decision with no power to share is inform, without the partly-open caution.",
        "the new school catchment areas | skip | partly | no | no | told",
        "inform",
        "no_power",
        "fixed_outcome",
    ),
    "saving money, savings left open": scenario(
        "Money as a driver does not block co-production when savings are not fixed in advance.",
        "the library opening hours | skip | open | yes | longer | no | no | "
        "budget,staff,information | yes | money | no | yes | no",
        "co_produce",
        "co_produce",
        "money_first",
    ),
    "saving money, savings fixed": scenario(
        "Savings fixed before any discovery work rule out co-production even with resources.",
        "the library opening hours | skip | open | yes | longer | no | no | budget,staff | "
        "yes | money | yes | yes | no",
        "consult",
        "not_ready",
        "money_first",
    ),
    "saving money, savings unclear": scenario(
        "Not knowing whether savings are fixed gives consult until it is clear.",
        "the library opening hours | skip | open | yes | longer | no | no | budget,staff | "
        "yes | money | unsure | yes | no",
        "consult",
        "not_clear_yet",
        "money_first",
    ),
    "information but no budget or staff": scenario(
        "Information alone is not enough resource to carry shared responsibility.",
        "looking after the park | skip | open | yes | longer | no | no | information | yes | "
        "outcomes | yes | no",
        "consult",
        "not_ready",
        "no_resources",
    ),
    "handover with a one-off grant": scenario(
        "A funded handover is still not co-production when the organisation steps back.",
        "handing the sports hall to a trust | skip | open | yes | longer | no | no | "
        "budget | no | outcomes | yes | no",
        "consult",
        "not_ready",
        "abdication",
    ),
    "stepping back in a hurry": scenario(
        "Stepping back outranks short time as the reason, and both cautions are shown.",
        "handing the sports hall to a trust | skip | open | yes | weeks | no | no | "
        "budget,staff | no | outcomes | yes | no",
        "consult",
        "not_ready",
        "abdication",
        "takes_time",
    ),
    "little interest so far": scenario(
        "Co-production needs people who want to take part, so low interest gives consult.",
        "the allotment rules | skip | open | yes | longer | no | no | budget,staff | yes | "
        "outcomes | no | no",
        "consult",
        "low_interest",
    ),
    "not sure who decides": scenario(
        "Unclear power to decide gives consult until it is clear.",
        "the town centre events plan | skip | open | unsure | longer | no | no | "
        "budget,staff | yes | outcomes | yes | no",
        "consult",
        "not_clear_yet",
    ),
    "staying involved not decided": scenario(
        "Co-production waits until the organisation commits to staying involved.",
        "the youth club programme | skip | open | yes | longer | no | no | budget,staff | "
        "unsure | outcomes | yes | no",
        "consult",
        "not_clear_yet",
    ),
    "specialist decision driven by money": scenario(
        "A specialist decision is consult even when money drives it, with the money caution.",
        "the stroke unit's treatment protocol | skip | open | yes | months | no | yes | "
        "money | yes | yes | no",
        "consult",
        "specialist",
        "money_first",
    ),
}


@pytest.mark.parametrize("case", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_scenario(case: Scenario):
    """Each scenario gets its level, its outcome rule and exactly its cautions."""
    r = advise(FLOW, case.answers)
    assert (r.level, r.outcome_id, r.caution_ids) == (case.level, case.outcome, case.cautions), (
        case.must
    )


@pytest.mark.parametrize(
    "case",
    [Scenario("", tuple(a), "", "") for a in (FOOTPATH, SURGERY, COMMUNITY_CENTRE)]
    + list(SCENARIOS.values()),
    ids=["footpath", "surgery", "community centre", *SCENARIOS],
)
def test_advice_always_explains_itself(case: Scenario):
    """Every result gives reasons, says what would change it, and lists next steps."""
    r = advise(FLOW, case.answers)
    assert r.reasons
    assert r.would_change
    assert len(r.next_steps) >= 3


def test_decision_made_skips_the_questions_that_no_longer_matter():
    """A decision already made reaches the advice after only the feedback question."""
    r = advise(FLOW, FOOTPATH)
    asked = [question for question, _ in r.answers]
    assert asked == ["about", "where", "decision", "decider", "handover", "asked_before"]


def test_specialist_decision_skips_resources_and_accountability():
    """Co-production questions are not asked once specialist judgement rules it out."""
    r = advise(FLOW, SURGERY)
    asked = [question for question, _ in r.answers]
    assert "resources" not in asked
    assert "accountable" not in asked
    assert {"driver", "time", "people", "asked_before"} <= set(asked)


# --- Invariants over every co-production-shaped path -------------------------

RESOURCE_SETS = ("none", "information", "budget", "staff,support", "budget,staff,training")
DRIVERS = (("outcomes",), ("duty",), ("money", "yes"), ("money", "no"), ("money", "unsure"))


def _co_production_shaped_paths():
    for power, expertise, resources, accountable, driver, time, people in itertools.product(
        ("yes", "unsure"),
        ("some", "no"),
        RESOURCE_SETS,
        ("yes", "no", "unsure"),
        DRIVERS,
        ("weeks", "months", "longer"),
        ("yes", "support", "no", "unsure"),
    ):
        answers = ["a service", "england", "open", power, time, "no", expertise, resources]
        answers += [accountable, *driver, people, "no"]
        facts = {
            "power": power,
            "resources": set(resources.split(",")),
            "accountable": accountable,
            "savings": driver[1] if len(driver) > 1 else None,
            "time": time,
            "people": people,
        }
        yield answers, facts


def test_co_production_only_when_its_conditions_hold():
    """Co-produce is advised exactly when power, resources, accountability, time and people fit."""
    for answers, f in _co_production_shaped_paths():
        r = advise(FLOW, answers)
        viable = (
            f["power"] == "yes"
            and bool(f["resources"] & {"budget", "staff"})
            and f["accountable"] == "yes"
            and f["time"] != "weeks"
            and f["savings"] not in ("yes", "unsure")
            and f["people"] != "no"
        )
        assert (r.level == "co_produce") == viable, answers
        assert r.level != "inform", answers
        assert r.reasons, answers
        assert r.would_change, answers


def test_abdication_and_missing_resources_are_always_flagged():
    """Stepping back, no budget or staff, and fixed savings always raise their cautions."""
    for answers, f in _co_production_shaped_paths():
        r = advise(FLOW, answers)
        assert ("abdication" in r.caution_ids) == (f["accountable"] == "no"), answers
        has_resources = bool(f["resources"] & {"budget", "staff"})
        assert ("no_resources" in r.caution_ids) == (not has_resources), answers
        if f["savings"] == "yes":
            assert "money_first" in r.caution_ids, answers
