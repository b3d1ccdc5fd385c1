"""What a hostile client or a broken server can do to the intake, and what it cannot.

Floods of refused requests are not floods of log lines; a body that never
arrives does not hold its connection for ever; an answer to getUpdates with
no updates in it does not stop polling.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from test_webhook import SECRET, start_update, webhook_bot

from bot.channels.telegram import webhook

from fakebotapi import FakeBotAPI
from telegram_support import captured_log, running, say

USER = 3101


async def test_a_flood_of_wrong_secrets_is_a_line_a_minute(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    with captured_log([fake_api.token, SECRET]) as log:
        async with (
            webhook_bot(fake_api, tmp_path / "db.sqlite3") as url,
            aiohttp.ClientSession() as session,
        ):
            for n in range(2000):
                headers = {webhook.SECRET_HEADER: f"guess-{n}"}
                async with session.post(url, json=start_update(n), headers=headers) as r:
                    assert r.status == 403
            # and the right secret is still answered
            headers = {webhook.SECRET_HEADER: SECRET}
            async with session.post(url, json=start_update(9999), headers=headers) as r:
                assert r.status == 200
    refused = [line for line in log.getvalue().splitlines() if "refused" in line]
    assert len(refused) <= 2, refused
    assert "guess-" not in log.getvalue()


async def test_a_body_that_never_arrives_is_given_up(
    fake_api: FakeBotAPI, tmp_path: Path, monkeypatch
) -> None:
    """Fifty connections each sending half a body are closed after BODY_SECONDS; a real
    update meanwhile is answered at once."""
    monkeypatch.setattr(webhook, "BODY_SECONDS", 1.0)
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3") as url:
        parts = urlsplit(url)
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"{webhook.SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"update_id": '
        ).encode()
        streams = []
        for _ in range(50):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(head)
            await writer.drain()
            streams.append((reader, writer))
        async with aiohttp.ClientSession() as session:
            headers = {webhook.SECRET_HEADER: SECRET}
            async with asyncio.timeout(5):
                async with session.post(url, json=start_update(1), headers=headers) as r:
                    assert r.status == 200
        for reader, writer in streams:
            async with asyncio.timeout(5):
                answer = await reader.read(200)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            writer.close()


async def test_get_updates_without_updates_in_it_does_not_stop_polling(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Answers no Bot API should give: no result, a null result, ok false with status 200."""
    for body in ({"ok": True}, {"ok": True, "result": None}, {"ok": False}, {"result": []}):
        fake_api.answer_next("getUpdates", json.loads(json.dumps(body)))
    async with running(fake_api, tmp_path / "db.sqlite3"):
        await say(fake_api, USER, "/start plan")
        assert fake_api.chat(USER).texts, "polling went on after the odd answers"
