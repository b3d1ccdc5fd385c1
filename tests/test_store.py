"""The SQLite store: exactly-once updates, versioned writes, migrations, owner-only file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.store.sqlite import MIGRATIONS, Applied, Conversation, SQLiteStore

from support import applied, rows_about


@pytest.fixture
async def store(tmp_path: Path):
    opened = await SQLiteStore.open(tmp_path / "sub" / "db.sqlite3")
    yield opened
    await opened.close()


async def test_file_is_owner_only_and_schema_current(store: SQLiteStore) -> None:
    """The database file is readable by its owner only, in WAL mode, at the latest schema."""
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert await store.schema_version() == len(MIGRATIONS)
    async with store._db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"


async def test_apply_once_per_update(store: SQLiteStore) -> None:
    """An update id is applied once; a second apply of it writes nothing."""
    new = Conversation(7, user_id=7, session={"a": 1})
    assert await store.apply(1, new) is Applied.APPLIED
    again = Conversation(7, user_id=7, session={"a": 2}, version=1)
    assert await store.apply(1, again) is Applied.DUPLICATE
    loaded = await store.load(7)
    assert (loaded.session, loaded.version) == ({"a": 1}, 1)


async def test_stale_version_is_a_conflict(store: SQLiteStore) -> None:
    """A write computed from an older version is refused, so no answer is overwritten."""
    await store.apply(1, Conversation(7, session={"step": 1}))
    first = await store.load(7)
    assert (
        await store.apply(2, Conversation(7, session={"step": 2}, version=first.version))
        is Applied.APPLIED
    )
    stale = Conversation(7, session={"step": "lost"}, version=first.version)
    assert await store.apply(3, stale) is Applied.CONFLICT
    assert (await store.load(7)).session == {"step": 2}
    assert not applied(store.path, 3), "a refused update is not recorded, so it can be retried"


async def test_two_new_rows_for_one_chat_conflict(store: SQLiteStore) -> None:
    """Two first writes for the same chat: the second is a conflict, not a duplicate row."""
    assert await store.apply(1, Conversation(9, session={"x": 1})) is Applied.APPLIED
    assert await store.apply(2, Conversation(9, session={"x": 2})) is Applied.CONFLICT


async def test_reopen_keeps_data_and_runs_no_migration_twice(tmp_path: Path) -> None:
    """Reopening the file keeps conversations and the schema version."""
    path = tmp_path / "db.sqlite3"
    first = await SQLiteStore.open(path)
    await first.apply(5, Conversation(3, locale="en", session={"q": "x"}))
    await first.close()
    second = await SQLiteStore.open(path)
    try:
        loaded = await second.load(3)
        assert (loaded.locale, loaded.session) == ("en", {"q": "x"})
        assert applied(second.path, 5)
    finally:
        await second.close()


async def test_forget_and_purge(store: SQLiteStore) -> None:
    """forget removes every row about a person; purge removes idle conversations."""
    await store.apply(1, Conversation(11, user_id=11, session={}), now=100.0)
    await store.apply(2, Conversation(12, user_id=12, session={}), now=5000.0)
    assert rows_about(store.path, 11) == 2
    assert await store.forget(11) == 2
    assert rows_about(store.path, 11) == 0
    assert await store.purge(idle_before=1000.0) == 0
    assert await store.purge(idle_before=6000.0) == 1
    assert (await store.load(12)).version == 0


async def test_events_are_written_with_their_update_exactly_once(store: SQLiteStore) -> None:
    """Usage events commit with the update that caused them, and not again for a duplicate."""
    from bot.store.usage import Event, EventKind

    events = [Event("plan", EventKind.STARTED), Event("plan", EventKind.ENTERED, "about")]
    assert await store.apply(1, Conversation(5, session={}), 10.0, events) is Applied.APPLIED
    again = Conversation(5, session={}, version=1)
    assert await store.apply(1, again, 11.0, events) is Applied.DUPLICATE
    assert await store.events_since(0) == [
        ("plan", "started", None, None),
        ("plan", "entered", "about", None),
    ]


async def test_an_older_database_is_migrated_in_place(tmp_path: Path) -> None:
    """A database at schema 2 with a conversation is upgraded and keeps working."""
    import sqlite3

    from bot.store.sqlite import _statements

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as con:
        for script in MIGRATIONS[:2]:
            for statement in _statements(script):
                con.execute(statement)
        con.execute(
            "INSERT INTO conversations (chat_id, version, created_at, updated_at, session) "
            "VALUES (1, 3, 0, 0, '{\"x\": 1}')"
        )
        con.execute("PRAGMA user_version = 2")
    store = await SQLiteStore.open(path)
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        loaded = await store.load(1)
        assert (loaded.session, loaded.version) == ({"x": 1}, 3)
        assert await store.apply(9, loaded) is Applied.APPLIED
        assert applied(store.path, 9)
    finally:
        await store.close()
