"""Running the real bot against the fake Bot API, and talking to it as a person."""

from __future__ import annotations

import io
import logging
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from bot import logs
from bot.channels.telegram.channel import CatalogHolder, TelegramBot
from bot.flows.catalog import Catalog, LoadReport
from bot.service import open_store
from bot.settings import Settings

from fakebotapi import ChatMessage, FakeBotAPI
from support import Database, fixture_catalog


def settings_for(api: FakeBotAPI, db: Database, **changes: object) -> Settings:
    """Settings for the fake; ``db`` a SQLite file, or a PostgreSQL URL (the heartbeat
    file then goes to a folder of its own)."""
    values: dict[str, object] = {
        "token": api.token,
        "base_url": api.base_url,
        "base_file_url": api.base_file_url,
        "db_path": db,
    }
    if isinstance(db, str):
        values["database_url"] = db
        values["db_path"] = Path(tempfile.mkdtemp(prefix="advisor-beat-")) / "advisor.sqlite3"
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def captured_log(secrets: list[str]) -> Iterator[io.StringIO]:
    """Everything logged at DEBUG and up, configured as `python -m bot run` configures it."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    libraries = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    logs.configure("DEBUG", secrets, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handlers, level, sys.excepthook, threading.excepthook = saved
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, old in libraries.items():
            logging.getLogger(name).setLevel(old)
        logging.captureWarnings(False)
        sys.unraisablehook = sys.__unraisablehook__


@asynccontextmanager
async def running(
    api: FakeBotAPI,
    db: Database,
    *,
    catalog: Catalog | None = None,
    clock: Callable[[], float] = time.time,
    load_catalog: Callable[[], Awaitable[LoadReport]] | None = None,
    **changes: object,
) -> AsyncIterator[TelegramBot]:
    """The real Application, polling the fake over HTTP, on a real SQLite file or
    PostgreSQL database."""
    if catalog is None and load_catalog is not None:
        catalog = (await load_catalog()).unwrap()
    settings = settings_for(api, db, **changes)
    store = await open_store(settings.database_url, settings.db_path)
    bot = TelegramBot(
        settings,
        CatalogHolder(catalog or fixture_catalog()),
        store,
        clock,
        load_catalog,
    )
    await bot.start()
    api.idle_checks.append(bot.idle)
    try:
        yield bot
    finally:
        api.idle_checks.remove(bot.idle)
        await bot.stop()
        await store.close()


async def say(
    api: FakeBotAPI, user: int, text: str, *, language: str | None = "English", **kwargs: object
) -> int:
    """Send a text as ``user`` and wait until the bot has handled it.

    At first contact the bot asks which language to use; ``language`` is the
    button to answer with (None leaves the question for the test).
    """
    update_id = api.send_text(user, text, **kwargs)  # type: ignore[arg-type]
    await api.wait_idle()
    if language is not None and asks_language(api, user):
        await tap(api, user, language)
    return update_id


def asks_language(api: FakeBotAPI, user: int) -> bool:
    """Whether the bot's latest message is the language question."""
    try:
        buttons = api.last_message(user).buttons()
    except LookupError:
        return False
    return any((data or "").startswith("lang:") for _, data in buttons)


async def tap(api: FakeBotAPI, user: int, label: str, *, timeout: float = 5.0) -> int:  # noqa: ASYNC109
    """Press the button whose text contains ``label`` on the latest message that has it."""
    for message in reversed(api.chat(user).visible):
        for text, data in message.buttons():
            if label in text and data is not None:
                update_id = api.press(user, data, message_id=message.message_id)
                await api.wait_idle(timeout=timeout)
                return update_id
    raise AssertionError(f"no button {label!r}; last message: {api.last_message(user).text!r}")


def last_text(api: FakeBotAPI, user: int) -> str:
    return api.last_message(user).text or ""


def with_keyboard(api: FakeBotAPI, user: int) -> list[ChatMessage]:
    """The messages that still show buttons."""
    return [m for m in api.chat(user).visible if m.reply_markup]
