"""Anonymous usage figures: what happened in conversations, never who did it.

Events name a flow, a question, a level or a caution, and a time: no user,
chat or answer text, so the figures can be kept and shown without personal
data. Drop-off per question is "entered" minus "left": the conversations
that came to a question and went no further.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog


class EventKind(StrEnum):
    """What an event records."""

    STARTED = "started"
    ENTERED = "entered"
    LEFT = "left"
    FINISHED = "finished"
    CAUTION = "caution"


@dataclass(frozen=True, slots=True)
class Event:
    """One anonymous thing that happened in a flow."""

    flow: str
    kind: EventKind
    question: str | None = None
    value: str | None = None


def transition_events(
    catalog: Catalog, before: Session | None, after: Session | None
) -> list[Event]:
    """What moving from ``before`` to ``after`` means for the figures.

    A session that vanished (expired, forgotten, flow withdrawn) leaves no
    "left" event: its person did stop where it stood.
    """
    if after is None:
        return []
    same_flow = before is not None and before.flow_id == after.flow_id
    events: list[Event] = []
    if same_flow and before is not None and before.question == after.question:
        return events
    if same_flow and before is not None and before.question is not None:
        events.append(Event(after.flow_id, EventKind.LEFT, before.question))
    if after.question is not None:
        events.append(Event(after.flow_id, EventKind.ENTERED, after.question))
    elif not (same_flow and before is not None and before.finished):
        flow = catalog.flows.get(after.flow_id)
        if flow is not None:
            result = engine.result(flow, after)
            events.append(Event(after.flow_id, EventKind.FINISHED, value=result.level.value))
            events.extend(
                Event(after.flow_id, EventKind.CAUTION, value=c) for c in sorted(result.caution_ids)
            )
    return events


@dataclass(slots=True)
class FlowFigures:
    """The figures for one flow over a period."""

    started: int = 0
    finished: int = 0
    recommendations: dict[str, int] = field(default_factory=dict)
    cautions: dict[str, int] = field(default_factory=dict)
    stopped_at: dict[str, int] = field(default_factory=dict)


def tally(rows: Iterable[tuple[str, str, str | None, str | None]]) -> dict[str, FlowFigures]:
    """Figures per flow from (flow, kind, question, value) rows."""
    figures: dict[str, FlowFigures] = {}
    for flow, kind, question, value in rows:
        f = figures.setdefault(flow, FlowFigures())
        if kind == EventKind.STARTED:
            f.started += 1
        elif kind == EventKind.FINISHED and value:
            f.finished += 1
            f.recommendations[value] = f.recommendations.get(value, 0) + 1
        elif kind == EventKind.CAUTION and value:
            f.cautions[value] = f.cautions.get(value, 0) + 1
        elif kind == EventKind.ENTERED and question:
            f.stopped_at[question] = f.stopped_at.get(question, 0) + 1
        elif kind == EventKind.LEFT and question:
            f.stopped_at[question] = f.stopped_at.get(question, 0) - 1
    for f in figures.values():
        f.stopped_at = {q: n for q, n in f.stopped_at.items() if n > 0}
    return figures


def report(figures: Mapping[str, FlowFigures], days: float, words: Renderer) -> str:
    """The figures as text for an admin, ids as written in the flows."""
    if not figures:
        return words.t(UI.STATS_NONE, days=f"{days:g}")
    lines = [words.t(UI.STATS_HEADER, days=f"{days:g}")]
    for flow, f in sorted(figures.items()):
        lines.append("")
        lines.append(words.t(UI.STATS_FLOW, flow=flow, started=f.started, finished=f.finished))
        if f.recommendations:
            listed = ", ".join(f"{k} {v}" for k, v in sorted(f.recommendations.items()))
            lines.append(words.t(UI.STATS_RECOMMENDATIONS, list=listed))
        if f.cautions:
            listed = ", ".join(f"{k} {v}" for k, v in sorted(f.cautions.items()))
            lines.append(words.t(UI.STATS_CAUTIONS, list=listed))
        if f.stopped_at:
            ranked = sorted(f.stopped_at.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(words.t(UI.STATS_STOPPED, list=", ".join(f"{q} {n}" for q, n in ranked)))
    return "\n".join(lines)
