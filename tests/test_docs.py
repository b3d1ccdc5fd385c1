"""The admin guide and README stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_guide_links_generated_pictures() -> None:
    """The guide shows pictures `make docs` writes, not a diagram pasted in by hand."""
    assert "```mermaid" not in GUIDE
    linked = re.findall(r"\(flows/([a-z0-9_]+)\.svg\)", GUIDE)
    assert linked
    for flow_id in linked:
        assert (ROOT / "docs" / "flows" / f"{flow_id}.svg").is_file(), "run make docs"


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
