"""A result's files: a PDF and a picture, drawn once in a process of their own, then re-sent."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING

from telegram import InputFile
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.advice import engine
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram.base import BotBase
from bot.channels.telegram.dialogue import (
    Keepsake,
    escape,
    relabel,
)
from bot.channels.telegram.incoming import Message
from bot.channels.telegram.wire import (
    keyboard,
    where,
)

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

FILE_CACHE_SIZE = 1000
"""Results whose sent files are remembered; each is two short ids."""
MERGE_SECONDS = 10.0
"""A press of a result's PDF button this soon after its files were sent to the same
chat sends nothing again: an impatient double tap, or ten, makes one PDF, and the
press is answered "Your PDF is just above". Later presses send Telegram's copy."""
DRAWER_NICENESS = 10
"""How far the drawing process steps back: a PDF may take a moment longer, but a
person waiting for the next question should not wait behind it for a core."""


class Files(BotBase):
    """The files part of ``TelegramBot``: results sent as a PDF and a picture."""

    def sent_lately(self, chat_id: int, keepsake: Keepsake) -> bool:
        """Whether this chat was sent this result's files within ``MERGE_SECONDS``.

        A chat's updates take turns, so a tap made while its files are being
        made is read after they were sent, and finds them here.
        """
        sent = self._sent_files.get((chat_id, keepsake.key, keepsake.locale))
        return sent is not None and time.monotonic() - sent < MERGE_SECONDS

    async def send_keepsake(self, chat_id: int, keepsake: Keepsake, shown: Message | None) -> None:
        """The result as a PDF and a picture: made once, off the event loop, then re-sent.

        The pressed button says "Making your PDF…" until the files are sent;
        Telegram's file ids are kept, so a repeat press uploads nothing.
        https://core.telegram.org/bots/api#sending-files
        """
        words = Renderer(self.holder.catalog, keepsake.locale)
        buttons = (shown.buttons if shown is not None else None) or []
        message_id = shown.message_id if shown is not None else None
        if buttons and message_id is not None:
            busy = relabel(buttons, keepsake.pressed, words.t(UI.REPORT_MAKING))
            await self.quietly(
                "editMessageReplyMarkup",
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=keyboard(busy),
            )
        # cosmetic: never in the way of the file
        await self.quietly("sendChatAction", chat_id=chat_id, action=ChatAction.UPLOAD_DOCUMENT)
        began = time.monotonic()
        try:
            await self.send_files(chat_id, keepsake, words)
        except Exception as exc:
            told: UI | None = None
            went = self._sent_files.get((chat_id, keepsake.key, keepsake.locale), -1.0) >= began
            if isinstance(exc, TelegramError) and went:
                # The PDF went; only the picture did not. Nothing to apologise for.
                log.warning("could not send the result's picture (%s)", exc)
            elif isinstance(exc, TelegramError):
                # Made (or sent before), but Telegram would not take it now.
                log.warning("could not send the result files (%s)", exc)
                told = UI.REPORT_NOT_SENT
            else:
                log.error("could not make the result files (%s)", where(exc))
                told = UI.REPORT_FAILED
            if told is not None:
                await self.quietly("sendMessage", chat_id=chat_id, text=escape(words.t(told)))
        finally:
            if buttons and message_id is not None:
                await self.quietly(
                    "editMessageReplyMarkup",
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard(buttons),
                )

    async def send_files(self, chat_id: int, keepsake: Keepsake, words: Renderer) -> None:
        """Send the files from Telegram's copies if sent before, else build and upload them."""
        cache_key = (keepsake.key, keepsake.locale)
        caption = words.t(UI.REPORT_CAPTION)[:1024]
        sent = self._files.get(cache_key)
        if sent is not None:
            await self.call("sendDocument", chat_id=chat_id, document=sent[0], caption=caption)
            self._note_sent(chat_id, keepsake)
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
        self._note_sent(chat_id, keepsake)
        photo = await bot.send_photo(chat_id, InputFile(picture, filename=f"{name}.png"))
        if document.document is not None and photo.photo:
            self._files[cache_key] = (document.document.file_id, photo.photo[-1].file_id)
            while len(self._files) > FILE_CACHE_SIZE:
                self._files.pop(next(iter(self._files)))

    def _note_sent(self, chat_id: int, keepsake: Keepsake) -> None:
        """Remember that this chat has this result's PDF now (``sent_lately``)."""
        key = (chat_id, keepsake.key, keepsake.locale)
        self._sent_files.pop(key, None)  # to the end: the oldest are forgotten first
        self._sent_files[key] = time.monotonic()
        while len(self._sent_files) > FILE_CACHE_SIZE:
            self._sent_files.pop(next(iter(self._sent_files)))

    def drawer(self) -> ProcessPoolExecutor:
        """The process that draws result files, started at the first PDF.

        Drawing holds the GIL for most of a second; in a thread it slowed
        every other chat's replies (bench/pdfs.py). In a process of its own
        it runs on another core, at a lower priority than the replies.
        Spawned, not forked: this process has threads. ``multiprocessing``
        and the process pool are imported here, at the first PDF: a bot
        that never draws one does not hold them (0.4 MB).
        """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

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
