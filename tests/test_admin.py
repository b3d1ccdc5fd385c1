"""Admins over Telegram: /reload swaps flows safely, /stats shows anonymous figures, all audited."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from test_crash import free_port

from bot.child_loader import load_in_child
from bot.flows.catalog import LoadReport

from fakebotapi import FakeBotAPI
from support import fixture_catalog
from telegram_support import last_text, running, say

ADMIN = 7
USER = 8


def admin_bot(api: FakeBotAPI, db: Path, project: Path) -> AbstractAsyncContextManager[object]:
    """The bot on the test's copy of the project, with its own loader; ADMIN is an admin."""
    return running(api, db, load_catalog=loader(project), admin_ids=frozenset({ADMIN}))


def loader(project: Path) -> Callable[[], Awaitable[LoadReport]]:
    """The bot's own loader, in its child process, on the test's copy of the project."""
    return lambda: load_in_child(project)


async def reload(api: FakeBotAPI) -> str:
    """/reload from the admin, and the answer it gets once the check (in the background) ends."""
    before = len(api.chat(ADMIN).texts)
    await say(api, ADMIN, "/reload")
    await api.wait_for(
        lambda _: any((t or "").startswith("Reload") for t in api.chat(ADMIN).texts[before:]),
        timeout=30,
    )
    await api.wait_idle()
    return last_text(api, ADMIN)


def audit(db: Path) -> list[tuple[int | None, str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT user_id, action, result FROM audit ORDER BY rowid").fetchall()


def edit_text(project: Path, old: str, new: str, file: str = "content/en/plan.yaml") -> None:
    path = project / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def test_non_admin_reload_is_refused_and_audited(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """Anyone not in ADVISOR_ADMIN_IDS gets a plain refusal, and the attempt is logged,
    without their id: the audit log keeps admins' rows, and they are no admin."""
    db = tmp_path / "db.sqlite3"
    async with admin_bot(fake_api, db, project):
        await say(fake_api, USER, "/reload")
        assert last_text(fake_api, USER) == "That command is for admins only."
        await say(fake_api, USER, "/stats")
    assert audit(db) == [(None, "reload", "denied"), (None, "stats", "denied")]


async def test_valid_edit_is_live_for_the_next_message(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """After a valid edit and /reload, the very next question shows the new wording."""
    db = tmp_path / "db.sqlite3"
    async with admin_bot(fake_api, db, project):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        edit_text(project, "plan.q.where: ", "plan.q.where: Edited - ")
        assert (await reload(fake_api)).startswith("Reloaded: 2 flow(s)")
        await say(fake_api, USER, "/back")
        await say(fake_api, USER, "the footpath")
        assert "Edited - " in last_text(fake_api, USER)
    assert audit(db)[-1][:2] == (ADMIN, "reload")
    assert audit(db)[-1][2].startswith("ok: 2 flow(s)")


async def test_invalid_edit_is_refused_and_the_old_flow_keeps_serving(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """A broken flow is refused with file:line findings; conversations go on unchanged."""
    db = tmp_path / "db.sqlite3"
    async with admin_bot(fake_api, db, project):
        await say(fake_api, USER, "/start plan")
        edit_text(project, "start: about", "start: nowhere", "flows/plan.yaml")
        reply = await reload(fake_api)
        assert reply.startswith("Reload refused: 1 error(s).")
        assert "plan.yaml:" in reply
        assert "start question 'nowhere' is not defined" in reply
        await say(fake_api, USER, "the footpath")
        assert last_text(fake_api, USER).startswith("Question 2")
    assert audit(db)[-1] == (ADMIN, "reload", "refused: 1 error(s)")


async def test_conversation_across_an_incompatible_change_keeps_what_fits(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """When an answer no longer fits, the person is told and resumes there, earlier answers kept."""
    db = tmp_path / "db.sqlite3"
    async with admin_bot(fake_api, db, project):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        await say(fake_api, USER, "skip")
        await say(fake_api, USER, "made")
        assert last_text(fake_api, USER).startswith("Question 4")
        edit_text(project, "      - id: made", "      - id: decided", "flows/plan.yaml")
        edit_text(project, "version: 1", "version: 2", "flows/plan.yaml")
        flow = (
            (project / "flows/plan.yaml")
            .read_text()
            .replace("{fact: decision, is: made}", "{fact: decision, is: decided}")
        )
        (project / "flows/plan.yaml").write_text(flow)
        reply = await reload(fake_api)
        assert reply.startswith("Reloaded"), reply
        await say(fake_api, USER, "1")
        texts = fake_api.chat(USER).texts
        assert any("The questions have changed since you started" in (t or "") for t in texts)
    with sqlite3.connect(db) as con:
        import json

        session = json.loads(con.execute("SELECT session FROM conversations").fetchone()[0])
    assert session["answers"]["about"] == "the footpath"
    assert session["version"] == 2


async def test_compatible_change_continues_silently(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """A wording change with a new version lets people carry on where they were, unprompted."""
    db = tmp_path / "db.sqlite3"
    async with admin_bot(fake_api, db, project):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        await say(fake_api, USER, "skip")
        await say(fake_api, USER, "made")
        edit_text(project, "version: 1", "version: 2", "flows/plan.yaml")
        await reload(fake_api)
        for answer in ("1", "2", "3"):
            await say(fake_api, USER, answer)
        assert any(
            (t or "").startswith("Recommendation: Inform") for t in fake_api.chat(USER).texts
        )
        assert not any("have changed" in (t or "") for t in fake_api.chat(USER).texts)


async def test_stats_show_anonymous_figures(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """/stats counts starts, finishes, levels, cautions and where people stopped, per flow."""
    db = tmp_path / "db.sqlite3"
    async with running(fake_api, db, admin_ids=frozenset({ADMIN})):
        for answer in ("/start plan", "the footpath", "6", "3", "1", "2", "2"):
            await say(fake_api, USER, answer)
        await say(fake_api, USER + 1, "/start plan")
        await say(fake_api, USER + 1, "x")
        await say(fake_api, ADMIN, "/stats 7")
        text = last_text(fake_api, ADMIN)
    assert "Usage over the last 7 days" in text
    assert "plan: 2 started, 1 finished" in text
    assert "recommendations: inform 1" in text
    assert "fixed_outcome 1" in text
    assert "no_feedback 1" in text
    assert "stopped at: where 1" in text
    with sqlite3.connect(db) as con:
        columns = [row[1] for row in con.execute("PRAGMA table_info(events)")]
    assert columns == ["at", "flow", "kind", "question", "value"], "no user or chat in events"
    assert audit(db) == [(ADMIN, "stats", "ok (7 days)")]


async def test_a_slow_reload_holds_up_no_one(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """The check runs beside the updates: others are answered while it runs."""

    async def slow() -> LoadReport:
        await asyncio.sleep(2)
        return await load_in_child(project)

    db = tmp_path / "db.sqlite3"
    async with running(
        fake_api, db, catalog=fixture_catalog(), load_catalog=slow, admin_ids=frozenset({ADMIN})
    ):
        await say(fake_api, ADMIN, "/reload")
        await say(fake_api, USER, "/start plan")
        assert not any((t or "").startswith("Reload") for t in fake_api.chat(ADMIN).texts)
        assert "Question 1 of" in last_text(fake_api, USER)
        await fake_api.wait_for(
            lambda _: any(
                (t or "").startswith("Reloaded: 2 flow(s)") for t in fake_api.chat(ADMIN).texts
            ),
            timeout=30,
        )
    assert audit(db)[-1][:2] == (ADMIN, "reload")


async def test_many_reloads_at_once_make_two_loads_and_every_admin_is_answered(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """Thirty SIGHUPs or /reloads while a load runs share the next load: one child
    process at a time, not thirty (each is a few hundred megabytes)."""
    loads = 0
    running_now = 0
    most = 0

    async def counted() -> LoadReport:
        """A load that takes a moment (the child process is not what is tested here)."""
        nonlocal loads, running_now, most
        loads += 1
        running_now += 1
        most = max(most, running_now)
        try:
            await asyncio.sleep(0.3)
            return LoadReport(fixture_catalog(), [])
        finally:
            running_now -= 1

    db = tmp_path / "db.sqlite3"
    async with running(
        fake_api, db, catalog=fixture_catalog(), load_catalog=counted, admin_ids=frozenset({ADMIN})
    ) as bot:
        for _ in range(30):
            bot.reload_on_signal()
        await reload(fake_api)
        await fake_api.wait_for(lambda _: not bot._jobs, timeout=30)
    assert most == 1, "one load at a time"
    assert loads <= 2, f"{loads} loads for 31 requests"
    assert [row[1] for row in audit(db)].count("reload (SIGHUP)") == 30, "each is audited"


async def test_a_reload_delivered_twice_runs_once(
    fake_api: FakeBotAPI, tmp_path: Path, project: Path
) -> None:
    """A copy of an admin command (Telegram's resend to a webhook, or to another replica)
    does nothing: the command is recorded as applied before it runs."""
    db = tmp_path / "db.sqlite3"
    port = free_port()

    async def load() -> LoadReport:
        return LoadReport(fixture_catalog(), [])

    async with running(
        fake_api,
        db,
        load_catalog=load,
        admin_ids=frozenset({ADMIN}),
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_secret="admin-secret",
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ) as bot:
        first = await say(fake_api, ADMIN, "/reload")
        await fake_api.wait_for(
            lambda _: any((t or "").startswith("Reload") for t in fake_api.chat(ADMIN).texts),
            timeout=30,
        )
        fake_api.redeliver(first)
        fake_api.redeliver(first)
        await fake_api.wait_confirmed(timeout=10)
        await fake_api.wait_idle(quiet=0.5)
        assert not bot._jobs, "no second reload was started"
    assert [row[1] for row in audit(db)].count("reload") == 1
    assert sum((t or "").startswith("Reloaded") for t in fake_api.chat(ADMIN).texts) == 1
