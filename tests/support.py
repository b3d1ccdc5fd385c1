"""Shared helpers for the tests: their own flows (``mini``, and ``advisor``'s plan and check).

Tests exercise the engine, checks and channels on these fixtures, never on
the shipped ``flows/`` and ``content/``: an admin's edit to the shipped
flows must not turn a Python test red. Expectations about the shipped advice
are scenarios in ``flows/tests/``, where admins read and change them.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bot.advice import engine
from bot.advice.engine import Result, Session
from bot.advice.loader import Source, load
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, LoadReport
from bot.sources import PROJECT_ROOT

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"
ADVISOR = DATA / "advisor"
"""A frozen copy of the plan and check flows and their texts, in English and Welsh."""
UI_FILE = PROJECT_ROOT / "content" / "en" / "ui.yaml"


def source(path: Path, locale: str | None = None) -> Source:
    return Source(path.name, path.read_text(encoding="utf-8"), stem=path.stem, locale=locale)


def load_flow_text(flow_text: str, content: dict[str, str] | None = None) -> LoadReport:
    """Load one flow written inline, with the mini texts and any ``content`` files given."""
    texts = [source(MINI / "content" / "en" / "mini.yaml", "en"), source(UI_FILE, "en")]
    for name, text in (content or {}).items():
        texts.append(Source(name, text, locale="en"))
    return load(
        [Source("flow.yaml", flow_text, stem="mini")],
        texts,
        required_texts=[u.value for u in UI],
    )


def mini_catalog() -> Catalog:
    """The mini flow with the project's UI texts."""
    return load(
        [source(MINI / "flows" / "mini.yaml")],
        [source(MINI / "content" / "en" / "mini.yaml", "en"), source(UI_FILE, "en")],
        required_texts=[u.value for u in UI],
    ).unwrap()


def ui_files() -> list[Path]:
    """The bot's own texts in every locale: code names their ids, so tests use the project's."""
    return sorted((PROJECT_ROOT / "content").glob("*/ui.yaml"))


@cache
def fixture_catalog() -> Catalog:
    """The tests' own plan and check flows, with the project's UI texts, loaded once."""
    flows = [source(path) for path in sorted((ADVISOR / "flows").glob("*.yaml"))]
    texts = [
        source(path, path.parent.name)
        for path in [*sorted((ADVISOR / "content").glob("*/*.yaml")), *ui_files()]
    ]
    return load(flows, texts, required_texts=[u.value for u in UI]).unwrap()


def make_fixture_project(into: Path) -> Path:
    """A project folder (flows/, content/) holding the tests' own flows, for the CLI and the bot.

    Point ``ADVISOR_FLOWS_DIR`` and ``ADVISOR_CONTENT_DIR`` at it, or pass it to ``flows
    check``. The UI texts are the project's, copied in. A folder already made is reused.
    """
    if into.exists():
        return into
    shutil.copytree(ADVISOR, into)
    for ui in ui_files():
        shutil.copy(ui, into / "content" / ui.parent.name / ui.name)
    return into


def fixture_env(project: Path) -> dict[str, str]:
    """Environment variables that make ``python -m bot`` serve ``project``'s flows."""
    return {
        "ADVISOR_FLOWS_DIR": str(project / "flows"),
        "ADVISOR_CONTENT_DIR": str(project / "content"),
    }


def mini_text() -> str:
    return (MINI / "flows" / "mini.yaml").read_text(encoding="utf-8")


class ScenarioError(AssertionError):
    """A scripted answer was refused, or the answers ran out before the result."""


def walk(
    flow_id: str,
    answers: Sequence[str],
    catalog: Catalog | None = None,
    locale: str = "en",
) -> Session:
    """The session after typing each answer in turn; refuses any refused answer."""
    catalog = catalog or fixture_catalog()
    flow = catalog.flows[flow_id]
    words = Renderer(catalog, locale)
    skip = words.t(UI.COMMAND_SKIP)
    session = engine.start(flow)
    for number, typed in enumerate(answers, start=1):
        step = engine.answer(flow, session, typed, locale, skip, by_id=True)
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
    catalog = catalog or fixture_catalog()
    session = walk(flow_id, answers, catalog, locale)
    if not session.finished:
        raise ScenarioError(
            f"the answers ran out at question '{session.question}' before the result"
        )
    return engine.result(catalog.flows[flow_id], session)


Database = Path | str
"""Where a store keeps its rows: a SQLite file, or a PostgreSQL URL."""


def rows(db: Database, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """One query's rows, read straight from the database as an operator would.

    Written with ``?`` placeholders; for PostgreSQL they become ``$1, $2, ...``.
    """
    if isinstance(db, str):
        from pgserver import query

        parts = sql.split("?")
        numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        return query(db, numbered, *args)
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def applied(db: Database, update_id: int) -> bool:
    """Whether the store at ``db`` recorded ``update_id`` as applied (read from the database)."""
    return bool(rows(db, "SELECT 1 FROM applied_updates WHERE update_id = ?", update_id))


def inbox_empty(db: Database) -> bool:
    """Whether a polling bot on ``db`` has handled every update it took (its inbox is empty).

    Telegram, and so the fake, sees an update confirmed once the bot has stored it in
    its inbox, before it is handled; a bot in another process can only be asked here.
    """
    try:
        return not rows(db, "SELECT 1 FROM inbox LIMIT 1")
    except Exception:  # no database yet, or no inbox table yet: nothing taken
        return True


def rows_about(db: Database, who: int) -> int:
    """How many rows of the store at ``db`` mention a person or chat (for /forget's checks)."""
    conversations = rows(
        db, "SELECT COUNT(*) FROM conversations WHERE chat_id = ? OR user_id = ?", who, who
    )[0][0]
    updates = rows(db, "SELECT COUNT(*) FROM applied_updates WHERE chat_id = ?", who)[0][0]
    return int(conversations) + int(updates)
