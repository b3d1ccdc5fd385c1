"""Welsh command names: /iaith, /cymorth, /yn_ol... beside the English ones, from content."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram.dialogue import COMMANDS, command_names
from bot.channels.terminal import Terminal
from bot.sources import read_place, resolve

from fakebotapi import FakeBotAPI
from support import fixture_catalog
from telegram_support import asks_language, last_text, running, say

USER = 5005
CY = Renderer(fixture_catalog(), "cy")
WELSH_NAMES = {
    "start": "start",
    "language": "iaith",
    "help": "cymorth",
    "back": "yn_ol",
    "restart": "ailddechrau",
    "summary": "crynodeb",
    "privacy": "preifatrwydd",
    "forget": "anghofio",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


def test_the_welsh_names_come_from_content() -> None:
    """The names the issue asks for, read from content/cy/ui.yaml, not from code."""
    catalog = fixture_catalog()
    assert command_names(catalog, "cy") == WELSH_NAMES
    assert command_names(catalog, "en") == {c: c for c in COMMANDS}


async def test_welsh_menu_and_first_message_iaith(fake_api: FakeBotAPI, db: Path) -> None:
    """setMyCommands in Welsh shows the Welsh names; /iaith first asks the language."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/iaith", language=None, language_code="cy")
        assert asks_language(fake_api, USER)
        assert CY.t(UI.LANGUAGE_ASK) in last_text(fake_api, USER)
    welsh_menu = [
        c["command"] for (_, lang), cmds in fake_api.commands.items() if lang == "cy" for c in cmds
    ]
    english_menu = [
        c["command"] for (_, lang), cmds in fake_api.commands.items() if lang == "" for c in cmds
    ]
    assert welsh_menu == list(WELSH_NAMES.values())
    assert english_menu == list(COMMANDS)


async def test_cymorth_gets_the_help_and_english_still_works(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """/cymorth is /help; the English /help still works in a Welsh chat; /yn_ol and /nol go back."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/cymorth", language=None, language_code="cy")
        assert last_text(fake_api, USER).startswith(CY.t(UI.TELEGRAM_HELP))
        assert "/yn_ol" in last_text(fake_api, USER)
        assert "/nol" not in last_text(fake_api, USER)
        await say(fake_api, USER, "/help", language=None, language_code="cy")
        assert last_text(fake_api, USER).startswith(CY.t(UI.TELEGRAM_HELP))
        await say(fake_api, USER, "/start plan", language=None, language_code="cy")
        await say(fake_api, USER, "Cau'r llwybr", language=None, language_code="cy")
        assert last_text(fake_api, USER).startswith(
            CY.t(UI.QUESTION_NUMBER, number=2).split(" (")[0]
        )
        await say(fake_api, USER, "/yn_ol", language=None, language_code="cy")
        assert last_text(fake_api, USER).startswith(
            CY.t(UI.QUESTION_NUMBER, number=1).split(" (")[0]
        )
        await say(fake_api, USER, "Cau'r llwybr", language=None, language_code="cy")
        await say(fake_api, USER, "/nol", language=None, language_code="cy")
        assert last_text(fake_api, USER).startswith(
            CY.t(UI.QUESTION_NUMBER, number=1).split(" (")[0]
        )


def test_terminal_takes_the_welsh_words() -> None:
    """cymorth, yn ôl (yn_ol, or the old nol and nôl), ailddechrau and gadael in Welsh."""
    backs = ["yn ôl", "yn_ol", "/yn_ol", "YN OL", "nol", "nôl"]
    lines = iter(
        ["cymorth", *(w for back in backs for w in ("Cau'r llwybr", back)), "ailddechrau", "gadael"]
    )
    out = io.StringIO()
    status = Terminal(fixture_catalog(), "cy", lambda: next(lines, None), out).run("plan")
    text = out.getvalue()
    assert status == 0
    # first, again after cymorth, after each way back and after ailddechrau
    assert text.count(CY.t("plan.q.about")) == 3 + len(backs)
    assert text.count(CY.t(UI.TERMINAL_COMMANDS)) == 2  # at the start and for cymorth
    assert CY.t("plan.q.about.help") in text
    assert CY.t(UI.TERMINAL_RESTARTED) in text
    assert CY.t(UI.TERMINAL_BYE) in text
    assert CY.t(UI.TELEGRAM_UNKNOWN_COMMAND) not in text


@pytest.mark.parametrize("locale", ["en", "cy"])
def test_texts_name_only_commands_of_their_own_language(locale: str) -> None:
    """Every /command a text mentions is one the menu shows in that language."""
    catalog = fixture_catalog()
    names = set(command_names(catalog, locale).values())
    for text_id, text in catalog.texts[locale].items():
        for named in re.findall(r"(?<![\w/])/([a-z_]+)", text):
            assert named in names, (locale, text_id, named)


def test_a_command_word_telegram_cannot_take_is_reported(project: Path) -> None:
    """yn ôl (a space, an accent) or a word taken by another command: file:line, not a crash."""
    ui = project / "content" / "cy" / "ui.yaml"
    lines = ui.read_text(encoding="utf-8").splitlines()
    back = next(i for i, line in enumerate(lines) if line.strip() == "back: yn_ol")
    forget = next(i for i, line in enumerate(lines) if line.strip() == "forget: anghofio")
    lines[back] = lines[back].replace("yn_ol", '"yn ôl"')
    lines[forget] = lines[forget].replace("anghofio", "cymorth")
    ui.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [str(f) for f in read_place(resolve(project)).findings]
    assert any(
        f.startswith(f"{ui.name}:{back + 1}:") or f":{back + 1}: command word 'yn ôl'" in f
        for f in found
    ), found
    assert any(
        f":{forget + 1}: command word 'cymorth'" in f and "already means" in f for f in found
    ), found


def test_an_also_word_is_checked_like_a_command_word(project: Path) -> None:
    """ui.command.also.back: a word taken by another command, or naming no command, is reported."""
    ui = project / "content" / "cy" / "ui.yaml"
    lines = ui.read_text(encoding="utf-8").splitlines()
    also = next(i for i, line in enumerate(lines) if line.strip() == "back: nol")
    assert lines[also - 1].strip() == "also:"
    lines[also] = lines[also].replace("nol", "cymorth")
    lines.insert(also + 1, lines[also].replace("back: cymorth", "nowhere: rhywle"))
    ui.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [str(f) for f in read_place(resolve(project)).findings]
    assert any(
        f":{also + 1}: command word 'cymorth'" in f and "already means ui.command.help" in f
        for f in found
    ), found
    assert any(f":{also + 2}: 'ui.command.also.nowhere' (cy) names no command" in f for f in found)
