"""python-telegram-bot's HTTP seam filled with aiohttp.

python-telegram-bot sends every Bot API call through a ``BaseRequest``; its
default, built on httpx, costs more CPU per call than the rest of handling
an update (see docs/operations.md for the profile). aiohttp parses HTTP in
C and keeps connections alive, so each call costs a fraction of that. The
seam is python-telegram-bot's own: nothing else in the bot changes.
https://docs.python-telegram-bot.org/en/stable/telegram.request.baserequest.html
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import Any

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.store import jsontext

log = logging.getLogger(__name__)

_STATUS: ContextVar[int | None] = ContextVar("bot_api_status", default=None)
"""The HTTP status of the call in hand, for ``parse_json_payload``, which PTB hands the
body alone. PTB parses in the same task that made the request, so it sees the value set
there, and concurrent calls (each its own task) never see each other's."""


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one aiohttp session with a bounded connection pool."""

    def __init__(
        self,
        *,
        pool_size: int = 32,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        write_timeout: float = 20.0,
        pool_timeout: float = 10.0,
    ) -> None:
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=pool + connect if pool is not None and connect is not None else None,
            sock_connect=connect,
            sock_read=read,
        )
        body: Any = None
        headers = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, part in files.items():
                    filename, content, mime = _file_part(part)
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
            else:
                # A JSON body, which the Bot API takes for every call without a
                # file: a fraction of the CPU of urlencoding a form (profile in
                # docs/operations.md).
                body = jsontext.dumps_bytes(request_data.parameters)
                headers = _JSON
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                payload = await response.read()
                _STATUS.set(response.status)
                if log.isEnabledFor(logging.DEBUG):
                    # The URL holds the token; the log formatter redacts it.
                    log.debug("%s %s -> %d", method, url, response.status)
                return response.status, payload
        except TimeoutError as exc:
            raise TimedOut from exc
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as exc:
            # The class name helps when the message is empty; URLs never appear
            # here, and logs are redacted anyway.
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """The Bot API's JSON answer; one that cannot be read is logged by size and status.

        PTB's own logs the whole body at ERROR and, for an error status, quotes
        it in the exception's message too; a getUpdates body holds people's
        names and what they wrote, so a truncated or garbled one put them in the
        log. Here the body is never logged nor quoted. An unreadable body with
        an error status parses as ``{}``, so PTB raises the usual error for the
        status (a 502 is still a ``NetworkError``, retried as before).
        """
        try:
            data = jsontext.loads(payload)
        except ValueError:
            status = _STATUS.get()
            log.warning(
                "the Bot API answered HTTP %s with %d bytes that are not JSON",
                status if status is not None else "(status unknown)",
                len(payload),
            )
            if status is not None and not 200 <= status <= 299:
                return {}
            raise TelegramError("Invalid server response") from None
        return data


_JSON = {"Content-Type": "application/json"}


def _given(value: Any, default: float | None) -> float | None:
    """A timeout the caller set, or ours; PTB marks 'not set' with a DefaultValue."""
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


def _file_part(part: Any) -> tuple[str | None, Any, str | None]:
    """(filename, content, mime type) from PTB's multipart tuple of 2 or 3 items."""
    if isinstance(part, tuple):
        filename = part[0] if len(part) > 0 else None
        content = part[1] if len(part) > 1 else b""
        mime = part[2] if len(part) > 2 else None
        return filename, content, mime
    return None, part, None
