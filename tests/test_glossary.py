"""The glossary: Welsh mutation rules, the check, and `flows check` reporting it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.flows.content import TextEntry, collect_texts
from bot.flows.findings import Severity
from bot.flows.glossary import check_glossary, mutations, read_glossary, term_pattern
from bot.flows.yamltext import parse

from test_terminal import ROOT, run_cli

CONTENT = ROOT / "content"


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("cynnig", {"cynnig", "gynnig", "nghynnig", "chynnig"}),
        ("pobl", {"pobl", "bobl", "mhobl", "phobl"}),
        ("testun", {"testun", "destun", "nhestun", "thestun"}),
        ("gwaith", {"gwaith", "waith", "ngwaith"}),
        ("barn", {"barn", "farn", "marn"}),
        ("dyletswydd", {"dyletswydd", "ddyletswydd", "nyletswydd"}),
        ("llais", {"llais", "lais"}),
        ("mynediad", {"mynediad", "fynediad"}),
        ("rhan", {"rhan", "ran"}),
        ("adborth", {"adborth", "hadborth"}),
        ("chwarae", {"chwarae"}),
        ("ffordd", {"ffordd"}),
        ("sefydliad", {"sefydliad"}),
    ],
)
def test_mutation_rules(word: str, forms: set[str]) -> None:
    """Radical, soft, nasal and aspirate forms; ch, ff and s never mutate."""
    assert mutations(word) == forms


def test_mutations_of_the_core_term_and_case() -> None:
    """The review's forms of cydgynhyrchu, whatever the case of the radical."""
    assert mutations("Cydgynhyrchu") == {
        "cydgynhyrchu",
        "gydgynhyrchu",
        "nghydgynhyrchu",
        "chydgynhyrchu",
    }


GLOSSARY = """\
terms:
  - en: [co-produc*]
    cy: [cydgynhyrch*]
    forbidden: [cyd-gynhyrch*]
  - en: [interpreters]
    cy: [cyfieithwyr ar y pryd, dehonglwyr]
    forbidden: [cyfieithwyr]
"""


def entries(texts: dict[str, str]) -> dict[str, TextEntry]:
    return {k: TextEntry(v, "cy.yaml", i + 1) for i, (k, v) in enumerate(texts.items())}


def findings_for(welsh: dict[str, str], english: dict[str, str]) -> list[str]:
    glossary, problems = read_glossary("glossary.yaml", parse(GLOSSARY))
    assert problems == []
    return [str(f) for f in check_glossary(glossary, entries(welsh), entries(english))]


def test_forbidden_variant_in_any_mutated_form_is_an_error() -> None:
    """cyd-gynhyrchu is refused as gyd-gynhyrchu too, with the text's line."""
    found = findings_for(
        {"a": "Gallai hyn droi'n gydgynhyrchu.", "b": "Mae'n cael ei gyd-gynhyrchu."},
        {"a": "This could become co-production.", "b": "It is co-produced."},
    )
    assert len(found) == 1
    assert found[0].startswith("cy.yaml:2: 'gyd-gynhyrchu' in 'b'")


def test_a_variant_inside_the_longer_term_is_fine() -> None:
    """cyfieithwyr alone is wrong; cyfieithwyr ar y pryd (or its mutation) is right."""
    english = {"a": "interpreters and childcare", "b": "interpreters or care"}
    ok = findings_for(
        {"a": "cyfieithwyr ar y pryd a gofal plant", "b": "gofal neu gyfieithwyr ar y pryd"},
        english,
    )
    assert ok == []
    bad = findings_for({"a": "cyfieithwyr a gofal plant", "b": "gofal"}, english)
    assert any(f.startswith("cy.yaml:1: 'cyfieithwyr' in 'a'") for f in bad)


def test_missing_term_is_a_warning_naming_the_english() -> None:
    """The English uses the term, the Welsh uses none of its forms: a warning."""
    glossary, _ = read_glossary("glossary.yaml", parse(GLOSSARY))
    found = check_glossary(
        glossary,
        entries({"a": "Gweithio gyda'n gilydd.", "b": "Ceisio nghydgynhyrchu."}),
        entries({"a": "Co-production, really.", "b": "Co-production."}),
    )
    assert [(f.line, f.severity) for f in found] == [(1, Severity.WARNING)]
    assert "the English says 'Co-production'" in found[0].message


def test_malformed_entries_are_reported_with_their_line() -> None:
    """An entry without Welsh, or with an unknown field, is a finding, not a crash."""
    text = "terms:\n  - en: [decision]\n  - en: [x]\n    cy: [y]\n    welsh: [z]\n"
    glossary, problems = read_glossary("glossary.yaml", parse(text))
    assert [p.line for p in problems] == [2, 3]
    assert len(glossary.terms) == 1
    _, problems = read_glossary("glossary.yaml", parse("- just a list\n"))
    assert "terms:" in problems[0].message


def shipped(locale: str) -> dict[str, TextEntry]:
    into: dict[str, TextEntry] = {}
    for path in sorted((CONTENT / locale).glob("*.yaml")):
        collect_texts(path.name, parse(path.read_text(encoding="utf-8")), into, [])
    return into


def test_shipped_welsh_follows_the_glossary() -> None:
    """No forbidden variant and no missing term, warnings included."""
    text = (CONTENT / "glossary.yaml").read_text(encoding="utf-8")
    glossary, problems = read_glossary("glossary.yaml", parse(text))
    assert problems == []
    assert len(glossary.terms) >= 10
    assert [str(f) for f in check_glossary(glossary, shipped("cy"), shipped("en"))] == []


def test_flows_check_reports_a_welsh_text_spelt_cyd_gynhyrchu(project: Path) -> None:
    """One Welsh text changed to cyd-gynhyrchu: flows check fails at its file:line."""
    plan = project / "content" / "cy" / "plan.yaml"
    lines = plan.read_text(encoding="utf-8").splitlines()
    key = next(i for i, line in enumerate(lines) if line.startswith("plan.reason.not_ready:"))
    at = next(i for i in range(key, len(lines)) if "nid cydgynhyrchu" in lines[i])
    lines[at] = lines[at].replace("nid cydgynhyrchu", "nid cyd-gynhyrchu")
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli(["flows", "check", str(project)], cwd=project)
    assert done.returncode == 1, done.stdout
    assert f"content/cy/plan.yaml:{key + 1}: 'cyd-gynhyrchu' in 'plan.reason.not_ready'" in (
        done.stderr
    )


def shipped_glossary():
    text = (CONTENT / "glossary.yaml").read_text(encoding="utf-8")
    glossary, problems = read_glossary("glossary.yaml", parse(text))
    assert problems == []
    return glossary


def spans(file: str, texts: dict[str, TextEntry]) -> dict[str, tuple[int, int]]:
    """Each text of ``file``: its first line and the line after its last (1-based)."""
    ordered = sorted((e.line, k) for k, e in texts.items() if e.file == file)
    ends = [line for line, _ in ordered[1:]] + [10**6]
    return {k: (line, end) for (line, k), end in zip(ordered, ends, strict=True)}


# The review's (2026-12-05, section 3) new entries: an English term, its Welsh, and a wrong
# Welsh form. A named wrong form is an error; any other rendering leaves the Welsh without
# the term, a warning.
WRONG_FORMS = [
    ("due regard", "sylw dyledus", "sylw dyladwy", Severity.ERROR),
    ("due regard", "sylw dyledus", "sylw priodol", Severity.WARNING),
    ("handover*", "trosglwydd*", "cymryd drosodd", Severity.ERROR),
    ("trust", "ymddiriedaeth", "ymddiriedolaeth", Severity.ERROR),
    ("engag*", "ymgysyllt*", "dyweddïad", Severity.ERROR),
    ("engag*", "ymgysyllt*", "cyfranogiad", Severity.WARNING),
    ("empower*", "grymus*", "galluogi", Severity.WARNING),
]


@pytest.mark.parametrize(("english", "right", "wrong", "severity"), WRONG_FORMS)
def test_a_wrong_form_injected_into_shipped_welsh_is_found_at_its_line(
    tmp_path: Path, english: str, right: str, wrong: str, severity: Severity
) -> None:
    """The right term in a shipped Welsh text, swapped for a wrong one: a finding at its line."""
    glossary = shipped_glossary()
    welsh, en = shipped("cy"), shipped("en")
    uses_en = re.compile(term_pattern(english, welsh=False), re.IGNORECASE)
    uses_cy = re.compile(term_pattern(right, welsh=True), re.IGNORECASE)
    text_id = next(
        k
        for k, e in welsh.items()
        if not k.endswith(".synonyms")
        and uses_cy.search(e.text)
        and k in en
        and uses_en.search(en[k].text)
    )
    file = welsh[text_id].file
    first, end = spans(file, welsh)[text_id]
    lines = (CONTENT / "cy" / file).read_text(encoding="utf-8").splitlines()
    for i in range(first - 1, min(end - 1, len(lines))):
        lines[i] = uses_cy.sub(wrong, lines[i])
    copy = tmp_path / file
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    changed = {k: e for k, e in welsh.items() if e.file != file}
    collect_texts(file, parse(copy.read_text(encoding="utf-8")), changed, [])
    assert changed[text_id].line == first
    found = [f for f in check_glossary(glossary, changed, en) if f"'{text_id}'" in f.message]
    assert [(f.file, f.line, f.severity) for f in found] == [(file, first, severity)], found
    if severity is Severity.ERROR:
        assert wrong.split()[-1] in found[0].message


def test_the_new_terms_hold_in_the_shipped_welsh() -> None:
    """Each term of the review's section 3 is in the glossary, and each is used somewhere."""
    glossary = shipped_glossary()
    english = {t for term in glossary.terms for t in term.english}
    assert {"due regard", "handover*", "trust", "engag*", "empower*"} <= english
    forbidden = {t for term in glossary.terms for t in term.forbidden}
    assert {"sylw dyladwy", "trosodd", "ymddiriedolaeth*"} <= forbidden


def test_synonym_lists_are_not_held_to_the_glossary() -> None:
    """What people type ("cymryd drosodd") is no text the bot says: no finding."""
    glossary, _ = read_glossary("glossary.yaml", parse(GLOSSARY))
    found = check_glossary(
        glossary,
        entries({"plan.o.x.synonyms": "cyd-gynhyrchu\ncyfieithwyr"}),
        entries({"plan.o.x.synonyms": "co-production\ninterpreters"}),
    )
    assert found == []


def test_flows_check_reports_the_old_sylw_dyladwy_with_the_new_glossary(project: Path) -> None:
    """The tests' frozen Welsh (the wording the review read) fails on A9 at file:line."""
    (project / "content" / "glossary.yaml").write_text(
        (CONTENT / "glossary.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    check = project / "content" / "cy" / "check.yaml"
    lines = check.read_text(encoding="utf-8").splitlines()
    key = next(i for i, line in enumerate(lines) if line.startswith("check.step.equality:"))
    assert "sylw dyladwy" in lines[key + 1]
    done = run_cli(["flows", "check", str(project)], cwd=project)
    assert done.returncode == 1, done.stdout
    assert (
        f"content/cy/check.yaml:{key + 1}: 'sylw dyladwy' in 'check.step.equality'" in done.stderr
    )
