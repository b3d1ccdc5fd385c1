"""Both stores: exactly-once updates, versioned writes, migrations, forget and purge.

Each test but the SQLite-only ones runs on a SQLite file and on a PostgreSQL
database (the ``database`` fixture), so the two keep the same promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import stat
import time
from pathlib import Path

import asyncpg
import pytest

from bot.service import open_store
from bot.store import postgres
from bot.store.conversations import ChatHeldElsewhere, Store
from bot.store.sqlite import MIGRATIONS, Applied, Conversation, SQLiteStore

from support import Database, applied, rows, rows_about


@pytest.fixture
async def store(database: Database):
    opened = await open_store(*_where(database))
    yield opened
    await opened.close()


def _where(database: Database) -> tuple[str | None, Path]:
    if isinstance(database, str):
        return database, Path("unused")
    return None, database.parent / "sub" / database.name


def place(store: Store) -> Database:
    """Where the store keeps its rows, for reading them from outside."""
    return store.path if isinstance(store, SQLiteStore) else store.url  # type: ignore[attr-defined]


async def test_file_is_owner_only_and_schema_current(tmp_path: Path) -> None:
    """The database file is readable by its owner only, in WAL mode, at the latest schema."""
    store = await SQLiteStore.open(tmp_path / "sub" / "db.sqlite3")
    try:
        mode = stat.S_IMODE(store.path.stat().st_mode)
        assert mode == 0o600
        assert await store.schema_version() == len(MIGRATIONS)
        async with store._db.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone())[0] == "wal"
    finally:
        await store.close()


async def test_apply_once_per_update(store: Store) -> None:
    """An update id is applied once; a second apply of it writes nothing."""
    new = Conversation(7, user_id=7, session={"a": 1})
    assert await store.apply(1, new) is Applied.APPLIED
    again = Conversation(7, user_id=7, session={"a": 2}, version=1)
    assert await store.apply(1, again) is Applied.DUPLICATE
    loaded = await store.load(7)
    assert (loaded.session, loaded.version) == ({"a": 1}, 1)


async def test_stale_version_is_a_conflict(store: Store) -> None:
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
    assert not applied(place(store), 3), "a refused update is not recorded, so it can be retried"


async def test_two_new_rows_for_one_chat_conflict(store: Store) -> None:
    """Two first writes for the same chat: the second is a conflict, not a duplicate row."""
    assert await store.apply(1, Conversation(9, session={"x": 1})) is Applied.APPLIED
    assert await store.apply(2, Conversation(9, session={"x": 2})) is Applied.CONFLICT


async def test_reopen_keeps_data_and_runs_no_migration_twice(database: Database) -> None:
    """Reopening the database keeps conversations and the schema version."""
    first = await open_store(*_where(database))
    await first.apply(5, Conversation(3, locale="en", session={"q": "x"}))
    await first.close()
    second = await open_store(*_where(database))
    try:
        before, after = await second.migrate()
        assert before == after, "nothing left to migrate"
        loaded = await second.load(3)
        assert (loaded.locale, loaded.session) == ("en", {"q": "x"})
        assert applied(place(second), 5)
    finally:
        await second.close()


async def test_forget_and_purge(store: Store) -> None:
    """forget removes every row about a person; purge removes idle conversations."""
    await store.apply(1, Conversation(11, user_id=11, session={}), now=100.0)
    await store.apply(2, Conversation(12, user_id=12, session={}), now=5000.0)
    assert rows_about(place(store), 11) == 2
    assert await store.forget(11) == 2
    assert rows_about(place(store), 11) == 0
    assert await store.purge(idle_before=1000.0) == 0
    assert await store.purge(idle_before=6000.0) == 1
    assert (await store.load(12)).version == 0


async def test_events_are_written_with_their_update_exactly_once(store: Store) -> None:
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


async def test_audit_log_newest_first(store: Store) -> None:
    """Admin actions are kept with who, what and how it ended, and read newest first."""
    await store.audit(1, "reload", "ok", now=10.0)
    await store.audit(None, "reload (SIGHUP)", "refused: 1 error(s)", now=20.0)
    assert await store.audit_log() == [
        (20.0, None, "reload (SIGHUP)", "refused: 1 error(s)"),
        (10.0, 1, "reload", "ok"),
    ]


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    """Three replicas opening a new database at once: each migration runs once."""
    stores = await asyncio.gather(*(postgres.PostgresStore.open(postgres_url) for _ in range(3)))
    try:
        assert [await s.schema_version() for s in stores] == [len(postgres.MIGRATIONS)] * 3
    finally:
        for s in stores:
            await s.close()


async def test_one_chat_is_serialised_across_processes(postgres_url: str) -> None:
    """Two stores (as two replicas) racing on one chat: each update reads the other's write.

    Without the chat lock both would read version 0 and one write would be
    refused as a conflict.
    """
    one = await postgres.PostgresStore.open(postgres_url)
    two = await postgres.PostgresStore.open(postgres_url)
    order: list[str] = []

    async def step(store: postgres.PostgresStore, update_id: int, name: str) -> Applied:
        async with store.serialised(42):
            stored = await store.load(42)
            order.append(f"{name} read v{stored.version}")
            await asyncio.sleep(0.2)  # the other replica arrives meanwhile
            session = {**(stored.session or {}), name: True}
            return await store.apply(
                update_id, Conversation(42, session=session, version=stored.version)
            )

    try:
        outcomes = await asyncio.gather(step(one, 1, "a"), step(two, 2, "b"))
        assert outcomes == [Applied.APPLIED, Applied.APPLIED]
        assert sorted(order) in (["a read v0", "b read v1"], ["a read v1", "b read v0"])
        final = await one.load(42)
        assert (final.session, final.version) == ({"a": True, "b": True}, 2)
    finally:
        await one.close()
        await two.close()


async def test_a_turn_on_postgres_is_three_statements_and_never_decides_on_a_stale_read(
    postgres_url: str,
) -> None:
    """The lease comes with the conversation and goes with ``settle``: three statements
    a turn, not five. A conversation read with the lease that misses a write is refused
    by the version check, and the turn's next read is fresh."""
    store = await postgres.PostgresStore.open(postgres_url, pool_size=1)
    other = await postgres.PostgresStore.open(postgres_url)
    statements: list[str] = []
    try:
        async with store.serialised(61):
            first = await store.load(61)
            await store.apply(1, Conversation(61, session={"n": 1}, version=first.version))
        async with store._pool.acquire() as db:  # the pool's one connection: every statement
            db.add_query_logger(lambda query: statements.append(query.query))

        async with store.serialised(61):
            stored = await store.load(61)
            assert (stored.session, stored.version) == ({"n": 1}, 1)
            written = await store.apply(
                2, Conversation(61, session={"n": 2}, version=stored.version), outbox="[]"
            )
            assert written is Applied.APPLIED
            assert await store.settle(61, 2, 7)
            # The chat is free once settled, before the turn has even ended.
            async with asyncio.timeout(1), other.serialised(61):
                pass
        assert len(statements) == 3, statements

        # A write the lease's read missed (another holder's, committed that instant).
        async with store.serialised(61):
            stale = await store.load(61)
            async with other._pool.acquire() as db:
                await db.execute("UPDATE conversations SET version = 3 WHERE chat_id = 61")
            refused = await store.apply(3, Conversation(61, session={}, version=stale.version))
            assert refused is Applied.CONFLICT
            fresh = await store.load(61)
            assert fresh.version == 3
    finally:
        await other.close()
        await store.close()


async def test_a_lease_waited_for_reads_what_its_last_holder_settled(postgres_url: str) -> None:
    """Replica B asks for the chat while A's settle, which lets the lease go, is still
    running: B waits, and its read must show the settle (the outbox cleared, the new
    message id), which moves no version for the check to catch. Read with the
    statement's snapshot, B got the outbox A had already sent, and would send it again."""
    a = await postgres.PostgresStore.open(postgres_url)
    b = await postgres.PostgresStore.open(postgres_url)
    settling = await asyncpg.connect(postgres_url)
    try:
        async with a.serialised(7):
            first = await a.load(7)
            await a.apply(100, Conversation(7, session={}, version=first.version), outbox='["x"]')
            await a.settle(7, 1, 4)
        async with a.serialised(7):
            stored = await a.load(7)
            await a.apply(101, Conversation(7, session={}, version=stored.version), outbox='["y"]')
            held = postgres._TURN.get()
            assert held is not None
            # A's settle-and-release, caught in flight: its transaction still open.
            in_flight = settling.transaction()
            await in_flight.start()
            await settling.fetchval(postgres._SETTLE_AND_RELEASE, 9, 7, 2, held.holder)
            held.released = True

            async def take() -> Conversation:
                async with b.serialised(7):
                    return await b.load(7)

            waiting = asyncio.create_task(take())
            await asyncio.sleep(0.3)
            assert not waiting.done(), "B waits for the lease A is letting go"
            await in_flight.commit()
            read = await asyncio.wait_for(waiting, 5)
        assert (read.version, read.prompt_message_id, read.outbox) == (2, 9, None)
    finally:
        await settling.close()
        await a.close()
        await b.close()


async def test_settling_locks_the_lease_before_the_conversation(postgres_url: str) -> None:
    """The order a lease is taken in (lease row, then conversation): a settle that held
    the conversation while it waited for the lease row could deadlock with a replica
    taking over a lapsed lease, which holds the lease row and waits for the conversation."""
    store = await postgres.PostgresStore.open(postgres_url)
    lease_holder = await asyncpg.connect(postgres_url)
    prober = await asyncpg.connect(postgres_url)
    try:
        async with store.serialised(8):
            first = await store.load(8)
            await store.apply(1, Conversation(8, session={}, version=first.version))
            held = postgres._TURN.get()
            assert held is not None
            locking = lease_holder.transaction()
            await locking.start()
            await lease_holder.execute("SELECT 1 FROM chat_leases WHERE chat_id = 8 FOR UPDATE")
            settling = asyncio.create_task(store.settle(8, 1, 3))
            try:
                await asyncio.sleep(0.3)
                assert not settling.done(), "the settle waits for the lease row"
                # ...and has not locked the conversation meanwhile.
                await prober.execute(
                    "SELECT 1 FROM conversations WHERE chat_id = 8 FOR UPDATE NOWAIT"
                )
            finally:
                await locking.commit()
            assert await asyncio.wait_for(settling, 5)
    finally:
        await prober.close()
        await lease_holder.close()
        await store.close()


async def hold_elsewhere(url: str, chat_id: int, seconds: float) -> None:
    """A lease on the chat taken by a replica that then froze or died: never renewed."""
    other = await asyncpg.connect(url)
    try:
        await other.execute(
            "INSERT INTO chat_leases (chat_id, holder, expires_at) "
            "VALUES ($1, 'a frozen replica', clock_timestamp() + make_interval(secs => $2))",
            chat_id,
            seconds,
        )
    finally:
        await other.close()


async def test_a_frozen_or_dead_replica_loses_its_chats_within_a_lease(postgres_url: str) -> None:
    """A chat whose replica stopped renewing is taken over once its lease lapses, not before."""
    store = await postgres.PostgresStore.open(postgres_url)
    try:
        await hold_elsewhere(postgres_url, 7, 1.0)
        began = time.monotonic()
        async with asyncio.timeout(5), store.serialised(7):
            waited = time.monotonic() - began
        assert 0.7 < waited < 2.5, waited
    finally:
        await store.close()


async def test_a_chat_held_elsewhere_starves_no_other_chat(postgres_url: str) -> None:
    """Updates waiting for a held chat hold no connection: with a pool of two and ten of
    them waiting, other chats are read, written and released at once."""
    store = await postgres.PostgresStore.open(postgres_url, pool_size=2)
    try:
        await hold_elsewhere(postgres_url, 42, 30.0)

        async def wait_for_the_chat() -> None:
            async with store.serialised(42):
                pass

        waiters = [asyncio.create_task(wait_for_the_chat()) for _ in range(10)]
        await asyncio.sleep(0.3)
        began = time.monotonic()
        for chat in range(100, 120):
            async with store.serialised(chat):
                stored = await store.load(chat)
                await store.apply(chat, Conversation(chat, version=stored.version))
        assert time.monotonic() - began < 2.0
        assert not any(w.done() for w in waiters), "the held chat is still held"
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    finally:
        await store.close()


async def test_waiting_for_a_chat_is_bounded(postgres_url: str) -> None:
    """A chat held longer than an update may wait: ChatHeldElsewhere, left to a resend."""
    store = await postgres.PostgresStore.open(postgres_url)
    store.lease_wait = 0.5
    try:
        await hold_elsewhere(postgres_url, 9, 30.0)
        with pytest.raises(ChatHeldElsewhere):
            async with asyncio.timeout(5), store.serialised(9):
                pass
    finally:
        await store.close()


@pytest.mark.parametrize("delay", [0.0, 0.001, 0.005])
async def test_a_wait_cancelled_as_the_lease_is_granted_frees_the_chat_soon(
    postgres_url: str, delay: float
) -> None:
    """A task cancelled while its lease is granted (shutdown, a webhook request gone)
    leaves at most a lease nobody renews, which lapses: another replica gets the chat."""
    store = await postgres.PostgresStore.open(postgres_url, pool_size=2)
    store.lease = 1.0
    other = await postgres.PostgresStore.open(postgres_url)
    try:
        await hold_elsewhere(postgres_url, 42, 0.3)

        async def wait_for_the_chat() -> None:
            async with store.serialised(42):
                await asyncio.sleep(60)

        waiter = asyncio.create_task(wait_for_the_chat())
        await asyncio.sleep(0.3 + delay)
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        async with asyncio.timeout(3), other.serialised(42):  # another replica gets the chat
            pass
    finally:
        await other.close()
        await store.close()


async def test_purge_runs_in_one_replica_at_a_time(postgres_url: str) -> None:
    """While one replica purges, another's purge skips the round instead of waiting."""
    one = await postgres.PostgresStore.open(postgres_url)
    two = await postgres.PostgresStore.open(postgres_url)
    try:
        await one.apply(1, Conversation(5, session={}), now=100.0)
        async with one._pool.acquire() as db, db.transaction():
            await db.execute(
                "SELECT pg_advisory_xact_lock($1, $2)", postgres.LOCK_SPACE, postgres.PURGE_LOCK
            )
            assert await two.purge(idle_before=1000.0) == 0, "skipped: another replica purges"
        assert await two.purge(idle_before=1000.0) == 1
    finally:
        await one.close()
        await two.close()


async def test_a_reload_reaches_the_other_replicas(postgres_url: str) -> None:
    """A reload announced by one replica is heard by the others, not by itself."""
    one = await postgres.PostgresStore.open(postgres_url)
    two = await postgres.PostgresStore.open(postgres_url)
    heard: dict[str, asyncio.Event] = {"one": asyncio.Event(), "two": asyncio.Event()}

    def hearing(name: str):
        async def on_reload() -> None:
            heard[name].set()

        return on_reload

    try:
        await one.listen_reloads(hearing("one"))
        await two.listen_reloads(hearing("two"))
        await one.announce_reload()
        await asyncio.wait_for(heard["two"].wait(), 10)
        await asyncio.sleep(0.2)
        assert not heard["one"].is_set(), "a replica ignores its own notice"
    finally:
        await one.close()
        await two.close()


async def test_a_replica_whose_listener_dropped_catches_up(postgres_url: str) -> None:
    """Notices sent while a replica's listener was cut are lost, so reconnecting reloads once."""
    store = await postgres.PostgresStore.open(postgres_url)
    reloads: list[float] = []

    async def on_reload() -> None:
        reloads.append(asyncio.get_running_loop().time())

    try:
        await store.listen_reloads(on_reload)
        await store.listen_reloads(on_reload)  # housekeeping's call: still connected
        assert reloads == []
        await store._pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        async with asyncio.timeout(10):
            while not store._listener.is_closed():  # noqa: ASYNC110 (asyncpg offers no event)
                await asyncio.sleep(0.05)
        await store.listen_reloads(on_reload)  # housekeeping reconnects
        async with asyncio.timeout(10):
            while not reloads:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await store.close()
    assert len(reloads) == 1


async def test_a_burst_of_reload_notices_makes_one_more_reload_not_one_each(
    postgres_url: str,
) -> None:
    """Ten replicas' notices during one slow reload are served by a single further reload."""
    one = await postgres.PostgresStore.open(postgres_url)
    two = await postgres.PostgresStore.open(postgres_url)
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def slow_reload() -> None:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()

    try:
        await two.listen_reloads(slow_reload)
        await one.announce_reload()
        await asyncio.wait_for(started.wait(), 10)
        for _ in range(10):
            await one.announce_reload()
        await asyncio.sleep(0.5)  # the notices arrive while the first reload runs
        release.set()
        await asyncio.sleep(0.5)
    finally:
        await one.close()
        await two.close()
    assert calls == 2


async def test_forget_takes_audit_rows_and_records_its_update_once(store: Store) -> None:
    """forget also deletes the person's audit rows, and with an update id records it in the
    same transaction: a resend of that update is then a duplicate (exactly once)."""
    await store.apply(1, Conversation(11, user_id=11, session={}), now=100.0)
    await store.audit(11, "stats", "denied", 100.0)
    await store.audit(99, "stats", "ok", 100.0)
    assert await store.forget(11, update_id=7, now=200.0) == 3
    assert [row[1] for row in await store.audit_log()] == [99]
    assert rows_about(place(store), 11) == 0
    again = Conversation(11, user_id=11, session={"x": 1})
    assert await store.apply(7, again, 300.0) is Applied.DUPLICATE
    assert (await store.load(11)).version == 0, "nothing came back"


async def test_update_ids_are_kept_days_not_weeks(store: Store) -> None:
    """Update ids go after their own cutoff while the conversation stays."""
    await store.apply(1, Conversation(11, user_id=11, session={}), now=100.0)
    await store.apply(2, Conversation(11, user_id=11, session={}, version=1), now=100.0 + 86400)
    assert await store.purge(idle_before=0.0, updates_before=100.0 + 3600) == 0
    assert rows(place(store), "SELECT update_id FROM applied_updates") == [(2,)]
    assert (await store.load(11)).version == 2
