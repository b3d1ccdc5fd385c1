"""Settings from the environment and an optional ``.env`` file.

Read once at start. The environment wins over ``.env``, so a deployment can
override a developer's file. The token is kept out of ``repr`` so a settings
object in a log or traceback never shows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from dotenv import dotenv_values

from bot.flows.findings import AdvisorError

DEFAULT_BASE_URL = "https://api.telegram.org/bot"

T = TypeVar("T", int, float)


class SettingsError(AdvisorError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the Telegram channel needs to start. See the README's table."""

    token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = "https://api.telegram.org/file/bot"
    db_path: Path = Path("data/advisor.sqlite3")
    database_url: str | None = field(default=None, repr=False)
    """``postgresql://...``: keep conversations in PostgreSQL, shared by replicas.

    None keeps them in the SQLite file at ``db_path``.
    """
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8080
    idle_hours: float = 72.0
    retention_days: float = 30.0
    log_level: str = "INFO"
    rate_limit: float = 0.0
    """Messages a second across all chats; 0 paces nothing and waits out 429s.

    Telegram's 30 a second is for bulk notifications; replies to the people
    writing to the bot are not held to it, and a pre-emptive cap made 1,000
    busy users wait a minute for each reply (docs/operations.md). Operators
    who broadcast can set it.
    """

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be logged (the log redacts each in every spelling)."""
        passwords = database_passwords(self.database_url) if self.database_url else ()
        return tuple(s for s in (self.token, self.webhook_secret, *passwords) if s)


def environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment over the ``.env`` file's values."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from a mapping of variables; ``SettingsError`` names any bad one."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather")
    base_url = env.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL
    file_url = env.get("TELEGRAM_BASE_FILE_URL", "").strip()
    if not file_url:
        file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
    webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
    webhook_secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
    if webhook_url and not webhook_secret:
        raise SettingsError(
            "TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: "
            "set a secret of 1-256 letters, digits, _ or - so only Telegram can post updates"
        )
    return Settings(
        token=token,
        base_url=base_url,
        base_file_url=file_url,
        db_path=db_path(env),
        database_url=database_url(env),
        admin_ids=_ids(env.get("ADVISOR_ADMIN_IDS", "")),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_listen=env.get("ADVISOR_WEBHOOK_LISTEN", "").strip() or "0.0.0.0",
        webhook_port=_number(env, "ADVISOR_WEBHOOK_PORT", 8080, int),
        idle_hours=_number(env, "ADVISOR_IDLE_HOURS", 72.0, float),
        retention_days=_number(env, "ADVISOR_RETENTION_DAYS", 30.0, float),
        log_level=(env.get("ADVISOR_LOG_LEVEL", "").strip() or "INFO").upper(),
        rate_limit=_rate(env.get("ADVISOR_RATE_LIMIT", "")),
    )


def db_path(env: Mapping[str, str]) -> Path:
    """ADVISOR_DB_PATH: the SQLite file, and beside it the heartbeat file."""
    return Path(env.get("ADVISOR_DB_PATH", "").strip() or "data/advisor.sqlite3")


def database_url(env: Mapping[str, str]) -> str | None:
    """ADVISOR_DATABASE_URL: a PostgreSQL server's URL as written, or None for the SQLite file.

    Kept as the operator wrote it, so the log can redact the password as
    written; ``connectable`` is what the driver is given. A URL that cannot
    be read is one line naming the variable, never the URL (it holds the
    password) and never a traceback.
    """
    url = env.get("ADVISOR_DATABASE_URL", "").strip()
    if not url:
        return None
    if not is_postgres_url(url):
        raise SettingsError(
            "ADVISOR_DATABASE_URL: must be a postgresql://user:password@host:port/database URL; "
            "leave it unset to keep the SQLite file at ADVISOR_DB_PATH"
        )
    try:
        urlsplit(connectable(url))
    except ValueError:
        # urllib's reason ("Invalid IPv6 URL") says nothing an operator can act on.
        raise SettingsError(
            "ADVISOR_DATABASE_URL: the host part after the last @ cannot be read (an unmatched "
            "[ or ]?); write it as postgresql://user:password@host:port/database"
        ) from None
    return url


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` is a ``postgresql://`` (or ``postgres://``) URL."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in ("postgresql", "postgres")


def _userinfo(url: str) -> tuple[str, str | None, str]:
    """(scheme, userinfo or None, the rest) of a URL, split where PostgreSQL users mean.

    Not ``urllib.parse.urlsplit``: it ends the host part at the first ``/``,
    ``?`` or ``#``, so a password written with one of them unencoded came
    out as no password at all (and the log redacted nothing), and a ``[`` in
    it raised. Passwords are generated with such characters, and people
    paste them unencoded, so the userinfo is everything between ``://`` and
    the *last* ``@`` (a host never holds one); an ``@`` in the query must
    then be written ``%40``.
    """
    scheme, _, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    return scheme, (userinfo if at else None), hosts


def database_passwords(url: str) -> tuple[str, ...]:
    """The passwords a PostgreSQL URL holds, as written: in its userinfo and in a
    ``password=`` query parameter (which asyncpg also reads). Empty if none."""
    _, userinfo, hosts = _userinfo(url)
    found: list[str] = []
    if userinfo is not None:
        _, sep, password = userinfo.partition(":")
        if sep and password:
            found.append(password)
    _, _, query = hosts.partition("?")
    found += [v for k, v in parse_qsl(query.partition("#")[0]) if k == "password" and v]
    return tuple(found)


def connectable(url: str) -> str:
    """``url`` with its user and password percent-encoded, as the driver needs them.

    asyncpg splits the URL with ``urlparse`` and at the *first* ``@``, so an
    unencoded ``/``, ``#``, ``?`` or ``@`` in the password sent the rest of it
    to the host or port (and into the error text). Decoding then encoding
    leaves an already encoded password as it was: ``pa%2Fss`` and ``pa/ss``
    both reach the server as ``pa/ss``.
    """
    scheme, userinfo, hosts = _userinfo(url)
    if userinfo is None:
        return url
    user, sep, password = userinfo.partition(":")
    encoded = _encoded(user) + (":" + _encoded(password) if sep else "")
    return f"{scheme}://{encoded}@{hosts}"


def _encoded(part: str) -> str:
    return quote(unquote(part), safe="")


def database_error(exc: BaseException, url: str | None) -> str:
    """What went wrong reaching the database, in one line without the URL or its password.

    Drivers' and urllib's error texts can quote the URL or a piece of it, and
    these lines are printed by commands that configure no log redaction
    (``health``, ``stats``, ``db migrate``, the studio).
    """
    from bot.logs import Redactor  # here: the commands that never fail this way skip asyncio

    text = " ".join((str(exc).strip() or type(exc).__name__).split())
    if url:
        for form in (url, connectable(url)):
            text = text.replace(form, "ADVISOR_DATABASE_URL")
        text = Redactor(database_passwords(url))(text)
    return f"{type(exc).__name__}: {text}"[:300]


def _rate(text: str) -> float:
    """ADVISOR_RATE_LIMIT: messages a second overall; 0 (the default) paces nothing.

    429 answers are waited out and retried whatever this says.
    """
    text = text.strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"ADVISOR_RATE_LIMIT: '{text}' is not a number") from None
    if value < 0:
        raise SettingsError("ADVISOR_RATE_LIMIT: must be 0 (no pacing) or more")
    return value


def _ids(text: str) -> frozenset[int]:
    ids = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdecimal():
            raise SettingsError(
                f"ADVISOR_ADMIN_IDS: '{part}' is not a Telegram user id (a number); "
                "separate ids with commas"
            )
        ids.add(int(part))
    return frozenset(ids)


def _number(env: Mapping[str, str], name: str, default: T, kind: type[T]) -> T:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name}: '{text}' is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name}: must be more than 0")
    return value
