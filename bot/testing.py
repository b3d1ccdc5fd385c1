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
