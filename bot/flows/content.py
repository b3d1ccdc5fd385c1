"""Wording: text ids mapped to text, one set per locale.

Content files are YAML mappings; nested keys join with dots, so admins may
group texts (``plan: {q: {about: ...}}``) or write ids flat
(``plan.q.about: ...``). Every id must resolve to one non-empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.flows.catalog import SYNONYMS
from bot.flows.findings import Finding
from bot.flows.yamltext import Document


@dataclass(frozen=True, slots=True)
class TextEntry:
    """One text with where it was written, for messages about it."""

    text: str
    file: str
    line: int


def collect_texts(
    name: str, doc: Document, into: dict[str, TextEntry], findings: list[Finding]
) -> None:
    """Add the texts of one content file to ``into``, reporting what is wrong."""
    if doc.data is None:
        return
    if not isinstance(doc.data, Mapping):
        findings.append(
            Finding(name, doc.line(()), "a content file must map text ids to texts", "id: text")
        )
        return
    _walk(name, doc, doc.data, (), into, findings)


def _walk(
    name: str,
    doc: Document,
    data: Mapping[str, Any],
    path: tuple[str, ...],
    into: dict[str, TextEntry],
    findings: list[Finding],
) -> None:
    for key, value in data.items():
        here = (*path, key)
        line = doc.line(here)
        if isinstance(value, Mapping):
            _walk(name, doc, value, here, into, findings)
            continue
        text_id = ".".join(here)
        if text_id.rsplit(".", 1)[-1] == SYNONYMS and isinstance(value, list):
            words = [str(v).strip() for v in value if isinstance(v, str | int) and str(v).strip()]
            if len(words) != len(value) or not words:
                findings.append(
                    Finding(name, line, f"'{text_id}' must list words or phrases", "[ie, iawn]")
                )
                continue
            value = "\n".join(words)
        if not isinstance(value, str) or not value.strip():
            findings.append(
                Finding(name, line, f"text '{text_id}' must be non-empty text", "quote it")
            )
            continue
        if text_id in into:
            first = into[text_id]
            findings.append(
                Finding(
                    name,
                    line,
                    f"duplicate text id '{text_id}' (first at {first.file}:{first.line})",
                    "keep one of them",
                )
            )
            continue
        into[text_id] = TextEntry(value.strip(), name, line)
