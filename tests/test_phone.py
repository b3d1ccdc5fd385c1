"""A conversation that reads well on a phone (issue 16), through the real Application.

Each test names the problem it pins down: a short result card whose
buttons open the details, the PDF within reach after later messages, its
progress and failures told, and /summary in every state.
"""

from __future__ import annotations

import json
import re
import sqlite3
from itertools import islice
from pathlib import Path

import pytest

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.explore import Explorer
from bot.advice.render import CARD_LIMIT, CARD_REASONS, Renderer, plain
from bot.advice.uitext import UI
from bot.channels.telegram import files
from bot.flows.catalog import CompiledFlow
from bot.flows.model import QuestionKind
from bot.results import report

from fakebotapi import ChatMessage, FakeBotAPI
from support import fixture_catalog, load_flow_text, mini_text
from telegram_support import asks_language, last_text, running, say, tap

USER = 1601
FOOTPATH = ["/start plan", "Closing the footpath by the school", "6", "3", "1", "2", "3"]
"""The staff flow to an Inform result, typed: place not given, decision made by us, no
handover, people never asked."""
CATALOG = fixture_catalog()
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
    for _ in range(40):
        if any((d or "").startswith("pdf:") for _, d in api.last_message(user).buttons()):
            return
        buttons = api.last_message(user).buttons()
        if not buttons or buttons[0][1] is None or buttons[0][1].startswith("b:"):
            await say(api, user, typed)
            continue
        label = buttons[0][0]
        await tap(api, user, label)
        if label.startswith("☑") or label.startswith("☐"):
            await tap(api, user, "✓")
    raise AssertionError(f"no result with a PDF button; last: {last_text(api, user)!r}")


# -- 7. results too long for a phone -------------------------------------------------------


async def test_result_is_a_short_card_whose_buttons_open_the_details(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """The result fits a phone, its buttons open each part, and the recap drops instructions."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan", language="Cymraeg")
        # to the resources question
        for answer in ("Cau'r llyfrgell", "6", "1", "1", "1", "2", "3"):
            await say(fake_api, USER, answer)
        await result_by_buttons(fake_api, USER, "Cau'r llyfrgell")
        shown = card(fake_api, USER)
        assert len(shown.text or "") < CARD_LIMIT
        assert shown is fake_api.last_message(USER), "the buttons are on the card itself"
        assert shown.text.startswith(CY.t(UI.RESULT_RECOMMENDATION) + ":")
        labels = [label for label, _ in shown.buttons()]
        caution = next(label for label in labels if label.startswith("⚠ "))
        assert len(caution) > len("⚠ 1"), "the caution's title, not a number"
        await tap(fake_api, USER, caution)
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


def typed(flow: CompiledFlow, session: Session) -> list[str]:
    """A finished session's answers as a person types them: option numbers, text as is."""
    out = []
    for qid in session.history:
        question, value = flow.questions[qid], session.answers[qid]
        if question.model.kind is QuestionKind.TEXT:
            out.append(value or "skip")
        else:
            picked = value if isinstance(value, tuple) else (value,)
            out.append(",".join(str(question.option_ids.index(o) + 1) for o in picked))
    return out


async def test_a_card_with_many_reasons_shows_the_first_and_why_opens_all(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """A result with more reasons than a card holds: the first few, a count, and "Why"."""
    flow = CATALOG.flows["plan"]
    session, result = next(
        (s, r)
        for s in Explorer(flow).endings()
        if all(s.answers[q] for q in s.history)
        and len((r := engine.result(flow, s)).reasons) > CARD_REASONS + 1
    )
    words = Renderer(CATALOG, "en")
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        for answer in typed(flow, session):
            await say(fake_api, USER, answer)
        shown = card(fake_api, USER)
        text = shown.text or ""
        more = len(result.reasons) - CARD_REASONS
        assert words.t(result.reasons[CARD_REASONS - 1].text) in text
        assert words.t(result.reasons[CARD_REASONS].text) not in text
        assert f"{more} more under “Why” below." in text
        await tap(fake_api, USER, "Why")
        detail = fake_api.chat(USER).message(shown.message_id).text or ""
        assert all(words.t(r.text) in detail for r in result.reasons)


def test_a_card_too_long_for_a_phone_is_found_at_its_outcome() -> None:
    """A summary an admin made long: flows check names the outcome's line and the figure."""
    flow = mini_text().replace(
        "recommend: inform\n", "recommend: inform\n    summary: long.summary\n", 1
    )
    report = load_flow_text(flow, {"long.yaml": "long.summary: " + "A long word. " * 100})
    found = [str(f) for f in report.findings if "result card" in f.message]
    line = flow.splitlines().index("  - id: closed") + 1
    assert len(found) == 1, report.findings
    assert found[0].startswith(f"flow.yaml:{line}: outcome 'closed' can show a result card of 1,")
    assert report.catalog is None, "too long a card is an error, as a guarantee is"


def test_the_card_bound_is_never_below_a_real_card() -> None:
    """The load-time bound holds for real results: thousands of endings of both flows."""
    for flow in CATALOG.flows.values():
        for locale in CATALOG.locales:
            words = Renderer(CATALOG, locale)
            bounds = [words.card_bound(flow, i) for i in range(len(flow.model.outcomes))]
            assert max(bounds) <= CARD_LIMIT
            index = {o.id: i for i, o in enumerate(flow.model.outcomes)}
            for session in islice(Explorer(flow).endings(), 1500):
                result = engine.result(flow, session)
                shown = len(plain(words.card(flow, result)))
                assert shown <= bounds[index[result.outcome_id]], (flow.id, result.outcome_id)


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
    fake_api: FakeBotAPI, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Making your PDF…' at once; a later tap re-sends Telegram's copy; failures are said,
    making apart from sending."""
    monkeypatch.setattr(files, "MERGE_SECONDS", 0.0)  # every tap sends: see the next test
    async with running(fake_api, db) as bot:
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
        assert "your PDF is ready but Telegram would not take it" in last_text(fake_api, USER)
        fake_api.fail_next("sendPhoto", status=500)
        told = len(fake_api.chat(USER).messages)
        fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_idle(timeout=30)
        new = fake_api.chat(USER).messages[told:]
        assert [m.kind for m in new] == ["document"], "the PDF went; no apology for the picture"
        bot._files.clear()  # no copy at Telegram: the files must be made again
        monkeypatch.setattr(report, "result_page", broken_page)
        fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_idle(timeout=30)
        assert "couldn't make the file" in last_text(fake_api, USER)


def broken_page(*args: object) -> object:
    raise RuntimeError("the page could not be laid out")


async def test_taps_in_quick_succession_make_one_pdf(fake_api: FakeBotAPI, db: Path) -> None:
    """Ten impatient taps: one PDF and one picture; the other taps are told where it is."""
    async with running(fake_api, db):
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        shown = card(fake_api, USER)
        pdf = card_data(shown, "pdf:")
        for _ in range(10):
            fake_api.press(USER, pdf, message_id=shown.message_id)
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendPhoto" and c.ok for c in calls), timeout=60
        )
        await fake_api.wait_idle(timeout=30)
    chat = fake_api.chat(USER)
    assert len([m for m in chat.messages if m.kind == "document"]) == 1
    assert len([c for c in fake_api.calls_of("sendPhoto") if c.ok]) == 1
    assert str(chat.callback_answers).count("Your PDF is just above") == 9


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
        assert "Question 1 of" in last_text(fake_api, USER)
        assert fake_api.last_message(USER).buttons(), "the question with its buttons"
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "Yes, delete it")
        await say(fake_api, USER, "/summary", language=None)
        assert not asks_language(fake_api, USER)
        assert "There is no result yet" in last_text(fake_api, USER)


# -- 1. typing at the language picker mid-flow --------------------------------------------


async def test_picker_mid_flow_takes_only_a_language(fake_api: FakeBotAPI, db: Path) -> None:
    """After /language, '2' picks the second language; it never answers the hidden question."""
    async with running(fake_api, db):
        for answer in ("/start plan", "the footpath"):
            await say(fake_api, USER, answer)
        await say(fake_api, USER, "/language", language=None)
        await say(fake_api, USER, "2", language=None)
        assert last_text(fake_api, USER).startswith("Question 2"), "the same question, not the next"
        assert stored_answers(db) == {"about": "the footpath"}
        await say(fake_api, USER, "/language", language=None)
        await say(fake_api, USER, "perhaps", language=None)
        assert asks_language(fake_api, USER), "anything else asks again"
        await say(fake_api, USER, "cymraeg", language=None)
        assert last_text(fake_api, USER).startswith("Cwestiwn 2")
        assert stored_answers(db) == {"about": "the footpath"}


def stored_answers(db: Path, chat: int = USER) -> dict:
    """The answers of a chat's session as stored in the SQLite file."""
    with sqlite3.connect(db) as con:
        (session,) = con.execute(
            "SELECT session FROM conversations WHERE chat_id = ?", (chat,)
        ).fetchone()
    return json.loads(session)["answers"]


# -- 5. the picker and the menu ignore typed input ----------------------------------------


async def test_picker_and_menu_take_typed_words_and_numbers(fake_api: FakeBotAPI, db: Path) -> None:
    """'English' answers the picker; 'plan' or '2' the menu, as the help says typing works."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start", language=None)
        assert asks_language(fake_api, USER)
        await say(fake_api, USER, "English", language=None)
        assert "What would you like to do?" in last_text(fake_api, USER)
        await say(fake_api, USER, "plan")
        assert "Question 1 of" in last_text(fake_api, USER)
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "Yes, delete it")
        await say(fake_api, USER, "/start", language=None)
        await say(fake_api, USER, "1", language=None)
        assert CY.t(UI.TELEGRAM_MENU) in last_text(fake_api, USER), "1 is Cymraeg"
        await say(fake_api, USER, "2")
        second = list(CATALOG.flows.values())[1]
        assert CY.t(second.model.title) in last_text(fake_api, USER)


# -- 6. typed words matched inconsistently ------------------------------------------------


async def test_typed_words_match_labels_and_synonyms_never_ids(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """'no' that fits two options asks which; plain words match; ids don't; Welsh 'ie' works."""
    async with running(fake_api, db):
        for answer in ("/start plan", "the footpath", "6", "part"):
            await say(fake_api, USER, answer)
        assert stored_answers(db)["decision"] == "partly", "'part' is a word of 'Open in part'"
        sent = len(fake_api.chat(USER).visible)
        await say(fake_api, USER, "no")
        question = fake_api.last_message(USER)
        hint = question.text or ""
        assert "fits more than one option" in hint
        assert "2. No, but their views can shape it" in hint
        assert "power" not in stored_answers(db), "nothing guessed"
        assert len(fake_api.chat(USER).visible) == sent, "no new message: the question is edited"
        assert question.text.startswith("Question 4"), "the hint is in the question, buttons kept"
        assert next(label for label, _ in question.buttons()).startswith("1. "), "numbers shown"
        await say(fake_api, USER, "unsure")
        assert stored_answers(db)["power"] == "unsure", "a synonym"
        await say(fake_api, USER, "/back")
        await say(fake_api, USER, "their views")
        assert "power" not in stored_answers(db), "two of seven words: asked, not picked"
        assert "Did you mean 2. No, but their views can shape it" in last_text(fake_api, USER)
        await say(fake_api, USER, "2")
        assert stored_answers(db)["power"] == "views", "the number the hint asked for"
    async with running(fake_api, db):
        other = USER + 1
        await say(fake_api, other, "/start plan", language="Cymraeg")
        await say(fake_api, other, "y llwybr")
        await say(fake_api, other, "6")
        await say(fake_api, other, "ie")
        assert stored_answers(db, other)["decision"] == "open"
        await say(fake_api, other, "unsure")
        assert "power" not in stored_answers(db, other), "an option id is not an answer"


# -- 9. /back, hints, /restart, counts and /help ------------------------------------------


async def test_back_hints_restart_count_and_help(fake_api: FakeBotAPI, db: Path) -> None:
    """/back shows the answer and keeps ticks; /restart asks; 'of about'; /help lists all."""
    async with running(fake_api, db):
        # to the resources question
        for answer in ("/start plan", "x", "6", "1", "1", "1", "2", "3"):
            await say(fake_api, USER, answer)
        assert "of about" in last_text(fake_api, USER).split("\n")[0]
        await say(fake_api, USER, "1,2")
        await say(fake_api, USER, "/back")
        ticked = [label for label, _ in fake_api.last_message(USER).buttons() if label[0] == "☑"]
        assert len(ticked) == 2, "the picks are still ticked"
        await say(fake_api, USER, "/back")
        assert "Your answer was: No" in last_text(fake_api, USER)
        await say(fake_api, USER, "/restart")
        assert "Start again from the first question?" in last_text(fake_api, USER)
        await tap(fake_api, USER, "No, carry on")
        assert stored_answers(db) != {}, "nothing was cleared"
        await say(fake_api, USER, "/help")
        listed = last_text(fake_api, USER)
        for command in ("/start", "/language", "/help", "/back", "/restart", "/summary"):
            assert command in listed
        for command in ("/privacy", "/forget"):
            assert command in listed
        await say(fake_api, USER, "/restart")
        await tap(fake_api, USER, "Yes, start again")
        assert "Question 1 of" in last_text(fake_api, USER)


# -- 10. labels cut off on small phones ------------------------------------------------


async def test_every_button_fits_a_small_phone(fake_api: FakeBotAPI, db: Path) -> None:
    """Welsh and English buttons the bot sends keep to 32 characters (after tick and number)."""
    async with running(fake_api, db):
        for locale, user in (("Cymraeg", USER), ("English", USER + 1)):
            await say(fake_api, user, "/start plan", language=locale)
            for answer in ("x", "6", "1", "1", "1", "2", "3"):
                await say(fake_api, user, answer)
            await result_by_buttons(fake_api, user, "x")
            await say(fake_api, user, "/start check", language=locale)
            await result_by_buttons(fake_api, user, "x")
            await say(fake_api, user, "/start")
    sent = [
        button["text"]
        for call in fake_api.calls
        if isinstance(call.params.get("reply_markup"), dict)
        for row in call.params["reply_markup"].get("inline_keyboard", [])
        for button in row
    ]
    labels = [re.sub(r"^(?:[☐☑] )?(?:\d+\. )?", "", label) for label in sent]
    assert len(labels) > 50
    assert [label for label in labels if len(label) > 32] == []


def test_the_loader_flags_a_label_over_32_characters(project: Path) -> None:
    """A 33-character Welsh label is a warning with its file and line, not a cut-off button."""
    from bot.sources import read_place, resolve

    plan = project / "content" / "cy" / "plan.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(
        text.replace("plan.o.people.yes: ", "plan.o.people.yes: Ydyn, wir, ", 1), encoding="utf-8"
    )
    findings = [str(f) for f in read_place(resolve(project)).findings]
    assert any(
        "plan.o.people.yes" in f and "about 32" in f and "content/cy/plan.yaml:" in f
        for f in findings
    ), findings
