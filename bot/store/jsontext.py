"""JSON in and out of the bot's edges, fast: orjson, with the standard library behind it.

Every update is JSON three or four times over (the Bot API's answer, the
inbox, the stored session, each call's body); the standard library's
encoder and decoder were a tenth of the CPU per update in the profile
(docs/operations.md), orjson does the same in a fraction of it. orjson
refuses what Telegram may still send or a person type: a lone surrogate
(``"\\ud800"``), which ``json`` reads and writes as an escape. That text
falls back to ``json`` (escaped, as no database can hold it raw), so the two
read back the same values. Unlike ``json``, whole numbers of 2**64 and more
read as floats and NaN writes as null: Telegram's ids and the bot's own
values are far from either. It lives with the stores, which keep JSON too,
and which the Telegram channel already uses.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII characters kept as they are."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a lone surrogate, a key that is not text
        # Escaped: a raw lone surrogate is text no database encoding can hold.
        return json.dumps(value, separators=(",", ":"))


def dumps_bytes(value: Any) -> bytes:
    """JSON as UTF-8, as a request body is sent; a lone surrogate is escaped, as
    UTF-8 cannot hold it."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text; raises ``ValueError`` if it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return json.loads(text)
