"""One update's turn: hold the chat, decide, commit with the outbox, send, settle.

The decision is pure (``dialogue.Advisor``); the commit writes the new
conversation, the update's id, its usage events and its replies in one
statement; the replies are sent after, and recorded as sent. A store that
fails for a moment is retried; an update that can never be stored is set
aside; a redelivered copy sends what a crash kept from going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import replace

from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram import outbox
from bot.channels.telegram.admin import ADMIN_COMMANDS
from bot.channels.telegram.base import BotBase
from bot.channels.telegram.dialogue import (
    Edit,
    Plan,
    Send,
    escape,
)
from bot.channels.telegram.incoming import Incoming
from bot.channels.telegram.turns import NotApplied
from bot.channels.telegram.wire import (
    command_of,
    keyboard,
    reply_to,
    session_of,
    storable,
    where,
)
from bot.store.conversations import Applied, ChatHeldElsewhere, Conversation
from bot.store.usage import transition_events

log = logging.getLogger(__name__)

STORE_ATTEMPTS = 3
"""Tries at one update whose store failed (locked, I/O) before leaving it to a resend."""
POISON_DELIVERIES = 3
"""Deliveries of one update that failed while the database answered, before it is set
aside: confirmed unapplied, and the person told. Unconfirmed, it would come back for
ever, and the poll offset could never pass it (every chat would stop)."""
FAILED_KEPT = 1000
"""Failing update ids remembered at once, the oldest forgotten first."""


class Turn(BotBase):
    """The turn of ``TelegramBot``: what one update does, from the chat's lock to its last reply."""

    async def handle(self, update: Incoming) -> None:
        """Handle one update to the end, retrying a store that failed for a moment.

        Raises ``NotApplied`` if its effect could not be stored, unless this
        update has failed ``POISON_DELIVERIES`` times while other updates were
        stored between its failures: then the fault is the update's, not the
        database's, and it is set aside (see ``set_aside``). While nothing can
        be stored (an outage, a full disk), nothing is ever set aside.
        """
        delay = 0.1
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                await self.on_update(update)
                self._failed.pop(update.update_id, None)
                self._stored += 1
                return
            except NotApplied:
                raise
            except ChatHeldElsewhere as exc:
                # Waited long already; another replica has the chat. Telegram resends.
                log.warning("update %s was not applied (%s)", update.update_id, exc)
                raise NotApplied(update.update_id) from exc
            except Exception as exc:
                if attempt == STORE_ATTEMPTS or self._stopping.is_set():
                    if not self._stopping.is_set() and self._counts_against(update.update_id):
                        await self.set_aside(update, exc)
                        return
                    log.error(
                        "update %s was not applied (%s); Telegram will send it again",
                        update.update_id,
                        where(exc),
                    )
                    raise NotApplied(update.update_id) from exc
            await asyncio.sleep(delay)
            delay *= 4

    def _counts_against(self, update_id: int) -> bool:
        """Record a failed delivery; True once ``POISON_DELIVERIES`` are the update's fault.

        A failure counts only if other updates were stored since this one last
        failed: the database works, for others. The first always counts.
        """
        failures, stored_then = self._failed.pop(update_id, (0, -1))
        if self._stored > stored_then:
            failures += 1
        self._failed[update_id] = (failures, self._stored)
        while len(self._failed) > FAILED_KEPT:  # ids never seen again
            self._failed.pop(next(iter(self._failed)))
        return failures >= POISON_DELIVERIES

    async def set_aside(self, update: Incoming, exc: BaseException) -> None:
        """Give up on an update that can never be stored: log it, tell the person, confirm it.

        The log names the update id and the error's place, never the content.
        """
        self._failed.pop(update.update_id, None)
        log.error(
            "update %s set aside after %d failed deliveries (%s); confirming it unapplied",
            update.update_id,
            POISON_DELIVERIES,
            where(exc),
        )
        chat = update.effective_chat
        user = update.effective_user
        if update.callback_query is not None:
            await self.answer_press(update.callback_query)
        if chat is None:
            return
        locale = self.advisor.locale_for(Conversation(0), user.language_code if user else None)
        text = Renderer(self.holder.catalog, locale).t(UI.TELEGRAM_SET_ASIDE)
        await self.quietly("sendMessage", chat_id=chat.id, text=escape(text))

    async def on_update(self, update: Incoming) -> None:
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
                await self.answer_press(update.callback_query)
            return

        message = update.message
        command = command_of(message) if message is not None else None
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
                        session_of(stored.session),
                        session_of(plan.conversation.session),
                    )
                except Exception as exc:  # a pure step failed: it would fail again on a resend
                    log.error(
                        "update %s could not be handled (%s); confirming it",
                        update.update_id,
                        where(exc),
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
                            where(exc),
                        )
                    return
                # Another process wrote this chat first: read it again and decide anew.
                # Within this process a chat's updates take turns, so this is rare.
                if self._stopping.is_set():
                    raise NotApplied(update.update_id)
                await asyncio.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, 1.0)

    def decide(self, update: Incoming, stored: Conversation) -> Plan | None:
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
            command = command_of(message) if message.text else None
            named = advisor.command_id(command[0]) if command is not None else None
            if named == "summary" and stored.last_result is None:
                # Nothing is stored (a first contact, or after /forget): there
                # is no result to show, and no reason to ask for a language.
                plan.sends.append(advisor.in_every_language(UI.TELEGRAM_NO_SUMMARY))
                return plan
            if command is None and message.text and stored.prompt_message_id is not None:
                advisor.on_language_text(plan, storable(message.text), now)
                return plan
            payload = command[1] if command and command[0] == "start" else ""
            plan.sends.append(
                advisor.language_question(payload if payload in catalog.flows else "")
            )
        elif query is not None:
            message_id = query.message.message_id if query.message else None
            advisor.on_press(plan, query.data or "", message_id, words, now)
        elif message is not None and message.text is not None:
            command = command_of(message)
            if command is not None:
                advisor.on_command(plan, advisor.command_id(command[0]), command[1], words, now)
            else:
                advisor.on_text(plan, storable(message.text), words, now)
        elif message is not None:
            advisor.on_other(plan, words)
        else:
            return None
        return plan

    async def redeliver(self, update: Incoming, stored: Conversation) -> None:
        """A copy of an applied update: send its replies if a crash kept them from going.

        ``stored`` was read before the copy was recognised; the chat is held
        (``serialised``, and this process's turns), so it is current.
        """
        chat = update.effective_chat
        assert chat is not None
        if stored.outbox is None or stored.outbox_update != update.update_id:
            log.info("update %s was applied before; ignoring the copy", update.update_id)
            if update.callback_query:
                await self.answer_press(update.callback_query)
            return
        log.info("update %s was applied before; sending its replies now", update.update_id)
        plan = outbox.decode(stored, self.holder.catalog)
        await self.perform(update, plan, stored.version, settle=True)

    async def perform(
        self, update: Incoming, plan: Plan, version: int | None, *, settle: bool = False
    ) -> None:
        """Make the plan's Bot API calls; state is already committed.

        Then, at ``version`` (None: nothing is stored, as after /forget),
        the outbox is cleared if ``settle`` and the live question's message
        remembered; whatever happened to the sends, as none will be retried.
        """
        tracked = await self._send_replies(update, plan)
        if version is not None and (settle or tracked is not None):
            await self._settle(update, version, tracked)

    async def _settle(self, update: Incoming, version: int, tracked: int | None) -> None:
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
                        where(exc),
                    )
                    return
            await asyncio.sleep(delay)
            delay *= 4

    async def _send_replies(self, update: Incoming, plan: Plan) -> int | None:
        """The answer to a press, the edits, the files and the messages; the id of the
        message that carries the live buttons, if one was sent."""
        chat = update.effective_chat
        assert chat is not None
        keepsake = plan.keepsake
        if update.callback_query is not None:
            told = plan.callback_text
            if keepsake is not None and self.sent_lately(chat.id, keepsake):
                # The same files moments ago: say where they are, send nothing again.
                told = Renderer(self.holder.catalog, keepsake.locale).t(UI.REPORT_SENT_ABOVE)
                keepsake = None
            await self.answer_press(update.callback_query, told)
        sends = list(plan.sends)
        for edit in plan.edits:
            if not await self._edit(chat.id, edit) and edit.fallback:
                # The only copy of a question or a result: it must reach the person.
                sends.insert(0, Send(edit.text or "", edit.buttons, edit.track))

        if keepsake is not None:
            query = update.callback_query
            shown = query.message if query is not None else None
            await self.send_keepsake(chat.id, keepsake, shown)
        tracked: int | None = None
        for send in sends:
            try:
                sent = await self.call(
                    "sendMessage",
                    chat_id=chat.id,
                    text=send.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(send.buttons),
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

    async def _edit(self, chat_id: int, edit: Edit) -> bool:
        """Make one edit; False if the message could not be edited (deleted, too old).

        "Not modified" counts as done: the message already says it, as when
        the same hint is earned twice.
        """
        try:
            if edit.text is None:
                await self.call(
                    "editMessageReplyMarkup",
                    chat_id=chat_id,
                    message_id=edit.message_id,
                    reply_markup=keyboard(edit.buttons),
                )
            else:
                await self.call(
                    "editMessageText",
                    chat_id=chat_id,
                    message_id=edit.message_id,
                    text=edit.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(edit.buttons),
                )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.debug("could not edit message %s: %s", edit.message_id, exc)
            return False
        except TelegramError as exc:
            log.warning("could not edit message %s: %s", edit.message_id, exc)
            return False
        return True

    async def tell_not_delivered(self, chat_id: int, plan: Plan) -> None:
        """Say that a reply did not arrive and how to have it again (/summary)."""
        locale = plan.conversation.locale or self.holder.catalog.default_locale
        text = Renderer(self.holder.catalog, locale).t(UI.TELEGRAM_NOT_DELIVERED)
        with contextlib.suppress(TelegramError):
            await self.call("sendMessage", chat_id=chat_id, text=escape(text))

    async def in_group(self, update: Incoming) -> None:
        """Groups get a pointer to a private chat; nothing about them is stored."""
        message = update.message
        if update.callback_query is not None:
            await self.answer_press(update.callback_query)
            return
        if message is None or command_of(message) is None:
            return
        language = message.from_user.language_code if message.from_user else None
        locale = self.advisor.locale_for(Conversation(0), language)
        words = Renderer(self.holder.catalog, locale)
        link = f"https://t.me/{self.app.bot.username}"
        text = escape(words.t(UI.TELEGRAM_GROUP, link=link))
        with contextlib.suppress(TelegramError):
            await self.call("sendMessage", text=text, **reply_to(message))
