"""The glossary: Welsh mutation rules, the check, and `flows check` reporting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.content import TextEntry, collect_texts
from bot.flows.findings import Severity
from bot.flows.glossary import check_glossary, mutations, read_glossary
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
