"""The database password never leaves the process, however ADVISOR_DATABASE_URL spells it.

A hostile review found that a password with an unencoded ``/``, ``#``, ``?``
or ``@`` split the URL in the wrong place: the log redacted the wrong
string, asyncpg put pieces of the password into the host or port and then
into its error text, and a ``[`` raised a traceback. These run the real
commands, as an operator would, against a port where no server listens:
what matters is the text of the failure.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from test_database_cli import bot

NOWHERE = "127.0.0.1:9"
"""The discard port: nothing listens there, so every command meets a refused connection."""

PASSWORDS = [
    "hunter2/Wort#Frag?Teil[Ende",
    "pa%2Fss",
    "s3cret@host",
]
"""As people paste them: unencoded ``/``, ``#``, ``?`` and ``[`` with 4+ character
pieces between them (which asyncpg's mis-split quoted: ``invalid literal for int()
with base 10: 'hunter2'``; the ``[`` raised a traceback from urllib), an encoded
one, and a second ``@``. (Shorter and bracket-only passwords were tried too; they
failed the same way before and pass the same way now, so the suite keeps these.)"""

COMMANDS: dict[str, tuple[list[str], str, int]] = {
    "run": (["run"], "cannot start: the database did not answer (", 1),
    "health": (["health"], "unhealthy; database: ", 1),
    "stats": (["stats"], "cannot read the figures: ", 1),
    "migrate": (["db", "migrate"], "cannot migrate: ", 1),
    "studio": (["studio", "--db"], "cannot read the figures: ", 1),
}
"""Each command that reaches the database: its arguments, the line that says it failed
(so the test knows the database was really tried), and its exit status."""


def forms(password: str) -> set[str]:
    """Every spelling of ``password`` that must not be shown."""
    decoded = unquote(password)
    return {password, decoded, quote(decoded, safe=""), quote(password, safe="")}


def pieces(password: str) -> set[str]:
    """The runs of 4+ characters between the special characters, which a mis-split
    URL scatters into hosts, ports and error texts."""
    return {p for p in re.split(r"[/#?\[\]@:%]", password) if len(p) >= 4}


def url_with(password: str) -> str:
    return f"postgresql://advisor:{password}@{NOWHERE}/advisor"


def python_m_bot(tmp_path: Path, args: list[str], url: str) -> subprocess.CompletedProcess:
    """``python -m bot ARGS`` with the URL in the environment, as an operator runs it."""
    return bot(tmp_path, url, *args, TELEGRAM_BOT_TOKEN="123456:fake-token-for-this-test")


def assert_not_shown(password: str, output: str) -> None:
    lowered = output.lower()
    for secret in forms(password) | pieces(password):
        assert secret.lower() not in lowered, f"{secret!r} shown in:\n{output}"
    assert "Traceback" not in output, output


@pytest.mark.parametrize("password", PASSWORDS, ids=[f"pw{i}" for i in range(len(PASSWORDS))])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_command_shows_the_database_password(
    tmp_path: Path, command: str, password: str
) -> None:
    """run, health, stats, db migrate and studio --db each fail in one line, without
    the password in any spelling or any piece of it, and without a traceback."""
    args, failure, status = COMMANDS[command]
    done = python_m_bot(tmp_path, args, url_with(password))
    output = done.stdout + done.stderr
    assert_not_shown(password, output)
    assert failure in done.stderr, output
    assert done.returncode == status, output
    assert "ConnectionRefusedError" in done.stderr, "the URL reached the driver whole"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_url_that_cannot_be_read_is_one_line_naming_the_variable(
    tmp_path: Path, command: str
) -> None:
    """An unmatched ``[`` in the host part: one line, the variable named, no URL."""
    password = "Sekr1t[Wort"
    url = f"postgresql://advisor:{password}@[::1/advisor"
    done = python_m_bot(tmp_path, COMMANDS[command][0], url)
    output = done.stdout + done.stderr
    assert_not_shown(password, output)
    assert done.stderr.startswith("cannot start: ADVISOR_DATABASE_URL: "), output
    assert len(done.stderr.strip().splitlines()) == 1, output
    assert "[::1" not in output
    assert done.returncode == 2


@pytest.mark.parametrize("password", PASSWORDS, ids=[f"pw{i}" for i in range(len(PASSWORDS))])
def test_a_password_as_pasted_reaches_the_server_whole(
    tmp_path: Path, postgres_url: str, password: str
) -> None:
    """The rest of the URL (host, port, database) is read right whatever the password holds.

    The tests' server trusts 127.0.0.1, so it lets any password in: what is
    tested is that the URL was not split inside the password.
    """
    scheme, _, rest = postgres_url.partition("://")
    user, _, hosts = rest.partition("@")
    url = f"{scheme}://{user}:{password}@{hosts}"
    for args, answer in (
        (["db", "migrate"], "database schema migrated from version 0 to "),
        (["stats"], "No conversations in the last 30 days."),
        (["health"], "unhealthy; database: ok (PostgreSQL "),  # no heartbeat: no bot runs
    ):
        done = python_m_bot(tmp_path, args, url)
        output = done.stdout + done.stderr
        assert_not_shown(password, output)
        assert answer in output, output
