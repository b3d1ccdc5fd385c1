"""Flows loaded in a child process: the same report, and a serving process without the loader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import child_loader
from bot.child_loader import load_in_child
from bot.sources import read_place, resolve

ROOT = Path(__file__).resolve().parent.parent


async def test_the_child_gives_the_same_catalog_as_loading_here(project: Path) -> None:
    """Flows, texts and findings come back whole; the engine reads them as if loaded here."""
    here = read_place(resolve(project)).unwrap()
    report = await load_in_child(project)
    there = report.unwrap()
    assert there.flows.keys() == here.flows.keys()
    assert there.texts == here.texts
    assert there.default_locale == here.default_locale
    for flow_id, flow in here.flows.items():
        assert there.flows[flow_id].model == flow.model
        assert there.flows[flow_id].questions.keys() == flow.questions.keys()


async def test_a_broken_flow_comes_back_as_findings_with_lines(project: Path) -> None:
    plan = project / "flows" / "plan.yaml"
    plan.write_text(plan.read_text().replace("start: ", "start: nowhere_", 1))
    report = await load_in_child(project)
    assert report.catalog is None
    line = plan.read_text().splitlines().index("start: nowhere_about") + 1
    assert [str(f) for f in report.findings] == [
        f"{plan}:{line}: start question 'nowhere_about' is not defined"
    ]


async def test_a_child_that_dies_is_one_clear_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever kills the child, /reload and start-up get a finding, not a traceback."""
    monkeypatch.setattr(child_loader.sys, "executable", "/bin/false")
    report = await load_in_child()
    assert report.catalog is None
    assert [str(f) for f in report.findings] == [
        "flows:1: the flow check process failed (exit 1): no output"
        " (run: python -m bot flows check, to see why)"
    ]


async def test_output_that_is_not_the_childs_is_one_clear_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(child_loader.sys, "executable", "/bin/echo")
    report = await load_in_child()
    assert report.catalog is None
    assert [f.message for f in report.findings] == [
        "could not read the flow check process's output"
    ]


async def test_code_changed_since_start_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child on newer code may have other classes: its flows are not trusted."""
    monkeypatch.setattr(child_loader, "CODE_VERSION", "the code the bot started with")
    report = await load_in_child(project)
    assert report.catalog is None
    assert [str(f) for f in report.findings] == [
        "flows:1: the bot's code changed on disk since it started"
        " (restart the bot to load flows with the new code)"
    ]


def test_serving_never_imports_the_loader_or_pydantic() -> None:
    """The memory the bench counts: a polling bot holds no YAML parser, proofs, pydantic
    or HTTP server."""
    code = (
        "import sys, bot.cli, bot.service, bot.child_loader\n"
        "import bot.channels.telegram.channel, bot.store.sqlite\n"
        "heavy = ('yaml', 'pydantic', 'bot.advice.loader', 'bot.advice.proofs',\n"
        "         'bot.flows.checks', 'bot.sources',\n"
        "         'aiohttp.web')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_child_loader_has_a_memory_limit() -> None:
    """The child caps its address space: growing past it is a MemoryError, not the machine."""
    script = (
        "from bot.child_loader import limit_memory\n"
        "limit_memory(512 * 1024**2)\n"
        "try:\n"
        "    bytearray(1024**3)\n"
        "except MemoryError:\n"
        "    print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "refused", done.stderr
