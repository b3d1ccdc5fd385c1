"""Logging that never shows a secret, nor what a person wrote.

python-telegram-bot's HTTP client logs request URLs, and Bot API URLs carry
the token (``.../bot<token>/sendMessage``); exceptions can quote them too,
python-telegram-bot's ``InvalidToken`` names the token outright, and some of
its error texts are lowercased. So every way text leaves the process is
redacted, whatever the letter case: log records (formatted first, redacted
after, tracebacks included), uncaught exceptions in the main thread and in
threads (``sys.excepthook``, ``threading.excepthook``), the asyncio loop's
exception handler, unraisable exceptions, and warnings (through logging).

Libraries log people's words at DEBUG: python-telegram-bot logs each Bot
API call's parameters and answer (message texts, names), aiosqlite each
statement's values (answers). They are held at WARNING whatever
``ADVISOR_LOG_LEVEL`` says, so the log never holds message text, answers or
names at any level. fontTools' INFO lines for every PDF go with them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote, unquote

REDACTED = "[redacted]"
_TOKEN_SHAPE = re.compile(r"(?<![0-9])[0-9]{5,}(?::|%3a)[A-Za-z0-9_-]{20,}", re.IGNORECASE)
"""The shape of any Bot API token, caught even when it is not ours, also right after
``/bot`` (no word boundary there) and with its colon URL-encoded."""

QUIET_LIBRARIES = ("telegram", "aiosqlite", "httpx", "httpcore", "hpack", "fontTools", "PIL")
"""Loggers whose DEBUG or INFO lines carry message texts, answers or names, or are noise."""


class Redactor:
    """Replaces the known secrets, in any letter case, and anything shaped like a token.

    Each secret is also replaced percent-decoded and percent-encoded: a
    database password is written in a URL either way (``pa%2Fss`` is the
    password ``pa/ss``), the driver is handed it encoded, and an error text
    may quote any of the three.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            decoded = unquote(secret)
            for form in (secret, decoded, quote(decoded, safe=""), quote(secret, safe="")):
                variants |= {form, form.replace(":", "%3A")}
            _, _, tail = secret.partition(":")
            if len(tail) >= 8:  # the token's secret half alone
                variants.add(tail)
        variants.discard("")
        ordered = sorted(variants, key=len, reverse=True)
        self._secrets = (
            re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE) if ordered else None
        )

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        return _TOKEN_SHAPE.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """A formatter that blanks known secrets, and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the secrets (any case) and token-shaped strings replaced."""
    return Redactor(secrets)(text)


def configure(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Send logs to standard error (or ``stream``) through the redacting formatter,
    and route every other output path through the same redaction."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries()
    logging.captureWarnings(True)
    guard_uncaught(redactor, stream)


def quiet_libraries() -> None:
    """Hold the libraries that log people's words at WARNING (see the module docstring)."""
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def guard_uncaught(redactor: Redactor, stream: TextIO | None = None) -> None:
    """Redact what Python prints for uncaught exceptions, in any thread."""

    def write(text: str) -> None:
        out = stream or sys.stderr
        try:
            out.write(redactor(text))
            out.flush()
        except (OSError, ValueError):
            pass

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        write("".join(traceback.format_exception(kind, value, tb)))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "a thread"
        write(
            f"Exception in {name}:\n"
            + "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        )

    def unraisable(args: Any) -> None:
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        write(f"{args.err_msg or 'Exception ignored'}: {args.object!r}\n{text}")

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable


def guard_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The loop's unhandled errors go through logging, so they are redacted too.

    asyncio's default handler logs through logging already; this one also
    keeps the context's ``message`` and the exception apart from repr()s of
    tasks and futures, which can quote their arguments.
    """

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        logging.getLogger("asyncio").error(
            "%s", context.get("message", "unhandled error in the event loop"), exc_info=error
        )

    loop.set_exception_handler(handler)
