"""`python -m bot db migrate` and `python -m bot health` on both stores, as processes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import postgres as pg_store
from bot.store import sqlite as sqlite_store

from support import Database

ROOT = Path(__file__).resolve().parent.parent


def bot(
    tmp_path: Path, database: Database | None, *args: str, **extra: str
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env |= extra
    env["ADVISOR_DB_PATH"] = str(tmp_path / "data" / "advisor.sqlite3")
    if isinstance(database, str):
        env["ADVISOR_DATABASE_URL"] = database
    elif database is not None:
        env["ADVISOR_DB_PATH"] = str(database)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_db_migrate_runs_once_then_has_nothing_to_do(tmp_path: Path, database: Database) -> None:
    """The first run migrates a new database to the latest schema; the second does nothing."""
    first = bot(tmp_path, database, "db", "migrate")
    assert first.returncode == 0, first.stderr
    assert "migrated from version 0 to" in first.stdout
    second = bot(tmp_path, database, "db", "migrate")
    assert second.returncode == 0, second.stderr
    assert "nothing to migrate" in second.stdout


def test_health_names_the_database_and_the_loop(tmp_path: Path, database: Database) -> None:
    """Health says whether the database answered and whether this replica's loop beats."""
    assert bot(tmp_path, database, "db", "migrate").returncode == 0
    stale = bot(tmp_path, database, "health")
    assert stale.returncode == 1
    assert "database: ok" in stale.stderr
    assert "no heartbeat" in stale.stderr
    beat = database if isinstance(database, Path) else tmp_path / "data" / "advisor.sqlite3"
    beat.parent.mkdir(exist_ok=True)
    beat.with_name(beat.name + ".heartbeat").touch()
    fresh = bot(tmp_path, database, "health")
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("healthy; database: ok")


def test_health_says_when_postgres_cannot_be_reached(tmp_path: Path) -> None:
    """A server that is down is reported as the database's fault, without the password."""
    url = "postgresql://advisor:s3cret-pw@127.0.0.1:9/advisor"
    result = bot(tmp_path, url, "health")
    assert result.returncode == 1
    assert "unhealthy; database:" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("url", ["mysql://x@y/z", "sqlite:///data.db"])
def test_a_database_url_that_is_not_postgres_is_refused(tmp_path: Path, url: str) -> None:
    result = bot(tmp_path, url, "db", "migrate")
    assert result.returncode == 2
    assert result.stderr.startswith("cannot start: ADVISOR_DATABASE_URL: must be a postgresql://")


def test_stats_read_either_store(tmp_path: Path, database: Database) -> None:
    """`python -m bot stats --audit` reads the figures and the audit log from either store."""
    assert bot(tmp_path, database, "db", "migrate").returncode == 0
    result = bot(tmp_path, database, "stats", "--audit")
    assert result.returncode == 0, result.stderr
    assert "Admin actions, newest first:" in result.stdout


def test_the_bot_says_in_one_line_that_the_database_is_down(tmp_path: Path) -> None:
    """A replica started while PostgreSQL is down exits 1 with one line, no traceback,
    no password (its supervisor restarts it until the database is back)."""
    url = "postgresql://advisor:s3cret-pw@127.0.0.1:9/advisor"
    result = bot(tmp_path, url, "run", TELEGRAM_BOT_TOKEN="123:fake-token-for-the-test")
    assert result.returncode == 1
    assert "cannot start: the database did not answer (" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_stats_reads_without_writing(tmp_path: Path) -> None:
    """`stats` opens the file read-only: not a byte of it changes, and no -wal appears."""
    db = tmp_path / "advisor.sqlite3"
    assert bot(tmp_path, db, "db", "migrate").returncode == 0
    for extra in (".sqlite3-wal", ".sqlite3-shm"):
        assert not db.with_suffix(extra).exists() or db.with_suffix(extra).stat().st_size == 0
    before = db.read_bytes()
    result = bot(tmp_path, db, "stats", "--audit")
    assert result.returncode == 0, result.stderr
    assert db.read_bytes() == before


def test_stats_on_an_old_schema_says_to_migrate_and_migrates_nothing(
    tmp_path: Path, database: Database
) -> None:
    """A reading command never migrates: behind the code's schema, it says what to run."""
    latest = len((pg_store if isinstance(database, str) else sqlite_store).MIGRATIONS)
    if not isinstance(database, str):
        with contextlib.closing(sqlite3.connect(database)) as con:
            con.execute("CREATE TABLE unrelated (x)")  # a SQLite file at schema version 0
    result = bot(tmp_path, database, "stats")
    assert result.returncode == 1
    assert (
        f"the database is at schema version 0 and this version of the bot reads version {latest}"
        in (result.stderr)
    )
    assert "run `python -m bot db migrate` first" in result.stderr
    assert "Traceback" not in result.stderr
    again = bot(tmp_path, database, "db", "migrate")
    assert f"migrated from version 0 to {latest}" in again.stdout, "stats left it as it was"


def test_stats_on_a_corrupt_file_is_one_line(tmp_path: Path) -> None:
    """A file with SQLite's header and garbage after it: one line, no traceback."""
    db = tmp_path / "advisor.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    result = bot(tmp_path, db, "stats")
    assert result.returncode == 1
    assert result.stderr.startswith("cannot read the figures: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
