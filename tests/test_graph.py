"""Flow diagrams: every question, way on and outcome drawn, in valid Mermaid and DOT."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from bot.flows.checks import successors
from bot.flows.graph import (
    CAUTIONS_KEY,
    RESULT_KEY,
    RULES_KEY,
    START_KEY,
    UNREACHABLE,
    Shape,
    build_diagram,
    describe,
    question_key,
    to_dot,
    to_mermaid,
)
from bot.flows.model import Condition, Flow
from bot.flows.validation import FLOW
from bot.results.pictures import svg

from support import fixture_catalog, mini_catalog

NASTY = 'Say "hi" [now] {x} (y) | <b>bold</b> #1; a\\b & `code` --> end %% c'


def plan() -> Flow:
    return fixture_catalog().flows["plan"].model


def english() -> dict[str, str]:
    return dict(fixture_catalog().texts["en"])


# --- A small reader for the Mermaid this module writes -----------------------

MERMAID_QUOTED = r'"[^"\n]*"'
MERMAID_NODE = re.compile(
    rf"^    (?P<key>[A-Za-z_][A-Za-z0-9_]*)"
    rf"(?:\[{MERMAID_QUOTED}\]|\(\({MERMAID_QUOTED}\)\)|\(\[{MERMAID_QUOTED}\]\)|"
    rf"\{{\{{{MERMAID_QUOTED}\}}\}})$"
)
MERMAID_EDGE = re.compile(
    rf"^    (?P<source>[A-Za-z_][A-Za-z0-9_]*) (?:-->|-\.->)(?:\|(?P<label>{MERMAID_QUOTED})\|)? "
    rf"(?P<target>[A-Za-z_][A-Za-z0-9_]*)$"
)


def mermaid_edges(text: str) -> list[tuple[str, str, str]]:
    """Every edge as (source, target, label); fails on any line the grammar does not allow."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    edges = []
    for line in lines[1:]:
        if line.startswith("    %%") or MERMAID_NODE.match(line):
            continue
        edge = MERMAID_EDGE.match(line)
        assert edge, f"not valid Mermaid as written by bot.flows.graph: {line!r}"
        edges.append((edge["source"], edge["target"], (edge["label"] or '""')[1:-1]))
    return edges


def assert_mermaid_labels_safe(text: str) -> None:
    """Inside labels: no raw quote, pipe, hash entity, HTML or backtick; only our <br/>."""
    for label in re.findall(MERMAID_QUOTED, text):
        inner = label[1:-1].replace("<br/>", "")
        assert not re.search(r"[<>|`&]", inner), label
        assert not re.search(r"#(?![0-9]+;)", inner), label


# --- A small reader for the DOT this module writes ----------------------------

DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
DOT_EDGE = re.compile(rf"^    (?P<source>{DOT_STRING}) -> (?P<target>{DOT_STRING})(?: \[.*\])?;$")


def dot_edges(text: str) -> list[tuple[str, str]]:
    return [
        (m["source"][1:-1], m["target"][1:-1])
        for line in text.splitlines()
        if (m := DOT_EDGE.match(line))
    ]


def assert_valid_dot(text: str) -> None:
    """Graphviz lays it out, and quotes close and braces balance."""
    assert svg(text).lstrip().startswith("<?xml")
    outside = re.sub(DOT_STRING, "S", text)
    assert '"' not in outside, "a quoted string does not close"
    assert "\\" not in outside
    depth = 0
    for char in outside:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a closing brace before its opening one"
    assert depth == 0, "braces do not balance"
    assert outside.count("[") == outside.count("]")


# --- The shipped flows, whatever their content ------------------------------


def shipped() -> list[Flow]:
    return [f.model for f in fixture_catalog().flows.values()]


@pytest.mark.parametrize("render", [to_mermaid, to_dot])
def test_every_flow_renders_with_every_question_rule_and_caution(render):
    for flow in shipped():
        text = render(flow, english())
        for question in flow.questions:
            assert question_key(question.id) in text
            assert question.id in text
        for outcome in flow.outcomes:
            assert f"({outcome.id})" in text
        for caution in flow.cautions:
            assert f"⚠ {caution.id}" in text


def test_every_flow_mermaid_has_an_edge_for_every_successor():
    for flow in shipped():
        edges = {(s, t) for s, t, _ in mermaid_edges(to_mermaid(flow))}
        for question in flow.questions:
            for target in successors(flow, question.id):
                assert (question_key(question.id), question_key(target)) in edges
        assert (RESULT_KEY, RULES_KEY) in edges
        assert (START_KEY, question_key(flow.start)) in edges


def test_every_flow_dot_has_an_edge_for_every_successor_and_is_valid():
    for flow in shipped():
        text = to_dot(flow, english())
        assert_valid_dot(text)
        edges = set(dot_edges(text))
        for question in flow.questions:
            for target in successors(flow, question.id):
                assert (question_key(question.id), question_key(target)) in edges
        assert (RESULT_KEY, RULES_KEY) in edges


def test_rules_and_cautions_are_two_lists_not_a_fan_of_arrows():
    """However many outcome rules and cautions, the result node has two arrows out."""
    for flow in shipped():
        diagram = build_diagram(flow, english())
        out = [e for e in diagram.edges if e.source == RESULT_KEY]
        assert [e.target for e in out] == [RULES_KEY, CAUTIONS_KEY][: 1 + bool(flow.cautions)]
        rules = next(n for n in diagram.nodes if n.key == RULES_KEY)
        numbered = [line for line in rules.lines if re.match(r"^\d+\. ", line)]
        assert len(numbered) == len(flow.outcomes)
        assert numbered[-1].startswith(f"{len(flow.outcomes)}. otherwise")


def test_question_text_shown_only_with_texts():
    texts = english()
    flow = plan()
    first = flow.questions[0]
    without = to_mermaid(flow)
    with_texts = to_mermaid(flow, texts)
    wording = texts[first.text]
    assert wording not in without
    assert " ".join(wording.split()[:3]) in with_texts


@pytest.mark.parametrize("render", [to_mermaid, to_dot])
def test_output_is_deterministic(render):
    assert render(plan(), english()) == render(plan(), english())
    assert render(plan()) == render(FLOW.validate_python(FLOW.dump_python(plan(), by_alias=True)))


# --- The mini flow: exact labels ----------------------------------------------


def mini() -> Flow:
    return mini_catalog().flows["mini"].model


def mini_texts() -> dict[str, str]:
    return dict(mini_catalog().texts["en"])


def test_mini_flow_branches_and_option_to_result():
    flow = mini()
    labelled = {(s, t): label for s, t, label in mermaid_edges(to_mermaid(flow))}
    assert labelled[("q_open", RESULT_KEY)] == "no"
    assert labelled[("q_open", "q_resources")] == "yes"
    assert labelled[("q_resources", RESULT_KEY)] == "resources has none"
    assert labelled[("q_resources", "q_accountable")] == "otherwise"
    assert labelled[("q_accountable", RESULT_KEY)] == "yes / no"
    assert_valid_dot(to_dot(flow))


def test_edges_carry_the_option_labels_with_texts():
    """With a locale's texts, each option's label is on the edge it takes."""
    texts = mini_texts()
    labelled = {(s, t): label for s, t, label in mermaid_edges(to_mermaid(mini(), texts))}
    assert labelled[("q_open", RESULT_KEY)] == texts["mini.o.no"]
    assert labelled[("q_accountable", RESULT_KEY)] == (
        f"{texts['mini.o.yes']} / {texts['mini.o.no']}"
    )
    dot = to_dot(mini(), texts)
    assert f'label="{texts["mini.o.yes"]}\\n{texts["mini.o.no"]}"' in dot


def test_conditions_are_written_in_full():
    """A long condition is never cut to all(...) in a diagram."""
    diagram = build_diagram(mini())
    rules = next(n for n in diagram.nodes if n.key == RULES_KEY)
    assert "2. funded is true and accountable is yes → co_produce (shared)" in rules.lines
    assert not any("(...)" in line for n in diagram.nodes for line in n.lines)


def test_unreachable_question_is_marked():
    flow = mini()
    stranded = FLOW.validate_python(
        {
            **FLOW.dump_python(flow, by_alias=True, exclude_none=True),
            "questions": [
                *FLOW.dump_python(flow, by_alias=True, exclude_none=True)["questions"][:-1],
                {
                    **FLOW.dump_python(flow, by_alias=True, exclude_none=True)["questions"][-1],
                    "next": "result",
                },
                {"id": "stranded", "text": "mini.q.open", "options": []},
            ],
        }
    )
    diagram = build_diagram(stranded)
    node = next(n for n in diagram.nodes if n.key == question_key("stranded"))
    assert node.shape is Shape.UNREACHABLE
    assert UNREACHABLE in node.lines
    assert all(n.shape is not Shape.UNREACHABLE for n in diagram.nodes if n.key != node.key)
    assert "never reached" in to_dot(stranded)
    assert "never reached" in to_mermaid(stranded)


# --- Escaping -------------------------------------------------------------------


def nasty_texts() -> dict[str, str]:
    texts = mini_texts()
    texts["mini.q.about"] = NASTY
    texts["mini.q.open"] = '"quoted" ]] }} [[ {{ ((x)) \\" \\'
    texts["mini.k.title"] = "1. <script>alert('x')</script> |a|"
    return texts


def test_mermaid_escapes_quotes_brackets_and_markup():
    text = to_mermaid(mini(), nasty_texts())
    mermaid_edges(text)  # every line still fits the grammar
    assert_mermaid_labels_safe(text)
    assert "Say #34;hi#34; [now] {x} (y) #124; #60;b#62;bold#60;/b#62; #35;1;" in text
    assert "<script>" not in text


def test_dot_escapes_quotes_and_backslashes():
    text = to_dot(mini(), nasty_texts())
    assert_valid_dot(text)
    assert 'Say \\"hi\\" [now] {x} (y) | <b>bold</b> #1;' in text
    assert "a\\\\b" in text


def test_multiline_text_stays_on_one_line():
    texts = mini_texts()
    texts["mini.q.about"] = "first line\nsecond\tline"
    mermaid = to_mermaid(mini(), texts)
    assert "first line second line" in mermaid
    mermaid_edges(mermaid)
    assert_valid_dot(to_dot(mini(), texts))


# --- Conditions in words ------------------------------------------------------


def cond(data: dict) -> Condition:
    return TypeAdapter(Condition).validate_python(data)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"fact": "decision", "is": "made"}, "decision is made"),
        ({"fact": "funded", "is": True}, "funded is true"),
        ({"fact": "time", "in": ["months", "longer"]}, "time in (months, longer)"),
        ({"fact": "resources", "has": "none"}, "resources has none"),
        (
            {"fact": "resources", "has_any": ["budget", "staff"]},
            "resources has any of (budget, staff)",
        ),
        ({"fact": "resources", "count_at_least": 2}, "resources has at least 2"),
        ({"fact": "about", "answered": True}, "about answered"),
        ({"fact": "about", "answered": False}, "about not answered"),
        ({"not": {"fact": "power", "is": "no"}}, "not (power is no)"),
        (
            {
                "all": [
                    {"fact": "a", "is": "x"},
                    {"any": [{"fact": "b", "is": "y"}, {"fact": "c", "is": "z"}]},
                ]
            },
            "a is x and (b is y or c is z)",
        ),
        ({}, "?"),
    ],
)
def test_describe(data, words):
    assert describe(cond(data)) == words


def test_describe_abbreviates_long_conditions():
    long = cond(
        {
            "all": [
                {"fact": "power", "is": "yes"},
                {"fact": "resources", "has_any": ["budget", "staff"]},
                {"any": [{"fact": "time", "is": "months"}, {"fact": "time", "is": "longer"}]},
            ]
        }
    )
    assert describe(long) == "all(...)"
    assert describe(long, limit=200).startswith("power is yes and resources has any of")
    nested = cond(
        {
            "any": [
                {"all": [{"fact": "x", "is": "a"}, {"fact": "y", "is": "b"}]},
                {"fact": "z", "is": "c"},
            ]
        }
    )
    assert describe(nested, limit=20) == "all(...) or z is c"
    assert describe(None) == "always"


def test_diagram_nodes_come_in_file_order():
    diagram = build_diagram(mini())
    keys = [n.key for n in diagram.nodes]
    questions = [question_key(q.id) for q in mini().questions]
    assert [k for k in keys if k.startswith("q_")] == questions
    assert keys.index(RESULT_KEY) > keys.index(questions[-1])
