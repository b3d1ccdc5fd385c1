"""Conversations kept in SQLite: the only authoritative state the bot has.

Each update is applied in one transaction that records its ``update_id`` and
writes the new conversation only if the stored version is still the one the
update was computed from. So an update delivered twice has no second effect,
two updates racing for one chat cannot overwrite each other's answer, and
several bot processes can share the file. The store holds JSON strings and
knows nothing of flows, sessions or Telegram.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.conversations import (
    COLUMNS,
    Applied,
    Conversation,
    NotADatabase,
    SchemaBehind,
    dumps,
    from_row,
)
from bot.store.usage import Event

BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 512
"""SQLite's page cache for the connection, in KiB (its default is 2,000). An
update touches a few pages: a conversation's row and the right-hand ends of the
append-only tables. The default cache filled with pages read once and added
about 1 MB to the bot's peak memory under the bench's load; a page that falls
out is read again from the operating system's file cache."""
SQLITE_HEADER = b"SQLite format 3\x00"
"""The first bytes of every SQLite database file (https://sqlite.org/fileformat.html)."""

MIGRATIONS: tuple[str, ...] = (
    # 1: conversations and the updates already applied
    """
    CREATE TABLE conversations (
        chat_id INTEGER PRIMARY KEY,
        user_id INTEGER,
        locale TEXT,
        session TEXT,
        last_result TEXT,
        prompt_message_id INTEGER,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX conversations_user ON conversations (user_id);
    CREATE INDEX conversations_updated ON conversations (updated_at);
    CREATE TABLE applied_updates (
        update_id INTEGER PRIMARY KEY,
        chat_id INTEGER,
        applied_at REAL NOT NULL
    );
    CREATE INDEX applied_updates_at ON applied_updates (applied_at);
    """,
    # 2: anonymous usage events and the admin audit log
    """
    CREATE TABLE events (
        at REAL NOT NULL,
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,
        question TEXT,
        value TEXT
    );
    CREATE INDEX events_at ON events (at);
    CREATE TABLE audit (
        at REAL NOT NULL,
        user_id INTEGER,
        action TEXT NOT NULL,
        result TEXT NOT NULL
    );
    """,
    # 3: one statement applies an update. Writing a conversation with a new
    # version records its update id and its usage events through triggers, so
    # the whole of it commits, or fails on a duplicate update id, as one
    # statement: a single round trip to the database thread per update.
    """
    ALTER TABLE conversations ADD COLUMN applied_update INTEGER;
    ALTER TABLE conversations ADD COLUMN pending_events TEXT;
    CREATE TRIGGER conversations_inserted AFTER INSERT ON conversations
    BEGIN
        INSERT INTO applied_updates (update_id, chat_id, applied_at)
            SELECT NEW.applied_update, NEW.chat_id, NEW.updated_at
            WHERE NEW.applied_update IS NOT NULL;
        INSERT INTO events (at, flow, kind, question, value)
            SELECT NEW.updated_at, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]')
            FROM json_each(NEW.pending_events) WHERE NEW.pending_events IS NOT NULL;
    END;
    CREATE TRIGGER conversations_updated AFTER UPDATE OF version ON conversations
    BEGIN
        INSERT INTO applied_updates (update_id, chat_id, applied_at)
            SELECT NEW.applied_update, NEW.chat_id, NEW.updated_at
            WHERE NEW.applied_update IS NOT NULL;
        INSERT INTO events (at, flow, kind, question, value)
            SELECT NEW.updated_at, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]')
            FROM json_each(NEW.pending_events) WHERE NEW.pending_events IS NOT NULL;
    END;
    """,
    # 4: the outbox, the replies of the last update applied, kept until sent
    """
    ALTER TABLE conversations ADD COLUMN outbox TEXT;
    ALTER TABLE conversations ADD COLUMN outbox_update INTEGER;
    """,
    # 5: the inbox, updates taken by long polling and not yet handled
    """
    CREATE TABLE inbox (
        update_id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        received_at REAL NOT NULL
    );
    """,
)


class _Rollback(Exception):
    """Undo the transaction and report ``outcome``."""

    def __init__(self, outcome: Applied) -> None:
        self.outcome = outcome


class SQLiteStore:
    """The ``Store`` for one SQLite file, through aiosqlite's worker thread."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.migrated = (0, 0)
        """Schema versions before and after the migrations run at open."""
        self._writing = asyncio.Lock()
        """One connection serves every chat at once; a write made while another
        coroutine's transaction is open would join (and could roll back with) it."""

    @classmethod
    async def open(cls, path: Path | str, *, read_only: bool = False) -> SQLiteStore:
        """Open (creating if need be) the database, readable by its owner only.

        ``read_only`` opens an existing file through SQLite's read-only mode
        and migrates nothing: a schema behind this code is ``SchemaBehind``.
        """
        path = Path(path)
        if read_only:
            await asyncio.to_thread(_check_file, path)
            db = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        else:
            await asyncio.to_thread(_prepare_file, path)
            db = await aiosqlite.connect(path, isolation_level=None)
        try:
            return await cls._prepared(db, path, read_only)
        except BaseException:
            # aiosqlite's thread would keep the process alive after the error.
            await db.close()
            raise

    @classmethod
    async def _prepared(cls, db: aiosqlite.Connection, path: Path, read_only: bool) -> SQLiteStore:
        """The connection's settings, then its schema: migrated, or only checked to read."""
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        store = cls(db, path)
        if read_only:
            found = await store.schema_version()
            if found < len(MIGRATIONS):
                raise SchemaBehind(found, len(MIGRATIONS))
            store.migrated = (found, found)
            return store
        await db.execute("PRAGMA secure_delete = ON")  # /forget leaves no readable answer
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        store.migrated = await store.migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a busy peer waits, not fails."""
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def migrate(self) -> tuple[int, int]:
        """Run the migrations not yet run; (version before, version after)."""
        current = await self.schema_version()
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            async with self._transaction() as db:
                for statement in _statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
        return current, max(current, len(MIGRATIONS))

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def serialised(self, chat_id: int) -> AsyncIterator[None]:
        """Nothing to hold across processes: the version check refuses a stale write,
        and one process per file is the supported way to run on SQLite."""
        yield

    async def announce_reload(self) -> None:
        """No other replica shares a SQLite file: nothing to tell."""

    async def listen_reloads(self, on_reload: Callable[[], Awaitable[None]]) -> None:
        """No other replica shares a SQLite file: nothing to hear."""

    async def load(self, chat_id: int) -> Conversation:
        """The chat's conversation, or an empty one at version 0."""
        rows = await self._db.execute_fetchall(
            f"SELECT {COLUMNS} FROM conversations WHERE chat_id = ?", (chat_id,)
        )
        for row in rows:
            return from_row(chat_id, row)
        return Conversation(chat_id)

    async def apply(
        self,
        update_id: int | None,
        new: Conversation,
        now: float | None = None,
        events: Sequence[Event] = (),
        outbox: str | None = None,
    ) -> Applied:
        """Record the update and write ``new`` if the chat is still at ``new.version``.

        One statement: the triggers of migration 3 add the update id (whose
        primary key refuses a second copy) and the events, so all of it
        commits together or not at all, the outbox with it. The stored
        version becomes ``new.version + 1``.
        """
        now = time.time() if now is None else now
        pending = (
            json.dumps([[e.flow, e.kind.value, e.question, e.value] for e in events])
            if events
            else None
        )
        values = (
            new.user_id,
            new.locale,
            dumps(new.session),
            dumps(new.last_result),
            new.prompt_message_id,
            new.version + 1,
            now,
            update_id,
            pending,
            outbox,
            update_id if outbox is not None else None,
        )
        try:
            async with self._writing:
                cursor = await self._write(new, values, now)
        except sqlite3.IntegrityError as exc:
            # Only the update id's key means "applied before"; any other refusal
            # (a constraint, a trigger) is a failure, never a silent drop.
            if "applied_updates.update_id" in str(exc):
                return Applied.DUPLICATE
            raise
        return Applied.APPLIED if cursor.rowcount == 1 else Applied.CONFLICT

    async def _write(
        self, new: Conversation, values: tuple[Any, ...], now: float
    ) -> aiosqlite.Cursor:
        """The one statement that applies an update (see ``apply``)."""
        if new.version == 0:
            return await self._db.execute(
                "INSERT INTO conversations (user_id, locale, session, last_result, "
                "prompt_message_id, version, updated_at, applied_update, pending_events, "
                "outbox, outbox_update, chat_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chat_id) DO NOTHING",
                (*values, new.chat_id, now),
            )
        return await self._db.execute(
            "UPDATE conversations SET user_id = ?, locale = ?, session = ?, "
            "last_result = ?, prompt_message_id = ?, version = ?, updated_at = ?, "
            "applied_update = ?, pending_events = ?, outbox = ?, outbox_update = ? "
            "WHERE chat_id = ? AND version = ?",
            (*values, new.chat_id, new.version),
        )

    async def receive(self, updates: Sequence[tuple[int, str]], now: float | None = None) -> None:
        """Keep fetched updates until done (see ``Store.receive``): one transaction a batch."""
        at = time.time() if now is None else now
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
                [(update_id, body, at) for update_id, body in updates],
            )

    async def received(self) -> list[tuple[int, str]]:
        rows = await self._db.execute_fetchall(
            "SELECT update_id, body FROM inbox ORDER BY update_id"
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def done(self, update_ids: Sequence[int]) -> None:
        async with self._writing:
            await self._db.execute(
                "DELETE FROM inbox WHERE update_id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(update_ids)),),
            )

    async def claim(self, update_id: int, chat_id: int, now: float | None = None) -> bool:
        """Record an update that changes no conversation (see ``Store.claim``)."""
        async with self._writing:
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO applied_updates (update_id, chat_id, applied_at) "
                "VALUES (?, ?, ?)",
                (update_id, chat_id, time.time() if now is None else now),
            )
        return cursor.rowcount == 1

    async def settle(self, chat_id: int, version: int, prompt_message_id: int | None) -> bool:
        """The replies were sent (see ``Store.settle``)."""
        async with self._writing:
            cursor = await self._db.execute(
                "UPDATE conversations SET prompt_message_id = coalesce(?, prompt_message_id), "
                "outbox = NULL, outbox_update = NULL WHERE chat_id = ? AND version = ?",
                (prompt_message_id, chat_id, version),
            )
        return cursor.rowcount == 1

    async def forget(
        self, user_id: int, update_id: int | None = None, now: float | None = None
    ) -> int:
        """Delete every row about a person (see ``Store.forget``); how many were deleted.

        ``secure_delete`` (set at open) zeroes the deleted content, and the
        checkpoint after the commit copies the WAL into the file and
        truncates it, so the answers are readable in neither.
        """
        now = time.time() if now is None else now
        async with self._transaction() as db:
            async with db.execute(
                "SELECT chat_id FROM conversations WHERE user_id = ? OR chat_id = ?",
                (user_id, user_id),
            ) as cursor:
                chats = {row[0] for row in await cursor.fetchall()} | {user_id}
            deleted = 0
            for chat_id in chats:
                for table in ("applied_updates", "conversations"):
                    gone = await db.execute(f"DELETE FROM {table} WHERE chat_id = ?", (chat_id,))
                    deleted += gone.rowcount
            gone = await db.execute("DELETE FROM audit WHERE user_id = ?", (user_id,))
            deleted += gone.rowcount
            if update_id is not None:
                await db.execute(
                    "INSERT OR IGNORE INTO applied_updates (update_id, chat_id, applied_at) "
                    "VALUES (?, NULL, ?)",
                    (update_id, now),
                )
        async with self._writing:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    async def purge(self, idle_before: float, updates_before: float | None = None) -> int:
        """Delete conversations idle since before ``idle_before`` and old update ids."""
        async with self._transaction() as db:
            gone = await db.execute(
                "DELETE FROM conversations WHERE updated_at < ?", (idle_before,)
            )
            await db.execute(
                "DELETE FROM applied_updates WHERE applied_at < ?",
                (idle_before if updates_before is None else updates_before,),
            )
        return gone.rowcount

    async def audit(
        self, user_id: int | None, action: str, result: str, now: float | None = None
    ) -> None:
        """Record an admin action: who, what, when, and how it ended."""
        async with self._writing:
            await self._db.execute(
                "INSERT INTO audit (at, user_id, action, result) VALUES (?, ?, ?, ?)",
                (time.time() if now is None else now, user_id, action, result),
            )

    async def audit_log(self, limit: int = 100) -> list[tuple[float, int | None, str, str]]:
        """The latest admin actions, newest first."""
        async with self._db.execute(
            "SELECT at, user_id, action, result FROM audit ORDER BY at DESC, rowid DESC LIMIT ?",
            (limit,),
        ) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]  # type: ignore[misc]

    async def events_since(self, since: float) -> list[tuple[str, str, str | None, str | None]]:
        """Usage events from ``since`` on, as (flow, kind, question, value)."""
        async with self._db.execute(
            "SELECT flow, kind, question, value FROM events WHERE at >= ? ORDER BY rowid",
            (since,),
        ) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]  # type: ignore[misc]

    async def timed_events_since(
        self, since: float
    ) -> list[tuple[float, str, str, str | None, str | None]]:
        """Usage events from ``since`` on with their time, as (at, flow, kind, question, value).

        For figures over time (the studio's charts); still nothing about who.
        """
        async with self._db.execute(
            "SELECT at, flow, kind, question, value FROM events WHERE at >= ? ORDER BY rowid",
            (since,),
        ) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]  # type: ignore[misc]


def _check_file(path: Path) -> None:
    """Refuse, untouched, a path that is not a SQLite database file."""
    if not path.is_file():
        raise NotADatabase(f"{path} is not a file" if path.exists() else f"no database at {path}")
    with path.open("rb") as existing:
        if existing.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise NotADatabase(f"{path} is not a SQLite database")


def _statements(script: str) -> list[str]:
    """A migration's statements; a trigger's body keeps its own semicolons."""
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    for line in script.splitlines():
        word = line.strip().upper()
        current.append(line)
        if word == "BEGIN":
            depth += 1
        elif word == "END;":
            depth -= 1
        if depth == 0 and word.endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements


def _prepare_file(path: Path) -> None:
    """Create the folder and file owner-only before SQLite opens it (its -wal and
    -shm files copy the database file's permissions). A file that is there but is
    no SQLite database is refused untouched, its mode too."""
    if path.is_file() and path.stat().st_size > 0:
        _check_file(path)
    elif path.exists() and not path.is_file():
        raise NotADatabase(f"{path} is not a file")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
