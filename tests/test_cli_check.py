"""`python -m bot flows check`: clean on the shipped flows, file:line on a broken copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_terminal import ROOT, run_cli


def test_shipped_flows_are_clean() -> None:
    """The project's own flows and texts load without errors."""
    done = run_cli(["flows", "check"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: ")


def test_broken_copy_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """A copy of the project with a typo is reported as file:line and exits 1."""
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copytree(ROOT / "content", tmp_path / "content")
    plan = tmp_path / "flows" / "plan.yaml"
    lines = plan.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("start:"))
    lines[at] = "start: nowhere"
    plan.write_text("\n".join(lines) + "\n")
    done = run_cli(["flows", "check", str(tmp_path)], cwd=tmp_path)
    assert done.returncode == 1
    assert f"flows/plan.yaml:{at + 1}: start question 'nowhere' is not defined" in done.stderr


def test_single_file_and_missing_path(tmp_path: Path) -> None:
    """A single flow file can be checked; a path that does not exist is an error."""
    assert run_cli(["flows", "check", "flows/plan.yaml"]).returncode == 0
    missing = run_cli(["flows", "check", str(tmp_path / "nope")])
    assert missing.returncode == 1
    assert "no such file or folder" in missing.stderr
