"""The sign-off pack: one HTML file per flow that a manager can open anywhere, or print.

``python -m bot studio --export DIR`` writes ``DIR/<flow>.html`` for every
flow: its diagram (inline SVG), every question and option in every
language, every rule, caution and promise in words, what changed since the
version in git ``HEAD`` (or ``--since REF``), and how each scenario in
``flows/tests/`` ends. Everything is inside the file: no script, no style
sheet, picture or font fetched from anywhere, so it opens from an e-mail
attachment or a shared drive, with no studio running.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.advice.changes import KIND_NAMES, PART_NAMES, FlowChanges, by_part, summary
from bot.advice.scenarios import Scenario, run_scenario
from bot.advice.uitext import UI
from bot.channels.studio.pages import PageWords, templates
from bot.channels.studio.versions import VersionError, changes_since, read_scenarios
from bot.channels.studio.views import flow_view
from bot.child_loader import load_in_child
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.findings import Finding, Severity
from bot.flows.graph import to_dot
from bot.results.pictures import PictureError, svg, svg_element


class UnknownLanguage(LookupError):
    """``--lang`` named a language the content has no texts for."""


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    """One scenario as the flow answers it now: the advice reached, and whether it passed."""

    name: str
    where: str
    passed: bool
    advice: str
    problems: tuple[str, ...]


def scenario_runs(
    catalog: Catalog, flow: CompiledFlow, scenarios: list[Scenario], locale: str | None = None
) -> list[ScenarioRun]:
    """Each of the flow's scenarios run now: CPU work, so the caller runs it in a thread."""
    said = locale or catalog.default_locale
    runs = []
    for scenario in scenarios:
        if scenario.flow != flow.id:
            continue
        outcome = run_scenario(catalog, scenario)
        advice = (
            summary(catalog, flow, outcome.result, said)
            if outcome.result is not None
            else catalog.text(said, UI.STUDIO_NO_ADVICE)
        )
        runs.append(
            ScenarioRun(
                scenario.name,
                f"{scenario.file}:{scenario.line}",
                outcome.passed,
                advice,
                outcome.problems,
            )
        )
    return runs


async def page(
    catalog: Catalog,
    flow: CompiledFlow,
    findings: list[Finding],
    scenarios: list[Scenario],
    since: str = "HEAD",
    locale: str | None = None,
) -> str:
    """One flow's sign-off page, whole: its own words in ``locale`` (the default if None)."""
    lang = locale if locale in catalog.texts else catalog.default_locale
    words = PageWords.of(catalog, lang)
    dot = to_dot(flow.model, catalog.texts.get(lang))
    try:
        picture = svg_element(await asyncio.to_thread(svg, dot)).replace(
            "<svg", '<svg role="img" aria-labelledby="diagram-caption"', 1
        )
        problem = ""
    except PictureError as exc:
        picture, problem = "", str(exc)
    changes: FlowChanges | None = None
    changes_problem = ""
    try:
        changes = await changes_since(catalog, flow.id, since, lang)
    except VersionError as exc:
        changes_problem = words.plain(exc.text_id, **exc.values)
    runs = await asyncio.to_thread(scenario_runs, catalog, flow, scenarios, lang)
    return (
        templates()
        .get_template("export.html")
        .render(
            lang=lang,
            t=words,
            title=catalog.text(lang, flow.model.title),
            view=flow_view(catalog, flow, findings, lang),
            picture=picture,
            picture_problem=problem,
            changes=changes,
            changes_problem=changes_problem,
            parts=by_part(changes) if changes is not None else {},
            part_names=PART_NAMES,
            kind_names=KIND_NAMES,
            base=since,
            runs=runs,
            language_names={loc: catalog.text(loc, UI.LANGUAGE_NAME) for loc in catalog.locales},
        )
    )


async def export(
    folder: Path, since: str = "HEAD", locale: str | None = None
) -> tuple[list[Path], list[Finding]]:
    """Write ``folder/<flow>.html`` for every flow that loads; the files and the load's findings.

    The pack's own words (headings, labels) are in ``locale``; the flow's
    questions, options and rules are shown in every language side by side.

    The flows are loaded as the bot loads them (strictly, in a child
    process): a pack is for signing off, so a flow with errors gets none.
    """
    report = await load_in_child()
    if report.catalog is None:
        return [], report.findings
    missing = None if locale is None else report.catalog.missing_language(locale)
    if missing is not None:
        raise UnknownLanguage(missing)
    scenarios = await asyncio.to_thread(read_scenarios)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    written = []
    for flow in report.catalog.flows.values():
        text = await page(report.catalog, flow, report.findings, scenarios, since, locale)
        path = folder / f"{flow.id}.html"
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        written.append(path)
    return written, [f for f in report.findings if f.severity is Severity.ERROR]
