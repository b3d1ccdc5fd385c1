"""An update as the bot reads it: the dozen fields it uses, taken from Telegram's JSON.

python-telegram-bot's ``Update.de_json`` builds a frozen object for every
part of an update, down to each button of the pressed message's keyboard:
166 µs for a press, an eighth of the CPU per update in the profile
(docs/operations.md). These classes hold what the bot reads and are filled
in a few µs; the rest stays in the JSON, unread. A field of the wrong type
(an id that is not a whole number) raises ``ValueError``, so the update is
logged and confirmed, never half handled.
https://core.telegram.org/bots/api#update
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram.dialogue import Buttons


@dataclass(frozen=True, slots=True)
class Person:
    """Who sent a message or pressed a button."""

    id: int
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str


@dataclass(frozen=True, slots=True)
class Message:
    """A message someone sent, or the bot's message whose button was pressed."""

    message_id: int
    chat: Chat
    from_user: Person | None = None
    text: str | None = None
    buttons: Buttons | None = None
    """The inline keyboard it shows, as rows of (label, callback data)."""
    thread_id: int | None = None
    """The forum topic it was sent in, where a reply must go too."""


@dataclass(frozen=True, slots=True)
class Press:
    """A press of an inline button (a callback query)."""

    id: str
    from_user: Person
    data: str | None
    message: Message | None
    """The message the button is on; None if Telegram no longer says."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update: a message, a press, or something else the bot ignores."""

    update_id: int
    message: Message | None = None
    callback_query: Press | None = None

    @property
    def effective_chat(self) -> Chat | None:
        if self.message is not None:
            return self.message.chat
        if self.callback_query is not None and self.callback_query.message is not None:
            return self.callback_query.message.chat
        return None

    @property
    def effective_user(self) -> Person | None:
        if self.message is not None:
            return self.message.from_user
        if self.callback_query is not None:
            return self.callback_query.from_user
        return None


def parse(data: Mapping[str, Any]) -> Incoming:
    """The update's fields the bot reads; ``ValueError`` if one has the wrong type."""
    message = data.get("message")
    query = data.get("callback_query")
    return Incoming(
        update_id=_int(data.get("update_id")),
        message=_message(message) if message is not None else None,
        callback_query=_press(query) if query is not None else None,
    )


def _press(data: object) -> Press:
    data = _mapping(data)
    message = data.get("message")
    return Press(
        id=_str(data.get("id")),
        from_user=_person(data.get("from")),
        data=_optional_str(data.get("data")),
        message=_message(message) if message is not None else None,
    )


def _message(data: object) -> Message:
    data = _mapping(data)
    chat = _mapping(data.get("chat"))
    sender = data.get("from")
    return Message(
        message_id=_int(data.get("message_id")),
        chat=Chat(_int(chat.get("id")), _str(chat.get("type"))),
        from_user=_person(sender) if sender is not None else None,
        text=_optional_str(data.get("text")),
        buttons=_buttons(data.get("reply_markup")),
        thread_id=_int(data["message_thread_id"]) if data.get("is_topic_message") else None,
    )


def _person(data: object) -> Person:
    data = _mapping(data)
    return Person(_int(data.get("id")), _optional_str(data.get("language_code")))


def _buttons(markup: object) -> Buttons | None:
    if markup is None:
        return None
    rows = _mapping(markup).get("inline_keyboard")
    if not isinstance(rows, list):
        return None
    return [
        [
            (_str(button.get("text")), button["callback_data"])
            for button in row
            if isinstance(button, dict) and isinstance(button.get("callback_data"), str)
        ]
        for row in rows
        if isinstance(row, list)
    ]


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("an object expected")
    return value


def _int(value: object) -> int:
    # bool is an int to Python, never an id to Telegram.
    if type(value) is not int:
        raise ValueError("a whole number expected")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("text expected")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)
