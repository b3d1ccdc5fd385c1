"""Nothing lost, no input that stops the bot: updates by polling and webhook.

A chat's updates are applied one at a time and in order, chats side by
side; an update that cannot be read is confirmed and the bot goes on; the
health check's heartbeat stops with the poll loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_webhook import SECRET, free_port

from bot.channels.telegram.channel import TelegramBot, heartbeat_path
from bot.channels.telegram.turns import BLOCK_SECONDS, ChatTurns, NotApplied

from fakebotapi import FakeBotAPI
from telegram_support import captured_log, last_text, running, say, tap

T = TypeVar("T")


async def test_one_chat_takes_turns_in_update_order() -> None:
    """Updates of one chat wait for each other, lowest update id first; other chats do not."""
    turns = ChatTurns()
    order: list[tuple[str, int]] = []
    gate = asyncio.Event()

    async def update(chat: str, update_id: int, hold: bool = False) -> None:
        async with turns.turn(chat, update_id):
            order.append((chat, update_id))
            if hold:
                await gate.wait()

    first = asyncio.create_task(update("a", 1, hold=True))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(update("a", n)) for n in (5, 3, 4)]
    other = asyncio.create_task(update("b", 2))
    await asyncio.sleep(0.01)
    assert order == [("a", 1), ("b", 2)], "chat b ran while chat a was held"
    assert turns.busy("a")
    assert not turns.busy("b")
    waiting[0].cancel()  # update 5 gives up waiting: the others still get their turn
    gate.set()
    await asyncio.gather(first, other, *waiting[1:])
    assert order == [("a", 1), ("b", 2), ("a", 3), ("a", 4)]
    assert not turns.busy("a"), "a chat nobody holds is forgotten"


async def test_a_chat_waits_for_its_update_that_was_not_applied() -> None:
    """Once an update is not applied (the database was down), the chat's later updates
    are refused too until Telegram sends it again and it is applied: none overtakes it.
    Other chats go on; a chat whose update never comes back is freed after a while."""
    now = [0.0]
    turns = ChatTurns(clock=lambda: now[0])
    applied: list[tuple[str, int]] = []

    async def update(chat: str, update_id: int, fail: bool = False) -> None:
        async with turns.turn(chat, update_id):
            if fail:
                raise NotApplied(update_id)
            applied.append((chat, update_id))

    with pytest.raises(NotApplied):
        await update("a", 1, fail=True)
    with pytest.raises(NotApplied):
        await update("a", 2)
    await update("b", 3)
    await update("a", 1)  # sent again by Telegram
    await update("a", 2)
    assert applied == [("b", 3), ("a", 1), ("a", 2)]
    with pytest.raises(NotApplied):
        await update("c", 4, fail=True)
    now[0] += BLOCK_SECONDS + 1
    await update("c", 5)
    assert applied[-1] == ("c", 5)


class OneChat:
    """One chat's updates through ChatTurns, on a clock the test moves: what was applied."""

    def __init__(self) -> None:
        self.now = 0.0
        self.turns = ChatTurns(clock=lambda: self.now)
        self.applied: list[int] = []

    async def update(self, update_id: int, fail: bool = False) -> None:
        async with self.turns.turn("a", update_id):
            if fail:
                raise NotApplied(update_id)
            self.applied.append(update_id)


async def test_updates_refused_while_one_waited_come_back_in_order_whatever_order_they_return() -> (
    None
):
    """Three updates of a chat refused during an outage come back from the inbox, each
    after its own pause: in any order, but only the lowest goes next. The chat used to
    remember only the lowest refused update; once it was applied, the next two raced,
    and a typed answer landed on the wrong question."""
    chat = OneChat()
    update = chat.update

    with pytest.raises(NotApplied):
        await update(1, fail=True)
    for later in (2, 3):
        with pytest.raises(NotApplied):
            await update(later)
    await update(1)
    with pytest.raises(NotApplied):
        await update(3)  # its pause ended first: 2 still comes before it
    await update(2)
    await update(3)
    await update(4)
    assert chat.applied == [1, 2, 3, 4]


async def test_a_chat_whose_refused_updates_went_to_another_replica_is_freed_in_time() -> None:
    """With several replicas, a refused update may be resent to another and never come
    back here. Each later update refused meanwhile must not start the wait afresh: the
    chat is freed BLOCK_SECONDS after the first refusal, however many came since."""
    chat = OneChat()
    update = chat.update

    with pytest.raises(NotApplied):
        await update(1, fail=True)
    for update_id, at in ((2, 300.0), (3, BLOCK_SECONDS - 1)):
        chat.now = at
        with pytest.raises(NotApplied):
            await update(update_id)
    chat.now = BLOCK_SECONDS + 1
    await update(4)
    assert chat.applied == [4]


async def test_an_outage_longer_than_the_wait_still_keeps_a_chat_in_order() -> None:
    """The lowest refused update that keeps coming back refused (the database down for
    longer than BLOCK_SECONDS) is not lost elsewhere: the chat stays blocked behind it."""
    chat = OneChat()
    update = chat.update

    with pytest.raises(NotApplied):
        await update(1, fail=True)
    with pytest.raises(NotApplied):
        await update(2)
    for at in (300.0, 599.0, 900.0, 1200.0):  # 1 is tried again, and fails again
        chat.now = at
        with pytest.raises(NotApplied):
            await update(1, fail=True)
    chat.now = 1201.0
    with pytest.raises(NotApplied):
        await update(2)  # its retry came first: 1 still comes before it
    await update(1)
    await update(2)
    assert chat.applied == [1, 2]


async def test_a_slow_chat_holds_up_nobody_else(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """While one person's press waits on a slow Bot API answer, another is answered."""
    async with running(fake_api, tmp_path / "db.sqlite3"):
        await say(fake_api, 1, "/start")
        fake_api.delay("answerCallbackQuery", 3.0)
        data = fake_api.last_message(1).buttons()[0][1]
        fake_api.press(1, data or "", message_id=fake_api.last_message(1).message_id)
        await asyncio.sleep(0.3)
        started = time.monotonic()
        fake_api.send_text(2, "/start plan")
        await fake_api.wait_for(
            lambda calls: any(
                c.method == "sendMessage" and c.params.get("chat_id") == 2 for c in calls
            ),
            timeout=10,
        )
        assert time.monotonic() - started < 2.0, "chat 2 waited for chat 1"
        fake_api.delay("answerCallbackQuery", 0)
        await fake_api.wait_idle(timeout=10)


async def test_a_burst_from_one_chat_is_applied_in_order(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Many updates of one chat in one batch are applied one at a time, in order."""
    db = tmp_path / "db.sqlite3"
    async with running(fake_api, db):
        await say(fake_api, 1, "/start plan")
        ids = [fake_api.send_text(1, f"/help {n}") for n in range(30)]
        await fake_api.wait_confirmed(timeout=20)
        await fake_api.wait_idle(timeout=20)
    with sqlite3.connect(db) as con:
        applied = [row[0] for row in con.execute("SELECT update_id FROM applied_updates")]
        version = con.execute("SELECT version FROM conversations").fetchone()[0]
    assert applied[-30:] == ids, "applied once each, in update order"
    assert version == len(applied)


MALFORMED: list[dict[str, Any]] = [
    {"message": "a string where a message belongs"},
    {"message": {"message_id": 1, "date": "yesterday", "chat": {"id": 1, "type": "private"}}},
    {"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "from": [1]}},
    {"callback_query": {"id": "1", "from": "nobody", "chat_instance": "x", "data": "0"}},
    {"message": {"message_id": 1, "date": 0, "chat": [], "text": "hi"}},
    {"message": {"message_id": 1, "date": 0, "chat": {"id": "x", "type": 5}, "text": "hi"}},
]


async def test_polling_confirms_what_it_cannot_read_and_goes_on(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Each malformed update is logged without its content and confirmed; polling goes on."""
    with captured_log([]) as logged:
        async with running(fake_api, tmp_path / "db.sqlite3") as bot:
            bad = [fake_api.send_update(payload) for payload in MALFORMED]
            await say(fake_api, 1, "/start plan")
            assert "Question 1 of" in last_text(fake_api, 1), "a valid update is answered"
            await fake_api.wait_confirmed(timeout=10)
            assert all(fake_api.is_confirmed(u) for u in bad)
            assert bot.taking_updates()
    assert "a string where a message belongs" not in logged.getvalue()
    assert logged.getvalue().count("cannot be read") >= 3


async def test_heartbeat_stops_with_the_poll_loop(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """A poll loop that died stops the heartbeat (health then fails) and the bot itself."""
    db = tmp_path / "db.sqlite3"
    async with running(fake_api, db) as bot:
        beat = heartbeat_path(db)
        await bot.beat()
        assert beat.exists()
        poll = next(t for t in asyncio.all_tasks() if t.get_name() == "poll")
        poll.cancel()  # as if it had died: nothing takes updates any more
        await asyncio.sleep(0.3)  # housekeeping's own first beat is done by now
        beat.unlink()
        assert not bot.taking_updates()
        await bot.beat()
        assert not beat.exists(), "no heartbeat without a poll loop"
        bot.last_poll -= 1000
        assert not bot.taking_updates()


async def test_a_poll_loop_that_ends_by_itself_stops_the_bot(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """The process exits with an error (a container restarts it) rather than idle healthy."""
    async with running(fake_api, tmp_path / "db.sqlite3") as bot:
        failed = _failed_task()
        await asyncio.wait([failed])
        bot._poll_ended(failed)
        await asyncio.wait_for(bot.stopped(), 1)
        assert bot.failed


def _failed_task() -> asyncio.Task[None]:
    async def boom() -> None:
        raise RuntimeError("boom")

    return asyncio.get_running_loop().create_task(boom())


# -- arbitrary JSON through both doors ---------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)
MESSAGE_KEYS = ["message_id", "date", "chat", "from", "text", "entities", "reply_markup", "photo"]
CHAT = st.fixed_dictionaries(
    {"id": st.integers(1, 50) | JSON_VALUES, "type": st.sampled_from(["private", "group"])}
)
MESSAGE = JSON_VALUES | st.dictionaries(
    st.sampled_from(MESSAGE_KEYS), JSON_VALUES | CHAT, max_size=6
)
UPDATES = st.dictionaries(
    st.sampled_from(["message", "callback_query", "edited_message", "poll", "my_chat_member"]),
    MESSAGE,
    min_size=1,
    max_size=2,
)


class LoopThread:
    """An event loop in a thread, so a synchronous hypothesis test can drive the bot."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, job: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(job, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module", params=["polling", "webhook"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LoopThread, FakeBotAPI, TelegramBot, str | None]]:
    """A bot running for the whole module, in polling or webhook mode."""
    thread = LoopThread()
    api = FakeBotAPI()
    thread.run(api.start())
    db = tmp_path_factory.mktemp(request.param) / "db.sqlite3"
    url = None
    changes: dict[str, object] = {}
    if request.param == "webhook":
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        changes = {
            "webhook_url": url,
            "webhook_secret": SECRET,
            "webhook_listen": "127.0.0.1",
            "webhook_port": port,
        }
    context = running(api, db, **changes)
    bot = thread.run(context.__aenter__())
    try:
        yield thread, api, bot, url
    finally:
        thread.run(context.__aexit__(None, None, None))
        thread.run(api.stop())
        thread.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(update=UPDATES)
def test_no_update_stops_the_bot(
    served: tuple[LoopThread, FakeBotAPI, TelegramBot, str | None], update: dict[str, Any]
) -> None:
    """Whatever JSON an update holds, the bot confirms it and answers the next valid one."""
    thread, api, bot, url = served
    if url is None:
        update_id = api.send_update(update, raw=True)
        thread.run(api.wait_confirmed(timeout=10))
        assert update_id not in [u["update_id"] for u in api.pending_updates], "confirmed"
    else:
        status = thread.run(api.post_webhook(url, update, SECRET))
        assert status in (200, 400), f"webhook answered {status}"
    assert bot.taking_updates()
    user = 40_000 + len(api.calls) % 1000
    thread.run(say(api, user, "/start plan"))
    assert "Question 1 of" in last_text(api, user), json.dumps(update)[:200]


async def test_buttons_still_work_after_malformed_updates(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """After unreadable updates the same person's conversation carries on by buttons."""
    async with running(fake_api, tmp_path / "db.sqlite3"):
        await say(fake_api, 1, "/start")
        for payload in MALFORMED:
            fake_api.send_update(payload)
        await tap(fake_api, 1, "Plan")
        assert "Question 1 of" in last_text(fake_api, 1)
