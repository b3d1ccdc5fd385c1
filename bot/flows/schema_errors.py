"""Pydantic's validation errors reworded for admins, with the line they point at."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bot.flows.findings import Finding
from bot.flows.yamltext import Document, Path

_KINDS = {
    "string_type": "text or an id",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "list_type": "a list (lines starting with '- ')",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "dataclass_type": "a mapping (key: value lines)",
    "dataclass_args_type": "a mapping (key: value lines)",
}


def findings_from(error: ValidationError, file: str, doc: Document) -> list[Finding]:
    """One finding per place pydantic complained about, worded as a fix."""
    found: dict[Path, Finding] = {}
    for item in error.errors(include_url=False):
        path = _data_path(doc.data, item["loc"])
        if path in found:
            continue
        found[path] = _finding(item, path, file, doc)
    return list(found.values())


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """The part of pydantic's location that names real keys and indexes.

    Locations through a union carry the member's type name (``str``,
    ``list[Branch]``); those are not in the data and are skipped.
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and _is_field_name(part):
            path.append(part)
            node = None
    return tuple(path)


def _is_field_name(part: str) -> bool:
    return part.replace("_", "").isalnum() and part.islower() and "[" not in part


_NAMED = {
    "questions": "question",
    "options": "option",
    "outcomes": "outcome",
    "cautions": "caution",
    "guarantees": "guarantee",
    "scenarios": "scenario",
    "answers": "answer",
}
"""Lists whose entries have ids (or, for scenarios, names): an entry is named by its id,
else by its number from 1."""


def _where(path: Path, data: Any = None) -> str:
    """A place in a flow file as an admin says it: ``question 'time', option 3 ('weeks')``.

    Never ``questions[2].options[0]``: people count from 1 and know their
    parts by id. Questions, rules and cautions are named by id; options by
    number and id, since the number is what the bot shows beside them.
    """
    words: list[str] = []
    node = data
    index = 0
    while index < len(path):
        part = path[index]
        after = path[index + 1] if index + 1 < len(path) else None
        if isinstance(part, str) and part in _NAMED and isinstance(after, int):
            items = node.get(part) if isinstance(node, dict) else None
            entry = items[after] if isinstance(items, list) and after < len(items) else None
            ident = entry.get("id", entry.get("name")) if isinstance(entry, dict) else None
            name = _NAMED[part]
            if name == "option" or (name == "scenario" and isinstance(ident, str)):
                words.append(f"{name} {after + 1}" + (f" ('{ident}')" if ident else ""))
            else:
                words.append(
                    f"{name} '{ident}'" if isinstance(ident, str) else f"{name} {after + 1}"
                )
            node = entry
            index += 2
            continue
        if isinstance(part, int):
            words.append(f"entry {part + 1}")
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:  # plain keys run together as written: expect.recommend
            plain = (
                bool(words) and isinstance(path[index - 1], str) and path[index - 1] not in _NAMED
            )
            words[-1:] = [f"{words[-1]}.{part}"] if plain else [*words[-1:], str(part)]
            node = node.get(part) if isinstance(node, dict) else None
        index += 1
    return ", ".join(words) or "the file"


def _finding(item: dict[str, Any], path: Path, file: str, doc: Document) -> Finding:
    kind = item["type"]
    where = _where(path, doc.data)
    given = item.get("input")
    line = doc.line(path)
    if kind == "missing":
        key = path[-1] if path else "?"
        owner = f"{_where(path[:-1], doc.data)}: " if path[:-1] else ""
        return Finding(
            file, line, f"{owner}the required key '{key}' is missing", "see docs/admin.md"
        )
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return Finding(
            file, line, f"unknown key '{path[-1]}'", "check the spelling against docs/admin.md"
        )
    if kind in _KINDS:
        return Finding(file, line, f"{where}: expected {_KINDS[kind]}, got {_describe(given)}", "")
    if kind == "string_pattern_mismatch":
        return Finding(
            file,
            line,
            f"{where}: '{given}' is not a valid id",
            "use lowercase letters, digits and _, starting with a letter",
        )
    if kind == "too_short":
        return Finding(file, line, f"{where}: must not be empty", "add at least one entry")
    if kind == "enum":
        expected = item.get("ctx", {}).get("expected", "")
        return Finding(file, line, f"{where}: '{given}' is not one of {expected}", "")
    return Finding(file, line, f"{where}: {item['msg']}", "see docs/admin.md")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    text = str(value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"
