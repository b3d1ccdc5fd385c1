"""What goes over the wire and back: keyboards, commands, answers to presses, update fields.

Small functions shared by the parts of the Telegram channel; none keeps state.
"""

from __future__ import annotations

import logging
import re
import traceback
from pathlib import Path
from typing import Any

from telegram.constants import ParseMode

from bot.advice.engine import Session, SessionError
from bot.channels.telegram.dialogue import (
    Buttons,
)
from bot.channels.telegram.incoming import Message

log = logging.getLogger(__name__)


def update_id_of(data: object) -> int | None:
    """An update's id, if it has one worth the name."""
    if isinstance(data, dict):
        update_id = data.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            return update_id
    return None


def where(exc: BaseException) -> str:
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


def storable(text: str) -> str:
    """A message's text as it can be stored: a lone surrogate (which JSON may carry,
    but no database encoding can hold) becomes U+FFFD. Otherwise that answer could
    never be saved, and its update would come back for ever."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def session_of(stored: object) -> Session | None:
    if not isinstance(stored, dict):
        return None
    try:
        return Session.from_json(stored)
    except SessionError:
        return None


def is_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def command_of(message: Message) -> tuple[str, str] | None:
    """``("start", "plan")`` for ``/start plan`` or ``/start@bot plan``; None if not a command."""
    text = message.text or ""
    if not text.startswith("/"):
        return None
    head, _, payload = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, payload.strip()


def reply_to(message: Message) -> dict[str, Any]:
    """A reply's parameters: the chat and forum topic of ``message``, quoting it in a
    group, where many talk (what python-telegram-bot's ``reply_text`` did), and sent
    anyway if it is gone."""
    quote = (
        {"message_id": message.message_id, "allow_sending_without_reply": True}
        if message.chat.type != "private"
        else None
    )
    return {
        "chat_id": message.chat.id,
        "message_thread_id": message.thread_id,
        "reply_parameters": quote,
        "parse_mode": ParseMode.HTML,
    }


def keyboard(buttons: Buttons | None) -> dict[str, Any] | None:
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


def seconds(value: object) -> float:
    try:
        return float(value.total_seconds())  # type: ignore[attr-defined]
    except AttributeError:
        return float(value)  # type: ignore[arg-type]
