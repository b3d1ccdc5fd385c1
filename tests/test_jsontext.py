"""orjson with the standard library behind it: the same values back, and text a database holds."""

from __future__ import annotations

import sqlite3

import pytest

from bot.store.jsontext import dumps, dumps_bytes, loads

LONE = {"text": "broken \ud800 half", "n": 1}


def test_a_lone_surrogate_is_escaped_so_a_database_can_hold_it() -> None:
    text = dumps(LONE)
    assert "\\ud800" in text
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE t (body TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (text,))  # a raw surrogate would raise here
        (stored,) = db.execute("SELECT body FROM t").fetchone()
    assert loads(stored) == LONE
    assert loads(dumps_bytes(LONE)) == LONE


@pytest.mark.parametrize(
    "value", [{"a": "é ✓ 😀"}, [1, 2.5, None, True], {"nested": {"list": [{"x": "y"}]}}]
)
def test_everything_else_round_trips_compact_with_its_characters_kept(value: object) -> None:
    assert loads(dumps(value)) == value
    assert loads(dumps_bytes(value)) == value
    assert ", " not in dumps(value)


def test_keys_that_are_not_text_become_text_as_json_makes_them() -> None:
    assert loads(dumps({1: "one"})) == {"1": "one"}


def test_what_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match="Expecting value"):
        loads(b"\xff{")
