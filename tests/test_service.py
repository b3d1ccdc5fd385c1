"""`python -m bot run` as a process: settings from the environment, SIGTERM, no token in logs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest
from aiohttp import web

from fakebotapi import FakeBotAPI
from support import fixture_env

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
    fake_api: FakeBotAPI, tmp_path: Path, advisor_project: Path
) -> None:
    """The CLI starts the bot from environment settings, answers, and exits 0 on SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_BASE_URL": fake_api.base_url,
        "ADVISOR_DB_PATH": str(tmp_path / "db" / "advisor.sqlite3"),
        "ADVISOR_LOG_LEVEL": "DEBUG",
    }
    env |= fixture_env(advisor_project)
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
        # Lean while serving: frozenlist's C++ build (libstdc++, ~1 MB) not loaded.
        maps = await asyncio.to_thread(Path(f"/proc/{process.pid}/maps").read_text, "utf-8")
        assert "libstdc++" not in maps
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


TOKEN = "987654321:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
"""Letters of both cases, so a lowercased or uppercased copy would show."""


async def start_against(base_url: str, tmp_path: Path) -> tuple[int | None, str]:
    """`python -m bot run` against ``base_url``: its exit status and everything it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base_url,
        "ADVISOR_DB_PATH": str(tmp_path / "advisor.sqlite3"),
        "ADVISOR_LOG_LEVEL": "DEBUG",
        "PYTHONWARNINGS": "always",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("failure", ["401", "404", "redirect loop", "bad scheme"])
async def test_no_startup_failure_prints_the_token(failure: str, tmp_path: Path) -> None:
    """getMe refused, a wrong URL, a redirect loop, a mistyped scheme: one line, no token."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if failure == "redirect loop":
            raise web.HTTPFound(str(request.url))
        status = int(failure)
        body = {"ok": False, "error_code": status, "description": f"Error {status}: {request.path}"}
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        scheme = "htps" if failure == "bad scheme" else "http"
        status, out = await start_against(f"{scheme}://127.0.0.1:{port}/bot", tmp_path)
    finally:
        await runner.cleanup()
    assert status == 1, out
    assert "cannot start" in out
    assert "Traceback" not in out
    for form in (TOKEN, TOKEN.lower(), TOKEN.upper(), TOKEN.split(":")[1].lower()):
        assert form not in out, f"the token, as {form!r}"


async def test_sigterm_exits_within_ten_seconds_with_an_update_in_hand(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """After an update that cannot be read, and with a reply stuck on a slow Bot API,
    SIGTERM still ends the process within 10 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_BASE_URL": fake_api.base_url,
        "ADVISOR_DB_PATH": str(tmp_path / "advisor.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        fake_api.delay("sendMessage", 120)
        fake_api.send_update({"message": "not a message"})
        fake_api.send_text(42, "/start plan")
        await fake_api.wait_for(lambda calls: any(c.method == "getMe" for c in calls), timeout=30)
        await asyncio.sleep(2)  # the update is taken; its reply waits on the slow API
        started = asyncio.get_running_loop().time()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
        took = asyncio.get_running_loop().time() - started
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert took < 10, f"took {took:.1f} s to exit"


async def test_sighup_while_starting_reloads_once_started(
    fake_api: FakeBotAPI, tmp_path: Path, advisor_project: Path
) -> None:
    """SIGHUP's default ends a process; one sent while the flows load must not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_BASE_URL": fake_api.base_url,
        "ADVISOR_DB_PATH": str(tmp_path / "advisor.sqlite3"),
        "ADVISOR_CACHE_DIR": "off",  # so the first load takes its time
    }
    env |= fixture_env(advisor_project)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        bot = psutil.Process(process.pid)
        for _ in range(600):  # until the flows are loading (a child process checks them)
            if bot.children():
                break
            await asyncio.sleep(0.01)
        assert bot.children(), "the flows never started loading"
        process.send_signal(signal.SIGHUP)
        assert process.stderr is not None
        log = await asyncio.wait_for(read_until(process.stderr, "reloaded 2 flow(s)"), 60)
        assert "SIGHUP came while the bot was starting" in log
        assert process.returncode is None, "still running"
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0


@pytest.mark.parametrize(("operator", "capped"), [(None, True), ("4", False)])
def test_malloc_arenas_are_capped_unless_the_operator_set_them(
    operator: str | None, capped: bool
) -> None:
    """One malloc arena for the bot (each thread's own grew to megabytes in the bench),
    unless the environment's MALLOC_ARENA_MAX already says how many."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if operator is not None:
        env["MALLOC_ARENA_MAX"] = operator
    code = "from bot.service import limit_malloc_arenas; print(limit_malloc_arenas())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == str(capped), done.stderr
