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
import sqlite3
import sys
from pathlib import Path

from bot.advice.engine import Session

from fakebotapi import FakeBotAPI
from support import walk

USERS = int(os.environ.get("CRASH_USERS", "24"))
KILLS = int(os.environ.get("CRASH_KILLS", "4"))
ROOT = Path(__file__).resolve().parent.parent


def script(user: int) -> list[str]:
    """What one user types: a deep link, then answers that depend on who they are."""
    branch = [
        ["made", ["told", "not_told", "no"][user % 3]],
        ["open", "no", "no"],
        ["partly", "yes", "yes", ["outcomes", "duty"][user % 2], "months", "yes", "told"],
        ["open", "yes", "no", "budget,staff", "yes", "outcomes", "longer", "yes", "no"],
    ][user % 4]
    return ["/start plan", f"decision number {user}", *branch]


def expected(user: int) -> Session:
    return walk("plan", script(user)[1:])


async def start_bot(
    api: FakeBotAPI, db: Path, webhook_port: int | None
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "ADVISOR_DB_PATH": str(db),
        "ADVISOR_LOG_LEVEL": "WARNING",
    }
    if webhook_port is not None:
        env |= {
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/hook",
            "TELEGRAM_WEBHOOK_SECRET": "crash-test-secret",
            "ADVISOR_WEBHOOK_LISTEN": "127.0.0.1",
            "ADVISOR_WEBHOOK_PORT": str(webhook_port),
        }
    with (db.parent / "bot.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=db.parent,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


def alive(process: asyncio.subprocess.Process, db: Path) -> None:
    """Fail with the bot's log if it stopped by itself."""
    if process.returncode is not None:
        raise AssertionError((db.parent / "bot.log").read_text(errors="replace")[-3000:])


async def run_with_kills(
    api: FakeBotAPI, db: Path, seed: int, faults: bool, webhook_port: int | None = None
) -> None:
    """Queue every user's messages, then kill and restart the bot until all are handled.

    With ``webhook_port`` the bot takes updates by webhook, and the fake posts
    each until the bot answers 2xx, as Telegram does.
    """
    rng = random.Random(seed)
    users = range(5000, 5000 + USERS)
    scripts = {user: script(user) for user in users}
    for step in range(max(len(s) for s in scripts.values())):
        for user in users:
            if step < len(scripts[user]):
                api.send_text(user, scripts[user][step], language_code="cy")
    for _ in range(KILLS):
        process = await start_bot(api, db, webhook_port)
        if faults:
            api.fail_next("sendMessage", status=rng.choice([429, 500, 502]), times=2)
            api.fail_next("editMessageReplyMarkup", status=502)
            api.delay("sendMessage", rng.choice([0, 0.05, 0.2]))
        await asyncio.sleep(rng.uniform(1.2, 2.5))
        alive(process, db)
        process.kill()
        await process.wait()
    api.delay("sendMessage", 0)
    process = await start_bot(api, db, webhook_port)
    try:
        await asyncio.sleep(0.5)
        alive(process, db)
        await api.wait_confirmed(timeout=60)
        await api.wait_idle(quiet=0.5, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


def check_every_user(db: Path) -> None:
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("SELECT chat_id, last_result FROM conversations").fetchall())
    assert len(rows) == USERS, "every user has a conversation"
    for user, stored in rows.items():
        assert stored is not None, f"user {user} is stuck before the result"
        result = Session.from_json(json.loads(stored))
        want = expected(user)
        assert dict(result.answers) == dict(want.answers), f"user {user}'s answers differ"
        assert result.history == want.history


async def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """After repeated SIGKILLs and restarts every user's stored answers are exactly theirs."""
    db = tmp_path / "advisor.sqlite3"
    await run_with_kills(fake_api, db, seed=1, faults=False)
    check_every_user(db)


async def test_kills_with_429_5xx_and_slow_answers(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """The same with the Bot API failing and slowing down between kills."""
    db = tmp_path / "advisor.sqlite3"
    await run_with_kills(fake_api, db, seed=2, faults=True)
    check_every_user(db)
    statuses = {c.status for c in fake_api.calls if c.method == "sendMessage"}
    assert {429} & statuses or {500, 502} & statuses, "faults were really injected"


async def test_webhook_kills_lose_and_double_nothing(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """By webhook too: Telegram's POST is answered only after the update is stored."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = tmp_path / "advisor.sqlite3"
    await run_with_kills(fake_api, db, seed=3, faults=False, webhook_port=port)
    check_every_user(db)
    assert fake_api.calls_of("getUpdates") == [], "every update came by webhook"
