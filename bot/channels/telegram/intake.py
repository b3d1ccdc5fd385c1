"""Taking updates: long polling and the webhook, each update confirmed only once handled.

The poll loop moves Telegram's offset only past updates whose effect is
stored and replies sent; the webhook answers a POST only then. Either way
each update is parsed alone, waits for its chat's turn, and goes to
``Turn.handle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import Any

from telegram import (
    Update,
)
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.channels.telegram.base import BotBase
from bot.channels.telegram.wire import (
    seconds,
    update_id_of,
    where,
)

log = logging.getLogger(__name__)

POLL_SECONDS = 10
"""How long one getUpdates waits for news when nothing is in hand."""
IN_HAND_REPOLL_SECONDS = (0.05, 0.5)
"""How long the poll loop waits, while an update is still being handled, before
asking for new ones: the first wait, doubling up to the last while nothing new
comes. Telegram answers at once then (the unfinished update comes
back, since it is not confirmed), so the loop cannot long-poll; waiting half a
second instead held every other chat's next message for up to that long while
one person's PDF was drawn (p99 252 ms in bench.pdfs). A few cheap calls a
second, only while something slow is in hand, cost less than that; the backing
off keeps an update stuck for long (a queue of PDFs, a store retrying) from
asking twenty times a second."""
POLL_LIMIT = 100
"""Updates taken at once; each waits for its chat's turn, chats side by side."""
HANDOVER_SECONDS = 5.0
"""On stopping, how long updates in hand may take; Telegram resends any cut short."""


class Intake(BotBase):
    """The intake of ``TelegramBot``: where updates come from."""

    async def poll(self) -> None:
        """Long polling that confirms an update only after it has been handled.

        python-telegram-bot's Updater confirms a batch when it fetches the
        next one, before the batch is handled; a crash then would lose those
        updates. Here each update of a batch waits for its chat's turn
        (``ChatTurns``), chats side by side, and the offset moves only up to
        the lowest update not yet handled, so Telegram redelivers anything
        unfinished. Updates come as JSON and are parsed one by one, so one
        that cannot be parsed is logged and confirmed instead of ending the
        loop. https://core.telegram.org/bots/api#getupdates
        """
        delay = 1.0
        repoll = IN_HAND_REPOLL_SECONDS[0]
        window = _PollWindow()
        with contextlib.suppress(TelegramError):
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        try:
            while not self._stopping.is_set():
                self.last_poll = time.monotonic()
                window.settle()
                try:
                    batch = await self.call(
                        "getUpdates",
                        offset=window.offset(),
                        # With updates in hand Telegram answers at once, with them
                        # again; so do not wait for more then (see below).
                        timeout=0 if window.in_hand else POLL_SECONDS,
                        allowed_updates=["message", "callback_query"],
                        limit=POLL_LIMIT,
                        read_timeout=POLL_SECONDS + 10,
                    )
                    delay = 1.0
                except InvalidToken:
                    log.error("Telegram refused the bot token; stopping")
                    self.failed = True
                    self._stopping.set()
                    return
                except RetryAfter as exc:
                    await asyncio.sleep(seconds(exc.retry_after))
                    continue
                except TelegramError as exc:
                    log.warning("getUpdates failed (%s); retrying in %.0f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                except Exception as exc:  # an answer no Bot API should give (no "result")
                    log.warning(
                        "getUpdates gave an answer that is no list of updates (%s); "
                        "retrying in %.0f s",
                        type(exc).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                fresh = [
                    (update_id, data)
                    for data in (batch if isinstance(batch, list) else ())
                    if (update_id := update_id_of(data)) is not None and window.is_new(update_id)
                ]
                for update_id, data in fresh:
                    window.take(update_id, self.handle_json(data))
                if fresh:
                    repoll = IN_HAND_REPOLL_SECONDS[0]
                elif window.in_hand:
                    # Only updates already in hand came back: wait a moment for one
                    # of them to finish rather than asking again at once.
                    await asyncio.wait(
                        window.in_hand.values(),
                        timeout=repoll,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    repoll = min(repoll * 2, IN_HAND_REPOLL_SECONDS[1])
        finally:
            await self._finish_polling(window)

    async def _finish_polling(self, window: _PollWindow) -> None:
        """Let updates in hand finish briefly, then confirm what was handled."""
        if window.in_hand:
            await asyncio.wait(window.in_hand.values(), timeout=HANDOVER_SECONDS)
        for task in window.in_hand.values():
            task.cancel()
        if window.in_hand:
            await asyncio.wait(window.in_hand.values())
        window.settle()
        offset = window.offset()
        if offset is not None:
            # Confirmed now, so that a restart does not see them again; anything
            # not handled stays with Telegram.
            with contextlib.suppress(TelegramError, TimeoutError):
                await asyncio.wait_for(
                    self.call("getUpdates", offset=offset, timeout=0, limit=1), 2
                )

    async def start_webhook(self) -> None:
        """Serve Telegram's webhook, then tell Telegram where it is.

        Each update is handled before Telegram gets its answer, so one a
        crash interrupts is delivered again (``bot.channels.telegram.webhook``).
        """
        # Imported here: aiohttp's server side is 2 MB a polling bot does without.
        from bot.channels.telegram.webhook import WebhookServer, served_path

        url = self.settings.webhook_url or ""
        server = WebhookServer(
            self.handle_json,
            secret=self.settings.webhook_secret or "",
            path=served_path(url),
            listen=self.settings.webhook_listen,
            port=self.settings.webhook_port,
        )
        await server.start()
        self._webhook = server
        await self.app.bot.set_webhook(
            url,
            secret_token=self.settings.webhook_secret,
            allowed_updates=["message", "callback_query"],
        )

    async def handle_json(self, data: Mapping[str, Any]) -> None:
        """One update as Telegram sent it: parsed, then handled in its chat's turn.

        One that cannot be parsed is logged, without its content, and
        confirmed: it would fail the same way each time Telegram resent it.
        Raises ``NotApplied`` if the update's effect was not stored; the
        caller must then not confirm it.
        """
        try:
            update = Update.de_json(dict(data), self.app.bot)
            chat = update.effective_chat
            user = update.effective_user
            # python-telegram-bot takes ids as they come; ours must be numbers.
            for thing in (chat, user):
                if thing is not None and type(thing.id) is not int:
                    raise TypeError("an id that is not a whole number")
            key: object = chat.id if chat is not None else ("update", update.update_id)
        except Exception as exc:  # whatever the parser raises, the bot goes on
            log.warning(
                "update %s cannot be read (%s); confirming it", update_id_of(data), where(exc)
            )
            return
        async with self.turns.turn(key, update.update_id):
            await self.handle(update)


class _PollWindow:
    """The updates the poll loop has taken and not yet confirmed to Telegram.

    getUpdates' ``offset`` confirms every update below it, so it may move only
    up to the lowest update still in hand; updates above that which are
    already handled are remembered, so that a redelivered copy is not taken
    twice. An update whose handling failed is neither: Telegram sends it again.
    """

    def __init__(self) -> None:
        self.in_hand: dict[int, asyncio.Task[None]] = {}
        self.handled: set[int] = set()
        self.failed: set[int] = set()
        self.highest: int | None = None

    def is_new(self, update_id: int) -> bool:
        """Neither in hand nor handled, and not below what was confirmed."""
        if update_id in self.in_hand or update_id in self.handled:
            return False
        offset = self.offset()
        return offset is None or update_id >= offset or update_id in self.failed

    def take(self, update_id: int, job: Coroutine[Any, Any, None]) -> None:
        self.failed.discard(update_id)
        self.in_hand[update_id] = asyncio.create_task(job, name=f"update {update_id}")
        self.highest = update_id if self.highest is None else max(self.highest, update_id)

    def settle(self) -> None:
        """Move finished updates to handled (or failed), and forget confirmed ones."""
        for update_id, task in list(self.in_hand.items()):
            if task.done():
                del self.in_hand[update_id]
                ok = not task.cancelled() and task.exception() is None
                (self.handled if ok else self.failed).add(update_id)
        offset = self.offset()
        if offset is not None:
            self.handled = {u for u in self.handled if u >= offset}

    def offset(self) -> int | None:
        """The next getUpdates offset: the lowest update not yet handled."""
        unfinished = [*self.in_hand, *self.failed]
        if unfinished:
            return min(unfinished)
        return None if self.highest is None else self.highest + 1
