"""Searching a flow's paths for one that makes something happen.

An admin's edit must never leave a rule that cannot fire, a branch nobody
takes, or advice that breaks a promise the flow makes. Enumerating every
combination of answers grows as the product of the options (hundreds of
thousands of endings for the shipped flows), so each question is asked
separately instead: "is there a path on which X happens?". The search walks
paths with the engine itself, so what it finds is what users get, and it
prunes as it goes:

- a target is evaluated in three-valued logic on every partial path: once
  the facts it reads are settled (no question still ahead can set them) and
  it is false, nothing below can make it true;
- two partial paths at the same question that agree on every fact the
  target or a later branch reads have the same futures, so one is enough;
- options no condition tells apart (same ``next``, same ``set``, never
  named) are tried once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import Any

from bot.advice import engine
from bot.advice.engine import Answer, Session
from bot.flows.catalog import CompiledFlow, CompiledQuestion
from bot.flows.checks import successors
from bot.flows.conditions import compile_condition, facts_read, form
from bot.flows.model import RESULT, Condition, ConditionalText, Guarantee, QuestionKind

SKIP = "\x00skip"
"""A skip word no person can type, so the search never depends on a locale."""
SOME_TEXT = "…"
"""Stands for any free text a person might type."""

Settled = Callable[[str], bool]
Tri = bool | None
"""True, False, or None for "not known yet on this partial path"."""


@dataclass(frozen=True, slots=True)
class Target:
    """Something to find a path for: a three-valued test and the facts it reads."""

    test: Callable[[Mapping[str, Any], Settled], Tri]
    reads: frozenset[str]


def tri(condition: Condition | None) -> Target:
    """A condition as a three-valued target."""
    if condition is None:
        return Target(lambda facts, settled: True, frozenset())
    kind = form(condition)
    if kind in ("all", "any"):
        parts = [tri(c) for c in (condition.all or condition.any or [])]
        return (all_of if kind == "all" else any_of)(*parts)
    if kind == "not":
        return not_of(tri(condition.not_))
    name = condition.fact or ""
    holds = compile_condition(condition)

    def test(facts: Mapping[str, Any], settled: Settled) -> Tri:
        return holds(facts) if settled(name) else None

    return Target(test, frozenset((name,)))


def all_of(*parts: Target) -> Target:
    def test(facts: Mapping[str, Any], settled: Settled) -> Tri:
        unknown = False
        for part in parts:
            value = part.test(facts, settled)
            if value is False:
                return False
            unknown = unknown or value is None
        return None if unknown else True

    return Target(test, frozenset().union(*(p.reads for p in parts)))


def any_of(*parts: Target) -> Target:
    def test(facts: Mapping[str, Any], settled: Settled) -> Tri:
        unknown = False
        for part in parts:
            value = part.test(facts, settled)
            if value is True:
                return True
            unknown = unknown or value is None
        return None if unknown else False

    return Target(test, frozenset().union(*(p.reads for p in parts)))


def not_of(part: Target) -> Target:
    def test(facts: Mapping[str, Any], settled: Settled) -> Tri:
        value = part.test(facts, settled)
        return None if value is None else not value

    return Target(test, part.reads)


NEVER = Target(lambda facts, settled: False, frozenset())

STEP_BUDGET = 100_000
"""Answers one flow's proofs may try, across all its searches. The pruning keeps
real flows far below (the shipped flows need under 6,000, a generated
300-question flow about 4,000), while a flow built to defeat it (a multi-select
of 30 options each setting its own fact, read together by one rule) would need
billions; with the budget, proving ends in seconds and bounded memory with a
finding instead of running out of either."""


class ProofBudgetExceeded(Exception):
    """Proving a flow needed more than ``STEP_BUDGET`` answers tried; names where."""

    def __init__(self, question_id: str) -> None:
        super().__init__(question_id)
        self.question_id = question_id


class Explorer:
    """Path searches over one flow, sharing what they precompute."""

    def __init__(self, flow: CompiledFlow, budget: int = STEP_BUDGET) -> None:
        self.flow = flow
        self.states = 0
        self.steps = 0
        self.budget = budget

    def _spend(self, question: CompiledQuestion) -> None:
        """Count one answer tried; past the budget, stop with where it ran out."""
        self.steps += 1
        if self.steps > self.budget:
            raise ProofBudgetExceeded(question.id)

    @cached_property
    def reach(self) -> dict[str, frozenset[str]]:
        """For each question, the questions that may still be asked from it (itself included)."""
        model = self.flow.model
        reach: dict[str, frozenset[str]] = {}
        # Depth first with a stack of its own (the checks refused loops before
        # this), so a chain of a thousand questions needs no deep recursion.
        for question in model.questions:
            stack = [(question.id, False)]
            while stack:
                question_id, ready = stack.pop()
                if question_id in reach:
                    continue
                after = {t for t in successors(model, question_id) if t != RESULT}
                if ready:
                    reach[question_id] = frozenset({question_id}.union(*(reach[t] for t in after)))
                else:
                    stack.append((question_id, True))
                    stack.extend((t, False) for t in after if t not in reach)
        return reach

    @cached_property
    def branch_reads(self) -> dict[str, frozenset[str]]:
        """For each question, the facts read by branches from it or any question after it."""
        own = {
            q.id: frozenset(f for b in q.next for f in facts_read(b.when))
            if isinstance(q.next, list)
            else frozenset()
            for q in self.flow.model.questions
        }
        return {
            qid: frozenset().union(*(own[r] for r in reached))
            for qid, reached in self.reach.items()
        }

    @cached_property
    def named_values(self) -> dict[str, set[Any]]:
        """For each fact, the values some condition names (the rest are alike)."""
        named: dict[str, set[Any]] = {}
        for condition in all_conditions(self.flow):
            for part in walk(condition):
                if part.fact is not None:
                    values = named.setdefault(part.fact, set())
                    values.update(v for v in (part.is_, part.has) if v is not None)
                    values.update(part.in_ or ())
                    values.update(part.has_any or ())
                    if part.count_at_least is not None:
                        values.add(("count", part.count_at_least))
        return named

    def settled_at(self, question_id: str | None) -> Settled:
        if question_id is None:
            return lambda fact: True
        ahead = self.reach[question_id]
        sources = self.flow.fact_sources
        return lambda fact: ahead.isdisjoint(sources.get(fact, ()))

    def search(self, target: Target) -> Session | None:
        """A finished session on which ``target`` holds, or None if no path gives one."""
        flow = self.flow
        seen: set[tuple[Any, ...]] = set()
        stack = [engine.start(flow)]
        while stack:
            session = stack.pop()
            facts = engine.facts(flow, session)
            verdict = target.test(facts, self.settled_at(session.question))
            if verdict is False:
                continue
            question = engine.current(flow, session)
            if question is None:
                return session
            keep = target.reads | self.branch_reads[question.id]
            key = (question.id, tuple(sorted((k, _frozen(facts[k])) for k in keep if k in facts)))
            if key in seen:
                continue
            seen.add(key)
            self.states += 1
            # Pushed last-first, so the first options are tried first and
            # witnesses read like the paths people usually take.
            for value in reversed(list(self._answers(question))):
                step = _apply(flow, session, question, value)
                if step is not None:
                    stack.append(step)
        return None

    def endings(self) -> Iterator[Session]:
        """A finished session for every distinct advice the flow can give.

        Two partial paths at the same question that agree on every fact any
        condition reads end in the same advice, so only one is followed.
        """
        flow = self.flow
        reads = frozenset(name for c in all_conditions(flow) for name in facts_read(c))
        seen: set[tuple[Any, ...]] = set()
        stack = [engine.start(flow)]
        while stack:
            session = stack.pop()
            question = engine.current(flow, session)
            facts = engine.facts(flow, session)
            key = (
                None if question is None else question.id,
                tuple(sorted((k, _frozen(facts[k])) for k in reads if k in facts)),
            )
            if key in seen:
                continue
            seen.add(key)
            if question is None:
                yield session
                continue
            for value in self.answers(question):
                step = _apply(flow, session, question, value)
                if step is not None:
                    stack.append(step)

    def branches_taken(self) -> set[tuple[str, int]]:
        """Every (question, branch index) some path takes."""
        flow = self.flow
        taken: set[tuple[str, int]] = set()
        seen: set[tuple[Any, ...]] = set()
        stack = [engine.start(flow)]
        while stack:
            session = stack.pop()
            question = engine.current(flow, session)
            if question is None:
                continue
            facts = engine.facts(flow, session)
            keep = self.branch_reads[question.id]
            key = (question.id, tuple(sorted((k, _frozen(facts[k])) for k in keep if k in facts)))
            if key in seen:
                continue
            seen.add(key)
            self.states += 1
            for value in reversed(list(self._answers(question))):
                step = _apply(flow, session, question, value)
                if step is None:
                    continue
                chosen = value if isinstance(value, str) else None
                if (
                    chosen is None
                    or question.options.get(chosen) is None
                    or (question.options[chosen].next is None)
                ):
                    after = engine.facts(flow, step)
                    for index, (applies, _) in enumerate(question.branches):
                        if applies(after):
                            taken.add((question.id, index))
                            break
                stack.append(step)
        return taken

    def _answers(self, question: CompiledQuestion) -> Iterator[Answer]:
        """``answers``, each one counted against the budget as it is made."""
        for answer in self.answers(question):
            self._spend(question)
            yield answer

    def answers(self, question: CompiledQuestion) -> Iterator[Answer]:
        """One answer for each way this question can make a difference."""
        model = question.model
        named = self.named_values.get(question.id, set())
        if model.kind is QuestionKind.TEXT:
            yield SOME_TEXT
            if model.optional:
                yield ""
            yield from sorted(v for v in named if isinstance(v, str) and v)
            return
        classes: dict[Any, str] = {}
        for option_id in question.option_ids:
            option = question.options[option_id]
            sets = tuple(sorted((k, repr(v)) for k, v in option.set.items()))
            key = (option_id if option_id in named else None, option.next, sets, option.exclusive)
            classes.setdefault(key, option_id)
        representatives = list(classes.values())
        if model.kind is QuestionKind.CHOICE:
            yield from representatives
            return
        exclusive = [o for o in representatives if question.options[o].exclusive]
        plain = [o for o in representatives if not question.options[o].exclusive]
        counts = any(isinstance(v, tuple) for v in named)
        spare = [o for o in question.option_ids if o not in plain and o not in exclusive]
        spare = [o for o in spare if not question.options[o].exclusive]
        for size in range(len(plain) + 1):
            for picked in combinations(plain, size):
                extra_sizes = range(len(spare) + 1) if counts else (0,)
                for extra in extra_sizes:
                    chosen = (*picked, *spare[:extra])
                    if len(chosen) >= model.min_choices:
                        yield tuple(o for o in question.option_ids if o in chosen)
        if model.min_choices <= 1:
            yield from ((o,) for o in exclusive)


def _apply(
    flow: CompiledFlow, session: Session, question: CompiledQuestion, value: Answer
) -> Session | None:
    if question.model.kind is QuestionKind.TEXT:
        typed = SKIP if value == "" else str(value)
        step = engine.answer(flow, session, typed, "", SKIP)
    elif isinstance(value, tuple):
        step = engine.choose_many(flow, session, value)
    else:
        step = engine.choose(flow, session, value)
    return step.session if step.accepted else None


def all_conditions(flow: CompiledFlow) -> Iterator[Condition]:
    """Every condition a flow writes, wherever it is."""
    model = flow.model
    for question in model.questions:
        if isinstance(question.next, list):
            yield from (b.when for b in question.next if b.when is not None)
    for outcome in model.outcomes:
        if outcome.when is not None:
            yield outcome.when
        for item in (*outcome.reasons, *outcome.would_change, *outcome.next_steps):
            if isinstance(item, ConditionalText):
                yield item.when
    for recommendation in model.recommendations.values():
        yield from (s.when for s in recommendation.next_steps if isinstance(s, ConditionalText))
    yield from (c.when for c in model.cautions)
    yield from (g.when for g in model.guarantees if g.when is not None)


def walk(condition: Condition) -> Iterator[Condition]:
    """A condition and every condition inside it."""
    yield condition
    for part in [*(condition.all or ()), *(condition.any or ())]:
        yield from walk(part)
    if condition.not_ is not None:
        yield from walk(condition.not_)


def first_match(flow: CompiledFlow, index: int) -> Target:
    """Outcome rule ``index`` is the one chosen: it holds and no earlier rule does."""
    outcomes = flow.model.outcomes
    earlier = [not_of(tri(o.when)) for o in outcomes[:index]]
    return all_of(tri(outcomes[index].when), *earlier)


def covered(flow: CompiledFlow, guarantee: Guarantee) -> Target:
    """Paths the guarantee speaks about: its ``when`` holds and the level is one it names."""
    applies = [
        first_match(flow, i)
        for i, o in enumerate(flow.model.outcomes)
        if not guarantee.if_recommend or o.recommend in guarantee.if_recommend
    ]
    return all_of(tri(guarantee.when), any_of(*applies) if applies else NEVER)


def violation(flow: CompiledFlow, guarantee: Guarantee) -> Target:
    """Paths on which the guarantee is broken."""
    outcomes = flow.model.outcomes
    chosen = [
        (i, o)
        for i, o in enumerate(outcomes)
        if not guarantee.if_recommend or o.recommend in guarantee.if_recommend
    ]
    base = covered(flow, guarantee)
    broken: list[Target] = [
        first_match(flow, i) for i, o in chosen if o.recommend in guarantee.never_recommend
    ]
    cautions = {c.id: c for c in flow.model.cautions}
    broken.extend(not_of(tri(cautions[c].when)) for c in guarantee.must_caution if c in cautions)
    for text in guarantee.must_include:
        for i, _ in chosen:
            places = shown_when(flow, i, text)
            if any(when is None for when in places):
                continue
            missing = not_of(any_of(*(tri(when) for when in places))) if places else tri(None)
            broken.append(all_of(first_match(flow, i), missing))
    for text in guarantee.never_include:
        for i, _ in chosen:
            places = shown_when(flow, i, text)
            if places:
                shown = tri(None) if None in places else any_of(*(tri(w) for w in places))
                broken.append(all_of(first_match(flow, i), shown))
    return all_of(base, any_of(*broken) if broken else NEVER)


def shown_when(flow: CompiledFlow, index: int, text: str) -> list[Condition | None]:
    """When outcome rule ``index``, once chosen, shows ``text``: one entry per place it can.

    None stands for a place that shows it always; an empty list means it never does.
    """
    outcome = flow.model.outcomes[index]
    items = [*outcome.reasons, *outcome.would_change, *outcome.next_steps]
    items.extend(t for t in (outcome.headline, outcome.summary) if t is not None)
    level = flow.model.recommendations.get(outcome.recommend)
    if outcome.summary is None and level is not None:
        items.append(level.summary)
    if level is not None and outcome.standard_steps:
        items.extend(level.next_steps)
    found: list[Condition | None] = []
    for item in items:
        if isinstance(item, ConditionalText):
            if item.text == text:
                found.append(item.when)
        elif item == text:
            found.append(None)
    return found


def path_text(session: Session) -> str:
    """A path as an admin reads it: ``decision=made, asked_before=no``."""
    parts = []
    for question in session.history:
        value = session.answers[question]
        if isinstance(value, tuple):
            shown = "[" + ",".join(value) + "]"
        elif value == "":
            shown = "(skipped)"
        else:
            shown = value
        parts.append(f"{question}={shown}")
    return ", ".join(parts)


def broken_promise(flow: CompiledFlow, guarantee: Guarantee, session: Session) -> str | None:
    """How a finished session breaks the guarantee, or None if it keeps it."""
    facts = engine.facts(flow, session)
    if not compile_condition(guarantee.when)(facts):
        return None
    result = engine.result(flow, session)
    if guarantee.if_recommend and result.level not in guarantee.if_recommend:
        return None
    if result.level in guarantee.never_recommend:
        return f"gives {result.level.value}"
    missing = [c for c in guarantee.must_caution if c not in result.caution_ids]
    if missing:
        return f"gives {result.level.value} without the caution {', '.join(missing)}"
    shown = {r.text for r in result.reasons} | set(result.next_steps) | set(result.would_change)
    shown |= {result.summary, *((result.headline,) if result.headline else ())}
    absent = [t for t in guarantee.must_include if t not in shown]
    if absent:
        return f"gives {result.level.value} without {', '.join(absent)}"
    present = [t for t in guarantee.never_include if t in shown]
    if present:
        return f"gives {result.level.value} with {', '.join(present)}"
    return None


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
