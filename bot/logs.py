"""Logging that never shows a secret.

python-telegram-bot's HTTP client logs request URLs, and Bot API URLs carry
the token (``.../bot<token>/sendMessage``); exceptions can quote them too.
Every record is formatted first and redacted after, so a token can leak
neither through a message, an argument nor a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
"""The shape of any Bot API token, caught even when it is not ours."""


class RedactingFormatter(logging.Formatter):
    """A formatter that blanks known secrets, and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the secrets and token-shaped strings replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


def configure(level: str, secrets: Iterable[str]) -> None:
    """Send logs to standard error through the redacting formatter.

    httpx logs every request at INFO; it is kept at WARNING so a busy bot's
    log is about the bot, and redaction still guards what gets through.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
