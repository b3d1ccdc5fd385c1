"""A conversation that reads well on a phone (issue 16), through the real Application.

Each test names the problem it pins down: a short result card whose
buttons open the details, the PDF within reach after later messages, its
progress and failures told, and /summary in every state.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.advice import engine
from bot.advice.explore import Explorer
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram.html import to_html
from bot.sources import project_catalog

from fakebotapi import ChatMessage, FakeBotAPI
from telegram_support import asks_language, last_text, running, say, tap

USER = 1601
FOOTPATH = ["/start plan", "Closing the footpath by the school", "3", "3"]
"""The staff flow to an Inform result, typed."""
CARD_LIMIT = 1200
"""Characters a result card may take: about two phone screens at most."""
CATALOG = project_catalog()
CY = Renderer(CATALOG, "cy")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "advisor.sqlite3"


def card(api: FakeBotAPI, user: int) -> ChatMessage:
    """The latest message carrying a result's PDF button."""
    for message in reversed(api.chat(user).visible):
        if any((data or "").startswith("pdf:") for _, data in message.buttons()):
            return message
    raise AssertionError("no result card in the chat")


async def result_by_buttons(api: FakeBotAPI, user: int, typed: str) -> None:
    """Carry on with the first button of each question (``typed`` for text) to the result."""
    while not any((d or "").startswith("pdf:") for _, d in api.last_message(user).buttons()):
        buttons = api.last_message(user).buttons()
        if not buttons or buttons[0][1] is None or buttons[0][1].startswith("b:"):
            await say(api, user, typed)
            continue
        label = buttons[0][0]
        await tap(api, user, label)
        if label.startswith("☑") or label.startswith("☐"):
            await tap(api, user, "✓")


# -- 7. results too long for a phone -------------------------------------------------------


async def test_result_is_a_short_card_whose_buttons_open_the_details(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """The result fits a phone, its buttons open each part, and the recap drops instructions."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan", language="Cymraeg")
        for answer in ("Cau'r llyfrgell", "1", "1", "3"):  # to the resources question
            await say(fake_api, USER, answer)
        await result_by_buttons(fake_api, USER, "Cau'r llyfrgell")
        shown = card(fake_api, USER)
        assert len(shown.text or "") < CARD_LIMIT
        assert shown is fake_api.last_message(USER), "the buttons are on the card itself"
        assert shown.text.startswith(CY.t(UI.RESULT_RECOMMENDATION) + ":")
        labels = [label for label, _ in shown.buttons()]
        assert "⚠ 1" in labels
        await tap(fake_api, USER, "⚠ 1")
        detail = fake_api.chat(USER).message(shown.message_id).text or ""
        assert CY.t(UI.RESULT_WHY_IT_MATTERS) in detail
        assert CY.t(UI.RESULT_WHAT_TO_DO) in detail
        await tap(fake_api, USER, CY.t(UI.RESULT_ANSWERS))
        recap = fake_api.chat(USER).message(shown.message_id).text or ""
        assert CY.t("plan.q.resources") not in recap, "no instructions in the recap"
        assert CY.t("plan.q.resources").split("?")[0] in recap
        await tap(fake_api, USER, CY.t(UI.TELEGRAM_TO_CARD))
        assert fake_api.chat(USER).message(shown.message_id).text == shown.text
    messages = [m for m in fake_api.chat(USER).visible if m.kind == "text"]
    assert all(len(m.text or "") < CARD_LIMIT for m in messages[-3:])


@cache
def _endings(flow_id: str) -> list[engine.Result]:
    flow = CATALOG.flows[flow_id]
    results = {}
    for session in Explorer(flow).endings():
        result = engine.result(flow, session)
        key = (result.outcome_id, tuple(r.text for r in result.reasons), result.caution_ids)
        results.setdefault(key, result)
    return list(results.values())


@pytest.mark.parametrize("locale", ["en", "cy"])
@pytest.mark.parametrize("flow_id", sorted(CATALOG.flows))
def test_no_result_card_of_the_shipped_flows_is_long(flow_id: str, locale: str) -> None:
    """Every advice the shipped flows can give fits a card of 1,200 characters, as shown."""
    flow = CATALOG.flows[flow_id]
    words = Renderer(CATALOG, locale)
    longest = max(
        (
            len(_shown("\n\n".join(to_html(words.card(flow, result)))))
            for result in _endings(flow_id)
        ),
        default=0,
    )
    assert 0 < longest <= CARD_LIMIT


def _shown(html_text: str) -> str:
    """Telegram's count: the text once the tags are parsed away."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


# -- 2. the PDF out of reach after one more message ---------------------------------------


async def test_pdf_stays_within_reach_after_later_messages(fake_api: FakeBotAPI, db: Path) -> None:
    """After 'thanks!', the main menu and /language, the card's PDF button still sends the file."""
    async with running(fake_api, db):
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        shown = card(fake_api, USER)
        await say(fake_api, USER, "thanks!")
        assert any((d or "").startswith("pdf:") for _, d in fake_api.last_message(USER).buttons())
        await tap(fake_api, USER, "Main menu")
        await say(fake_api, USER, "/language", language=None)
        await tap(fake_api, USER, "English")
        assert fake_api.chat(USER).message(shown.message_id).buttons() == shown.buttons()
        fake_api.press(USER, card_data(shown, "pdf:"), message_id=shown.message_id)
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendPhoto" and c.ok for c in calls), timeout=60
        )
        await fake_api.wait_idle(timeout=30)
    documents = [m for m in fake_api.chat(USER).messages if m.kind == "document"]
    assert len(documents) == 1
    assert "moved on" not in str(fake_api.chat(USER).callback_answers)


def card_data(message: ChatMessage, prefix: str) -> str:
    return next(d for _, d in message.buttons() if d and d.startswith(prefix))


# -- 3. the PDF: progress, once, failures told --------------------------------------------


async def test_pdf_shows_progress_is_built_once_and_failures_are_told(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """'Making your PDF…' at once; a repeat tap re-sends Telegram's copy; a failure is said."""
    async with running(fake_api, db):
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        shown = card(fake_api, USER)
        pdf = card_data(shown, "pdf:")
        fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendPhoto" and c.ok for c in calls), timeout=60
        )
        await fake_api.wait_idle(timeout=30)
        marks = [c for c in fake_api.calls_of("editMessageReplyMarkup") if c.ok]
        assert "Making your PDF" in str(marks[0].params), "the button says so while it works"
        assert fake_api.chat(USER).message(shown.message_id).buttons() == shown.buttons()
        assert "upload_document" in fake_api.chat(USER).actions
        fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_idle(timeout=30)
        documents = [m for m in fake_api.chat(USER).messages if m.kind == "document"]
        assert len(documents) == 2
        assert documents[0].file is documents[1].file, "the second is Telegram's copy"
        uploads = [c for c in fake_api.calls_of("sendDocument") if c.ok]
        assert [c.content_type for c in uploads][1] == "application/json"
        fake_api.fail_next("sendDocument", status=500)
        fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_idle(timeout=30)
        assert "couldn't make the file" in last_text(fake_api, USER)


# -- 8. /summary in every state -------------------------------------------------------


async def test_summary_after_a_result_mid_flow_and_after_forget(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """/summary shows the card with its buttons, re-shows a waiting question, asks no language."""
    async with running(fake_api, db):
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        await say(fake_api, USER, "/summary")
        assert last_text(fake_api, USER).startswith("Recommendation: Inform")
        assert card(fake_api, USER) is fake_api.last_message(USER), "with its buttons"
        await say(fake_api, USER, "/start check")
        await say(fake_api, USER, "/summary")
        assert fake_api.chat(USER).texts[-2].startswith("Recommendation: Inform")
        assert last_text(fake_api, USER).startswith("Question 1")
        assert fake_api.last_message(USER).buttons(), "the question with its buttons"
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "Yes, delete it")
        await say(fake_api, USER, "/summary", language=None)
        assert not asks_language(fake_api, USER)
        assert "There is no result yet" in last_text(fake_api, USER)
