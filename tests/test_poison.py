"""One update that can never be stored stops nothing: every other chat is answered.

Before, such an update was never confirmed, so the poll offset could not
pass it, and once 99 more had come in behind it nothing new was seen, even
after a restart. Three kinds, through the real Application and the fake Bot
API: a lone surrogate typed as an answer, a conversation row damaged on
disk, and a row no write can touch (a database trigger refusing it: a
refusal that, before, was also taken for "applied before" and dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from test_crash import free_port

from bot.channels.telegram.channel import POISON_DELIVERIES

from fakebotapi import FakeBotAPI
from support import rows
from telegram_support import captured_log, running, say

OTHERS = range(8101, 8111)
"""Chats that must keep being answered, whatever one chat sends."""


async def start_everyone(api: FakeBotAPI, user: int) -> None:
    for chat in (user, *OTHERS):
        await say(api, chat, "/start plan")


async def the_others_are_answered(api: FakeBotAPI) -> None:
    """Each other chat answers the decision question and is asked the next."""
    before = {chat: api.last_message(chat).message_id for chat in OTHERS}
    for chat in OTHERS:
        api.send_text(chat, f"Closing the footpath {chat}")

    def unanswered() -> list[int]:
        return [c for c in OTHERS if api.last_message(c).message_id == before[c]]

    with contextlib.suppress(TimeoutError):
        await api.wait_for(lambda _: not unanswered(), timeout=30)
    assert not unanswered(), f"chats {unanswered()} got no reply"


async def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    db = tmp_path / "advisor.sqlite3"
    user = 8001
    async with running(fake_api, db):
        await start_everyone(fake_api, user)
        asked = fake_api.last_message(user).message_id
        fake_api.send_text(user, "Closing the \ud800 footpath")
        await the_others_are_answered(fake_api)
        assert fake_api.last_message(user).message_id != asked, "the next question came"
    (session,) = rows(db, "SELECT session FROM conversations WHERE chat_id = ?", user)[0]
    assert "Closing the \ufffd footpath" in json.loads(session)["answers"].values()


async def test_a_damaged_conversation_starts_afresh(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    db = tmp_path / "advisor.sqlite3"
    user = 8002
    async with running(fake_api, db):
        await start_everyone(fake_api, user)
        with sqlite3.connect(db) as con:
            con.execute("UPDATE conversations SET session = '{not json' WHERE chat_id = ?", (user,))
        asked = fake_api.last_message(user).message_id
        fake_api.send_text(user, "/start plan")
        await the_others_are_answered(fake_api)
        assert fake_api.last_message(user).message_id != asked, "the chat is answered again"


@pytest.mark.parametrize("by", ["polling", "webhook"])
async def test_an_update_that_can_never_be_stored_is_set_aside_and_said(
    fake_api: FakeBotAPI, tmp_path: Path, by: str
) -> None:
    """After a few deliveries it is confirmed unapplied, the person told, the rest go on;
    the log names the update, not what it said."""
    db = tmp_path / "advisor.sqlite3"
    user = 8003
    changes: dict[str, object] = {}
    if by == "webhook":
        port = free_port()
        changes = {
            "webhook_url": f"http://127.0.0.1:{port}/hook",
            "webhook_secret": "poison-secret",
            "webhook_listen": "127.0.0.1",
            "webhook_port": port,
        }
    with captured_log([fake_api.token]) as log:
        async with running(fake_api, db, **changes):
            await start_everyone(fake_api, user)
            with sqlite3.connect(db) as con:
                con.execute(
                    "CREATE TRIGGER refuse BEFORE UPDATE ON conversations "
                    f"WHEN NEW.chat_id = {user} BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            poison = fake_api.send_text(user, "A secret decision about Mrs Jones")
            await the_others_are_answered(fake_api)
            # Others keep being answered meanwhile: the evidence that the fault is this
            # update's, not the database's.
            for n in range(150):
                if "not saved" in (fake_api.last_message(user).text or ""):
                    break
                fake_api.send_text(OTHERS[n % len(OTHERS)], "/help")
                await asyncio.sleep(0.2)
            await fake_api.wait_idle(quiet=0.2, timeout=10)
    told = fake_api.last_message(user).text or ""
    assert "not saved" in told, told
    written = log.getvalue()
    assert f"update {poison} set aside after {POISON_DELIVERIES} failed deliveries" in written
    assert "Mrs Jones" not in written


async def test_a_database_that_is_down_sets_nothing_aside(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Only an update the database refuses while it answers is set aside: during an
    outage every update waits with Telegram, however often it comes back."""
    db = tmp_path / "advisor.sqlite3"
    user = 8004
    with captured_log([fake_api.token]) as log:
        async with running(fake_api, db) as bot:
            await say(fake_api, user, "/start plan")

            async def down(chat_id: int) -> None:
                raise sqlite3.OperationalError("disk I/O error")

            bot.store.load = down  # type: ignore[method-assign]
            update = fake_api.send_text(user, "Closing the footpath")
            failed = f"update {update} was not applied"
            for _ in range(600):
                if log.getvalue().count(failed) > POISON_DELIVERIES:
                    break
                await asyncio.sleep(0.05)
            assert log.getvalue().count(failed) > POISON_DELIVERIES
            # Still kept, to be tried again: by Telegram, or in the bot's inbox.
            kept = [r[0] for r in rows(db, "SELECT update_id FROM inbox")]
            assert update in kept or not fake_api.is_confirmed(update)
    assert "set aside" not in log.getvalue()
    assert "not saved" not in (fake_api.last_message(user).text or "")
