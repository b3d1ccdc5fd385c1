"""The fields the bot reads from an update, and the updates it refuses to read."""

from __future__ import annotations

import pytest

from bot.channels.telegram.incoming import Chat, Person, parse
from bot.channels.telegram.wire import reply_to

PRESS = {
    "update_id": 7,
    "callback_query": {
        "id": "991",
        "from": {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "cy"},
        "chat_instance": "1",
        "data": "a:3:1",
        "message": {
            "message_id": 12,
            "date": 1,
            "chat": {"id": 42, "type": "private"},
            "text": "Question 3",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Yes", "callback_data": "a:3:1"}],
                    [{"text": "Guide", "url": "https://example.org"}],
                ]
            },
        },
    },
}


def test_a_press_gives_its_person_chat_data_and_buttons() -> None:
    update = parse(PRESS)
    assert update.update_id == 7
    assert update.message is None
    press = update.callback_query
    assert press is not None
    assert press.id == "991"
    assert press.data == "a:3:1"
    assert update.effective_user == Person(42, "cy")
    assert update.effective_chat == Chat(42, "private")
    assert press.message is not None
    assert press.message.message_id == 12
    assert press.message.buttons == [[("Yes", "a:3:1")], []]  # only buttons that call back


def test_a_message_gives_its_text_and_sender() -> None:
    update = parse(
        {
            "update_id": 8,
            "message": {
                "message_id": 3,
                "date": 1,
                "chat": {"id": -100, "type": "group"},
                "from": {"id": 5, "is_bot": False, "first_name": "B"},
                "text": "/start plan",
            },
        }
    )
    assert update.message is not None
    assert update.message.text == "/start plan"
    assert update.effective_user == Person(5, None)
    assert update.effective_chat == Chat(-100, "group")


def test_other_kinds_of_update_have_no_chat() -> None:
    update = parse({"update_id": 9, "edited_message": {"message_id": 1}})
    assert update.effective_chat is None
    assert update.effective_user is None


@pytest.mark.parametrize(
    "broken",
    [
        {"update_id": "7"},
        {"update_id": True},
        {"update_id": 7, "message": {"message_id": 1, "chat": {"id": "42", "type": "private"}}},
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "chat": {"id": 42, "type": "private"},
                "from": {"id": 4.5},
            },
        },
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "chat": {"id": 42, "type": "private"},
                "text": ["not", "text"],
            },
        },
        {"update_id": 7, "callback_query": "not an object"},
    ],
)
def test_a_field_of_the_wrong_type_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse(broken)


def test_a_reply_goes_to_the_topic_and_quotes_the_message() -> None:
    """In a forum topic the group pointer answers in that topic, as reply_text did."""
    update = parse(
        {
            "update_id": 10,
            "message": {
                "message_id": 31,
                "date": 1,
                "chat": {"id": -100, "type": "supergroup", "is_forum": True},
                "from": {"id": 5, "is_bot": False, "first_name": "B"},
                "message_thread_id": 7,
                "is_topic_message": True,
                "text": "/start",
            },
        }
    )
    assert update.message is not None
    assert reply_to(update.message) == {
        "chat_id": -100,
        "message_thread_id": 7,
        "reply_parameters": {"message_id": 31, "allow_sending_without_reply": True},
        "parse_mode": "HTML",
    }
    plain = parse(
        {"update_id": 11, "message": {"message_id": 2, "chat": {"id": 5, "type": "private"}}}
    )
    assert plain.message is not None
    assert plain.message.thread_id is None
    assert reply_to(plain.message)["reply_parameters"] is None, "no quote in a private chat"
