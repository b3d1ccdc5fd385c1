"""The layout docs/architecture.md describes, held by tests as well as import-linter."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import bot

PACKAGE = Path(bot.__file__).parent
IO_LIBRARIES = ("telegram", "aiohttp", "aiosqlite", "asyncpg", "psycopg", "fpdf", "PIL")


def test_the_core_imports_no_io_library() -> None:
    """Every module of bot.flows and bot.advice, imported afresh, loads no I/O library."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import bot.flows, bot.advice\n"
        "for package in (bot.flows, bot.advice):\n"
        "    for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    loaded = json.loads(done.stdout)
    core = [m for m in loaded if m.startswith(("bot.flows.", "bot.advice."))]
    assert len(core) >= 15, "the walk imported the core's modules"
    offending = [m for m in loaded if m.split(".")[0] in IO_LIBRARIES]
    assert offending == []


def test_the_package_shows_its_parts() -> None:
    """At most 8 top-level modules; the parts are packages, bot.flows and bot.advice among them."""
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert len(modules) <= 8, modules
    assert {"flows", "advice", "channels", "store", "results"} <= set(packages), packages


def test_the_architecture_page_names_only_modules_that_exist() -> None:
    """Every ``bot/...py`` path docs/architecture.md mentions is a file in the package."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")

    named = set(re.findall(r"`(bot/[\w/]+\.py)`", page))
    assert len(named) >= 10, "the page walks through the files"
    missing = [n for n in sorted(named) if not (PACKAGE.parent / n).is_file()]
    assert missing == []
