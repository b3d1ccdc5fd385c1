"""One frozen replica stops no other: its chats wait a lease, every other chat is answered.

A replica suspended (SIGSTOP) in the middle of a dozen turns holds those
chats. With session advisory locks, the other replica's updates for those
chats each held a pool connection while waiting, the pool (ten) filled, and
it answered no chat at all. Leases hold no connection while waiting: every
chat the frozen replica does not hold is answered at once, and its own
chats are taken over once their leases lapse.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from test_crash import alive, free_port, start_bot

from fakebotapi import Call, FakeBotAPI

FROZEN_CHATS = range(7401, 7413)
"""More chats than the other replica's pool holds connections."""
OTHER_CHATS = range(7501, 7521)


def answered(calls: list[Call]) -> set[int]:
    """The chats a message got through to."""
    return {c.params["chat_id"] for c in calls if c.method == "sendMessage" and c.ok}


async def test_a_frozen_replica_holds_up_only_its_own_chats(
    fake_api: FakeBotAPI, postgres_url: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    public = free_port()
    urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
    folders = [tmp_path / "frozen", tmp_path / "other"]
    fake_api.one_per_chat = False
    fake_api.replicas = urls[:1]  # everything to the replica that will freeze
    replicas = [
        await start_bot(fake_api, postgres_url, folders[n], public, ports[n]) for n in range(2)
    ]
    frozen, other = replicas
    try:
        fake_api.hold("sendMessage", FROZEN_CHATS)
        for chat in FROZEN_CHATS:
            fake_api.send_text(chat, "/start plan", language_code="cy")
        await fake_api.wait_for(
            lambda _: fake_api.held("sendMessage") == len(FROZEN_CHATS), timeout=30
        )
        alive(frozen, folders[0])
        frozen.send_signal(signal.SIGSTOP)
        fake_api.replicas = urls[1:]  # the load balancer takes the frozen one out
        fake_api.release("sendMessage")  # what the frozen one was sending never arrives

        # The people whose chats it holds write again, to the other replica.
        for chat in FROZEN_CHATS:
            fake_api.send_text(chat, "/help", language_code="cy")
        await asyncio.sleep(0.5)
        began = time.monotonic()
        for chat in OTHER_CHATS:
            fake_api.send_text(chat, "/start plan", language_code="cy")
        await fake_api.wait_for(lambda calls: answered(calls) >= set(OTHER_CHATS), timeout=10)
        answered_in = time.monotonic() - began
        assert answered_in < 2.0, f"other chats waited {answered_in:.1f} s"

        # The frozen replica's chats are taken over once their leases lapse.
        await fake_api.wait_for(lambda calls: answered(calls) >= set(FROZEN_CHATS), timeout=30)
        alive(other, folders[1])
    finally:
        fake_api.release("sendMessage")
        if frozen.returncode is None:
            frozen.send_signal(signal.SIGCONT)
        for replica in replicas:
            if replica.returncode is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            await asyncio.wait_for(replica.wait(), timeout=30)
