"""``make bench``: ours against a bare PTB floor and two usual ways, under load, over HTTP.

Four bots run at once, each its own OS process, all polling one lean fake
Bot API server (``bench.loadserver``) on 127.0.0.1 that plays N users per bot.
Only one bot is *active* at a time, in short slices that rotate each round
(A B C D, B C D A, ...), so the bots never compete for the machine's cores,
and slow drifts of the machine (other load, thermal, caches) hit every bot
alike. A slice: the server lets the bot's users act for ``slice`` seconds,
then stops handing out updates and waits until the bot has answered every
update it was handed and gone quiet; the bot's CPU time (user+sys, from
/proc via psutil) over that span, divided by the updates handed out in it,
is its CPU per update. Warm-up slices come first and are not counted.

Then, in the same run: ours' memory with 0 .. 10,000 stored conversations, the
time to load and prove a generated 300-question flow, and the engine's time
per answer. The last line printed is one JSON object.

    .venv/bin/python -m bench                 # the full run: 50 and 500 users (~6 minutes)
    .venv/bin/python bench/run.py             # the same
    .venv/bin/python -m bench --quick         # a ~2 minute smoke run
    .venv/bin/python -m bench --profile /tmp/prof   # also py-spy ours under load
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

if not __package__:  # run as a file (python bench/run.py): make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import offline, profile
from bench.flow import write_project
from bench.loadserver import BotSpec, BotState, LoadServer
from bench.peers.texts import RESULT_HTML

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

QUIET_SECONDS = 0.25
"""A drained bot has answered everything it was handed and made no call for this long."""
DRAIN_TIMEOUT = 60.0
WARMUP_TIMEOUT = 180.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

BOTS = (
    "ours",
    "floor",
    "usual",
    "best_peer",
    "ours_paced",
    "floor_ours_transport",
    "ours_pg",
    "ours_pg_webhook",
    "ours_pg_webhook_x2",
)
DEFAULT_BOTS = BOTS
POSTGRES_BOTS = frozenset(b for b in BOTS if b.startswith("ours_pg"))
REPLICAS = {"ours_pg_webhook": 1, "ours_pg_webhook_x2": 2}
"""Bots served by webhook replicas behind the load server, and how many replicas."""
LABELS = {
    "ours_pg": "ours on PostgreSQL, polling, one process",
    "ours_pg_webhook": "ours on PostgreSQL, one webhook replica",
    "ours_pg_webhook_x2": "ours on PostgreSQL, two webhook replicas",
    "floor_ours_transport": "the floor on ours' aiohttp transport",
    "ours": "ours (python -m bot run)",
    "ours_paced": "ours with ADVISOR_RATE_LIMIT=30 (paced to 30 msg/s)",
    "floor": "floor (bare PTB, same calls)",
    "usual": "usual (PTB ConversationHandler+Pickle)",
    "best_peer": "best peer (aiogram 3 + aiogram-dialog)",
}


# --------------------------------------------------------------------------- processes


_children: list[subprocess.Popen[bytes]] = []


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the bench process dies, however it dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    _children.append(proc)
    return proc


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """SIGTERM them all, then wait for each (SIGKILL after STOP_TIMEOUT)."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc in _children:
            _children.remove(proc)


async def astop(*procs: subprocess.Popen[bytes]) -> None:
    """``stop`` off the event loop, which must go on serving their last calls."""
    await asyncio.to_thread(stop, *procs)


def stop_all() -> None:
    stop(*_children)


def base_env() -> dict[str, str]:
    """The environment without any bot setting of the developer's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "ADVISOR_", "BENCH_", "PYTHON"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def machine_busy() -> float:
    """CPU seconds all cores have spent not idle since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def status_mb(pid: int, key: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak resident set) from /proc/<pid>/status, in MB."""
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- bots


@dataclass
class Bot:
    name: str
    state: BotState
    proc: subprocess.Popen[bytes]
    ps: psutil.Process
    log: Path
    rescued: int = 0
    slices: int = 0
    cpu_all_start: float = 0.0
    cpu_all: float = 0.0
    server_cpu: float = 0.0
    slice_cpu_us: list[int] = field(default_factory=list)
    sys_cpu: float = 0.0
    ctx_switches: int = 0
    other_cores: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    more: list[subprocess.Popen[bytes]] = field(default_factory=list)
    """Further replicas of the same bot; their CPU counts as the bot's."""
    database: Any = None
    """The PostgreSQL server it uses, whose CPU is reported beside the bot's."""
    db_cpu: float = 0.0

    def processes(self) -> list[psutil.Process]:
        return [self.ps, *(psutil.Process(p.pid) for p in self.more)]


def bot_command(
    name: str, server: LoadServer, token: str, work: Path, database_url: str | None = None
) -> tuple[list[str], dict[str, str]]:
    env = base_env()
    env["BENCH_TOKEN"] = token
    env["BENCH_API_BASE"] = server.base
    env["BENCH_STATE_DIR"] = str(work)
    if name.startswith(("ours", "mem")):
        flows, content = work / "flows", work / "content"
        env.update(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_BASE_URL=f"{server.base}/bot",
            ADVISOR_DB_PATH=str(work / "advisor.sqlite3"),
            ADVISOR_FLOWS_DIR=str(flows),
            ADVISOR_CONTENT_DIR=str(content),
        )
        cprofile = os.environ.get("BENCH_CPROFILE")
        if cprofile and name == "ours":
            env["BENCH_CPROFILE"] = cprofile
            return [PYTHON, "-m", "bench.profiled", "run"], env
        traced = os.environ.get("BENCH_TRACEMALLOC")
        if traced and name == "ours":
            env["BENCH_TRACEMALLOC"] = traced
            env["BENCH_TRACE_FRAMES"] = os.environ.get("BENCH_TRACE_FRAMES", "1")
            return [PYTHON, "-m", "bench.traced", "run"], env
        if name == "ours_paced":
            env["ADVISOR_RATE_LIMIT"] = "30"  # ours' own switch: pace to 30 messages a second
        if database_url:
            env["ADVISOR_DATABASE_URL"] = database_url
        return [PYTHON, "-m", "bot", "run"], env
    if name == "floor_ours_transport":
        env["BENCH_TRANSPORT"] = "ours"
    module = {
        "floor": "bench.peers.bare_ptb",
        "floor_ours_transport": "bench.peers.bare_ptb",
        "usual": "bench.peers.ptb_conversation",
        "best_peer": "bench.peers.aiogram_dialog_bot",
    }[name]
    return [PYTHON, "-m", module], env


async def launch(
    server: LoadServer,
    name: str,
    token: str,
    users: int,
    start_text: str,
    work: Path,
    first_message_id: int = 0,
) -> Bot:
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    spec = BotSpec(name, token, start_text, users, first_message_id=first_message_id)
    state = server.add_bot(spec)
    database = postgres.get("cluster") if name in POSTGRES_BOTS else None
    url = await asyncio.to_thread(database.database) if database else None
    argv, env = bot_command(name, server, token, work, url)
    log = work / f"{name}.log"
    replicas = REPLICAS.get(name, 0)
    if not replicas:
        proc = spawn(argv, env, work, log)
        return Bot(name, state, proc, psutil.Process(proc.pid), log, database=database)
    # Webhook replicas: each listens on a port of its own; the load server posts
    # each update to one of them at random, as a load balancer in front would.
    procs = []
    for n in range(replicas):
        port = free_port()
        state.webhooks.append(f"http://127.0.0.1:{port}/hook")
        procs.append(
            spawn(
                argv,
                env
                | {
                    "TELEGRAM_WEBHOOK_URL": "http://127.0.0.1:1/hook",
                    "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
                    "ADVISOR_WEBHOOK_LISTEN": "127.0.0.1",
                    "ADVISOR_WEBHOOK_PORT": str(port),
                    "ADVISOR_DB_PATH": str(work / f"replica{n}" / "advisor.sqlite3"),
                },
                work,
                log if n == 0 else work / f"{name}-{n}.log",
            )
        )
    bot = Bot(name, state, procs[0], psutil.Process(procs[0].pid), log, more=procs[1:])
    bot.database = database
    bot.extra["delivery"] = asyncio.create_task(state.deliver())
    return bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


postgres: dict[str, Any] = {}
"""The PostgreSQL server the ours_pg bots share (``tests/pgserver.py`` starts it)."""


def start_postgres() -> str | None:
    """Start a throwaway PostgreSQL server; why not, if it cannot be had."""
    sys.path.insert(0, str(ROOT / "tests"))
    import pgserver

    cluster = pgserver.start()
    if isinstance(cluster, str):
        return cluster
    postgres["cluster"] = cluster
    return None


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes (the postmaster and its children)."""
    cluster = postgres.get("cluster")
    if cluster is None or cluster.data is None:
        return 0.0
    try:
        pid = int((cluster.data / "data" / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(pid)
        total = 0.0
        for proc in [main, *main.children()]:
            with contextlib.suppress(psutil.Error):
                total += cpu_seconds(proc)
        return total
    except (OSError, ValueError, psutil.Error):
        return 0.0


async def wait_polling(bot: Bot) -> None:
    """Until the bot polls, or every replica of a webhook bot has set its webhook."""
    deadline = time.monotonic() + START_TIMEOUT
    replicas = REPLICAS.get(bot.name, 0)
    while (bot.state.webhooks_set < replicas) if replicas else bot.state.poll_waiting == 0:
        check_alive(bot)
        if time.monotonic() > deadline:
            tail = bot.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"{bot.name} did not start polling in {START_TIMEOUT:.0f} s:\n{tail}"
            )
        await asyncio.sleep(0.05)


def check_alive(bot: Bot) -> None:
    if any(p.poll() is not None for p in (bot.proc, *bot.more)):
        tail = bot.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{bot.name} exited with {bot.proc.returncode}:\n{tail}")


async def drain(bot: Bot) -> None:
    """Wait until the bot has answered every update it was handed and gone quiet."""
    state = bot.state
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        now = time.monotonic()
        if state.in_flight <= 0 and now - state.last_call >= QUIET_SECONDS:
            return
        if now > deadline:
            bot.rescued += state.rescue()
            return
        check_alive(bot)
        await asyncio.sleep(0.02)


async def run_slice(bot: Bot, seconds: float, measure: bool) -> None:
    """Let the bot's users act for ``seconds``, then drain; count it if ``measure``."""
    state = bot.state
    me = psutil.Process()
    procs = bot.processes()
    all0 = machine_busy()
    updates0 = state.window.updates
    sys0, ctx0 = _sys_ctx(procs)
    db0 = postgres_cpu() if bot.database else 0.0
    cpu0, own0, t0 = _cpu(procs), cpu_seconds(me), time.monotonic()
    state.activate(measure)
    end = t0 + seconds
    while time.monotonic() < end:
        check_alive(bot)
        await asyncio.sleep(min(0.2, max(0.0, end - time.monotonic())))
    state.deactivate()
    await drain(bot)
    cpu1, own1, t1 = _cpu(procs), cpu_seconds(me), time.monotonic()
    sys1, ctx1 = _sys_ctx(procs)
    db1 = postgres_cpu() if bot.database else 0.0
    all1 = machine_busy()
    state.measuring = False
    if measure:
        state.window.seconds += t1 - t0
        state.window.cpu_seconds += cpu1 - cpu0
        bot.server_cpu += own1 - own0
        bot.slices += 1
        bot.db_cpu += db1 - db0
        bot.sys_cpu += sys1 - sys0
        bot.ctx_switches += ctx1 - ctx0
        updates = state.window.updates - updates0
        bot.slice_cpu_us.append(round((cpu1 - cpu0) / max(updates, 1) * 1e6))
        # cores busy with anything but this bot and the bench itself (the server)
        other = (all1 - all0) - (cpu1 - cpu0) - (own1 - own0) - (db1 - db0)
        bot.other_cores.append(max(0.0, other / (t1 - t0)))


def _cpu(procs: list[psutil.Process]) -> float:
    return sum(cpu_seconds(p) for p in procs)


def _sys_ctx(procs: list[psutil.Process]) -> tuple[float, int]:
    return (
        sum(p.cpu_times().system for p in procs),
        sum(sum(p.num_ctx_switches()) for p in procs),
    )


async def warm_up(bots: list[Bot], seconds: float) -> dict[str, float]:
    """All bots at once, unmeasured, until every user has had a first prompt (and ``seconds``).

    So the measured slices see each bot in its steady state (users mid-flow,
    1 /start to 5 presses), not every user's first contact, whatever the
    bot's speed. Returns how long each bot took.
    """
    began = time.monotonic()
    took: dict[str, float] = {}
    for bot in bots:
        bot.state.activate(False)
    while len(took) < len(bots):
        now = time.monotonic()
        for bot in bots:
            check_alive(bot)
            state = bot.state
            if bot.name in took:
                continue
            if state.users_answered >= len(state.users) and now - began >= seconds:
                state.deactivate()
                took[bot.name] = round(now - began, 1)
            elif now - began > WARMUP_TIMEOUT:
                state.deactivate()
                took[bot.name] = float("inf")
        await asyncio.sleep(0.1)
    for bot in bots:
        await drain(bot)
    return took


# --------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def figures(bot: Bot) -> dict[str, Any]:
    state, w = bot.state, bot.state.window
    updates = max(w.updates, 1)
    calls = dict(sorted(w.calls.items()))
    # Bot API method names are case-insensitive: ours asks for "GetUpdates".
    polls = sum(n for m, n in w.calls.items() if m.lower() == "getupdates")
    replies = sum(n for m, n in w.calls.items() if m.lower() != "getupdates")
    actions = [u.actions for u in state.users.values()]
    results = [u.results for u in state.users.values()]
    answered = [u.answered for u in state.users.values()]
    open_wait = max((u.carry for u in state.users.values()), default=0.0) * 1000
    return {
        "users": len(state.users),
        "updates": w.updates,
        "seconds": round(w.seconds, 2),
        "updates_per_s": round(w.updates / w.seconds, 1) if w.seconds else 0.0,
        "cpu_us_per_update": round(w.cpu_seconds / updates * 1e6, 1),
        "replicas": 1 + len(bot.more),
        "db_server_cpu_us_per_update": (
            round(bot.db_cpu / updates * 1e6, 1) if bot.database else None
        ),
        "cpu_us_per_update_incl_idle": round(bot.cpu_all / updates * 1e6, 1),
        "cpu_us_per_update_by_slice": bot.slice_cpu_us,
        "other_load_cores": round(statistics.mean(bot.other_cores), 2) if bot.other_cores else 0.0,
        "cpu_busy": round(w.cpu_seconds / w.seconds, 3) if w.seconds else 0.0,
        "kernel_cpu_share": round(bot.sys_cpu / w.cpu_seconds, 3) if w.cpu_seconds else 0.0,
        "context_switches_per_update": round(bot.ctx_switches / updates, 1),
        "calls_per_update": round(replies / updates, 3),
        "calls_per_update_whole_conversation": (
            None
            if (c := w.calls_per_conversation_update(state.spec.presses_per_cycle + 1)) is None
            else round(c, 3)
        ),
        "get_updates_per_update": round(polls / updates, 4),
        "calls_per_update_by_method": {m: round(n / updates, 3) for m, n in calls.items()},
        "first_reply_p50_ms": round(pct(w.first_ms, 50), 1),
        "first_reply_p99_ms": round(pct(w.first_ms, 99), 1),
        "prompt_p50_ms": round(pct(w.prompt_ms, 50), 1),
        "prompt_p99_ms": round(pct(w.prompt_ms, 99), 1),
        "stall_ms": round(w.stall * 1000, 1),
        "longest_wait_ms": round(max([*w.wait_ms, open_wait]), 1),
        "longest_wait_open_ms": round(open_wait, 1),
        "wait_p50_ms": round(pct(w.wait_ms, 50), 1),
        "peak_rss_mb": round(bot.extra.get("peak_rss_mb", float("nan")), 1),
        "rss_mb": round(bot.extra.get("rss_mb", float("nan")), 1),
        "results": w.results,
        "users_min_actions": min(actions) if actions else 0,
        "users_min_answered": min(answered) if answered else 0,
        "users_answered": sum(1 for a in answered if a),
        "answered_total": sum(answered),
        "users_without_result": sum(1 for r in results if r == 0),
        "server_errors": dict(state.errors),
        "anomalies": dict(state.anomalies),
        "anomaly_samples": state.samples,
        "rescued": bot.rescued,
        "server_cpu_us_per_call": round(bot.server_cpu / max(sum(w.calls.values()), 1) * 1e6, 1),
        "server_cpu_us_per_update": round(bot.server_cpu / updates * 1e6, 1),
        "server_cpu_busy": round(bot.server_cpu / w.seconds, 3) if w.seconds else 0.0,
        "slices": bot.slices,
    }


# --------------------------------------------------------------------------- phases


async def compare(args: argparse.Namespace, server: LoadServer, work: Path) -> dict[str, Any]:
    names = [n for n in BOTS if n in args.bots]
    bots: list[Bot] = []
    for i, name in enumerate(names):
        token = f"{100001 + i}:BENCH-{name.replace('_', '-')}"
        ours_like = name.startswith("ours")
        if ours_like:
            await asyncio.to_thread(write_project, work / name)
        start_text = "/start bench" if ours_like else "/start"
        bots.append(await launch(server, name, token, args.users, start_text, work / name))
    for bot in bots:
        await wait_polling(bot)
    log(f"{len(bots)} bots polling; warm-up (all at once) until each user has had a first reply")
    took = await warm_up(bots, args.warmup)
    log("  warm-up took " + ", ".join(f"{k} {v:g} s" for k, v in took.items()))
    for bot in bots:
        bot.cpu_all_start = _cpu(bot.processes())
    slice_s = args.seconds / args.rounds
    log(f"measuring: {args.rounds} rounds x {len(bots)} bots x {slice_s:.2f} s")
    for r in range(args.rounds):
        order = bots[r % len(bots) :] + bots[: r % len(bots)]
        for bot in order:
            await run_slice(bot, slice_s, measure=True)
        log(
            f"  round {r + 1}/{args.rounds}: "
            + " ".join(f"{b.name}={b.state.window.updates}" for b in bots)
        )
    for bot in bots:
        bot.cpu_all = _cpu(bot.processes()) - bot.cpu_all_start
        bot.extra["peak_rss_mb"] = status_mb(bot.proc.pid, "VmHWM")
        bot.extra["rss_mb"] = status_mb(bot.proc.pid, "VmRSS")
    results = {b.name: figures(b) for b in bots}
    if args.profile:
        # the unpaced bot first: CPU-bound under load, its profile has ~6x the samples
        for bot in sorted(bots, key=lambda b: b.name != "ours"):
            if bot.name.startswith("ours"):
                summary = await profile.record(
                    bot.proc.pid,
                    max(5, int(args.profile_seconds)),
                    Path(args.profile),
                    bot.name,
                    lambda seconds, bot=bot: run_slice(bot, seconds, measure=False),
                    log,
                )
                if summary:
                    results[bot.name]["profile"] = summary
    result_samples.extend(
        b.state.result_sample for b in bots if b.name.startswith("ours") and b.state.result_sample
    )
    for bot in bots:
        server.retire(bot.state)
    await astop(*(p for bot in bots for p in (bot.proc, *bot.more)))
    for bot in bots:
        delivery = bot.extra.pop("delivery", None)
        if delivery is not None:
            delivery.cancel()
    for bot in bots:
        server.remove_bot(bot.state)
    run_info["warmup_s"] = took
    return results


run_info: dict[str, Any] = {}
result_samples: list[str] = []


def prepare_case(case: Path, db: Path | None) -> None:
    """The bench flow and the shipped plan flow, and a copy of the seeded database."""
    write_project(case, with_project_flows=True)
    for suffix in ("", "-wal", "-shm") if db else ():
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", case / f"advisor.sqlite3{suffix}")


"""Results ours sent, to check the peers send the same text."""


async def memory(args: argparse.Namespace, server: LoadServer, work: Path) -> list[dict[str, Any]]:
    """RSS of a fresh ``python -m bot run`` over a database of N stored conversations."""
    rows = []
    db_seed = work / "seed.sqlite3"
    stored = 0
    first = 1_000_001
    for i, n in enumerate(args.sessions):
        if n < stored:
            raise ValueError("--sessions must be in increasing order")
        populate_s = (
            await offline.populate(db_seed, stored, n - stored, first) if n > stored else 0.0
        )
        stored = n
        case = work / f"mem{n}"
        await asyncio.to_thread(prepare_case, case, db_seed if n else None)
        token = f"{200001 + i}:BENCH-mem{n}"
        # stored conversations name prompt messages up to id 41: let the fake have sent them
        bot = await launch(server, f"mem{n}", token, args.memory_users, "/start bench", case, 100)
        await wait_polling(bot)
        started_mb = status_mb(bot.proc.pid, "VmRSS")
        await run_slice(bot, args.memory_seconds, measure=False)
        rows.append(
            {
                "sessions": n,
                "rss_mb_started": round(started_mb, 1),
                "rss_mb": round(status_mb(bot.proc.pid, "VmRSS"), 1),
                "peak_rss_mb": round(status_mb(bot.proc.pid, "VmHWM"), 1),
                "updates_served": bot.state.handed_total,
                "results": sum(u.results for u in bot.state.users.values()),
                "db_mb": round(
                    sum(p.stat().st_size for p in case.glob("advisor.sqlite3*")) / 2**20, 1
                ),
                "populate_s": round(populate_s, 1),
                "errors": sum(bot.state.errors.values()) + bot.rescued,
            }
        )
        if bot.state.result_sample is not None:
            result_samples.append(bot.state.result_sample)
        server.retire(bot.state)
        await astop(bot.proc)
        server.remove_bot(bot.state)
        row = rows[-1]
        log(f"  {n:>6} sessions: rss {row['rss_mb']} MB after {row['updates_served']} updates")
    return rows


# --------------------------------------------------------------------------- report


_T0 = time.monotonic()


def log(text: str) -> None:
    print(f"[bench {time.monotonic() - _T0:5.1f}s] {text}", file=sys.stderr, flush=True)


def table(results: dict[str, Any], mem: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    cols = [n for n in BOTS if n in results]
    floor = results.get("floor", {}).get("cpu_us_per_update")
    rows: list[tuple[str, ...]] = [("", *cols)]

    def row(label: str, key: str, fmt: str = "{}") -> None:
        rows.append(
            (
                label,
                *("–" if results[c][key] is None else fmt.format(results[c][key]) for c in cols),
            )
        )

    row("CPU µs / update", "cpu_us_per_update", "{:.0f}")
    if floor:
        rows.append(
            ("  x floor", *(f"{results[c]['cpu_us_per_update'] / floor:.2f}" for c in cols))
        )
    if any(results[c].get("db_server_cpu_us_per_update") for c in cols):
        rows.append(
            (
                "  + PostgreSQL server's",
                *(
                    f"{results[c]['db_server_cpu_us_per_update']:.0f}"
                    if results[c].get("db_server_cpu_us_per_update") is not None
                    else "-"
                    for c in cols
                ),
            )
        )
    row("CPU µs / update incl. idle", "cpu_us_per_update_incl_idle", "{:.0f}")
    row("  of which kernel (sys)", "kernel_cpu_share", "{:.0%}")
    row("context switches / update", "context_switches_per_update", "{:.1f}")
    row("processes", "replicas", "{}")
    row("updates / s", "updates_per_s", "{:.0f}")
    row("Bot API calls / update", "calls_per_update", "{:.2f}")
    row("  over a whole conversation", "calls_per_update_whole_conversation", "{:.2f}")
    row("getUpdates / update", "get_updates_per_update", "{:.3f}")
    row("first reply p50 ms", "first_reply_p50_ms", "{:.0f}")
    row("first reply p99 ms", "first_reply_p99_ms", "{:.0f}")
    row("next prompt p99 ms", "prompt_p99_ms", "{:.0f}")
    row("longest stall ms", "stall_ms", "{:.0f}")
    row("longest wait ms", "longest_wait_ms", "{:.0f}")
    row("peak RSS MB", "peak_rss_mb", "{:.0f}")
    row("updates measured", "updates", "{}")
    row("results reached", "results", "{}")
    row("users answered (of N)", "users_answered", "{}")
    row("min answers / user", "users_min_answered", "{}")
    rows.append(
        (
            "errors+anomalies",
            *(
                str(
                    sum(results[c]["server_errors"].values())
                    + sum(results[c]["anomalies"].values())
                    + results[c]["rescued"]
                )
                for c in cols
            ),
        )
    )
    row("server CPU busy", "server_cpu_busy", "{:.2f}")
    row("server CPU µs / call", "server_cpu_us_per_call", "{:.0f}")
    row("other processes, cores", "other_load_cores", "{:.2f}")
    rows.insert(
        3 if floor else 2,
        (
            "  per slice (min-max)",
            *(
                f"{min(results[c]['cpu_us_per_update_by_slice'], default=0)}"
                f"-{max(results[c]['cpu_us_per_update_by_slice'], default=0)}"
                for c in cols
            ),
        ),
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    out = [
        "",
        "Bots under load (" + ", ".join(f"{c} = {LABELS[c]}" for c in cols) + ")",
        *lines,
        "",
    ]
    methods = sorted({m for c in cols for m in results[c]["calls_per_update_by_method"]})
    out.append(
        "calls per update by method: "
        + "; ".join(
            f"{c}: "
            + ", ".join(
                f"{m} {results[c]['calls_per_update_by_method'][m]:.2f}"
                for m in methods
                if m in results[c]["calls_per_update_by_method"] and m.lower() != "getupdates"
            )
            for c in cols
        )
    )
    busiest = max((results[c]["other_load_cores"] for c in cols), default=0.0)
    if busiest > 0.25:
        out.append(
            f"NOTE: other processes kept up to {busiest:.2f} of {os.cpu_count()} cores busy during"
            " the measured slices; CPU per update is inflated and noisy (see per slice)."
        )
    if mem:
        out += ["", "ours' memory by stored conversations:"]
        out += [
            f"  {m['sessions']:>6} sessions: RSS {m['rss_mb']:.1f} MB"
            f" (at start {m['rss_mb_started']:.1f}, peak {m['peak_rss_mb']:.1f})"
            f" after {m['updates_served']} updates; db {m['db_mb']} MB"
            for m in mem
        ]
    if "loader" in extra:
        loader = extra["loader"]
        out += [
            "",
            f"load + prove a generated 300-question flow: {loader['median_s']:.2f} s"
            f" (median of {loader['repeats']})",
        ]
    if "engine" in extra:
        out.append(
            f"engine.answer on the plan flow: {extra['engine']['us_per_answer']:.1f} µs/answer"
        )
    if "pdf_other_chats" in extra:
        pdfs = extra["pdf_other_chats"]
        out.append(
            f"other chats while PDFs are made: p99 {pdfs['p99_ms']} ms, p50 {pdfs['p50_ms']} ms"
            f" ({pdfs['pdfs_made']} PDFs in {pdfs['seconds']:g} s; without PDFs p99"
            f" {pdfs['without_pdfs_p99_ms']} ms; target under {pdfs['target_p99_ms']} ms)"
        )
    for name in cols:
        if "profile" in results[name]:
            out += ["", profile.format_summary(name, results[name]["profile"])]
    return "\n".join(out)


def summary(
    results: dict[str, Any],
    mem: list[dict[str, Any]],
    extra: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    ours = results.get("ours", {})
    floor = results.get("floor", {})
    best = results.get("best_peer", {})

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
        if a.get("cpu_us_per_update") and b.get("cpu_us_per_update"):
            return round(a["cpu_us_per_update"] / b["cpu_us_per_update"], 3)
        return None

    return {
        "cpu_us_per_update": ours.get("cpu_us_per_update"),
        "floor_cpu_us_per_update": floor.get("cpu_us_per_update"),
        "best_peer_cpu_us_per_update": best.get("cpu_us_per_update"),
        "usual_cpu_us_per_update": results.get("usual", {}).get("cpu_us_per_update"),
        "ratio_to_floor": ratio(ours, floor),
        "ratio_to_best_peer": ratio(ours, best),
        "ratio_to_usual": ratio(ours, results.get("usual", {})),
        "paced_cpu_us_per_update": results.get("ours_paced", {}).get("cpu_us_per_update"),
        "paced_ratio_to_floor": ratio(results.get("ours_paced", {}), floor),
        "paced_ratio_to_best_peer": ratio(results.get("ours_paced", {}), best),
        "floor_ours_transport_cpu_us_per_update": results.get("floor_ours_transport", {}).get(
            "cpu_us_per_update"
        ),
        "ratio_to_floor_ours_transport": ratio(ours, results.get("floor_ours_transport", {})),
        "postgres": postgres_summary(results),
        "p50_ms": ours.get("first_reply_p50_ms"),
        "p99_ms": ours.get("first_reply_p99_ms"),
        "stall_ms": ours.get("stall_ms"),
        "longest_wait_ms": ours.get("longest_wait_ms"),
        "peak_rss_mb": ours.get("peak_rss_mb"),
        "calls_per_update": ours.get("calls_per_update"),
        "calls_per_update_whole_conversation": ours.get("calls_per_update_whole_conversation"),
        "result_matches_peers": (
            all(t == RESULT_HTML for t in result_samples) if result_samples else None
        ),
        "bots": results,
        "memory_by_sessions": mem,
        **extra,
        "config": {
            "users": args.users,
            "seconds_per_bot": args.seconds,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "quick": args.quick,
            **run_info,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
    }


def postgres_summary(results: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's three figures: PostgreSQL's CPU per update against SQLite's (target
    at most 1.3x), two webhook replicas' throughput against one's (target at least
    1.6x on 2 cores), and p50/p99 first-reply latency of each."""
    ours, pg = results.get("ours", {}), results.get("ours_pg", {})
    one, two = results.get("ours_pg_webhook", {}), results.get("ours_pg_webhook_x2", {})
    out: dict[str, Any] = {}
    if ours.get("cpu_us_per_update") and pg.get("cpu_us_per_update"):
        out["cpu_ratio_to_sqlite"] = round(pg["cpu_us_per_update"] / ours["cpu_us_per_update"], 3)
        if pg.get("db_server_cpu_us_per_update") is not None:
            out["cpu_ratio_to_sqlite_with_server"] = round(
                (pg["cpu_us_per_update"] + pg["db_server_cpu_us_per_update"])
                / ours["cpu_us_per_update"],
                3,
            )
    if one.get("updates_per_s") and two.get("updates_per_s"):
        out["two_replicas_throughput_ratio"] = round(two["updates_per_s"] / one["updates_per_s"], 3)
        # Every process of the run shares this machine's cores: the replicas, the
        # database server and the bench's fake Telegram. However well the replicas
        # scale, they handle at most cores / (CPU all of them spend per update)
        # updates a second; against one replica's rate, that bounds the ratio.
        spent = (
            two["cpu_us_per_update"]
            + (two.get("db_server_cpu_us_per_update") or 0.0)
            + two["server_cpu_us_per_update"]
        )
        # The cores this process may use, less what other work took meanwhile.
        cores = len(os.sched_getaffinity(0)) - two.get("other_load_cores", 0.0)
        out["two_replicas_bound_on_this_machine"] = round(
            cores * 1e6 / spent / one["updates_per_s"], 3
        )
    for name in ("ours", "ours_pg", "ours_pg_webhook", "ours_pg_webhook_x2"):
        if name in results:
            r = results[name]
            out[name] = {
                "updates_per_s": r["updates_per_s"],
                "cpu_us_per_update": r["cpu_us_per_update"],
                "db_server_cpu_us_per_update": r.get("db_server_cpu_us_per_update"),
                "p50_ms": r["first_reply_p50_ms"],
                "p99_ms": r["first_reply_p99_ms"],
            }
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users",
        help="users per bot; several, comma-separated, make one run each "
        "(default 50,500, issue 23's two configurations; quick 50)",
    )
    parser.add_argument(
        "--seconds", type=float, help="measured seconds per bot (default 12; quick 2)"
    )
    parser.add_argument(
        "--rounds", type=int, help="slices per bot, rotating the order (default 3; quick 1)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="least unmeasured seconds, all bots at once (default 3; quick 1)",
    )
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument(
        "--bots",
        default=",".join(DEFAULT_BOTS),
        help=f"which bots (default {','.join(DEFAULT_BOTS)})",
    )
    parser.add_argument(
        "--sessions", help="stored conversations for the memory figures (default 0,1000,5000,10000)"
    )
    parser.add_argument(
        "--no-extras", action="store_true", help="skip memory, loader and engine figures"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also profile ours with py-spy: DIR/{ours,ours_paced}.{svg,txt}",
    )
    parser.add_argument(
        "--profile-seconds", type=float, default=15.0, help="seconds per py-spy recording"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.configs = [int(u) for u in (args.users or ("50" if quick else "50,500")).split(",")]
    args.users = args.configs[0]
    args.seconds = args.seconds or (2.0 if quick else 12.0)
    args.rounds = args.rounds or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 3.0)
    args.bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    unknown = set(args.bots) - set(BOTS)
    if unknown:
        parser.error(f"unknown bots {sorted(unknown)}; choose from {','.join(BOTS)}")
    sessions = args.sessions or ("1000" if quick else "0,1000,5000,10000")
    args.sessions = [int(s) for s in sessions.split(",") if s.strip()]
    args.memory_users = 5
    args.memory_seconds = 2.5
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    began = time.monotonic()
    if POSTGRES_BOTS & set(args.bots):
        why = await asyncio.to_thread(start_postgres)
        if why is not None:
            log(f"no PostgreSQL figures: {why}")
            args.bots = [b for b in args.bots if b not in POSTGRES_BOTS]
        else:
            log("PostgreSQL server started for the ours_pg bots")
    server = LoadServer()
    await server.start()
    log(f"load server on {server.base}")
    with tempfile.TemporaryDirectory(prefix="advisor-bench-") as tmp:
        work = Path(tmp)
        try:
            results = await compare(args, server, work)
            mem: list[dict[str, Any]] = []
            if not args.no_extras and args.sessions:
                log("memory with stored conversations")
                try:
                    mem = await memory(args, server, work)
                except Exception as exc:  # a half-edited shipped flow must not lose the rest
                    log(f"memory figures failed: {exc!r}")
                    run_info["memory_error"] = repr(exc)
        finally:
            # first let every bot stop cleanly while the server still answers them
            for state in list(server.bots.values()):
                server.retire(state)
            await astop(*_children)
            await server.stop()
            if "cluster" in postgres:
                await asyncio.to_thread(postgres.pop("cluster").close)
    extra: dict[str, Any] = {}
    if not args.no_extras:
        log("loader and engine timings")
        for key, job, arg in (
            ("loader", offline.loader_seconds, 1 if args.quick else 3),
            ("engine", offline.engine_us_per_answer, 0.5 if args.quick else 3.0),
        ):
            try:
                extra[key] = await asyncio.to_thread(job, arg)
            except Exception as exc:
                log(f"{key} figures failed: {exc!r}")
                run_info[f"{key}_error"] = repr(exc)
        log("other chats' replies while PDFs are made")
        try:
            extra["pdf_other_chats"] = await pdf_latency(3 if args.quick else 10)
        except Exception as exc:
            log(f"PDF latency figures failed: {exc!r}")
            run_info["pdf_other_chats_error"] = repr(exc)
    out = summary(results, mem, extra, args)
    out["config"]["wall_s"] = round(time.monotonic() - began, 1)
    return out


async def pdf_latency(seconds: float) -> dict[str, Any]:
    """``bench.pdfs`` in a child of its own: its bot, its fake Bot API, its figures."""
    done = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "bench.pdfs", "--seconds", str(seconds)],
        capture_output=True,
        env=base_env(),
        timeout=4 * seconds + 120,
        preexec_fn=_die_with_parent,
        check=False,
    )
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench.pdfs exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return dict(json.loads(lines[-1]))


TARGETS = (
    # (what, the summary's key, the most or the least it may be)
    ("CPU per update ÷ aiogram-dialog's", "ratio_to_best_peer", "<=", 0.8),
    ("CPU per update ÷ the floor's", "ratio_to_floor", "<=", 0.7),
    ("Bot API calls per update, over a whole conversation", "calls_whole", "<=", 2.5),
    ("peak RSS − the floor's, MB", "rss_over_floor_mb", "<=", 10.0),
    # SQLite's work is done inside the bot; PostgreSQL's partly in its server: counted.
    ("PostgreSQL CPU per update (bot + server) ÷ SQLite's", "pg_cpu_ratio_to_sqlite", "<=", 1.3),
    ("two webhook replicas' throughput ÷ one's", "two_replicas_ratio", ">=", 1.6),
)
"""Issue 23's targets, each checked in every configuration of one run."""


def targets(out: dict[str, Any]) -> list[str]:
    """One line per target: the figure, the target, and whether it is met."""
    bots = out["bots"]
    figures = {
        "ratio_to_best_peer": out.get("ratio_to_best_peer"),
        "ratio_to_floor": out.get("ratio_to_floor"),
        "calls_whole": out.get("calls_per_update_whole_conversation"),
        "rss_over_floor_mb": (
            round(bots["ours"]["peak_rss_mb"] - bots["floor"]["peak_rss_mb"], 1)
            if "ours" in bots and "floor" in bots
            else None
        ),
        "pg_cpu_ratio_to_sqlite": out["postgres"].get("cpu_ratio_to_sqlite_with_server"),
        "two_replicas_ratio": out["postgres"].get("two_replicas_throughput_ratio"),
    }
    lines = []
    for what, key, sense, bound in TARGETS:
        value = figures[key]
        if value is None:
            lines.append(f"  {what}: not measured (bot left out)")
            continue
        met = value <= bound if sense == "<=" else value >= bound
        verdict = "met" if met else "NOT MET"
        lines.append(f"  {what}: {value:g} (target {sense} {bound:g}) {verdict}")
        ceiling = out["postgres"].get("two_replicas_bound_on_this_machine")
        if key == "two_replicas_ratio" and ceiling is not None:
            lines.append(
                f"    at most {ceiling:g} on this machine's {len(os.sched_getaffinity(0))} cores,"
                " which the replicas share with the database server and the fake Telegram"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs: dict[int, dict[str, Any]] = {}
    try:
        for n, users in enumerate(args.configs):
            args.users = users
            # memory, loader, engine and PDFs do not depend on the users: once is enough
            args.no_extras = args.no_extras or n > 0
            log(f"configuration {n + 1} of {len(args.configs)}: {users} users per bot")
            runs[users] = asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        stop_all()
        log("interrupted")
        return 130
    finally:
        stop_all()
    problems = []
    for users, out in runs.items():
        print(f"\n=== {users} users per bot ===")
        print(
            table(
                out["bots"],
                out["memory_by_sessions"],
                {k: out[k] for k in ("loader", "engine", "pdf_other_chats") if k in out},
            )
        )
        problems += problems_of(out, f"{users} users: ")
        # figures that could not be had (memory, loader, engine, PDFs) fail the run too
        problems += [f"{k}: {v}" for k, v in out["config"].items() if k.endswith("_error")]
    print("\nIssue 23's targets, in each configuration of this run:")
    for users, out in runs.items():
        print(f" {users} users per bot:")
        print("\n".join(targets(out)))
    if problems:
        print("\nPROBLEMS: " + "; ".join(dict.fromkeys(problems)))
    print()
    first = runs[args.configs[0]]
    if len(runs) > 1:
        first = {**first, "configs": {str(u): out for u, out in runs.items()}}
    print(json.dumps(first, separators=(",", ":"), default=str))
    return 1 if problems else 0


def problems_of(out: dict[str, Any], where: str) -> list[str]:
    """What went wrong in one configuration: errors, anomalies, users never answered."""
    return [
        f"{where}{name}: {what}"
        for name, b in out["bots"].items()
        for what, bad in (
            ("server errors", sum(b["server_errors"].values())),
            ("anomalies", sum(b["anomalies"].values())),
            ("updates never answered", b["rescued"]),
            (
                "users starved",
                b["users_min_answered"] == 0 and b["answered_total"] >= 2 * b["users"],
            ),
        )
        if bad
    ]


if __name__ == "__main__":
    sys.exit(main())
