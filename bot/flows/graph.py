"""Flow diagrams for admins: Mermaid and Graphviz DOT text drawn from a flow.

A flow's paths are spread over options' ``next``, questions' ``next``,
branch lists and plain file order, and its advice over outcome rules read
top to bottom. A picture shows all of it at once, so an admin can see
where each answer leads before trying it in the terminal.

Both formats are drawn from one neutral diagram (nodes and edges with
plain-text labels), so they always show the same thing; each renderer only
escapes and lays out. Pure: text in, text out, the same text every time for
the same flow, so diagrams can be committed and diffed.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.flows.checks import successors
from bot.flows.conditions import form
from bot.flows.model import RESULT, Condition, FactValue, Flow, Question, QuestionKind

LABEL_LIMIT = 48
"""Longest condition label drawn in full; longer ones are abbreviated."""

WRAP = 40
"""Question texts are wrapped at this width so boxes stay narrow."""

MAX_LISTED = 3
"""A default edge names the options taking it only when there are this few."""

START_KEY = "start_"
RESULT_KEY = "result_"


class Shape(StrEnum):
    """What a node stands for; each format draws each kind its own way."""

    START = "start"
    QUESTION = "question"
    RESULT = "result"
    OUTCOME = "outcome"
    CAUTION = "caution"


@dataclass(frozen=True, slots=True)
class Node:
    """One box: a key safe in both formats, and its label as lines of plain text."""

    key: str
    lines: tuple[str, ...]
    shape: Shape


@dataclass(frozen=True, slots=True)
class Edge:
    """One arrow; ``dotted`` marks cautions, which are shown beside the advice."""

    source: str
    target: str
    label: str = ""
    dotted: bool = False


@dataclass(frozen=True, slots=True)
class Diagram:
    """A flow as nodes and edges in a fixed order, before any format's syntax."""

    flow_id: str
    version: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def to_mermaid(flow: Flow, texts: Mapping[str, str] | None = None) -> str:
    """The flow as a Mermaid flowchart (paste into Markdown, GitHub or mermaid.live).

    ``texts`` is one locale's text table (``catalog.texts["en"]``); with it,
    each question shows its wording under its id.
    """
    diagram = build_diagram(flow, texts)
    out = ["flowchart TD", f"    %% flow {diagram.flow_id}, version {diagram.version}"]
    for node in diagram.nodes:
        label = "<br/>".join(_mermaid_escape(line) for line in node.lines)
        before, after = _MERMAID_SHAPES[node.shape]
        out.append(f'    {node.key}{before}"{label}"{after}')
    for edge in diagram.edges:
        arrow = "-.->" if edge.dotted else "-->"
        label = f'|"{_mermaid_escape(edge.label)}"|' if edge.label else ""
        out.append(f"    {edge.source} {arrow}{label} {edge.target}")
    return "\n".join(out) + "\n"


def to_dot(flow: Flow, texts: Mapping[str, str] | None = None) -> str:
    """The flow as a Graphviz DOT digraph (``dot -Tsvg``); ``texts`` as for ``to_mermaid``."""
    diagram = build_diagram(flow, texts)
    out = [
        f"digraph {_dot_quote(diagram.flow_id)} {{",
        f"    // flow {diagram.flow_id}, version {diagram.version}",
        "    rankdir=TB;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in diagram.nodes:
        label = "\\n".join(_dot_escape(line) for line in node.lines)
        out.append(f'    {_dot_quote(node.key)} [label="{label}"{_DOT_SHAPES[node.shape]}];')
    for edge in diagram.edges:
        attributes = []
        if edge.label:
            attributes.append(f'label="{_dot_escape(edge.label)}"')
        if edge.dotted:
            attributes.append("style=dashed")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        out.append(f"    {_dot_quote(edge.source)} -> {_dot_quote(edge.target)}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def build_diagram(flow: Flow, texts: Mapping[str, str] | None = None) -> Diagram:
    """The flow's nodes and edges, in file order, for any renderer.

    Questions lead on by their options' ``next`` (edges labelled with the
    option ids, the words conditions and scenario files use), by branches
    (labelled with their condition; the last one "otherwise"), or by their
    plain next question. The ``result`` node fans out to the outcome rules,
    numbered because the first that holds wins, and to the cautions.
    """
    nodes: list[Node] = [Node(START_KEY, ("start",), Shape.START)]
    edges: list[Edge] = [Edge(START_KEY, question_key(flow.start))]
    for question in flow.questions:
        kind = question.kind
        lines = [question.id if kind is QuestionKind.CHOICE else f"{question.id} ({kind.value})"]
        if texts is not None and question.text in texts:
            lines.extend(_wrap(texts[question.text]))
        nodes.append(Node(question_key(question.id), tuple(lines), Shape.QUESTION))
        edges.extend(_question_edges(flow, question))
    nodes.append(Node(RESULT_KEY, (RESULT,), Shape.RESULT))
    for number, outcome in enumerate(flow.outcomes, start=1):
        key = outcome_key(outcome.id)
        nodes.append(Node(key, (f"{outcome.id} → {outcome.recommend.value}",), Shape.OUTCOME))
        rule = describe(outcome.when) if outcome.when is not None else "otherwise"
        edges.append(Edge(RESULT_KEY, key, f"({number}) {rule}"))
    for caution in flow.cautions:
        key = caution_key(caution.id)
        lines = [f"caution: {caution.id}"]
        if texts is not None and caution.title in texts:
            lines.extend(_wrap(texts[caution.title]))
        nodes.append(Node(key, tuple(lines), Shape.CAUTION))
        edges.append(Edge(RESULT_KEY, key, describe(caution.when), dotted=True))
    return Diagram(flow.id, flow.version, tuple(nodes), tuple(edges))


def question_key(target: str) -> str:
    """A question's node key; ``result`` as a target is the result node.

    Keys carry a prefix so no id can clash with another kind of node or with
    Mermaid's own words (``end``; ids starting with ``o`` or ``x`` after an
    arrow).
    """
    return RESULT_KEY if target == RESULT else f"q_{target}"


def outcome_key(outcome_id: str) -> str:
    """An outcome rule's node key."""
    return f"rule_{outcome_id}"


def caution_key(caution_id: str) -> str:
    """A caution's node key."""
    return f"caution_{caution_id}"


def _question_edges(flow: Flow, question: Question) -> list[Edge]:
    """Every way on from one question, each labelled with what takes it."""
    source = question_key(question.id)
    edges: list[Edge] = []
    diverted: dict[str, list[str]] = {}
    for option in question.options:
        if option.next is not None:
            diverted.setdefault(option.next, []).append(option.id)
    if isinstance(question.next, list):
        for branch in question.next:
            label = describe(branch.when) if branch.when is not None else "otherwise"
            edges.append(Edge(source, question_key(branch.goto), label))
    else:
        # Without branches, the first place ``successors`` names is the
        # question's own ``next`` or, failing that, the next one in the file.
        default = next(successors(flow, question.id))
        staying = [o.id for o in question.options if o.next is None]
        label = ""
        if diverted:
            listed = bool(staying) and len(staying) <= MAX_LISTED
            label = " / ".join(staying) if listed else "otherwise"
        edges.append(Edge(source, question_key(default), label))
    for target, option_ids in diverted.items():
        edges.append(Edge(source, question_key(target), " / ".join(option_ids)))
    return edges


def describe(condition: Condition | None, limit: int = LABEL_LIMIT) -> str:
    """A condition as a short phrase: ``decision is made``, ``resources has none``.

    Drawn in full when it fits ``limit``; otherwise nested ``all``/``any``/
    ``not`` parts shrink to ``all(...)`` first, then the whole condition
    does, so a label never swamps the diagram. No condition always holds.
    """
    if condition is None:
        return "always"
    full = _phrase(condition, depth=None)
    if len(full) <= limit:
        return full
    shallow = _phrase(condition, depth=1)
    if len(shallow) <= limit:
        return shallow
    return _phrase(condition, depth=0)


def _phrase(condition: Condition, depth: int | None) -> str:
    """``condition`` in words; compound parts deeper than ``depth`` abbreviated."""
    kind = form(condition)
    if kind in ("all", "any", "not"):
        if depth == 0:
            return f"{kind}(...)"
        inner = None if depth is None else depth - 1
        if kind == "not":
            return f"not ({_phrase(condition.not_, inner)})" if condition.not_ else "not (?)"
        parts = condition.all if kind == "all" else condition.any
        joiner = " and " if kind == "all" else " or "
        return joiner.join(_part(p, inner) for p in parts or ())
    fact = condition.fact or "?"
    if kind == "is":
        return f"{fact} is {_value(condition.is_)}"
    if kind == "in":
        return f"{fact} in ({', '.join(_value(v) for v in condition.in_ or ())})"
    if kind == "has":
        return f"{fact} has {condition.has}"
    if kind == "has_any":
        return f"{fact} has any of ({', '.join(condition.has_any or ())})"
    if kind == "count_at_least":
        return f"{fact} has at least {condition.count_at_least}"
    if kind == "answered":
        return f"{fact} answered" if condition.answered else f"{fact} not answered"
    return "?"  # not exactly one form: `flows check` reports it


def _part(condition: Condition, depth: int | None) -> str:
    """One part of an ``all``/``any``, bracketed when it is itself compound."""
    text = _phrase(condition, depth)
    compound = form(condition) in ("all", "any") and not text.endswith("(...)")
    return f"({text})" if compound else text


def _value(value: FactValue | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WRAP) or [""]


_MERMAID_SHAPES = {
    Shape.START: ("((", "))"),
    Shape.QUESTION: ("[", "]"),
    Shape.RESULT: ("((", "))"),
    Shape.OUTCOME: ("([", "])"),
    Shape.CAUTION: ("{{", "}}"),
}

# Mermaid reads "#name;" and "#123;" as entities, '"' ends a quoted label,
# '|' ends an edge label, '<' and '>' would be taken as HTML, '&' starts an
# HTML entity and '`' starts a Markdown label. Each becomes its number.
_MERMAID_UNSAFE = re.compile(r'["#<>|&`]')


def _mermaid_escape(text: str) -> str:
    """Plain text made safe inside a quoted Mermaid label, on one line."""
    flat = " ".join(text.split())
    return _MERMAID_UNSAFE.sub(lambda m: f"#{ord(m.group())};", flat)


_DOT_SHAPES = {
    Shape.START: ", shape=circle",
    Shape.QUESTION: "",
    Shape.RESULT: ", shape=doublecircle",
    Shape.OUTCOME: ', shape=box, style="rounded,filled", fillcolor="#e8f0fe"',
    Shape.CAUTION: ', shape=hexagon, style=filled, fillcolor="#fdecea"',
}


def _dot_escape(text: str) -> str:
    """Plain text made safe inside a quoted DOT string, on one line.

    Backslashes are doubled because DOT labels give ``\\n``, ``\\l`` and
    ``\\N`` meanings of their own.
    """
    flat = " ".join(text.split())
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def _dot_quote(key: str) -> str:
    return f'"{_dot_escape(key)}"'
