"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from fakebotapi import FakeBotAPI

# Opt in to python-telegram-bot's coming timedelta values (as `python -m bot run` does),
# so its deprecation warning does not fire on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API serving on 127.0.0.1, stopped when the test ends."""
    async with FakeBotAPI() as api:
        yield api
