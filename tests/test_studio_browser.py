"""The studio in a real browser: Debian's Chromium driven by Playwright, checked by axe-core.

Playwright cannot download its own browsers here, so the tests use
/usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) and skip,
saying so in one line, where it is missing. axe-core's script comes inside
the axe-playwright-python package, never from a CDN.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.advice import engine
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog
from bot.sources import read_place, resolve

from studio_support import (
    SHORT_TEXT,
    RunningStudio,
    record_usage,
    running_studio,
    studio_on_a_copy,
)
from support import make_fixture_project

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    with studio_on_a_copy(tmp_path_factory.mktemp("studio-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def catalog_of(studio: RunningStudio) -> Catalog:
    return read_place(resolve(studio.project)).unwrap()


def assert_accessible(page) -> None:
    """axe-core finds no serious or critical violation on the page as shown."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)


def assert_screenshot_shows_something(page, path: Path) -> None:
    """The screenshot is a real picture of the page, not a blank or error screen."""
    from PIL import Image

    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as image:
        assert image.width >= 800
        assert image.height >= 300
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20, "the page looks blank"


def test_front_page_lists_the_flows(studio: RunningStudio, page, tmp_path: Path) -> None:
    page.goto(studio.url + "/")
    for flow_id in catalog_of(studio).flows:
        assert page.get_by_role("link", name=f"See {flow_id}").is_visible()
    if {"plan", "check"} <= set(catalog_of(studio).flows):  # the acceptance's two flows
        assert page.get_by_role("rowheader").filter(has_text="plan").count() == 1
        assert page.get_by_role("rowheader").filter(has_text="check").count() == 1
    assert_screenshot_shows_something(page, tmp_path / "index.png")
    assert_accessible(page)


def test_flow_page_shows_the_diagram_and_every_question(
    studio: RunningStudio, page, tmp_path: Path
) -> None:
    for flow_id, flow in catalog_of(studio).flows.items():
        page.goto(f"{studio.url}/flows/{flow_id}")
        diagram = page.locator("figure svg")
        assert diagram.count() == 1
        assert diagram.is_visible()
        box = diagram.bounding_box()
        assert box is not None
        assert box["width"] > 200
        for question in flow.model.questions:
            assert page.locator(f"#q-{question.id}").is_visible()
        assert_screenshot_shows_something(page, tmp_path / f"flow-{flow_id}.png")
        assert_accessible(page)


@pytest.mark.parametrize("locale", ["en", "cy"])
def test_try_by_clicking_reaches_the_advice(
    studio: RunningStudio, page, tmp_path: Path, locale: str
) -> None:
    """Typing a short text, then pressing the first option each time, reaches the headline."""
    catalog = catalog_of(studio)
    for flow_id, flow in catalog.flows.items():
        page.goto(f"{studio.url}/try/{flow_id}?lang={locale}")
        assert page.locator("#tryout").get_attribute("lang") == locale
        checked = False
        for _ in range(80):
            if page.locator("#result-title").count():
                break
            answer = page.locator("[name=answer]")
            if answer.count():
                answer.fill(SHORT_TEXT)
                page.locator(".answer button").first.click()
            else:
                first = page.locator("fieldset.options button[name=option]").first
                toggles = first.get_attribute("aria-pressed") is not None
                first.click()
                if toggles:
                    page.locator("button[value=confirm]").click()
            if not checked:  # one question page, with its form, checked by axe
                assert_accessible(page)
                checked = True
        heading = page.locator("#result-title").inner_text().strip()
        words = Renderer(catalog, locale)
        assert heading.startswith(words.t(flow.model.result_heading) + ":")
        if flow_id == "plan" and locale == "en":  # the acceptance's own words
            assert heading.startswith("Recommendation:")
        assert page.get_by_role("heading", name=words.t(UI.STUDIO_WHY)).is_visible()
        if locale == "en":
            assert page.get_by_text("chose", exact=False).first.is_visible()
        assert_screenshot_shows_something(page, tmp_path / f"try-{flow_id}-{locale}.png")
        assert_accessible(page)


def test_try_works_from_the_keyboard(studio: RunningStudio, page) -> None:
    """Tab reaches the options and Enter presses one; a text box submits on Enter."""
    catalog = catalog_of(studio)
    flow_id, flow = next(iter(catalog.flows.items()))
    words = Renderer(catalog, "en")
    page.goto(f"{studio.url}/try/{flow_id}?lang=en")
    session = engine.start(flow)
    for _ in range(2):
        question = engine.current(flow, session)
        assert question is not None
        heading = page.locator("h2").first.inner_text()
        assert words.t(question.model.text) in heading
        if page.locator("[name=answer]").count():
            page.locator("[name=answer]").focus()
            page.keyboard.type(SHORT_TEXT)
            if page.locator("textarea[name=answer]").count():
                page.keyboard.press("Tab")  # Enter in a text box adds a line; Tab to the button
            with page.expect_navigation():
                page.keyboard.press("Enter")
            session = engine.answer(flow, session, SHORT_TEXT, "en", "-").session
        else:
            page.locator("[name=answer], button").first.focus()
            while page.evaluate("document.activeElement.name") != "option":
                page.keyboard.press("Tab")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            session = engine.choose(flow, session, question.option_ids[0]).session
    question = engine.current(flow, session)
    if question is not None:
        assert words.t(question.model.text) in page.locator("h2").first.inner_text()


def test_stats_page_without_a_database_says_how(studio: RunningStudio, page) -> None:
    page.goto(studio.url + "/stats")
    assert page.get_by_text("--db", exact=False).is_visible()
    assert_accessible(page)


def test_front_page_follows_a_breaking_edit_by_itself(page, tmp_path: Path) -> None:
    """Saved while the page is open, a broken flow's file:line appears without a reload."""
    with studio_on_a_copy(tmp_path) as studio:
        flow_id = next(iter(catalog_of(studio).flows))
        flow_file = studio.project / "flows" / f"{flow_id}.yaml"
        text = flow_file.read_text(encoding="utf-8")
        line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("start:"))
        page.goto(studio.url + "/")
        flow_file.write_text(
            re.sub(r"(?m)^start: .*$", "start: no_such_question", text), encoding="utf-8"
        )
        finding = page.locator(".finding", has_text=f"{flow_id}.yaml:{line}:")
        finding.first.wait_for(timeout=30_000)
        assert "no_such_question" in finding.first.inner_text()
        assert_accessible(page)


def test_stats_page_draws_the_charts(page, tmp_path: Path) -> None:
    """With --db, /stats shows each chart as a table of bars that passes axe."""
    copy = make_fixture_project(tmp_path / "project")
    catalog = read_place(resolve(copy)).unwrap()
    flow_id, flow = next(iter(catalog.flows.items()))
    level = next(iter(flow.model.recommendations)).value
    db = tmp_path / "advisor.sqlite3"
    # Playwright's sync API owns this thread's event loop: write the events from another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run, record_usage(db, flow_id, flow.model.questions[0].id, level)
        ).result()
    with running_studio(copy, db) as studio:
        page.goto(studio.url + "/stats")
        assert page.get_by_role("heading", name="Outcomes over time").first.is_visible()
        assert page.locator(".bar").count() >= 3
        assert_screenshot_shows_something(page, tmp_path / "stats.png")
        assert_accessible(page)
