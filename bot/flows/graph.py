"""Flow diagrams for admins: Mermaid and Graphviz DOT text drawn from a flow.

A flow's paths are spread over options' ``next``, questions' ``next``,
branch lists and plain file order, and its advice over outcome rules read
top to bottom. A picture shows all of it at once, so an admin can see
where each answer leads before trying it in the terminal.

Both formats are drawn from one neutral diagram (nodes and edges with
plain-text labels), so they always show the same thing; each renderer only
escapes and lays out. Graphviz lays the DOT out as SVG
(``bot/results/pictures.py`` runs it); nothing here places a box by
hand. Pure: text in, text out, the same text every time for the same flow,
so diagrams can be committed and diffed.

What makes the picture readable: option labels on the edges they take,
conditions written out in words rather than cut short, questions no path
reaches marked, and the outcome rules and cautions each drawn as one
numbered list beside the result instead of a fan of arrows, one per rule.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.flows.checks import reachable, successors
from bot.flows.conditions import form
from bot.flows.model import RESULT, Condition, FactValue, Flow, Question, QuestionKind

LABEL_LIMIT = 48
"""Longest condition ``describe`` gives in full by default; longer ones are abbreviated."""

WRAP = 40
"""Question texts are wrapped at this width so boxes stay narrow."""

RULE_WRAP = 64
"""Lines of the outcome-rule and caution lists are wrapped at this width."""

UNREACHABLE = "(never reached: no path leads here)"
"""The line added to a question no path from the start reaches."""

START_KEY = "start_"
RESULT_KEY = "result_"
RULES_KEY = "rules_"
CAUTIONS_KEY = "cautions_"


class Shape(StrEnum):
    """What a node stands for; each format draws each kind its own way."""

    START = "start"
    QUESTION = "question"
    UNREACHABLE = "unreachable"
    RESULT = "result"
    RULES = "rules"
    CAUTIONS = "cautions"


@dataclass(frozen=True, slots=True)
class Node:
    """One box: a key safe in both formats, and its label as lines of plain text."""

    key: str
    lines: tuple[str, ...]
    shape: Shape


@dataclass(frozen=True, slots=True)
class Edge:
    """One arrow; ``dotted`` marks cautions, which are shown beside the advice.

    A label naming several options joins them with `` / ``; DOT puts each on
    its own line.
    """

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
    each question shows its wording under its id and edges show the
    options' labels.
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
        f'    label="{_dot_escape(diagram.flow_id)}, version {diagram.version}";',
        '    labelloc=t; fontname="Helvetica";',
        '    node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in diagram.nodes:
        if node.shape in (Shape.RULES, Shape.CAUTIONS):
            # Left-justified lists: "\l" ends a line flush left in DOT.
            label = "".join(_dot_indent(line) + _dot_escape(line) + "\\l" for line in node.lines)
        else:
            label = "\\n".join(_dot_escape(line) for line in node.lines)
        out.append(f'    {_dot_quote(node.key)} [label="{label}"{_DOT_SHAPES[node.shape]}];')
    for edge in diagram.edges:
        attributes = []
        if edge.label:
            label = "\\n".join(_dot_escape(line) for line in edge.label.split(" / "))
            attributes.append(f'label="{label}"')
        if edge.dotted:
            attributes.append("style=dashed")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        out.append(f"    {_dot_quote(edge.source)} -> {_dot_quote(edge.target)}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def build_diagram(flow: Flow, texts: Mapping[str, str] | None = None) -> Diagram:
    """The flow's nodes and edges, in file order, for any renderer.

    Questions lead on by their options' ``next`` (edges labelled with the
    options that take them: their labels with ``texts``, else their ids), by
    branches (labelled with their condition in full; the last one
    "otherwise"), or by their plain next question. A question no path
    reaches is drawn as such. The ``result`` node leads to two lists: the
    outcome rules, numbered because the first that holds wins, and the
    cautions with the condition that raises each.
    """
    nodes: list[Node] = [Node(START_KEY, ("start",), Shape.START)]
    edges: list[Edge] = [Edge(START_KEY, question_key(flow.start))]
    live = reachable(flow)
    for question in flow.questions:
        kind = question.kind
        lines = [question.id if kind is QuestionKind.CHOICE else f"{question.id} ({kind.value})"]
        if texts is not None and question.text in texts:
            lines.extend(_wrap(texts[question.text]))
        if question.kind is not QuestionKind.CHOICE or isinstance(question.next, list):
            # No edge names these options (a multi-select, or branches on
            # conditions), so the box lists them.
            labels = {o.id: o.label for o in question.options if o.next is None}
            lines.extend(f"• {_option_words(o, labels[o], texts)}" for o in labels)
        shape = Shape.QUESTION
        if question.id not in live:
            lines.append(UNREACHABLE)
            shape = Shape.UNREACHABLE
        nodes.append(Node(question_key(question.id), tuple(lines), shape))
        edges.extend(_question_edges(flow, question, texts))
    nodes.append(Node(RESULT_KEY, (RESULT,), Shape.RESULT))
    rules = ["Outcome rules: the first that holds gives the advice"]
    for number, outcome in enumerate(flow.outcomes, start=1):
        condition = _words(outcome.when) if outcome.when is not None else "otherwise"
        rules.extend(
            _hang(f"{number}. {condition} → {outcome.recommend.value} ({outcome.id})", "   ")
        )
    nodes.append(Node(RULES_KEY, tuple(rules), Shape.RULES))
    edges.append(Edge(RESULT_KEY, RULES_KEY))
    if flow.cautions:
        cautions = ["Cautions: each shown whenever its condition holds"]
        for caution in flow.cautions:
            title = caution.id
            if texts is not None and caution.title in texts:
                title = f"{caution.id}: {' '.join(texts[caution.title].split())}"
            cautions.extend(_hang(f"⚠ {title}", "   "))
            cautions.extend(_hang(f"   when {_words(caution.when)}", "     "))
        nodes.append(Node(CAUTIONS_KEY, tuple(cautions), Shape.CAUTIONS))
        edges.append(Edge(RESULT_KEY, CAUTIONS_KEY, dotted=True))
    return Diagram(flow.id, flow.version, tuple(nodes), tuple(edges))


def question_key(target: str) -> str:
    """A question's node key; ``result`` as a target is the result node.

    Keys carry a prefix so no id can clash with another kind of node or with
    Mermaid's own words (``end``; ids starting with ``o`` or ``x`` after an
    arrow).
    """
    return RESULT_KEY if target == RESULT else f"q_{target}"


def _question_edges(flow: Flow, question: Question, texts: Mapping[str, str] | None) -> list[Edge]:
    """Every way on from one question, each labelled with what takes it."""
    source = question_key(question.id)

    def named(option_ids: list[str]) -> str:
        labels = {o.id: o.label for o in question.options}
        return " / ".join(_option_words(o, labels[o], texts) for o in option_ids)

    edges: list[Edge] = []
    diverted: dict[str, list[str]] = {}
    for option in question.options:
        if option.next is not None:
            diverted.setdefault(option.next, []).append(option.id)
    if isinstance(question.next, list):
        for branch in question.next:
            label = _words(branch.when) if branch.when is not None else "otherwise"
            edges.append(Edge(source, question_key(branch.goto), label))
    else:
        # Without branches, the first place ``successors`` names is the
        # question's own ``next`` or, failing that, the next one in the file.
        default = next(successors(flow, question.id))
        staying = [o.id for o in question.options if o.next is None]
        label = ""
        if question.kind is QuestionKind.CHOICE and staying:
            label = named(staying)
        elif diverted:
            label = "otherwise"
        edges.append(Edge(source, question_key(default), label))
    for target, option_ids in diverted.items():
        edges.append(Edge(source, question_key(target), named(option_ids)))
    return edges


def _option_words(option_id: str, label: str, texts: Mapping[str, str] | None) -> str:
    """An option as the diagram names it: its label in ``texts``, else its id."""
    if texts is None or label not in texts:
        return option_id
    return " ".join(texts[label].split())


def _words(condition: Condition) -> str:
    """A condition in full, never abbreviated: the picture has room to wrap it."""
    return describe(condition, limit=10_000)


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


def _hang(text: str, indent: str) -> list[str]:
    """One list entry wrapped for the rule and caution lists, later lines indented."""
    return textwrap.wrap(text, RULE_WRAP, subsequent_indent=indent) or [""]


_MERMAID_SHAPES = {
    Shape.START: ("((", "))"),
    Shape.QUESTION: ("[", "]"),
    Shape.UNREACHABLE: ("[/", "/]"),
    Shape.RESULT: ("((", "))"),
    Shape.RULES: ("([", "])"),
    Shape.CAUTIONS: ("{{", "}}"),
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
    Shape.UNREACHABLE: ', style="rounded,dashed,filled", fillcolor="#eeeeee", color="#b00020"',
    Shape.RESULT: ", shape=doublecircle",
    Shape.RULES: ', shape=note, style=filled, fillcolor="#e8f0fe"',
    Shape.CAUTIONS: ', shape=note, style=filled, fillcolor="#fdecea"',
}


def _dot_escape(text: str) -> str:
    """Plain text made safe inside a quoted DOT string, on one line.

    Backslashes are doubled because DOT labels give ``\\n``, ``\\l`` and
    ``\\N`` meanings of their own.
    """
    flat = " ".join(text.split())
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def _dot_indent(line: str) -> str:
    """A list line's leading spaces as no-break spaces, which Graphviz keeps."""
    return "\u00a0" * (len(line) - len(line.lstrip(" ")))


def _dot_quote(key: str) -> str:
    return f'"{_dot_escape(key)}"'
