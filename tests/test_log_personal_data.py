"""No name or typed word reaches the log through the PDF font or an unreadable Bot API answer.

A hostile review found two ways around the rule that the log holds no
message text, answer or name: fpdf2 logged the characters its font lacks
(enough of them to spell what a person typed), and python-telegram-bot
logged a getUpdates body it could not parse whole, names and messages
included. Both are caught here as `python -m bot run` configures logging.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from pypdf import PdfReader

from bot.results.report import result_files

from fakebotapi import FakeBotAPI
from support import fixture_catalog, walk
from telegram_support import captured_log, running

NAME = "张伟明"
"""A decision named in characters DejaVu Sans has no glyph for (CJK ideographs, Lo)."""


def test_characters_the_pdf_font_lacks_are_counted_not_logged() -> None:
    """The log says how many and of what Unicode category; never which, nor their text."""
    catalog = fixture_catalog()
    typed = f"Closing {NAME}'s footpath"
    session = walk("plan", [typed, "skip", "made", "us", "no", "no"], catalog)
    with captured_log([]) as logged:
        pdf, _ = result_files(catalog, catalog.flows["plan"], session, "en")
    log = logged.getvalue()
    for char in NAME:
        assert char not in log
        assert f"{ord(char):04x}" not in log.lower(), "nor its code point"
    assert "footpath" not in log
    assert "missing the following glyphs" not in log, "fpdf2 found nothing to say"
    assert "the PDF font lacks 3 character(s) of this result (Unicode categories: Lo 3)" in log
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Closing \ufffd\ufffd\ufffd's footpath" in text, "shown as replacement marks"


def test_a_pdf_in_glyphs_the_font_has_logs_nothing_about_them() -> None:
    catalog = fixture_catalog()
    session = walk("plan", ["Dŵr a thŷ → ⚠", "skip", "made", "us", "no", "no"], catalog)
    with captured_log([]) as logged:
        result_files(catalog, catalog.flows["plan"], session, "en")
    assert "PDF font lacks" not in logged.getvalue()


PERSON = {"id": 7, "is_bot": False, "first_name": "Siân", "last_name": "Prydderch"}
WORDS = "our plan to close Ysgol Bryn Hafod"


class GarblingBotAPI(FakeBotAPI):
    """The fake Bot API, but its first getUpdates answer holding an update is spoiled:
    cut short, or sent with an error status inside a proxy's page."""

    def __init__(self, status: int, spoil: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self.spoil_status = status
        self.spoil = spoil
        self.spoiled = 0

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        body = response.body if isinstance(response.body, bytes) else b""
        method = request.match_info["method"].lower()
        if method == "getupdates" and not self.spoiled and WORDS.encode() in body:
            self.spoiled = len(self.spoil(body))
            return web.Response(body=self.spoil(body), status=self.spoil_status)
        return response


def cut_after_the_words(body: bytes) -> bytes:
    """A body that stops mid-update, just after the message text."""
    return body[: body.index(WORDS.encode()) + len(WORDS)]


def in_a_proxy_page(body: bytes) -> bytes:
    return b"<html><body>upstream answered: " + body + b"</body></html>"


async def bot_meets(api: GarblingBotAPI, tmp_path: Path) -> str:
    """The log of a bot that polls the spoiled answer, then the whole one, and replies."""
    with captured_log([api.token]) as logged:
        async with running(api, tmp_path / "db.sqlite3"):
            api.send_update(
                {"message": {"from": PERSON, "chat": {"id": 7, "type": "private"}, "text": WORDS}}
            )
            deadline = time.monotonic() + 15
            while not api.chat(7).visible:
                assert time.monotonic() < deadline, "the update was not answered after the retry"
                await asyncio.sleep(0.05)
    assert api.spoiled, "the spoiled answer was sent"
    return logged.getvalue()


async def test_a_truncated_getupdates_answer_is_logged_by_size_and_status(
    tmp_path: Path,
) -> None:
    api = GarblingBotAPI(200, cut_after_the_words)
    async with api:
        log = await bot_meets(api, tmp_path)
    assert_no_person(log)
    assert f"the Bot API answered HTTP 200 with {api.spoiled} bytes that are not JSON" in log


async def test_an_error_page_holding_updates_is_logged_by_size_and_status(
    tmp_path: Path,
) -> None:
    api = GarblingBotAPI(502, in_a_proxy_page)
    async with api:
        log = await bot_meets(api, tmp_path)
    assert_no_person(log)
    assert f"the Bot API answered HTTP 502 with {api.spoiled} bytes that are not JSON" in log
    assert "getUpdates failed (Bad Gateway (502))" in log, "retried as a 502 always was"


def assert_no_person(log: str) -> None:
    for word in ("Siân", "Si\\u00e2n", "Prydderch", "Ysgol", "Hafod", WORDS):
        assert word not in log, f"{word!r} logged:\n{log}"
