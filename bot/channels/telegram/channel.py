"""The Telegram channel: the engine's conversations over the Bot API.

Every update is handled the same way: read the chat's stored conversation,
decide the new state and the replies (pure), commit the state together with
the update's id, then send the replies. So a crash loses no answer, a
redelivered update changes nothing, and a reply that fails to send can be
had again with /start. Buttons carry only short indexes; a press counts
only on the message that carries the live question.

The bot is made of parts, a module each: ``intake`` (polling, the
webhook), ``turn`` (one update, from the chat's lock to its last reply,
with the outbox), ``admin`` (/reload, /stats) and ``files`` (the result's
PDF and picture); ``base`` holds what they share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.ext import AIORateLimiter, Application

from bot.channels.telegram.admin import Admin, Reloaded
from bot.channels.telegram.dialogue import (
    Advisor,
    CatalogHolder,
)
from bot.channels.telegram.files import Files
from bot.channels.telegram.intake import Intake
from bot.channels.telegram.transport import AiohttpRequest
from bot.channels.telegram.turn import POISON_DELIVERIES, Turn
from bot.channels.telegram.turns import ChatTurns
from bot.channels.telegram.wire import where
from bot.child_loader import load_in_child
from bot.flows.catalog import LoadReport
from bot.settings import Settings
from bot.store.conversations import Store

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from bot.channels.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)

__all__ = ["POISON_DELIVERIES", "CatalogHolder", "TelegramBot", "heartbeat_path"]

UPDATE_ID_SECONDS = 2 * 86400
"""How long an applied update's id is kept, to recognise Telegram's resends."""
STALE_POLL_SECONDS = 120.0
"""A poll loop that has not gone round for this long is stuck; the heartbeat stops."""


class TelegramBot(Intake, Turn, Admin, Files):
    """The python-telegram-bot Application around an ``Advisor`` and a store."""

    def __init__(
        self,
        settings: Settings,
        holder: CatalogHolder,
        store: Store,
        clock: Callable[[], float] = time.time,
        load_catalog: Callable[[], Awaitable[LoadReport]] | None = None,
    ) -> None:
        self.settings = settings
        self.load_catalog = load_catalog or load_in_child
        self.holder = holder
        self.store = store
        self.advisor = Advisor(holder, settings)
        self.clock = clock
        self._requests = (AiohttpRequest(), AiohttpRequest(pool_size=1, read_timeout=30))
        """The HTTP clients, closed by ``stop`` even when starting failed half way."""
        self.app = (
            Application.builder()
            .token(settings.token)
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            .rate_limiter(
                # Telegram's limits: 20 messages a minute in a group; about 30 a
                # second for bulk notifications, which this bot, replying to
                # people, paces only if ADVISOR_RATE_LIMIT asks; 429s are waited
                # out and retried either way (all calls pause meanwhile).
                # https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
                AIORateLimiter(
                    overall_max_rate=settings.rate_limit,
                    overall_time_period=1 if settings.rate_limit else 0,
                    max_retries=3,
                )
            )
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .updater(None)
            .build()
        )
        # Updates do not go through the Application's handlers: the bot takes
        # them itself (``poll``, the webhook) so that it confirms each only once
        # handled, and gives each chat its turn (``ChatTurns``).
        self.turns = ChatTurns()
        self.last_poll = time.monotonic()
        """When the poll loop last went round; the health check's heartbeat needs it recent."""
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()
        """Reloads running beside the updates; cancelled (their child killed) on stop."""
        self._webhook: WebhookServer | None = None  # set by start_webhook
        self._drawer: ProcessPoolExecutor | None = None
        self._files: dict[tuple[str, str], tuple[str, str]] = {}
        """Telegram's file ids of sent results, by result key and locale, oldest first."""
        self._sent_files: dict[tuple[int, str, str], float] = {}
        """When each chat was last sent each result's files (``Files.sent_lately``)."""
        self._reloading = asyncio.Lock()
        self._reload_asked = 0
        """Reloads asked for so far; ``_reload_began`` is how many the latest load covers."""
        self._reload_began = 0
        self._reload_outcome: Reloaded | None = None
        self._window = None
        """What the poll loop has in hand (``Intake.poll``); None until it starts."""
        self._failed: dict[int, tuple[int, int]] = {}
        """Update id to its deliveries that failed (as counted by ``Turn.handle``), and
        how many updates had been stored when it last failed."""
        self._stored = 0
        """Updates handled to the end so far, the evidence that the database works."""
        self.failed = False

    async def start(self) -> None:
        """Connect, register the command menu, and start taking updates."""
        await self.app.initialize()
        await self.register_commands()
        await self.app.start()
        if self.settings.webhook_url:
            await self.start_webhook()
        else:
            poll = asyncio.create_task(self.poll(), name="poll")
            poll.add_done_callback(self._poll_ended)
            self._tasks.append(poll)
        self._tasks.append(asyncio.create_task(self.housekeeping(), name="housekeeping"))

    def _poll_ended(self, task: asyncio.Task[None]) -> None:
        """A poll loop that ends by itself stops the bot, with a failing exit status,
        so that the container restarts it rather than idling healthy."""
        if task.cancelled() or self._stopping.is_set():
            return
        exc = task.exception()
        log.error("the poll loop ended (%s); stopping", where(exc) if exc else "returned")
        self.failed = True
        self._stopping.set()

    def taking_updates(self) -> bool:
        """Whether updates still arrive: the webhook serves, or the poll loop goes round."""
        if self._webhook is not None:
            return not self._stopping.is_set()
        poll = next((t for t in self._tasks if t.get_name() == "poll"), None)
        return (
            poll is not None
            and not poll.done()
            and time.monotonic() - self.last_poll < STALE_POLL_SECONDS
        )

    async def beat(self) -> None:
        """Touch the health check's heartbeat, only while updates are being taken."""
        if self.taking_updates():
            await asyncio.to_thread(_touch, heartbeat_path(self.settings.db_path))

    def request_stop(self) -> None:
        """Ask the bot to stop (from a signal handler); ``stopped`` then returns."""
        self._stopping.set()

    async def stopped(self) -> None:
        """Wait until a stop is requested or the bot cannot go on."""
        await self._stopping.wait()

    async def stop(self) -> None:
        """Let the updates in hand finish (briefly), then close everything.

        Each step runs even if one before it failed: a failure here must not
        leave a thread or a connection that keeps the process from exiting.
        """
        self._stopping.set()
        if self._webhook is not None:  # first: no new updates, and those in hand finish
            try:
                await self._webhook.stop()
            except Exception as exc:
                log.error("stopping the webhook failed (%s)", where(exc))
            self._webhook = None
        for task in [*self._tasks, *self._jobs]:
            task.cancel()
        for task in [*self._tasks, *self._jobs]:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                log.error("%s ended with %s", task.get_name(), where(exc))
        self._tasks.clear()
        try:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        except Exception as exc:
            log.error("closing the Bot API client failed (%s)", where(exc))
        for request in self._requests:  # python-telegram-bot skips them if getMe failed
            try:
                await request.shutdown()
            except Exception as exc:
                log.error("closing an HTTP session failed (%s)", where(exc))
        if self._drawer is not None:
            self._drawer.shutdown(wait=False, cancel_futures=True)
            self._drawer = None

    async def housekeeping(self) -> None:
        """Beat the health check's heartbeat and purge old conversations, every minute.

        The heartbeat comes first and alone: it says this process's loop takes
        updates, whatever the database does (the health check asks the
        database itself), so a database outage is reported as that.
        """
        while True:
            try:
                await self.beat()
            except Exception as exc:
                log.error("could not touch the heartbeat (%s)", where(exc))
            try:
                # Also reconnects the listener for other replicas' reloads if it dropped.
                await self.store.listen_reloads(self.reload_from_peer)
                cutoff = self.clock() - self.settings.retention_days * 86400
                # Telegram resends an update for at most a day; after a week without
                # updates it may start ids afresh, so an old id must not linger.
                # https://core.telegram.org/bots/api#getting-updates
                gone = await self.store.purge(cutoff, self.clock() - UPDATE_ID_SECONDS)
                if gone:
                    log.info("purged %d idle conversation(s)", gone)
            except Exception as exc:
                log.error("housekeeping failed (%s)", where(exc))
            await asyncio.sleep(60)


def heartbeat_path(db_path: Path) -> Path:
    """The file the running bot touches every minute, for the health check."""
    return db_path.with_name(db_path.name + ".heartbeat")


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
