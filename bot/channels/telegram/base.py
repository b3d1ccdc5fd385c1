"""What every part of the Telegram channel shares: its state, and the calls they all make.

``TelegramBot`` (channel.py) is made of parts, one module each: the intake
(polling, webhook), the turn of one update, admin commands and the result
files. Each part is a class over ``BotBase``, which declares the state set
up in ``TelegramBot.__init__`` and the Bot API calls they share.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application

from bot.advice.render import Renderer
from bot.channels.telegram.dialogue import (
    COMMANDS,
    Advisor,
    CatalogHolder,
    Keepsake,
    command_names,
    escape,
)
from bot.channels.telegram.html import split_messages
from bot.channels.telegram.incoming import Incoming, Message, Press
from bot.channels.telegram.turns import ChatTurns
from bot.channels.telegram.wire import reply_to
from bot.flows.catalog import LoadReport
from bot.settings import Settings
from bot.store.conversations import Store

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from bot.channels.telegram.admin import Reloaded
    from bot.channels.telegram.intake import PollWindow
    from bot.channels.telegram.webhook import WebhookServer


log = logging.getLogger(__name__)


class BotBase:
    """The state and shared calls of ``TelegramBot``; see the module docstring."""

    settings: Settings
    load_catalog: Callable[[], Awaitable[LoadReport]]
    holder: CatalogHolder
    store: Store
    advisor: Advisor
    clock: Callable[[], float]
    app: Application  # type: ignore[type-arg]
    turns: ChatTurns
    last_poll: float
    failed: bool
    _stopping: asyncio.Event
    _tasks: list[asyncio.Task[None]]
    _jobs: set[asyncio.Task[None]]
    _webhook: WebhookServer | None
    _drawer: ProcessPoolExecutor | None
    _files: dict[tuple[str, str], tuple[str, str]]
    _sent_files: dict[tuple[int, str, str], float]
    _reloading: asyncio.Lock
    _reload_asked: int
    _reload_began: int
    _reload_outcome: Reloaded | None
    _failed: dict[int, tuple[int, int]]
    _stored: int
    _window: PollWindow | None

    if TYPE_CHECKING:  # provided by the other parts; declared for type checkers

        async def handle(self, update: Incoming) -> None: ...

        async def admin(self, update: Incoming, command: str, argument: str) -> None: ...

        def sent_lately(self, chat_id: int, keepsake: Keepsake) -> bool: ...

        async def send_keepsake(
            self, chat_id: int, keepsake: Keepsake, shown: Message | None
        ) -> None: ...

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

    async def answer_press(self, query: Press, text: str | None = None) -> None:
        """Every press must be answered, or the button spins for the person."""
        try:
            await self.call(
                "answerCallbackQuery", callback_query_id=query.id, text=text[:200] if text else None
            )
        except TelegramError as exc:
            log.debug("could not answer a button press: %s", exc)

    async def quietly(self, method: str, **params: Any) -> None:
        """A call whose failure only matters to the log (a progress label, a notice)."""
        try:
            await self.call(method, **params)
        except TelegramError as exc:
            log.debug("%s failed: %s", method, exc)

    async def reply(self, message: Message, text: str) -> None:
        for part in split_messages([escape(text)]):
            try:
                await self.call("sendMessage", text=part, **reply_to(message))
            except TelegramError as exc:
                log.warning("could not send a reply (%s)", exc)
                return

    def in_background(self, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` beside the updates; a failure is logged, never lost silently."""

        def done(task: asyncio.Task[None]) -> None:
            self._jobs.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("reload failed", exc_info=task.exception())

        task = asyncio.create_task(job)
        self._jobs.add(task)
        task.add_done_callback(done)

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
