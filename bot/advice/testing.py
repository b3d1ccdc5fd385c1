"""Helpers to drive flows without a channel, for tests and scenario runs."""

from __future__ import annotations


def generate_flow(questions: int) -> tuple[str, str]:
    """A large valid flow and its English texts, for benchmarks and scale tests.

    A chain of three-option questions where answering ``c`` skips the next
    question; outcome rules and cautions read a few early and late answers,
    as real rules do. Its questions are marked ``record_only``: most of
    them change nothing in the advice, by design.
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
            "    record_only: true",
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
