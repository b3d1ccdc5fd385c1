"""Conditions compiled once, at load time, into plain predicates over facts.

A condition is data (see ``model.Condition``); compiling it into closures
means no update ever walks the model or looks at field names again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot.flows.model import Condition

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


_FORMS = ("all", "any", "not_", "is_", "in_", "has", "has_any", "count_at_least", "answered")


def form(condition: Condition) -> str:
    """The one form a condition takes (``all``, ``any``, ``not``, ``is``, ...); "" if not one."""
    present = [name for name in _FORMS if getattr(condition, name) is not None]
    return present[0].rstrip("_") if len(present) == 1 else ""


def compile_condition(condition: Condition | None) -> Predicate:
    """A predicate for ``condition``; ``None`` (no condition) always holds.

    The condition must already have passed ``checks``: exactly one form,
    with ``fact`` present for fact tests.
    """
    if condition is None:
        return _always
    kind = form(condition)
    if kind == "all":
        parts = tuple(compile_condition(c) for c in condition.all or ())
        return lambda facts: all(p(facts) for p in parts)
    if kind == "any":
        parts = tuple(compile_condition(c) for c in condition.any or ())
        return lambda facts: any(p(facts) for p in parts)
    if kind == "not":
        inner = compile_condition(condition.not_)
        return lambda facts: not inner(facts)
    name = condition.fact or ""
    if kind == "is":
        wanted = condition.is_
        return lambda facts: name in facts and _same(facts[name], wanted)
    if kind == "in":
        choices = tuple(condition.in_ or ())
        return lambda facts: name in facts and any(_same(facts[name], c) for c in choices)
    if kind == "has":
        item = condition.has
        return lambda facts: item in _as_list(facts.get(name))
    if kind == "has_any":
        items = frozenset(condition.has_any or ())
        return lambda facts: not items.isdisjoint(_as_list(facts.get(name)))
    if kind == "count_at_least":
        least = condition.count_at_least or 0
        return lambda facts: name in facts and len(_as_list(facts[name])) >= least
    if kind == "answered":
        expected = bool(condition.answered)
        return lambda facts: (name in facts) is expected
    raise ValueError(f"unchecked condition: {condition!r}")


def facts_read(condition: Condition | None) -> Iterator[str]:
    """Every fact name the condition looks at, in the order written."""
    if condition is None:
        return
    if condition.fact is not None:
        yield condition.fact
    for part in [*(condition.all or ()), *(condition.any or ())]:
        yield from facts_read(part)
    if condition.not_ is not None:
        yield from facts_read(condition.not_)


def _always(_facts: Facts) -> bool:
    return True


def _same(value: Any, wanted: Any) -> bool:
    # True == 1 in Python; a flow's `is: 1` must not match `true`.
    return type(value) is type(wanted) and value == wanted


def _as_list(value: Any) -> list[Any] | tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    return (value,)
