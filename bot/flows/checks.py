"""Reference and structure checks of one validated flow.

Pydantic has already checked shapes and types; these checks look across
parts: that every id a flow names exists, that conditions test facts the
flow can set with values it can give, that every path leads on without
looping, and that the outcome rules end in a default. Each finding names
the file and line, so an admin can go straight to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from bot.flows.conditions import form
from bot.flows.findings import Finding, Severity
from bot.flows.model import RESULT, Branch, Condition, ConditionalText, Flow, QuestionKind
from bot.flows.yamltext import Document, Path


@dataclass(frozen=True, slots=True)
class FactInfo:
    """What the flow can put in one fact; ``values`` is None for free text."""

    kind: str  # "choice", "multi", "text" or "set"
    values: frozenset[Any] | None


@dataclass(slots=True)
class _Checker:
    flow: Flow
    file: str
    doc: Document
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, FactInfo] = field(default_factory=dict)

    def error(self, path: Path, message: str, hint: str = "") -> None:
        self.findings.append(Finding(self.file, self.doc.line(path), message, hint))

    def strict(self, path: Path, message: str, hint: str = "") -> None:
        """An error that ``--lenient`` turns into a warning (see ``Finding.strict``)."""
        self.findings.append(Finding(self.file, self.doc.line(path), message, hint, strict=True))

    def warn(self, path: Path, message: str, hint: str = "") -> None:
        self.findings.append(
            Finding(self.file, self.doc.line(path), message, hint, Severity.WARNING)
        )


def fact_table(flow: Flow) -> dict[str, FactInfo]:
    """Every fact the flow's answers can set, with the values each can take."""
    facts: dict[str, FactInfo] = {}
    for question in flow.questions:
        option_ids = frozenset(o.id for o in question.options)
        values = None if question.kind is QuestionKind.TEXT else option_ids
        facts[question.id] = FactInfo(question.kind.value, values)
    for question in flow.questions:
        for option in question.options:
            for name, value in option.set.items():
                if name in facts and facts[name].kind != "set":
                    continue
                known = facts.get(name, FactInfo("set", frozenset()))
                facts[name] = FactInfo("set", (known.values or frozenset()) | {value})
    return facts


def check_flow(flow: Flow, file: str, doc: Document, expected_id: str | None) -> list[Finding]:
    """All reference and structure findings for one flow file."""
    c = _Checker(flow, file, doc)
    c.facts = fact_table(flow)
    if expected_id is not None and flow.id != expected_id:
        c.error(
            ("id",),
            f"flow id '{flow.id}' differs from the file name '{expected_id}'",
            f"rename the file to {flow.id}.yaml or set id: {expected_id}",
        )
    _check_questions(c)
    _check_graph(c)
    _check_outcomes(c)
    _check_cautions(c)
    _check_guarantees(c)
    return c.findings


def _duplicates(c: _Checker, items: list[Any], path: Path, what: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            c.error(
                (*path, index, "id"),
                f"duplicate {what} id '{item.id}'",
                "ids must be unique; rename one",
            )
        seen.add(item.id)


def _check_questions(c: _Checker) -> None:
    flow = c.flow
    ids = {q.id for q in flow.questions}
    _duplicates(c, flow.questions, ("questions",), "question")
    if flow.start not in ids:
        c.error(
            ("start",), f"start question '{flow.start}' is not defined", _suggest(flow.start, ids)
        )
    for qi, question in enumerate(flow.questions):
        here: Path = ("questions", qi)
        _duplicates(c, question.options, (*here, "options"), "option")
        if question.kind is QuestionKind.TEXT:
            if question.options:
                c.error(
                    (*here, "options"),
                    f"text question '{question.id}' cannot have options",
                    "remove the options or set kind: choice",
                )
        elif not question.options:
            c.error(
                (*here, "options") if "options" in _keys(c, here) else here,
                f"question '{question.id}' has no options",
                "add at least one option, or set kind: text",
            )
        if question.kind is QuestionKind.MULTI and question.min_choices > len(question.options):
            c.error(
                (*here, "min_choices"),
                f"min_choices is {question.min_choices} but there are only "
                f"{len(question.options)} options",
            )
        for oi, option in enumerate(question.options):
            where: Path = (*here, "options", oi)
            if option.next is not None:
                if question.kind is not QuestionKind.CHOICE:
                    c.error(
                        (*where, "next"),
                        "only options of a choice question can have next",
                        "put next on the question instead",
                    )
                _target(c, option.next, (*where, "next"))
            if option.exclusive and question.kind is not QuestionKind.MULTI:
                c.error((*where, "exclusive"), "exclusive only applies to multi questions")
            if option.days is not None:
                _days(c, option.days, question.kind, (*where, "days"))
            for name in option.set:
                if name in ids:
                    c.error(
                        (*where, "set", name),
                        f"fact '{name}' is the answer to question '{name}'; "
                        "an option cannot set it",
                        "choose another fact name",
                    )
        if isinstance(question.next, str):
            _target(c, question.next, (*here, "next"))
        elif isinstance(question.next, list):
            _branches(c, question.next, (*here, "next"))
        _days_overlap(c, question.options, here)


def _days(c: _Checker, days: list[int | None], kind: QuestionKind, path: Path) -> None:
    """``days: [from, under]``: two whole numbers, ``under`` above ``from`` or null."""
    if kind is not QuestionKind.CHOICE:
        c.error(path, "days only applies to choice questions")
    if len(days) != 2 or days[0] is None:
        c.error(
            path,
            f"days must be [from, under], two numbers of days; got {len(days)} entries"
            if len(days) != 2
            else "days: from must be a number of days",
            "for example days: [0, 90] for under three months, days: [365, null] for a year "
            "or more",
        )
        return
    start, under = days
    if under is not None and under <= start:
        c.error(path, f"days: under ({under}) must be more than from ({start})")


def _days_range(days: list[int | None] | None) -> tuple[int, float] | None:
    if days is None or len(days) != 2 or days[0] is None:
        return None
    return days[0], float("inf") if days[1] is None else days[1]


def _days_overlap(c: _Checker, options: list[Any], here: Path) -> None:
    """Two options whose ``days`` share a day: a typed duration could mean either."""
    seen: list[tuple[str, tuple[int, float]]] = []
    for oi, option in enumerate(options):
        span = _days_range(option.days)
        if span is None:
            continue
        for other_id, other in seen:
            if span[0] < other[1] and other[0] < span[1]:
                c.error(
                    (*here, "options", oi, "days"),
                    f"days of option '{option.id}' overlap those of option '{other_id}'",
                    "a typed duration must fit one option only; make under of one the from "
                    "of the next",
                )
        seen.append((option.id, span))


def _branches(c: _Checker, branches: list[Branch], path: Path) -> None:
    for index, branch in enumerate(branches):
        where = (*path, index)
        _target(c, branch.goto, (*where, "goto"))
        last = index == len(branches) - 1
        if branch.when is None and not last:
            c.error(
                where,
                "a branch without 'when' must be the last one",
                "branches after it could never be taken",
            )
        if branch.when is not None:
            _condition(c, branch.when, (*where, "when"))
            if last:
                c.error(
                    where,
                    "the last branch must have no 'when'",
                    "add '- goto: <question>' as the default",
                )


def _target(c: _Checker, target: str, path: Path) -> None:
    ids = {q.id for q in c.flow.questions}
    if target != RESULT and target not in ids:
        c.error(
            path,
            f"unknown question '{target}'",
            _suggest(target, ids | {RESULT}) or "name a question id or 'result'",
        )


def _condition(c: _Checker, cond: Condition, path: Path) -> None:
    kind = form(cond)
    if not kind:
        c.error(
            path,
            "a condition needs exactly one of: is, in, has, has_any, "
            "count_at_least, answered, all, any, not",
            "split it into several conditions under all:",
        )
        return
    if kind in ("all", "any", "not"):
        if cond.fact is not None:
            c.error(
                (*path, "fact"),
                f"'fact' does not go with '{kind}'",
                f"put the fact test inside the {kind} list",
            )
        parts = [cond.not_] if kind == "not" else (cond.all or cond.any or [])
        for index, part in enumerate(parts):
            inner = (*path, "not") if kind == "not" else (*path, kind, index)
            _condition(c, part, inner)
        return
    if cond.fact is None:
        c.error(path, f"'{kind}' needs a 'fact' to test", "add fact: <name>")
        return
    info = c.facts.get(cond.fact)
    if info is None:
        c.error(
            (*path, "fact"),
            f"unknown fact '{cond.fact}'",
            _suggest(cond.fact, set(c.facts)) or "facts are question ids and names set by options",
        )
        return
    if kind in ("has", "has_any", "count_at_least") and info.kind != "multi":
        c.error(
            (*path, kind),
            f"'{kind}' tests a multi-select answer, but '{cond.fact}' is a {info.kind} fact",
            "use is or in",
        )
        return
    if kind in ("is", "in") and info.kind == "multi":
        c.error(
            (*path, kind),
            f"'{cond.fact}' is a multi-select answer; '{kind}' cannot test it",
            "use has or has_any",
        )
        return
    wanted: list[Any] = {
        "is": [cond.is_],
        "in": list(cond.in_ or []),
        "has": [cond.has],
        "has_any": list(cond.has_any or []),
    }.get(kind, [])
    if info.values is None:
        return
    for value in wanted:
        if value not in info.values or any(
            type(value) is not type(v) for v in info.values if v == value
        ):
            allowed = ", ".join(sorted(str(v) for v in info.values))
            near = _suggest(str(value), {str(v) for v in info.values})
            if near:  # a typo in an option id: name the option meant, and its line
                meant = near.split("'")[1]
                near = f"{near} That is {_option_at(c, cond.fact, meant)}"
            c.error(
                (*path, kind),
                f"fact '{cond.fact}' never has the value '{value}'",
                f"{near}; it can be: {allowed}" if near else f"it can be: {allowed}",
            )


def _option_at(c: _Checker, fact: str, option_id: str) -> str:
    """``option 'budget' of question 'resources', at line 184``: where a value is given."""
    for qi, question in enumerate(c.flow.questions):
        for oi, option in enumerate(question.options):
            if (question.id == fact and option.id == option_id) or (
                str(option.set.get(fact, object())) == option_id
            ):
                line = c.doc.line(("questions", qi, "options", oi))
                return f"option '{option.id}' of question '{question.id}', at line {line}"
    return "a value no option gives"


def _check_graph(c: _Checker) -> None:
    """Refuse loops and questions no path reaches."""
    questions = {q.id: q for q in c.flow.questions}
    index = {q.id: i for i, q in enumerate(c.flow.questions)}
    edges = {qid: set(successors(c.flow, qid)) & set(questions) for qid in questions}
    state: dict[str, int] = {}

    def visit(start: str) -> None:
        """Depth first with a stack of its own: a chain of a thousand questions is
        no deeper for Python than one."""
        trail = [start]
        state[start] = 1
        pending = [iter(sorted(edges[start]))]
        while pending:
            qid = trail[-1]
            nxt = next(pending[-1], None)
            if nxt is None:
                state[qid] = 2
                trail.pop()
                pending.pop()
            elif state.get(nxt) == 1:
                loop = [*trail[trail.index(nxt) :], nxt]
                c.error(
                    ("questions", index[qid], "next")
                    if questions[qid].next is not None
                    else ("questions", index[qid]),
                    "questions loop back: " + " -> ".join(loop),
                    "a flow must always move on; point next at a later question",
                )
            elif nxt not in state:
                state[nxt] = 1
                trail.append(nxt)
                pending.append(iter(sorted(edges[nxt])))

    if c.flow.start in questions:
        visit(c.flow.start)
    for qid, q_index in index.items():
        if qid not in state and c.flow.start in questions:
            c.strict(
                ("questions", q_index),
                f"question '{qid}' can never be reached",
                "point a next at it, or remove it",
            )


def reachable(flow: Flow) -> set[str]:
    """The questions some path from the start can reach, by their ways on.

    A question outside this set is dead weight an admin probably did not
    mean: ``flows check`` reports it and the diagram marks it.
    """
    known = {q.id for q in flow.questions}
    seen: set[str] = set()
    todo = [flow.start] if flow.start in known else []
    while todo:
        qid = todo.pop()
        if qid in seen:
            continue
        seen.add(qid)
        todo.extend(t for t in successors(flow, qid) if t in known and t not in seen)
    return seen


def successors(flow: Flow, question_id: str) -> Iterator[str]:
    """Every place a question can lead: question ids, and ``result``."""
    order = [q.id for q in flow.questions]
    question = flow.questions[order.index(question_id)]
    fallback = order[order.index(question_id) + 1] if question_id != order[-1] else RESULT
    default = question.next if isinstance(question.next, str) else None
    if isinstance(question.next, list):
        yield from (b.goto for b in question.next)
    else:
        yield default or fallback
    for option in question.options:
        if option.next is not None:
            yield option.next


def _check_outcomes(c: _Checker) -> None:
    flow = c.flow
    _duplicates(c, flow.outcomes, ("outcomes",), "outcome")
    for index, outcome in enumerate(flow.outcomes):
        here: Path = ("outcomes", index)
        last = index == len(flow.outcomes) - 1
        if outcome.when is None and not last:
            c.error(
                here,
                f"outcome '{outcome.id}' has no 'when' but is not the last rule",
                "rules after it could never be used; move it to the end",
            )
        if outcome.when is not None:
            _condition(c, outcome.when, (*here, "when"))
            if last:
                c.error(
                    (*here, "when"),
                    f"the last outcome '{outcome.id}' must have no 'when'",
                    "it is the default; add a last rule without when",
                )
        if outcome.recommend not in flow.recommendations:
            c.error(
                (*here, "recommend"),
                f"'{outcome.recommend.value}' has no entry under recommendations",
                "add it under recommendations:",
            )
        for name in ("reasons", "would_change", "next_steps"):
            for ri, item in enumerate(getattr(outcome, name)):
                if isinstance(item, ConditionalText):
                    _condition(c, item.when, (*here, name, ri, "when"))
    for level, rec in flow.recommendations.items():
        for si, step in enumerate(rec.next_steps):
            if isinstance(step, ConditionalText):
                where = ("recommendations", level.value, "next_steps", si, "when")
                _condition(c, step.when, where)


def _check_cautions(c: _Checker) -> None:
    _duplicates(c, c.flow.cautions, ("cautions",), "caution")
    for index, caution in enumerate(c.flow.cautions):
        _condition(c, caution.when, ("cautions", index, "when"))


def _check_guarantees(c: _Checker) -> None:
    flow = c.flow
    _duplicates(c, flow.guarantees, ("guarantees",), "guarantee")
    cautions = {k.id for k in flow.cautions}
    advice_texts = {
        _text(item)
        for outcome in flow.outcomes
        for item in (*outcome.reasons, *outcome.would_change, *outcome.next_steps)
    } | {_text(step) for rec in flow.recommendations.values() for step in rec.next_steps}
    advice_texts |= {rec.summary for rec in flow.recommendations.values()}
    advice_texts |= {t for o in flow.outcomes for t in (o.headline, o.summary) if t is not None}
    for index, guarantee in enumerate(flow.guarantees):
        here: Path = ("guarantees", index)
        if guarantee.when is not None:
            _condition(c, guarantee.when, (*here, "when"))
        if not (
            guarantee.never_recommend
            or guarantee.must_caution
            or guarantee.must_include
            or guarantee.never_include
        ):
            c.error(
                here,
                f"guarantee '{guarantee.id}' promises nothing",
                "add never_recommend, must_caution, must_include or never_include",
            )
        for ci, caution in enumerate(guarantee.must_caution):
            if caution not in cautions:
                c.error(
                    (*here, "must_caution", ci),
                    f"unknown caution '{caution}'",
                    _suggest(caution, cautions),
                )
        for key in ("must_include", "never_include"):
            for ti, text in enumerate(getattr(guarantee, key)):
                if text not in advice_texts:
                    c.error(
                        (*here, key, ti),
                        f"text '{text}' is not a summary, reason, next step or change "
                        "of any outcome",
                        _suggest(text, advice_texts),
                    )


def text_refs(flow: Flow) -> Iterator[tuple[str, Path]]:
    """Every text id the flow uses, with where it is used."""
    yield flow.title, ("title",)
    if flow.description:
        yield flow.description, ("description",)
    yield flow.result_heading, ("result_heading",)
    for name in (part.name for part in fields(flow.headings)):
        text = getattr(flow.headings, name)
        if text is not None:
            yield text, ("headings", name)
    for qi, q in enumerate(flow.questions):
        yield q.text, ("questions", qi, "text")
        if q.help:
            yield q.help, ("questions", qi, "help")
        for oi, o in enumerate(q.options):
            yield o.label, ("questions", qi, "options", oi, "label")
    for level, rec in flow.recommendations.items():
        here = ("recommendations", level.value)
        for name in ("label", "summary", "ladder", "spectrum"):
            yield getattr(rec, name), (*here, name)
        for si, step in enumerate(rec.next_steps):
            yield _text(step), (*here, "next_steps", si)
    for oi, outcome in enumerate(flow.outcomes):
        here = ("outcomes", oi)
        for name in ("headline", "summary", "ladder", "spectrum"):
            if getattr(outcome, name) is not None:
                yield getattr(outcome, name), (*here, name)
        for name in ("reasons", "would_change", "next_steps"):
            for ti, item in enumerate(getattr(outcome, name)):
                yield _text(item), (*here, name, ti)
    for ci, caution in enumerate(flow.cautions):
        for name in ("title", "why", "do"):
            yield getattr(caution, name), ("cautions", ci, name)


def _text(item: str | ConditionalText) -> str:
    """The text id of a plain or conditional text."""
    return item.text if isinstance(item, ConditionalText) else item


def _keys(c: _Checker, path: Path) -> set[str]:
    node: Any = c.doc.data
    for part in path:
        node = node[part]
    return set(node) if isinstance(node, dict) else set()


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
