"""The committed JSON Schema for flow files: current, describes every key, fits real flows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.flows.schema import (
    DEFINITIONS,
    DESCRIPTIONS,
    DIALECT,
    SCHEMA_PATH,
    flow_schema,
    render_schema,
)
from bot.flows.yamltext import parse
from bot.sources import PROJECT_ROOT

from support import ADVISOR, MINI

SCHEMA_FILE = PROJECT_ROOT / SCHEMA_PATH
FLOW_FILES = sorted((PROJECT_ROOT / "flows").glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=../schema/flow.schema.json"


def flow_data(path: Path) -> Any:
    return parse(path.read_text(encoding="utf-8")).data


# --- A validator for the draft-07 keywords the schema uses ---------------------
# jsonschema is not a dependency; this covers exactly the keywords in the
# schema, and a test below fails if the schema starts using any other.

ANNOTATIONS = {"$schema", "title", "description", "default", DEFINITIONS}
CHECKED = {
    "$ref",
    "allOf",
    "anyOf",
    "type",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "items",
    "minItems",
    "pattern",
    "maxLength",
    "minimum",
    "maximum",
}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "") -> list:
    """Where ``value`` breaks ``schema``: a list of ``(place, keyword)``."""
    if "$ref" in schema:
        pointer = schema["$ref"].removeprefix("#/").split("/")
        target = root
        for part in pointer:
            target = target[part]
        found = schema_errors(value, target, root, at)
    else:
        found = []
    for part in schema.get("allOf", []):
        found += schema_errors(value, part, root, at)
    if "anyOf" in schema and all(schema_errors(value, s, root, at) for s in schema["anyOf"]):
        found.append((at, "anyOf"))
    if "type" in schema and not TYPES[schema["type"]](value):
        return [*found, (at, "type")]
    if "enum" in schema and value not in schema["enum"]:
        found.append((at, "enum"))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append((at, "pattern"))
        if len(value) > schema.get("maxLength", len(value)):
            found.append((at, "maxLength"))
    number = isinstance(value, int) and not isinstance(value, bool)
    if number and not schema.get("minimum", value) <= value <= schema.get("maximum", value):
        found.append((at, "range"))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append((at, "minItems"))
        for index, item in enumerate(value):
            if "items" in schema:
                found += schema_errors(item, schema["items"], root, f"{at}[{index}]")
    if isinstance(value, dict):
        found += object_errors(value, schema, root, at)
    return found


def object_errors(value: dict, schema: dict[str, Any], root: dict[str, Any], at: str) -> list:
    found = [(f"{at}.{k}", "required") for k in schema.get("required", []) if k not in value]
    if len(value) < schema.get("minProperties", 0):
        found.append((at, "minProperties"))
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key, item in value.items():
        where = f"{at}.{key}"
        if "propertyNames" in schema:
            found += schema_errors(key, schema["propertyNames"], root, where)
        matched = [s for p, s in patterns.items() if re.search(p, key)]
        if key in properties:
            found += schema_errors(item, properties[key], root, where)
        for pattern_schema in matched:
            found += schema_errors(item, pattern_schema, root, where)
        if key not in properties and not matched:
            extra = schema.get("additionalProperties", True)
            if extra is False:
                found.append((where, "additionalProperties"))
            elif isinstance(extra, dict):
                found += schema_errors(item, extra, root, where)
    return found


def validate(data: Any) -> list:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    try:
        import jsonschema
    except ImportError:
        return schema_errors(data, schema, schema)
    return list(jsonschema.Draft7Validator(schema).iter_errors(data))


def subschemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside the schema (not property-name mappings)."""
    if isinstance(node, list):
        for item in node:
            yield from subschemas(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in ("properties", "patternProperties", DEFINITIONS):
                for sub in value.values():
                    yield from subschemas(sub)
            elif key not in ("enum", "required", "default"):
                yield from subschemas(value)


# --- The committed file ---------------------------------------------------------


def test_committed_schema_is_current():
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert committed == render_schema(), (
        f"{SCHEMA_PATH} is out of date with bot/flows/model.py; regenerate it with: "
        f"python -m bot flows schema > {SCHEMA_PATH}"
    )


def test_render_is_stable_pretty_json():
    text = render_schema()
    assert text == render_schema()
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_schema_names_its_dialect_and_title():
    schema = flow_schema()
    assert schema["$schema"] == DIALECT
    assert schema["title"]
    assert schema["description"]
    assert "$defs" not in json.dumps(schema)


def test_schema_has_the_required_keys_and_question_kinds():
    schema = flow_schema()
    assert set(schema["required"]) == {
        "id",
        "version",
        "title",
        "audience",
        "start",
        "questions",
        "recommendations",
        "outcomes",
    }
    assert schema[DEFINITIONS]["QuestionKind"]["enum"] == ["choice", "multi", "text"]
    assert schema[DEFINITIONS]["Level"]["enum"] == ["inform", "consult", "co_produce"]
    condition = schema[DEFINITIONS]["Condition"]["properties"]
    assert {"is", "in", "not"} <= set(condition)


def test_every_key_is_described():
    """A key added to bot/flows/model.py needs its meaning in bot.flows.schema.DESCRIPTIONS."""
    schema = flow_schema()
    parts = {"Flow": schema, **schema[DEFINITIONS]}
    for name, part in parts.items():
        for key, prop in part.get("properties", {}).items():
            assert key in DESCRIPTIONS.get(name, {}), (
                f"describe {name}.{key} in bot/flows/schema.py"
            )
            assert prop.get("description"), f"{name}.{key}"
    for name, keys in DESCRIPTIONS.items():
        assert set(keys) <= set(parts[name]["properties"]), f"{name} describes keys it lacks"


def test_no_ref_has_neighbours():
    """Draft-07 ignores what sits beside a $ref, so descriptions would be lost."""
    for part in subschemas(flow_schema()):
        if "$ref" in part:
            assert set(part) == {"$ref"}, part


def test_schema_uses_only_keywords_the_test_validator_checks():
    for part in subschemas(flow_schema()):
        assert set(part) <= CHECKED | ANNOTATIONS, set(part) - CHECKED - ANNOTATIONS


# --- The schema against real flows ----------------------------------------------


@pytest.mark.parametrize("path", [*FLOW_FILES, MINI / "flows" / "mini.yaml"], ids=lambda p: p.name)
def test_schema_accepts_real_flows(path):
    assert validate(flow_data(path)) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(titel="x"), ".titel"),
        (lambda d: d.pop("start"), ".start"),
        (lambda d: d["questions"][0].update(kind="essay"), ".questions[0].kind"),
        (
            lambda d: d["questions"][1]["options"][0].update(id="Open"),
            ".questions[1].options[0].id",
        ),
        (lambda d: d["outcomes"][0].update(recommend="involve"), ".outcomes[0].recommend"),
        (lambda d: d["recommendations"].update(involve=d["recommendations"]["inform"]), ""),
        (lambda d: d["cautions"][0]["when"].update(is_="no"), ".cautions[0].when.is_"),
        (lambda d: d.update(version=0), ".version"),
        (lambda d: d.update(questions=[]), ".questions"),
    ],
)
def test_schema_refuses_broken_flows(change, where):
    data = flow_data(ADVISOR / "flows" / "plan.yaml")
    change(data)
    errors = validate(data)
    assert errors
    if isinstance(errors[0], tuple):  # the test validator says where; jsonschema words it
        assert any(place.startswith(where) for place, _ in errors), errors


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_every_flow_file_points_editors_at_the_schema(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == HEADER, f"{path.name}: make the first line '{HEADER}'"
    target = first.split("$schema=", 1)[1]
    assert (path.parent / target).resolve() == SCHEMA_FILE.resolve()
