"""Webhook mode: Telegram's secret token is required, and updates are handled as in polling."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.channels.telegram.webhook import served_path

from fakebotapi import FakeBotAPI
from support import Database, rows
from telegram_support import captured_log, running

USER = 3003


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SECRET = "s3cret-token"


@asynccontextmanager
async def webhook_bot(api: FakeBotAPI, db: Database, path: str = "/hook") -> AsyncIterator[str]:
    """The bot in webhook mode on a free local port; yields the URL Telegram posts to."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{path}"
    async with running(
        api,
        db,
        webhook_url=url,
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ):
        yield url


def start_update(update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "U", "language_code": "en"},
            "text": "/start plan",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_requires_the_secret_and_then_answers(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Posts without the right secret are refused with 403; with it, the bot replies."""
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3") as url:
        registered = fake_api.calls_of("setWebhook")[-1].params
        assert registered["url"] == url
        assert registered["secret_token"] == SECRET
        assert await fake_api.post_webhook(url, start_update(70001)) == 403
        assert await fake_api.post_webhook(url, start_update(70002), "wrong") == 403
        assert fake_api.calls_of("sendMessage") == []
        assert await fake_api.post_webhook(url, start_update(70003), SECRET) == 200
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendMessage" and c.ok for c in calls), timeout=10
        )
        await fake_api.wait_idle()
        reply = fake_api.last_message(USER)
        assert any((data or "") == "lang:en:plan" for _, data in reply.buttons()), (
            "first contact asks the language, keeping the deep link"
        )


async def test_webhook_answers_telegram_only_after_the_update_is_handled(
    fake_api: FakeBotAPI, database: Database
) -> None:
    """Telegram's 200 comes after the effect is stored and the reply sent, so a crash
    before then means Telegram delivers the update again: nothing is lost. On
    either store."""
    async with webhook_bot(fake_api, database) as url:
        fake_api.delay("sendMessage", 0.5)
        assert await fake_api.post_webhook(url, start_update(70011), SECRET) == 200
        assert [c.ok for c in fake_api.calls_of("sendMessage")] == [True]
        applied = rows(database, "SELECT update_id FROM applied_updates")
        chats = rows(database, "SELECT chat_id FROM conversations")
        assert applied == [(70011,)]
        assert chats == [(USER,)]


async def test_webhook_refuses_what_is_not_an_update(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """No update_id, or JSON nested absurdly deep: 400, and the bot goes on."""
    deep = b"[" * 100_000 + b"]" * 100_000
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3") as url:
        for body in ({"update_id": "x"}, {"update_id": True}):
            assert await fake_api.post_webhook(url, body, SECRET) == 400
        for raw in (b"[1]", b'"x"', b"\xff", b""):
            assert await post_raw(url, raw, SECRET.encode()) == 400
        assert await post_raw(url, deep, SECRET.encode()) == 400
        assert await post_raw(url, b"{" * 100_000, SECRET.encode()) == 400
        assert fake_api.calls_of("sendMessage") == []
        assert await fake_api.post_webhook(url, start_update(70031), SECRET) == 200


async def test_webhook_confirms_an_update_it_cannot_read(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """An update python-telegram-bot cannot parse is confirmed (it would fail on every
    resend), logged without its content, and the next update is answered."""
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3") as url:
        with captured_log([]) as logged:
            for body in (
                {"update_id": 1, "message": "secret words"},
                {"update_id": 2, "message": {"date": "x", "chat": [], "text": "secret words"}},
                {"update_id": 3, "callback_query": {"from": ["secret words"]}},
            ):
                assert await fake_api.post_webhook(url, body, SECRET) == 200
        assert "secret words" not in logged.getvalue()
        assert "cannot be read" in logged.getvalue()
        assert await fake_api.post_webhook(url, start_update(70041), SECRET) == 200
        assert fake_api.last_message(USER).buttons(), "a valid update is still answered"


async def test_webhook_refuses_a_secret_of_any_bytes(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """A secret header holding bytes that are not ASCII is refused with 403, not a 500."""
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3") as url:
        body = json.dumps(start_update(70051)).encode()
        for secret in (b"\xff\xfe", "s3cr\u00e9t".encode(), b"\xc3\x28", SECRET.encode() + b"\x80"):
            assert await post_raw(url, body, secret) == 403
        assert fake_api.calls_of("sendMessage") == []


async def post_raw(url: str, body: bytes, secret: bytes) -> int:
    """POST raw bytes with a raw secret header, as a hostile client could."""
    host, _, rest = url.removeprefix("http://").partition("/")
    name, _, port = host.partition(":")
    reader, writer = await asyncio.open_connection(name, int(port))
    head = (
        f"POST /{rest} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    writer.write(head + b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n\r\n" + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://bot.example.org/telegram", "/telegram"),
        ("https://bot.example.org/telegram/", "/telegram"),
        ("https://bot.example.org/proxy/telegram?x=1", "/telegram"),
        ("https://bot.example.org/", "/"),
        ("https://bot.example.org", "/"),
    ],
)
def test_served_path_is_the_urls_last_segment(url: str, path: str) -> None:
    assert served_path(url) == path


async def test_webhook_url_with_a_trailing_slash_is_served(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Telegram posts to the URL exactly as registered, slash included."""
    async with webhook_bot(fake_api, tmp_path / "db.sqlite3", "/hook/") as url:
        assert fake_api.calls_of("setWebhook")[-1].params["url"] == url
        assert await fake_api.post_webhook(url, start_update(70021), SECRET) == 200
        assert await fake_api.post_webhook(url[:-1], start_update(70022), SECRET) == 200
