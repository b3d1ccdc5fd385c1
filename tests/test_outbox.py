"""A reply is never lost: the process dies after the commit and before the send.

The state and the replies are committed together (the outbox); the update
was never confirmed, so Telegram delivers it again after the restart, and
the copy, recognised as applied, sends the replies that were kept. Before
the outbox, the copy was dropped as "applied before" and the person never
got their next question.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from test_crash import alive, free_port, script, start_bot

from bot.channels.telegram import outbox
from bot.channels.telegram.dialogue import Edit, Keepsake, Plan, Send
from bot.store.conversations import Conversation

from fakebotapi import FakeBotAPI
from support import Database, applied, fixture_catalog, inbox_empty, rows, walk

USER = 7301


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=30)


async def wait_until(check, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Poll ``check`` (a database read) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def sent(api: FakeBotAPI) -> list[int]:
    """The ids of every message the bot got through to the person, in order."""
    return [c.result["message_id"] for c in api.calls_of("sendMessage") if c.ok]


@pytest.mark.parametrize(
    ("store", "by"),
    [("sqlite", "polling"), ("postgres", "webhook replicas")],
)
async def test_the_reply_comes_after_a_kill_between_commit_and_send(
    fake_api: FakeBotAPI,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    store: str,
    by: str,
) -> None:
    database: Database = (
        tmp_path / "advisor.sqlite3"
        if store == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    replicas = 2 if by == "webhook replicas" else 1
    public = free_port() if replicas > 1 else None
    ports = [free_port() for _ in range(replicas)]
    if public is not None:
        fake_api.replicas = [f"http://127.0.0.1:{port}/hook" for port in ports]
    folders = [tmp_path / f"bot{n}" for n in range(replicas)]

    async def start(n: int) -> asyncio.subprocess.Process:
        return await start_bot(
            fake_api, database, folders[n], public, ports[n] if public is not None else None
        )

    bots = [await start(n) for n in range(replicas)]
    fake_api.idle_checks.append(lambda: inbox_empty(database))
    try:
        fake_api.send_text(USER, "/start plan", language_code="cy")
        await fake_api.wait_idle(quiet=0.3, timeout=30)
        before = sent(fake_api)
        assert before, "the bot asked its first question"

        # The next answer is committed, then every replica dies with its reply unsent.
        fake_api.hold("sendMessage")
        update_id = fake_api.send_text(USER, "Cau llwybr yr ysgol", language_code="cy")
        await wait_until(lambda: applied(database, update_id))
        await fake_api.wait_for(lambda _: fake_api.held("sendMessage") > 0, timeout=30)
        for n, bot in enumerate(bots):
            alive(bot, folders[n])
            bot.kill()
            await bot.wait()
        fake_api.release("sendMessage")
        assert sent(fake_api) == before, "the reply did not get through before the kill"
        kept = not fake_api.is_confirmed(update_id) or not inbox_empty(database)
        assert kept, "the update is kept: by Telegram, or in the bot's inbox"

        bots = [await start(n) for n in range(replicas)]
        await fake_api.wait_confirmed(timeout=60)
        await fake_api.wait_idle(quiet=0.5, timeout=60)
        after = sent(fake_api)[len(before) :]
        assert len(after) == 1, f"the reply comes once: {after}"
        question = fake_api.last_message(USER)
        assert question.message_id == after[0]
        assert question.buttons(), "it is the next question, with its options"

        # Its buttons are live: the restart recorded which message carries them.
        data = question.buttons()[0][1]
        assert data is not None
        fake_api.press(USER, data, message_id=question.message_id)
        await fake_api.wait_idle(quiet=0.3, timeout=30)
        assert fake_api.last_message(USER).message_id != question.message_id, "it moved on"
        assert rows(database, "SELECT outbox FROM conversations WHERE chat_id = ?", USER) == [
            (None,)
        ], "nothing is left to send"
    finally:
        for bot in bots:
            await stop(bot)


def test_the_outbox_keeps_every_reply_and_the_pdf_asked_for() -> None:
    """What is stored comes back as the same edits, messages, buttons and PDF request."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    session = walk("plan", script(5001)[1:], catalog)
    plan = Plan(Conversation(USER, version=3))
    plan.edits = [Edit(11, "<b>Question 1</b> — Yes", None), Edit(12, None, [[("✓ A", "a:1")]])]
    plan.sends = [Send("Next", [[("One", "o:1"), ("Two", "o:2")]], track=True), Send("Note")]
    plan.keepsake = Keepsake(flow, session, "cy", "key-1", "pdf:1")
    text = outbox.encode(plan)
    assert text is not None
    stored = Conversation(USER, version=4, outbox=text, outbox_update=99)
    back = outbox.decode(stored, catalog)
    assert back.edits == plan.edits
    assert back.sends == plan.sends
    assert back.keepsake == plan.keepsake
    assert outbox.encode(Plan(Conversation(USER))) is None, "nothing to send, nothing stored"
    gone = outbox.decode(replace(stored, outbox=text.replace('"plan"', '"retired"')), catalog)
    assert gone.keepsake is None, "a PDF of a flow no longer served is left out"
    assert gone.sends == plan.sends, "the messages still go"
