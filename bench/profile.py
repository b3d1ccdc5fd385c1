"""Profiling a bot process under the bench's load with py-spy, and reading the result.

py-spy samples the running process from outside (no change to the bot), so
the profile is of exactly the process the bench measures. Each bot is
recorded twice: a flame graph (``NAME.svg``) and collapsed stacks
(``NAME.txt``, one ``frame;frame;... count`` a line), which ``summarise``
turns into shares of the samples by thread, by area of the code, and by
function.
"""

from __future__ import annotations

import asyncio
import contextlib
import linecache
import shutil
import sys
import sysconfig
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

AREAS = (
    ("bot/store/sqlite.py", "ours: store (SQLite via aiosqlite)"),
    ("aiosqlite/", "aiosqlite + sqlite3 (worker thread and hand-offs)"),
    ("bot/channels/telegram/dialogue.py", "ours: dialogue (pure decisions)"),
    ("bot/advice/render.py", "ours: rendering"),
    ("bot/advice/engine.py", "ours: engine"),
    ("bot/channels/telegram/html.py", "ours: HTML formatting"),
    ("bot/channels/telegram/outbox.py", "ours: outbox (replies stored with the state)"),
    ("bot/channels/telegram/", "ours: telegram_bot glue (intake, turn, wire, ...)"),
    ("telegram/ext/_aioratelimiter.py", "PTB AIORateLimiter"),
    ("aiolimiter/", "PTB AIORateLimiter"),
    ("telegram/request/", "PTB request layer"),
    ("httpx/", "httpx / httpcore / anyio (HTTP client)"),
    ("httpcore/", "httpx / httpcore / anyio (HTTP client)"),
    ("anyio/", "httpx / httpcore / anyio (HTTP client)"),
    ("h11/", "httpx / httpcore / anyio (HTTP client)"),
    ("telegram/_", "PTB objects (de_json, to_dict, __init__)"),
    ("telegram/ext/", "PTB ext (Application, handlers)"),
    ("json/", "json"),
    ("asyncio/", "asyncio event loop (incl. socket writes)"),
    ("selectors.py", "asyncio event loop (incl. socket writes)"),
)
"""The innermost frame that matches decides where a sample's time is charged."""

CALL_SITES = (
    ("Intake.poll", "ours' poll loop (fetching, keeping in the inbox)"),
    ("Intake.handle_json", "ours' update (parsing, the turn)"),
    ("Update.de_json", "  Update.de_json"),
    ("Turn.on_update", "  on_update"),
    ("SQLiteStore.load", "    store.load"),
    ("Turn.decide", "    decide (dialogue, engine, render: pure)"),
    ("SQLiteStore.apply", "    store.apply"),
    ("Turn.perform", "    perform (the Bot API calls)"),
    ("Turn._send_replies", "      the answer, edits and sends"),
    ("BotBase.answer_press", "        answerCallbackQuery"),
    ("Turn._edit", "        edits"),
    ("SQLiteStore.settle", "      store.settle (outbox sent, live question)"),
    ("BotBase.call", "  (inside calls) every Bot API call"),
    ("jsontext", "  (inside calls) JSON"),
    ("_connection_worker_thread", "sqlite worker thread (SQLite itself)"),
)
"""Inclusive shares of ours' own call sites: what a change to ours could save."""


IDLE_LEAVES = {
    "_connection_worker_thread": "get(",  # aiosqlite's worker waiting for work
    "_worker": "get(",  # the default executor's idle threads
    "EpollSelector.select": "poll(",  # the event loop waiting for I/O
    "Condition.wait": "acquire(",
}
"""Leaf frames (and the text of their line) where a thread is blocked, not running.

py-spy counts blocked threads too when it cannot tell; these samples are
dropped from the shares, and their number reported as ``idle_samples``.
"""

_ROOTS = (Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"]), ROOT)


def _idle(leaf: str) -> bool:
    name, _, where = leaf.partition(" (")
    wanted = IDLE_LEAVES.get(name)
    if wanted is None:
        return False
    file, _, line = where.rstrip(")").rpartition(":")
    for root in _ROOTS:
        text = linecache.getline(str(root / file), int(line)) if line.isdigit() else ""
        if text:
            return wanted in text
    return False


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


async def record(
    pid: int,
    seconds: int,
    out_dir: Path,
    name: str,
    under_load: Callable[[float], Awaitable[None]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Record ``pid`` while ``under_load(seconds)`` runs; the summary, or {} if py-spy failed."""
    spy = py_spy()
    if spy is None:
        log("py-spy not found; no profile (.venv/bin/pip install py-spy)")
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (instant)
    for fmt, path in (("flamegraph", out_dir / f"{name}.svg"), ("raw", out_dir / f"{name}.txt")):
        log(f"profiling {name} for {seconds} s with py-spy ({fmt}) -> {path}")
        argv = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
        argv += ["--format", fmt, "--output", str(path), "--threads"]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            await asyncio.sleep(0.5)
            await under_load(seconds + 0.5)
            _, err = await asyncio.wait_for(proc.communicate(), seconds + 30)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            log(f"py-spy failed ({proc.returncode}): {err.decode(errors='replace')[-400:]}")
            return {}
    summary = summarise(out_dir / f"{name}.txt")
    summary["svg"] = str(out_dir / f"{name}.svg")
    return summary


def summarise(path: Path, top: int = 25) -> dict[str, Any]:
    """Shares (%) of the samples by thread, area, ours' call sites and function."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        if not frames:
            continue
        if _idle(frames[-1]):
            idle += count
            continue
        total += count
        worker = any("_connection_worker_thread" in f for f in frames)
        threads["sqlite worker thread" if worker else "main thread (event loop)"] += count
        own[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            incl[name] += count
        areas[_area(frames)] += count
        for marker, label in CALL_SITES:
            if any(marker in f for f in frames):
                sites[label] += count

    def share(counter: Counter[str], n: int = top) -> list[tuple[str, float]]:
        if not total:
            return []
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)]

    return {
        "samples": total,
        "idle_samples": idle,
        "threads_pct": share(threads),
        "areas_pct": share(areas),
        "ours_call_sites_pct": [
            (label, round(100 * sites[label] / total, 1) if total else 0.0)
            for _, label in CALL_SITES
        ],
        "own_pct": share(own),
        "inclusive_pct": share(incl, 40),
    }


def _short(frame: str) -> str:
    # py-spy's raw frames read "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/", f"{ROOT}/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{name} ({file})"


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for marker, area in AREAS:
            if marker in frame:
                return area
    return "other"


def format_summary(name: str, summary: dict[str, Any]) -> str:
    lines = [
        f"profile of {name} ({summary['samples']} busy samples, {summary['idle_samples']} idle"
        f" left out; flame graph {summary['svg']}):"
    ]
    lines.append("  where the CPU goes (innermost recognised frame):")
    lines += [f"    {pct:5.1f}%  {area}" for area, pct in summary["areas_pct"]]
    lines.append("  ours' call sites (inclusive):")
    lines += [f"    {pct:5.1f}%  {label}" for label, pct in summary["ours_call_sites_pct"]]
    lines.append("  top functions by own time:")
    lines += [f"    {pct:5.1f}%  {fn}" for fn, pct in summary["own_pct"][:12]]
    return "\n".join(lines)
