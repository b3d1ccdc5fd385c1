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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.advice.engine import Result
from bot.advice.render import Renderer
from bot.advice.scenarios import Scenario, run_scenario
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.checks import text_refs
from bot.flows.model import Flow, Option, Question, QuestionKind
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
    what: UI
    """The id of what differs in a few words (``where it leads``, ``reworded ({locale})``)."""
    before: str = ""
    after: str = ""
    values: tuple[tuple[str, str], ...] = ()
    """The values ``what``'s text takes: ``(("locale", "cy"),)``."""

    @property
    def said(self) -> dict[str, str]:
        return dict(self.values)


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
    "question": UI.STUDIO_QUESTIONS,
    "option": UI.STUDIO_OPTIONS,
    "rule": UI.STUDIO_RULES,
    "caution": UI.STUDIO_CAUTIONS,
    "guarantee": UI.STUDIO_GUARANTEES,
    "text": UI.STUDIO_TEXTS,
}
"""The heading of each part's changes: a text id."""
KIND_NAMES = {
    Kind.ADDED: UI.STUDIO_CHANGE_ADDED,
    Kind.REMOVED: UI.STUDIO_CHANGE_REMOVED,
    Kind.REWORDED: UI.STUDIO_CHANGE_REWORDED,
    Kind.CHANGED: UI.STUDIO_CHANGE_CHANGED,
}
"""Each kind of change in words: a text id."""


def compare_flows(
    old: Catalog | None,
    new: Catalog,
    flow_id: str,
    scenarios: Iterable[Scenario],
    base: str = "HEAD",
    note: str = "",
    commit: str = "",
    locale: str | None = None,
) -> FlowChanges:
    """``flow_id`` in ``new`` against ``old`` (None: it did not exist or did not load).

    Questions, rules and advice are quoted in ``locale``'s words (the
    default locale's if None); texts are compared in every locale.
    """
    said = locale or new.default_locale
    after = new.flows[flow_id]
    before = old.flows.get(flow_id) if old is not None else None
    changes: list[Change] = []
    if before is None:
        changes.append(Change("question", flow_id, Kind.ADDED, UI.STUDIO_WHAT_NEW_FLOW))
        changes.extend(
            Change(
                "question",
                q.id,
                Kind.ADDED,
                UI.STUDIO_WHAT_NEW_QUESTION,
                after=_question(new, said, q),
            )
            for q in after.model.questions
        )
    else:
        assert old is not None
        pair = _Pair(old, new, before.model, after.model, said)
        changes += _questions(pair)
        changes += _rules(pair)
        changes += _cautions(pair)
        changes += _guarantees(pair)
        changes += _texts(pair)
    mine = [s for s in scenarios if s.flow == flow_id]
    differing = _scenarios(old, new, before, after, mine, said)
    return FlowChanges(flow_id, base, commit, tuple(changes), tuple(differing), len(mine), note)


# --- Structure ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pair:
    """The two versions being compared, and the locale whose words quote them."""

    old: Catalog
    new: Catalog
    before: Flow
    after: Flow
    locale: str

    def old_text(self, text_id: str) -> str:
        return self.old.text(self.locale, text_id)

    def new_text(self, text_id: str) -> str:
        return self.new.text(self.locale, text_id)

    def old_words(self) -> FlowWords:
        return FlowWords(self.before, self.old_text)

    def new_words(self) -> FlowWords:
        return FlowWords(self.after, self.new_text)


def _question(catalog: Catalog, locale: str, question: Question) -> str:
    labels = ", ".join(catalog.text(locale, o.label) for o in question.options)
    text = catalog.text(locale, question.text)
    return f"{text} ({labels})" if labels else text


QUESTION_KINDS = {
    QuestionKind.CHOICE: UI.STUDIO_KIND_CHOICE,
    QuestionKind.MULTI: UI.STUDIO_KIND_MULTI,
    QuestionKind.TEXT: UI.STUDIO_KIND_TEXT,
}
"""How each kind of question is answered, in words: a text id."""


def _questions(pair: _Pair) -> list[Change]:
    found: list[Change] = []
    before, after = pair.before, pair.after
    was = {q.id: q for q in before.questions}
    now = {q.id: q for q in after.questions}
    old_words, new_words = pair.old_words(), pair.new_words()
    if before.start != after.start:
        found.append(
            Change(
                "question", "start", Kind.CHANGED, UI.STUDIO_WHAT_START, before.start, after.start
            )
        )
    for qid, question in now.items():
        if qid not in was:
            found.append(
                Change(
                    "question",
                    qid,
                    Kind.ADDED,
                    UI.STUDIO_WHAT_NEW_QUESTION,
                    after=_question(pair.new, pair.locale, question),
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
                    UI.STUDIO_WHAT_KIND,
                    pair.new_text(QUESTION_KINDS[prior.kind]),
                    pair.new_text(QUESTION_KINDS[question.kind]),
                )
            )
        way_before, way_after = old_words.way_on(prior), new_words.way_on(question)
        if way_before != way_after:
            found.append(
                Change("question", qid, Kind.CHANGED, UI.STUDIO_WHAT_LEADS, way_before, way_after)
            )
        found += _options(pair, qid, prior, question)
    found.extend(
        Change(
            "question",
            qid,
            Kind.REMOVED,
            UI.STUDIO_WHAT_QUESTION_REMOVED,
            before=_question(pair.old, pair.locale, q),
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
                UI.STUDIO_WHAT_ORDER,
                ", ".join(was_order),
                ", ".join(now_order),
            )
        )
    return found


def _options(pair: _Pair, qid: str, prior: Question, question: Question) -> list[Change]:
    found: list[Change] = []
    was = {o.id: o for o in prior.options}
    now = {o.id: o for o in question.options}
    yes, no = pair.new_text(UI.WORDS_YES), pair.new_text(UI.WORDS_NO)
    for oid, option in now.items():
        name = f"{qid}.{oid}"
        if oid not in was:
            found.append(
                Change(
                    "option",
                    name,
                    Kind.ADDED,
                    UI.STUDIO_WHAT_NEW_OPTION,
                    after=pair.new_text(option.label),
                )
            )
            continue
        before = was[oid]
        for what, a, b in (
            (UI.STUDIO_WHAT_LEADS, before.next or "", option.next or ""),
            (UI.STUDIO_WHAT_SETS, _sets(before), _sets(option)),
            (
                UI.STUDIO_WHAT_EXCLUSIVE,
                yes if before.exclusive else no,
                yes if option.exclusive else no,
            ),
        ):
            if a != b:
                found.append(Change("option", name, Kind.CHANGED, what, a, b))
    found.extend(
        Change(
            "option",
            f"{qid}.{oid}",
            Kind.REMOVED,
            UI.STUDIO_WHAT_OPTION_REMOVED,
            before=pair.old_text(o.label),
        )
        for oid, o in was.items()
        if oid not in now
    )
    return found


def _sets(option: Option) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(option.set.items()))


RULE_LISTS = {
    "reasons": UI.STUDIO_WHAT_REASONS,
    "would_change": UI.STUDIO_WHAT_WOULD_CHANGE,
    "next_steps": UI.STUDIO_WHAT_NEXT_STEPS,
}
"""The lists a rule gives with its advice, and the words for a change to each."""


def _rules(pair: _Pair) -> list[Change]:
    old_words, new_words = pair.old_words(), pair.new_words()
    was = {o.id: (n, o) for n, o in enumerate(pair.before.outcomes, 1)}
    now = {o.id: (n, o) for n, o in enumerate(pair.after.outcomes, 1)}

    def place(number: int) -> str:
        return Renderer(pair.new, pair.locale).t(UI.STUDIO_PLACE, number=number)

    found: list[Change] = []
    for rid, (number, rule) in now.items():
        sentence = new_words.rule(rule)
        if rid not in was:
            found.append(
                Change(
                    "rule",
                    rid,
                    Kind.ADDED,
                    UI.STUDIO_WHAT_NEW_RULE,
                    after=sentence,
                    values=(("number", str(number)),),
                )
            )
            continue
        prior_number, prior = was[rid]
        prior_sentence = old_words.rule(prior)
        if prior_sentence != sentence:
            found.append(
                Change(
                    "rule", rid, Kind.CHANGED, UI.STUDIO_WHAT_RECOMMENDS, prior_sentence, sentence
                )
            )
        if prior_number != number:
            found.append(
                Change(
                    "rule",
                    rid,
                    Kind.CHANGED,
                    UI.STUDIO_WHAT_PLACE,
                    place(prior_number),
                    place(number),
                )
            )
        for field, what in RULE_LISTS.items():
            a = _listed(pair.old_text, old_words, getattr(prior, field))
            b = _listed(pair.new_text, new_words, getattr(rule, field))
            if a != b:
                found.append(Change("rule", rid, Kind.CHANGED, what, " | ".join(a), " | ".join(b)))
    found.extend(
        Change(
            "rule",
            rid,
            Kind.REMOVED,
            UI.STUDIO_WHAT_RULE_REMOVED,
            before=old_words.rule(r),
            values=(("number", str(n)),),
        )
        for rid, (n, r) in was.items()
        if rid not in now
    )
    return found


def _listed(text: Callable[[str], str], words: FlowWords, items: Sequence[object]) -> list[str]:
    """Each reason or step as its words, with its condition in words when it has one."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(text(item))
        else:
            said = text(item.text)  # type: ignore[attr-defined]
            out.append(f"{said} ({words.shown_when(item.when)})")  # type: ignore[attr-defined]
    return out


def _cautions(pair: _Pair) -> list[Change]:
    old_words, new_words = pair.old_words(), pair.new_words()
    was = {c.id: c for c in pair.before.cautions}
    now = {c.id: c for c in pair.after.cautions}
    found: list[Change] = []
    for cid, caution in now.items():
        if cid not in was:
            title = pair.new_text(caution.title)
            found.append(
                Change(
                    "caution",
                    cid,
                    Kind.ADDED,
                    UI.STUDIO_WHAT_NEW_CAUTION,
                    after=f"{title}. {new_words.shown_when(caution.when)}",
                )
            )
            continue
        a, b = old_words.shown_when(was[cid].when), new_words.shown_when(caution.when)
        if a != b:
            found.append(Change("caution", cid, Kind.CHANGED, UI.STUDIO_WHAT_SHOWN_WHEN, a, b))
    found.extend(
        Change(
            "caution",
            cid,
            Kind.REMOVED,
            UI.STUDIO_WHAT_CAUTION_REMOVED,
            before=pair.old_text(c.title),
        )
        for cid, c in was.items()
        if cid not in now
    )
    return found


def _guarantees(pair: _Pair) -> list[Change]:
    old_words, new_words = pair.old_words(), pair.new_words()
    old_titles = {c.id: pair.old_text(c.title) for c in pair.before.cautions}
    new_titles = {c.id: pair.new_text(c.title) for c in pair.after.cautions}
    was = {g.id: g for g in pair.before.guarantees}
    now = {g.id: g for g in pair.after.guarantees}
    found: list[Change] = []
    for gid, guarantee in now.items():
        b = new_words.promise(guarantee, new_titles)
        if gid not in was:
            found.append(Change("guarantee", gid, Kind.ADDED, UI.STUDIO_WHAT_NEW_PROMISE, after=b))
            continue
        a = old_words.promise(was[gid], old_titles)
        if a != b:
            found.append(Change("guarantee", gid, Kind.CHANGED, UI.STUDIO_WHAT_PROMISES, a, b))
    found.extend(
        Change(
            "guarantee",
            gid,
            Kind.REMOVED,
            UI.STUDIO_WHAT_PROMISE_REMOVED,
            before=old_words.promise(g, old_titles),
        )
        for gid, g in was.items()
        if gid not in now
    )
    return found


def _texts(pair: _Pair) -> list[Change]:
    """Every text either version uses, in every locale: reworded, new or gone."""
    refs = [t for t, _ in text_refs(pair.before)] + [t for t, _ in text_refs(pair.after)]
    ids = dict.fromkeys(refs)
    found: list[Change] = []
    for locale in pair.new.locales:
        was, now = pair.old.texts.get(locale, {}), pair.new.texts.get(locale, {})
        where = (("locale", locale),)
        for text_id in ids:
            a, b = was.get(text_id), now.get(text_id)
            if a == b:
                continue
            if a is None:
                found.append(
                    Change(
                        "text",
                        text_id,
                        Kind.ADDED,
                        UI.STUDIO_WHAT_NEW_TEXT,
                        after=b or "",
                        values=where,
                    )
                )
            elif b is None:
                found.append(
                    Change(
                        "text",
                        text_id,
                        Kind.REMOVED,
                        UI.STUDIO_WHAT_TEXT_REMOVED,
                        before=a,
                        values=where,
                    )
                )
            else:
                found.append(
                    Change("text", text_id, Kind.REWORDED, UI.STUDIO_WHAT_REWORDED, a, b, where)
                )
    return found


# --- Scenarios ---------------------------------------------------------------


def _scenarios(
    old: Catalog | None,
    new: Catalog,
    before: CompiledFlow | None,
    after: CompiledFlow,
    scenarios: Sequence[Scenario],
    locale: str,
) -> list[ScenarioChange]:
    differing = []
    for scenario in scenarios:
        now = _advice(new, after, scenario, new, locale)
        then = _advice(old, before, _for(before, scenario), new, locale)
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
    catalog: Catalog | None,
    flow: CompiledFlow | None,
    scenario: Scenario,
    speaker: Catalog,
    locale: str,
) -> tuple[object, str]:
    """What a scenario reaches, to compare (every text id of the advice), and to show.

    ``speaker`` is the catalog whose studio words are used: the version
    compared with may be older than those words.
    """

    say = Renderer(speaker, locale).t
    if catalog is None or flow is None:
        shown = say(UI.STUDIO_NO_SUCH_FLOW)
        return None, shown
    outcome = run_scenario(catalog, scenario)
    if outcome.result is None:
        if outcome.ran_out_at:
            question = flow.questions.get(outcome.ran_out_at)
            text = catalog.text(locale, question.model.text) if question else ""
            shown = say(UI.STUDIO_STOPS_AT, question=outcome.ran_out_at, text=text)
        else:
            shown = say(UI.STUDIO_NO_ADVICE_BECAUSE, problems="; ".join(outcome.problems))
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
    return key, summary(catalog, flow, result, locale, speaker)


def summary(
    catalog: Catalog,
    flow: CompiledFlow,
    result: Result,
    locale: str | None = None,
    speaker: Catalog | None = None,
) -> str:
    """``Consult (rule not_ready); cautions: Stepping back is not empowerment``.

    The advice in ``catalog``'s words; the words around it in ``speaker``'s
    (``catalog``'s if None), in ``locale`` (the default locale's if None).
    """
    said = locale or catalog.default_locale
    name = result.headline or flow.model.recommendations[result.level].label
    titles = [catalog.text(said, c.title) for c in result.cautions]
    words = Renderer(speaker or catalog, said)
    return words.t(
        UI.STUDIO_ADVICE_SUMMARY,
        advice=catalog.text(said, name),
        rule=result.outcome_id,
        cautions=", ".join(titles) if titles else words.t(UI.STUDIO_NONE),
    )


def by_part(changes: FlowChanges) -> Mapping[str, list[Change]]:
    """The changes grouped in ``PARTS`` order, leaving out parts with none."""
    return {part: changes.of(part) for part in PARTS if changes.of(part)}
