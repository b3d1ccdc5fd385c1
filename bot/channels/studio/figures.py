"""The studio's usage charts: outcomes over time and drop-off per question, from the store.

Read from the store's anonymous usage events (``bot/store/usage.py``):
flows, questions, levels, cautions and times, never who. The totals come
from the same ``tally`` that ``python -m bot stats`` prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.flows.catalog import Catalog
from bot.store.conversations import Store
from bot.store.usage import EventKind, tally


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a chart: what it counts, how many, and its length as a share of the longest."""

    label: str
    count: int
    share: float


@dataclass(slots=True)
class FlowChart:
    """One flow's figures, ready to draw as bars."""

    flow_id: str
    title: str
    started: int
    finished: int
    levels: list[str] = field(default_factory=list)
    by_day: list[tuple[str, list[Bar]]] = field(default_factory=list)
    """Per day (oldest first), the results given at each level."""
    outcomes: list[Bar] = field(default_factory=list)
    cautions: list[Bar] = field(default_factory=list)
    dropped: list[Bar] = field(default_factory=list)
    """Per question in flow order, the conversations that stopped there."""


def _bars(counts: dict[str, int], order: list[str], names: dict[str, str]) -> list[Bar]:
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    top = max(counts.values(), default=0) or 1
    return [Bar(names.get(k, k), counts[k], counts[k] / top) for k in keys]


async def read_figures(
    store: Store, days: float, catalog: Catalog | None, locale: str | None = None
) -> list[FlowChart]:
    """Every flow's charts for the last ``days`` days, named in ``locale``'s words."""
    rows = await store.timed_events_since(time.time() - days * 86400)
    totals = tally((flow, kind, question, value) for _, flow, kind, question, value in rows)
    per_day: dict[str, dict[str, dict[str, int]]] = {}
    for at, flow, kind, _, value in rows:
        if kind == EventKind.FINISHED and value:
            day = time.strftime("%Y-%m-%d", time.gmtime(at))
            counts = per_day.setdefault(flow, {}).setdefault(day, {})
            counts[value] = counts.get(value, 0) + 1
    charts = []
    for flow_id, figures in sorted(totals.items()):
        compiled = catalog.flows.get(flow_id) if catalog is not None else None
        level_names: dict[str, str] = {}
        question_order: list[str] = []
        question_names: dict[str, str] = {}
        caution_names: dict[str, str] = {}
        title = flow_id
        if compiled is not None and catalog is not None:
            text = catalog.text
            said = locale or catalog.default_locale
            model = compiled.model
            title = text(said, model.title)
            level_names = {lv.value: text(said, r.label) for lv, r in model.recommendations.items()}
            question_order = list(compiled.questions)
            question_names = {q.id: f"{q.id}: {text(said, q.text)}" for q in model.questions}
            caution_names = {c.id: text(said, c.title) for c in model.cautions}
        levels = list(level_names) or sorted(figures.recommendations)
        days_seen = per_day.get(flow_id, {})
        top = max((n for counts in days_seen.values() for n in counts.values()), default=0) or 1
        by_day = [
            (
                day,
                [
                    Bar(
                        level_names.get(lv, lv),
                        days_seen[day].get(lv, 0),
                        days_seen[day].get(lv, 0) / top,
                    )
                    for lv in levels
                ],
            )
            for day in sorted(days_seen)
        ]
        charts.append(
            FlowChart(
                flow_id,
                title,
                figures.started,
                figures.finished,
                [level_names.get(lv, lv) for lv in levels],
                by_day,
                _bars(figures.recommendations, levels, level_names),
                _bars(figures.cautions, [], caution_names),
                _bars(figures.stopped_at, question_order, question_names),
            )
        )
    return charts
