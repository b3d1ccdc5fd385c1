"""The floor: a bare python-telegram-bot Application making ours' calls, nothing else.

Per update it makes exactly the Bot API calls ours makes on the bench path
(measured by ``bench.run``): ``/start`` removes the old prompt's keyboard
and sends the title with question 1 in one message; a press answers the
query and either edits the question to show the choice and sends the next
one, or, on the last question, edits the question into the result. It
polls the way ours does (``getUpdates`` then ``process_update`` one by one),
with the same builder settings but no rate limiter, no flow and no storage:
only the live prompt's message id per chat, kept in a dict.

    BENCH_TOKEN=... BENCH_API_BASE=http://127.0.0.1:PORT python -m bench.peers.bare_ptb

With ``BENCH_TRANSPORT=ours`` (the bench's ``floor_ours_transport``) it sends
its calls through ours' HTTP transport (``bot.channels.telegram.transport.AiohttpRequest``, as
ours' builder does) instead of PTB's default httpx: the floor for ours' own
flow and storage code, whatever the transport costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bench.peers.texts import (
    AGAIN,
    BACK,
    MENU,
    OPTIONS,
    QUESTIONS,
    RESULT_HTML,
    TITLE,
    chosen_html,
    question_html,
    settings,
)

prompts: dict[int, int] = {}


def keyboard(number: int) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(label, callback_data=f"a:{number}:{i}")]
        for i, label in enumerate(OPTIONS)
    ]
    if number > 1:
        rows.append([InlineKeyboardButton(BACK, callback_data=f"b:{number}")])
    return InlineKeyboardMarkup(rows)


def result_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(AGAIN, callback_data="again")],
            [InlineKeyboardButton(MENU, callback_data="menu")],
        ]
    )


async def on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    bot = context.bot
    chat_id = update.effective_chat.id
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message else None
        parts = (query.data or "").split(":")
        if message_id != prompts.get(chat_id) or parts[0] != "a" or len(parts) != 3:
            await query.answer("This question has moved on.")
            return
        number, option = int(parts[1]), int(parts[2])
        await query.answer(None)
        if number < len(QUESTIONS):
            await bot.edit_message_text(
                chosen_html(number, option),
                chat_id,
                message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
            )
            sent = await bot.send_message(
                chat_id,
                question_html(number + 1),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(number + 1),
            )
            prompts[chat_id] = sent.message_id
        else:
            await bot.edit_message_text(
                RESULT_HTML,
                chat_id,
                message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=result_keyboard(),
            )
        return
    message = update.message
    if message is None or not (message.text or "").startswith("/start"):
        return
    old = prompts.pop(chat_id, None)
    if old is not None:
        await bot.edit_message_reply_markup(chat_id, old, reply_markup=None)
    sent = await bot.send_message(
        chat_id,
        f"<b>{TITLE}</b>\n\n{question_html(1)}",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(1),
    )
    prompts[chat_id] = sent.message_id


async def main() -> None:
    token, base = settings()
    builder = Application.builder().token(token).base_url(f"{base}/bot")
    builder = builder.base_file_url(f"{base}/file/bot").updater(None)
    if os.environ.get("BENCH_TRANSPORT") == "ours":
        from bot.channels.telegram.transport import (
            AiohttpRequest,  # its own timeouts, as ours builds it
        )

        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(pool_size=1, read_timeout=30)
        )
    else:
        builder = builder.connect_timeout(10).read_timeout(20).write_timeout(20).pool_timeout(10)
    app = builder.build()
    app.add_handler(TypeHandler(Update, on_update))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await app.initialize()
    await app.start()

    async def poll() -> None:
        offset = None
        with contextlib.suppress(TelegramError):
            await app.bot.delete_webhook(drop_pending_updates=False)
        while not stopping.is_set():
            try:
                updates = await app.bot.get_updates(
                    offset=offset,
                    timeout=10,
                    allowed_updates=["message", "callback_query"],
                    read_timeout=20,
                )
            except TelegramError:
                await asyncio.sleep(1)
                continue
            for update in updates:
                await app.process_update(update)
                offset = update.update_id + 1

    task = asyncio.create_task(poll())
    await stopping.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app.stop()
    await app.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
