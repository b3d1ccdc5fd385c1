"""The studio over HTTP: flows listed with findings, each flow's page, a try-out, edits followed.

These drive a real `python -m bot studio` process on a copy of the project;
what the pages must show is derived from the loaded catalog, not written
out, so admins' edits to the shipped flows do not break them.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.render import Renderer, plain
from bot.channels.studio.views import explain, flow_statuses, flow_view
from bot.flows.catalog import Catalog
from bot.flows.findings import Finding, Severity
from bot.sources import read_place, resolve

from studio_support import (
    Form,
    RunningStudio,
    get,
    post,
    record_usage,
    running_studio,
    studio_on_a_copy,
    walk_first_options,
)
from support import mini_catalog


def catalog_of(project: Path) -> Catalog:
    return read_place(resolve(project)).unwrap()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    with studio_on_a_copy(tmp_path_factory.mktemp("studio")) as running:
        yield running


def test_front_page_lists_every_flow_with_its_status(studio: RunningStudio) -> None:
    status, page = get(studio.url + "/")
    assert status == 200
    for flow_id in catalog_of(studio.project).flows:
        assert f'href="/flows/{flow_id}"' in page
        assert f'href="/try/{flow_id}?lang=en"' in page
    assert ">ok" in page


def test_flow_page_has_the_diagram_every_question_and_both_languages(studio: RunningStudio):
    catalog = catalog_of(studio.project)
    for flow_id, flow in catalog.flows.items():
        status, page = get(f"{studio.url}/flows/{flow_id}")
        assert status == 200
        assert "<svg" in page
        text = html.unescape(page)
        for question in flow.model.questions:
            assert f'id="q-{question.id}"' in page
            for locale in catalog.locales:
                assert catalog.text(locale, question.text) in text, (flow_id, question.id, locale)
            for option in question.options:
                for locale in catalog.locales:
                    assert catalog.text(locale, option.label) in text
        for number, outcome in enumerate(flow.model.outcomes, start=1):
            assert f"{number}. {outcome.id}" in text, number
        for caution in flow.model.cautions:
            assert f'<th scope="row">{caution.id}<br>' in page
            for locale in catalog.locales:  # its title beside its condition, in each language
                assert catalog.text(locale, caution.title) in text
        # Rules in words, in both languages: never the ids' logic alone.
        assert text.count("Recommend ") + text.count("Otherwise, recommend ") >= len(
            flow.model.outcomes
        )
        if "cy" in catalog.locales:
            assert "Argymell " in text
        assert text.count("proved") >= len(flow.model.guarantees)


def test_unknown_flow_is_a_404(studio: RunningStudio) -> None:
    assert get(studio.url + "/flows/nope")[0] == 404
    assert get(studio.url + "/try/nope")[0] == 404


@pytest.mark.parametrize("locale", ["en", "cy"])
def test_try_reaches_the_same_headline_as_the_bot(studio: RunningStudio, locale: str) -> None:
    """Short text, then the first option each time, reaches the headline the engine gives."""
    catalog = catalog_of(studio.project)
    words = Renderer(catalog, locale)
    for flow_id, flow in catalog.flows.items():
        form = walk_first_options(f"{studio.url}/try/{flow_id}?lang={locale}")
        # The same walk through the engine directly: the page must say what it says.
        session = engine.start(flow)
        while not session.finished:
            question = engine.current(flow, session)
            assert question is not None
            if question.model.kind.value == "text":
                session = engine.answer(flow, session, "A short test", locale, "-").session
            elif question.model.kind.value == "multi":
                first = question.option_ids[0]
                session = engine.confirm(flow, engine.toggle(flow, session, first).session).session
            else:
                session = engine.choose(flow, session, question.option_ids[0]).session
        result = engine.result(flow, session)
        headline = words.headline(flow, result)
        assert headline in [h.strip() for h in form.headings], (flow_id, form.headings)
        # Word for word what the terminal prints, line by line.
        shown = html.unescape(re.sub(r"<[^>]+>", "\n", form.page))
        shown_lines = {line.strip() for line in shown.splitlines()}
        for line in plain(words.result(flow, result)).splitlines():
            line = line.strip().removeprefix("- ")
            assert not line or line in shown_lines, (flow_id, locale, line)


def test_back_and_restart(studio: RunningStudio) -> None:
    flow_id = next(iter(catalog_of(studio.project).flows))
    url = f"{studio.url}/try/{flow_id}?lang=en"
    first = Form(get(url)[1])
    if first.text_box:
        second = Form(post(url, {"state": first.state, "answer": "x"}))
    else:
        second = Form(post(url, {"state": first.state, "option": first.options[0][0]}))
    assert second.headings != first.headings
    assert Form(post(url, {"state": second.state, "action": "back"})).headings == first.headings
    assert Form(post(url, {"state": second.state, "action": "restart"})).headings == (
        first.headings
    )


def test_a_forged_state_starts_again(studio: RunningStudio) -> None:
    flow_id = next(iter(catalog_of(studio.project).flows))
    url = f"{studio.url}/try/{flow_id}?lang=en"
    first = Form(get(url)[1])
    body, _, _ = first.state.rpartition(".")
    page = post(url, {"state": body + ".0000", "action": "back"})
    assert "could not be carried on" in page
    assert Form(page).headings == first.headings


def test_pages_answer_only_to_loopback_and_their_own_forms(studio: RunningStudio) -> None:
    """Another name for 127.0.0.1 (DNS rebinding) and a post from another site are refused."""
    assert studio.url.startswith("http://127.0.0.1:")
    port = studio.url.rsplit(":", 1)[1]
    flow_id = next(iter(catalog_of(studio.project).flows))
    assert fetch(studio.url + "/", {"Host": f"attacker.example:{port}"})[0] == 421
    assert fetch(studio.url + "/", {"Host": f"localhost:{port}"})[0] == 200
    form = urllib.parse.urlencode({"action": "restart"}).encode("ascii")
    url = f"{studio.url}/try/{flow_id}?lang=en"
    assert fetch(url, {"Origin": "https://attacker.example"}, form)[0] == 403
    assert fetch(url, {"Origin": studio.url}, form)[0] == 200


def fetch(url: str, headers: dict[str, str], data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_a_breaking_edit_shows_its_finding_and_try_keeps_working(tmp_path: Path, project: Path):
    """Within seconds of a broken save, / shows file:line; /try serves the last good version."""
    catalog = catalog_of(project)
    flow_id = next(iter(catalog.flows))
    flow_file = project / "flows" / f"{flow_id}.yaml"
    with running_studio(project) as studio:
        text = flow_file.read_text(encoding="utf-8")
        start_line = next(
            n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("start:")
        )
        flow_file.write_text(
            re.sub(r"(?m)^start: .*$", "start: no_such_question", text), encoding="utf-8"
        )
        deadline = time.monotonic() + 30
        while True:
            page = html.unescape(get(studio.url + "/")[1])
            if f"{flow_id}.yaml:{start_line}:" in page:
                break
            assert time.monotonic() < deadline, "the finding never appeared on /"
            time.sleep(0.5)
        assert "no_such_question" in page
        assert "last good version" in page
        form = walk_first_options(f"{studio.url}/try/{flow_id}?lang=en")
        assert any(
            h.startswith(Renderer(catalog, "en").t(catalog.flows[flow_id].model.result_heading))
            for h in form.headings
        )
        # Fixed again: the findings go.
        flow_file.write_text(text, encoding="utf-8")
        deadline = time.monotonic() + 30
        while "no_such_question" in get(studio.url + "/")[1]:
            assert time.monotonic() < deadline, "the fixed file was not picked up"
            time.sleep(0.5)


def test_a_studio_whose_first_load_fails_still_speaks_from_the_files(tmp_path: Path) -> None:
    """No catalog has loaded yet: the pages use the English in content/en/ui.yaml as it is,
    never bare text ids, and say what is wrong."""
    from support import make_fixture_project

    project = make_fixture_project(tmp_path / "project")
    flow_file = project / "flows" / "plan.yaml"
    text = flow_file.read_text(encoding="utf-8")
    flow_file.write_text(re.sub(r"(?m)^start: .*$", "start: no_such_question", text), "utf-8")
    with running_studio(project) as studio:
        status, page = get(studio.url + "/?lang=cy")
    assert status == 200
    shown = html.unescape(page)
    assert "<h1>Flows</h1>" in shown
    assert "errors: cannot be loaded" in shown
    assert "no_such_question" in shown
    assert "ui.studio." not in shown


def test_stats_charts_from_the_usage_events(tmp_path: Path, project: Path) -> None:
    """/stats charts outcomes over time and drop-off from the usage events, and no person."""
    catalog = catalog_of(project)
    flow_id, flow = next(iter(catalog.flows.items()))
    first = flow.model.questions[0].id
    level = next(iter(flow.model.recommendations)).value
    db = tmp_path / "advisor.sqlite3"
    asyncio.run(record_usage(db, flow_id, first, level))
    with running_studio(project, db) as studio:
        status, page = get(studio.url + "/stats")
        welsh = html.unescape(get(studio.url + "/stats?lang=cy&days=7")[1])
    assert status == 200
    text = html.unescape(page)
    assert "3 started, 2 reached the advice." in text
    assert time.strftime("%Y-%m-%d", time.gmtime()) in text
    assert f"{first}: {catalog.text('en', flow.model.questions[0].text)}" in text
    assert "4242" not in text
    assert "900" not in text
    # In Welsh: the studio's words and the flow's (its questions, levels), the period kept.
    assert "Dechreuodd 3, a chyrhaeddodd 2 y cyngor." in welsh
    assert "Y 7 diwrnod diwethaf" in welsh
    assert f"{first}: {catalog.text('cy', flow.model.questions[0].text)}" in welsh
    assert catalog.text("cy", flow.model.recommendations[level].label) in welsh
    assert 'href="/stats?days=30&lang=cy"' in welsh  # the other periods keep the language


# --- The words on the pages, on the mini flow ---------------------------------


def mini_session(*steps: tuple[str, str | tuple[str, ...]]) -> tuple[Catalog, Session]:
    catalog = mini_catalog()
    flow = catalog.flows["mini"]
    session = engine.start(flow)
    for kind, value in steps:
        if kind == "text":
            session = engine.answer(flow, session, str(value), "en", "skip").session
        elif kind == "multi":
            session = engine.choose_many(flow, session, tuple(value)).session
        else:
            session = engine.choose(flow, session, str(value)).session
    return catalog, session


def test_explain_names_the_rule_and_each_cautions_cause() -> None:
    catalog, session = mini_session(("text", "x"), ("choice", "yes"), ("multi", ("none",)))
    flow = catalog.flows["mini"]
    words = Renderer(catalog, "en")
    why = explain(words, flow, engine.result(flow, session))
    assert why.rule.startswith("Rule 3 (otherwise) chose Consult")
    assert why.cautions == (
        (
            "No resources",
            "Shown because the answer to ‘What comes with it?’ includes none of these. "
            "You said: What comes with it? → None of these.",
        ),
    )
    catalog, session = mini_session(("text", "x"), ("choice", "no"))
    why = explain(words, flow, engine.result(flow, session))
    assert why.rule == (
        "Rule 1 (closed) chose Inform, the first rule that holds: the answer to ‘Is it open?’ "
        "is no."
    )
    assert why.cautions == ()


def test_flow_view_words_rules_cautions_and_guarantees() -> None:
    catalog = mini_catalog()
    view = flow_view(catalog, catalog.flows["mini"], [], "en")
    assert [r.sentences for r in view.rules] == [
        ("Recommend Inform when: the answer to ‘Is it open?’ is no.",),
        (
            "Recommend Co-produce when: the answer to ‘What comes with it?’ includes a budget "
            "and the answer to ‘Do you stay accountable?’ is yes.",
        ),
        ("Otherwise, recommend Consult.",),
    ]
    assert view.rules[0].logic == "open is no"
    assert view.cautions[0].sentences == (
        "Shown when: the answer to ‘What comes with it?’ includes none of these.",
    )
    assert view.questions[1].options[1].leads_to == "result"
    assert view.questions[0].text.by_locale == ("What is it about?",)
    assert all(g.proved for g in view.guarantees)


def test_findings_belong_to_the_flow_named_by_their_file() -> None:
    catalog = mini_catalog()
    findings = [
        Finding("flows/mini.yaml", 3, "broken"),
        Finding("content/cy/mini.yaml", 9, "odd", severity=Severity.WARNING),
        Finding("content/en/ui.yaml", 1, "elsewhere"),
        Finding("flows/draft.yaml", 2, "new flow, broken"),
    ]
    statuses, other = flow_statuses(catalog, ["mini", "draft"], findings)
    mini, draft = statuses
    assert (mini.flow_id, mini.errors, mini.warnings, mini.live) == ("mini", 1, 1, True)
    assert catalog.text("en", mini.status) == "errors: the last good version is shown"
    assert (draft.flow_id, draft.live) == ("draft", False)
    assert catalog.text("en", draft.status) == "errors: cannot be loaded"
    assert [f.file for f in other] == ["content/en/ui.yaml"]
