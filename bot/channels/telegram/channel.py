"""The Telegram channel: the engine's conversations over the Bot API.

Every update is handled the same way: read the chat's stored conversation,
decide the new state and the replies (pure), commit the state together with
the update's id, then send the replies. So a crash loses no answer, a
redelivered update changes nothing, and a reply that fails to send can be
had again with /start. Buttons carry only short indexes; a press counts
only on the message that carries the live question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    CallbackQuery,
    InputFile,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application

from bot.advice import engine
from bot.advice.engine import Session, SessionError
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram import outbox
from bot.channels.telegram.dialogue import (
    COMMANDS,
    Advisor,
    Buttons,
    CatalogHolder,
    Keepsake,
    Plan,
    command_names,
    escape,
    relabel,
)
from bot.channels.telegram.html import split_messages
from bot.channels.telegram.transport import AiohttpRequest
from bot.channels.telegram.turns import ChatTurns, NotApplied
from bot.child_loader import load_in_child
from bot.flows.catalog import LoadReport
from bot.flows.findings import Severity
from bot.settings import Settings
from bot.store.conversations import Applied, ChatHeldElsewhere, Conversation, Store
from bot.store.usage import report, tally, transition_events

if TYPE_CHECKING:
    from bot.channels.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)

ADMIN_COMMANDS = frozenset({"reload", "stats"})
STORE_ATTEMPTS = 3
"""Tries at one update whose store failed (locked, I/O) before leaving it to a resend."""
POISON_DELIVERIES = 3
"""Deliveries of one update that failed while the database answered, before it is set
aside: confirmed unapplied, and the person told. Unconfirmed, it would come back for
ever, and the poll offset could never pass it (every chat would stop)."""
FAILED_KEPT = 1000
"""Failing update ids remembered at once, the oldest forgotten first."""
NO_CHAT = 0
"""A chat id Telegram never uses: reading it asks the database whether it answers."""
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
UPDATE_ID_SECONDS = 2 * 86400
"""How long an applied update's id is kept, to recognise Telegram's resends."""
STALE_POLL_SECONDS = 120.0

"""A poll loop that has not gone round for this long is stuck; the heartbeat stops."""
HANDOVER_SECONDS = 5.0

"""On stopping, how long updates in hand may take; Telegram resends any cut short."""
FILE_CACHE_SIZE = 1000
"""Results whose sent files are remembered; each is two short ids."""
DRAWER_NICENESS = 10
"""How far the drawing process steps back: a PDF may take a moment longer, but a
person waiting for the next question should not wait behind it for a core."""


class TelegramBot:
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
        self._reloading = asyncio.Lock()
        self._reload_asked = 0
        """Reloads asked for so far; ``_reload_began`` is how many the latest load covers."""
        self._reload_began = 0
        self._reload_outcome: _Reloaded | None = None
        self._failed: dict[int, int] = {}
        """Update id to its deliveries that failed while the database answered."""
        self.failed = False

    # -- lifecycle -----------------------------------------------------------------

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
        log.error("the poll loop ended (%s); stopping", _where(exc) if exc else "returned")
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
                log.error("stopping the webhook failed (%s)", _where(exc))
            self._webhook = None
        for task in [*self._tasks, *self._jobs]:
            task.cancel()
        for task in [*self._tasks, *self._jobs]:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                log.error("%s ended with %s", task.get_name(), _where(exc))
        self._tasks.clear()
        try:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        except Exception as exc:
            log.error("closing the Bot API client failed (%s)", _where(exc))
        for request in self._requests:  # python-telegram-bot skips them if getMe failed
            try:
                await request.shutdown()
            except Exception as exc:
                log.error("closing an HTTP session failed (%s)", _where(exc))
        if self._drawer is not None:
            self._drawer.shutdown(wait=False, cancel_futures=True)
            self._drawer = None

    async def register_commands(self) -> None:
        """The command menu in each language; Telegram shows the one matching the app.

        https://core.telegram.org/bots/api#setmycommands
        """
        catalog = self.holder.catalog
        for locale in catalog.locales:
            words = Renderer(catalog, locale)
            names = command_names(catalog, locale)
            commands = [BotCommand(names[c], words.t(text)[:256]) for c, text in COMMANDS.items()]
            language = None if locale == catalog.default_locale else locale
            try:
                await self.app.bot.set_my_commands(commands, language_code=language)
            except TelegramError as exc:
                log.warning("could not register the command menu (%s); running on without it", exc)
                return

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
                    await asyncio.sleep(_seconds(exc.retry_after))
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
                    if (update_id := _update_id(data)) is not None and window.is_new(update_id)
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
                log.error("could not touch the heartbeat (%s)", _where(exc))
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
                log.error("housekeeping failed (%s)", _where(exc))
            await asyncio.sleep(60)

    # -- updates -----------------------------------------------------------------

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
                "update %s cannot be read (%s); confirming it", _update_id(data), _where(exc)
            )
            return
        async with self.turns.turn(key, update.update_id):
            await self.handle(update)

    async def handle(self, update: Update) -> None:
        """Handle one update to the end, retrying a store that failed for a moment.

        Raises ``NotApplied`` if its effect could not be stored, unless this
        update has failed ``POISON_DELIVERIES`` times while the database
        answered: then it is set aside (see ``set_aside``).
        """
        delay = 0.1
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                await self.on_update(update)
                self._failed.pop(update.update_id, None)
                return
            except NotApplied:
                raise
            except ChatHeldElsewhere as exc:
                # Waited long already; another replica has the chat. Telegram resends.
                log.warning("update %s was not applied (%s)", update.update_id, exc)
                raise NotApplied(update.update_id) from exc
            except Exception as exc:
                if attempt == STORE_ATTEMPTS or self._stopping.is_set():
                    if not self._stopping.is_set() and await self._database_answers():
                        failures = self._failed.pop(update.update_id, 0) + 1
                        self._failed[update.update_id] = failures
                        while len(self._failed) > FAILED_KEPT:  # ids never seen again
                            self._failed.pop(next(iter(self._failed)))
                        if failures >= POISON_DELIVERIES:
                            await self.set_aside(update, exc)
                            return
                    log.error(
                        "update %s was not applied (%s); Telegram will send it again",
                        update.update_id,
                        _where(exc),
                    )
                    raise NotApplied(update.update_id) from exc
            await asyncio.sleep(delay)
            delay *= 4

    async def _database_answers(self) -> bool:
        """Whether the store reads at all: if it does, a failing update is at fault, not it."""
        try:
            await self.store.load(NO_CHAT)
        except Exception:
            return False
        return True

    async def set_aside(self, update: Update, exc: BaseException) -> None:
        """Give up on an update that can never be stored: log it, tell the person, confirm it.

        The log names the update id and the error's place, never the content.
        """
        self._failed.pop(update.update_id, None)
        log.error(
            "update %s set aside after %d failed deliveries (%s); confirming it unapplied",
            update.update_id,
            POISON_DELIVERIES,
            _where(exc),
        )
        chat = update.effective_chat
        user = update.effective_user
        if update.callback_query is not None:
            await _answer(update.callback_query, None)
        if chat is None:
            return
        locale = self.advisor.locale_for(Conversation(0), user.language_code if user else None)
        text = Renderer(self.holder.catalog, locale).t(UI.TELEGRAM_SET_ASIDE)
        await self.quietly("sendMessage", chat_id=chat.id, text=escape(text))

    async def on_update(self, update: Update) -> None:
        """Decide, store, then send. Store failures propagate: the update is not applied."""
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self.in_group(update)
            return
        if user.id != chat.id:
            # In a private chat only its person can write or press; anything else
            # is forged, and must not touch their conversation.
            log.warning(
                "update %s: a sender who is not the private chat's person", update.update_id
            )
            if update.callback_query is not None:
                await _answer(update.callback_query, None)
            return

        message = update.message
        command = _command(message) if message is not None else None
        if command is not None and command[0] in ADMIN_COMMANDS:
            # Once per update, whichever replica it reaches and however often.
            if await self.store.claim(update.update_id, chat.id, self.clock()):
                await self.admin(update, command[0], command[1])
            else:
                log.info("update %s was applied before; ignoring the copy", update.update_id)
            return
        # Held against other processes sharing the database (PostgreSQL's chat
        # lock) from the read to the replies, so replicas take the chat in turn.
        async with self.store.serialised(chat.id):
            backoff = 0.01
            while True:
                stored = await self.store.load(chat.id)
                try:
                    plan = self.decide(update, stored)
                    if plan is None:
                        return
                    events = plan.events + transition_events(
                        self.holder.catalog,
                        _session(stored.session),
                        _session(plan.conversation.session),
                    )
                except Exception as exc:  # a pure step failed: it would fail again on a resend
                    log.error(
                        "update %s could not be handled (%s); confirming it",
                        update.update_id,
                        _where(exc),
                    )
                    return
                if plan.forget:
                    # The forget is the update's whole effect, in one transaction
                    # with its update id: done exactly once, even across a crash.
                    await self.store.forget(user.id, update.update_id, self.clock())
                    await self.perform(update, plan, None)
                    return
                replies = outbox.encode(plan)
                outcome = await self.store.apply(
                    update.update_id, plan.conversation, self.clock(), events, replies
                )
                if outcome is Applied.DUPLICATE:
                    await self.redeliver(update, stored)
                    return
                if outcome is Applied.APPLIED:
                    version = plan.conversation.version + 1
                    try:
                        await self.perform(update, plan, version, settle=replies is not None)
                    except Exception as exc:  # stored already: a resend would change nothing
                        log.error(
                            "update %s is stored but its replies failed (%s)",
                            update.update_id,
                            _where(exc),
                        )
                    return
                # Another process wrote this chat first: read it again and decide anew.
                # Within this process a chat's updates take turns, so this is rare.
                if self._stopping.is_set():
                    raise NotApplied(update.update_id)
                await asyncio.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, 1.0)

    def decide(self, update: Update, stored: Conversation) -> Plan | None:
        """The plan for one private-chat update; None for updates the bot ignores."""
        user = update.effective_user
        assert user is not None  # checked by the caller
        advisor = self.advisor
        catalog = advisor.catalog
        chosen = stored.locale if stored.locale in catalog.texts else None
        app = advisor.app_locale(user.language_code)
        # A Welsh app means Welsh at once; anyone else is asked, Welsh first.
        # A stored chat without a locale is waiting on the language question.
        if stored.version == 0:
            chosen = chosen or (app if app != catalog.default_locale else None)
        ask = chosen is None and len(catalog.texts) > 1
        locale = chosen or catalog.default_locale
        plan = Plan(replace(stored, user_id=user.id, locale=None if ask else locale))
        words = Renderer(catalog, locale)
        now = self.clock()
        query = update.callback_query
        message = update.message
        if query is not None and (query.data or "").startswith("lang:"):
            message_id = query.message.message_id if query.message else None
            advisor.on_language(plan, query.data or "", message_id, now)
        elif ask and message is not None:
            command = _command(message) if message.text else None
            named = advisor.command_id(command[0]) if command is not None else None
            if named == "summary" and stored.last_result is None:
                # Nothing is stored (a first contact, or after /forget): there
                # is no result to show, and no reason to ask for a language.
                plan.sends.append(advisor.in_every_language(UI.TELEGRAM_NO_SUMMARY))
                return plan
            if command is None and message.text and stored.prompt_message_id is not None:
                advisor.on_language_text(plan, _storable(message.text), now)
                return plan
            payload = command[1] if command and command[0] == "start" else ""
            plan.sends.append(
                advisor.language_question(payload if payload in catalog.flows else "")
            )
        elif query is not None:
            message_id = query.message.message_id if query.message else None
            advisor.on_press(plan, query.data or "", message_id, words, now)
        elif message is not None and message.text is not None:
            command = _command(message)
            if command is not None:
                advisor.on_command(plan, advisor.command_id(command[0]), command[1], words, now)
            else:
                advisor.on_text(plan, _storable(message.text), words, now)
        elif message is not None:
            advisor.on_other(plan, words)
        else:
            return None
        return plan

    async def redeliver(self, update: Update, stored: Conversation) -> None:
        """A copy of an applied update: send its replies if a crash kept them from going.

        ``stored`` was read before the copy was recognised; the chat is held
        (``serialised``, and this process's turns), so it is current.
        """
        chat = update.effective_chat
        assert chat is not None
        if stored.outbox is None or stored.outbox_update != update.update_id:
            log.info("update %s was applied before; ignoring the copy", update.update_id)
            if update.callback_query:
                await _answer(update.callback_query, None)
            return
        log.info("update %s was applied before; sending its replies now", update.update_id)
        plan = outbox.decode(stored, self.holder.catalog)
        await self.perform(update, plan, stored.version, settle=True)

    async def perform(
        self, update: Update, plan: Plan, version: int | None, *, settle: bool = False
    ) -> None:
        """Make the plan's Bot API calls; state is already committed.

        Then, at ``version`` (None: nothing is stored, as after /forget),
        the outbox is cleared if ``settle`` and the live question's message
        remembered; whatever happened to the sends, as none will be retried.
        """
        tracked = await self._send_replies(update, plan)
        if version is not None and (settle or tracked is not None):
            await self._settle(update, version, tracked)

    async def _settle(self, update: Update, version: int, tracked: int | None) -> None:
        """Record that the replies went, retrying a store that fails for a moment.

        Without it the newest question's buttons would answer "That question
        has moved on", and a copy of the update would send its replies again.
        """
        chat = update.effective_chat
        assert chat is not None
        delay = 0.1
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                await self.store.settle(chat.id, version, tracked)
                return
            except Exception as exc:
                if attempt == STORE_ATTEMPTS:
                    log.error(
                        "update %s: the sent replies could not be recorded (%s)",
                        update.update_id,
                        _where(exc),
                    )
                    return
            await asyncio.sleep(delay)
            delay *= 4

    async def _send_replies(self, update: Update, plan: Plan) -> int | None:
        """The answer to a press, the edits, the files and the messages; the id of the
        message that carries the live buttons, if one was sent."""
        chat = update.effective_chat
        assert chat is not None
        if update.callback_query is not None:
            await _answer(update.callback_query, plan.callback_text)
        for edit in plan.edits:
            try:
                if edit.text is None:
                    await self.call(
                        "editMessageReplyMarkup",
                        chat_id=chat.id,
                        message_id=edit.message_id,
                        reply_markup=_keyboard(edit.buttons),
                    )
                else:
                    await self.call(
                        "editMessageText",
                        chat_id=chat.id,
                        message_id=edit.message_id,
                        text=edit.text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=_keyboard(edit.buttons),
                    )
            except BadRequest as exc:
                log.debug("could not edit message %s: %s", edit.message_id, exc)
            except TelegramError as exc:
                log.warning("could not edit message %s: %s", edit.message_id, exc)

        if plan.keepsake is not None:
            query = update.callback_query
            shown = query.message if query is not None else None
            await self.send_keepsake(chat.id, plan.keepsake, shown)
        tracked: int | None = None
        for send in plan.sends:
            try:
                sent = await self.call(
                    "sendMessage",
                    chat_id=chat.id,
                    text=send.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=_keyboard(send.buttons),
                )
            except Forbidden:
                log.info("the user blocked the bot; not sending")
                return tracked
            except TelegramError as exc:
                log.warning("could not send a message (%s); the state is saved", exc)
                await self.tell_not_delivered(chat.id, plan)
                return tracked
            if send.track:
                tracked = sent["message_id"]
        return tracked

    async def tell_not_delivered(self, chat_id: int, plan: Plan) -> None:
        """Say that a reply did not arrive and how to have it again (/summary)."""
        locale = plan.conversation.locale or self.holder.catalog.default_locale
        text = Renderer(self.holder.catalog, locale).t(UI.TELEGRAM_NOT_DELIVERED)
        with contextlib.suppress(TelegramError):
            await self.call("sendMessage", chat_id=chat_id, text=escape(text))

    async def call(self, method: str, **params: Any) -> Any:
        """A Bot API call whose answer stays JSON.

        The bot reads only ``message_id`` from what Telegram returns; turning
        each reply into python-telegram-bot objects was a fifth of the CPU per
        update in the profile. The call still goes through the rate limiter.
        """
        params = {k: v for k, v in params.items() if v is not None}
        # Bot API method names are case-insensitive; the capitalised name
        # tells python-telegram-bot this call means to skip its typed twin.
        # https://core.telegram.org/bots/api#making-requests
        return await self.app.bot.do_api_request(method[0].upper() + method[1:], api_kwargs=params)

    async def admin(self, update: Update, command: str, argument: str) -> None:
        """/reload and /stats: for configured admins only, and every attempt audited."""
        user = update.effective_user
        message = update.message
        assert user is not None
        assert message is not None
        words = Renderer(
            self.holder.catalog, self.advisor.locale_for(Conversation(0), user.language_code)
        )
        if user.id not in self.settings.admin_ids:
            # Recorded without the person's id: they are no admin, and the audit
            # log keeps admins' rows for good (docs/operations.md, Retention).
            await self.store.audit(None, command, "denied", self.clock())
            await self.reply(message, words.t(UI.ADMIN_DENIED))
            return
        if command == "reload":
            # Beside the updates: the poll loop takes them one at a time, and
            # checking the flows takes about a second.
            self.in_background(self.reload_and_reply(user.id, message, words))
            return
        days = float(argument) if _is_number(argument) else 30.0
        rows = await self.store.events_since(self.clock() - days * 86400)
        text = report(tally(rows), days, words)
        await self.store.audit(user.id, command, f"ok ({days:g} days)", self.clock())
        await self.reply(message, text)

    def in_background(self, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` beside the updates; a failure is logged, never lost silently."""

        def done(task: asyncio.Task[None]) -> None:
            self._jobs.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("reload failed", exc_info=task.exception())

        task = asyncio.create_task(job)
        self._jobs.add(task)
        task.add_done_callback(done)

    async def reload_and_reply(self, user_id: int, message: Message, words: Renderer) -> None:
        """/reload from an admin: reload, audit it, and tell them how it went."""
        text, result = await self.reload(words)
        await self.store.audit(user_id, "reload", result, self.clock())
        await self.reply(message, text)

    async def reload(self, words: Renderer, announce: bool = True) -> tuple[str, str]:
        """Re-read flows and texts; swap them in only if they load without errors.

        Conversations carry on: each is fitted to the new flows at its next
        update (``engine.resume``), keeping every answer that still fits.
        With ``announce``, a reload that succeeded is announced to the other
        replicas sharing the database, which then reload too.

        Requests coalesce: one load runs at a time, and every request made
        while it runs is answered by the next load, which starts after all of
        them. Thirty SIGHUPs or /reloads at once make two loads, not thirty
        child processes of a few hundred megabytes each.
        """
        self._reload_asked += 1
        asked = self._reload_asked
        async with self._reloading:
            if self._reload_began < asked:  # no load began since this request: run one
                self._reload_began = self._reload_asked
                self._reload_outcome = await self._load_and_swap(announce)
        outcome = self._reload_outcome
        assert outcome is not None
        if outcome.problems is not None:
            problems = outcome.problems
            listed = "\n".join(problems[:15])
            more = len(problems) - 15
            if more > 0:
                listed += f"\n(+{more})"
            text = words.t(UI.ADMIN_REFUSED, count=len(problems), findings=listed)
            return text, f"refused: {len(problems)} error(s)"
        text = words.t(
            UI.ADMIN_RELOADED, flows=outcome.flows, texts=outcome.texts, warnings=outcome.warnings
        )
        return text, f"ok: {outcome.flows} flow(s), {outcome.warnings} warning(s)"

    async def _load_and_swap(self, announce: bool) -> _Reloaded:
        loaded = await self.load_catalog()
        problems = [f for f in loaded.findings if f.severity is Severity.ERROR]
        if loaded.catalog is None or problems:
            log.warning("reload refused: %d error(s)", len(problems))
            return _Reloaded(problems=[str(f) for f in problems])
        self.holder.catalog = loaded.catalog
        self._files.clear()  # a reworded text changes the files, not the flow's version
        await self.register_commands()  # the command names come from the texts too
        log.info("reloaded %d flow(s)", len(loaded.catalog.flows))
        if announce:
            try:
                await self.store.announce_reload()
            except Exception as exc:
                log.warning("could not tell the other replicas about the reload (%s)", exc)
        return _Reloaded(
            flows=len(loaded.catalog.flows),
            texts=sum(len(t) for t in loaded.catalog.texts.values()),
            warnings=len(loaded.findings),
        )

    def reload_on_signal(self) -> None:
        """SIGHUP: reload in the background and audit it as the operator's action."""

        async def job() -> None:
            words = Renderer(self.holder.catalog, self.holder.catalog.default_locale)
            _, result = await self.reload(words)
            await self.store.audit(None, "reload (SIGHUP)", result, self.clock())

        self.in_background(job())

    async def reload_from_peer(self) -> None:
        """Another replica reloaded (after /reload or SIGHUP there): read the same files."""
        words = Renderer(self.holder.catalog, self.holder.catalog.default_locale)
        _, result = await self.reload(words, announce=False)
        log.info("reloaded on another replica's notice: %s", result)

    async def reply(self, message: Message, text: str) -> None:
        for part in split_messages([escape(text)]):
            try:
                await message.reply_text(part, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                log.warning("could not send a reply (%s)", exc)
                return

    async def send_keepsake(
        self, chat_id: int, keepsake: Keepsake, shown: MaybeInaccessibleMessage | None
    ) -> None:
        """The result as a PDF and a picture: made once, off the event loop, then re-sent.

        The pressed button says "Making your PDF…" until the files are sent;
        Telegram's file ids are kept, so a repeat press uploads nothing.
        https://core.telegram.org/bots/api#sending-files
        """
        words = Renderer(self.holder.catalog, keepsake.locale)
        buttons = _buttons(shown)
        message_id = shown.message_id if shown is not None else None
        if buttons and message_id is not None:
            busy = relabel(buttons, keepsake.pressed, words.t(UI.REPORT_MAKING))
            await self.quietly(
                "editMessageReplyMarkup",
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=_keyboard(busy),
            )
        # cosmetic: never in the way of the file
        await self.quietly("sendChatAction", chat_id=chat_id, action=ChatAction.UPLOAD_DOCUMENT)
        try:
            await self.send_files(chat_id, keepsake, words)
        except Exception as exc:
            if isinstance(exc, TelegramError):
                log.warning("could not send the result files (%s)", exc)
            else:
                log.error("could not make the result files (%s)", _where(exc))
            await self.quietly(
                "sendMessage", chat_id=chat_id, text=escape(words.t(UI.REPORT_FAILED))
            )
        finally:
            if buttons and message_id is not None:
                await self.quietly(
                    "editMessageReplyMarkup",
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=_keyboard(buttons),
                )

    async def send_files(self, chat_id: int, keepsake: Keepsake, words: Renderer) -> None:
        """Send the files from Telegram's copies if sent before, else build and upload them."""
        cache_key = (keepsake.key, keepsake.locale)
        caption = words.t(UI.REPORT_CAPTION)[:1024]
        sent = self._files.get(cache_key)
        if sent is not None:
            await self.call("sendDocument", chat_id=chat_id, document=sent[0], caption=caption)
            await self.call("sendPhoto", chat_id=chat_id, photo=sent[1])
            return
        from bot.results.report import draw, result_page

        flow, session = keepsake.flow, keepsake.session
        page = result_page(self.holder.catalog, flow, session, keepsake.locale)
        pdf, picture = await asyncio.get_running_loop().run_in_executor(self.drawer(), draw, page)
        name = f"{flow.id}-{engine.result(flow, session).level.value}"
        bot = self.app.bot
        document = await bot.send_document(
            chat_id, InputFile(pdf, filename=f"{name}.pdf"), caption=caption
        )
        photo = await bot.send_photo(chat_id, InputFile(picture, filename=f"{name}.png"))
        if document.document is not None and photo.photo:
            self._files[cache_key] = (document.document.file_id, photo.photo[-1].file_id)
            while len(self._files) > FILE_CACHE_SIZE:
                self._files.pop(next(iter(self._files)))

    def drawer(self) -> ProcessPoolExecutor:
        """The process that draws result files, started at the first PDF.

        Drawing holds the GIL for most of a second; in a thread it slowed
        every other chat's replies (bench/pdfs.py). In a process of its own
        it runs on another core, at a lower priority than the replies.
        Spawned, not forked: this process has threads.
        """
        if self._drawer is not None and getattr(self._drawer, "_broken", False):
            # A crashed drawer fails every later job; its successor starts afresh.
            self._drawer.shutdown(wait=False, cancel_futures=True)
            self._drawer = None
        if self._drawer is None:
            self._drawer = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,
                initargs=(DRAWER_NICENESS,),
            )
        return self._drawer

    async def quietly(self, method: str, **params: Any) -> None:
        """A call whose failure only matters to the log (a progress label, a notice)."""
        try:
            await self.call(method, **params)
        except TelegramError as exc:
            log.debug("%s failed: %s", method, exc)

    async def in_group(self, update: Update) -> None:
        """Groups get a pointer to a private chat; nothing about them is stored."""
        message = update.message
        if update.callback_query is not None:
            await _answer(update.callback_query, None)
            return
        if message is None or _command(message) is None:
            return
        language = message.from_user.language_code if message.from_user else None
        locale = self.advisor.locale_for(Conversation(0), language)
        words = Renderer(self.holder.catalog, locale)
        link = f"https://t.me/{self.app.bot.username}"
        text = escape(words.t(UI.TELEGRAM_GROUP, link=link))
        with contextlib.suppress(TelegramError):
            await message.reply_text(text, parse_mode=ParseMode.HTML)


@dataclass(frozen=True, slots=True)
class _Reloaded:
    """What one load of the flows came to, worded for each admin who asked."""

    problems: list[str] | None = None
    """The errors that refused it; None if it was swapped in."""
    flows: int = 0
    texts: int = 0
    warnings: int = 0


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


def _update_id(data: object) -> int | None:
    """An update's id, if it has one worth the name."""
    if isinstance(data, dict):
        update_id = data.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            return update_id
    return None


def _where(exc: BaseException) -> str:
    """An exception's type and where it was raised, never its message.

    Messages can quote what a person wrote (a ``KeyError`` of their answer),
    and the logs promise none of that.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(text: str) -> str:
    """A message's text as it can be stored: a lone surrogate (which JSON may carry,
    but no database encoding can hold) becomes U+FFFD. Otherwise that answer could
    never be saved, and its update would come back for ever."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def _session(stored: object) -> Session | None:
    if not isinstance(stored, dict):
        return None
    try:
        return Session.from_json(stored)
    except SessionError:
        return None


def _is_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _command(message: Message) -> tuple[str, str] | None:
    """``("start", "plan")`` for ``/start plan`` or ``/start@bot plan``; None if not a command."""
    text = message.text or ""
    if not text.startswith("/"):
        return None
    head, _, payload = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, payload.strip()


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Every press must be answered, or the button spins for the person."""
    try:
        await query.answer(text[:200] if text else None)
    except TelegramError as exc:
        log.debug("could not answer a button press: %s", exc)


def _keyboard(buttons: Buttons | None) -> dict[str, Any] | None:
    """An inline keyboard as the Bot API's JSON.
    https://core.telegram.org/bots/api#inlinekeyboardmarkup
    """
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]
    }


def _buttons(message: MaybeInaccessibleMessage | None) -> Buttons:
    """The inline keyboard a message shows, as rows of (label, callback data)."""
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return []
    return [
        [(button.text, button.callback_data) for button in row if button.callback_data]
        for row in markup.inline_keyboard
    ]


def _seconds(value: object) -> float:
    try:
        return float(value.total_seconds())  # type: ignore[attr-defined]
    except AttributeError:
        return float(value)  # type: ignore[arg-type]


def heartbeat_path(db_path: Path) -> Path:
    """The file the running bot touches every minute, for the health check."""
    return db_path.with_name(db_path.name + ".heartbeat")


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
