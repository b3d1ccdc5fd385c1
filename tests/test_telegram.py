"""The real python-telegram-bot Application against a fake Bot API over HTTP, on real SQLite."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from fakebotapi import FakeBotAPI
from support import Database, rows_about
from support import rows as stored_rows
from telegram_support import captured_log, last_text, running, say, tap, with_keyboard

USER = 1001
FOOTPATH = ["Closing the footpath by the school", "6", "3", "1", "2", "3"]
"""Typed answers for the staff flow: place not given, decision already made by us, not a
handover, people never asked."""


@pytest.fixture
def db(database: Database) -> Database:
    """Each test on a SQLite file, then on a PostgreSQL database."""
    return database


async def test_conversation_by_buttons_reaches_a_recommendation(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """Tapping through the menu and the options ends in the result, first line the level."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start")
        assert "What would you like to do?" in last_text(fake_api, USER)
        await tap(fake_api, USER, "Plan")
        assert "Question 1 of" in last_text(fake_api, USER)
        await say(fake_api, USER, "A new surgical procedure")
        await tap(fake_api, USER, "Rather not say")
        await tap(fake_api, USER, "Yes, it's open")
        await tap(fake_api, USER, "Yes")  # power can be shared
        await tap(fake_api, USER, "2 to 6 months")
        await tap(fake_api, USER, "No")  # not a handover
        await tap(fake_api, USER, "Yes, mostly")  # needs specialist judgement
        while not any("Recommendation:" in (t or "") for t in fake_api.chat(USER).texts):
            buttons = fake_api.last_message(USER).buttons()
            assert buttons, f"dead end at: {last_text(fake_api, USER)!r}"
            await tap(fake_api, USER, buttons[0][0])
            if any(label == "✓ Done" for label, _ in buttons):
                await tap(fake_api, USER, "✓ Done")  # a pick-all-that-apply question
        result = next(m for m in fake_api.chat(USER).visible if "Recommendation:" in (m.text or ""))
        assert result.text.startswith("Recommendation: Consult")
        assert {"type": "bold", "offset": 0, "length": len("Recommendation: Consult")} in [
            {k: e[k] for k in ("type", "offset", "length")} for e in result.entities
        ]
        answered = next(
            m for m in fake_api.chat(USER).messages if (m.text or "").startswith("Question 3")
        )
        assert answered.text.endswith("→ Yes, it's open")
        assert [m.message_id for m in with_keyboard(fake_api, USER)] == [
            fake_api.last_message(USER).message_id
        ], "only the latest message keeps buttons"


async def test_conversation_by_typing(fake_api: FakeBotAPI, db: Database) -> None:
    """Typed numbers and words answer as buttons do; a deep link opens the flow directly."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        assert "Question 1 of" in last_text(fake_api, USER)
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        assert any(
            (t or "").startswith("Recommendation: Inform") for t in fake_api.chat(USER).texts
        )


async def test_unexpected_text_gets_a_hint_and_changes_nothing(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """An answer that fits no option is refused with a hint; the question stays open."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        await say(fake_api, USER, "skip")
        await say(fake_api, USER, "perhaps")
        assert "Please pick one of the options" in last_text(fake_api, USER), "hint in question"
        assert last_text(fake_api, USER).startswith("Question 3"), "the question, buttons kept"
        await say(fake_api, USER, "It's already made")
        assert last_text(fake_api, USER).startswith("Question 4")


async def test_stale_button_press_changes_nothing(fake_api: FakeBotAPI, db: Database) -> None:
    """A press on an earlier question's button gets a 'moved on' answer and no state change."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        question2 = fake_api.last_message(USER)
        await say(fake_api, USER, "1")
        session_before = _session(db)
        fake_api.press(USER, "a:2:2", message_id=question2.message_id, forged=True)
        await fake_api.wait_idle()
        answers = fake_api.chat(USER).callback_answers
        assert answers
        assert "moved on" in answers[-1].get("text", "")
        assert _session(db) == session_before


async def test_forged_callback_data_changes_nothing(fake_api: FakeBotAPI, db: Database) -> None:
    """Callback data naming no real option, or the wrong question, is answered and ignored."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        current = fake_api.last_message(USER)
        before = _session(db)
        answered_before = len(fake_api.chat(USER).callback_answers)
        for data in ("a:2:99", "a:7:0", "zz", "t:2:0", "f:nope", "a:2:-1", "a:2"):
            fake_api.press(USER, data, message_id=current.message_id, forged=True)
        await fake_api.wait_idle()
        assert _session(db) == before
        assert len(fake_api.chat(USER).callback_answers) == answered_before + 7


async def test_duplicate_update_has_no_second_effect(fake_api: FakeBotAPI, db: Database) -> None:
    """The same update delivered twice is applied once and answered once."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        update_id = await say(fake_api, USER, "x")
        sent = len(fake_api.chat(USER).messages)
        state = _session(db)
        fake_api.redeliver(update_id)
        await fake_api.wait_idle()
        assert len(fake_api.chat(USER).messages) == sent
        assert _session(db) == state


async def test_restart_resumes_at_the_same_question(fake_api: FakeBotAPI, db: Database) -> None:
    """A bot stopped mid-conversation and started again on the same database carries on."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        await say(fake_api, USER, "skip")
        await say(fake_api, USER, "3")
    assert fake_api.last_message(USER).text.startswith("Question 4")
    async with running(fake_api, db):
        for answer in ("1", "2", "3"):
            await say(fake_api, USER, answer)
        assert any(
            (t or "").startswith("Recommendation: Inform") for t in fake_api.chat(USER).texts
        )
        answers = _session(db)["answers"]
        assert answers == {
            "about": "the footpath",
            "where": "skip",
            "decision": "made",
            "decider": "us",
            "handover": "no",
            "asked_before": "no",
        }


async def test_twenty_users_at_once_keep_their_own_answers(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """Twenty interleaved conversations end with each user's own answers, none crossed or lost."""
    users = range(2000, 2020)
    async with running(fake_api, db):
        for user in users:
            fake_api.send_text(user, "/start plan")
        await fake_api.wait_idle()
        for user in users:
            fake_api.press(user, "lang:en:plan")
        await fake_api.wait_idle()
        for step in range(6):
            for user in users:
                answers = [f"decision of user {user}", "6", "3", "1", "2", str(1 + user % 3)]
                fake_api.send_text(user, answers[step])
        await fake_api.wait_idle(timeout=20)
    rows = dict(stored_rows(db, "SELECT chat_id, last_result FROM conversations"))
    for user in users:
        import json

        result = json.loads(rows[user])
        assert result["answers"] == {
            "about": f"decision of user {user}",
            "where": "skip",
            "decision": "made",
            "decider": "us",
            "handover": "no",
            "asked_before": ["told", "not_told", "no"][user % 3],
        }
        assert any((t or "").startswith("Recommendation: ") for t in fake_api.chat(user).texts)


async def test_non_text_messages_get_a_polite_reply(fake_api: FakeBotAPI, db: Database) -> None:
    """Photos, stickers, voice, files and locations are answered, not ignored or crashed on."""
    kinds = {
        "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        },
        "voice": {"file_id": "v", "file_unique_id": "v", "duration": 1},
        "document": {"file_id": "d", "file_unique_id": "d"},
        "location": {"latitude": 51.5, "longitude": -3.2},
    }
    async with running(fake_api, db):
        await say(fake_api, USER, "/start")
        for kind, payload in kinds.items():
            fake_api.send_update(
                {
                    "message": {
                        "chat": {"id": USER, "type": "private"},
                        "from": {"id": USER, "is_bot": False, "first_name": "U"},
                        kind: payload,
                    }
                }
            )
        await fake_api.wait_idle()
    texts = fake_api.chat(USER).texts
    assert (
        texts.count("I can only read text and buttons. Please type your answer or tap a button.")
        == 5
    )


async def test_rate_limit_429_is_retried_without_losing_the_reply(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """A 429 with retry_after from sendMessage is waited out and the message still arrives."""
    async with running(fake_api, db):
        fake_api.fail_next("sendMessage", status=429, retry_after=1)
        await say(fake_api, USER, "/start plan")
        await fake_api.wait_for(
            lambda calls: sum(c.method == "sendMessage" and c.ok for c in calls) >= 2, timeout=10
        )
    statuses = [c.status for c in fake_api.calls_of("sendMessage")]
    assert statuses[0] == 429
    assert "Question 1 of" in (fake_api.last_message(USER).text or "")


async def test_failed_command_menu_registration_is_not_fatal(
    fake_api: FakeBotAPI, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """If setMyCommands fails the bot logs a warning and serves anyway."""
    fake_api.fail_next("setMyCommands", status=500)
    with caplog.at_level(logging.WARNING):
        async with running(fake_api, db):
            await say(fake_api, USER, "/start plan")
            assert "Question 1 of" in last_text(fake_api, USER)
    assert "could not register the command menu" in caplog.text


async def test_calls_without_files_send_json(fake_api: FakeBotAPI, db: Database) -> None:
    """The transport posts a JSON body (cheaper than a form) and Telegram's answers still work."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        await tap(fake_api, USER, "Rather not say")
        await tap(fake_api, USER, "already made")
    calls = [c for c in fake_api.calls if c.method != "getUpdates"]
    assert {c.method for c in calls} >= {"sendMessage", "editMessageText", "answerCallbackQuery"}
    assert {c.content_type for c in calls} == {"application/json"}
    assert [(c.method, c.description) for c in calls if not c.ok] == []


async def test_user_text_is_escaped_in_html(fake_api: FakeBotAPI, db: Database) -> None:
    """Markup typed by a person is shown as typed, never parsed as HTML."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "<b>bold</b> & <script>")
        for answer in FOOTPATH[1:]:
            await say(fake_api, USER, answer)
        await tap(fake_api, USER, "Your answers")
    result = [t for t in fake_api.chat(USER).texts if t and "Your answers" in t]
    assert result
    assert "<b>bold</b> & <script>" in result[-1]


async def test_over_long_text_is_refused_with_its_limit(fake_api: FakeBotAPI, db: Database) -> None:
    """A free-text answer over the question's limit is refused and says the limit."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x" * 1200)
    question = last_text(fake_api, USER)
    assert "the limit here is 300" in question, "the question's own limit, in the question"
    assert "1000" not in question


async def test_multi_select_by_toggles_and_done(fake_api: FakeBotAPI, db: Database) -> None:
    """Toggling options edits the keyboard in place; Done answers with the picks."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        # place not given, open, power yes, over six months, not a handover, no specialist
        for answer in ("x", "6", "1", "1", "3", "2", "3"):
            await say(fake_api, USER, answer)
        message = fake_api.last_message(USER)
        unticked = [label for label, _ in message.buttons() if label.startswith("☐ ")]
        assert len(unticked) == 6, "the resources question offers six options, none picked"
        await tap(fake_api, USER, "☐ ")
        await tap(fake_api, USER, "☐ ")
        labels = [label for label, _ in fake_api.chat(USER).message(message.message_id).buttons()]
        assert sum(label.startswith("☑") for label in labels) == 2
        await tap(fake_api, USER, "✓ Done")
        stored = _session(db)
        assert len(stored["answers"]["resources"]) == 2
        assert stored["question"] == "accountable"


async def test_back_restart_summary_help_privacy(fake_api: FakeBotAPI, db: Database) -> None:
    """The commands work mid-conversation and after the result."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        await say(fake_api, USER, "/back")
        assert "Question 1 of" in last_text(fake_api, USER)
        await say(fake_api, USER, "/summary")
        assert "There is no result yet" in (fake_api.chat(USER).texts[-2] or "")
        assert "Question 1 of" in last_text(fake_api, USER), "the waiting question again"
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        await say(fake_api, USER, "/summary")
        assert last_text(fake_api, USER).startswith("Recommendation: Inform") or any(
            "Recommendation: Inform" in (t or "") for t in fake_api.chat(USER).texts[-3:]
        )
        await say(fake_api, USER, "/help")
        assert "/back" in last_text(fake_api, USER)
        await say(fake_api, USER, "/privacy")
        assert "/forget" in last_text(fake_api, USER)
        await say(fake_api, USER, "/restart")
        assert "Question 1 of" in last_text(fake_api, USER)


async def test_forget_deletes_every_row_after_confirmation(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """/forget asks first; 'No' keeps everything, 'Yes' leaves no row about the user."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "No, keep it")
        assert rows_about(db, USER) > 0
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "Yes, delete it")
        assert "deleted" in last_text(fake_api, USER)
    assert rows_about(db, USER) == 0


async def test_group_chats_get_a_pointer_and_store_nothing(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """A command in a group is answered with a link to a private chat; nothing is stored."""
    async with running(fake_api, db):
        fake_api.send_text(USER, "/start plan", chat_id=-500, chat_type="group")
        await fake_api.wait_idle()
    assert "private chats" in (fake_api.last_message(-500).text or "")
    assert rows_about(db, USER) == 0
    assert rows_about(db, -500) == 0


async def test_idle_session_expires_by_stored_time(fake_api: FakeBotAPI, db: Database) -> None:
    """A conversation idle past the limit is cleared on the next message, even across restarts."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "x")
    later = __import__("time").time() + 73 * 3600
    async with running(fake_api, db, clock=lambda: later):
        await say(fake_api, USER, "1")
    texts = fake_api.chat(USER).texts
    assert any("idle for more than 72 hours" in (t or "") for t in texts)
    assert _session(db) is None


async def test_token_never_appears_in_logs(fake_api: FakeBotAPI, db: Database) -> None:
    """With the HTTP client logging every URL, the redacting formatter hides the token."""
    fake_api.fail_next("sendMessage", status=500)
    with captured_log([fake_api.token]) as stream:
        async with running(fake_api, db):
            await say(fake_api, USER, "/start plan")
            await asyncio.sleep(0.1)
    logged = stream.getvalue()
    assert "/bot[redacted]/getupdates" in logged.lower(), "the URL was logged: redaction was tried"
    assert fake_api.token not in logged
    assert fake_api.token.split(":")[1] not in logged


def _session(db: Database) -> dict | None:
    import json

    found = stored_rows(db, "SELECT session FROM conversations WHERE chat_id = ?", USER)
    return json.loads(found[0][0]) if found and found[0][0] else None


async def test_text_after_the_result_points_to_starting_again(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """A message after the advice says how to start again and shows the menu: no dead end."""
    async with running(fake_api, db):
        for answer in ("/start plan", *FOOTPATH):
            await say(fake_api, USER, answer)
        await say(fake_api, USER, "what now?")
        texts = fake_api.chat(USER).texts
    assert "Tap Start again, or send /restart, to begin again." in (texts[-1] or "")


async def test_forget_leaves_no_answer_in_the_files(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """After /forget the typed answer is in neither the database file nor its WAL, and no
    audit row names the person (SQLite: secure_delete and a truncating checkpoint)."""
    db = tmp_path / "advisor.sqlite3"
    secret = "Closing the zebra crossing on Quillfeather Lane"
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, secret)
        await say(fake_api, USER, "/stats")
        await say(fake_api, USER, "/forget")
        await tap(fake_api, USER, "Yes, delete it")
        for path in await asyncio.to_thread(lambda: list(tmp_path.glob("advisor.sqlite3*"))):
            assert secret.encode() not in await asyncio.to_thread(path.read_bytes), path.name
        with sqlite3.connect(db) as con:
            # Their refused /stats was audited without their id in the first place.
            assert con.execute(
                "SELECT COUNT(*) FROM audit WHERE user_id = ?", (USER,)
            ).fetchone() == (0,)


async def test_a_forged_forget_press_deletes_nothing(fake_api: FakeBotAPI, db: Database) -> None:
    """'forget:yes' pressed on a message that was never the confirmation changes nothing."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start")
        forged_press(fake_api, "forget:yes", fake_api.last_message(USER).raw)
        await fake_api.wait_idle()
        assert rows_about(db, USER) > 0
        await say(fake_api, USER, "/forget")
        forged_press(fake_api, "forget:yes:0000", fake_api.last_message(USER).raw)
        await fake_api.wait_idle()
        assert rows_about(db, USER) > 0
        await tap(fake_api, USER, "Yes, delete it")
    assert rows_about(db, USER) == 0


async def test_a_press_by_someone_else_in_a_private_chat_is_refused(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """A forged update whose sender is not the private chat's person changes nothing."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        before = stored_rows(db, "SELECT version, session FROM conversations")
        fake_api.send_update(
            {
                "message": {
                    "from": {"id": 999, "is_bot": False, "first_name": "M"},
                    "chat": {"id": USER, "type": "private"},
                    "text": "someone else's words",
                }
            }
        )
        await fake_api.wait_idle()
        assert stored_rows(db, "SELECT version, session FROM conversations") == before


async def test_a_failed_chat_action_does_not_stop_the_pdf(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """sendChatAction is cosmetic: when it fails the document is still sent."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        for answer in FOOTPATH:
            await say(fake_api, USER, answer)
        fake_api.fail_next("sendChatAction", status=500)
        await tap(fake_api, USER, "PDF", timeout=60)  # a loaded machine draws slowly
        await fake_api.wait_for(lambda calls: any(c.method == "sendDocument" for c in calls), 30)
    assert [c.ok for c in fake_api.calls_of("sendChatAction")] == [False]


async def test_a_result_that_could_not_be_sent_is_announced(
    fake_api: FakeBotAPI, db: Database
) -> None:
    """When Telegram refuses a reply, the person is told, and /summary has it again."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        for answer in FOOTPATH[:-1]:
            await say(fake_api, USER, answer)
        fake_api.fail_next("sendMessage", status=400, description="Bad Request: can't parse")
        await say(fake_api, USER, FOOTPATH[-1])
        assert "could not be sent" in last_text(fake_api, USER)
        await say(fake_api, USER, "/summary")
        assert any("Recommendation:" in (t or "") for t in fake_api.chat(USER).texts[-3:])


def forged_press(api: FakeBotAPI, data: str, message: dict) -> None:
    """A press of a button the message never had, as a hostile client can send."""
    user = {"id": USER, "is_bot": False, "first_name": "U"}
    query = {"id": "1", "from": user, "message": message, "chat_instance": "1", "data": data}
    api.send_update({"callback_query": query})
