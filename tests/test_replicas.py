"""Two webhook replicas of the bot on one PostgreSQL database, in this process.

A /reload reaches whichever replica the load balancer picked; the others
hear of it through PostgreSQL's NOTIFY and reload the same files, so every
replica serves the edited flows and the reload is audited once.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

from bot.child_loader import load_in_child
from bot.flows.catalog import LoadReport

from fakebotapi import FakeBotAPI
from support import rows
from telegram_support import running, say

ADMIN = 7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def counted(project: Path, calls: list[str], name: str) -> Callable[[], Awaitable[LoadReport]]:
    async def load() -> LoadReport:
        calls.append(name)
        return await load_in_child(project)

    return load


async def test_a_reload_on_one_replica_reloads_every_replica(
    fake_api: FakeBotAPI, postgres_url: str, project: Path
) -> None:
    """The admin's /reload lands on one replica; both end up with the edited texts."""
    loads: list[str] = []
    ports = [free_port(), free_port()]
    fake_api.replicas = [f"http://127.0.0.1:{port}/hook" for port in ports]
    async with AsyncExitStack() as stack:
        bots = [
            await stack.enter_async_context(
                running(
                    fake_api,
                    postgres_url,
                    load_catalog=counted(project, loads, f"replica{n}"),
                    admin_ids=frozenset({ADMIN}),
                    webhook_url=f"http://127.0.0.1:{free_port()}/hook",
                    webhook_secret="replica-secret",
                    webhook_listen="127.0.0.1",
                    webhook_port=port,
                )
            )
            for n, port in enumerate(ports)
        ]
        loads.clear()  # the loads at start
        path = project / "content" / "en" / "ui.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("Reloaded", "Freshly reloaded", 1), encoding="utf-8")
        await say(fake_api, ADMIN, "/reload")
        await fake_api.wait_for(lambda _: sorted(loads) == ["replica0", "replica1"], timeout=60)
        for _ in range(100):
            if all("Freshly reloaded" in str(bot.holder.catalog.texts["en"]) for bot in bots):
                break
            await asyncio.sleep(0.1)
        for bot in bots:
            assert "Freshly reloaded" in str(bot.holder.catalog.texts["en"])
    audited = rows(postgres_url, "SELECT user_id, action FROM audit")
    assert audited == [(ADMIN, "reload")], "audited once, by the replica that was asked"
