"""The admin guide and README stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import build_parser
from bot.flows.graph import to_mermaid
from bot.sources import project_catalog

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_guide_diagram_is_the_generated_one() -> None:
    """The diagram in the admin guide is exactly what `flows graph plan` draws today."""
    catalog = project_catalog()
    block = re.search(r"```mermaid\n(.*?)```", GUIDE, re.S)
    assert block is not None
    assert block.group(1) == to_mermaid(catalog.flows["plan"].model, catalog.texts["en"]), (
        "regenerate it: python -m bot flows graph plan"
    )


def test_every_command_is_documented() -> None:
    """Each subcommand of python -m bot appears in the README."""
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in commands:
        assert f"python -m bot {name}" in README, name


def test_readme_first_screen_has_the_two_commands() -> None:
    """The README's first screen says what the bot is and gives make run and make test."""
    first = "\n".join(README.splitlines()[:30])
    assert "make run" in first
    assert "make test" in first
