"""Scenario tests admins write in YAML: answers typed, advice expected.

An admin who changes a rule wants to know which advice it changed. A
scenario file (``flows/tests/<flow_id>.yaml``) gives, for each question a
scenario's path asks, the answer exactly as it would be typed in the
terminal, and the advice it must lead to::

    flow: plan
    defaults:                             # optional: for questions a scenario
      about: A decision                   # does not care about
    scenarios:
      - name: School footpath already closed
        answers: {decision: made, asked_before: "no"}
        expect:
          recommend: inform
          outcome: decision_made          # optional
          cautions: [fixed_outcome]       # optional: exactly these
          cautions_include: [...]         # optional: at least these
          says: ["a handover"]            # optional: words the result shows
          never_says: ["Welsh"]           # optional: words it must not show

Answers are keyed by question id, so a new question breaks only the
scenarios that reach it, and ``add_answer`` gives them its answer; the older
list of answers in order is still read.

Files are read like flow files (safe YAML, pydantic, ``file:line``
findings), and each scenario runs through the engine the channels use, so a
passing scenario is advice a person would really get. Failures read as a
diff an admin can act on without knowing Python. Pure: texts in, outcomes
and report text out; the CLI reads the files and prints.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
)

from bot.advice import engine
from bot.advice.engine import Result
from bot.advice.render import Renderer, plain
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.findings import Finding, Severity
from bot.flows.model import Id, Level
from bot.flows.schema_errors import findings_from
from bot.flows.yamltext import YamlProblem, parse

FORMAT_SOURCE = "the scenario format at the top of flows/tests/plan.yaml"
FORMAT_HINT = f"see {FORMAT_SOURCE}"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Part):
    """The advice a scenario must lead to; only what is written is compared."""

    recommend: Level
    outcome: Id | None = None
    cautions: list[Id] | None = None
    """Exactly these cautions; ``[]`` means none at all."""
    cautions_include: list[Id] = Field(default_factory=list)
    """At least these cautions, whatever else is shown."""
    says: list[Annotated[StrictStr, Field(min_length=1)]] = Field(default_factory=list)
    """Words the result must show, in the scenario's language (any case)."""
    never_says: list[Annotated[StrictStr, Field(min_length=1)]] = Field(default_factory=list)
    """Words the result must not show (any case)."""


Typed = StrictStr | StrictInt
"""One answer as typed: a word, a number, a label; a list for a multi-select question."""
AnswerValue = Typed | list[Typed]


def _style(answers: Any) -> str:
    """Which way a scenario's answers are written; the tags name no key, so findings skip them."""
    return "by-question" if isinstance(answers, dict) else "in-order"


class _Entry(_Part):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    answers: Annotated[
        Annotated[dict[Id, AnswerValue], Tag("by-question")]
        | Annotated[list[Typed], Field(min_length=1), Tag("in-order")],
        Discriminator(_style),
    ]
    expect: Expectation


class _File(_Part):
    flow: Id
    locale: Annotated[StrictStr, Field(pattern=r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]+)*$")] | None = None
    defaults: dict[Id, AnswerValue] = Field(default_factory=dict)
    scenarios: list[_Entry] = Field(min_length=1)


def _typed(value: AnswerValue) -> str:
    """An answer as a person would type it; a list is the comma-separated multi-select."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario, with the file and line it was written at for reports."""

    file: str
    line: int
    flow: str
    name: str
    answers: tuple[str, ...]
    """Answers in the order asked (the older style); empty when ``by_question`` is used."""
    expect: Expectation
    locale: str | None = None
    """The language the answers are typed in; None: the catalog's default."""
    by_question: tuple[tuple[str, str], ...] | None = None
    """Answers keyed by question id, in the order written; None in the older style."""
    defaults: tuple[tuple[str, str], ...] = ()
    """The file's answers for questions a scenario does not answer itself."""


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """How one scenario went: no problems means it passed.

    ``result`` is the advice reached, or None when the answers never got
    there (refused, ran out, or the flow is not loaded).
    """

    scenario: Scenario
    problems: tuple[str, ...] = ()
    result: Result | None = None
    ran_out_at: str | None = None
    """The question the answers ran out at, when that is what went wrong."""

    @property
    def passed(self) -> bool:
        return not self.problems


def parse_scenarios(name: str, text: str) -> tuple[list[Scenario], list[Finding]]:
    """The scenarios in one file's text, or the findings that stop it being read.

    ``name`` is the file as shown in findings and reports. A file with any
    error yields no scenarios, so a half-read file never passes quietly.
    """
    try:
        doc = parse(text)
    except YamlProblem as problem:
        return [], [Finding(name, problem.line, problem.message, problem.hint)]
    if not isinstance(doc.data, dict):
        return [], [
            Finding(
                name,
                doc.line(()),
                "a scenario file must be a mapping with flow: and scenarios:",
                FORMAT_HINT,
            )
        ]
    try:
        parsed = _File.model_validate(doc.data)
    except ValidationError as exc:
        return [], [_pointed_here(f) for f in findings_from(exc, name, doc)]
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    scenarios: list[Scenario] = []
    for index, entry in enumerate(parsed.scenarios):
        line = doc.line(("scenarios", index))
        if entry.name in seen:
            findings.append(
                Finding(
                    name,
                    doc.line(("scenarios", index, "name")),
                    f"duplicate scenario name '{entry.name}' (also on line {seen[entry.name]})",
                    "give each scenario its own name, so reports say which one failed",
                )
            )
        seen.setdefault(entry.name, line)
        scenarios.append(
            Scenario(
                file=name,
                line=line,
                flow=parsed.flow,
                name=entry.name,
                answers=() if isinstance(entry.answers, dict) else tuple(map(str, entry.answers)),
                expect=entry.expect,
                locale=parsed.locale,
                by_question=tuple((k, _typed(v)) for k, v in entry.answers.items())
                if isinstance(entry.answers, dict)
                else None,
                defaults=tuple((k, _typed(v)) for k, v in parsed.defaults.items()),
            )
        )
    if findings:
        return [], findings
    return scenarios, findings


def run_scenarios(catalog: Catalog, scenarios: Iterable[Scenario]) -> list[ScenarioOutcome]:
    """Run each scenario against the catalog's flows, in order."""
    return [run_scenario(catalog, scenario) for scenario in scenarios]


def run_scenario(catalog: Catalog, scenario: Scenario) -> ScenarioOutcome:
    """Type the scenario's answers into the engine and compare the advice.

    Drives the engine directly rather than through ``bot.advice.testing.walk`` so
    that a refusal, answers that run out, and answers left over after the
    result are each told apart and reported with the answer's number.
    """
    flow = catalog.flows.get(scenario.flow)
    if flow is None:
        loaded = ", ".join(sorted(catalog.flows)) or "none"
        return ScenarioOutcome(
            scenario, (f"flow '{scenario.flow}' is not loaded (loaded: {loaded})",)
        )
    locale = scenario.locale or catalog.default_locale
    if locale not in catalog.texts:
        known = ", ".join(catalog.locales)
        return ScenarioOutcome(scenario, (f"no texts for locale '{locale}' (known: {known})",))
    words = Renderer(catalog, locale)
    if scenario.by_question is not None:
        return _run_by_question(flow, scenario, locale, words)
    skip = words.t(UI.COMMAND_SKIP)
    session = engine.start(flow)
    total = len(scenario.answers)
    for number, typed in enumerate(scenario.answers, start=1):
        if session.finished:
            unused = f"answer {number}" if number == total else f"answers {number} to {total}"
            return ScenarioOutcome(
                scenario,
                (f"the result was reached after answer {number - 1}; {unused} not used",),
            )
        step = engine.answer(flow, session, typed, locale, skip, by_id=True)
        if step.problem is not None:
            hint = words.problem(flow, session, step.problem)
            return ScenarioOutcome(
                scenario,
                (
                    f"answer {number} ({_quoted(typed)}) to question '{session.question}' "
                    f"was refused: {hint}",
                ),
            )
        session = step.session
    if not session.finished:
        question = flow.questions[session.question or ""]
        return ScenarioOutcome(
            scenario,
            (
                f"the answers ran out at question {len(session.history) + 1}, "
                f"'{question.id}' ({words.t(question.model.text)}), before the result",
            ),
            ran_out_at=question.id,
        )
    result = engine.result(flow, session)
    problems = compare(flow, scenario.expect, result)
    problems += wording(plain(words.result(flow, result)), scenario.expect)
    return ScenarioOutcome(scenario, tuple(problems), result)


def wording(shown: str, expect: Expectation) -> list[str]:
    """One line per phrase the result should show and does not, or shows and should not.

    Case and runs of spaces or line breaks are ignored, so a phrase matches
    however the text is wrapped.
    """
    text = _squeezed(shown)
    problems = [f'says: missing "{p}"' for p in expect.says if _squeezed(p) not in text]
    problems += [f'never_says: found "{p}"' for p in expect.never_says if _squeezed(p) in text]
    return problems


def _squeezed(text: str) -> str:
    return " ".join(text.split()).casefold()


def _run_by_question(
    flow: CompiledFlow, scenario: Scenario, locale: str, words: Renderer
) -> ScenarioOutcome:
    """Answer each question the path asks with the scenario's answer for it, else the default.

    An answer for a question the flow does not have, or one the path never
    asks, is a problem too: it is a typo, or the scenario no longer tests
    what its author meant.
    """
    answers = dict(scenario.by_question or ())
    defaults = dict(scenario.defaults)
    unknown = [q for q in [*answers, *defaults] if q not in flow.questions]
    if unknown:
        return ScenarioOutcome(
            scenario,
            tuple(
                f"answers: flow '{flow.id}' has no question '{q}'"
                + _did_you_mean(q, flow.questions)
                for q in dict.fromkeys(unknown)
            ),
        )
    skip = words.t(UI.COMMAND_SKIP)
    session = engine.start(flow)
    while not session.finished:
        question = flow.questions[session.question or ""]
        if question.id in answers:
            typed = answers[question.id]
        elif question.id in defaults:
            typed = defaults[question.id]
        else:
            return ScenarioOutcome(
                scenario,
                (
                    f"the answers ran out at question {len(session.history) + 1}, "
                    f"'{question.id}' ({words.t(question.model.text)}), before the result: "
                    f"add '{question.id}: ...' to its answers (or to defaults:)",
                ),
                ran_out_at=question.id,
            )
        step = engine.answer(flow, session, typed, locale, skip, by_id=True)
        if step.problem is not None:
            hint = words.problem(flow, session, step.problem)
            return ScenarioOutcome(
                scenario,
                (f"answer to question '{question.id}' ({_quoted(typed)}) was refused: {hint}",),
            )
        session = step.session
    unused = [q for q in answers if q not in session.history]
    result = engine.result(flow, session)
    problems = compare(flow, scenario.expect, result)
    if unused:
        problems.insert(
            0,
            f"answers for {', '.join(repr(q) for q in unused)} not used: this path does not "
            "ask " + ("it" if len(unused) == 1 else "them"),
        )
    return ScenarioOutcome(scenario, tuple(problems), result)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def add_answer(
    catalog: Catalog, name: str, text: str, question: str, typed: str
) -> tuple[str, list[str]]:
    """``text`` with ``question: typed`` added to every scenario whose answers run out there.

    This is what an admin needs after adding a question: each scenario that
    reaches it gets an answer, written into the file where a person would
    write it (the end of the scenario's answers), comments and layout kept.
    Returns the new text and one line per change or per scenario it could
    not change (answers written as a list in order cannot be keyed safely),
    each with the scenario's line in the new text.
    """
    scenarios, findings = parse_scenarios(name, text)
    if findings:
        return text, [str(f) for f in findings]
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    entries = _value(root, "scenarios")
    assert isinstance(entries, yaml.SequenceNode)
    edits: list[tuple[int, str]] = []
    notes: list[str] = []
    value = json.dumps(typed, ensure_ascii=False)
    for scenario, node in zip(scenarios, entries.value, strict=True):
        flow = catalog.flows.get(scenario.flow)
        if flow is None or question not in flow.questions:
            continue
        outcome = run_scenario(catalog, scenario)
        if scenario.by_question is None:
            if not outcome.passed:
                shift = sum(words.count("\n") for _, words in edits)
                notes.append(
                    f"{name}:{scenario.line + shift}: {scenario.name}: not changed: its answers "
                    "are a list in order; write them by question id to use --add-answer"
                )
            continue
        if outcome.ran_out_at != question:
            continue
        answers = _value(node, "answers")
        assert isinstance(answers, yaml.MappingNode)
        edits.append(_insertion(text, answers, f"{question}: {value}"))
        shift = sum(words.count("\n") for _, words in edits[:-1])
        notes.append(f"{name}:{scenario.line + shift}: {scenario.name}: added {question}: {value}")
    for at, words in sorted(edits, reverse=True):
        text = text[:at] + words + text[at:]
    return text, notes


def _value(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node
    return None


def _insertion(text: str, answers: yaml.MappingNode, entry: str) -> tuple[int, str]:
    """Where and what to write to add ``entry`` as the last of a mapping's keys."""
    if answers.flow_style:
        close = text.rindex("}", 0, answers.end_mark.index)
        return close, f", {entry}"
    indent = " " * answers.value[0][0].start_mark.column
    end = answers.value[-1][1].end_mark
    if end.column == 0:
        return end.index, f"{indent}{entry}\n"
    line_end = text.find("\n", end.index)
    return (len(text) if line_end < 0 else line_end), f"\n{indent}{entry}"


def compare(flow: CompiledFlow, expect: Expectation, result: Result) -> list[str]:
    """One line per expected field the advice does not match: ``expected: X / got: Y``."""
    problems: list[str] = []
    if result.level != expect.recommend:
        problems.append(
            f"recommend: expected: {expect.recommend.value} / got: {result.level.value}"
        )
    outcome_ids = {o.model.id for o in flow.outcomes}
    if expect.outcome is not None and result.outcome_id != expect.outcome:
        line = f"outcome: expected: {expect.outcome} / got: {result.outcome_id}"
        if expect.outcome not in outcome_ids:
            line += f" (flow '{flow.id}' has no outcome rule '{expect.outcome}')"
        problems.append(line)
    got = set(result.caution_ids)
    caution_ids = {c.model.id for c in flow.cautions}
    if expect.cautions is not None:
        wanted = set(expect.cautions)
        if wanted != got:
            parts = []
            if wanted - got:
                parts.append(f"missing: {_set(wanted - got)}")
            if got - wanted:
                parts.append(f"unexpected: {_set(got - wanted)}")
            problems.append("cautions: " + " / ".join(parts) + _unknown(flow, wanted - caution_ids))
    missing = set(expect.cautions_include) - got
    if missing:
        problems.append(
            f"cautions_include: missing: {_set(missing)} / got: {_set(got)}"
            + _unknown(flow, missing - caution_ids)
        )
    return problems


def format_report(outcomes: Sequence[ScenarioOutcome], findings: Sequence[Finding] = ()) -> str:
    """A report for the terminal: findings, a line per pass, a block per failure, a total.

    Findings (files that could not be read) come first, as ``flows check``
    prints them. Each failure starts with the scenario's ``file:line`` so
    an editor can jump to it.
    """
    lines = [str(f) for f in findings]
    for outcome in outcomes:
        scenario = outcome.scenario
        if outcome.passed:
            lines.append(f"ok  {scenario.file}: {scenario.name}")
            continue
        lines.append(f"FAIL  {scenario.file}:{scenario.line}: {scenario.name}")
        lines.extend(f"    {problem}" for problem in outcome.problems)
    failed = sum(not o.passed for o in outcomes)
    summary = f"{len(outcomes) - failed} passed, {failed} failed"
    unread = sum(f.severity is Severity.ERROR for f in findings)
    if unread:
        summary += f", {unread} {'problem' if unread == 1 else 'problems'} in scenario files"
    lines.append(summary)
    return "\n".join(lines)


def succeeded(outcomes: Sequence[ScenarioOutcome], findings: Sequence[Finding] = ()) -> bool:
    """True when every scenario passed and every file was read: the CLI's exit status 0."""
    return all(o.passed for o in outcomes) and not any(
        f.severity is Severity.ERROR for f in findings
    )


def _pointed_here(finding: Finding) -> Finding:
    """A shared finding's hint, pointed at the scenario format instead of the flow guide."""
    return replace(finding, hint=finding.hint.replace("docs/admin.md", FORMAT_SOURCE))


def _set(items: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(items)) + "}"


def _unknown(flow: CompiledFlow, ids: set[str]) -> str:
    if not ids:
        return ""
    return f" (flow '{flow.id}' has no caution {', '.join(repr(i) for i in sorted(ids))})"


def _quoted(typed: str) -> str:
    return json.dumps(typed, ensure_ascii=False)
