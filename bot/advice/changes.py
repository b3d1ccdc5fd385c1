"""What changed in a flow since another version of it (git HEAD, a tag), and what it changes.

A manager signs off a change, not a whole flow: they want the questions,
options, rules, cautions, promises and texts that were added, removed or
reworded, and, for each changed result, the scenarios (``flows/tests``)
whose advice is no longer what it was. Reading the other version from git
is I/O and belongs to the caller (the studio reads it, loads it with
``bot.advice.loader`` and hands both catalogs here); this module only
compares. Pure: two catalogs and the scenarios in, the changes out.

Rules and conditions are compared, and shown, in the flow's own words
(``bot.flows.plain.FlowWords``), so a reordered ``all:`` that says the same
thing in the same words is no change a reader would see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.advice.engine import Result
from bot.advice.scenarios import Scenario, run_scenario
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.checks import text_refs
from bot.flows.model import Flow, Option, Question
from bot.flows.plain import FlowWords


class Kind(StrEnum):
    """What happened to one part."""

    ADDED = "added"
    REMOVED = "removed"
    REWORDED = "reworded"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One part of the flow that differs: what it is, and its words before and after."""

    part: str
    """``question``, ``option``, ``rule``, ``caution``, ``guarantee`` or ``text``."""
    name: str
    """The part's id (an option's is ``question.option``; a text's, its text id)."""
    kind: Kind
    what: str
    """What differs, in a few words: ``its condition``, ``its wording (cy)``."""
    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class ScenarioChange:
    """A scenario whose advice differs between the two versions."""

    name: str
    where: str
    """``flows/tests/plan.yaml:31``."""
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class FlowChanges:
    """Everything that differs in one flow, and the scenarios whose advice changed."""

    flow_id: str
    base: str
    """What it was compared with: ``HEAD``, a tag, or a commit."""
    commit: str
    """The commit ``base`` named, when it was read from git."""
    changes: tuple[Change, ...]
    scenarios: tuple[ScenarioChange, ...]
    scenarios_run: int
    note: str = ""
    """Why the comparison is partial (the other version did not load), if it is."""

    def of(self, part: str) -> list[Change]:
        return [c for c in self.changes if c.part == part]


PARTS = ("question", "option", "rule", "caution", "guarantee", "text")
"""The parts in the order a page lists them."""
PART_NAMES = {
    "question": "Questions",
    "option": "Options",
    "rule": "Outcome rules",
    "caution": "Cautions",
    "guarantee": "Guarantees",
    "text": "Texts",
}


def compare_flows(
    old: Catalog | None,
    new: Catalog,
    flow_id: str,
    scenarios: Iterable[Scenario],
    base: str = "HEAD",
    note: str = "",
    commit: str = "",
) -> FlowChanges:
    """``flow_id`` in ``new`` against ``old`` (None: it did not exist or did not load)."""
    after = new.flows[flow_id]
    before = old.flows.get(flow_id) if old is not None else None
    changes: list[Change] = []
    if before is None:
        changes.append(Change("question", flow_id, Kind.ADDED, "the whole flow is new"))
        changes.extend(
            Change("question", q.id, Kind.ADDED, "new question", after=_question(new, after, q))
            for q in after.model.questions
        )
    else:
        assert old is not None
        changes += _questions(old, new, before.model, after.model)
        changes += _rules(old, new, before.model, after.model)
        changes += _cautions(old, new, before.model, after.model)
        changes += _guarantees(old, new, before.model, after.model)
        changes += _texts(old, new, before.model, after.model)
    mine = [s for s in scenarios if s.flow == flow_id]
    differing = _scenarios(old, new, before, after, mine)
    return FlowChanges(flow_id, base, commit, tuple(changes), tuple(differing), len(mine), note)


# --- Structure ---------------------------------------------------------------


def _words(catalog: Catalog, flow: Flow) -> FlowWords:
    locale = catalog.default_locale
    return FlowWords(flow, lambda text_id: catalog.text(locale, text_id))


def _question(catalog: Catalog, flow: CompiledFlow, question: Question) -> str:
    locale = catalog.default_locale
    labels = ", ".join(catalog.text(locale, o.label) for o in question.options)
    text = catalog.text(locale, question.text)
    return f"{text} ({labels})" if labels else text


def _questions(old: Catalog, new: Catalog, before: Flow, after: Flow) -> list[Change]:
    found: list[Change] = []
    was = {q.id: q for q in before.questions}
    now = {q.id: q for q in after.questions}
    old_words, new_words = _words(old, before), _words(new, after)
    if before.start != after.start:
        found.append(
            Change(
                "question", "start", Kind.CHANGED, "the first question", before.start, after.start
            )
        )
    for qid, question in now.items():
        if qid not in was:
            found.append(
                Change(
                    "question",
                    qid,
                    Kind.ADDED,
                    "new question",
                    after=_question(new, new.flows[after.id], question),
                )
            )
            continue
        prior = was[qid]
        if prior.kind != question.kind:
            found.append(
                Change(
                    "question",
                    qid,
                    Kind.CHANGED,
                    "how it is answered",
                    prior.kind.value,
                    question.kind.value,
                )
            )
        way_before, way_after = old_words.way_on(prior), new_words.way_on(question)
        if way_before != way_after:
            found.append(
                Change("question", qid, Kind.CHANGED, "where it leads", way_before, way_after)
            )
        found += _options(old, new, qid, prior, question)
    found.extend(
        Change(
            "question",
            qid,
            Kind.REMOVED,
            "question removed",
            before=_question(old, old.flows[before.id], q),
        )
        for qid, q in was.items()
        if qid not in now
    )
    was_order = [q for q in was if q in now]
    now_order = [q for q in now if q in was]
    if was_order != now_order:
        found.append(
            Change(
                "question",
                "order",
                Kind.CHANGED,
                "the order of the questions",
                ", ".join(was_order),
                ", ".join(now_order),
            )
        )
    return found


def _options(
    old: Catalog, new: Catalog, qid: str, prior: Question, question: Question
) -> list[Change]:
    found: list[Change] = []
    was = {o.id: o for o in prior.options}
    now = {o.id: o for o in question.options}
    for oid, option in now.items():
        name = f"{qid}.{oid}"
        label = new.text(new.default_locale, option.label)
        if oid not in was:
            found.append(Change("option", name, Kind.ADDED, "new option", after=label))
            continue
        before = was[oid]
        for what, a, b in (
            ("where it leads", before.next or "", option.next or ""),
            ("the facts it sets", _sets(before), _sets(option)),
            ("whether it excludes the others", str(before.exclusive), str(option.exclusive)),
        ):
            if a != b:
                found.append(Change("option", name, Kind.CHANGED, what, a, b))
    found.extend(
        Change(
            "option",
            f"{qid}.{oid}",
            Kind.REMOVED,
            "option removed",
            before=old.text(old.default_locale, o.label),
        )
        for oid, o in was.items()
        if oid not in now
    )
    return found


def _sets(option: Option) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(option.set.items()))


def _rules(old: Catalog, new: Catalog, before: Flow, after: Flow) -> list[Change]:
    old_words, new_words = _words(old, before), _words(new, after)
    was = {o.id: (n, o) for n, o in enumerate(before.outcomes, 1)}
    now = {o.id: (n, o) for n, o in enumerate(after.outcomes, 1)}
    found: list[Change] = []
    for rid, (number, rule) in now.items():
        sentence = new_words.rule(rule)
        if rid not in was:
            found.append(Change("rule", rid, Kind.ADDED, f"new rule {number}", after=sentence))
            continue
        prior_number, prior = was[rid]
        prior_sentence = old_words.rule(prior)
        if prior_sentence != sentence:
            found.append(
                Change(
                    "rule",
                    rid,
                    Kind.CHANGED,
                    "what it recommends, or when",
                    prior_sentence,
                    sentence,
                )
            )
        if prior_number != number:
            found.append(
                Change(
                    "rule",
                    rid,
                    Kind.CHANGED,
                    "its place in the order",
                    f"rule {prior_number}",
                    f"rule {number}",
                )
            )
        for what in ("reasons", "would_change", "next_steps"):
            a = _listed(old, old_words, getattr(prior, what))
            b = _listed(new, new_words, getattr(rule, what))
            if a != b:
                found.append(
                    Change(
                        "rule",
                        rid,
                        Kind.CHANGED,
                        f"its {what.replace('_', ' ')}",
                        " | ".join(a),
                        " | ".join(b),
                    )
                )
    found.extend(
        Change("rule", rid, Kind.REMOVED, f"rule {n} removed", before=old_words.rule(r))
        for rid, (n, r) in was.items()
        if rid not in now
    )
    return found


def _listed(catalog: Catalog, words: FlowWords, items: Sequence[object]) -> list[str]:
    """Each reason or step as its words, with its condition in words when it has one."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(catalog.text(catalog.default_locale, item))
        else:
            text = catalog.text(catalog.default_locale, item.text)  # type: ignore[attr-defined]
            out.append(f"{text} ({words.shown_when(item.when)})")  # type: ignore[attr-defined]
    return out


def _cautions(old: Catalog, new: Catalog, before: Flow, after: Flow) -> list[Change]:
    old_words, new_words = _words(old, before), _words(new, after)
    was = {c.id: c for c in before.cautions}
    now = {c.id: c for c in after.cautions}
    found: list[Change] = []
    for cid, caution in now.items():
        title = new.text(new.default_locale, caution.title)
        if cid not in was:
            found.append(
                Change(
                    "caution",
                    cid,
                    Kind.ADDED,
                    "new caution",
                    after=f"{title}. {new_words.shown_when(caution.when)}",
                )
            )
            continue
        a, b = old_words.shown_when(was[cid].when), new_words.shown_when(caution.when)
        if a != b:
            found.append(Change("caution", cid, Kind.CHANGED, "when it is shown", a, b))
    found.extend(
        Change(
            "caution",
            cid,
            Kind.REMOVED,
            "caution removed",
            before=old.text(old.default_locale, c.title),
        )
        for cid, c in was.items()
        if cid not in now
    )
    return found


def _guarantees(old: Catalog, new: Catalog, before: Flow, after: Flow) -> list[Change]:
    old_words, new_words = _words(old, before), _words(new, after)
    old_titles = {c.id: old.text(old.default_locale, c.title) for c in before.cautions}
    new_titles = {c.id: new.text(new.default_locale, c.title) for c in after.cautions}
    was = {g.id: g for g in before.guarantees}
    now = {g.id: g for g in after.guarantees}
    found: list[Change] = []
    for gid, guarantee in now.items():
        b = new_words.promise(guarantee, new_titles)
        if gid not in was:
            found.append(Change("guarantee", gid, Kind.ADDED, "new promise", after=b))
            continue
        a = old_words.promise(was[gid], old_titles)
        if a != b:
            found.append(Change("guarantee", gid, Kind.CHANGED, "what it promises", a, b))
    found.extend(
        Change(
            "guarantee",
            gid,
            Kind.REMOVED,
            "promise removed",
            before=old_words.promise(g, old_titles),
        )
        for gid, g in was.items()
        if gid not in now
    )
    return found


def _texts(old: Catalog, new: Catalog, before: Flow, after: Flow) -> list[Change]:
    """Every text either version uses, in every locale: reworded, new or gone."""
    ids = dict.fromkeys([t for t, _ in text_refs(before)] + [t for t, _ in text_refs(after)])
    found: list[Change] = []
    for locale in new.locales:
        was, now = old.texts.get(locale, {}), new.texts.get(locale, {})
        for text_id in ids:
            a, b = was.get(text_id), now.get(text_id)
            if a == b:
                continue
            if a is None:
                found.append(
                    Change("text", text_id, Kind.ADDED, f"new text ({locale})", after=b or "")
                )
            elif b is None:
                found.append(
                    Change("text", text_id, Kind.REMOVED, f"text removed ({locale})", before=a)
                )
            else:
                found.append(Change("text", text_id, Kind.REWORDED, f"reworded ({locale})", a, b))
    return found


# --- Scenarios ---------------------------------------------------------------


def _scenarios(
    old: Catalog | None,
    new: Catalog,
    before: CompiledFlow | None,
    after: CompiledFlow,
    scenarios: Sequence[Scenario],
) -> list[ScenarioChange]:
    differing = []
    for scenario in scenarios:
        now = _advice(new, after, scenario)
        then = _advice(old, before, _for(before, scenario))
        if now[0] != then[0]:
            differing.append(
                ScenarioChange(scenario.name, f"{scenario.file}:{scenario.line}", then[1], now[1])
            )
    return differing


def _for(flow: CompiledFlow | None, scenario: Scenario) -> Scenario:
    """The scenario without answers to questions ``flow`` does not have (added since)."""
    if flow is None or scenario.by_question is None:
        return scenario
    return replace(
        scenario,
        by_question=tuple((q, a) for q, a in scenario.by_question if q in flow.questions),
        defaults=tuple((q, a) for q, a in scenario.defaults if q in flow.questions),
    )


def _advice(
    catalog: Catalog | None, flow: CompiledFlow | None, scenario: Scenario
) -> tuple[object, str]:
    """What a scenario reaches, to compare (every text id of the advice), and to show."""
    if catalog is None or flow is None:
        return None, "no such flow"
    outcome = run_scenario(catalog, scenario)
    if outcome.result is None:
        if outcome.ran_out_at:
            question = flow.questions.get(outcome.ran_out_at)
            text = catalog.text(catalog.default_locale, question.model.text) if question else ""
            shown = f"stops at question '{outcome.ran_out_at}' ({text}): no answer for it"
        else:
            shown = "does not reach advice: " + "; ".join(outcome.problems)
        return shown, shown
    result = outcome.result
    key = (
        result.level,
        result.outcome_id,
        result.headline,
        result.summary,
        tuple(r.text for r in result.reasons),
        tuple(sorted(result.caution_ids)),
        result.would_change,
        result.next_steps,
    )
    return key, summary(catalog, flow, result)


def summary(catalog: Catalog, flow: CompiledFlow, result: Result) -> str:
    """``Consult (rule not_ready); cautions: Stepping back is not empowerment``."""
    locale = catalog.default_locale
    name = result.headline or flow.model.recommendations[result.level].label
    line = f"{catalog.text(locale, name)} (rule {result.outcome_id})"
    titles = [catalog.text(locale, c.title) for c in result.cautions]
    return line + "; cautions: " + (", ".join(titles) if titles else "none")


def by_part(changes: FlowChanges) -> Mapping[str, list[Change]]:
    """The changes grouped in ``PARTS`` order, leaving out parts with none."""
    return {part: changes.of(part) for part in PARTS if changes.of(part)}
