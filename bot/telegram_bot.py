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
import html
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler, Updater

from bot import engine
from bot.catalog import Catalog, CompiledFlow
from bot.engine import Session, SessionError, Step
from bot.model import QuestionKind
from bot.render import Prompt, Renderer
from bot.settings import Settings
from bot.store import Applied, Conversation, SQLiteStore
from bot.telegram_format import split_messages, to_html
from bot.uitext import UI

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]
"""Rows of (label, callback data)."""

COMMANDS = {
    "start": UI.TELEGRAM_CMD_START,
    "help": UI.TELEGRAM_CMD_HELP,
    "back": UI.TELEGRAM_CMD_BACK,
    "restart": UI.TELEGRAM_CMD_RESTART,
    "summary": UI.TELEGRAM_CMD_SUMMARY,
    "privacy": UI.TELEGRAM_CMD_PRIVACY,
    "forget": UI.TELEGRAM_CMD_FORGET,
}
MAX_ATTEMPTS = 5
"""Tries at one update when another process wrote the same chat first."""


@dataclass(frozen=True, slots=True)
class Send:
    """A message to send; ``track`` makes it the one whose buttons are live."""

    text: str
    buttons: Buttons | None = None
    track: bool = False


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace a sent message's text and drop its keyboard (or set a new one)."""

    message_id: int
    text: str | None
    buttons: Buttons | None = None


@dataclass(slots=True)
class Plan:
    """What one update does: the state to store and the Bot API calls to make after."""

    conversation: Conversation
    sends: list[Send] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    callback_text: str | None = None
    forget: bool = False


class CatalogHolder:
    """The catalog being served; a reload swaps it whole."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog


class Advisor:
    """Turns one update and one stored conversation into a ``Plan``. No I/O."""

    def __init__(self, holder: CatalogHolder, settings: Settings) -> None:
        self.holder = holder
        self.settings = settings

    @property
    def catalog(self) -> Catalog:
        return self.holder.catalog

    def locale_for(self, conversation: Conversation, language_code: str | None) -> str:
        """The stored choice, else the app's language if we have it, else the default."""
        if conversation.locale in self.catalog.texts:
            return conversation.locale
        code = (language_code or "").split("-")[0].lower()
        return code if code in self.catalog.texts else self.catalog.default_locale

    # -- reading the stored state -------------------------------------------------

    def live(self, plan: Plan, words: Renderer, now: float) -> tuple[CompiledFlow, Session] | None:
        """The conversation's session fitted to today's flows; notices go into ``plan``."""
        conv = plan.conversation
        if conv.session is None:
            return None
        idle = now - conv.updated_at > self.settings.idle_hours * 3600
        try:
            stored = Session.from_json(conv.session)
        except SessionError:
            log.warning("dropping an unreadable session for a chat")
            stored = None
        flow = self.catalog.flows.get(stored.flow_id) if stored else None
        if idle or stored is None or flow is None:
            notice = (
                words.t(UI.TELEGRAM_EXPIRED, idle_hours=_hours(self.settings.idle_hours))
                if idle
                else words.t(UI.TELEGRAM_FLOW_GONE)
            )
            plan.sends.append(Send(notice))
            plan.conversation = replace(conv, session=None)
            return None
        session, changed = engine.resume(flow, stored)
        if changed:
            plan.sends.append(Send(words.t(UI.TELEGRAM_FLOW_CHANGED)))
        if session != stored:
            plan.conversation = replace(conv, session=session.to_json())
        return flow, session

    # -- building replies ---------------------------------------------------------

    def menu(self, words: Renderer, resumable: bool, greeting: bool) -> Send:
        rows: Buttons = []
        if resumable:
            rows.append([(words.t(UI.TELEGRAM_RESUME), "r")])
        for flow in self.catalog.flows.values():
            rows.append([(words.t(flow.model.title), f"f:{flow.id}")])
        text = words.t(UI.TELEGRAM_MENU)
        if greeting:
            text = f"{words.t(UI.TELEGRAM_WELCOME)}\n\n{text}"
        return Send(_escape(text), rows, track=True)

    def prompt_html(self, words: Renderer, prompt: Prompt) -> str:
        lines = [
            f"<b>{_escape(words.t(UI.QUESTION_NUMBER, number=prompt.number))}</b>",
            _escape(prompt.text),
        ]
        notes = list(prompt.notes)
        if prompt.kind is QuestionKind.MULTI:
            notes = [words.t(UI.TELEGRAM_TAP_DONE)]
        lines.extend(f"<i>{_escape(note)}</i>" for note in notes)
        return "\n".join(lines)

    def question(self, flow: CompiledFlow, session: Session, words: Renderer) -> Send:
        """The session's current question with its buttons."""
        prompt = words.prompt(flow, session)
        number = flow.questions[prompt.question_id].number
        rows: Buttons = []
        for index, (option_id, label) in enumerate(prompt.options):
            if prompt.kind is QuestionKind.MULTI:
                mark = "☑" if option_id in prompt.picked else "☐"
                rows.append([(f"{mark} {label}", f"t:{number}:{index}")])
            else:
                rows.append([(label, f"a:{number}:{index}")])
        last: list[tuple[str, str]] = []
        if session.history:
            last.append((words.t(UI.TELEGRAM_BACK), f"b:{number}"))
        if prompt.kind is QuestionKind.MULTI:
            last.append((words.t(UI.TELEGRAM_DONE), f"d:{number}"))
        if prompt.kind is QuestionKind.TEXT and prompt.optional:
            last.append((words.t(UI.TELEGRAM_SKIP), f"s:{number}"))
        if last:
            rows.append(last)
        return Send(self.prompt_html(words, prompt), rows, track=True)

    def answered(self, flow: CompiledFlow, before: Session, words: Renderer, plan: Plan) -> None:
        """Mark the question just answered on its message, without buttons."""
        conv = plan.conversation
        after = Session.from_json(conv.session) if conv.session else None
        if conv.prompt_message_id is None or before.question is None or after is None:
            return
        if before.question not in after.answers:
            plan.edits.append(Edit(conv.prompt_message_id, None))
            return
        question = flow.questions[before.question]
        prompt = words.prompt(flow, before)
        chosen = words.t(
            UI.TELEGRAM_CHOSEN, answer=words.answer_text(question, after.answers[question.id])
        )
        text = f"{self.prompt_html(words, prompt)}\n\n<b>{_escape(chosen)}</b>"
        plan.edits.append(Edit(conv.prompt_message_id, text))

    def result(self, flow: CompiledFlow, session: Session, words: Renderer) -> list[Send]:
        blocks = words.result(flow, engine.result(flow, session))
        messages = split_messages(to_html(blocks))
        sends = [Send(m) for m in messages[:-1]]
        buttons = [
            [(words.t(UI.TELEGRAM_AGAIN), "again")],
            [(words.t(UI.TELEGRAM_OTHER_FLOWS), "menu")],
        ]
        sends.append(Send(messages[-1], buttons, track=True))
        return sends

    def after_step(
        self, flow: CompiledFlow, before: Session, step: Step, words: Renderer, plan: Plan
    ) -> None:
        """Store the step's session and say what comes next, or why it was refused."""
        if step.problem is not None:
            hint = words.problem(flow, before, step.problem)
            if plan.callback_text is None and not plan.sends:
                plan.sends.append(Send(_escape(hint)))
            return
        session = step.session
        plan.conversation = replace(plan.conversation, session=session.to_json())
        self.answered(flow, before, words, plan)
        if session.finished:
            plan.conversation = replace(plan.conversation, last_result=session.to_json())
            plan.sends.extend(self.result(flow, session, words))
        else:
            plan.sends.append(self.question(flow, session, words))

    def start_flow(self, flow: CompiledFlow, words: Renderer, plan: Plan) -> None:
        session = engine.start(flow)
        plan.conversation = replace(plan.conversation, session=session.to_json())
        plan.sends.append(Send(f"<b>{_escape(words.t(flow.model.title))}</b>"))
        plan.sends.append(self.question(flow, session, words))

    def drop_keyboard(self, plan: Plan) -> None:
        if plan.conversation.prompt_message_id is not None:
            plan.edits.append(Edit(plan.conversation.prompt_message_id, None))

    # -- the update kinds ---------------------------------------------------------

    def on_command(
        self, plan: Plan, command: str, payload: str, words: Renderer, now: float
    ) -> None:
        live = self.live(plan, words, now)
        if command == "start":
            flow = self.catalog.flows.get(payload) if payload else None
            if payload and flow is None:
                plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_UNKNOWN_FLOW, flow=payload))))
            if flow is not None and live and live[0].id == flow.id and not live[1].finished:
                self.drop_keyboard(plan)
                plan.sends.append(self.question(flow, live[1], words))
            elif flow is not None:
                self.drop_keyboard(plan)
                self.start_flow(flow, words, plan)
            else:
                self.drop_keyboard(plan)
                resumable = live is not None and not live[1].finished
                plan.sends.append(
                    self.menu(words, resumable, greeting=plan.conversation.version == 0)
                )
        elif command == "help":
            text = words.t(UI.TELEGRAM_HELP)
            if live and not live[1].finished:
                question = engine.current(*live)
                if question and question.model.help:
                    text = f"{words.t(question.model.help)}\n\n{text}"
            plan.sends.append(Send(_escape(text)))
        elif command in ("back", "restart"):
            if live is None:
                plan.sends.append(self.menu(words, False, greeting=False))
                return
            flow, session = live
            if command == "restart":
                self.drop_keyboard(plan)
                self.start_flow(flow, words, plan)
                return
            step = engine.back(flow, session)
            if step.accepted:
                self.drop_keyboard(plan)
            self.after_back(flow, session, step, words, plan)
        elif command == "summary":
            self.summary(plan, words)
        elif command == "privacy":
            plan.sends.append(
                Send(
                    _escape(
                        words.t(
                            UI.TELEGRAM_PRIVACY,
                            idle_hours=_hours(self.settings.idle_hours),
                            retention_days=_hours(self.settings.retention_days),
                        )
                    )
                )
            )
        elif command == "forget":
            self.drop_keyboard(plan)
            buttons = [
                [(words.t(UI.TELEGRAM_FORGET_YES), "forget:yes")],
                [(words.t(UI.TELEGRAM_FORGET_NO), "forget:no")],
            ]
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_FORGET_CONFIRM)), buttons, True))
        else:
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_UNKNOWN_COMMAND))))

    def after_back(
        self, flow: CompiledFlow, before: Session, step: Step, words: Renderer, plan: Plan
    ) -> None:
        if step.problem is not None:
            plan.sends.append(Send(_escape(words.problem(flow, before, step.problem))))
            return
        plan.conversation = replace(plan.conversation, session=step.session.to_json())
        plan.sends.append(self.question(flow, step.session, words))

    def summary(self, plan: Plan, words: Renderer) -> None:
        stored = plan.conversation.last_result
        try:
            session = Session.from_json(stored) if stored else None
        except SessionError:
            session = None
        flow = self.catalog.flows.get(session.flow_id) if session else None
        if session is None or flow is None:
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_NO_SUMMARY))))
            return
        session, _ = engine.resume(flow, session)
        if not session.finished:
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_NO_SUMMARY))))
            return
        plan.sends.extend(
            replace(s, buttons=None, track=False) for s in self.result(flow, session, words)
        )

    def on_text(self, plan: Plan, text: str, words: Renderer, now: float) -> None:
        live = self.live(plan, words, now)
        if live is None or live[1].finished:
            if live is not None:
                plan.sends.append(Send(_escape(words.t(UI.HINT_FINISHED))))
            plan.sends.append(self.menu(words, False, greeting=plan.conversation.version == 0))
            return
        flow, session = live
        question = engine.current(flow, session)
        limit = (
            question.model.max_length
            if question and question.model.kind is QuestionKind.TEXT
            else 0
        )
        ceiling = max(limit, 1000)
        if len(text) > ceiling:
            plan.sends.append(
                Send(_escape(words.t(UI.TELEGRAM_TOO_LONG, length=len(text), limit=ceiling)))
            )
            return
        step = engine.answer(flow, session, text, words.locale, words.t(UI.COMMAND_SKIP))
        self.after_step(flow, session, step, words, plan)

    def on_press(
        self, plan: Plan, data: str, message_id: int | None, words: Renderer, now: float
    ) -> None:
        conv = plan.conversation
        if message_id is None or message_id != conv.prompt_message_id:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        live = self.live(plan, words, now)
        if data.startswith("f:"):
            flow = self.catalog.flows.get(data[2:])
            if flow is None:
                plan.callback_text = words.t(UI.TELEGRAM_STALE)
                return
            plan.edits.append(Edit(message_id, None))
            self.start_flow(flow, words, plan)
            return
        if data == "menu":
            plan.edits.append(Edit(message_id, None))
            plan.sends.append(self.menu(words, False, greeting=False))
            return
        if data == "forget:yes":
            plan.edits.append(Edit(message_id, None))
            plan.forget = True
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_FORGOTTEN))))
            return
        if data == "forget:no":
            plan.edits.append(Edit(message_id, None))
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_KEPT))))
            if live and not live[1].finished:
                plan.sends.append(self.question(*live, words))
            return
        if live is None:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        flow, session = live
        if data == "again":
            plan.edits.append(Edit(message_id, None))
            self.start_flow(flow, words, plan)
            return
        if data == "r":
            plan.edits.append(Edit(message_id, None))
            if session.finished:
                plan.sends.extend(self.result(flow, session, words))
            else:
                plan.sends.append(self.question(flow, session, words))
            return
        self.on_answer_press(plan, data, message_id, flow, session, words)

    def on_answer_press(
        self,
        plan: Plan,
        data: str,
        message_id: int,
        flow: CompiledFlow,
        session: Session,
        words: Renderer,
    ) -> None:
        question = engine.current(flow, session)
        kind, _, rest = data.partition(":")
        number_text, _, index_text = rest.partition(":")
        if question is None or number_text != str(question.number):
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        option_id = None
        if index_text.isdecimal() and int(index_text) < len(question.option_ids):
            option_id = question.option_ids[int(index_text)]
        if kind == "a" and option_id is not None:
            step = engine.choose(flow, session, option_id)
        elif kind == "t" and option_id is not None:
            step = engine.toggle(flow, session, option_id)
            if step.accepted:
                plan.conversation = replace(plan.conversation, session=step.session.to_json())
                again = self.question(flow, step.session, words)
                plan.edits.append(Edit(message_id, again.text, again.buttons))
            return
        elif kind == "d" and not index_text:
            step = engine.confirm(flow, session)
        elif kind == "s" and not index_text:
            step = engine.answer(
                flow, session, words.t(UI.COMMAND_SKIP), words.locale, words.t(UI.COMMAND_SKIP)
            )
        elif kind == "b" and not index_text:
            step = engine.back(flow, session)
            if step.accepted:
                plan.edits.append(Edit(message_id, None))
            self.after_back(flow, session, step, words, plan)
            return
        else:
            plan.callback_text = words.t(UI.TELEGRAM_STALE)
            return
        if step.problem is not None:
            plan.callback_text = words.problem(flow, session, step.problem)
            return
        self.after_step(flow, session, step, words, plan)


class TelegramBot:
    """The python-telegram-bot Application around an ``Advisor`` and a store."""

    def __init__(
        self,
        settings: Settings,
        holder: CatalogHolder,
        store: SQLiteStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.holder = holder
        self.store = store
        self.advisor = Advisor(holder, settings)
        self.clock = clock
        self.app = (
            Application.builder()
            .token(settings.token)
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
            .connect_timeout(10)
            .read_timeout(20)
            .write_timeout(20)
            .pool_timeout(10)
            .updater(None)
            .build()
        )
        self.app.add_handler(TypeHandler(Update, self.on_update))
        self.app.add_error_handler(self.on_error)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._webhook: Updater | None = None
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
            self._tasks.append(asyncio.create_task(self.poll(), name="poll"))
        self._tasks.append(asyncio.create_task(self.housekeeping(), name="housekeeping"))

    def request_stop(self) -> None:
        """Ask the bot to stop (from a signal handler); ``stopped`` then returns."""
        self._stopping.set()

    async def stopped(self) -> None:
        """Wait until a stop is requested or the bot cannot go on."""
        await self._stopping.wait()

    async def stop(self) -> None:
        """Finish the update in hand, then close everything."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._webhook is not None:
            await self._webhook.stop()
            await self._webhook.shutdown()
            self._webhook = None
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def register_commands(self) -> None:
        words = Renderer(self.holder.catalog, self.holder.catalog.default_locale)
        commands = [BotCommand(name, words.t(text)[:256]) for name, text in COMMANDS.items()]
        try:
            await self.app.bot.set_my_commands(commands)
        except TelegramError as exc:
            log.warning("could not register the command menu (%s); running on without it", exc)

    async def poll(self) -> None:
        """Long polling that confirms an update only after it has been handled.

        python-telegram-bot's Updater confirms a batch when it fetches the
        next one, before the batch is handled; a crash then would lose those
        updates. Here the offset moves past an update only once its effect
        is committed, so Telegram redelivers anything unfinished.
        https://core.telegram.org/bots/api#getupdates
        """
        bot = self.app.bot
        offset: int | None = None
        delay = 1.0
        with contextlib.suppress(TelegramError):
            await bot.delete_webhook(drop_pending_updates=False)
        while not self._stopping.is_set():
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=10,
                    allowed_updates=["message", "callback_query"],
                    read_timeout=20,
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
            for update in updates:
                await self.app.process_update(update)
                offset = update.update_id + 1

    async def start_webhook(self) -> None:
        """Serve Telegram's webhook; updates flow into the Application's queue.

        Telegram posts each update with the secret token header, and the
        Updater refuses requests without it.
        https://core.telegram.org/bots/api#setwebhook
        """
        url = self.settings.webhook_url or ""
        updater = Updater(self.app.bot, self.app.update_queue)
        await updater.initialize()
        await updater.start_webhook(
            listen=self.settings.webhook_listen,
            port=self.settings.webhook_port,
            url_path=url.rstrip("/").rsplit("/", 1)[-1] if "/" in url.split("://", 1)[-1] else "",
            webhook_url=url,
            secret_token=self.settings.webhook_secret,
            allowed_updates=["message", "callback_query"],
        )
        self._webhook = updater

    async def housekeeping(self) -> None:
        """Purge old conversations now and hourly; beat a heartbeat for the health check."""
        while True:
            try:
                cutoff = self.clock() - self.settings.retention_days * 86400
                gone = await self.store.purge(cutoff)
                if gone:
                    log.info("purged %d idle conversation(s)", gone)
                await asyncio.to_thread(_touch, heartbeat_path(self.settings.db_path))
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(60)

    # -- updates -----------------------------------------------------------------

    async def on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self.in_group(update, context)
            return
        for _ in range(MAX_ATTEMPTS):
            stored = await self.store.load(chat.id)
            plan = self.decide(update, stored)
            if plan is None:
                return
            outcome = await self.store.apply(update.update_id, plan.conversation, self.clock())
            if outcome is Applied.DUPLICATE:
                log.info("update %s was applied before; ignoring the copy", update.update_id)
                if update.callback_query:
                    await _answer(update.callback_query, None)
                return
            if outcome is Applied.APPLIED:
                await self.perform(update, plan, plan.conversation.version + 1)
                return
        log.warning("gave up on update %s after %d conflicts", update.update_id, MAX_ATTEMPTS)

    def decide(self, update: Update, stored: Conversation) -> Plan | None:
        """The plan for one private-chat update; None for updates the bot ignores."""
        user = update.effective_user
        assert user is not None  # checked by the caller
        advisor = self.advisor
        locale = advisor.locale_for(stored, user.language_code)
        conv = replace(stored, user_id=user.id, locale=stored.locale or locale)
        plan = Plan(conv)
        words = Renderer(advisor.catalog, locale)
        now = self.clock()
        query = update.callback_query
        message = update.message
        if query is not None:
            message_id = query.message.message_id if query.message else None
            advisor.on_press(plan, query.data or "", message_id, words, now)
        elif message is not None and message.text is not None:
            command = _command(message)
            if command is not None:
                advisor.on_command(plan, command[0], command[1], words, now)
            else:
                advisor.on_text(plan, message.text, words, now)
        elif message is not None:
            plan.sends.append(Send(_escape(words.t(UI.TELEGRAM_NON_TEXT))))
        else:
            return None
        return plan

    async def perform(self, update: Update, plan: Plan, version: int) -> None:
        """Make the plan's Bot API calls; state is already committed."""
        bot = self.app.bot
        chat = update.effective_chat
        assert chat is not None
        if update.callback_query is not None:
            await _answer(update.callback_query, plan.callback_text)
        for edit in plan.edits:
            try:
                if edit.text is None:
                    await bot.edit_message_reply_markup(chat.id, edit.message_id, reply_markup=None)
                else:
                    await bot.edit_message_text(
                        edit.text,
                        chat.id,
                        edit.message_id,
                        parse_mode=ParseMode.HTML,
                        reply_markup=_keyboard(edit.buttons),
                    )
            except BadRequest as exc:
                log.debug("could not edit message %s: %s", edit.message_id, exc)
            except TelegramError as exc:
                log.warning("could not edit message %s: %s", edit.message_id, exc)
        if plan.forget and update.effective_user is not None:
            await self.store.forget(update.effective_user.id)
        tracked: int | None = None
        for send in plan.sends:
            try:
                sent: Message = await bot.send_message(
                    chat.id,
                    send.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=_keyboard(send.buttons),
                )
            except Forbidden:
                log.info("the user blocked the bot; not sending")
                return
            except TelegramError as exc:
                log.warning("could not send a message (%s); the state is saved", exc)
                return
            if send.track:
                tracked = sent.message_id
        if tracked is not None and not plan.forget:
            await self.store.set_prompt(chat.id, tracked, version)

    async def in_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        link = f"https://t.me/{context.bot.username}"
        text = _escape(words.t(UI.TELEGRAM_GROUP, link=link))
        with contextlib.suppress(TelegramError):
            await message.reply_text(text, parse_mode=ParseMode.HTML)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)


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


def _keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _hours(value: float) -> str:
    return f"{value:g}"


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


async def serve(settings: Settings, catalog: Catalog) -> int:
    """Run the bot until SIGTERM or SIGINT, then shut down cleanly; the exit status."""
    store = await SQLiteStore.open(settings.db_path)
    bot = TelegramBot(settings, CatalogHolder(catalog), store)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, bot.request_stop)
    try:
        await bot.start()
        log.info("bot started (%s)", "webhook" if settings.webhook_url else "polling")
        await bot.stopped()
    finally:
        await bot.stop()
        await store.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("bot stopped")
    return 1 if bot.failed else 0
