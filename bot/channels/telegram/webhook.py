"""Telegram's webhook, answered only once the update's effect is committed.

Telegram redelivers a webhook update until it gets a 2xx answer. The
python-telegram-bot Updater answers as soon as the update is queued, so a
crash before the update was handled lost it. This server answers after the
handler returns, when the answer is stored, just as ``TelegramBot.poll``
asks for more updates only then. aiohttp is already the bot's HTTP client.
https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.channels.telegram.turns import NotApplied
from bot.store import jsontext

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

STOP_SECONDS = 5.0
"""How long stopping waits for updates in hand; Telegram resends any cut short."""
BODY_SECONDS = 10.0
"""How long a request's body may take to arrive. Telegram sends an update at once; a
client trickling a body (or sending half of one) would otherwise hold its connection,
and a thousand of them every file descriptor, for ever."""
REFUSED_LOG_SECONDS = 60.0
"""Refused requests are logged at most once in this long, with how many there were:
a flood of them must not become a flood of log lines."""

Handler = Callable[[Mapping[str, Any]], Awaitable[None]]
"""Handles one update (JSON) to the end: its effect stored, its replies sent.

Raises ``NotApplied`` if its effect was not stored."""


def served_path(url: str) -> str:
    """The path this server answers: the URL's last segment, behind any proxy prefix."""
    segments = [part for part in urlsplit(url).path.split("/") if part]
    return "/" + (segments[-1] if segments else "")


class WebhookServer:
    """One POST route; the secret token checked in constant time."""

    def __init__(self, handle: Handler, *, secret: str, path: str, listen: str, port: int) -> None:
        self._handle = handle
        self._secret = secret.encode()
        self._path = path
        self._listen = listen
        self._port = port
        self._runner: web.AppRunner | None = None
        self._refused = 0
        self._refused_logged = -REFUSED_LOG_SECONDS

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self._path, self._post)
        if self._path != "/":  # Telegram posts to the URL as given, slash or not
            app.router.add_post(self._path + "/", self._post)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=STOP_SECONDS
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._listen, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        """403 without the secret, 400 for a body that is no update, 503 if not applied.

        An update that python-telegram-bot cannot parse is logged and
        answered 200 by the handler: it would fail again on every resend.
        """
        if not hmac.compare_digest(_header_bytes(request.headers.get(SECRET_HEADER)), self._secret):
            self._refused += 1
            now = time.monotonic()
            if now - self._refused_logged >= REFUSED_LOG_SECONDS:
                log.warning(
                    "refused %d webhook request(s) without the right secret token "
                    "(logged at most once a minute)",
                    self._refused,
                )
                self._refused, self._refused_logged = 0, now
            return web.Response(status=403)
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body = await request.read()
        except TimeoutError:
            log.warning("refused a webhook request whose body did not arrive in time")
            return web.Response(status=408)
        try:
            data = jsontext.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
            log.warning("refused a webhook body that is not JSON (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            log.warning("refused a webhook body without an update_id")
            return web.Response(status=400, text="not an update")
        try:
            await self._handle(data)
        except NotApplied:
            return web.Response(status=503, text="not applied; send it again")
        return web.Response(status=200)


def _header_bytes(value: str | None) -> bytes:
    """A header as bytes, whatever it holds: aiohttp decodes header bytes that are not
    UTF-8 into surrogates, which a plain ``encode`` refuses."""
    return (value or "").encode("utf-8", "surrogateescape")
