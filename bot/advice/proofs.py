"""What searching a flow's paths proves about its advice, as findings.

A caution never raised, a reason never shown and a guarantee whose
condition holds on no path (so it proves nothing) are errors, marked strict:
the flow would run, but an edit has not done what the admin meant, and a
reload must not put that live; ``--lenient`` makes them warnings while
drafting. Rules that can never fire and branches never taken are warnings.
A broken guarantee is an error, with a path of answers that breaks it, since
the flow would give advice it promised never to give. Every outcome rule
ends in a default, so every path gets exactly one recommendation by
construction; the search shows which rules are really used.
"""

from __future__ import annotations

from bot.advice import engine
from bot.advice.explore import (
    Explorer,
    all_of,
    any_of,
    broken_promise,
    covered,
    first_match,
    path_text,
    tri,
    violation,
)
from bot.flows.catalog import CompiledFlow
from bot.flows.findings import Finding, Severity
from bot.flows.model import ConditionalText
from bot.flows.yamltext import Document, Path

_WHAT = {"reasons": "reason", "would_change": "change", "next_steps": "step"}


def prove(flow: CompiledFlow, file: str, doc: Document) -> tuple[list[Finding], Explorer]:
    """Findings from searching the paths of ``flow``, and the explorer used."""
    explorer = Explorer(flow)
    findings: list[Finding] = []

    def warn(path: Path, message: str, hint: str) -> None:
        findings.append(Finding(file, doc.line(path), message, hint, Severity.WARNING))

    def strict(path: Path, message: str, hint: str) -> None:
        findings.append(Finding(file, doc.line(path), message, hint, strict=True))

    model = flow.model
    for index, outcome in enumerate(model.outcomes):
        here: Path = ("outcomes", index)
        chosen = first_match(flow, index)
        if explorer.search(chosen) is None:
            holds = explorer.search(tri(outcome.when))
            if holds is None:
                warn(
                    here,
                    f"outcome '{outcome.id}' is never given: its condition holds on no path",
                    "check the values it tests against the options",
                )
            else:
                facts = engine.facts(flow, holds)
                earlier = next(o.model.id for o in flow.outcomes if o.applies(facts))
                warn(
                    here,
                    f"outcome '{outcome.id}' is never given: an earlier rule always "
                    f"matches first (e.g. '{earlier}' for {path_text(holds)})",
                    "move it up or narrow the earlier rule",
                )
            continue
        for name in ("reasons", "would_change", "next_steps"):
            for ri, item in enumerate(getattr(outcome, name)):
                if not isinstance(item, ConditionalText):
                    continue
                if explorer.search(all_of(chosen, tri(item.when))) is None:
                    strict(
                        (*here, name, ri),
                        f"{_WHAT[name]} '{item.text}' is never shown with outcome '{outcome.id}'",
                        "its condition never holds when this rule is chosen",
                    )
    for level, recommendation in model.recommendations.items():
        for si, step in enumerate(recommendation.next_steps):
            if not isinstance(step, ConditionalText):
                continue
            given = [
                first_match(flow, i)
                for i, o in enumerate(model.outcomes)
                if o.recommend is level and o.standard_steps
            ]
            if explorer.search(all_of(any_of(*given), tri(step.when))) is None:
                strict(
                    ("recommendations", level.value, "next_steps", si),
                    f"step '{step.text}' is never shown with {level.value}",
                    "its condition never holds when a rule giving this level is chosen",
                )
    for index, caution in enumerate(model.cautions):
        if explorer.search(tri(caution.when)) is None:
            strict(
                ("cautions", index),
                f"caution '{caution.id}' is never raised: its condition holds on no path",
                "check the values it tests against the options",
            )
    taken = explorer.branches_taken()
    for qi, question in enumerate(model.questions):
        if isinstance(question.next, list):
            reached = any(key[0] == question.id for key in taken)
            for bi, branch in enumerate(question.next):
                if reached and (question.id, bi) not in taken:
                    warn(
                        ("questions", qi, "next", bi),
                        f"branch to '{branch.goto}' is never taken",
                        "an earlier branch always matches first, or its condition never holds here",
                    )
    for index, guarantee in enumerate(model.guarantees):
        if explorer.search(covered(flow, guarantee)) is None:
            strict(
                ("guarantees", index),
                f"guarantee '{guarantee.id}' proves nothing: no path has "
                + ("its condition" if not guarantee.if_recommend else "its condition and level"),
                "check the values its when: tests against the options; a promise about "
                "no path always passes",
            )
            continue
        witness = explorer.search(violation(flow, guarantee))
        if witness is None:
            continue
        why = broken_promise(flow, guarantee, witness) or "breaks it"
        findings.append(
            Finding(
                file,
                doc.line(("guarantees", index)),
                f"guarantee '{guarantee.id}' is broken: answering {path_text(witness)} {why}",
                "change the outcome rules or cautions so this path keeps the promise",
            )
        )
    return findings, explorer
