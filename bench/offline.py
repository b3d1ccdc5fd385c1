"""The figures that need no server: stored sessions, flow loading, the engine.

- ``populate``: a database of N realistic conversations, written through
  ``SQLiteStore.apply`` with sessions the engine produced on the ``plan`` flow
  (the answers of its scenario tests, cut at every point, half finished).
- ``loader_seconds``: ``bot.advice.loader.load`` (validation, compilation and the
  proofs) of ``bot.advice.testing.generate_flow(300)`` with content/en/ui.yaml.
- ``engine_us_per_answer``: ``bot.advice.engine.answer`` in a loop over the plan
  flow's scenario answers, typed as a person types them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.loader import Source, load
from bot.advice.render import Renderer
from bot.advice.scenarios import parse_scenarios
from bot.advice.testing import generate_flow
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog
from bot.flows.findings import FlowError
from bot.sources import PROJECT_ROOT, project_catalog
from bot.store.conversations import Conversation
from bot.store.sqlite import SQLiteStore


def plan_catalog() -> Catalog:
    """``bot.sources.project_catalog()``; else plan alone (mid-edit)."""
    try:
        return project_catalog()
    except FlowError:
        flows = [PROJECT_ROOT / "flows" / "plan.yaml"]
        texts = [
            PROJECT_ROOT / "content" / "en" / f for f in ("ui.yaml", "levels.yaml", "plan.yaml")
        ]
        return load(
            [Source(p.name, p.read_text(encoding="utf-8"), stem=p.stem) for p in flows],
            [Source(p.name, p.read_text(encoding="utf-8"), locale="en") for p in texts],
            required_texts=[u.value for u in UI],
        ).unwrap()


def plan_answers() -> list[list[str]]:
    """The answers of every English scenario test of the plan flow, in the order asked.

    Scenarios key their answers by question id, so the order is the path the
    engine takes through them; typed by id as ``flows test`` types them.
    """
    path = PROJECT_ROOT / "flows" / "tests" / "plan.yaml"
    scenarios, problems = parse_scenarios(str(path), path.read_text(encoding="utf-8"))
    if problems or not scenarios:
        raise RuntimeError(f"cannot read {path}: {[str(p) for p in problems]}")
    catalog = plan_catalog()
    flow = catalog.flows["plan"]
    skip = Renderer(catalog, "en").t(UI.COMMAND_SKIP)
    scripts = []
    for scenario in scenarios:
        if scenario.locale not in (None, "en"):
            continue
        if scenario.by_question is None:
            scripts.append([str(a) for a in scenario.answers])
            continue
        keyed = {**dict(scenario.defaults), **dict(scenario.by_question)}
        typed: list[str] = []
        session = engine.start(flow)
        while not session.finished and session.question in keyed:
            answer = keyed[session.question]
            step = engine.answer(flow, session, answer, "en", skip, by_id=True)
            if step.problem is not None:
                break
            typed.append(answer)
            session = step.session
        scripts.append(typed)
    if not any(scripts):
        raise RuntimeError(f"no answers in {path}")
    return scripts


def plan_sessions() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sessions in progress at every point of every scenario, finished sessions) as JSON."""
    catalog = plan_catalog()
    flow = catalog.flows["plan"]
    skip = Renderer(catalog, "en").t(UI.COMMAND_SKIP)
    partial: list[dict[str, Any]] = []
    finished: list[dict[str, Any]] = []
    for answers in plan_answers():
        session = engine.start(flow)
        for typed in answers:
            step = engine.answer(flow, session, typed, "en", skip, by_id=True)
            if step.problem is not None:
                break
            session = step.session
            (finished if session.finished else partial).append(session.to_json())
    return partial, finished


def conversations(start: int, count: int, first_chat_id: int, now: float) -> Iterator[Conversation]:
    partial, finished = plan_sessions()
    for n in range(start, start + count):
        done = finished[n % len(finished)]
        live = partial[n % len(partial)] if n % 2 else done
        yield Conversation(
            chat_id=first_chat_id + n,
            user_id=first_chat_id + n,
            locale="en",
            session=live,
            last_result=done if n % 4 != 3 else None,
            prompt_message_id=2 + n % 40,
            version=0,
            created_at=now,
            updated_at=now,
        )


async def populate(db_path: Path, start: int, count: int, first_chat_id: int) -> float:
    """Add conversations ``start`` .. ``start + count - 1``; seconds taken."""
    began = time.perf_counter()
    store = await SQLiteStore.open(db_path)
    try:
        now = time.time()
        for n, conv in enumerate(conversations(start, count, first_chat_id, now), start=start):
            await store.apply(10_000_000 + n, conv, now)
    finally:
        await store.close()
    return time.perf_counter() - began


def loader_seconds(repeats: int) -> dict[str, float]:
    flow_text, content_text = generate_flow(300)
    ui = (PROJECT_ROOT / "content" / "en" / "ui.yaml").read_text(encoding="utf-8")
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        report = load(
            [Source("generated.yaml", flow_text, stem="generated")],
            [Source("gen.yaml", content_text, locale="en"), Source("ui.yaml", ui, locale="en")],
            required_texts=[u.value for u in UI],
        )
        times.append(time.perf_counter() - began)
        if report.catalog is None or report.findings:
            raise RuntimeError(f"the generated flow did not load: {report.findings[:3]}")
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def engine_us_per_answer(seconds: float) -> dict[str, float]:
    catalog = plan_catalog()
    flow = catalog.flows["plan"]
    skip = Renderer(catalog, "en").t(UI.COMMAND_SKIP)
    scripts = plan_answers()
    answers = 0
    refused = 0
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        for script in scripts:
            session: Session = engine.start(flow)
            for typed in script:
                step = engine.answer(flow, session, typed, "en", skip, by_id=True)
                answers += 1
                if step.problem is not None:
                    refused += 1
                    break
                session = step.session
    elapsed = time.perf_counter() - began
    return {"us_per_answer": elapsed / answers * 1e6, "answers": answers, "refused": refused}
