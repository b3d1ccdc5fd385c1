"""`make bench` keeps working: its flow passes the strict check, and a short run measures.

The bench writes its own flow (``bench/flow.py``); when the checks grew
stricter it was refused and the bot under load never started, so `make
bench` broke unseen. These run it through the same doors as `make bench`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.flow import write_project

from test_terminal import ROOT, run_cli


def test_the_bench_flow_passes_flows_check(tmp_path: Path) -> None:
    """Strict, as the bot's own start is: a finding here would stop `make bench` at once."""
    write_project(tmp_path)
    done = run_cli(["flows", "check", str(tmp_path)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: 1 flow(s) (bench)"), done.stdout


def test_a_short_bench_run_measures_ours_against_the_floor() -> None:
    """Ours and the bare python-telegram-bot floor under load: both measured, a ratio printed.

    The full `make bench` (with aiogram-dialog and PostgreSQL) needs the bench
    extra and minutes; this short form needs nothing beyond the test extra.
    """
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--bots",
            "ours,floor",
            "--users",
            "10",
            "--seconds",
            "1",
            "--no-extras",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["cpu_us_per_update"] > 0
    assert figures["floor_cpu_us_per_update"] > 0
    assert figures["ratio_to_floor"] == round(
        figures["cpu_us_per_update"] / figures["floor_cpu_us_per_update"], 3
    )
    assert figures["bots"]["ours"]["answered_total"] > 0
    # A start sends one message; a press answers it, marks the question and sends the
    # next, the last one edits its question into the result: 15 calls for 6 updates.
    whole = figures["bots"]["ours"]["calls_per_update_whole_conversation"]
    assert abs(whole - 2.5) < 0.1, whole
