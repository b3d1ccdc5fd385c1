"""Every answer counts: options that change nothing in the advice, found over paths.

People notice when an answer they gave makes no difference, and stop trusting
the rest. So each option of each question must, on at least one path where it
can be chosen, give advice (level, headline, reasons, cautions, steps, what
would change it) that no other answer to that question would give there. A
choice option is compared with every other option of its question; an option
of a multi-select question with the same picks without it; an exclusive one
("none of these") with each other option picked alone. The answers echoed back
at the end do not count as a change.

The comparison is counterfactual over the facts of a real path: the same
answers everywhere else, this one question answered differently. It is a
target for the same path search the proofs use (``explore``), so it prunes
and deduplicates the same way. Each search has a budget of states; a search
that runs out ends with a finding saying so rather than running on.

A question marked ``record_only: true`` (a free-text description, say) is
exempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.advice.explore import Explorer, ProofBudgetExceeded, Settled, Target, all_of, tri
from bot.flows.catalog import CompiledFlow
from bot.flows.conditions import facts_read
from bot.flows.findings import Finding, Severity
from bot.flows.model import Condition, ConditionalText, Question, QuestionKind
from bot.flows.yamltext import Document

BUDGET = 20_000
"""States one option's search may visit before it gives up with a finding."""

ABSENT = object()
"""The question left unanswered (a skipped text, or a question with one option)."""

Swap = Callable[[Any], Any]
"""The answer in place of the one on the path, given the one on the path."""


class _OutOfBudget(Exception):
    """A search visited more states than its budget allows."""


def every_answer_counts(
    flow: CompiledFlow, file: str, doc: Document, budget: int = BUDGET
) -> list[Finding]:
    """A finding at each option (or text question) that changes nothing on any path.

    It is strict (an error unless ``--lenient``), like a caution that never
    shows; a search that runs out of budget is only a warning, since it
    proves nothing either way.
    """
    findings: list[Finding] = []
    model = flow.model
    for qi, question in enumerate(model.questions):
        if question.record_only:
            continue
        own = _own_facts(question)
        if question.kind is QuestionKind.TEXT:
            cases = [
                (("questions", qi), "the answer", _answered(question.id), [_const(ABSENT)], None)
            ]
        else:
            cases = [
                (("questions", qi, "options", oi), f"option '{option.id}'", chosen, others, value)
                for oi, option in enumerate(question.options)
                for chosen, others in [_alternatives(question, option.id)]
                for value in [option.id if question.kind is QuestionKind.CHOICE else None]
            ]
        for path, what, chosen, others, value in cases:
            where = f"{what} of question '{question.id}'"
            try:
                counts = _search(flow, question, own, chosen, others, budget, value)
            except _OutOfBudget:
                findings.append(
                    Finding(
                        file,
                        doc.line(path),
                        f"{where}: could not tell whether it ever changes the advice: the "
                        f"flow has too many ways through to try them all (stopped after "
                        f"{budget:,} partly answered paths)",
                        "simplify the conditions that read it, or mark the question "
                        "record_only: true",
                        Severity.WARNING,
                    )
                )
                continue
            if not counts:
                findings.append(
                    Finding(
                        file,
                        doc.line(path),
                        f"{where} changes nothing in the advice on any path where it can be chosen",
                        "make a rule, reason, step or caution depend on it, merge it with "
                        "an option that gives the same advice, or mark the question "
                        "record_only: true",
                        strict=True,
                    )
                )
    return findings


def _search(
    flow: CompiledFlow,
    question: Question,
    own: frozenset[str],
    chosen: Target,
    others: list[Swap],
    budget: int,
    chosen_value: str | None = None,
) -> bool:
    """Whether some path chooses it and no other answer there gives the same advice."""
    if not _read_anywhere(flow, own):
        return False
    differs = all_of(*(_differs(flow, question, own, swap) for swap in others))
    ahead = _ahead(flow, question, own, chosen_value)

    def test(facts: Mapping[str, Any], settled: Settled) -> bool | None:
        picked = chosen.test(facts, settled)
        if picked is None and ahead is not None and question.id not in facts:
            # Not asked yet: judge the paths below as if it were answered
            # with this option, and give up on them when none can differ.
            return None if differs.test(*ahead(facts, settled)) is not False else False
        return picked if picked is not True else differs.test(facts, settled)

    target = Target(test, chosen.reads | differs.reads)
    try:
        return Explorer(flow).search(_budgeted(target, budget)) is not None
    except ProofBudgetExceeded:
        raise _OutOfBudget from None


def _ahead(
    flow: CompiledFlow, question: Question, own: frozenset[str], value: str | None
) -> Callable[[Mapping[str, Any], Settled], tuple[Mapping[str, Any], Settled]] | None:
    """Facts and settledness as if a choice question not yet asked were answered ``value``.

    None when that cannot be done soundly: no single value (a multi-select
    or text question), or a fact it sets that another question can set too.
    """
    if value is None:
        return None
    sources = flow.fact_sources
    if any(set(sources.get(name, ())) - {question.id} for name in own):
        return None
    option = next(o for o in question.options if o.id == value)
    extra = {question.id: value, **option.set}

    def assume(facts: Mapping[str, Any], settled: Settled) -> tuple[Mapping[str, Any], Settled]:
        return {**facts, **extra}, lambda name: name in own or settled(name)

    return assume


def _alternatives(question: Question, option_id: str) -> tuple[Target, list[Swap]]:
    """When the option is chosen, and the answers to compare it with."""
    qid = question.id
    if question.kind is QuestionKind.CHOICE:
        others = [o.id for o in question.options if o.id != option_id]
        return _picked(qid, lambda v: v == option_id), [_const(o) for o in others] or [
            _const(ABSENT)
        ]
    option = next(o for o in question.options if o.id == option_id)
    if option.exclusive:
        others = [o.id for o in question.options if o.id != option_id]
        swaps = [_const((o,)) for o in others] or [_const(ABSENT)]
        return _picked(qid, lambda v: v == (option_id,)), swaps

    def without(value: Any) -> Any:
        return tuple(v for v in value if v != option_id)

    return _picked(qid, lambda v: isinstance(v, tuple) and option_id in v), [without]


def _picked(qid: str, holds: Callable[[Any], bool]) -> Target:
    def test(facts: Mapping[str, Any], settled: Settled) -> bool | None:
        if not settled(qid):
            return None
        return qid in facts and holds(facts[qid])

    return Target(test, frozenset((qid,)))


def _answered(qid: str) -> Target:
    return _picked(qid, lambda v: True)


def _const(value: Any) -> Swap:
    return lambda current: value


def _own_facts(question: Question) -> frozenset[str]:
    """The facts an answer to this question sets: its id and what its options set."""
    return frozenset((question.id, *(k for o in question.options for k in o.set)))


def _differs(flow: CompiledFlow, question: Question, own: frozenset[str], swap: Swap) -> Target:
    """The advice differs when this question's answer is swapped, all else the same.

    True once some part of the advice is known to differ, False once every
    part that could is known not to, None while that is open. The parts are
    the cautions, the outcome rule chosen, and, under the same rule, the
    texts it shows only when their conditions hold. Only conditions that
    read this question's facts can change, so only those are compared.
    """
    swapped = _swapper(question, swap)
    model = flow.model
    cautions = [tri(c.when) for c in model.cautions if _reads(c.when, own)]
    rules = [tri(o.when) for o in model.outcomes]
    rules_read = any(_reads(o.when, own) for o in model.outcomes)
    shown = [[tri(w) for w in _conditions(flow, i) if _reads(w, own)] for i in range(len(rules))]
    reads = frozenset((question.id,)).union(
        *(t.reads for t in cautions),
        *(t.reads for t in rules),
        *(t.reads for s in shown for t in s),
    )

    def first(facts: Mapping[str, Any], settled: Settled) -> int | None:
        for index, rule in enumerate(rules):
            holds = rule.test(facts, settled)
            if holds is None:
                return None
            if holds:
                return index
        return None

    def test(facts: Mapping[str, Any], settled: Settled) -> bool | None:
        if question.id not in facts:
            return None
        other = swapped(facts)
        unknown = False
        for caution in cautions:
            mine, theirs = caution.test(facts, settled), caution.test(other, settled)
            if mine is None or theirs is None:
                unknown = True
            elif mine != theirs:
                return True
        mine_rule = first(facts, settled)
        their_rule = first(other, settled) if rules_read else mine_rule
        if mine_rule is None or their_rule is None:
            return None
        if mine_rule != their_rule:
            return True
        for text in shown[mine_rule]:
            mine, theirs = text.test(facts, settled), text.test(other, settled)
            if mine is None or theirs is None:
                unknown = True
            elif mine != theirs:
                return True
        return None if unknown else False

    return Target(test, reads)


def _conditions(flow: CompiledFlow, index: int) -> Iterable[Condition]:
    """The conditions of the texts outcome rule ``index`` may show."""
    outcome = flow.model.outcomes[index]
    items = [*outcome.reasons, *outcome.would_change, *outcome.next_steps]
    level = flow.model.recommendations.get(outcome.recommend)
    if level is not None and outcome.standard_steps:
        items.extend(level.next_steps)
    return (i.when for i in items if isinstance(i, ConditionalText))


def _read_anywhere(flow: CompiledFlow, own: frozenset[str]) -> bool:
    """Whether any condition that shapes the advice reads one of these facts."""
    model = flow.model
    conditions = [c.when for c in model.cautions] + [o.when for o in model.outcomes]
    conditions += [w for i in range(len(model.outcomes)) for w in _conditions(flow, i)]
    return any(_reads(c, own) for c in conditions)


def _reads(condition: Condition | None, own: frozenset[str]) -> bool:
    return not own.isdisjoint(facts_read(condition))


def _swapper(question: Question, swap: Swap) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    """The facts with the question answered ``swap(answer)``; remembers the last call.

    Every condition compared for one alternative asks about the same facts
    in turn, so one copy per state serves them all.
    """
    qid = question.id
    sets = {o.id: o.set for o in question.options}
    last: list[Any] = [None, None]

    def swapped(facts: Mapping[str, Any]) -> Mapping[str, Any]:
        if last[0] is facts:
            return last[1]
        current = facts[qid]
        new = dict(facts)
        for option_id in _as_tuple(current):
            for name in sets.get(option_id, {}):
                new.pop(name, None)
        new.pop(qid, None)
        value = swap(current)
        if value is not ABSENT:
            new[qid] = value
            for option_id in _as_tuple(value):
                new.update(sets.get(option_id, {}))
        last[0], last[1] = facts, new
        return new

    return swapped


def _budgeted(target: Target, budget: int) -> Target:
    """``target``, raising ``_OutOfBudget`` once it has been asked about too many states."""
    calls = 0

    def test(facts: Mapping[str, Any], settled: Settled) -> bool | None:
        nonlocal calls
        calls += 1
        if calls > budget:
            raise _OutOfBudget
        return target.test(facts, settled)

    return Target(test, target.reads)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple | list):
        return tuple(value)
    return (value,)
