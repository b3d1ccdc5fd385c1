"""The studio as a sign-off pack (issue #26): what changed since git HEAD, with the scenarios
it changes; an export that opens with no server; the try page after a broken edit.

The project is a copy of the tests' own flows in a fresh git repository, so HEAD is known;
the edit is the admin guide's own "Add a question" recipe (``tests/test_recipes.py``).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_recipes import add_question
from test_studio_browser import CHROMIUM, LAUNCH_ARGS, assert_accessible

from bot.advice import engine
from bot.advice.changes import Kind, compare_flows
from bot.advice.scenarios import parse_scenarios
from bot.flows.catalog import Catalog
from bot.flows.model import QuestionKind
from bot.sources import read_place, resolve

from studio_support import get, running_studio
from support import fixture_env, make_fixture_project

ROOT = Path(__file__).resolve().parent.parent


def git(project: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=project, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def first_answers(catalog: Catalog, flow_id: str) -> dict[str, str]:
    """The answers a person gives pressing the first option each time: a scenario's answers."""
    flow = catalog.flows[flow_id]
    session = engine.start(flow)
    answers: dict[str, str] = {}
    while not session.finished:
        question = flow.questions[session.question or ""]
        if question.model.kind is QuestionKind.TEXT:
            answers[question.id] = "A short test"
            session = engine.answer(flow, session, "A short test", "en", "-").session
        elif question.model.kind is QuestionKind.MULTI:
            answers[question.id] = question.option_ids[0]
            session = engine.choose_many(flow, session, question.option_ids[:1]).session
        else:
            answers[question.id] = question.option_ids[0]
            session = engine.choose(flow, session, question.option_ids[0]).session
    return answers


def committed_project(folder: Path) -> Path:
    """The tests' own flows with two scenarios for plan, committed to a new git repository."""
    project = make_fixture_project(folder / "project")
    catalog = read_place(resolve(project)).unwrap()
    answers = first_answers(catalog, "plan")
    lines = "".join(f'      {q}: "{a}"\n' for q, a in answers.items())
    level = engine.result(catalog.flows["plan"], _walk(catalog, answers)).level.value
    (project / "flows" / "tests").mkdir(exist_ok=True)
    (project / "flows" / "tests" / "plan.yaml").write_text(
        "flow: plan\nscenarios:\n"
        f"  - name: First options all the way\n    answers:\n{lines}"
        f"    expect:\n      recommend: {level}\n",
        encoding="utf-8",
    )
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "live version")
    return project


def _walk(catalog: Catalog, answers: dict[str, str]) -> engine.Session:
    flow = catalog.flows["plan"]
    session = engine.start(flow)
    while not session.finished:
        typed = answers[session.question or ""]
        session = engine.answer(flow, session, typed, "en", "-", by_id=True).session
    return session


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed project, then the guide's "Add a question" recipe done to its plan flow."""
    project = committed_project(tmp_path_factory.mktemp("changes"))
    add_question(project)
    return project


def scenarios_of(project: Path) -> list:
    path = project / "flows" / "tests" / "plan.yaml"
    return parse_scenarios("flows/tests/plan.yaml", path.read_text(encoding="utf-8"))[0]


def test_changes_list_the_added_question_its_caution_texts_and_the_scenario(
    edited: Path, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    shutil.copytree(edited, before, ignore=shutil.ignore_patterns(".git"))
    for path in ("flows/plan.yaml", "content/en/plan.yaml", "content/cy/plan.yaml"):
        (before / path).write_text(git(edited, "show", f"HEAD:{path}"), encoding="utf-8")
    old = read_place(resolve(before)).unwrap()
    new = read_place(resolve(edited)).unwrap()
    found = compare_flows(old, new, "plan", scenarios_of(edited))
    added = {(c.part, c.name) for c in found.changes if c.kind is Kind.ADDED}
    assert ("question", "equality") in added
    assert ("caution", "equality_unknown") in added
    assert ("text", "plan.q.equality") in added
    start = next(c for c in found.changes if c.name == "start")
    assert start.before != ""
    assert start.after == "equality"
    caution = next(c for c in found.changes if c.name == "equality_unknown")
    assert caution.after.endswith(
        "Shown when: the answer to ‘Have you looked at who this affects most?’ is not yet."
    )
    [scenario] = found.scenarios
    assert scenario.name == "First options all the way"
    assert "stops at question ‘equality’" in scenario.after
    assert "(rule " in scenario.before
    # Nothing changed: nothing listed, and the scenario ends the same.
    same = compare_flows(old, old, "plan", scenarios_of(before))
    assert same.changes == ()
    assert same.scenarios == ()


def test_changes_page_over_http_and_a_bad_ref(edited: Path) -> None:
    with running_studio(edited) as studio:
        status, page = get(f"{studio.url}/changes/plan")
        assert status == 200
        assert "equality" in page
        assert "First options all the way" in page
        assert "stops at question" in page
        status, page = get(f"{studio.url}/changes/plan?ref=--output=/tmp/x")
        assert status == 200
        assert "is not a git version" in page
        status, page = get(f"{studio.url}/changes/plan?ref=no-such-tag")
        assert "could not be read" in page


def test_export_writes_one_self_contained_page_per_flow(edited: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    env = {**os.environ, **fixture_env(edited)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "studio", "--export", str(out)],
        cwd=edited,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["check.html", "plan.html"]
    page = (out / "plan.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1
    assert "<script" not in page
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert references  # the contents' links
    assert all(r.startswith("#") for r in references), references
    assert "url(" not in page
    assert "@import" not in page
    assert "Recommend " in page  # the rules, in both languages
    assert "Argymell " in page
    assert "equality" in page  # the changes since HEAD
    assert "First options all the way" in page  # the scenario results


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium")
def test_acceptance_changes_view_in_a_browser_and_the_export_from_file(
    edited: Path, tmp_path: Path
) -> None:
    """Playwright: the changes view lists the added question with the scenario it changed;
    the export opens from file:// with no studio running; both pass axe."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "pack"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            with running_studio(edited) as studio:
                page.goto(f"{studio.url}/flows/plan")
                page.get_by_role("link", name="What changed since the version in git").click()
                questions = page.locator("section", has=page.locator("#changed-question"))
                assert questions.get_by_role("rowheader", name="equality").is_visible()
                scenarios = page.locator("table.scenarios")
                row = scenarios.get_by_role("row").filter(has_text="First options all the way")
                assert "stops at question ‘equality’" in row.inner_text()
                assert_accessible(page)
                page.goto(f"{studio.url}/try/plan?lang=cy")
                assert page.get_by_role("link", name="Neidio i'r cynnwys").count() == 1
                assert_accessible(page)
                page.goto(f"{studio.url}/flows/plan")
                page.get_by_role("link", name="Cymraeg").first.click()
                page.get_by_role("link", name="Beth sydd wedi newid ers y fersiwn yn git").click()
                assert page.get_by_role("heading", name="Cwestiynau").is_visible()
                assert_accessible(page)
            subprocess.run(
                [sys.executable, "-m", "bot", "studio", "--export", str(out)],
                cwd=edited,
                env={**os.environ, **fixture_env(edited)},
                check=True,
                capture_output=True,
                timeout=300,
            )
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "plan.html").as_uri())
            assert page.locator("figure svg").is_visible()
            assert page.get_by_role("heading", name="What changed since HEAD").is_visible()
            assert page.locator("#q-equality").is_visible()
            assert [u for u in requests if not u.startswith("file://")] == []
            assert_accessible(page)
        finally:
            browser.close()


def test_try_page_says_it_serves_the_last_good_version_after_a_broken_edit(
    tmp_path: Path,
) -> None:
    project = make_fixture_project(tmp_path / "project")
    with running_studio(project) as studio:
        status, page = get(f"{studio.url}/try/plan?lang=cy")
        assert status == 200
        assert 'id="last-good"' not in page
        flow = project / "flows" / "plan.yaml"
        flow.write_text(
            re.sub(r"(?m)^start: .*$", "start: nowhere", flow.read_text(encoding="utf-8")),
            encoding="utf-8",
        )
        for _ in range(120):
            status, page = get(f"{studio.url}/try/plan?lang=cy")
            if 'id="last-good"' in page:
                break
            time.sleep(0.5)
        assert 'id="last-good"' in page
        assert "fersiwn olaf a weithiodd" in page  # escaped: dyma&#39;r
        assert "Skip to content" not in page
        assert "Trying" not in page


def test_studio_help_names_the_export_and_the_readme_and_guide_say_how() -> None:
    from bot.cli import build_parser

    studio = build_parser()._subparsers._group_actions[0].choices["studio"]  # type: ignore[union-attr]
    text = studio.format_help()
    assert "--export DIR" in text
    assert "--since REF" in text
    assert "python -m bot studio --export" in (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
    assert "python -m bot studio --export signoff" in guide
    assert "/changes/plan" in guide


def test_export_refuses_when_the_flows_have_errors(tmp_path: Path) -> None:
    project = make_fixture_project(tmp_path / "project")
    flow = project / "flows" / "plan.yaml"
    flow.write_text(
        re.sub(r"(?m)^start: .*$", "start: nowhere", flow.read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "studio", "--export", str(tmp_path / "pack")],
        cwd=project,
        env={**os.environ, **fixture_env(project)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "nowhere" in done.stderr
    assert "no pages written" in done.stderr
    assert not (tmp_path / "pack").exists()


def test_the_welsh_try_page_shows_no_english(tmp_path: Path) -> None:
    """The studio's own words on the try page are texts with Welsh: at a question and at
    the advice (with the rule that chose it), no common English word and none of its
    English phrases."""
    from bot.flows.plain import english_words

    from studio_support import studio_on_a_copy, walk_first_options

    with studio_on_a_copy(tmp_path) as studio:
        url = f"{studio.url}/try/plan?lang=cy"
        for page in (get(url)[1], walk_first_options(url).page):
            shown = re.sub(r"(?s)<(style|script)[^>]*>.*?</\1>", " ", page)
            text = html.unescape(re.sub(r"<[^>]+>", " ", shown))
            assert english_words(text) == [], text
            for phrase in ("Trying", "Language:", "Why this advice", "Skip to content", "chose"):
                assert phrase not in text
            assert '<html lang="cy"' in page


ENGLISH_CELLS = re.compile(
    r"(?s)<(style|script|svg|del|ins|code)\b[^>]*>.*?</\1>"
    r'|<(td|th|span)\b[^>]*(?:lang="en"|class="(?:logic|finding)")[^>]*>.*?</\2>'
)
"""What a Welsh page may show in English: the English column, ids and logic, git's versions."""


def studio_phrases(locale: str) -> dict[str, str]:
    """The studio's own texts in ``locale``, as the files have them."""
    catalog = read_place(resolve(ROOT)).unwrap()
    return {
        text_id: text
        for text_id, text in catalog.texts[locale].items()
        if text_id.startswith("ui.studio.")
    }


def english_left(page: str) -> list[str]:
    """The studio's English phrases (two words or more, or a heading) a Welsh page still shows."""
    english, welsh = studio_phrases("en"), studio_phrases("cy")
    text = html.unescape(re.sub(r"<[^>]+>", " ", ENGLISH_CELLS.sub(" ", page)))
    text = " ".join(text.split())
    found = []
    for text_id, sentence in english.items():
        if welsh.get(text_id) == sentence:
            continue  # the same in both ("Diagram")
        for piece in re.split(r"\{[a-z_]+\}", sentence):
            piece = piece.strip(" .:;,()‘’")
            if (len(piece.split()) >= 2 or piece[:1].isupper()) and re.search(
                rf"(?<!\w){re.escape(piece)}(?!\w)", text
            ):
                found.append(piece)
    return found


def test_every_admin_page_and_the_pack_speak_welsh(edited: Path, tmp_path: Path) -> None:
    """?lang=cy on every studio page, and --lang cy for the pack: the studio's own headings,
    labels and change kinds are its Welsh texts, links keep the language, and no English
    phrase of the studio's is left outside the English column."""
    pages = {}
    with running_studio(edited) as studio:
        for path in (
            "/",
            "/flows/plan",
            "/changes/plan",
            "/changes/plan?ref=no-such-tag",
            "/stats",
            "/flows/nope",
        ):
            joiner = "&" if "?" in path else "?"
            status, page = get(f"{studio.url}{path}{joiner}lang=cy")
            assert status == (404 if path == "/flows/nope" else 200), path
            pages[path] = page
        status, english = get(f"{studio.url}/flows/plan")
    for path, page in pages.items():
        assert '<html lang="cy"' in page, path
        assert english_left(page) == [], path
        assert 'href="/stats?lang=cy"' in page, path  # the menu keeps the language
    assert "Rheolau canlyniad" in pages["/flows/plan"]
    assert "Outcome rules" in english
    assert "Outcome rules" in english_left(english)  # the check can fail
    changes = pages["/changes/plan"]
    assert "plan: beth sydd wedi newid ers HEAD" in changes
    assert "ychwanegwyd</span>: cwestiwn newydd" in changes
    assert "yn aros wrth y cwestiwn ‘equality’" in changes
    assert (
        "Nid oedd modd darllen y fersiwn yn no-such-tag" in pages["/changes/plan?ref=no-such-tag"]
    )
    assert "Nid oes llif ‘nope’ wedi'i lwytho." in html.unescape(pages["/flows/nope"])
    assert 'name="lang" value="cy"' in changes  # comparing again stays in Welsh

    out = tmp_path / "pack"
    env = {**os.environ, **fixture_env(edited)}
    command = [sys.executable, "-m", "bot", "studio", "--export", str(out), "--lang", "cy"]
    done = subprocess.run(command, cwd=edited, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pack = (out / "plan.html").read_text(encoding="utf-8")
    assert '<html lang="cy"' in pack
    assert "pecyn cymeradwyo" in pack
    assert english_left(pack) == []
    wrong = subprocess.run(
        [*command[:-1], "xx"], cwd=edited, env=env, capture_output=True, text=True, timeout=300
    )
    assert wrong.returncode == 2
    assert "there are no texts in 'xx' (there are: en, cy)" in wrong.stderr
