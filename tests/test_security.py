"""Security properties as tests: retention purge, replayed presses, no token even when all fails."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from fakebotapi import FakeBotAPI
from telegram_support import captured_log, running, say, tap

USER = 6006


def rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]


async def test_conversations_past_retention_are_purged(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """A conversation unused for longer than the retention period is deleted by the bot."""
    db = tmp_path / "db.sqlite3"
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
    assert rows(db) == 1
    later = time.time() + 31 * 86400
    async with running(fake_api, db, clock=lambda: later):
        await asyncio.sleep(0.3)
    assert rows(db) == 0


async def test_replayed_press_changes_nothing(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """A button press delivered again is applied once; its button is gone afterwards."""
    db = tmp_path / "db.sqlite3"
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        await tap(fake_api, USER, "Rather not say")
        update_id = await tap(fake_api, USER, "already made")
        with sqlite3.connect(db) as con:
            before = con.execute("SELECT session, version FROM conversations").fetchone()
        sent = len(fake_api.chat(USER).messages)
        fake_api.redeliver(update_id)
        await fake_api.wait_idle()
        with sqlite3.connect(db) as con:
            after = con.execute("SELECT session, version FROM conversations").fetchone()
    assert after == before
    assert len(fake_api.chat(USER).messages) == sent


async def test_no_token_in_logs_when_the_api_is_unreachable(tmp_path: Path) -> None:
    """With the Bot API down, the errors logged never contain the token."""
    api = FakeBotAPI()
    with captured_log([api.token]) as stream:
        await api.start()
        async with running(api, tmp_path / "db.sqlite3"):
            await api.stop()
            await asyncio.sleep(2.5)
    logged = stream.getvalue()
    assert "getUpdates failed" in logged, "the failure was logged"
    assert api.token not in logged
    assert api.token.split(":")[1] not in logged
