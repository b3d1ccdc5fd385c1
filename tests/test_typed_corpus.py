"""A corpus of typed replies, each with the one answer it must give or "ask".

A missed answer costs a person one edit of the question; a wrong one can
change their advice without them noticing. Every reply in
``tests/data/typed_corpus.yaml`` is typed at a real question (the frozen
plan and check flows, read with the shipped synonyms and ``ui.yaml`` word
lists, and ``tests/data/typed`` for durations) in English and Welsh; "ask"
means the bot must ask (a hint, the session unchanged), never pick.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.advice import engine
from bot.advice.loader import Source, load
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog
from bot.flows.durations import holds
from bot.flows.yamltext import parse
from bot.sources import PROJECT_ROOT

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "typed_corpus.yaml"
ASKING = {
    UI.HINT_CHOICE.value,
    UI.HINT_AMBIGUOUS.value,
    UI.HINT_DID_YOU_MEAN.value,
    UI.HINT_MULTI_UNKNOWN.value,
    UI.HINT_EXCLUSIVE.value,
}
"""The hints that ask again; any other problem is not an answer to the reply either."""


def _source(path: Path, locale: str | None = None) -> Source:
    return Source(path.name, path.read_text(encoding="utf-8"), stem=path.stem, locale=locale)


@cache
def corpus_catalog() -> Catalog:
    """The frozen plan and check flows and the days test flow, with the shipped word lists."""
    flows = [_source(p) for p in sorted((DATA / "advisor" / "flows").glob("*.yaml"))]
    flows.append(_source(DATA / "typed" / "flows" / "typed.yaml"))
    texts = []
    for locale in ("en", "cy"):
        frozen = sorted((DATA / "advisor" / "content" / locale).glob("*.yaml"))
        texts += [_source(p, locale) for p in frozen if p.name != "synonyms.yaml"]
        texts.append(_source(DATA / "typed" / "content" / locale / "typed.yaml", locale))
        shipped = PROJECT_ROOT / "content" / locale
        texts += [_source(shipped / name, locale) for name in ("synonyms.yaml", "ui.yaml")]
    return load(flows, texts, required_texts=[u.value for u in UI]).unwrap()


def _entries() -> list[Any]:
    data = parse(CORPUS.read_text(encoding="utf-8")).data
    return [
        pytest.param(locale, *entry, id=f"{locale}-{i}-{entry[0]}-{entry[1]}")
        for locale in ("en", "cy")
        for i, entry in enumerate(data[locale])
    ]


def test_the_corpus_is_large_enough() -> None:
    """At least 200 replies per language, of every kind the issue names."""
    data = parse(CORPUS.read_text(encoding="utf-8")).data
    for locale in ("en", "cy"):
        entries = data[locale]
        assert len(entries) >= 200, locale
        expected = [e[2] for e in entries]
        assert sum(e == "ask" for e in expected) >= 50, locale
        assert sum(isinstance(e, dict) for e in expected) >= 10, locale
        assert sum(isinstance(e, list) for e in expected) >= 10, locale


@pytest.mark.parametrize(("locale", "where", "reply", "expected"), _entries())
def test_typed_reply(locale: str, where: str, reply: Any, expected: Any) -> None:
    """The reply gives exactly the answer it must, or is asked about with nothing recorded."""
    catalog = corpus_catalog()
    flow_id, question_id = where.split("/")
    flow = catalog.flows[flow_id]
    question = flow.questions[question_id]
    if isinstance(reply, dict):
        reply = catalog.text(locale, question.options[reply["label"]].label)
    if isinstance(expected, dict):
        fits = [o for o in question.option_ids if holds(question.options[o].days, expected["days"])]
        expected = fits[0] if len(fits) == 1 else "ask"
    session = engine.Session(flow.id, flow.version, question_id)
    step = engine.answer(flow, session, reply, locale, "skip")
    if expected == "ask":
        assert not step.accepted, f"{reply!r} was taken as {step.session.answers.get(question_id)}"
        assert step.problem is not None
        assert step.problem.text in ASKING
        assert step.session == session
        return
    assert step.accepted, f"{reply!r} was not taken: {step.problem}"
    want = tuple(expected) if isinstance(expected, list) else expected
    assert step.session.answers[question_id] == want
