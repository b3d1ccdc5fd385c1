"""Hostile input: malformed flow files and random conversations never escape as exceptions.

Example counts are bounded so `make test` stays quick; raise them with
HYPOTHESIS_PROFILE=long (see docs/operations.md).
"""

from __future__ import annotations

import os
import time
import tracemalloc
from dataclasses import replace

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.advice.engine import Session
from bot.advice.loader import Source, load
from bot.advice.render import Renderer
from bot.channels.telegram.dialogue import Advisor, CatalogHolder, Plan
from bot.channels.telegram.html import MESSAGE_LIMIT
from bot.settings import Settings
from bot.store.conversations import Conversation

from support import MINI, UI_FILE, fixture_catalog, mini_text

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TEXTS = [
    Source("mini.yaml", (MINI / "content/en/mini.yaml").read_text(), locale="en"),
    Source("ui.yaml", UI_FILE.read_text(), locale="en"),
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50)
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=40,
)
yaml_noise = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`, \n\t\\0123456789yesno")), max_size=400
)


def mutated_mini(draw: st.DrawFn) -> str:
    """The mini flow with a line deleted, duplicated or garbled."""
    lines = mini_text().splitlines()
    at = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["delete", "duplicate", "garble", "indent", "key"]))
    if action == "delete":
        del lines[at]
    elif action == "duplicate":
        lines.insert(at, lines[at])
    elif action == "garble":
        lines[at] = draw(yaml_noise)
    elif action == "indent":
        lines[at] = " " + lines[at]
    else:
        lines[at] = lines[at].replace(":", "_x:", 1)
    return "\n".join(lines)


hostile = st.one_of(
    trees.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True)),
    yaml_noise,
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.composite(mutated_mini)(),
    st.integers(30, 800).map(lambda depth: "a: " + "[" * depth + "]" * depth),
    st.integers(1, 9).map(
        lambda n: (
            "a0: &a0 [x, x]\n"
            + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, n + 1))
        )
    ),
    st.sampled_from([1_000, 250_000, 270_000]).map(lambda size: "title: " + "x" * size),
    st.dictionaries(
        st.sampled_from(["id", "version", "questions", "zzz", "start", "outcomes"]),
        trees,
        max_size=6,
    ).map(yaml.safe_dump),
)


@given(hostile)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_loader_gives_only_its_own_clear_errors(text: str) -> None:
    """Whatever the file holds, loading gives findings with a file and a line, never an error."""
    report = load([Source("mini.yaml", text, stem="mini")], TEXTS)
    if report.catalog is None:
        assert report.findings
    for finding in report.findings:
        assert finding.file.endswith(".yaml")
        assert finding.line >= 1
        assert finding.message


WORST = {
    "alias bomb": "a0: &a0 [x, x]\n"
    + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 30)),
    "deep nesting": "a: " + "[" * 5000 + "]" * 5000,
    "oversized": "title: " + "x" * 10_000_000,
    "wide mapping": "".join(f"k{i}: {i}\n" for i in range(20_000)),
}


def test_worst_files_are_refused_within_bounds() -> None:
    """Alias bombs, deep nesting and huge files are refused in bounded time and memory."""
    for name, text in WORST.items():
        tracemalloc.start()
        started = time.process_time()
        try:
            report = load([Source("mini.yaml", text, stem="mini")], TEXTS)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert report.catalog is None, name
        assert time.process_time() - started < 30, name  # a hang detector, not a speed target
        assert peak < 200 * 1024 * 1024, name


CATALOG = fixture_catalog()
ADVISOR = Advisor(CatalogHolder(CATALOG), Settings(token="x"))

actions = st.one_of(
    st.tuples(
        st.just("text"),
        st.one_of(
            st.sampled_from(
                ["1", "2", "3", "1,2", "yes", "no", "made", "none", "skip", "x" * 2000]
            ),
            st.text(max_size=60),
        ),
    ),
    st.tuples(
        st.just("command"),
        st.sampled_from(
            [
                "start",
                "start plan",
                "start check",
                "start nope",
                "back",
                "restart",
                "help",
                "summary",
                "privacy",
                "forget",
                "language",
                "zzz",
            ]
        ),
    ),
    st.tuples(
        st.just("press"),
        st.one_of(
            st.sampled_from(
                [
                    "a:1:0",
                    "a:2:0",
                    "a:2:1",
                    "t:5:0",
                    "d:5",
                    "s:1",
                    "b:2",
                    "again",
                    "menu",
                    "pdf",
                    "r",
                    "f:plan",
                    "f:check",
                    "forget:no",
                    "forget:yes",
                    "lang:cy:",
                    "lang:en:plan",
                    "lang:xx:",
                ]
            ),
            st.text(max_size=64),
        ),
    ),
    st.tuples(st.just("stale"), st.text(max_size=10)),
)


@given(st.lists(actions, max_size=30))
def test_random_conversations_keep_every_invariant(steps: list[tuple[str, str]]) -> None:
    """Random texts, commands and forged button data never raise and never leave a bad state."""
    conversation = Conversation(1, user_id=1, locale="en")
    now = 1_000_000.0
    message_id = 100
    for kind, value in steps:
        plan = Plan(conversation)
        words = Renderer(CATALOG, conversation.locale or "en")
        if kind == "text":
            ADVISOR.on_text(plan, value, words, now)
        elif kind == "command":
            name, _, payload = value.partition(" ")
            ADVISOR.on_command(plan, name, payload, words, now)
        elif kind == "press" and value.startswith("lang:"):
            ADVISOR.on_language(plan, value, conversation.prompt_message_id, now)
        elif kind == "press":
            ADVISOR.on_press(plan, value, conversation.prompt_message_id, words, now)
        else:
            ADVISOR.on_press(plan, value, -1, words, now)
            assert plan.conversation == conversation, "a stale press changes nothing"
        for send in plan.sends:
            assert 0 < len(send.text) <= MESSAGE_LIMIT
            for row in send.buttons or []:
                for _, data in row:
                    assert len(data.encode()) <= 64
        stored = plan.conversation.session
        if stored is not None:
            session = Session.from_json(stored)
            flow = CATALOG.flows[session.flow_id]
            assert session.question is None or session.question in flow.questions
        tracked = any(s.track for s in plan.sends)
        if tracked:
            message_id += len(plan.sends)
        conversation = replace(
            plan.conversation,
            version=plan.conversation.version + 1,
            prompt_message_id=message_id if tracked else plan.conversation.prompt_message_id,
        )
        now += 60
