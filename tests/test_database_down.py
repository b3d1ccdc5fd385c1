"""PostgreSQL stops while the bot runs: nothing is acknowledged, health says why, it resumes."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_crash import alive, bot_env, check_every_user, free_port, queue_every_script, start_bot

from fakebotapi import FakeBotAPI
from pgserver import Cluster
from support import inbox_empty


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_the_database_stopping_mid_run_loses_nothing(
    fake_api: FakeBotAPI, postgres: Cluster, tmp_path: Path, mode: str
) -> None:
    """PostgreSQL stops while updates arrive: nothing is acknowledged meanwhile, health
    and the log say why, and once it is back every update is applied once."""
    if not postgres.owned:
        pytest.skip(
            "stops the server: needs the one this run started, not ADVISOR_TEST_DATABASE_URL"
        )
    url = postgres.database()
    folder = tmp_path / "bot"
    bot = await start_bot(fake_api, url, folder, free_port() if mode == "webhook" else None)
    fake_api.idle_checks.append(lambda: inbox_empty(url))
    queue_every_script(fake_api)
    try:
        await fake_api.wait_for(lambda calls: len(calls) > 40, timeout=60)
        postgres.stop()
        try:
            late = fake_api.send_text(5000, "/help", language_code="cy")
            await asyncio.sleep(3)
            alive(bot, folder)
            health = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "health"],
                cwd=folder,
                env=bot_env(fake_api, url, folder),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert health.returncode == 1
            assert health.stderr.startswith("unhealthy; database: "), health.stderr
            assert "; loop: heartbeat" in health.stderr, "the process's own loop still beats"
            # One that arrives during the outage can be neither applied nor kept in the
            # inbox: it must wait with Telegram (earlier ones may be in the inbox).
            assert not fake_api.is_confirmed(late), (
                "it waits with Telegram while the database is down"
            )
        finally:
            postgres.start()
        await fake_api.wait_confirmed(timeout=120)
        await fake_api.wait_idle(quiet=0.5, timeout=60)
        alive(bot, folder)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)
    check_every_user(url)
    logged = (folder / "bot.log").read_text(errors="replace")
    assert "not applied" in logged, logged[-2000:]
    postgres.drop(url)
