"""The usual way: python-telegram-bot's ConversationHandler with PicklePersistence.

The bench flow's five questions are five states, each a CallbackQueryHandler
on inline buttons; answers are kept in ``user_data``; the conversation and
user data persist to a pickle file (``persistent=True``, the default update
interval of 60 s). It makes ours' calls: ``/start`` removes the old prompt's
keyboard and sends the title with question 1 in one message; a press answers
the query and either edits the question to show the choice and sends the next
one, or, on the last question, edits the question into the result.
Polling is ``run_polling()`` with its defaults.

    BENCH_TOKEN=... BENCH_API_BASE=http://127.0.0.1:PORT BENCH_STATE_DIR=/tmp/x \
        python -m bench.peers.ptb_conversation
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    PicklePersistence,
)
from telegram.warnings import PTBUserWarning

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

warnings.filterwarnings("ignore", category=PTBUserWarning)


def keyboard(number: int) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(label, callback_data=f"a:{number}:{i}")]
        for i, label in enumerate(OPTIONS)
    ]
    if number > 1:
        rows.append([InlineKeyboardButton(BACK, callback_data=f"b:{number}")])
    return InlineKeyboardMarkup(rows)


RESULT_KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton(AGAIN, callback_data="again")],
        [InlineKeyboardButton(MENU, callback_data="menu")],
    ]
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    chat_id = update.effective_chat.id
    data = context.user_data
    old = data.pop("prompt", None)
    if old is not None:
        await context.bot.edit_message_reply_markup(chat_id, old, reply_markup=None)
    sent = await context.bot.send_message(
        chat_id,
        f"<b>{TITLE}</b>\n\n{question_html(1)}",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(1),
    )
    data["prompt"] = sent.message_id
    data["answers"] = {}
    return 1


def answer_handler(number: int):
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        option = int(query.data.rsplit(":", 1)[1])
        await query.answer()
        context.user_data.setdefault("answers", {})[f"q{number}"] = OPTIONS[option]
        chat_id = update.effective_chat.id
        if number < len(QUESTIONS):
            await query.edit_message_text(chosen_html(number, option), parse_mode=ParseMode.HTML)
            sent = await context.bot.send_message(
                chat_id,
                question_html(number + 1),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(number + 1),
            )
            context.user_data["prompt"] = sent.message_id
            return number + 1
        await query.edit_message_text(
            RESULT_HTML, parse_mode=ParseMode.HTML, reply_markup=RESULT_KEYBOARD
        )
        context.user_data["last_result"] = dict(context.user_data["answers"])
        return ConversationHandler.END

    return answer


def main() -> None:
    token, base = settings()
    state_dir = Path(os.environ.get("BENCH_STATE_DIR", "."))
    persistence = PicklePersistence(filepath=state_dir / "conversation.pickle")
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .persistence(persistence)
        .build()
    )
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                n: [CallbackQueryHandler(answer_handler(n), pattern=rf"^a:{n}:\d$")]
                for n in range(1, len(QUESTIONS) + 1)
            },
            fallbacks=[CommandHandler("start", start)],
            allow_reentry=True,
            name="bench",
            persistent=True,
        )
    )
    app.run_polling()


if __name__ == "__main__":
    main()
