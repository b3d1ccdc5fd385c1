"""`python -m bot run` as a process: settings from the environment, SIGTERM, no token in logs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from fakebotapi import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    """The log lines up to and including the first that holds ``text``."""
    lines = []
    while line := (await stream.readline()).decode():
        lines.append(line)
        if text in line:
            break
    return "".join(lines)


async def test_run_serves_and_stops_cleanly_on_sigterm(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """The CLI starts the bot from environment settings, answers, and exits 0 on SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_BASE_URL": fake_api.base_url,
        "ADVISOR_DB_PATH": str(tmp_path / "db" / "advisor.sqlite3"),
        "ADVISOR_LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake_api.send_text(42, "/start plan")
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendMessage" for c in calls), timeout=30
        )
        await fake_api.wait_idle()
        fake_api.press(42, "lang:en:plan")
        await fake_api.wait_for(
            lambda calls: any(
                c.method == "sendMessage" and "Question 1" in str(c.params.get("text"))
                for c in calls
            ),
            timeout=30,
        )
        process.send_signal(signal.SIGHUP)
        assert process.stderr is not None
        before = await asyncio.wait_for(read_until(process.stderr, "reloaded 2 flow(s)"), 30)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = before + stderr.decode()
    assert process.returncode == 0, log
    assert "bot stopped" in log
    assert fake_api.token not in log
    assert fake_api.token.split(":")[1] not in log
    assert "reloaded 2 flow(s)" in log
    stats = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "stats",
        "--audit",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(stats.communicate(), timeout=60)
    assert stats.returncode == 0, err.decode()
    assert "plan: 1 started, 0 finished" in out.decode()
    assert "-  reload (SIGHUP): ok: 2 flow(s)" in out.decode()


async def test_run_without_token_says_what_to_set(tmp_path: Path) -> None:
    """Without a token `run` exits 2 with a message naming the variable, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert (
        stderr.decode().strip()
        == "cannot start: TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather"
    )
