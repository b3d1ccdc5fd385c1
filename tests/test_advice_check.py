"""Scenario tests of the reading the community flow `check` gives.

Each case is a list of answers typed as a community member would type them
at the terminal (option ids, comma-separated ids for the multi-select
question, free text or "skip" for `about`). The assertions are on the
reading: the level, the outcome rule that fired and the exact set of red
flags (cautions) shown.

Question order: about, asked, open, then
  nothing open, asked to run it: resources, accountable, money, time, access
  nothing open otherwise, or being told: access
  views: money, feedback, time, access
  design: say, resources, accountable, money, feedback, time, access
  run: say, resources, accountable, money, time, access
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import pytest

from bot.advice.engine import Result
from bot.flows.checks import text_refs
from bot.flows.model import ConditionalText

from support import advise, fixture_catalog

FLOW = "check"


@dataclass(frozen=True)
class Case:
    """Answers in order, and the reading they must lead to."""

    must: str
    answers: tuple[str, ...]
    level: str
    outcome: str
    cautions: frozenset[str] = frozenset()


def case(must: str, answers: str, level: str, outcome: str, *cautions: str) -> Case:
    """A case from answers written as a transcript: ``"about | views | some | ..."``."""
    typed = tuple(answer.strip() for answer in answers.split("|"))
    return Case(must, typed, level, outcome, frozenset(cautions))


def english() -> Mapping[str, str]:
    """The project's English texts."""
    return fixture_catalog().texts["en"]


def flow():
    """The check flow as written in flows/check.yaml."""
    return fixture_catalog().flows[FLOW].model


CASES = {
    # --- The kinds of proposal the brief names ------------------------------
    "decision made, called a consultation": case(
        "Views asked on something already settled read as inform, with that red flag.",
        "closing the library on Tuesdays | skip | views | nothing | yes",
        "inform",
        "already_decided",
        "called_consultation",
    ),
    "take-over with no budget": case(
        "Running a centre with information and training but no money is not co-production.",
        "taking over the community centre | skip | run | all | us | information,training | "
        "yes | no | longer | yes",
        "consult",
        "handover",
        "no_resources",
    ),
    "real partnership with resources": case(
        "Shared say, money and staff, an answerable organisation and time read as co-production.",
        "redesigning the young carers' service | skip | design | all | shared | "
        "budget,staff,information,training,support | yes | no | yes | longer | yes",
        "co_produce",
        "co_produce",
    ),
    "consultation with no feedback promised": case(
        "A consultation with no promise to report back raises the feedback red flag.",
        "changes to the bus routes | skip | views | all | no | no | weeks | yes",
        "consult",
        "views_only",
        "no_feedback",
    ),
    "money-led co-production": case(
        "Co-design whose main aim is saving money reads as consult, even with resources.",
        "co-producing the library service | skip | design | all | shared | budget,staff | "
        "yes | main | yes | longer | yes",
        "consult",
        "not_co_production",
        "money_led",
    ),
    "consultation done well": case(
        "A consultation with the scope clear, feedback promised and time reads consult, no flags.",
        "plans for the new health centre | skip | views | some | no | yes | months | yes",
        "consult",
        "views_only",
    ),
    "honest information notice": case(
        "Being told honestly about a settled decision reads inform, with no red flags.",
        "the road is closed for resurfacing in may | skip | told | nothing | yes",
        "inform",
        "already_decided",
    ),
    "co-design with too little time": case(
        "Co-design in under two months reads as consult, with the time red flag.",
        "designing the new play area | skip | design | all | shared | budget,staff | yes | "
        "no | yes | weeks | yes",
        "consult",
        "rushed",
        "little_time",
    ),
    "take-over, council steps back": case(
        "A funded handover where the council steps back is abdication, not co-production.",
        "running the sports hall | skip | run | all | us | budget | no | no | longer | yes",
        "consult",
        "handover",
        "abdication",
    ),
    "people need support to take part": case(
        "People who need support raise that red flag without lowering the reading.",
        "redesigning the day centre | skip | design | all | shared | budget,staff,support | "
        "yes | no | yes | longer | support",
        "co_produce",
        "co_produce",
        "needs_support",
    ),
    # --- Further cases ------------------------------------------------------
    "community centre to save money": case(
        "The DOMAIN.md community centre case raises every red flag it carries.",
        "residents taking over the community centre | skip | run | all | us | none | no | "
        "main | months | yes",
        "consult",
        "handover",
        "no_resources",
        "abdication",
        "money_led",
        "little_time",
    ),
    "co-production with nothing open": case(
        "Being asked to co-design something fully decided reads inform, with that red flag.",
        "co-producing the new parking scheme | skip | design | nothing | yes",
        "inform",
        "already_decided",
        "nothing_open",
    ),
    "handover decided in advance": case(
        "A fixed handover with nothing coming with it reads inform and flags every gap.",
        "we must run the public toilets from april | skip | run | nothing | none | no | "
        "main | weeks | yes",
        "inform",
        "handover_decided",
        "nothing_open",
        "no_resources",
        "abdication",
        "money_led",
        "little_time",
    ),
    "told, some still open": case(
        "Being told about plans that could still change reads inform, with a question to ask.",
        "skip | skip | told | some | yes",
        "inform",
        "being_told",
    ),
    "consultation on cuts in ten days": case(
        "A rushed consultation on savings raises the money and time red flags.",
        "cutting the library opening hours | skip | views | some | main | unsure | days | yes",
        "consult",
        "views_only",
        "money_led",
        "little_time",
    ),
    "they keep the final say": case(
        "Helping design something while they keep the final say reads as consult.",
        "the housing allocation policy | skip | design | some | them | staff,information | "
        "yes | no | yes | longer | yes",
        "consult",
        "power_kept",
    ),
    "staying involved not clear": case(
        "Co-production waits on the organisation saying it stays involved.",
        "the youth club programme | skip | design | all | shared | budget,staff | unsure | "
        "no | unsure | longer | yes",
        "consult",
        "not_clear_yet",
    ),
    "funded take-over, tight timetable": case(
        "A funded, supported take-over in two to six months is co-production, with a time flag.",
        "running the community garden | skip | run | some | us | budget,support | yes | no | "
        "months | yes",
        "co_produce",
        "co_produce",
        "little_time",
    ),
    "savings one aim among others": case(
        "Savings as one aim do not rule out co-production, but raise the money red flag.",
        "the library opening hours | skip | design | some | shared | budget,staff | yes | "
        "part | yes | longer | yes",
        "co_produce",
        "co_produce",
        "money_led",
    ),
}

CASE_LIST = list(CASES.values())
CASE_IDS = list(CASES)


@pytest.mark.parametrize("c", CASE_LIST, ids=CASE_IDS)
def test_case(c: Case):
    """Each case gets its reading, its outcome rule and exactly its red flags."""
    r = advise(FLOW, c.answers)
    assert (r.level, r.outcome_id, r.caution_ids) == (c.level, c.outcome, c.cautions), c.must


@pytest.mark.parametrize("c", CASE_LIST, ids=CASE_IDS)
def test_next_steps_are_questions_to_ask(c: Case):
    """Every next step of every reading is a question, ready to copy into a reply."""
    r = advise(FLOW, c.answers)
    texts = english()
    assert len(r.next_steps) >= 3
    for step in r.next_steps:
        assert texts[step].rstrip().endswith("?"), f"{step}: {texts[step]!r}"


def test_every_next_step_in_the_flow_is_a_question():
    """Every next step the flow can give, for any level or rule, ends with a question mark."""
    texts = english()
    steps = [s for rec in flow().recommendations.values() for s in rec.next_steps]
    steps += [s for outcome in flow().outcomes for s in outcome.next_steps]
    steps = [s.text if isinstance(s, ConditionalText) else s for s in steps]
    assert steps
    assert [s for s in steps if not texts[s].rstrip().endswith("?")] == []


@pytest.mark.parametrize("c", CASE_LIST, ids=CASE_IDS)
def test_reading_explains_itself(c: Case):
    """Every reading gives reasons and says what would change it."""
    r = advise(FLOW, c.answers)
    assert r.reasons
    assert r.would_change


def test_cases_reach_every_rule_and_red_flag():
    """Between them, the cases fire every outcome rule and every caution of the flow."""
    fired = [advise(FLOW, c.answers) for c in CASE_LIST]
    assert {r.outcome_id for r in fired} == {o.id for o in flow().outcomes}
    assert set().union(*(r.caution_ids for r in fired)) == {c.id for c in flow().cautions}


def test_the_result_opens_with_the_reading():
    """The result's heading is "Reading", so it opens like "Reading: Consult"."""
    assert english()[flow().result_heading] == "Reading"
    assert flow().audience == "community"


def test_decided_and_told_paths_skip_what_no_longer_matters():
    """Nothing open, or nothing asked, goes straight to whether people can follow it."""
    for answers in (CASES["honest information notice"], CASES["told, some still open"]):
        r = advise(FLOW, answers.answers)
        asked = [question for question, _ in r.answers]
        assert asked == ["about", "where", "asked", "open", "access"]


# --- Point 8: informing is not wrong, and no level is ranked above another ---------

RANKING = re.compile(
    r"\b(only|merely|mere|just|simply|best|better|worse|worst|lowest|highest|lower|higher"
    r"|superior|inferior|ideal|gold[- ]standard|tokenistic|genuine|true|real|proper)\b",
    re.IGNORECASE,
)
"""Words that rank one level above another, or belittle one."""

BELITTLING = re.compile(
    r"\b(just|only|merely|simply|mere)\s+(being\s+|an?\s+)?"
    r"(inform|informing|informed|told|consult|consulting|consulted|consultation)\b"
    r"|\bbetter than (inform|consult)|\bgold[- ]standard\b|\bthe best\b",
    re.IGNORECASE,
)
"""Phrases that belittle informing or consulting, or call co-production best."""

WRONG = re.compile(
    r"\b(wrong|bad|poor|failure|failing|sham|fake|worthless|pointless|second[- ]best)\b",
    re.IGNORECASE,
)
"""Words that would call informing itself wrong."""

INFORM_CASES = [c for c in CASE_LIST if c.level == "inform"]


def test_the_word_checks_are_not_vacuous():
    """The checks below catch typical ranking and belittling phrases."""
    assert RANKING.search("This is real co-production.")
    assert BELITTLING.search("You are just being told.")
    assert BELITTLING.search("It is only a consultation.")
    assert WRONG.search("Informing people is a failure.")


def test_inform_reading_says_informing_is_right():
    """The inform reading says honest informing is right, not a failure, with no ranking words."""
    summary = english()[flow().recommendations["inform"].summary]
    assert "right" in summary.casefold()
    assert "not a failure" in summary.casefold()
    assert RANKING.search(summary) is None
    assert WRONG.search(summary.casefold().replace("not a failure", "")) is None


@pytest.mark.parametrize("c", INFORM_CASES, ids=lambda c: c.must)
def test_inform_reading_never_calls_informing_wrong(c: Case):
    """No summary, reason or change shown with an inform reading calls informing wrong."""
    r = advise(FLOW, c.answers)
    assert r.level == "inform"
    texts = english()
    shown = [flow().recommendations["inform"].summary, *(x.text for x in r.reasons)]
    shown += [*r.would_change, *r.next_steps]
    for text_id in shown:
        text = texts[text_id].casefold().replace("not a failure", "")
        assert WRONG.search(text) is None, f"{text_id}: {texts[text_id]!r}"
        assert BELITTLING.search(text) is None, f"{text_id}: {texts[text_id]!r}"


def test_honest_informing_raises_no_red_flag():
    """Being told honestly about a settled decision, in a way people can follow, is not flagged."""
    for asked_access in ("yes", "unsure"):
        r = advise(FLOW, ["a road closure", "skip", "told", "nothing", asked_access])
        assert (r.level, r.caution_ids) == ("inform", frozenset())


@pytest.mark.parametrize("level", ["inform", "consult", "co_produce"])
def test_no_reading_ranks_the_levels(level: str):
    """No reading's summary uses words that rank or belittle a level."""
    summary_id = flow().recommendations[level].summary
    found = RANKING.search(english()[summary_id])
    assert found is None, f"{summary_id} ranks levels: {found.group(0)!r}"


def test_no_text_of_the_flow_belittles_informing_or_consulting():
    """No wording of the flow belittles informing or consulting, or calls co-production best."""
    offenders = {
        text_id: found.group(0)
        for text_id, text in english().items()
        if text_id.startswith(f"{FLOW}.") and (found := BELITTLING.search(text))
    }
    assert offenders == {}


# --- Wording fit for a phone ------------------------------------------------------


def _flow_texts() -> Iterator[tuple[str, str]]:
    for text_id, text in english().items():
        if text_id.startswith(f"{FLOW}."):
            yield text_id, text


def test_texts_are_short_enough_for_a_phone():
    """Every text fits in 600 characters and every sentence in 25 words."""
    too_long = {t: len(x) for t, x in _flow_texts() if len(x) > 600}
    assert too_long == {}
    wordy = {
        text_id: sentence
        for text_id, text in _flow_texts()
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
        if len(sentence.split()) > 25
    }
    assert wordy == {}


def test_button_labels_are_short():
    """Every option label fits on a small phone's button: 32 characters at most."""
    labels = {o.label for q in flow().questions for o in q.options}
    assert {t: english()[t] for t in labels if len(english()[t]) > 32} == {}


def test_every_text_id_belongs_to_the_flow():
    """Every text id the flow uses starts with "check." except the shared labels.

    The level names and the places of the `where` question are shared with
    the staff flow.
    """
    ids = {rec.label for rec in flow().recommendations.values()}
    assert ids == {"level.inform", "level.consult", "level.co_produce"}
    used = {text_id for text_id, _ in text_refs(flow())}
    shared = {t for t in used - ids if not t.startswith(f"{FLOW}.")}
    assert shared
    assert all(t.startswith("where.") for t in shared)


# --- Invariants over every co-production-shaped path -------------------------------

RESOURCE_SETS = ("none", "information,training", "support", "budget", "budget,staff")


def _co_production_shaped_paths() -> Iterator[tuple[list[str], dict]]:
    """Answers for every design or take-over proposal not fully decided, and their facts."""
    for asked, open_, say, resources, accountable, money, time in itertools.product(
        ("design", "run"),
        ("all", "unsure"),  # "some" is read exactly as "all"
        ("shared", "us", "them", "unsure"),
        RESOURCE_SETS,
        ("yes", "no", "unsure"),
        ("main", "part", "no", "unsure"),
        ("days", "weeks", "months", "longer", "unsure"),
    ):
        answers = ["a proposal", "england", asked, open_, say, resources, accountable, money]
        answers += ["yes"] if asked == "design" else []
        answers += [time, "yes"]
        given = set(resources.split(","))
        funded = (
            "budget" in given if asked == "run" else bool(given & {"budget", "staff", "support"})
        )
        yield (
            answers,
            {
                "asked": asked,
                "open": open_,
                "say": say,
                "funded": funded,
                "accountable": accountable,
                "money": money,
                "time": time,
            },
        )


@cache
def _co_production_shaped_readings() -> tuple[tuple[list[str], dict, Result], ...]:
    """Every co-production-shaped path with its reading, worked out once per run."""
    return tuple((a, f, advise(FLOW, a)) for a, f in _co_production_shaped_paths())


def test_co_production_only_when_its_conditions_hold():
    """Co-production is read exactly when something is open, power is shared and resourced."""
    for answers, f, r in _co_production_shaped_readings():
        viable = (
            f["open"] in ("all", "some")
            and f["say"] in ("shared", "us")
            and f["funded"]
            and f["accountable"] == "yes"
            and f["money"] != "main"
            and f["time"] not in ("days", "weeks")
        )
        assert (r.level == "co_produce") == viable, answers
        assert r.level != "inform", answers


def test_red_flags_are_always_raised():
    """Stepping back, missing resources, saving money and short time always raise their flags."""
    for answers, f, r in _co_production_shaped_readings():
        assert ("abdication" in r.caution_ids) == (f["accountable"] == "no"), answers
        assert ("no_resources" in r.caution_ids) == (not f["funded"]), answers
        assert ("money_led" in r.caution_ids) == (f["money"] in ("main", "part")), answers
        short = f["time"] in ("days", "weeks") or (f["time"] == "months" and f["asked"] == "run")
        assert ("little_time" in r.caution_ids) == short, answers


@pytest.mark.parametrize("asked", ["views", "design", "told"])
def test_nothing_open_is_always_inform(asked: str):
    """When nothing can change, the reading is inform, whatever it was called."""
    for access in ("yes", "support", "unsure"):
        r = advise(FLOW, ["a proposal", "skip", asked, "nothing", access])
        assert (r.level, r.outcome_id) == ("inform", "already_decided")
        assert ("needs_support" in r.caution_ids) == (access == "support")
