"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's flows and texts that a test may edit."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "flows", copy / "flows")
    shutil.copytree(ROOT / "content", copy / "content")
    return copy
