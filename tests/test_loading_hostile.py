"""Loading what a hostile or careless admin can put in the project: findings, never worse.

Three holes a reviewer found, each closed at the loader every path shares
(`flows check`, the bot's start, `/reload`):

- a glossary term such as ``'*'`` ended `flows check` in an IndexError;
- a typed word that meant two options of one question (or a command word)
  loaded, and the bot silently picked one;
- a named pipe hung `flows check`, and a link out of the project was
  followed and its target quoted.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_loader import line_of

from bot.advice.engine import match
from bot.advice.loader import load
from bot.advice.uitext import UI
from bot.flows.content import TextEntry
from bot.flows.findings import Finding
from bot.flows.glossary import check_glossary, read_glossary
from bot.flows.yamltext import parse
from bot.sources import OUTSIDE, read_place, read_source, resolve

from support import ADVISOR, fixture_env, source, ui_files
from test_terminal import run_cli

# -- 1. the glossary ----------------------------------------------------------------------


def glossary_findings(text: str) -> tuple[int, list[str]]:
    """How many terms ``text`` keeps, and every finding, after checking a Welsh text with it."""
    glossary, problems = read_glossary("glossary.yaml", parse(text))
    welsh = {"t": TextEntry("Cyd-gynhyrchu, a.b, c++ * ** - ( [ ?", "cy.yaml", 1)}
    english = {"t": TextEntry("Co-production, a.b, c++ * ** - ( [ ?", "en.yaml", 1)}
    found = check_glossary(glossary, welsh, english)  # must not raise
    return len(glossary.terms), [str(f) for f in problems + found]


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("'*'", "'*' has no word before the '*'"),
        ("'**'", "'**' has no word before the '*'"),
        ("' * '", "'*' has no word before the '*'"),
        ("'*consult'", "'*consult' has a '*' inside it"),
        ("'co*op'", "'co*op' has a '*' inside it"),
        ("'consult* fatigue'", "'consult* fatigue' has a '*' inside it"),
        ("'-'", "'-' has no letter or digit"),
        ("'(?'", "'(?' has no letter or digit"),
        ("''", "an empty word"),
        ("'   '", "an empty word"),
        ("3", "the number 3 is not a word"),
        ("true", "true or false is not a word"),
        ("null", "an empty value is not a word"),
        ("{a: b}", "a mapping is not a word"),
        ("[x]", "a list is not a word"),
    ],
)
def test_a_bad_glossary_word_is_a_finding_at_its_own_line(word: str, message: str) -> None:
    """Each word that is no term is reported at its line, named; the entry is left out.

    Before: ``'*'`` and its like raised IndexError; ``co*op`` and ``-`` were
    taken as literal text; the others were one vague finding at the entry.
    """
    text = f"terms:\n  - en:\n      - consult*\n      - {word}\n    cy: [ymgynghor*]\n"
    kept, found = glossary_findings(text)
    assert kept == 0
    assert len(found) == 1, found
    assert found[0].startswith(f"glossary.yaml:4: 'en': {message}")
    assert found[0].endswith(
        "(a word or phrase, with '*' only at its end to let the last word go on: consult*)"
    )


@pytest.mark.parametrize("field", ["en", "cy", "forbidden"])
@pytest.mark.parametrize("value", ["'*'", "5", "{a: b}", "''"])
def test_every_field_takes_the_same_care(field: str, value: str) -> None:
    """A bad value under ``cy`` or ``forbidden`` is caught as under ``en``, never raised."""
    entry = {"en": "[consult*]", "cy": "[ymgynghor*]", "forbidden": "[]"} | {field: value}
    text = "terms:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in entry.items()) + "\n"
    kept, found = glossary_findings(text)
    assert kept == 0
    assert len(found) == 1
    line = {"en": 2, "cy": 3, "forbidden": 4}[field]
    assert found[0].startswith(f"glossary.yaml:{line}: '{field}'")


def test_regex_characters_in_a_term_match_only_themselves() -> None:
    """``a.b`` and ``c++`` are words to find as written, never patterns."""
    text = "terms:\n  - en: [a.b]\n    cy: [a.b]\n    forbidden: [c++]\n"
    glossary, problems = read_glossary("glossary.yaml", parse(text))
    assert problems == []
    welsh = {"ok": TextEntry("Mae a.b yma.", "cy.yaml", 1)}
    welsh |= {"bad": TextEntry("Mae a.b a c++ yma.", "cy.yaml", 2)}
    welsh |= {"none": TextEntry("Mae aXb yma.", "cy.yaml", 3)}
    english = {k: TextEntry("a.b", "en.yaml", 1) for k in welsh}
    found = [str(f) for f in check_glossary(glossary, welsh, english)]
    assert [f.split(":")[1] for f in found] == ["2", "3"], found
    assert "'c++' in 'bad'" in found[0]
    assert "warning: 'none': the English says 'a.b' but the Welsh has no form" in found[1]


def test_flows_check_reports_a_star_in_the_glossary(project: Path) -> None:
    """The reviewer's case: `flows check` ended in an IndexError traceback; now file:line."""
    glossary = project / "content" / "glossary.yaml"
    glossary.write_text("terms:\n  - en: ['*']\n    cy: [hysbys*]\n", encoding="utf-8")
    done = run_cli(["flows", "check", str(project)], cwd=project)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 1
    assert "content/glossary.yaml:2: 'en': '*' has no word before the '*'" in done.stderr


# -- 2. synonyms that collide -------------------------------------------------------------


def add_synonyms(project: Path, locale: str, text: str) -> int:
    """Append ``text`` to the locale's synonyms file; the line its first line lands on."""
    path = project / "content" / locale / "synonyms.yaml"
    before = path.read_text(encoding="utf-8")
    path.write_text(before + text, encoding="utf-8")
    return before.count("\n") + 1


def findings(project: Path) -> list[str]:
    """Every finding of loading ``project`` as the bot does (start, /reload).

    From inside it, so files are named as an admin types them (and the proofs,
    when a load gets that far, are found in the cache under those names).
    """
    with contextlib.chdir(project):
        return [str(f) for f in read_place(resolve(Path("."))).findings]


def test_a_synonym_equal_to_another_options_label_is_an_error(project: Path) -> None:
    """'Yes, we can decide together' as a synonym of 'no': typed, it silently picked one."""
    at = add_synonyms(
        project,
        "en",
        'plan.o.power.no.synonyms:\n  - no way\n  - "yes: we can decide, together!"\n',
    )
    found = [f for f in findings(project) if "synonym" in f]
    assert len(found) == 1, found
    assert found[0].startswith(
        f"content/en/synonyms.yaml:{at + 2}: synonym 'yes: we can decide, "
        "together!' of option 'no' in question 'power' of flow 'plan' (en) is also the label "
        "of option 'yes' ("
    )
    assert "remove it: the label already picks option 'yes'" in found[0]


def test_one_synonym_for_two_options_names_both_places(project: Path) -> None:
    """'don't know' for both 'no' and 'unsure': each place is named, with a way out."""
    at = add_synonyms(project, "en", "plan.o.power.no.synonyms: [nope, Don’t KNOW]\n")
    written = (project / "content/en/synonyms.yaml").read_text(encoding="utf-8")
    shipped = line_of(written, "plan.o.power.unsure.synonyms:")
    found = [f for f in findings(project) if "synonym" in f]
    assert len(found) == 1, found
    assert found[0].startswith(
        f"content/en/synonyms.yaml:{shipped}: synonym 'don't know' of option 'unsure' in "
        "question 'power'"
    )
    assert f"is also a synonym of option 'no' (content/en/synonyms.yaml:{at})" in found[0]
    assert "remove it from one of the two options, or from both if it fits both" in found[0]


@pytest.mark.parametrize(
    ("locale", "word", "command"),
    [
        ("en", "Restart", "ui.command.restart"),
        ("en", "help!", "ui.command.help"),
        ("cy", "yn ôl", "ui.command.back"),  # the terminal takes yn ôl for yn_ol
        ("cy", "nôl", "ui.command.back"),  # and nôl for nol, the old word (ui.command.also)
        ("cy", "quit", "ui.command.quit"),  # and the English word in every language
    ],
)
def test_a_synonym_that_is_a_command_word_is_an_error(
    project: Path, locale: str, word: str, command: str
) -> None:
    """The terminal reads the line as the command first: the synonym could never be typed."""
    at = add_synonyms(project, locale, f"plan.o.decision.made.synonyms:\n  - done\n  - {word}\n")
    found = [f for f in findings(project) if "synonym" in f]
    assert len(found) == 1, found
    assert found[0].startswith(f"content/{locale}/synonyms.yaml:{at + 2}: ")
    assert f"synonym '{word}' of option 'made' in question 'decision'" in found[0]
    assert f"is the command word of {command}" in found[0]


def test_a_synonym_that_is_a_number_is_an_error(project: Path) -> None:
    """'2' names the second option whatever option lists it."""
    at = add_synonyms(project, "en", "plan.o.decision.made.synonyms: [3, '2']\n")
    found = [f for f in findings(project) if "synonym" in f]
    assert [f.split(": synonym ")[1][:3] for f in found] == ["'3'", "'2'"]
    assert all(f.startswith(f"content/en/synonyms.yaml:{at}: ") for f in found)


def test_flows_check_reports_a_colliding_synonym(project: Path) -> None:
    """The same through `flows check`, as an admin sees it."""
    at = add_synonyms(project, "cy", "plan.o.decision.made.synonyms: [Ie]\n")
    done = run_cli(["flows", "check", str(project)], cwd=project)
    assert done.returncode == 1
    assert (
        f"content/cy/synonyms.yaml:{at}: synonym 'Ie' of option 'made' in question 'decision' "
        "of flow 'plan' (cy) is also a synonym of option 'open' (content/cy/synonyms.yaml:"
    ) in done.stderr


class Proved(dict[str, list[Finding]]):
    """A proof cache that has every flow proved with nothing found: for tests of matching."""

    def get(self, key: str, default: object = None) -> list[Finding]:
        return []


def test_welsh_na_now_asks_which_option() -> None:
    """'na' was a synonym of two options of 'power', so the later silently won; now the
    word 'Na' in both labels makes the bot ask (the tests' frozen copy of the texts)."""
    flows = [source(path) for path in sorted((ADVISOR / "flows").glob("*.yaml"))]
    texts = [
        source(path, path.parent.name)
        for path in [*sorted((ADVISOR / "content").glob("*/*.yaml")), *ui_files()]
    ]
    catalog = load(flows, texts, required_texts=[u.value for u in UI], proofs=Proved()).unwrap()
    power = catalog.flows["plan"].questions["power"]
    assert match(power, "na", "cy") == ("views", "no")
    assert match(power, "ie", "cy") == ("yes",)


# -- 3. pipes, sockets and links ----------------------------------------------------------


def check(project: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """`flows check` with a time limit: a regression must fail, not hang the run."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "flows", "check", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=project,
        env=os.environ | fixture_env(project),
        timeout=30,
        check=False,
    )


def test_a_named_pipe_named_on_the_command_line_is_refused_at_once(project: Path) -> None:
    """`flows check pipe.yaml` waited for a writer forever; now it is 'not a file'."""
    pipe = project / "flows" / "pipe.yaml"
    os.mkfifo(pipe)
    done = check(project, pipe)
    assert done.returncode == 1
    assert "flows/pipe.yaml:1: not a file" in done.stderr


def test_pipes_in_the_project_are_reported_not_skipped(project: Path) -> None:
    """A pipe as a flow, a text file or the glossary is a finding, not silently left out."""
    os.mkfifo(project / "flows" / "pipe.yaml")
    os.mkfifo(project / "content" / "en" / "pipe.yaml")
    (project / "content" / "glossary.yaml").unlink()
    os.mkfifo(project / "content" / "glossary.yaml")
    done = check(project, project)
    assert done.returncode == 1
    for name in ("flows/pipe.yaml", "content/en/pipe.yaml", "content/glossary.yaml"):
        assert f"{name}:1: not a file" in done.stderr, done.stderr[-2000:]


def test_a_socket_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket cannot be opened for reading at all: it says 'not a file' too."""
    monkeypatch.chdir(project / "flows")  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock.yaml")
        found: list[Finding] = []
        assert read_source(Path("sock.yaml"), found, None) is None
    assert [(f.line, f.message) for f in found] == [(1, "not a file")]


SECRET = "SECRET_FROM_ELSEWHERE"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the project, holding YAML whose words would show in findings."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "texts.yaml").write_text(f"{SECRET}: a text\nbroken: [{SECRET}\n")
    (folder / "flow.yaml").write_text(f"id: {SECRET}\n")
    return folder


def test_links_out_of_the_project_are_refused_unread(project: Path, elsewhere: Path) -> None:
    """A flow, a text file, a locale folder and the glossary linked from elsewhere.

    Before: each was followed, and its words quoted back (a /reload reply would
    send them to Telegram).
    """
    (project / "flows" / "evil.yaml").symlink_to(elsewhere / "flow.yaml")
    (project / "content" / "en" / "evil.yaml").symlink_to(elsewhere / "texts.yaml")
    (project / "content" / "xx").symlink_to(elsewhere, target_is_directory=True)
    (project / "content" / "glossary.yaml").unlink()
    (project / "content" / "glossary.yaml").symlink_to(elsewhere / "texts.yaml")
    done = check(project, project)
    assert done.returncode == 1
    assert SECRET not in done.stdout + done.stderr
    for name in ("flows/evil.yaml", "content/en/evil.yaml", "content/xx", "content/glossary.yaml"):
        assert f"{name}:1: {OUTSIDE}" in done.stderr, done.stderr[-2000:]
    assert OUTSIDE == "a link to outside the project folder; copy the file in instead"


def test_a_link_loop_is_refused(project: Path) -> None:
    """A link to itself cannot be resolved: refused like a link out, not a crash."""
    loop = project / "content" / "en" / "loop.yaml"
    loop.symlink_to(loop)
    found = [f for f in findings(project) if "loop.yaml" in f]
    assert found == [f"content/en/loop.yaml:1: {OUTSIDE}"]


def test_links_inside_the_project_are_read(project: Path) -> None:
    """A file or folder linked from elsewhere in the same project is fine."""
    shared = project / "shared"
    shared.mkdir()
    (project / "content" / "en" / "where.yaml").rename(shared / "where.yaml")
    (project / "content" / "en" / "where.yaml").symlink_to("../../shared/where.yaml")
    found: list[Finding] = []
    link = project / "content" / "en" / "where.yaml"
    read = read_source(link, found, "en", within=project)
    assert found == []
    assert read is not None
    assert "where.wales" in read.text
    assert read.name.endswith("content/en/where.yaml"), "named by the link, not its target"
    (project / "content" / "zz").symlink_to(project / "content" / "en")
    linked = project / "content" / "zz" / "plan.yaml"
    assert read_source(linked, found, "zz", within=project) is not None
    assert found == []
