"""How many messages and Bot API calls a turn costs on a phone (issues 23 and 25).

A flow starts in one message; a press that ends the flow turns the question
into the result; « Back turns the pressed question into the one before; a
typed answer that is not taken puts its hint into the question, so five
misses cost no new message at all. Through the real Application and the
fake Bot API.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.advice.render import Renderer
from bot.advice.uitext import UI

from fakebotapi import FakeBotAPI
from support import fixture_catalog
from telegram_support import last_text, running, say, tap

TAPPER, TYPIST = 2301, 2302
TEXT_ANSWER = "Closing the footpath by the school"
EN = Renderer(fixture_catalog(), "en")
BOT_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "advisor.sqlite3"


def has_result(api: FakeBotAPI, user: int) -> bool:
    return any((d or "").startswith("pdf:") for _, d in api.last_message(user).buttons())


def is_choice(api: FakeBotAPI, user: int) -> bool:
    buttons = api.last_message(user).buttons()
    return bool(buttons) and (buttons[0][1] or "")[:2] in ("a:", "t:")


def sent(api: FakeBotAPI, user: int) -> int:
    """Messages the bot has put in the person's chat."""
    return len(api.chat(user).messages)


def calls(api: FakeBotAPI, user: int) -> int:
    """Bot API calls the bot made for the person's chat (not counting polls)."""
    return sum(
        1
        for m in BOT_METHODS
        for c in api.calls_of(m)
        if str(c.params.get("chat_id", "")) == str(user) or m == "answerCallbackQuery"
    )


async def test_typing_with_five_misses_costs_no_more_messages_than_tapping(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """The same path by buttons and by typing, with five misses: at most five more messages."""
    async with running(fake_api, db):
        await say(fake_api, TAPPER, "/start plan")
        while not has_result(fake_api, TAPPER):
            if is_choice(fake_api, TAPPER):
                await tap(fake_api, TAPPER, "1. ")
                if "☑" in last_text(fake_api, TAPPER) or any(
                    label.startswith("☑") for label, _ in fake_api.last_message(TAPPER).buttons()
                ):
                    await tap(fake_api, TAPPER, "✓")
            else:
                await say(fake_api, TAPPER, TEXT_ANSWER)
        await say(fake_api, TYPIST, "/start plan")
        misses = 0
        while not has_result(fake_api, TYPIST):
            if is_choice(fake_api, TYPIST):
                if misses < 5:
                    before = sent(fake_api, TYPIST)
                    question = fake_api.last_message(TYPIST).message_id
                    await say(fake_api, TYPIST, "perhaps")
                    misses += 1
                    assert sent(fake_api, TYPIST) == before, "a miss sends no message"
                    shown = fake_api.last_message(TYPIST)
                    assert shown.message_id == question, "the question itself says the hint"
                    assert "type its number" in (shown.text or ""), shown.text
                    assert "send /back" in (shown.text or ""), "says how to go back"
                await say(fake_api, TYPIST, "1")
            else:
                await say(fake_api, TYPIST, TEXT_ANSWER)
        assert misses == 5
        assert sent(fake_api, TYPIST) <= sent(fake_api, TAPPER) + 5
        assert last_text(fake_api, TYPIST) == last_text(fake_api, TAPPER), "the same result"


async def test_a_flow_starts_in_one_message_and_a_last_press_becomes_the_result(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """/start by link: welcome (first time), title and question 1 in one message. The last
    press edits its question into the result: an answer to the press and one edit."""
    async with running(fake_api, db):
        await say(fake_api, TAPPER, "/start check")
        first = last_text(fake_api, TAPPER)
        assert first.startswith(EN.t(UI.TELEGRAM_WELCOME)), "a first contact is welcomed"
        assert "Yn Gymraeg: /iaith" in first, "told, in Welsh, how to have it in Welsh"
        assert EN.t("check.title") in first
        assert "Question 1 of" in first
        texts = [m.text for m in fake_api.chat(TAPPER).messages]
        assert texts[-2] == "→ English", "the language picker, answered, then one message"
        await say(fake_api, TAPPER, "skip")
        assert EN.t("check.title") in (fake_api.chat(TAPPER).messages[-2].text or ""), (
            "question 1, answered, keeps the flow's title"
        )
        while True:
            before_calls, before_sent = calls(fake_api, TAPPER), sent(fake_api, TAPPER)
            question = fake_api.last_message(TAPPER).message_id
            await tap(fake_api, TAPPER, "1. ")
            if any(label.startswith("☑") for label, _ in fake_api.last_message(TAPPER).buttons()):
                await tap(fake_api, TAPPER, "✓")
                before_calls += 2  # the toggle's answer and edit
            if has_result(fake_api, TAPPER):
                break
            assert calls(fake_api, TAPPER) - before_calls <= 3
        assert fake_api.last_message(TAPPER).message_id == question, "the question became it"
        assert sent(fake_api, TAPPER) == before_sent
        assert calls(fake_api, TAPPER) - before_calls == 2, "answer the press, edit"
        await say(fake_api, TAPPER, "/start check")
        again = last_text(fake_api, TAPPER)
        assert again.startswith(EN.t("check.title")), "no welcome the second time"


async def test_back_by_button_edits_the_question_pressed(fake_api: FakeBotAPI, db: Path) -> None:
    """« Back shows the question before in the same message, with the answer it had."""
    async with running(fake_api, db):
        await say(fake_api, TAPPER, "/start check")
        await say(fake_api, TAPPER, "skip")
        await tap(fake_api, TAPPER, "2. ")
        pressed = fake_api.last_message(TAPPER).message_id
        count = sent(fake_api, TAPPER)
        await tap(fake_api, TAPPER, EN.t(UI.TELEGRAM_BACK))
        shown = fake_api.last_message(TAPPER)
        assert shown.message_id == pressed
        assert sent(fake_api, TAPPER) == count
        assert "Question 2 of" in (shown.text or "")
        assert "Your answer was" in (shown.text or "")
        await tap(fake_api, TAPPER, "1. ")
        assert "Question 3 of" in last_text(fake_api, TAPPER), "its buttons still answer"
        assert "have changed" not in " ".join(t or "" for t in fake_api.chat(TAPPER).texts), (
            "going back to a remembered answer (where) is not a change of the questions"
        )
