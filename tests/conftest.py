"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import pgserver
from fakebotapi import FakeBotAPI
from support import Database, make_fixture_project

# Opt in to python-telegram-bot's coming timedelta values (as `python -m bot run` does),
# so its deprecation warning does not fire on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API serving on 127.0.0.1, stopped when the test ends."""
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the tests' own flows and texts, that a test may edit."""
    return make_fixture_project(tmp_path / "project")


@pytest.fixture(scope="session")
def advisor_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with the tests' own flows, for tests that start ``python -m bot``."""
    return make_fixture_project(tmp_path_factory.mktemp("advisor") / "project")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgserver.Cluster]:
    """The run's PostgreSQL server (pgserver.py); the tests that need it skip without one.

    ``.ci/run`` sets ADVISOR_TEST_POSTGRES=required, so CI fails rather than skips.
    """
    cluster = pgserver.start()
    if isinstance(cluster, str):
        if os.environ.get("ADVISOR_TEST_POSTGRES") == "required":
            pytest.fail(f"PostgreSQL is required here: {cluster}")
        pytest.skip(f"PostgreSQL tests skipped: {cluster}")
    yield cluster
    cluster.close()


@pytest.fixture
def postgres_url(postgres: pgserver.Cluster) -> Iterator[str]:
    """A new empty database on the run's server, dropped after the test."""
    url = postgres.database()
    yield url
    postgres.drop(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """Each store in turn: a SQLite file's path, then a PostgreSQL database's URL."""
    if request.param == "sqlite":
        return tmp_path / "advisor.sqlite3"
    return request.getfixturevalue("postgres_url")
