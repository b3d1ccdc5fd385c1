"""Flow pictures: Graphviz draws SVG that holds every question and option, from the CLI too."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.flows.catalog import Catalog
from bot.flows.graph import to_dot
from bot.results.pictures import standalone, svg
from bot.sources import PROJECT_ROOT, project_catalog

from support import mini_catalog

SVG_NS = "{http://www.w3.org/2000/svg}"


def drawn_text(picture: str) -> str:
    """Every line of text the SVG shows, one per line; fails if it is not well-formed XML."""
    root = ET.fromstring(picture)
    assert root.tag == f"{SVG_NS}svg"
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def assert_shows_every_question_and_option(catalog: Catalog, locale: str) -> None:
    texts = catalog.texts[locale]
    for flow_id, flow in catalog.flows.items():
        shown = drawn_text(svg(to_dot(flow.model, texts)))
        lines = {line.strip().removeprefix("• ") for line in shown.splitlines()}
        for question in flow.model.questions:
            assert any(line.startswith(question.id) for line in lines), (flow_id, question.id)
            for option in question.options:
                label = " ".join(texts[option.label].split())
                assert label in lines, (flow_id, question.id, option.id, label)


def test_every_shipped_question_and_option_label_is_in_the_svg():
    """Each shipped flow's picture names every question and every option's label."""
    assert_shows_every_question_and_option(project_catalog(), "en")


def test_mini_flow_svg_in_both_places_it_is_drawn():
    catalog = mini_catalog()
    assert_shows_every_question_and_option(catalog, "en")
    shown = drawn_text(svg(to_dot(catalog.flows["mini"].model, catalog.texts["en"])))
    assert "Outcome rules: the first that holds gives the advice" in shown


def test_standalone_page_embeds_the_svg():
    picture = svg(to_dot(mini_catalog().flows["mini"].model))
    page = standalone(picture, "A <title> & more")
    assert page.startswith("<!doctype html>")
    assert "<?xml" not in page
    assert "<svg" in page
    assert "A &lt;title&gt; &amp; more" in page


@pytest.mark.parametrize("form", ["svg", "html"])
def test_cli_writes_a_picture(tmp_path: Path, form: str):
    """`flows graph ID --format svg|html --out FILE` writes a picture a browser shows."""
    flow_id = next(iter(project_catalog().flows))
    out = tmp_path / f"{flow_id}.{form}"
    run = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "graph", flow_id, "--format", form, "--out", out],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    written = out.read_text(encoding="utf-8")
    if form == "svg":
        drawn_text(written)
    else:
        assert "<svg" in written
        assert written.rstrip().endswith("</html>")
