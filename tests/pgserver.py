"""A throwaway PostgreSQL server for the tests, or the one ADVISOR_TEST_DATABASE_URL names.

PostgreSQL refuses to run as root, and CI runs as root: there the cluster
is made and run as the ``postgres`` system user, in a folder of its own
that is removed afterwards. It listens on a free port of 127.0.0.1 only,
with ``trust`` authentication (nothing else can reach it) and without
fsync, since its data outlives no test (but with synchronous commits: a
test that stops the server must find every reported commit). Each test gets a database of its
own (``Cluster.database``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

URL_VARIABLE = "ADVISOR_TEST_DATABASE_URL"
_names = itertools.count(1)


def run_sync(job: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code, even inside a running event loop.

    The tests' assertions read the database as a person would, outside the
    bot; a thread of its own keeps that off the test's loop.
    """
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(job))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def query(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of one query on the database at ``url``."""
    import asyncpg

    async def fetch() -> list[tuple[Any, ...]]:
        db = await asyncpg.connect(url, timeout=10)
        try:
            return [tuple(row) for row in await db.fetch(sql, *args)]
        finally:
            await db.close()

    return run_sync(fetch())


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class Cluster:
    """A PostgreSQL server the tests may use, and stop and start again if it is theirs."""

    def __init__(self, url: str, data: Path | None = None, runner: list[str] | None = None):
        self.url = url
        self.data = data
        self.runner = runner or []
        self.bin = _bindir()

    @property
    def owned(self) -> bool:
        """Whether this run started the server (and may stop it)."""
        return self.data is not None

    def database(self) -> str:
        """A new empty database; its URL."""
        name = f"advisor_test_{os.getpid()}_{next(_names)}"
        query(self.url, f'CREATE DATABASE "{name}"')
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        query(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _ctl(self, *args: str) -> None:
        assert self.data is not None
        assert self.bin is not None
        subprocess.run(
            [*self.runner, str(self.bin / "pg_ctl"), "-D", str(self.data / "data"), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            cwd=self.data,  # the postgres user may not enter the caller's folder
        )

    def stop(self) -> None:
        """Stop the server at once, as a crash or an operator would."""
        self._ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        assert self.data is not None
        port = urlsplit(self.url).port
        self._ctl(
            "-w",
            "-t",
            "60",
            "-l",
            str(self.data / "server.log"),
            "-o",
            # fsync off: the tests stop the server, never the machine, and the
            # operating system keeps what was written. synchronous_commit stays on:
            # off, a commit is reported before its WAL is written, and stopping
            # the server at once (tests/test_database_down.py) lost such commits.
            f"-p {port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=300",
            "start",
        )

    def close(self) -> None:
        if self.data is not None:
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop()
            shutil.rmtree(self.data, ignore_errors=True)


def start() -> Cluster | str:
    """The server for this test run, or why there is none (one line)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        return Cluster(url)
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed"
    bindir = _bindir()
    if bindir is None:
        return f"no PostgreSQL server found (apt-get install postgresql, or set {URL_VARIABLE})"
    runner: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            return "running as root and no runuser to start PostgreSQL as 'postgres'"
        runner = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    try:
        subprocess.run(
            [
                *runner,
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=300,
            cwd=root,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        return f"could not make a PostgreSQL cluster: {exc} {detail.decode(errors='replace')[:200]}"
    cluster = Cluster(f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres", root, runner)
    try:
        cluster.start()
    except (OSError, subprocess.SubprocessError) as exc:
        log = (root / "server.log").read_text(errors="replace")[-300:] if root.exists() else ""
        cluster.close()
        return f"could not start PostgreSQL: {exc} {log}"
    return cluster


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_ctl").exists() and Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and Path(found).with_name("initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
