"""The best peer: aiogram 3 with aiogram-dialog.

A Dialog of five Windows, one per question, each with a Select of three
options that moves to the next window, and a result window with a restart
button; ``/start`` starts the dialog with ``StartMode.RESET_STACK``. State is
aiogram's default in-memory FSM storage. aiogram-dialog redraws the dialog's
one message in place, so a press is answered with an edit, not a new message.
Polling is ``Dispatcher.start_polling`` with its defaults.

One setting is not aiogram's default: ``events_isolation=SimpleEventIsolation()``,
which handles one update at a time per user (updates of different users still
run concurrently). Without it aiogram runs a user's updates concurrently, and
a user who taps the new keyboard within a millisecond of seeing it (as the
bench's users do) can be handled before aiogram-dialog has saved the step
that drew it: the press then lands on the previous window and the dialog
goes back. Ours and PTB handle a chat's updates in order, so this keeps the
comparison like for like.

    BENCH_TOKEN=... BENCH_API_BASE=http://127.0.0.1:PORT python -m bench.peers.aiogram_dialog_bot
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window, setup_dialogs
from aiogram_dialog.widgets.kbd import Back, Button, Column, Select
from aiogram_dialog.widgets.text import Const, Format

from bench.peers.texts import (
    AGAIN,
    BACK,
    MENU,
    OPTIONS,
    QUESTIONS,
    RESULT_HTML,
    question_html,
    settings,
)


class Bench(StatesGroup):
    q1 = State()
    q2 = State()
    q3 = State()
    q4 = State()
    q5 = State()
    result = State()


ITEMS = [(str(i), label) for i, label in enumerate(OPTIONS)]


async def on_pick(
    callback: CallbackQuery, widget: Any, manager: DialogManager, item_id: str
) -> None:
    manager.dialog_data[widget.widget_id] = item_id
    await manager.next()


async def on_again(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    await manager.start(Bench.q1, mode=StartMode.RESET_STACK)


def question(number: int, state: State) -> Window:
    widgets: list[Any] = [
        Const(question_html(number)),
        Column(
            Select(
                Format("{item[1]}"),
                id=f"q{number}",
                item_id_getter=lambda item: item[0],
                items=ITEMS,
                on_click=on_pick,
            )
        ),
    ]
    if number > 1:
        widgets.append(Back(Const(BACK)))
    return Window(*widgets, state=state)


dialog = Dialog(
    *(question(n, getattr(Bench, f"q{n}")) for n in range(1, len(QUESTIONS) + 1)),
    Window(
        Const(RESULT_HTML),
        Button(Const(AGAIN), id="again", on_click=on_again),
        Button(Const(MENU), id="menu"),
        state=Bench.result,
    ),
)

router = Router()


@router.message(CommandStart())
async def start(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(Bench.q1, mode=StartMode.RESET_STACK)


async def main() -> None:
    token, base = settings()
    session = AiohttpSession(api=TelegramAPIServer.from_base(base))
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dp = Dispatcher(events_isolation=SimpleEventIsolation())
    dp.include_router(router)
    dp.include_router(dialog)
    setup_dialogs(dp)
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
