"""Hostile flow and scenario files end in `file:line: what is wrong`, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import load_flow_text

ROOT = Path(__file__).resolve().parent.parent


def chain(questions: int) -> str:
    """A flow of ``questions`` one-option questions, each leading to the next.

    They change nothing in the advice by design, so they are marked record_only.
    """
    lines = ["id: mini", "version: 1", "title: w.s", "audience: staff", "start: q0", "questions:"]
    for i in range(questions):
        after = f"q{i + 1}" if i + 1 < questions else "result"
        lines += [f"  - id: q{i}", "    text: w.s", "    record_only: true", "    options:"]
        lines += ["      - {id: a, label: w.s}"]
        lines += [f"    next: {after}"]
    lines += ["recommendations:"]
    lines += [
        f"  {level}: {{label: w.s, summary: w.s, ladder: w.s, spectrum: w.s}}"
        for level in ("inform", "consult", "co_produce")
    ]
    lines += ["outcomes:", "  - id: all", "    recommend: consult", "    reasons: [w.s]"]
    return "\n".join(lines) + "\n"


def test_a_long_chain_of_questions_is_checked_and_proved() -> None:
    """1,200 questions in a row: no RecursionError in the checks or the proofs."""
    report = load_flow_text(chain(1200), {"w.yaml": "w.s: Some text.\n"})
    assert report.catalog is not None, [str(f) for f in report.findings]


def cli(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id: plan\nversion: " + b"9" * 5000 + b"\n", ":2: a number too long to read"),
        (b"id: plan\n" + b"# fine\n" * 48 + b"title: \xff\xfe\n", ":50: not UTF-8 text"),
        (b'id: plan\nversion: 1\ntitle: "\\ud800"\n', ":3: a text holds a lone surrogate"),
    ],
    ids=["5000-digit number", "bad UTF-8 on line 50", "lone surrogate"],
)
def test_flows_check_reports_hostile_values_at_their_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    flow = tmp_path / "plan.yaml"
    flow.write_bytes(content)
    done = cli("flows", "check", str(flow))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"plan.yaml{expected}" in done.stdout + done.stderr


def test_flows_check_of_a_device_ends_at_once() -> None:
    """`flows check /dev/zero` read forever; now it is 'not a file'."""
    done = cli("flows", "check", "/dev/zero", timeout=30)
    assert done.returncode == 1
    assert "/dev/zero:1: not a file" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"- name: x\n" + b"# fine\n" * 8 + b"  answers: [\xff]\n", ":10: not UTF-8 text"),
        (b"- name: x\n  answers: [" + b"9" * 5000 + b"]\n", ":2: a number too long to read"),
        (b'- name: x\n  answers: ["\\udfff"]\n', ":2: a text holds a lone surrogate"),
    ],
    ids=["bad UTF-8", "5000-digit number", "lone surrogate"],
)
def test_flows_test_reports_hostile_scenarios_at_their_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    scenarios = tmp_path / "plan.yaml"
    scenarios.write_bytes(content)
    done = cli("flows", "test", str(scenarios))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"plan.yaml{expected}" in done.stdout + done.stderr
