"""The admin guide's recipes, done on a copy of the project, keep every check green.

An engagement lead follows docs/admin.md to add a question (with a caution,
in English and Welsh) and to reword a text. Afterwards ``flows check``,
``flows test`` and the Python tests that read the shipped flows must pass
with no Python file edited: that is the promise the guide makes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")

READS_SHIPPED = re.compile(
    r'project_catalog\(|ROOT / "(?:flows|content|docs)"|cwd=(?:PROJECT_)?ROOT\b'
    r'|parents?(?:\[\d\])? / "(?:flows|content)"'
)
"""How a test reaches the shipped flows, texts or guide: the catalog, their folders, or a
``python -m bot`` run in the project's folder (which serves the shipped flows)."""


def shipped_readers() -> list[str]:
    """The Python tests that read the shipped flows (everything else runs on tests/data/).

    Found by what they call rather than listed by hand, so a new test that reads
    them is run on the edited copy too, and goes red there if it hard-codes what
    an admin may change."""
    return sorted(
        f"tests/{path.name}"
        for path in (ROOT / "tests").glob("test_*.py")
        if path.name != "test_recipes.py" and READS_SHIPPED.search(path.read_text("utf-8"))
    )


QUESTION = """\
  - id: equality
    text: plan.q.equality
    options:
      - id: "yes"
        label: plan.o.equality.yes
      - id: "no"
        label: plan.o.equality.no
    next: {after}

"""

CAUTION = """\
  - id: equality_unknown
    when: {fact: equality, is: "no"}
    title: plan.caution.equality_unknown.title
    why: plan.caution.equality_unknown.why
    do: plan.caution.equality_unknown.do

"""

TEXTS = {
    "en": {
        "plan.q.equality": "Have you looked at who this affects most?",
        "plan.o.equality.yes": "Yes, we have",
        "plan.o.equality.no": "Not yet",
        "plan.caution.equality_unknown.title": "You don't yet know who is hit hardest",
        "plan.caution.equality_unknown.why": "Some people may be hit harder than others.",
        "plan.caution.equality_unknown.do": "Find out who is affected most before you start.",
    },
    "cy": {
        "plan.q.equality": "Ydych chi wedi edrych ar bwy mae hyn yn effeithio fwyaf?",
        "plan.o.equality.yes": "Ydyn, rydyn ni wedi",
        "plan.o.equality.no": "Ddim eto",
        "plan.caution.equality_unknown.title": "Dydych chi ddim yn gwybod pwy sy'n dioddef fwyaf",
        "plan.caution.equality_unknown.why": "Gall rhai pobl ddioddef mwy nag eraill.",
        "plan.caution.equality_unknown.do": "Dewch i wybod pwy sy'n cael eu heffeithio fwyaf.",
    },
}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the whole project, as a fresh clone would be, without its virtualenv."""
    target = tmp_path / "clone"
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", "*.egg-info", ".*_cache", "results", "data"
        ),
    )
    shutil.copytree(ROOT / "tests" / "data", target / "tests" / "data")
    return target


def run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the copy, importing the copy's own code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADVISOR_"))}
    env["PYTHONPATH"] = str(copy)
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=600
    )


def free_name(copy: Path) -> str:
    """``equality``, or ``equality2``... if an admin has already added a question so named
    (the guide's own example), so this test never trips over the change it promises."""
    words = (copy / "flows" / "plan.yaml").read_text(encoding="utf-8") + "".join(
        (copy / "content" / locale / "plan.yaml").read_text(encoding="utf-8") for locale in TEXTS
    )
    return next(
        name
        for name in ("equality", *(f"equality{n}" for n in range(2, 100)))
        if not re.search(rf"\b{name}\b", words)
    )


def add_question(copy: Path, name: str = "equality") -> None:
    """The guide's "Add a question" recipe, as an admin does it in a text editor."""
    flow = copy / "flows" / "plan.yaml"
    text = flow.read_text(encoding="utf-8")
    # 1. The question, first in the flow: start points at it, it leads to the old start.
    first = re.search(r"^start: (\w+)$", text, re.M)
    assert first is not None
    text = text.replace(first.group(0), f"start: {name}", 1)
    text = re.sub(
        r"^questions:\n",
        "questions:\n" + QUESTION.replace("equality", name).format(after=first.group(1)),
        text,
        count=1,
        flags=re.M,
    )
    # 2. Its caution.
    caution = CAUTION.replace("equality", name)
    text = re.sub(r"^cautions:\n", "cautions:\n" + caution, text, count=1, flags=re.M)
    # 3. Raise the version.
    text = re.sub(
        r"^version: (\d+)$", lambda m: f"version: {int(m.group(1)) + 1}", text, count=1, flags=re.M
    )
    flow.write_text(text, encoding="utf-8")
    # 4. Its texts, in every language.
    for locale, texts in TEXTS.items():
        content = copy / "content" / locale / "plan.yaml"
        added = "".join(
            f'{key.replace("equality", name)}: "{words}"\n' for key, words in texts.items()
        )
        content.write_text(content.read_text(encoding="utf-8") + "\n" + added, encoding="utf-8")


def reword_a_caution_title(copy: Path) -> str:
    """The guide's "Reword a text" recipe: a caution's title, with ': ' in it, quoted."""
    content = copy / "content" / "en" / "plan.yaml"
    text = content.read_text(encoding="utf-8")
    line = re.search(r"^(plan\.caution\.\w+\.title): .*$", text, re.M)
    assert line is not None
    content.write_text(text.replace(line.group(0), f'{line.group(1)}: "Careful: reworded"'))
    return line.group(1)


def test_the_guide_has_the_recipes() -> None:
    """Each task an admin asked for has its own recipe in the guide."""
    for heading in (
        "Add a question",
        "Reword a text",
        "Add a caution",
        "What a red `make test` means for you",
    ):
        assert f"### {heading}" in GUIDE, heading
    assert "--add-answer" in GUIDE


def test_adding_a_question_and_rewording_keep_everything_green(copy: Path) -> None:
    """After the recipes, flows check, flows test (with --add-answer) and the tests pass."""
    name = free_name(copy)
    add_question(copy, name)
    reword_a_caution_title(copy)
    check = run(copy, "-m", "bot", "flows", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    before = run(copy, "-m", "bot", "flows", "test")
    assert before.returncode == 1, "every plan scenario now runs out at the new question"
    assert f"ran out at question 1, '{name}'" in before.stdout
    added = run(copy, "-m", "bot", "flows", "test", "--add-answer", f"{name}=yes")
    assert added.returncode == 0, added.stdout + added.stderr
    assert re.search(r"added to [1-9]\d* scenario\(s\)", added.stdout), added.stdout
    assert run(copy, "-m", "bot", "flows", "test").returncode == 0
    # The guide's last step: `make docs` redraws the pictures the edit changed.
    for flow in sorted((copy / "flows").glob("*.yaml")):
        out = f"docs/flows/{flow.stem}.svg"
        drawn = run(copy, "-m", "bot", "flows", "graph", flow.stem, "--format", "svg", "--out", out)
        assert drawn.returncode == 0, drawn.stderr
    readers = shipped_readers()
    assert "tests/test_docs_pictures.py" in readers
    assert "tests/test_scenarios.py" in readers
    tests = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", *readers)
    assert tests.returncode == 0, tests.stdout[-3000:]
