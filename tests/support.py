"""Shared helpers for the tests: the small ``mini`` flow and its catalog."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import Catalog, LoadReport
from bot.loader import Source, load
from bot.sources import PROJECT_ROOT
from bot.uitext import UI

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"
UI_FILE = PROJECT_ROOT / "content" / "en" / "ui.yaml"


def source(path: Path, locale: str | None = None) -> Source:
    return Source(path.name, path.read_text(encoding="utf-8"), stem=path.stem, locale=locale)


def load_flow_text(flow_text: str, content: dict[str, str] | None = None) -> LoadReport:
    """Load one flow written inline, with the mini texts and any ``content`` files given."""
    texts = [source(MINI / "content" / "en" / "mini.yaml", "en"), source(UI_FILE, "en")]
    for name, text in (content or {}).items():
        texts.append(Source(name, text, locale="en"))
    return load(
        [Source("flow.yaml", flow_text, stem="mini")],
        texts,
        required_texts=[u.value for u in UI],
    )


def mini_catalog() -> Catalog:
    """The mini flow with the project's UI texts."""
    return load(
        [source(MINI / "flows" / "mini.yaml")],
        [source(MINI / "content" / "en" / "mini.yaml", "en"), source(UI_FILE, "en")],
        required_texts=[u.value for u in UI],
    ).unwrap()


def mini_text() -> str:
    return (MINI / "flows" / "mini.yaml").read_text(encoding="utf-8")
