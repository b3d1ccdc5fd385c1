"""The poll loop's offset only ever moves on while updates are kept in the inbox.

A stored update that finished used to stay "in hand" until the next settle
while no longer counted as stored, so the next getUpdates asked from it
again and Telegram resent everything above it: 229 updates fetched twice in
a bench run on PostgreSQL, each a second answer to a press Telegram had
already forgotten.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram import intake
from bot.channels.telegram.intake import PollWindow

from fakebotapi import FakeBotAPI
from support import Database
from telegram_support import running


class Gates:
    """Handlers that finish when told to: one event per update id."""

    def __init__(self) -> None:
        self.events: dict[int, asyncio.Event] = {}
        self.cleared = 0

    async def handle(self, data: Mapping[str, Any]) -> None:
        await self.events.setdefault(int(data["update_id"]), asyncio.Event()).wait()

    async def clear(self) -> None:
        self.cleared += 1

    async def finish(self, update_id: int) -> None:
        self.events.setdefault(update_id, asyncio.Event()).set()
        for _ in range(3):  # the task ends, then its done-callback runs
            await asyncio.sleep(0)


async def test_a_stored_update_that_finishes_never_pulls_the_offset_back() -> None:
    gates = Gates()
    window = PollWindow(gates.handle, gates.clear)
    for update_id in (10, 11, 12):
        window.take(update_id, {"update_id": update_id}, stored=True)
    assert window.offset() == 13  # stored: confirmed at once

    await gates.finish(11)
    assert window.offset() == 13, "a finished update must not count as unconfirmed"
    assert not window.is_new(11)
    window.settle(time.monotonic())
    assert window.offset() == 13
    assert not window.is_new(11)
    assert window.finished == [11]  # to leave the inbox

    await gates.finish(10)
    await gates.finish(12)
    window.settle(time.monotonic())
    assert window.offset() == 13
    assert window.idle()


async def test_an_unstored_update_holds_the_offset_until_handled() -> None:
    """The inbox could not be written: Telegram keeps it until it is handled."""
    gates = Gates()
    window = PollWindow(gates.handle, gates.clear)
    window.take(20, {"update_id": 20}, stored=False)
    window.take(21, {"update_id": 21}, stored=True)
    assert window.offset() == 20
    await gates.finish(21)
    assert window.offset() == 20
    await gates.finish(20)
    window.settle(time.monotonic())
    assert window.offset() == 22
    assert not window.is_new(20)
    assert not window.is_new(21)


async def test_what_telegram_sends_again_from_the_offset_is_counted() -> None:
    """While an unstored update holds the offset, getUpdates returns it and those above
    it again; the loop asks for that many more than it has room for."""
    gates = Gates()
    window = PollWindow(gates.handle, gates.clear)
    window.take(30, {"update_id": 30}, stored=False)
    window.take(31, {"update_id": 31}, stored=True)
    window.take(32, {"update_id": 32}, stored=True)
    await gates.finish(32)
    window.settle(time.monotonic())
    assert window.offset() == 30
    assert window.known_from(30) == 3  # 30 and 31 in hand, 32 handled
    assert window.known_from(None) == 0


async def test_a_busy_bot_holds_no_more_than_its_share_and_leaves_the_rest_with_telegram(
    fake_api: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taking every update offered let a bot under load hold hundreds at once, each
    with its parsed update and session; the rest now wait, unconfirmed, with Telegram."""
    monkeypatch.setattr(intake, "MAX_IN_HAND", 3)
    db: Database = tmp_path / "advisor.sqlite3"
    fake_api.delay("sendMessage", 0.3)
    users = range(9001, 9009)
    async with running(fake_api, db) as bot:
        sent = [fake_api.send_text(user, "/start") for user in users]
        most = left_with_telegram = 0
        while answered(fake_api) != set(users):
            window = bot._window
            if window is not None:
                most = max(most, len(window.in_hand))
                unconfirmed = sum(1 for u in sent if not fake_api.is_confirmed(u))
                left_with_telegram = max(left_with_telegram, unconfirmed)
            await asyncio.sleep(0.01)
        await fake_api.wait_idle()  # every chat answered: none was left behind
        limits = [c.params.get("limit") for c in fake_api.calls_of("getUpdates")]
    assert most == 3, f"the bot held {most} updates at once"
    assert left_with_telegram >= len(users) - 3
    assert all(isinstance(n, int) and n <= 3 for n in limits), limits
    assert all(fake_api.is_confirmed(u) for u in sent)


def answered(api: FakeBotAPI) -> set[int]:
    return {c.params["chat_id"] for c in api.calls_of("sendMessage") if c.ok}


async def test_one_chat_tapping_on_behind_a_slow_reply_takes_no_place_from_others(
    fake_api: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates waiting behind another of their own chat cannot run, so they take no
    place: one person tapping on while their reply is slow holds up nobody else."""
    monkeypatch.setattr(intake, "MAX_IN_HAND", 3)
    db: Database = tmp_path / "advisor.sqlite3"
    async with running(fake_api, db) as bot:
        fake_api.hold("sendMessage", [9101])
        fake_api.send_text(9101, "/start")
        await fake_api.wait_for(lambda _: fake_api.held("sendMessage") == 1, timeout=10)
        for n in range(3):
            fake_api.send_text(9101, f"/help {n}")
        other = fake_api.send_text(9102, "/start")
        await fake_api.wait_for(lambda _: 9102 in answered(fake_api), timeout=10)
        assert fake_api.is_confirmed(other)
        assert fake_api.held("sendMessage") == 1, "the slow chat is still waiting"
        # A flood from one chat is not taken whole: at most as many again may wait.
        for n in range(12):
            fake_api.send_text(9101, f"/help more {n}")
        await asyncio.sleep(0.5)
        window = bot._window
        assert window is not None
        assert 3 < len(window.in_hand) <= 2 * 3, len(window.in_hand)
        fake_api.release("sendMessage")
