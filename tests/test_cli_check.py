"""`python -m bot flows check`: clean on the shipped flows, file:line on a broken copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_loader import line_of, unreachable_accountable

from support import MINI, UI_FILE
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


def test_unreachable_question_fails_the_check_unless_lenient(tmp_path: Path) -> None:
    """An unreachable question makes `flows check` exit 1; `--lenient` reports it as a warning."""
    (tmp_path / "flows").mkdir()
    text = unreachable_accountable()
    at = line_of(text, "- id: accountable")
    (tmp_path / "flows" / "mini.yaml").write_text(text)
    shutil.copytree(MINI / "content", tmp_path / "content")
    shutil.copy(UI_FILE, tmp_path / "content" / "en" / "ui.yaml")
    strict = run_cli(["flows", "check", str(tmp_path)], cwd=tmp_path)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert f"flows/mini.yaml:{at}: question 'accountable' can never be reached" in strict.stderr
    assert "would be warnings with --lenient" in strict.stderr
    lenient = run_cli(["flows", "check", "--lenient", str(tmp_path)], cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert f"flows/mini.yaml:{at}: warning: question 'accountable' can never be reached" in (
        lenient.stdout
    )
