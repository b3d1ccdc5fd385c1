"""Conversations kept in PostgreSQL, for several bot processes on several machines.

The same ``Store`` as ``bot.store.sqlite`` with the same tables and the same
promises: an update's id, its conversation and its usage events commit in
one statement, so a redelivered update has no second effect. What a server
adds is a lock that holds across processes: ``serialised(chat_id)`` takes a
lease on the chat (a row with an expiry, on the server's clock), so two
replicas handed updates of one chat at once apply them one after the other,
each reading what the other wrote. A lease holds no connection, so a chat
held elsewhere never fills the pool; it is renewed while its turn lasts and
lapses within seconds when its replica is frozen or gone, so nothing waits
long for a dead process.

asyncpg rather than psycopg 3: it speaks PostgreSQL's binary protocol itself
(no libpq on the machine), ships wheels, has the connection pool and LISTEN
built in, and spends the least CPU per query of the Python drivers, which is
what the bot's per-update budget is made of (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.store.conversations import (
    COLUMNS,
    Applied,
    ChatHeldElsewhere,
    Conversation,
    SchemaBehind,
    dumps,
    from_row,
)
from bot.store.usage import Event

log = logging.getLogger(__name__)

RELOAD_CHANNEL = "advisor_reload"
"""LISTEN/NOTIFY channel on which a replica that reloaded its flows tells the others."""

LOCK_SPACE = 0x41445653
"""First half of the two-number advisory locks the store takes for itself (migrations,
the purge); chats are held by leases (``serialised``), not advisory locks."""
MIGRATION_LOCK = 1
PURGE_LOCK = 2

POOL_SIZE = 10
CONNECT_TIMEOUT = 5.0
LEASE_SECONDS = 5.0
"""How long a chat's lease lasts unless its holder renews it (every third of it, while
the turn lasts): a replica frozen or gone loses its chats within this long."""
LEASE_WAIT_SECONDS = 15.0
"""How long an update waits for its chat's lease before it is left to Telegram's resend;
longer than a lease, so a frozen holder's chat is always taken over within one wait."""
KEEPALIVES = {
    # A replica whose machine vanishes holds its chat locks until the server
    # notices the dead connection: with these, within about 30 seconds.
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "4",
}

MIGRATIONS: tuple[str, ...] = (
    # 1: the tables of SQLite's migrations 1 and 2, in PostgreSQL's types
    """
    CREATE TABLE conversations (
        chat_id BIGINT PRIMARY KEY,
        user_id BIGINT,
        locale TEXT,
        session TEXT,
        last_result TEXT,
        prompt_message_id BIGINT,
        version INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX conversations_user ON conversations (user_id);
    CREATE INDEX conversations_updated ON conversations (updated_at);
    CREATE TABLE applied_updates (
        update_id BIGINT PRIMARY KEY,
        chat_id BIGINT,
        applied_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX applied_updates_at ON applied_updates (applied_at);
    CREATE INDEX applied_updates_chat ON applied_updates (chat_id);
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,
        question TEXT,
        value TEXT
    );
    CREATE INDEX events_at ON events (at);
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        user_id BIGINT,
        action TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE INDEX audit_user ON audit (user_id);
    """,
    # 2: the outbox, the replies of the last update applied, kept until sent
    """
    ALTER TABLE conversations ADD COLUMN outbox TEXT;
    ALTER TABLE conversations ADD COLUMN outbox_update BIGINT;
    """,
    # 3: chat leases, which replace session advisory locks: a lease is taken and
    # released in a statement each, so no connection is held through a turn.
    # Unlogged: a lease outlives no server restart, nor needs to.
    """
    CREATE UNLOGGED TABLE chat_leases (
        chat_id BIGINT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    """,
    # 4: the inbox, updates taken by long polling and not yet handled
    """
    CREATE TABLE inbox (
        update_id BIGINT PRIMARY KEY,
        body TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL
    );
    """,
)


# One statement applies an update: the conversation is written only at the
# version it was computed from, and the update id and the events are inserted
# only if it was; a second copy of an update id fails the primary key and
# rolls the whole statement back.
_APPLY_TAIL = """
), recorded AS (
    INSERT INTO applied_updates (update_id, chat_id, applied_at)
    SELECT $10::bigint, chat_id, $7 FROM written WHERE $10::bigint IS NOT NULL
), logged AS (
    INSERT INTO events (at, flow, kind, question, value)
    SELECT $7, e.flow, e.kind, e.question, e.value
    FROM written, unnest($11::text[], $12::text[], $13::text[], $14::text[])
        WITH ORDINALITY AS e(flow, kind, question, value, n)
    ORDER BY e.n
)
SELECT count(*) FROM written
"""
_INSERT = (
    "WITH written AS (INSERT INTO conversations (user_id, locale, session, last_result, "
    "prompt_message_id, version, updated_at, chat_id, created_at, outbox, outbox_update) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $15, $16) ON CONFLICT (chat_id) DO NOTHING "
    "RETURNING chat_id" + _APPLY_TAIL
)
_UPDATE = (
    "WITH written AS (UPDATE conversations SET user_id = $1, locale = $2, session = $3, "
    "last_result = $4, prompt_message_id = $5, version = $6, updated_at = $7, "
    "outbox = $15, outbox_update = $16 "
    "WHERE chat_id = $8 AND version = $9 RETURNING chat_id" + _APPLY_TAIL
)


_TAKE_LEASE = f"""
WITH lease AS (
    INSERT INTO chat_leases AS held (chat_id, holder, expires_at)
    VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
    ON CONFLICT (chat_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
    WHERE held.expires_at < clock_timestamp()
    RETURNING 1 AS taken
)
SELECT c.* FROM lease LEFT JOIN LATERAL (
    SELECT {COLUMNS} FROM conversations WHERE chat_id = $1 FOR SHARE
) AS c ON true
"""
"""Take the chat's lease if it is free or its holder let it expire, and read the chat's
conversation with it (all nulls if there is none); no row if the chat is held.

The read locks the row (``FOR SHARE``, for the statement's instant) for what that
does under READ COMMITTED: a row written since the statement began is read as it
is now, not as the statement's snapshot saw it (``FOR KEY SHARE`` would not: it
does not conflict with an update that leaves the key alone, such as settle's). That matters when the
lease was waited for: the last holder let it go in the statement that settled its
turn, and the snapshot, taken before, would miss that settle (the outbox it cleared,
the message it recorded), which changes no version for the check to catch."""

_SETTLE = (
    "UPDATE conversations SET prompt_message_id = coalesce($1, prompt_message_id), "
    "outbox = NULL, outbox_update = NULL WHERE chat_id = $2 AND version = $3"
)
_SETTLE_AND_RELEASE = f"""
WITH released AS (
    DELETE FROM chat_leases WHERE chat_id = $2 AND holder = $4 RETURNING 1
), settled AS (
    {_SETTLE} AND (SELECT count(*) FROM released) >= 0 RETURNING 1
)
SELECT count(*) FROM settled
"""
"""Settle the turn and let its chat go, in one statement: settling is a turn's last write.

The lease row is locked before the conversation's (the settle waits on what the
release returned), the order ``_TAKE_LEASE`` locks them in: a lapsed holder settling
as another replica takes the chat over would otherwise wait on each other."""


@dataclass(slots=True)
class _Held:
    """A chat's lease held by the turn running in this task: which store and chat,
    by which holder, and the conversation read as the lease was taken, until the
    turn's first ``load`` takes it."""

    store: PostgresStore
    chat_id: int
    holder: str
    row: asyncpg.Record | None
    released: bool = False


_TURN: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("_TURN", default=None)
"""The lease of the turn running in this task (``serialised``): per task, not per chat,
so two turns of one chat (a lease that lapsed and was taken over) never share one."""


class PostgresStore:
    """The ``Store`` on a PostgreSQL database, through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url
        self._listener: asyncpg.Connection | None = None
        self._on_reload: Callable[[], Awaitable[None]] | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._reload_again = False
        self.migrated = (0, 0)
        """Schema versions before and after the migrations run at open."""
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        """Names this process in reload notices, so it ignores its own."""
        self.lease = LEASE_SECONDS
        self.lease_wait = LEASE_WAIT_SECONDS

    @classmethod
    async def open(
        cls, url: str, *, pool_size: int = POOL_SIZE, read_only: bool = False
    ) -> PostgresStore:
        """Connect and bring the schema up to date (one replica at a time).

        ``read_only`` migrates nothing: a schema behind this code is ``SchemaBehind``.
        """
        settings = KEEPALIVES | ({"default_transaction_read_only": "on"} if read_only else {})
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=CONNECT_TIMEOUT,
            reset=_reset,
            server_settings=settings,
        )
        store = cls(pool, url)
        try:
            if read_only:
                found = await store.schema_version()
                if found < len(MIGRATIONS):
                    raise SchemaBehind(found, len(MIGRATIONS))
                store.migrated = (found, found)
            else:
                store.migrated = await store.migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloading
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None
        await self._pool.close()

    # -- schema --------------------------------------------------------------------

    async def migrate(self) -> tuple[int, int]:
        """Run the migrations not yet run; (version before, version after).

        Under a transaction-scoped advisory lock, so replicas starting
        together run each migration once.
        """
        async with self._pool.acquire() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_SPACE, MIGRATION_LOCK)
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            before = await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
            for number, script in enumerate(MIGRATIONS[before:], start=before + 1):
                await db.execute(script)
                await db.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
        return int(before), len(MIGRATIONS) if before < len(MIGRATIONS) else int(before)

    async def schema_version(self) -> int:
        async with self._pool.acquire() as db:
            if await db.fetchval("SELECT to_regclass('schema_migrations')") is None:
                return 0
            return int(await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))

    # -- one chat at a time ----------------------------------------------------------

    @asynccontextmanager
    async def serialised(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat's lease, across every replica, for the calls made inside.

        A lease is a row taken and released in one statement each, on the
        database's clock, so no connection is held while waiting for it or
        while the turn sends its replies: a chat held elsewhere cannot fill
        this replica's pool, and chats move in parallel far beyond its size.
        The lease is renewed while the turn lasts; a replica frozen or gone
        loses it within ``LEASE_SECONDS``, and another takes the chat over.
        (Its late writes are refused by the version check, and a copy of an
        applied update sends only what is still in the outbox.) Waiting is
        bounded: ``ChatHeldElsewhere`` after ``LEASE_WAIT_SECONDS``.

        Statements are most of what PostgreSQL costs a turn, so the lease
        comes with the conversation (the turn's first ``load``) and goes with
        ``settle``, its last write: three statements a turn instead of five.
        The read that comes with the lease is current even when the lease was
        waited for (``_TAKE_LEASE``), and each turn keeps its lease in its own
        task's context, so a turn's ``load`` and ``settle`` never use another's.
        """
        holder = f"{self.replica}:{secrets.token_hex(6)}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease_wait
        pause = 0.01
        while (row := await self._take(chat_id, holder)) is None:
            if loop.time() >= deadline:
                raise ChatHeldElsewhere(self.lease_wait)
            await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
            pause = min(pause * 2, 0.25)
        held = _Held(self, chat_id, holder, row)
        turn = _TURN.set(held)
        keeper = loop.create_task(self._renew(chat_id, holder))
        try:
            yield
        finally:
            keeper.cancel()
            _TURN.reset(turn)
            if not held.released:
                # Shielded: a turn cancelled on the way out still frees its chat.
                await asyncio.shield(self._release(chat_id, holder))

    async def _renew(self, chat_id: int, holder: str) -> None:
        """Keep the lease while the turn lasts (a PDF in a queue, a slow Bot API)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            with contextlib.suppress(Exception):  # missed once, tried again; at worst it lapses
                await self._fetchval(
                    "UPDATE chat_leases SET expires_at = clock_timestamp() + "
                    "make_interval(secs => $3) WHERE chat_id = $1 AND holder = $2 RETURNING 1",
                    chat_id,
                    holder,
                    self.lease,
                )

    async def _release(self, chat_id: int, holder: str) -> None:
        try:
            await self._fetchval(
                "DELETE FROM chat_leases WHERE chat_id = $1 AND holder = $2", chat_id, holder
            )
        except Exception as exc:  # the lease lapses by itself
            log.warning("could not release a chat's lease (%s); it lapses", type(exc).__name__)

    async def _take(self, chat_id: int, holder: str) -> asyncpg.Record | None:
        """The lease and the conversation (``_TAKE_LEASE``), or None if the chat is held.

        A deadlock the server broke counts as held, and is tried again: both
        statements lock the lease row first, so it should not happen."""
        try:
            return await self._fetchrow(_TAKE_LEASE, chat_id, holder, self.lease)
        except asyncpg.DeadlockDetectedError:
            return None

    def _turn(self, chat_id: int) -> _Held | None:
        """The lease this task's turn holds on ``chat_id`` in this store, if any."""
        held = _TURN.get()
        return held if held is not None and held.store is self and held.chat_id == chat_id else None

    async def _fetchval(self, sql: str, *args: object) -> Any:
        async with self._pool.acquire() as db:
            return await db.fetchval(sql, *args)

    async def _fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        async with self._pool.acquire() as db:
            return await db.fetchrow(sql, *args)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection from the pool, for one statement or transaction: none is held
        through a turn."""
        async with self._pool.acquire() as db:
            yield db

    # -- the Store protocol ---------------------------------------------------------

    async def load(self, chat_id: int) -> Conversation:
        """The chat's conversation, or an empty one at version 0; the first load of a
        turn is the one read with its lease (``serialised``)."""
        held = self._turn(chat_id)
        if held is not None and held.row is not None:
            row, held.row = held.row, None
            return Conversation(chat_id) if row["version"] is None else from_row(chat_id, row)
        async with self._connection() as db:
            row = await db.fetchrow(
                f"SELECT {COLUMNS} FROM conversations WHERE chat_id = $1", chat_id
            )
        if row is None:
            return Conversation(chat_id)
        return from_row(chat_id, row)

    async def apply(
        self,
        update_id: int | None,
        new: Conversation,
        now: float | None = None,
        events: Sequence[Event] = (),
        outbox: str | None = None,
    ) -> Applied:
        """Record the update and write ``new`` if the chat is still at ``new.version``,
        the outbox with it (see ``Store.apply``)."""
        now = time.time() if now is None else now
        values = (
            new.user_id,
            new.locale,
            dumps(new.session),
            dumps(new.last_result),
            new.prompt_message_id,
            new.version + 1,
            now,
            new.chat_id,
            now if new.version == 0 else new.version,
            update_id,
            [e.flow for e in events],
            [e.kind.value for e in events],
            [e.question for e in events],
            [e.value for e in events],
            outbox,
            update_id if outbox is not None else None,
        )
        try:
            async with self._connection() as db:
                written = await db.fetchval(_INSERT if new.version == 0 else _UPDATE, *values)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "applied_updates_pkey":  # only this means "applied before"
                return Applied.DUPLICATE
            raise
        return Applied.APPLIED if written == 1 else Applied.CONFLICT

    async def receive(self, updates: Sequence[tuple[int, str]], now: float | None = None) -> None:
        """Keep fetched updates until done (see ``Store.receive``): one statement a batch."""
        async with self._connection() as db:
            await db.execute(
                "INSERT INTO inbox (update_id, body, received_at) "
                "SELECT u, b, $3 FROM unnest($1::bigint[], $2::text[]) AS t(u, b) "
                "ON CONFLICT (update_id) DO NOTHING",
                [u for u, _ in updates],
                [b for _, b in updates],
                time.time() if now is None else now,
            )

    async def received(self) -> list[tuple[int, str]]:
        async with self._connection() as db:
            rows = await db.fetch("SELECT update_id, body FROM inbox ORDER BY update_id")
        return [(int(r[0]), str(r[1])) for r in rows]

    async def done(self, update_ids: Sequence[int]) -> None:
        async with self._connection() as db:
            await db.execute(
                "DELETE FROM inbox WHERE update_id = ANY($1::bigint[])", list(update_ids)
            )

    async def claim(self, update_id: int, chat_id: int, now: float | None = None) -> bool:
        """Record an update that changes no conversation (see ``Store.claim``)."""
        async with self._connection() as db:
            status = await db.execute(
                "INSERT INTO applied_updates (update_id, chat_id, applied_at) "
                "VALUES ($1, $2, $3) ON CONFLICT (update_id) DO NOTHING",
                update_id,
                chat_id,
                time.time() if now is None else now,
            )
        return status == "INSERT 0 1"

    async def settle(self, chat_id: int, version: int, prompt_message_id: int | None) -> bool:
        """The replies were sent (see ``Store.settle``); the chat's lease, if this
        process holds it, goes in the same statement."""
        held = self._turn(chat_id)
        async with self._connection() as db:
            if held is None or held.released:
                status = await db.execute(_SETTLE, prompt_message_id, chat_id, version)
                return status == "UPDATE 1"
            settled = await db.fetchval(
                _SETTLE_AND_RELEASE, prompt_message_id, chat_id, version, held.holder
            )
        held.released = True
        return settled == 1

    async def forget(
        self, user_id: int, update_id: int | None = None, now: float | None = None
    ) -> int:
        """Delete every row about a person (see ``Store.forget``); how many were deleted."""
        async with self._connection() as db, db.transaction():
            chats = {
                row[0]
                for row in await db.fetch(
                    "DELETE FROM conversations WHERE user_id = $1 OR chat_id = $1 "
                    "RETURNING chat_id",
                    user_id,
                )
            }
            updates = await db.execute(
                "DELETE FROM applied_updates WHERE chat_id = ANY($1::bigint[])",
                list(chats | {user_id}),
            )
            audit = await db.execute("DELETE FROM audit WHERE user_id = $1", user_id)
            if update_id is not None:
                await db.execute(
                    "INSERT INTO applied_updates (update_id, chat_id, applied_at) "
                    "VALUES ($1, NULL, $2) ON CONFLICT DO NOTHING",
                    update_id,
                    time.time() if now is None else now,
                )
        return len(chats) + _count(updates) + _count(audit)

    async def purge(self, idle_before: float, updates_before: float | None = None) -> int:
        """Delete conversations idle since before ``idle_before`` and old update ids.

        One replica at a time: the others find the lock taken and skip this round.
        """
        async with self._pool.acquire() as db, db.transaction():
            if not await db.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, $2)", LOCK_SPACE, PURGE_LOCK
            ):
                return 0
            gone = await db.execute("DELETE FROM conversations WHERE updated_at < $1", idle_before)
            await db.execute(
                "DELETE FROM applied_updates WHERE applied_at < $1",
                idle_before if updates_before is None else updates_before,
            )
        return _count(gone)

    async def audit(
        self, user_id: int | None, action: str, result: str, now: float | None = None
    ) -> None:
        """Record an admin action: who, what, when, and how it ended."""
        async with self._connection() as db:
            await db.execute(
                "INSERT INTO audit (at, user_id, action, result) VALUES ($1, $2, $3, $4)",
                time.time() if now is None else now,
                user_id,
                action,
                result,
            )

    async def audit_log(self, limit: int = 100) -> list[tuple[float, int | None, str, str]]:
        """The latest admin actions, newest first."""
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT at, user_id, action, result FROM audit ORDER BY at DESC, id DESC LIMIT $1",
                limit,
            )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def events_since(self, since: float) -> list[tuple[str, str, str | None, str | None]]:
        """Usage events from ``since`` on, as (flow, kind, question, value)."""
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT flow, kind, question, value FROM events WHERE at >= $1 ORDER BY id", since
            )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def timed_events_since(
        self, since: float
    ) -> list[tuple[float, str, str, str | None, str | None]]:
        """Usage events from ``since`` on with their time, as (at, flow, kind, question, value)."""
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT at, flow, kind, question, value FROM events WHERE at >= $1 ORDER BY id",
                since,
            )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    # -- replicas ------------------------------------------------------------------

    async def announce_reload(self) -> None:
        """Tell every other replica that the flows were reloaded here."""
        async with self._pool.acquire() as db:
            await db.execute("SELECT pg_notify($1, $2)", RELOAD_CHANNEL, self.replica)

    async def listen_reloads(self, on_reload: Callable[[], Awaitable[None]]) -> None:
        """Call ``on_reload`` when another replica announces a reload.

        Called again by the housekeeping loop: it reconnects a listener the
        server dropped (a restart, a network cut) and otherwise does nothing.
        """
        self._on_reload = on_reload
        if self._listener is not None and not self._listener.is_closed():
            return
        dropped = self._listener is not None
        self._listener = await asyncpg.connect(
            self.url, timeout=CONNECT_TIMEOUT, server_settings=KEEPALIVES
        )
        await self._listener.add_listener(RELOAD_CHANNEL, self._notified)
        if dropped:
            # A notice sent while the listener was down is gone for good, and
            # reading the files again is harmless: catch up once.
            log.info(
                "listening for other replicas' reloads again; reloading in case one was missed"
            )
            self._reload()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.replica:
            return
        log.info("another replica (%s) reloaded the flows; reloading here", payload)
        self._reload()

    def _reload(self) -> None:
        """One reload at a time: notices that arrive during one make one more, not one each."""
        if self._on_reload is None:
            return
        if self._reloading is not None and not self._reloading.done():
            self._reload_again = True
            return
        self._reloading = asyncio.ensure_future(self._reload_until_settled(self._on_reload))

    async def _reload_until_settled(self, on_reload: Callable[[], Awaitable[None]]) -> None:
        while True:
            self._reload_again = False
            try:
                await on_reload()
            except Exception:
                log.exception("reload on another replica's notice failed")
            if not self._reload_again:
                return


async def check(url: str) -> str:
    """Connect once and read the schema version: what ``python -m bot health`` reports."""
    db = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        version = await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        server = db.get_server_version()
    finally:
        await db.close()
    return f"PostgreSQL {server.major}.{server.minor}, schema {version}"


async def _reset(db: asyncpg.Connection) -> None:
    """Nothing to undo as a connection returns to the pool: the store sets no session
    state, and chats are held by leases, not by connections. asyncpg's default reset
    (four statements) would cost a round trip on every store call."""


def _count(status: str) -> int:
    """The row count at the end of a command status such as ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])
