"""A question marked `remember` (where the work happens) is asked once per person."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.uitext import UI
from bot.channels.telegram.dialogue import result_key
from bot.sources import PROJECT_ROOT

from fakebotapi import FakeBotAPI
from support import Database, fixture_catalog, fixture_env, walk
from telegram_support import last_text, running, say, tap

FOOTPATH = ["closing the footpath", "wales", "made", "us", "no", "no"]
WHERE = "Where does this work happen?"
USER = 4242


def test_remembered_answer_fills_the_question_in_the_next_session() -> None:
    """After one session, the next starts with the place filled in and shown in the answers."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    first = walk("plan", FOOTPATH, catalog)
    assert first.kept == {"where": "wales"}
    again = engine.start(flow, engine.carried(first.to_json()))
    step = engine.answer(flow, again, "the car park", "en", "skip")
    assert step.session.question == "decision", "the place is not asked again"
    assert step.session.answers["where"] == "wales"
    back = engine.back(flow, step.session)
    assert back.session.question == "where", "going back can change it"


def test_remembered_answer_carries_into_the_other_flow() -> None:
    """The community flow asks the same question, so it is filled in there too."""
    catalog = fixture_catalog()
    first = walk("plan", FOOTPATH, catalog)
    flow = catalog.flows["check"]
    session = engine.start(flow, engine.carried(first.to_json()))
    session = engine.answer(flow, session, "the bus routes", "en", "skip").session
    assert session.question == "asked"
    assert session.answers["where"] == "wales"


def test_kept_answers_survive_storage_and_old_sessions_still_load() -> None:
    """The remembered answers round-trip as JSON; a session stored before them reads as none."""
    session = walk("plan", FOOTPATH)
    assert Session.from_json(session.to_json()) == session
    old = {k: v for k, v in session.to_json().items() if k != "kept"}
    assert Session.from_json(old).kept == {}
    assert engine.carried({"format": 99}) == {}


def test_resume_keeps_a_filled_in_answer() -> None:
    """A session whose place was filled in resumes unchanged on the same flow."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    first = walk("plan", FOOTPATH, catalog)
    session = engine.start(flow, first.kept)
    session = engine.answer(flow, session, "the car park", "en", "skip").session
    resumed, changed = engine.resume(flow, session)
    assert (resumed, changed) == (session, False)


def test_terminal_asks_the_place_once_across_restarts(advisor_project: Path) -> None:
    """In the terminal, `restart` keeps the place: the question appears once."""
    lines = "\n".join(["a footpath", "wales", "made", "us", "no", "no", "restart", "a car park"])
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--flow", "plan", "--no-files"],
        input=lines + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | fixture_env(advisor_project),
        timeout=120,
        check=True,
    ).stdout
    first, again = shown.split(fixture_catalog().text("en", UI.TERMINAL_RESTARTED))
    asked = re.compile(rf"Question \d+ of about \d+: {re.escape(WHERE)}")
    assert asked.search(first)
    assert f"Kept from last time: {WHERE} → Wales." in again
    assert not asked.search(again), "not asked again"
    assert "Is the decision still open?" in again


async def test_telegram_asks_the_place_once_per_conversation(
    fake_api: FakeBotAPI, database: Database
) -> None:
    """On Telegram the place is kept with the conversation and filled in next time."""
    async with running(fake_api, database):
        await say(fake_api, USER, "/start")
        await tap(fake_api, USER, "Plan")
        await say(fake_api, USER, "Closing the footpath")
        assert WHERE in last_text(fake_api, USER)
        await tap(fake_api, USER, "Wales")
        await tap(fake_api, USER, "It's already made")
        await say(fake_api, USER, "/restart")
        await tap(fake_api, USER, "Yes, start again")
        await say(fake_api, USER, "The car park")
        shown = last_text(fake_api, USER)
        assert "Is the decision still open?" in shown
        # Question 1, then 3: the question says why, and how to change it.
        assert shown.startswith("Question 3 of about")
        assert f"Kept from last time: {WHERE.rstrip('?')}? → Wales. Go back to change it." in shown
        asked = [t for t in fake_api.chat(USER).texts if t and WHERE in t and "Kept" not in t]
        assert len(asked) == 1
        await tap(fake_api, USER, "Open in part")
        assert "Kept from last time" not in last_text(fake_api, USER), "said once"


def test_the_note_goes_with_the_step_that_filled_it_in() -> None:
    """Only the question right after a filled-in one says so; back and storage clear it."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    first = walk("plan", FOOTPATH, catalog)
    fresh = walk("plan", FOOTPATH[:2], catalog)
    assert fresh.filled == (), "answered by the person, not filled in"
    again = engine.start(flow, engine.carried(first.to_json()))
    step = engine.answer(flow, again, "the car park", "en", "skip").session
    assert step.filled == ("where",)
    assert Session.from_json(step.to_json()).filled == ("where",)
    assert engine.back(flow, step).session.filled == ()
    assert engine.answer(flow, step, "made", "en", "skip", by_id=True).session.filled == ()


def test_resuming_keeps_whether_the_last_step_filled_anything_in() -> None:
    """A place picked by hand is never called 'kept from last time' after a resume, and the
    note never changes a result's key (its PDF and detail buttons)."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    by_hand = walk("plan", FOOTPATH[:2], catalog)
    assert by_hand.filled == ()
    resumed, changed = engine.resume(flow, by_hand)
    assert not changed
    assert resumed.filled == ()
    first = walk("plan", FOOTPATH, catalog)
    again = engine.start(flow, engine.carried(first.to_json()))
    filled = engine.answer(flow, again, "the car park", "en", "skip").session
    assert engine.resume(flow, filled)[0].filled == ("where",)
    assert result_key(replace(first, filled=("where",))) == result_key(first)
