"""Typed durations, the ``days`` field, and collisions that ``flows check`` reports."""

from __future__ import annotations

from bot.flows.durations import days_in, holds

from support import load_flow_text, mini_text

NUMBERS = {"one": 1, "a": 1, "two": 2, "un ar ddeg": 11, "dau": 2}
UNITS = {"day": 1, "days": 1, "weeks": 7, "months": 30, "year": 365, "fis": 30, "pythefnos": 14}


def test_durations_are_read_only_when_whole() -> None:
    """A count and a unit give days; anything more or less is not a duration."""
    assert days_in("3 months", NUMBERS, UNITS) == 90
    assert days_in("two weeks", NUMBERS, UNITS) == 14
    assert days_in("a year", NUMBERS, UNITS) == 365
    assert days_in("dau fis", NUMBERS, UNITS) == 60
    assert days_in("un ar ddeg fis", NUMBERS, UNITS) == 330
    assert days_in("about 3 months", NUMBERS, UNITS, frozenset({"about"})) == 90
    assert days_in("pythefnos", NUMBERS, UNITS, alone=frozenset({"pythefnos"})) == 14
    for not_one in ("months", "3 to 6 months", "under 2 months", "1 year 2 months", "budget"):
        assert days_in(not_one, NUMBERS, UNITS) is None, not_one


def test_days_ranges_hold_from_but_not_under() -> None:
    assert holds([14, 60], 14)
    assert not holds([14, 60], 60)
    assert holds([180, None], 10_000)
    assert not holds(None, 3)


def with_days(first: str, second: str) -> str:
    """The mini flow with ``days`` on the two options of its choice question 'open'."""
    text = mini_text()
    text = text.replace("label: mini.o.yes\n", f"label: mini.o.yes\n        days: {first}\n", 1)
    return text.replace("label: mini.o.no\n", f"label: mini.o.no\n        days: {second}\n", 1)


def test_overlapping_days_are_an_error_at_the_option() -> None:
    """Two options whose ranges share a day: a duration could mean either."""
    report = load_flow_text(with_days("[0, 90]", "[60, null]"))
    found = [f for f in report.findings if "overlap" in f.message]
    assert found, [str(f) for f in report.findings]
    line = with_days("[0, 90]", "[60, null]").splitlines().index("        days: [60, null]") + 1
    assert (found[0].file, found[0].line) == ("flow.yaml", line)
    assert not [
        f
        for f in load_flow_text(with_days("[0, 90]", "[90, null]")).findings
        if "days" in f.message
    ]


def test_malformed_days_are_errors() -> None:
    for bad in ("[90]", "[90, 30]", "[null, 30]"):
        messages = [f.message for f in load_flow_text(with_days(bad, "[400, null]")).findings]
        assert any("days" in m for m in messages), (bad, messages)


def test_a_colliding_synonym_is_reported_at_its_line() -> None:
    """'yes' on the 'no' option, or a command word such as summary, is an error at its line."""
    content = "mini.o.no.synonyms:\n  - nope\n  - summary\n"
    report = load_flow_text(mini_text(), {"synonyms.yaml": content})
    found = {(f.file, f.line): f.message for f in report.findings if "synonym" in f.message}
    assert ("synonyms.yaml", 3) in found, found
    assert "command word" in found[("synonyms.yaml", 3)]
