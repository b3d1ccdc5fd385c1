"""Safe YAML reading that remembers the line of every value.

Admins edit flows by hand, so every later check needs to say which line is
wrong. PyYAML's safe composer gives positions; this module turns its nodes
into plain data plus a map from each value's path to its line, and refuses
what a flow never needs but an attacker might send: aliases (the "billion
laughs" bomb), oversized files and deep nesting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 40

Path = tuple[str | int, ...]


class YamlProblem(Exception):
    """The text is not YAML this project accepts; ``line`` is 1-based."""

    def __init__(self, line: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.hint = hint


@dataclass(slots=True)
class Document:
    """Plain data from one YAML file, with the line of each path in it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest enclosing value."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader whose composer refuses aliases before expanding anything.

    Booleans follow YAML 1.2 (only ``true``/``false``), so the option ids
    ``yes``, ``no``, ``on`` and ``off`` stay words, as admins mean them.
    """

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if self.check_event(yaml.AliasEvent):
            raise YamlProblem(
                event.start_mark.line + 1,
                "YAML aliases (*name) are not allowed",
                "write the value out in full",
            )
        # Refuse deep nesting here, before the recursive composer goes deeper.
        if self.depth >= MAX_DEPTH:
            raise YamlProblem(
                event.start_mark.line + 1, "nested too deeply", f"use at most {MAX_DEPTH} levels"
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_NoAliasLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse(text: str) -> Document:
    """Parse one YAML document into plain data and its line map."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlProblem(1, f"file is larger than {MAX_BYTES // 1024} KiB", "split it up")
    if "\x00" in text:
        raise YamlProblem(1, "file contains a NUL byte; it is not text", "save it as UTF-8 text")
    try:
        loader = _NoAliasLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(
            line, f"not valid YAML: {exc.reason}", "remove control characters"
        ) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise in_plain_words(exc, text) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(
            line, f"not valid YAML: {exc.reason}", "remove control characters"
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem(1, "nested too deeply", f"use at most {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    if node is None:
        return Document(None, {(): 1})
    doc = Document(None)
    doc.data = _convert(node, (), doc.lines, loader, 0)
    return doc


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], loader: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise YamlProblem(
            node.start_mark.line + 1, "nested too deeply", f"use at most {MAX_DEPTH} levels"
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(key_node.start_mark.line + 1, "a key must be a plain word")
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(
                    key_node.start_mark.line + 1, "YAML merge keys (<<) are not allowed"
                )
            key = key_node.value
            if key in result:
                raise YamlProblem(
                    key_node.start_mark.line + 1,
                    f"duplicate key '{key}'",
                    "each key may appear once in a mapping",
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, (*path, key), lines, loader, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, index), lines, loader, depth + 1)
            for index, item in enumerate(node.value)
        ]
    try:
        value = loader.construct_object(node)
    except yaml.YAMLError as exc:
        raise YamlProblem(node.start_mark.line + 1, f"cannot read this value: {exc}") from None
    except ValueError:  # Python refuses to read integers of more than 4,300 digits
        raise YamlProblem(
            node.start_mark.line + 1, "a number too long to read", "use at most 4,300 digits"
        ) from None
    if isinstance(value, str) and _SURROGATE.search(value):
        raise YamlProblem(
            node.start_mark.line + 1,
            "a text holds a lone surrogate (an escape such as \\ud800), which no message can carry",
            "remove the escape, or write the character itself",
        )
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")
"""Half of a UTF-16 pair, written as an escape: valid in YAML, unsendable anywhere."""


_KEY_LIKE = re.compile(r"\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s+(\S.*)")


def _format_keys() -> frozenset[str]:
    """Every key the flow format has (``id``, ``text``, ``next``, ...), from its dataclasses."""
    from dataclasses import fields

    from bot.flows import model

    parts = [getattr(model, n) for n in dir(model)]
    return frozenset(
        f.name.rstrip("_")
        for part in parts
        if isinstance(part, type) and issubclass(part, model._Part) and part is not model._Part
        for f in fields(part)
    )


def _missing_colon(line: str) -> str:
    """The key of a line that reads as ``key value`` with its colon left out; "" if not one.

    A text carried onto the next line without ``>-`` looks the same to YAML,
    so only a first word that is a text id (``plan.q.time``), a key of the
    flow format, or one followed by a quoted value counts as a key.
    """
    found = _KEY_LIKE.fullmatch(line)
    if found is None:
        return ""
    key, rest = found.groups()
    if "." in key.strip(".") or key in _format_keys() or rest[:1] in {'"', "'"}:
        return key
    return ""


def in_plain_words(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    """PyYAML's complaint as the slip a person made and its fix, where it is a known one.

    Admins edit texts, not YAML: the usual slips are a ``: `` or a quote
    inside a text, a tab, a quote never closed, and a long text carried onto
    the next line without ``>-``. PyYAML names them in parser terms
    ("mapping values are not allowed here") at a line that is not always the
    one to fix, so each known case is told in words with the line to change.
    """
    lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = exc.problem or ""
    context = exc.context or ""

    def source(number: int) -> str:
        return lines[number - 1] if 0 < number <= len(lines) else ""

    if "\t" in problem or "'\\t'" in problem:
        return YamlProblem(
            line,
            "this line is indented with a tab. YAML needs spaces: replace the tab with spaces.",
        )
    if context == "while scanning a quoted scalar" and exc.context_mark is not None:
        start = exc.context_mark.line + 1
        quote = text[exc.context_mark.index] if exc.context_mark.index < len(text) else '"'
        return YamlProblem(
            start,
            f"this text opens a quote ({quote}) that is never closed. "
            f"Add the closing {quote} at the end of the text.",
        )
    if problem == "mapping values are not allowed here" and mark is not None:
        here = source(line)
        before = here[: mark.column]
        if ": " in before or before.strip().startswith("- ") or not before.strip():
            fix = "Put the whole text in double quotes"
            if '"' in here[mark.column :] or '"' in before.split(": ", 1)[-1]:
                fix += ', and write each " inside it as \\"'
            return YamlProblem(line, f"this text contains ': '. {fix}.")
        return YamlProblem(
            line,
            "this line is indented more than the key above it, so it reads as part of that "
            "key's text, and a text cannot contain ': '. If it is a key, line it up with the "
            "keys above; if it goes on with the text, put the whole text in double quotes.",
        )
    if context == "while parsing a block mapping" and "found '<scalar>'" in problem:
        here = source(line)
        value = here.split(": ", 1)[-1].lstrip()
        if value[:1] in {"'", '"'}:
            quote = value[0]
            fix = (
                "write it as '' (two single quotes), or put the whole text in double quotes"
                if quote == "'"
                else 'write it as \\", or put the whole text in single quotes'
            )
            return YamlProblem(
                line,
                f"this text starts with {quote} and has another {quote} inside it, which "
                f"ends it early. For each {quote} inside the text, {fix}.",
            )
    if context == "while scanning a simple key" and exc.context_mark is not None:
        start = exc.context_mark.line + 1
        key = _missing_colon(source(start))
        if key:
            return YamlProblem(
                start,
                f"a colon is missing after '{key}': write '{key}: ' (a colon and a space) "
                "between the key and its value.",
            )
        return YamlProblem(
            start,
            "this line is neither 'key: text' nor part of the text above it. If the text above "
            "goes on here, write >- after its key and indent each of its lines by two spaces.",
        )
    what = problem or context or "not valid YAML"
    return YamlProblem(line, f"not valid YAML: {what}", "check indentation and quotes")
