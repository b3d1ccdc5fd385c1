"""Proofs remembered on disk: a flow proved once is not proved again until its file changes.

Proving is nine tenths of a load (about 2 s of CPU for the shipped flows),
paid by every start, /reload, `flows check` and test that starts the bot.
The cache must never change what a load reports: these tests tell a
remembered answer from a fresh one by planting a finding only the cache
could give.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.flows.findings import Finding, Severity
from bot.sources import ProofCache, proof_cache, read_place, resolve

from support import MINI, UI_FILE

PLANTED = "planted: only the cache could say this"


def mini_project(into: Path) -> Path:
    """Two small flows (the mini flow, twice under two ids) and their texts: quick to prove."""
    shutil.copytree(MINI, into)
    shutil.copy(UI_FILE, into / "content" / "en" / "ui.yaml")
    text = (MINI / "flows" / "mini.yaml").read_text(encoding="utf-8")
    twin = text.replace("id: mini\n", "id: twin\n", 1)
    assert twin != text
    (into / "flows" / "twin.yaml").write_text(twin, encoding="utf-8")
    return into


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project, with an empty cache folder of its own."""
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return mini_project(tmp_path / "project")


def remembered() -> list[Path]:
    cache = proof_cache()
    assert cache is not None
    return sorted(cache.folder.glob("*.json"))


def plant_everywhere() -> None:
    """Add a warning to every flow's remembered findings."""
    for path in remembered():
        rows = json.loads(path.read_text(encoding="utf-8"))
        rows.append(
            {
                "file": "flows/x.yaml",
                "line": 1,
                "message": PLANTED,
                "hint": "",
                "severity": "warning",
                "strict": False,
            }
        )
        path.write_text(json.dumps(rows), encoding="utf-8")


def messages(project: Path) -> list[str]:
    report = read_place(resolve(project))
    assert report.catalog is not None, [str(f) for f in report.findings]
    return [f.message for f in report.findings]


def test_a_second_load_reads_the_proofs_it_remembered(project: Path) -> None:
    assert PLANTED not in messages(project)
    assert len(remembered()) == 2  # one per flow
    plant_everywhere()
    assert messages(project).count(PLANTED) == 2


def test_an_edited_flow_is_proved_afresh(project: Path) -> None:
    messages(project)
    plant_everywhere()
    twin = project / "flows" / "twin.yaml"
    twin.write_text(twin.read_text(encoding="utf-8") + "# an admin's note\n", encoding="utf-8")
    # The untouched flow's findings are remembered; the edited one was proved again.
    assert messages(project).count(PLANTED) == 1
    assert len(remembered()) == 3


def test_a_broken_cache_changes_nothing(project: Path) -> None:
    expected = messages(project)
    for path in remembered():
        path.write_text("{not json", encoding="utf-8")
    assert messages(project) == expected
    for path in remembered():
        path.write_text('[{"file": 1}]', encoding="utf-8")
    assert messages(project) == expected


def test_a_cache_that_cannot_be_written_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(blocker))
    monkeypatch.chdir(tmp_path)
    assert read_place(resolve(mini_project(tmp_path / "project"))).catalog is not None


def test_what_comes_back_is_what_was_proved(tmp_path: Path) -> None:
    """File, line, message, hint, severity and strictness all survive the round trip."""
    cache = ProofCache(tmp_path)
    finding = Finding("flows/plan.yaml", 12, "never shown", "a hint", Severity.ERROR, True)
    cache["k"] = [finding]
    assert cache["k"] == [finding]
    assert list(cache) == ["k"]
    assert "other" not in cache


def test_cache_off_remembers_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    assert proof_cache() is None
    monkeypatch.chdir(tmp_path)
    assert read_place(resolve(mini_project(tmp_path / "project"))).catalog is not None
