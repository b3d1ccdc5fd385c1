"""What each studio page shows, as plain values for the templates.

Kept apart from the web server so the words (rules in plain language, which
rule chose a level, why a caution appeared) are built from the catalog by
ordinary functions, and the templates only lay them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from bot.advice.changes import QUESTION_KINDS
from bot.advice.engine import Result
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.findings import Finding, Severity
from bot.flows.graph import describe
from bot.flows.model import Condition
from bot.flows.plain import FlowWords

WORDS_LIMIT = 10_000
"""Conditions are written in full on the studio's pages: there is room."""


def in_words(condition: Condition | None) -> str:
    """A condition as the diagram and the checks word it (ids), never cut short: for admins."""
    return describe(condition, limit=WORDS_LIMIT)


def flow_words(catalog: Catalog, flow: CompiledFlow, locale: str) -> FlowWords:
    """The flow's rules and conditions in ``locale``'s words (its questions, its labels)."""
    return FlowWords(flow.model, lambda text_id: catalog.text(locale, text_id))


@dataclass(frozen=True, slots=True)
class FlowStatus:
    """One flow on the front page: whether it loads, and what the checks found in its files."""

    flow_id: str
    title: str
    live: bool
    """A version of it is loaded and can be tried."""
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def status(self) -> UI:
        """The id of the words for where the flow stands."""
        if self.errors and self.live:
            return UI.STUDIO_STATUS_BROKEN
        if self.errors:
            return UI.STUDIO_STATUS_UNLOADABLE
        if self.warnings:
            return UI.STUDIO_STATUS_WARNINGS
        return UI.STUDIO_STATUS_OK


def flow_statuses(
    catalog: Catalog | None,
    flow_files: Iterable[str],
    findings: Sequence[Finding],
    locale: str | None = None,
) -> tuple[list[FlowStatus], list[Finding]]:
    """Every flow (loaded, or only on disk) with the findings in its files, and the rest.

    A finding belongs to a flow when its file is named after it: the flow
    file ``flows/<id>.yaml`` or a text file ``content/<locale>/<id>.yaml``.
    """
    ids = list(catalog.flows) if catalog is not None else []
    ids += [i for i in flow_files if i not in ids]
    mine: dict[str, list[Finding]] = {i: [] for i in ids}
    other: list[Finding] = []
    for finding in findings:
        stem = PurePath(finding.file).stem
        (mine.get(stem, other)).append(finding)
    statuses = []
    for flow_id in ids:
        title = flow_id
        if catalog is not None and flow_id in catalog.flows:
            title = catalog.text(
                locale or catalog.default_locale, catalog.flows[flow_id].model.title
            )
        live = catalog is not None and flow_id in catalog.flows
        statuses.append(FlowStatus(flow_id, title, live, tuple(_ordered(mine[flow_id]))))
    return statuses, _ordered(other)


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity is Severity.WARNING, f.file, f.line))


@dataclass(frozen=True, slots=True)
class Wording:
    """One text in every locale, in the catalog's order of locales."""

    text_id: str
    by_locale: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionView:
    option_id: str
    label: Wording
    leads_to: str
    sets: str


@dataclass(frozen=True, slots=True)
class QuestionView:
    question_id: str
    number: int
    kind: str
    text: Wording
    help: Wording | None
    options: tuple[OptionView, ...]
    next: str


@dataclass(frozen=True, slots=True)
class RuleView:
    number: int
    rule_id: str
    sentences: tuple[str, ...]
    """The rule in words, one per locale, in the catalog's order of locales."""
    logic: str
    """The condition as ids, for an admin matching it with the file."""


@dataclass(frozen=True, slots=True)
class CautionView:
    caution_id: str
    title: Wording
    sentences: tuple[str, ...]
    logic: str


@dataclass(frozen=True, slots=True)
class GuaranteeView:
    guarantee_id: str
    description: str
    promises: tuple[str, ...]
    proved: bool
    counterexample: str


@dataclass(frozen=True, slots=True)
class FlowView:
    """A flow on one page: its questions in every language, its rules and promises in words."""

    flow_id: str
    version: int
    title: Wording
    locales: tuple[str, ...]
    questions: tuple[QuestionView, ...]
    rules: tuple[RuleView, ...]
    cautions: tuple[CautionView, ...]
    guarantees: tuple[GuaranteeView, ...]


def flow_view(
    catalog: Catalog, flow: CompiledFlow, findings: Sequence[Finding], locale: str
) -> FlowView:
    """The flow page's content; its own words (how a question leads on) in ``locale``.

    Every guarantee of a loaded flow is proved: the loader refuses a flow
    with a broken one. While an edit breaks one, the check's finding (with
    the path of answers that breaks it) is shown beside it.
    """
    locales = catalog.locales

    def wording(text_id: str) -> Wording:
        return Wording(text_id, tuple(catalog.text(loc, text_id) for loc in locales))

    model = flow.model
    said = [flow_words(catalog, flow, loc) for loc in locales]
    page = flow_words(catalog, flow, locale)
    questions = []
    for question in flow.questions.values():
        q = question.model
        way_on = page.way_on(q) or catalog.text(locale, UI.STUDIO_NEXT_IN_FILE)
        options = tuple(
            OptionView(
                o.id,
                wording(o.label),
                o.next or "",
                ", ".join(f"{k} = {_value(v)}" for k, v in o.set.items()),
            )
            for o in q.options
        )
        questions.append(
            QuestionView(
                q.id,
                question.number,
                catalog.text(locale, QUESTION_KINDS[q.kind]),
                wording(q.text),
                wording(q.help) if q.help else None,
                options,
                way_on,
            )
        )
    rules = [
        RuleView(number, outcome.id, tuple(w.rule(outcome) for w in said), in_words(outcome.when))
        for number, outcome in enumerate(model.outcomes, start=1)
    ]
    cautions = tuple(
        CautionView(
            c.id, wording(c.title), tuple(w.shown_when(c.when) for w in said), in_words(c.when)
        )
        for c in model.cautions
    )
    titles = [{c.id: catalog.text(loc, c.title) for c in model.cautions} for loc in locales]
    guarantees = []
    for guarantee in model.guarantees:
        broken = next(
            (
                f
                for f in findings
                if f.message.startswith(f"guarantee '{guarantee.id}' ")
                and PurePath(f.file).stem == flow.id
            ),
            None,
        )
        guarantees.append(
            GuaranteeView(
                guarantee.id,
                guarantee.description or "",
                tuple(w.promise(guarantee, t) for w, t in zip(said, titles, strict=True)),
                broken is None,
                str(broken) if broken is not None else "",
            )
        )
    return FlowView(
        flow.id,
        flow.version,
        wording(model.title),
        locales,
        tuple(questions),
        tuple(rules),
        cautions,
        tuple(guarantees),
    )


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the advice came out so: the rule that chose the level, and each caution's cause."""

    rule: str
    cautions: tuple[tuple[str, str], ...]
    """Each caution's title and the sentence saying why it appeared."""


def explain(words: Renderer, flow: CompiledFlow, result: Result) -> Explanation:
    """Which outcome rule chose the level and why each caution appeared, in the page's language."""
    model = flow.model
    said = flow_words(words.catalog, flow, words.locale)
    number, outcome = next(
        (n, o) for n, o in enumerate(model.outcomes, start=1) if o.id == result.outcome_id
    )
    level = words.t(model.recommendations[outcome.recommend].label)
    if outcome.when is None:
        rule = words.t(UI.STUDIO_RULE_OTHERWISE, number=number, rule=outcome.id, level=level)
    else:
        rule = words.t(
            UI.STUDIO_RULE_FIRST,
            number=number,
            rule=outcome.id,
            level=level,
            condition=said.condition(outcome.when),
        )
    answers = dict(result.answers)
    cautions = []
    by_id = {c.id: c for c in model.cautions}
    for hit in result.cautions:
        told = "; ".join(words.said(flow, q, answers[q]) for q in hit.cited if q in answers)
        why = words.t(UI.STUDIO_CAUTION_BECAUSE, condition=said.condition(by_id[hit.id].when))
        if told:
            why += " " + words.t(UI.RESULT_YOU_SAID, answers=told).rstrip(".") + "."
        cautions.append((words.t(hit.title), why))
    return Explanation(rule, tuple(cautions))
