"""The loader turns every kind of bad flow or content file into file:line findings."""

from __future__ import annotations

import time

import pytest

from bot.advice.loader import Source, load
from bot.advice.uitext import UI
from bot.flows.findings import Finding, FlowError, Severity
from bot.flows.yamltext import MAX_BYTES, MAX_DEPTH

from support import MINI, UI_FILE, load_flow_text, mini_text


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing ``marker``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    return hits[nth - 1]


def edit(old: str, new: str, nth: int = 1) -> str:
    """The mini flow with the nth occurrence of ``old`` replaced."""
    text = mini_text()
    at = -1
    for _ in range(nth):
        at = text.index(old, at + 1)
    return text[:at] + new + text[at + len(old) :]


def errors_of(flow_text: str, **content: str) -> list[str]:
    report = load_flow_text(flow_text, content or None)
    assert report.catalog is None, "a broken flow must not load"
    return [str(f) for f in report.findings if f.severity is Severity.ERROR]


def test_mini_flow_loads_clean() -> None:
    """The reference flow itself has no findings at all."""
    report = load_flow_text(mini_text())
    assert report.findings == []
    assert report.catalog is not None
    assert set(report.catalog.flows) == {"mini"}


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        pytest.param(
            "version: 1",
            "version: one",
            "version:",
            "version: expected a whole number",
            id="wrong-type",
        ),
        pytest.param(
            "    optional: true",
            "    optionl: true",
            "optionl",
            "unknown key 'optionl'",
            id="unknown-key",
        ),
        pytest.param(
            "      - id: staff",
            "      - id: Staff Time",
            "Staff Time",
            "is not a valid id",
            id="bad-id",
        ),
        pytest.param(
            "kind: multi",
            "kind: several",
            "several",
            "'several' is not one of",
            id="bad-enum",
        ),
        pytest.param(
            "    recommend: inform",
            "    recommend: involve",
            "involve",
            "is not one of",
            id="bad-level",
        ),
    ],
)
def test_shape_errors_name_the_line(old: str, new: str, marker: str, expected: str) -> None:
    """Type, key, id and enum mistakes point at the line where they are written."""
    text = edit(old, new)
    found = errors_of(text)
    assert any(
        f.startswith(f"flow.yaml:{line_of(text, marker)}: ") and expected in f for f in found
    ), found


def test_missing_key_names_its_mapping() -> None:
    """A missing required key is reported at the mapping that lacks it, and says which key."""
    text = edit("    text: mini.q.open\n", "")
    found = errors_of(text)
    assert (
        f"flow.yaml:{line_of(text, 'id: open')}: question 'open': the required key 'text' "
        "is missing" in " ".join(found)
    )
    assert "questions[" not in " ".join(found)


def test_empty_options_are_refused() -> None:
    """A choice question with an empty option list cannot be answered, so it cannot load."""
    start = mini_text().index("  - id: accountable")
    text = mini_text()[:start] + (
        "  - id: accountable\n    text: mini.q.accountable\n    options: []\n"
        + mini_text()[mini_text().index("recommendations:") :]
    )
    found = errors_of(text)
    assert any(
        f.startswith(
            f"flow.yaml:{line_of(text, 'options: []')}: question 'accountable' has no options"
        )
        for f in found
    ), found


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        pytest.param(
            "start: about",
            "start: abut",
            "start:",
            "start question 'abut' is not defined (did you mean 'about'?)",
            id="unknown-start",
        ),
        pytest.param(
            "goto: accountable",
            "goto: acountable",
            "acountable",
            "unknown question 'acountable' (did you mean 'accountable'?)",
            id="unknown-goto",
        ),
        pytest.param(
            "next: result",
            "next: results",
            "results",
            "unknown question 'results'",
            id="unknown-option-next",
        ),
        pytest.param(
            "{fact: open, is: no}",
            "{fact: opened, is: no}",
            "opened",
            "unknown fact 'opened' (did you mean 'open'?)",
            id="unknown-fact",
        ),
        pytest.param(
            "{fact: open, is: no}",
            "{fact: open, is: maybe}",
            "maybe",
            "fact 'open' never has the value 'maybe' (it can be: no, yes)",
            id="unknown-value",
        ),
        pytest.param(
            "{fact: open, is: no}",
            "{fact: open, has: no}",
            "open, has: no",
            "'has' tests a multi-select answer",
            id="has-on-choice",
        ),
        pytest.param(
            "{fact: resources, has: none}",
            "{fact: resources, is: none}",
            "is: none",
            "'resources' is a multi-select answer",
            id="is-on-multi",
        ),
        pytest.param(
            "{fact: open, is: no}",
            "{fact: open, is: no, in: [yes]}",
            "in: [yes]",
            "a condition needs exactly one of",
            id="two-forms",
        ),
        pytest.param(
            "{fact: open, is: no}",
            "{is: no}",
            "{is: no}",
            "'is' needs a 'fact' to test",
            id="no-fact",
        ),
        pytest.param(
            "      - id: staff",
            "      - id: budget",
            ("id: budget", 2),
            "duplicate option id 'budget'",
            id="duplicate-option",
        ),
        pytest.param(
            "  - id: accountable",
            "  - id: open",
            ("id: open", 2),
            "duplicate question id 'open'",
            id="duplicate-question",
        ),
        pytest.param(
            "  - id: otherwise",
            "  - id: closed",
            ("id: closed", 2),
            "duplicate outcome id 'closed'",
            id="duplicate-outcome",
        ),
        pytest.param(
            "id: mini",
            "id: other",
            "id: other",
            "flow id 'other' differs from the file name 'mini'",
            id="id-not-file-name",
        ),
        pytest.param(
            "    title: mini.k.title",
            "    title: mini.k.titel",
            "mini.k.titel",
            "text 'mini.k.titel' is missing in content/en/",
            id="missing-text",
        ),
        pytest.param(
            "        exclusive: true",
            "        exclusive: true\n        next: accountable",
            "next: accountable",
            "only options of a choice question can have next",
            id="next-on-multi-option",
        ),
        pytest.param(
            "  - id: otherwise\n    recommend: consult",
            "  - id: otherwise\n    when: {fact: open, is: yes}\n    recommend: consult",
            "open, is: yes}",
            "the last outcome 'otherwise' must have no 'when'",
            id="no-default",
        ),
        pytest.param(
            "  - id: closed\n    when: {fact: open, is: no}\n",
            "  - id: closed\n",
            "id: closed",
            "outcome 'closed' has no 'when' but is not the last rule",
            id="default-not-last",
        ),
        pytest.param(
            "      - goto: accountable",
            "      - goto: resources",
            ("    next:", 2),
            "questions loop back: resources -> resources",
            id="loop",
        ),
        pytest.param(
            "    kind: text\n",
            "    kind: text\n    options: [{id: a, label: mini.s}]\n",
            "options: [{id: a",
            "text question 'about' cannot have options",
            id="text-with-options",
        ),
    ],
)
def test_reference_errors_name_the_line(
    old: str, new: str, marker: str | tuple[str, int], expected: str
) -> None:
    """Each reference mistake is reported at its line with what is wrong and a hint."""
    text = edit(old, new)
    found = errors_of(text)
    at = line_of(text, *marker) if isinstance(marker, tuple) else line_of(text, marker)
    want = f"flow.yaml:{at}: {expected}"
    assert any(f.startswith(want) for f in found), f"wanted {want!r} in {found}"


def test_missing_recommendation_for_a_level() -> None:
    """An outcome may only recommend a level the flow says something about."""
    text = edit(
        "  inform: {label: mini.level.inform, summary: mini.s, ladder: mini.s, spectrum: mini.s}\n",
        "",
    )
    found = errors_of(text)
    at = line_of(text, "recommend: inform")
    want = f"flow.yaml:{at}: 'inform' has no entry under recommendations"
    assert any(f.startswith(want) for f in found), found


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        pytest.param("id: mini\nversion: [1\n", 3, "not valid YAML", id="syntax"),
        pytest.param(
            "id: &a mini\ntitle: *a\n", 2, "YAML aliases (*name) are not allowed", id="alias"
        ),
        pytest.param("id: mini\nid: again\n", 2, "duplicate key 'id'", id="duplicate-key"),
        pytest.param(
            "x:\n  <<: {a: 1}\n",
            2,
            "YAML merge keys (<<) are not allowed",
            id="merge-key",
        ),
        pytest.param("- just\n- a list\n", 1, "a flow file must be a mapping", id="not-a-mapping"),
        pytest.param("id: mini\x00\n", 1, "file contains a NUL byte", id="nul-byte"),
        pytest.param(
            "a:\n" + "".join("  " * i + "- \n" for i in range(1, MAX_DEPTH + 5)),
            None,
            "nested too deeply",
            id="deep",
        ),
    ],
)
def test_unreadable_yaml_is_a_finding_not_a_traceback(
    text: str, line: int | None, expected: str
) -> None:
    """Broken YAML becomes one clear finding at the right line."""
    found = errors_of(text)
    assert any(
        expected in f and (line is None or f.startswith(f"flow.yaml:{line}:")) for f in found
    ), found


def test_alias_bomb_is_refused_quickly() -> None:
    """A billion-laughs document is refused at its first alias, in well under a second."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.process_time()
    found = errors_of("\n".join(lines))
    assert time.process_time() - started < 1.0
    assert found == [
        "flow.yaml:2: YAML aliases (*name) are not allowed (write the value out in full)"
    ]


def test_oversized_file_is_refused_before_parsing() -> None:
    """A file over the size limit is refused without being parsed."""
    found = errors_of("x: " + "y" * MAX_BYTES)
    assert found == [f"flow.yaml:1: file is larger than {MAX_BYTES // 1024} KiB (split it up)"]


def test_duplicate_text_ids_across_content_files() -> None:
    """The same text id in two content files is an error naming both places."""
    found = errors_of(mini_text(), **{"extra.yaml": "x: 1\nmini:\n  title: Again\n"})
    assert any(
        f.startswith("extra.yaml:3: duplicate text id 'mini.title' (first at mini.yaml:2)")
        for f in found
    ), found


def test_empty_text_is_refused() -> None:
    """A text id with no text would show a blank message, so it is refused."""
    found = errors_of(mini_text(), **{"extra.yaml": "other:\n  blank: ''\n"})
    assert "extra.yaml:2: text 'other.blank' must be non-empty text (quote it)" in found


def test_duplicate_flow_ids_across_files() -> None:
    """Two files declaring the same flow id are refused, naming the first."""
    texts = [
        Source(
            "mini.yaml",
            (__import__("support").MINI / "content/en/mini.yaml").read_text(),
            locale="en",
        )
    ]
    report = load([Source("a.yaml", mini_text()), Source("b.yaml", mini_text())], texts)
    assert report.catalog is None
    assert any(
        str(f).startswith("b.yaml:2: duplicate flow id 'mini' (also in a.yaml)")
        for f in report.findings
    )


def test_unwrap_raises_flow_error_with_every_finding() -> None:
    """A failed load raised as FlowError carries all of its findings in its message."""
    report = load_flow_text(edit("start: about", "start: nowhere"))
    with pytest.raises(FlowError) as caught:
        report.unwrap()
    assert "flow.yaml:6: start question 'nowhere' is not defined" in str(caught.value)


def unreachable_accountable() -> str:
    """The mini flow with its last question cut off from every path."""
    return mini_text().replace("      - goto: accountable", "      - goto: result")


def test_unreachable_question_is_an_error() -> None:
    """A question no path reaches stops the load, so /reload cannot put it live."""
    text = unreachable_accountable()
    assert errors_of(text) == [
        f"flow.yaml:{line_of(text, '- id: accountable')}: question 'accountable' "
        "can never be reached (point a next at it, or remove it)"
    ]


def test_unused_text_is_a_warning() -> None:
    """A text no flow or bot message uses is reported where it is written."""
    report = load_flow_text(mini_text(), {"extra.yaml": "spare:\n  text: Never shown.\n"})
    assert report.catalog is not None
    assert [str(f) for f in report.findings] == [
        "extra.yaml:2: warning: text 'spare.text' is not used by any flow or by the bot "
        "(remove it, or use its id in a flow)"
    ]


def test_telegram_limits_are_checked() -> None:
    """A label too long for a button and a text too long for a message are errors; a
    label only warns with --lenient, while drafting."""
    content = (MINI / "content/en/mini.yaml").read_text()
    content = content.replace("budget: A budget", "budget: " + "A very long budget label " * 4)
    content = content.replace("s: Summary text.", "s: " + "Long. " * 700)
    for lenient in (False, True):
        report = load(
            [Source("mini.yaml", mini_text(), stem="mini")],
            [
                Source("mini.yaml", content, locale="en"),
                Source("ui.yaml", UI_FILE.read_text(), locale="en"),
            ],
            required_texts=[u.value for u in UI],
            lenient=lenient,
        )
        found = [str(f) for f in report.findings]
        label = "warning: " if lenient else ""
        assert any(
            f.startswith(f"mini.yaml:12: {label}button label 'mini.o.budget' (en) is 99 characters")
            for f in found
        ), found
        assert any(
            "text 'mini.s' is 4199 characters; one Telegram message holds 4096" in f for f in found
        )
        assert report.catalog is None


def load_with_mini_texts(mini_texts: str) -> list[Finding]:
    """The findings of the mini flow loaded with ``mini_texts`` as its English wording."""
    report = load(
        [Source("mini.yaml", mini_text(), stem="mini")],
        [
            Source("content/en/mini.yaml", mini_texts, locale="en"),
            Source("content/en/ui.yaml", UI_FILE.read_text(encoding="utf-8"), locale="en"),
        ],
        required_texts=[u.value for u in UI],
    )
    assert report.catalog is None
    return report.findings


MINI_TEXTS = (MINI / "content" / "en" / "mini.yaml").read_text(encoding="utf-8")


def test_colon_in_a_text_is_one_error_with_the_fix() -> None:
    """A ': ' inside a text is one error naming the fix, not a flood of 'text is missing'."""
    broken = MINI_TEXTS.replace("open: Is it open?", "open: Note: is it open?")
    at = line_of(broken, "Note: is it open?")
    found = load_with_mini_texts(broken)
    assert [str(f) for f in found if f.severity is Severity.ERROR] == [
        f"content/en/mini.yaml:{at}: this text contains ': '. Put the whole text in double quotes."
    ]
    assert [str(f) for f in found if f.severity is Severity.WARNING] == [
        "content/en/mini.yaml:1: warning: the texts in content/en/ were not checked against the "
        "flows, because content/en/mini.yaml could not be read (fix the error in that file, "
        "then check again)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        pytest.param(
            "  s: Summary text.",
            "  s: 'It's a summary.'",
            "It's a summary",
            "this text starts with ' and has another ' inside it, which ends it early. For each "
            "' inside the text, write it as '' (two single quotes), or put the whole text in "
            "double quotes.",
            id="apostrophe",
        ),
        pytest.param(
            "    open: Is it open?",
            "\topen: Is it open?",
            "open: Is it open?",
            "this line is indented with a tab. YAML needs spaces: replace the tab with spaces.",
            id="tab",
        ),
        pytest.param(
            "  s: Summary text.",
            '  s: "Summary text.',
            '"Summary text.',
            'this text opens a quote (") that is never closed. Add the closing " at the end of '
            "the text.",
            id="unclosed-quote",
        ),
        pytest.param(
            "  s: Summary text.",
            "  s: Summary text that goes on\n  to a second line without >-.",
            "to a second line",
            "this line is neither 'key: text' nor part of the text above it. If the text above "
            "goes on here, write >- after its key and indent each of its lines by two spaces.",
            id="multi-line",
        ),
    ],
)
def test_yaml_slips_in_texts_are_told_in_plain_words(
    old: str, new: str, marker: str, expected: str
) -> None:
    """Each usual slip in a text file is one error, at the line to change, with the fix."""
    assert old in MINI_TEXTS
    broken = MINI_TEXTS.replace(old, new)
    found = [str(f) for f in load_with_mini_texts(broken) if f.severity is Severity.ERROR]
    assert found == [f"content/en/mini.yaml:{line_of(broken, marker)}: {expected}"]
