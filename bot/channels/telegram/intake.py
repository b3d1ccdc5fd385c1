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
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.channels.telegram.base import BotBase
from bot.channels.telegram.incoming import parse
from bot.channels.telegram.wire import (
    seconds,
    update_id_of,
    where,
)
from bot.store import jsontext

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
MAX_IN_HAND = 50
"""The most updates the poll loop takes from Telegram to handle at once; the rest
wait with Telegram, unconfirmed, and are asked for as these finish. One core
handles them no faster for holding more: taking every update offered, a bot
under load held hundreds, each with its parsed update, stored session and
replies being built, and at 500 users peaked 13 MB above a bare
python-telegram-bot bot, against 9 MB with fifty in hand, at no more CPU per
update (docs/operations.md). A slow update (a PDF being drawn, a reply
waiting out a 429) takes one place of the fifty; updates waiting behind
another of their own chat take none (up to fifty of them), so one person
tapping on during a PDF holds up nobody else. (Updates the inbox kept over a
restart, and stored ones tried again, are handled whatever the count.)"""
RETRY_SECONDS = (1.0, 10.0)
"""The first pause before a stored update that failed is tried again, and the longest:
the pause doubles each time (Telegram, keeping it, would have resent it too)."""
HANDOVER_SECONDS = 5.0
"""On stopping, how long updates in hand may take; Telegram resends any cut short."""


class Intake(BotBase):
    """The intake of ``TelegramBot``: where updates come from."""

    async def poll(self) -> None:
        """Long polling with an inbox: an update is confirmed once it is stored.

        python-telegram-bot's Updater confirms a batch when it fetches the
        next one, before the batch is handled; a crash then would lose those
        updates. Here each batch is first written to the store's inbox (one
        statement), and only then confirmed by the next getUpdates' offset, so
        Telegram forgets it while the bot still has it: a restart handles what
        the inbox holds. That lets every getUpdates long-poll for new updates
        instead of fetching, again and again, the ones still being handled.
        Each update waits for its chat's turn (``ChatTurns``), chats side by
        side; once handled it leaves the inbox at once (one statement for all
        that finished meanwhile). One that fails while stored is tried again here after a
        pause, as Telegram would have resent it. If the inbox cannot be written
        (the database is down), the offset waits at the lowest update not yet
        handled, and Telegram keeps and resends the rest, as before the inbox.
        Updates come as JSON and are parsed one by one, so one that cannot be
        parsed is logged and confirmed instead of ending the loop.
        https://core.telegram.org/bots/api#getupdates
        """
        delay = 1.0
        repoll = IN_HAND_REPOLL_SECONDS[0]
        window = self._window = PollWindow(self.handle_json, self._clear_inbox)
        with contextlib.suppress(TelegramError):
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        try:
            await self._take_inbox(window)
            while not self._stopping.is_set():
                self.last_poll = time.monotonic()
                await self._settle_window(window)
                room = await self._room(window)
                if room <= 0:
                    # Enough in hand: the rest waits with Telegram, unconfirmed, rather
                    # than in this process's memory (see MAX_IN_HAND). The loop still
                    # goes round now and then, as the health check expects of it.
                    await asyncio.wait(
                        window.in_hand.values(),
                        timeout=POLL_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                try:
                    batch = await self.call(
                        "getUpdates",
                        offset=window.offset(),
                        # With unstored updates in hand Telegram answers at once, with
                        # them again; so do not wait for more then (see below).
                        timeout=0 if window.unstored_in_hand() else POLL_SECONDS,
                        allowed_updates=["message", "callback_query"],
                        # From the offset Telegram sends again those not yet confirmed;
                        # they take no place, so ask for that many more.
                        limit=min(POLL_LIMIT, room + window.known_from(window.offset())),
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
                taken = await self._take(window, batch)
                del batch  # not kept through the next long poll: the window has what it needs
                if taken:
                    repoll = IN_HAND_REPOLL_SECONDS[0]
                elif window.unstored_in_hand():
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

    def idle(self) -> bool:
        """Whether polling has no update in hand or waiting to be tried again.

        Telegram cannot tell: an update kept in the inbox is confirmed before
        it is handled. Health checks and tests that wait for the bot to settle
        ask this.
        """
        window = self._window
        return window is None or window.idle()

    async def _take_inbox(self, window: PollWindow) -> None:
        """Updates a stop or a crash left in the inbox: handled before any new one."""
        try:
            kept = await self.store.received()
        except Exception as exc:  # the database is down: Telegram still has what matters
            log.warning("could not read the inbox (%s); going on without it", where(exc))
            return
        for update_id, body in kept:
            try:
                data = jsontext.loads(body)
            except ValueError:
                window.finished.append(update_id)
                continue
            if window.is_new(update_id):
                window.take(update_id, data, stored=True)
        if kept:
            log.info("handling %d update(s) kept in the inbox", len(kept))

    async def _room(self, window: PollWindow) -> int:
        """Places free for new updates (``MAX_IN_HAND``). Updates just taken first reach
        their chat's turn, so that those waiting behind another of their own chat,
        which take no place, are known."""
        await asyncio.sleep(0)
        # At most as many again: a flood from one chat must not come in whole.
        return MAX_IN_HAND - len(window.in_hand) + min(self.turns.waiting(), MAX_IN_HAND)

    async def _take(self, window: PollWindow, batch: object) -> bool:
        """Keep the updates of a getUpdates answer not yet seen, and start each; whether
        there were any."""
        fresh = [
            (update_id, data)
            for data in (batch if isinstance(batch, list) else ())
            if (update_id := update_id_of(data)) is not None and window.is_new(update_id)
        ]
        stored = await self._keep(fresh)
        for update_id, data in fresh:
            window.take(update_id, data, stored=stored)
        return bool(fresh)

    async def _keep(self, fresh: list[tuple[int, Mapping[str, Any]]]) -> bool:
        """Write fetched updates to the inbox; False if they could not be, so that
        Telegram keeps them (the offset then waits for them to be handled)."""
        if not fresh:
            return True
        try:
            await self.store.receive(
                [(u, jsontext.dumps(d)) for u, d in fresh],
                self.clock(),
            )
        except Exception as exc:
            if self._window is not None and not self._window.unreachable:
                log.warning(
                    "could not keep updates in the inbox (%s); Telegram keeps them until "
                    "the database answers again (said once until then)",
                    where(exc),
                )
            if self._window is not None:
                self._window.unreachable = True
            return False
        if self._window is not None and self._window.unreachable:
            self._window.unreachable = False
            log.info("the inbox is written again")
            self._window.retry_now()  # the database is back: what waits goes now
        return True

    async def _settle_window(self, window: PollWindow) -> None:
        """Move finished updates on, and take the handled ones out of the inbox."""
        window.settle(time.monotonic())
        await self._clear_inbox()

    async def _clear_inbox(self) -> None:
        """Take handled updates out of the inbox: all that finished meanwhile, in one
        statement, as soon as they finish (the poll loop may be long-polling)."""
        window = self._window
        while window is not None and window.finished:
            # Taken whole before the await: two clearings at once (this and the poll
            # loop's) must never both count the same ids, nor drop ids added meanwhile.
            finished, window.finished = window.finished, []
            try:
                await self.store.done(finished)
            except Exception as exc:  # cleared next round; were the bot to stop first, the
                # next start would handle them again, and copies change nothing
                window.finished[:0] = finished
                log.debug("could not clear handled updates from the inbox (%s)", where(exc))
                return

    async def _finish_polling(self, window: PollWindow) -> None:
        """Let updates in hand finish briefly, then confirm what was handled."""
        window.stop()
        if window.in_hand:
            await asyncio.wait(window.in_hand.values(), timeout=HANDOVER_SECONDS)
        for task in window.in_hand.values():
            task.cancel()
        if window.in_hand:
            await asyncio.wait(window.in_hand.values())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._settle_window(window), 2)
        offset = window.offset()
        if offset is not None:
            # Confirmed now, so that a restart does not see them again; anything
            # not handled stays with Telegram, or in the inbox.
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
            update = parse(data)
        except Exception as exc:  # whatever the parser raises, the bot goes on
            log.warning(
                "update %s cannot be read (%s); confirming it", update_id_of(data), where(exc)
            )
            return
        chat = update.effective_chat
        key: object = chat.id if chat is not None else ("update", update.update_id)
        async with self.turns.turn(key, update.update_id):
            await self.handle(update)


class PollWindow:
    """The updates the poll loop has taken, and what getUpdates may confirm.

    getUpdates' ``offset`` confirms every update below it. An update kept in
    the inbox (``stored``) may be confirmed at once; one that is not may be
    confirmed only once handled, so the offset moves only up to the lowest
    such update still unfinished. Handled updates above the offset are
    remembered, so that a redelivered copy is not taken twice. A stored update
    whose handling failed is tried again after a pause, here, as Telegram
    would have resent it; one not stored is left to Telegram.
    """

    def __init__(
        self,
        handle: Callable[[Mapping[str, Any]], Coroutine[Any, Any, None]],
        clear: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._handle = handle
        self._clear = clear
        self._clearing: asyncio.Task[None] | None = None
        self.in_hand: dict[int, asyncio.Task[None]] = {}
        self.stored: dict[int, Mapping[str, Any]] = {}
        """The data of the updates in hand, or waiting to be tried again, that the inbox holds."""
        self.pauses: dict[int, float] = {}
        """The pause before each stored update that failed is tried again; it doubles."""
        self.retries: dict[int, asyncio.TimerHandle] = {}
        self.handled: set[int] = set()
        self.failed: set[int] = set()
        self.finished: list[int] = []
        """Stored updates handled since the inbox was last cleared."""
        self.highest: int | None = None
        self.unreachable = False
        """The inbox could not be written last time (the database is down)."""

    def is_new(self, update_id: int) -> bool:
        """Neither in hand, kept for a retry, nor handled, and not below what was confirmed."""
        if update_id in self.in_hand or update_id in self.handled or update_id in self.stored:
            return False
        offset = self.offset()
        return offset is None or update_id >= offset or update_id in self.failed

    def take(self, update_id: int, data: Mapping[str, Any], *, stored: bool) -> None:
        """Handle ``update_id``; ``stored`` if the inbox holds it."""
        self.failed.discard(update_id)
        if stored:
            self.stored[update_id] = data
        task = asyncio.create_task(self._handle(data), name=f"update {update_id}")
        self.in_hand[update_id] = task
        task.add_done_callback(lambda done: self._ended(update_id, done))
        self.highest = update_id if self.highest is None else max(self.highest, update_id)

    def _ended(self, update_id: int, task: asyncio.Task[None]) -> None:
        """A stored update that failed is tried again after its pause, without waiting for
        the poll loop, which may be long-polling."""
        if update_id not in self.stored:
            return
        if not task.cancelled() and task.exception() is None:
            # Handled at once, not at the next ``settle``: left in hand but no longer
            # stored, it would count as unconfirmed and pull the offset back to it,
            # and Telegram would resend every update above it.
            del self.stored[update_id]
            if self.in_hand.get(update_id) is task:
                del self.in_hand[update_id]
                self.handled.add(update_id)
            self.pauses.pop(update_id, None)
            self.finished.append(update_id)
            if self._clearing is None or self._clearing.done():
                self._clearing = asyncio.get_running_loop().create_task(self._clear())
            return
        if task.cancelled():  # stopping: the inbox keeps it for the next start
            return
        if self.in_hand.get(update_id) is task:
            del self.in_hand[update_id]  # waiting now, not in hand
        pause = self.pauses.get(update_id, RETRY_SECONDS[0])
        self.pauses[update_id] = min(pause * 2, RETRY_SECONDS[1])
        self.retries[update_id] = asyncio.get_running_loop().call_later(
            pause, self._again, update_id
        )

    def _again(self, update_id: int) -> None:
        self.retries.pop(update_id, None)
        data = self.stored.get(update_id)
        if data is not None and update_id not in self.in_hand:
            self.take(update_id, data, stored=True)

    def settle(self, now: float) -> None:
        """Move finished updates to handled or failed; forget confirmed ones."""
        for update_id, task in list(self.in_hand.items()):
            if not task.done():
                continue
            del self.in_hand[update_id]
            if not task.cancelled() and task.exception() is None:
                self.handled.add(update_id)
            elif update_id not in self.stored:  # a stored one waits for its retry (``_ended``)
                self.failed.add(update_id)
        offset = self.offset()
        if offset is not None:
            self.handled = {u for u in self.handled if u >= offset}

    def retry_now(self) -> None:
        """Try every waiting update again at once, lowest first (the database is back)."""
        for update_id in sorted(self.retries):
            self.retries.pop(update_id).cancel()
            self.pauses.pop(update_id, None)
            self._again(update_id)

    def idle(self) -> bool:
        """Nothing in hand and nothing waiting to be tried again."""
        return not self.retries and all(task.done() for task in self.in_hand.values())

    def stop(self) -> None:
        """Cancel the retries: the inbox keeps their updates for the next start."""
        for handle in self.retries.values():
            handle.cancel()
        self.retries.clear()

    def known_from(self, offset: int | None) -> int:
        """How many updates at or above ``offset`` the loop already has (in hand, handled
        or waiting to be tried again): a getUpdates from ``offset`` returns them too."""
        if offset is None:
            return 0
        return sum(1 for u in {*self.in_hand, *self.handled, *self.stored} if u >= offset)

    def unstored_in_hand(self) -> bool:
        return any(u not in self.stored for u in self.in_hand)

    def offset(self) -> int | None:
        """The next getUpdates offset: past all that is stored or handled, up to the
        lowest update not stored and not yet handled."""
        unfinished = [u for u in (*self.in_hand, *self.failed) if u not in self.stored]
        if unfinished:
            return min(unfinished)
        return None if self.highest is None else self.highest + 1
