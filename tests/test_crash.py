"""Kill the bot at random moments, restart it on the same database: no answer lost or doubled.

The fake Bot API redelivers every update the bot had not confirmed, as
Telegram does, and in the second test also answers with 429s, 5xx errors
and slow responses; the third takes updates by webhook, the fake posting
each until the bot answers 2xx. Sized for `make test`; for a longer run set
CRASH_USERS=200 CRASH_KILLS=20 (see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sys
from pathlib import Path

from bot.advice.engine import Session

from fakebotapi import FakeBotAPI
from support import (
    Database,
    fixture_catalog,
    fixture_env,
    inbox_empty,
    make_fixture_project,
    rows,
    walk,
)

USERS = int(os.environ.get("CRASH_USERS", "16"))
KILLS = int(os.environ.get("CRASH_KILLS", "4"))
PER_CHAT = 15
"""Updates for each chat in the test of one chat on two replicas at once."""
ROOT = Path(__file__).resolve().parent.parent


def script(user: int) -> list[str]:
    """What one user types: a deep link, then answers that depend on who they are.

    Numbers as the buttons show them (the chats are in Welsh, and Telegram
    takes no option ids): place skipped, then made, us, no handover,
    told/not told/no; open, no, no handover, not asked; partly, yes, months,
    no handover, accountable, outcomes/duty, people yes, told; open, yes,
    longer, no handover, no expertise, budget and staff, accountable,
    outcomes, people yes, not asked.
    """
    branch = [
        ["3", "1", "2", ["1", "2", "3"][user % 3]],
        ["1", "3", "2", "3"],
        ["2", "1", "3", "2", "1", ["1", "2"][user % 2], "1", "1"],
        ["1", "1", "4", "2", "3", "1,2", "1", "1", "1", "3"],
    ][user % 4]
    return ["/start plan", f"decision number {user}", "6", *branch]


def expected(user: int) -> Session:
    return walk("plan", script(user)[1:], fixture_catalog())


def bot_env(api: FakeBotAPI, database: Database, folder: Path) -> dict[str, str]:
    """The environment of a bot process on ``database``; its heartbeat and log in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "ADVISOR_DB_PATH": str(database if isinstance(database, Path) else folder / "beat"),
        "ADVISOR_LOG_LEVEL": "WARNING",
    }
    if isinstance(database, str):
        env["ADVISOR_DATABASE_URL"] = database
    return env | fixture_env(make_fixture_project(folder.parent / "project"))


async def start_bot(
    api: FakeBotAPI,
    database: Database,
    folder: Path,
    webhook_port: int | None,
    listen_port: int | None = None,
) -> asyncio.subprocess.Process:
    """``python -m bot run``; by webhook when ``webhook_port`` is given. A replica
    behind the fake's load balancer listens on ``listen_port`` of its own."""
    env = bot_env(api, database, folder)
    if webhook_port is not None:
        env |= {
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/hook",
            "TELEGRAM_WEBHOOK_SECRET": "crash-test-secret",
            "ADVISOR_WEBHOOK_LISTEN": "127.0.0.1",
            "ADVISOR_WEBHOOK_PORT": str(listen_port or webhook_port),
        }
    with (folder / "bot.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


def alive(process: asyncio.subprocess.Process, folder: Path) -> None:
    """Fail with the bot's log if it stopped by itself."""
    if process.returncode is not None:
        raise AssertionError((folder / "bot.log").read_text(errors="replace")[-3000:])


def queue_every_script(api: FakeBotAPI, scripts: dict[int, list[str]] | None = None) -> None:
    """Every user's messages, queued at once, interleaved across users."""
    if scripts is None:
        scripts = {user: script(user) for user in range(5000, 5000 + USERS)}
    users = sorted(scripts)
    for step in range(max(len(s) for s in scripts.values())):
        for user in users:
            if step < len(scripts[user]):
                api.send_text(user, scripts[user][step], language_code="cy")


async def run_with_kills(
    api: FakeBotAPI,
    database: Database,
    folder: Path,
    seed: int,
    faults: bool,
    webhook_port: int | None = None,
    scripts: dict[int, list[str]] | None = None,
) -> None:
    """Queue every user's messages, then kill and restart the bot until all are handled.

    With ``webhook_port`` the bot takes updates by webhook, and the fake posts
    each until the bot answers 2xx, as Telegram does.
    """
    rng = random.Random(seed)
    api.idle_checks.append(lambda: inbox_empty(database))
    queue_every_script(api, scripts)
    for _ in range(KILLS):
        process = await start_bot(api, database, folder, webhook_port)
        if faults:
            api.fail_next("sendMessage", status=rng.choice([429, 500, 502]), times=2)
            api.fail_next("editMessageReplyMarkup", status=502)
            api.delay("sendMessage", rng.choice([0, 0.05, 0.2]))
        await asyncio.sleep(rng.uniform(1.2, 2.5))
        alive(process, folder)
        process.kill()
        await process.wait()
    api.delay("sendMessage", 0)
    process = await start_bot(api, database, folder, webhook_port)
    try:
        await asyncio.sleep(0.5)
        alive(process, folder)
        await api.wait_confirmed(timeout=90)
        await api.wait_idle(quiet=0.5, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


def check_every_user(database: Database) -> None:
    stored = dict(rows(database, "SELECT chat_id, last_result FROM conversations"))
    assert len(stored) == USERS, "every user has a conversation"
    for user, last_result in stored.items():
        assert last_result is not None, f"user {user} is stuck before the result"
        result = Session.from_json(json.loads(last_result))
        want = expected(user)
        assert dict(result.answers) == dict(want.answers), f"user {user}'s answers differ"
        assert result.history == want.history


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    fake_api: FakeBotAPI, database: Database, tmp_path: Path
) -> None:
    """After repeated SIGKILLs and restarts every user's stored answers are exactly theirs."""
    await run_with_kills(fake_api, database, tmp_path, seed=1, faults=False)
    check_every_user(database)


async def test_kills_with_429_5xx_and_slow_answers(
    fake_api: FakeBotAPI, database: Database, tmp_path: Path
) -> None:
    """The same with the Bot API failing and slowing down between kills."""
    await run_with_kills(fake_api, database, tmp_path, seed=2, faults=True)
    check_every_user(database)
    statuses = {c.status for c in fake_api.calls if c.method == "sendMessage"}
    assert {429} & statuses or {500, 502} & statuses, "faults were really injected"


async def test_webhook_kills_lose_and_double_nothing(
    fake_api: FakeBotAPI, database: Database, tmp_path: Path
) -> None:
    """By webhook too: Telegram's POST is answered only after the update is stored."""
    await run_with_kills(
        fake_api, database, tmp_path, seed=3, faults=False, webhook_port=free_port()
    )
    check_every_user(database)
    assert fake_api.calls_of("getUpdates") == [], "every update came by webhook"


async def test_three_replicas_killed_at_random_lose_and_double_nothing(
    fake_api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    """Three webhook replicas on one PostgreSQL database behind a load balancer.

    The fake posts up to 40 updates at once, each to a replica picked at
    random, and posts again whatever was not answered 2xx; replicas are
    killed with SIGKILL at random moments and restarted. Every user's stored
    answers are then exactly what that user sent.
    """
    rng = random.Random(4)
    public = free_port()
    ports = [free_port() for _ in range(3)]
    fake_api.replicas = [f"http://127.0.0.1:{port}/hook" for port in ports]
    folders = [tmp_path / f"replica{n}" for n in range(3)]

    async def start(n: int) -> asyncio.subprocess.Process:
        return await start_bot(fake_api, postgres_url, folders[n], public, ports[n])

    replicas = [await start(n) for n in range(3)]
    queue_every_script(fake_api)
    try:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 2.5))
            n = rng.randrange(3)
            alive(replicas[n], folders[n])
            replicas[n].kill()
            await replicas[n].wait()
            replicas[n] = await start(n)
        await fake_api.wait_confirmed(timeout=120)
        await fake_api.wait_idle(quiet=0.5, timeout=60)
        for n, replica in enumerate(replicas):
            alive(replica, folders[n])
    finally:
        for replica in replicas:
            if replica.returncode is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            await asyncio.wait_for(replica.wait(), timeout=30)
    check_every_user(postgres_url)
    hosts = {c.params.get("url") for c in fake_api.calls_of("setWebhook")}
    assert hosts == {f"http://127.0.0.1:{public}/hook"}, "every replica set the public URL"


async def test_one_chat_posted_to_two_replicas_at_once_is_applied_exactly_once(
    fake_api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    """Hundreds of updates for 20 chats, several of one chat in flight at once on two
    replicas, one replica killed mid-burst and its share posted again: each
    update is applied exactly once (the chat lock makes them take turns).

    The updates are /help, whose effect does not depend on order, so the
    count tells: a chat's version is the number of its updates applied.
    """
    ports = [free_port() for _ in range(2)]
    fake_api.replicas = [f"http://127.0.0.1:{port}/hook" for port in ports]
    fake_api.one_per_chat = False
    folders = [tmp_path / f"replica{n}" for n in range(2)]
    public = free_port()
    replicas = [
        await start_bot(fake_api, postgres_url, folders[n], public, ports[n]) for n in range(2)
    ]
    chats = range(7000, 7020)
    sent: dict[int, set[int]] = {chat: set() for chat in chats}
    try:
        for _ in range(PER_CHAT):
            for chat in chats:
                sent[chat].add(fake_api.send_text(chat, "/help", language_code="en"))
        await fake_api.wait_for(lambda calls: len(calls) > 60, timeout=60)
        alive(replicas[0], folders[0])
        replicas[0].kill()
        await replicas[0].wait()
        replicas[0] = await start_bot(fake_api, postgres_url, folders[0], public, ports[0])
        await fake_api.wait_confirmed(timeout=120)
        for n, replica in enumerate(replicas):
            alive(replica, folders[n])
    finally:
        for replica in replicas:
            if replica.returncode is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            await asyncio.wait_for(replica.wait(), timeout=30)
    versions = dict(rows(postgres_url, "SELECT chat_id, version FROM conversations"))
    assert versions == dict.fromkeys(chats, PER_CHAT), "each chat's updates applied once each"
    for chat in chats:
        applied = {
            r[0]
            for r in rows(
                postgres_url, "SELECT update_id FROM applied_updates WHERE chat_id = ?", chat
            )
        }
        assert applied == sent[chat]


async def test_webhook_parallel_deliveries_for_one_chat_lose_and_double_nothing(
    fake_api: FakeBotAPI, database: Database, tmp_path: Path
) -> None:
    """Telegram may post up to 40 updates of one chat at once to one process: each is
    applied exactly once, in its chat's turn, and one not applied is not answered
    2xx (so it comes again). Before chats took turns, 22 of 61 were applied.

    The updates are /help, whose effect does not depend on order, so the
    count tells: a chat's version is the number of its updates applied.
    """
    fake_api.one_per_chat = False
    scripts = {chat: ["/start plan"] + [f"/help {n}" for n in range(60)] for chat in (7001, 7002)}
    await run_with_kills(
        fake_api,
        database,
        tmp_path,
        seed=4,
        faults=False,
        webhook_port=free_port(),
        scripts=scripts,
    )
    versions = dict(rows(database, "SELECT chat_id, version FROM conversations"))
    assert versions == {chat: len(sent) for chat, sent in scripts.items()}
    recorded = dict(
        rows(database, "SELECT chat_id, count(*) FROM applied_updates GROUP BY chat_id")
    )
    assert recorded == versions, "each update recorded once"
    assert max(fake_api.webhook_most_at_once.values()) >= 20, "one chat's updates came at once"
