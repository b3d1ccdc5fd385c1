"""The JSON Schema of flow files, for editors, generated from ``bot.flows.model``.

Flow files start with ``# yaml-language-server: $schema=../schema/flow.schema.json``,
so an editor with YAML support (VS Code's YAML extension and others built on
yaml-language-server) completes keys, shows what each means, and marks typos
and wrong types while an admin types, before ``flows check`` runs.

The dataclasses in ``bot.flows.model`` stay the one definition of the format: this module only takes
pydantic's schema and adds what an editor shows (a title, a description for
every key), in the JSON Schema dialect those editors fully support. The file
``schema/flow.schema.json`` is ``render_schema()`` committed; a test keeps
the two equal. Pure: nothing here reads or writes files.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.flows.validation import FLOW

DIALECT = "http://json-schema.org/draft-07/schema#"
"""yaml-language-server validates with draft-07 and only warns on newer dialects."""

TITLE = "Engagement Advisor flow"

SCHEMA_PATH = "schema/flow.schema.json"
"""Where the rendered schema is committed, from the project root."""

DEFINITIONS = "definitions"
"""Draft-07's place for shared parts (pydantic's ``$defs`` is 2019-09 onwards)."""

# What each key means, as an editor shows it on hover. Worded from
# docs/admin.md; a test fails when a model gains a key not described here.
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Flow": {
        "id": "The flow's id, the same as the file name (plan.yaml has id: plan).",
        "version": "A whole number; raise it when you change questions. People part-way "
        "through carry on, their earlier answers kept where they still fit.",
        "title": "Text id of the flow's name in menus.",
        "description": "Text id of one line shown under the title.",
        "audience": "Who the flow is written for: staff or community.",
        "start": "Id of the first question.",
        "result_heading": "Text id of the word before the level on the result's first line.",
        "questions": "The questions, in order. Without a next, a question leads to the "
        "one after it; the last leads to the result.",
        "recommendations": "What each level (inform, consult, co_produce) says, whichever "
        "outcome rule chose it.",
        "outcomes": "Outcome rules: the first whose when holds gives the recommendation; "
        "the last has no when and is the default.",
        "cautions": "Risks shown after the recommendation, each whenever its when holds.",
        "guarantees": "Promises about the advice that flows check proves over every path.",
        "headings": "Text ids that replace the result's standard headings for this flow.",
    },
    "Headings": {
        "why": "Heading over the reasons (default ui.result.why).",
        "cautions": "Heading over the cautions (default ui.result.cautions).",
        "would_change": "Heading over what would change the advice.",
        "next_steps": "Heading over the next steps (a community flow: questions to ask).",
        "where": "Heading over where the advice sits on the ladder and spectrum.",
        "answers": "Heading over the person's answers.",
    },
    "Guarantee": {
        "id": "The guarantee's id.",
        "description": "A note for admins on why the promise matters; never shown to users.",
        "when": "Only paths where this condition holds must keep the promise.",
        "if_recommend": "Only paths giving one of these levels must keep the promise.",
        "never_recommend": "Levels the advice must never give on those paths.",
        "must_caution": "Cautions that must be raised on those paths.",
        "must_include": "Text ids that must be shown on those paths, as a reason, next step "
        "or what would change the advice.",
        "never_include": "Text ids that must not be shown on those paths (a summary, "
        "reason, next step or what would change the advice).",
    },
    "Question": {
        "id": "The question's id; the answer is kept as the fact of this name.",
        "text": "Text id of the question.",
        "help": "Text id of the help shown when the person asks for it.",
        "kind": "choice: pick one option; multi: pick one or more; text: type an answer.",
        "options": "The answers to pick from (choice and multi only; at least one).",
        "next": "Where the question leads: a question id, result, or a list of branches "
        "(the first whose when holds wins; the last has no when). Without it: the "
        "next question in the file.",
        "max_length": "text questions: the longest answer accepted (default 500).",
        "optional": "text questions: true lets people type skip.",
        "min_choices": "multi questions: the fewest options that must be picked (default 1).",
        "record_only": "true: the answer is kept for the record and need not change the "
        "advice (the 'every answer counts' check skips it).",
        "remember": "true: asked once per person; the channels keep the answer and fill "
        "it in when another flow asks the same question.",
    },
    "Option": {
        "id": "The option's id: the fact's value when it is picked.",
        "label": "Text id of the button.",
        "set": "Extra facts this answer sets (name: value, the value a word, number or "
        "true/false).",
        "next": "choice questions: where this option leads (a question id or result), "
        "before the question's own next.",
        "exclusive": "multi questions: true if this option (such as 'none of these') cannot "
        "be combined with others.",
        "days": "choice questions: [from, under], a range of days; a typed duration in it "
        "(such as '3 months') picks this option. under may be null for 'or more'.",
    },
    "Branch": {
        "when": "The condition; leave it out on the last branch, the default.",
        "goto": "Where to go: a question id or result.",
    },
    "Condition": {
        "fact": "The fact to test: a question id or a name an option sets.",
        "is": "Holds when the fact equals this value.",
        "in": "Holds when the fact equals one of these values.",
        "has": "Holds when the multi answer includes this option.",
        "has_any": "Holds when the multi answer includes at least one of these options.",
        "count_at_least": "Holds when the multi answer includes this many options or more.",
        "answered": "true: holds when the fact is set; false: when it is not.",
        "all": "Holds when every condition in the list holds.",
        "any": "Holds when at least one condition in the list holds.",
        "not": "Holds when this condition does not.",
    },
    "Recommendation": {
        "label": "Text id of the level's name.",
        "summary": "Text id of what this level means, in one paragraph.",
        "ladder": "Text id of where it sits on Arnstein's ladder.",
        "spectrum": "Text id of where it sits on the IAP2 spectrum.",
        "next_steps": "Text ids of the steps shown whichever rule chose this level, or "
        "{text, when} for a step shown only when its condition holds.",
    },
    "ConditionalText": {
        "text": "Text id of the reason, step or change.",
        "when": "Show the text only when this holds.",
    },
    "Outcome": {
        "id": "The rule's id.",
        "when": "When the rule applies; leave it out on the last rule, the default.",
        "recommend": "The level this rule recommends: inform, consult or co_produce.",
        "reasons": "Text ids of the reasons, or {text, when} for a reason shown only when "
        "its condition holds.",
        "headline": "Text id naming the situation on the result's first line in place of "
        "the level's name (the level still places it on the scale).",
        "summary": "Text id of a paragraph shown in place of the level's summary.",
        "ladder": "Text id shown in place of the level's place on Arnstein's ladder.",
        "spectrum": "Text id shown in place of the level's place on the IAP2 spectrum.",
        "standard_steps": "false: leave out the level's own next steps (for a situation "
        "they do not fit).",
        "would_change": "Text ids of what would change this advice, or {text, when}.",
        "next_steps": "Text ids of steps shown after the level's own, or {text, when}.",
    },
    "Caution": {
        "id": "The caution's id.",
        "when": "When the caution is shown.",
        "title": "Text id of the risk, in a few words.",
        "why": "Text id of why it matters.",
        "do": "Text id of what to do about it.",
    },
}


def flow_schema() -> dict[str, Any]:
    """The JSON Schema of a flow file, with a title and a description on every key."""
    schema = FLOW.json_schema(by_alias=True, ref_template=f"#/{DEFINITIONS}/{{model}}")
    definitions = schema.pop("$defs", {})
    definitions["Flow"] = schema
    for name, definition in definitions.items():
        _describe_properties(name, definition)
    root = definitions.pop("Flow")
    for part in [root, *definitions.values()]:
        _lift_refs(part)
    return {
        **root,
        "$schema": DIALECT,
        "title": TITLE,
        "description": "A dialogue flow: questions, the outcome rules that turn their "
        "answers into a recommendation, and cautions. See docs/admin.md.",
        DEFINITIONS: definitions,
    }


def render_schema() -> str:
    """The exact text of ``schema/flow.schema.json``: stable, so diffs show real changes."""
    return json.dumps(flow_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_LITERAL = re.compile(r"``([^`]+)``")


def _describe_properties(model: str, definition: dict[str, Any]) -> None:
    """Put each key's meaning first, keeping the id or text-id rule after it.

    Model docstrings mark names as ``literal`` for Sphinx; an editor shows
    descriptions as plain text, so those become 'literal'.
    """
    if "description" in definition:
        definition["description"] = _LITERAL.sub(r"'\1'", definition["description"])
    wording = DESCRIPTIONS.get(model, {})
    for key, prop in definition.get("properties", {}).items():
        prop.pop("title", None)  # "Max Length" says nothing the key does not
        meaning = wording.get(key)
        if meaning is None:
            continue
        shape = prop.get("description")
        prop["description"] = f"{meaning} {shape}" if shape else meaning


def _lift_refs(node: Any) -> None:
    """Wrap every ``$ref`` that has neighbours as ``allOf: [{$ref}]``.

    Draft-07 ignores every keyword beside a ``$ref``, so without this an
    editor would drop the description and default of ``kind``, ``audience``
    and ``recommend``.
    """
    if isinstance(node, list):
        for item in node:
            _lift_refs(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _lift_refs(value)
    if "$ref" in node and len(node) > 1:
        node["allOf"] = [{"$ref": node.pop("$ref")}]
