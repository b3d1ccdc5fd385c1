"""Helpers to drive flows without a channel, for tests and scenario runs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from bot import engine
from bot.catalog import Catalog
from bot.engine import Result, Session
from bot.render import Renderer
from bot.sources import read_place, resolve
from bot.uitext import UI


class ScenarioError(AssertionError):
    """A scripted answer was refused, or the answers ran out before the result."""


@cache
def project_catalog() -> Catalog:
    """The project's own flows and texts, loaded once per process."""
    return read_place(resolve(None)).unwrap()


def walk(
    flow_id: str,
    answers: Sequence[str],
    catalog: Catalog | None = None,
    locale: str = "en",
) -> Session:
    """The session after typing each answer in turn; refuses any refused answer."""
    catalog = catalog or project_catalog()
    flow = catalog.flows[flow_id]
    words = Renderer(catalog, locale)
    skip = words.t(UI.COMMAND_SKIP)
    session = engine.start(flow)
    for number, typed in enumerate(answers, start=1):
        step = engine.answer(flow, session, typed, locale, skip)
        if step.problem is not None:
            raise ScenarioError(
                f"answer {number} ({typed!r}) to question '{session.question}' was refused: "
                f"{words.problem(flow, session, step.problem)}"
            )
        session = step.session
    return session


def advise(
    flow_id: str,
    answers: Sequence[str],
    catalog: Catalog | None = None,
    locale: str = "en",
) -> Result:
    """The advice after typing ``answers``; they must reach the result."""
    catalog = catalog or project_catalog()
    session = walk(flow_id, answers, catalog, locale)
    if not session.finished:
        raise ScenarioError(
            f"the answers ran out at question '{session.question}' before the result"
        )
    return engine.result(catalog.flows[flow_id], session)


def generate_flow(questions: int) -> tuple[str, str]:
    """A large valid flow and its English texts, for benchmarks and scale tests.

    A chain of three-option questions where answering ``c`` skips the next
    question; outcome rules and cautions read a few early and late answers,
    as real rules do.
    """
    n = questions
    lines = [
        "id: generated",
        "version: 1",
        "title: gen.title",
        "audience: staff",
        "start: g1",
        "questions:",
    ]
    for i in range(1, n + 1):
        skip_to = f"g{i + 2}" if i + 2 <= n else "result"
        after = f"g{i + 1}" if i < n else "result"
        lines += [
            f"  - id: g{i}",
            "    text: gen.q",
            "    options:",
            *(f"      - {{id: {o}, label: gen.o.{o}}}" for o in "abc"),
            "    next:",
            f"      - when: {{fact: g{i}, is: c}}",
            f"        goto: {skip_to}",
            f"      - goto: {after}",
        ]
    lines += ["recommendations:"]
    for level in ("inform", "consult", "co_produce"):
        lines.append(f"  {level}: {{label: gen.s, summary: gen.s, ladder: gen.s, spectrum: gen.s}}")
    lines += [
        "outcomes:",
        "  - id: early",
        "    when: {all: [{fact: g1, is: a}, {fact: g2, is: a}]}",
        "    recommend: inform",
        "    reasons: [gen.s]",
        "  - id: late",
        f"    when: {{any: [{{fact: g{n}, is: b}}, {{fact: g3, is: b}}]}}",
        "    recommend: co_produce",
        "    reasons: [gen.s]",
        "  - id: otherwise",
        "    recommend: consult",
        "cautions:",
        "  - id: watch",
        f"    when: {{all: [{{fact: g2, is: c}}, {{fact: g{n - 1}, is: b}}]}}",
        "    title: gen.s",
        "    why: gen.s",
        "    do: gen.s",
        "guarantees:",
        "  - id: early_is_inform",
        "    when: {all: [{fact: g1, is: a}, {fact: g2, is: a}]}",
        "    never_recommend: [co_produce]",
    ]
    content = "\n".join(
        [
            "gen.title: Generated flow",
            "gen.q: A generated question?",
            "gen.o.a: Option A",
            "gen.o.b: Option B",
            "gen.o.c: Option C",
            "gen.s: Generated text.",
        ]
    )
    return "\n".join(lines) + "\n", content + "\n"
