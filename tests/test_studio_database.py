"""`python -m bot studio --db`: the usage charts from the bot's database, no password in `ps`.

A command line is readable by every user of the machine for as long as the
process runs, so ``--db postgresql://user:password@...`` published the
password. ``--db`` alone (or ``--db env``) now reads the database the bot is
configured with, from the environment or .env; a URL with a password on the
command line is refused in one line; ``--db FILE`` still reads a SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sources import read_place, resolve

from studio_support import free_port, get, record_usage, running_studio

REFUSAL = (
    "studio --db: a URL with a password shows in ps to every user of this machine; "
    "put it in ADVISOR_DATABASE_URL (or .env) and give --db alone\n"
)


def environment(project: Path, **settings: str) -> dict[str, str]:
    """The test's environment without the runner's bot settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    return env | {
        "ADVISOR_FLOWS_DIR": str(project / "flows"),
        "ADVISOR_CONTENT_DIR": str(project / "content"),
        **settings,
    }


def studio_once(project: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """``python -m bot studio ARGS`` where it is expected to stop at once."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "studio", "--port", str(free_port()), *args],
        cwd=project,
        env=environment(project, **settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def serving(project: Path, *args: str, **settings: str) -> Iterator[tuple[str, int]]:
    """The studio started with ``args`` and ``settings``: its URL and process id."""
    with running_studio(project, args=args, env=environment(project, **settings)) as studio:
        yield studio.url, studio.process.pid


async def record_usage_in(url: str | None, db_path: Path, project: Path) -> None:
    """Three conversations' usage events of the project's first flow, in either store."""
    catalog = read_place(resolve(project)).unwrap()
    flow_id, flow = next(iter(catalog.flows.items()))
    question = flow.model.questions[0].id
    level = next(iter(flow.model.recommendations)).value
    await record_usage(db_path, flow_id, question, level, url)


def with_password(url: str, password: str) -> str:
    """``url`` (``postgresql://user@host...``) with ``password`` pasted in unencoded.

    The tests' server trusts 127.0.0.1, so any password is let in: what is
    tested is that the URL is read whole and the password shown nowhere.
    """
    scheme, _, rest = url.partition("://")
    user, _, hosts = rest.partition("@")
    return f"{scheme}://{user}:{password}@{hosts}"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://advisor:hunter2/Wort#Frag?Teil[Ende@127.0.0.1:9/advisor",
        "postgresql://advisor:s3cret-pw@127.0.0.1:9/advisor",
        "postgres://advisor@127.0.0.1:9/advisor?password=s3cret-pw",
    ],
    ids=["unencoded", "plain", "in-the-query"],
)
def test_a_url_with_a_password_on_the_command_line_is_refused(project: Path, url: str) -> None:
    """One line saying where the URL belongs; nothing of the password; no server started."""
    done = studio_once(project, "--db", url)
    assert done.returncode == 2
    assert done.stderr == REFUSAL
    assert done.stdout == ""
    for piece in ("hunter2", "Wort", "Frag", "Teil", "Ende", "s3cret-pw"):
        assert piece not in done.stderr


def test_a_url_without_a_password_may_still_be_given(project: Path) -> None:
    """A server that needs no password in the URL (trust, .pgpass, PGPASSWORD) is tried."""
    done = studio_once(project, "--db", "postgresql://advisor@127.0.0.1:9/advisor")
    assert done.returncode == 1
    assert done.stderr.startswith("cannot read the figures: ConnectionRefusedError"), done.stderr


@pytest.mark.parametrize("form", [["--db"], ["--db", "env"]], ids=["alone", "env"])
def test_db_alone_reads_the_configured_postgres_database(
    project: Path, postgres_url: str, form: list[str]
) -> None:
    """ADVISOR_DATABASE_URL, with a password that needs encoding, charted; not in `ps`."""
    password = "p/ss#w?rd[x-Geheim"
    url = with_password(postgres_url, password)
    asyncio.run(record_usage_in(url, Path(), project))
    with serving(project, *form, ADVISOR_DATABASE_URL=url) as (studio, pid):
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        status, page = get(studio + "/stats")
    assert status == 200
    assert "3 started, 2 reached the advice." in html.unescape(page)
    assert "Geheim" not in command_line
    assert command_line.endswith("\0".join(form) + "\0"), "started as the test asked"


def test_db_alone_reads_the_sqlite_file_at_advisor_db_path(project: Path, tmp_path: Path) -> None:
    """Without ADVISOR_DATABASE_URL, ``--db`` is the bot's SQLite file."""
    db = tmp_path / "data" / "advisor.sqlite3"
    db.parent.mkdir()
    asyncio.run(record_usage_in(None, db, project))
    with serving(project, "--db", ADVISOR_DB_PATH=str(db)) as (studio, _):
        status, page = get(studio + "/stats")
    assert status == 200
    assert "3 started, 2 reached the advice." in html.unescape(page)


def test_db_with_a_file_still_reads_that_file(project: Path, tmp_path: Path) -> None:
    """``--db FILE`` is as it was, whatever ADVISOR_DB_PATH says."""
    db = tmp_path / "copy.sqlite3"
    asyncio.run(record_usage_in(None, db, project))
    elsewhere = str(tmp_path / "none.sqlite3")
    with serving(project, "--db", str(db), ADVISOR_DB_PATH=elsewhere) as (studio, _):
        status, page = get(studio + "/stats")
    assert status == 200
    assert "3 started, 2 reached the advice." in html.unescape(page)


def test_db_alone_without_a_database_says_which_setting(project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    done = studio_once(project, "--db", ADVISOR_DB_PATH=str(missing))
    assert done.returncode == 1
    assert done.stderr == f"no database at {missing}; set ADVISOR_DB_PATH\n"


def test_the_help_says_to_keep_the_password_in_the_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "studio", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = " ".join(done.stdout.split())
    assert "--db [FILE]" in text
    assert "--db alone (or --db env) reads the one configured for the bot" in text
    assert "put it in ADVISOR_DATABASE_URL or .env instead" in text
