"""The pictures under docs/flows are the flows as they are: an edit that changes a picture
must redraw it, or `make test` fails and says the command that does."""

from __future__ import annotations

from pathlib import Path

from bot.flows.catalog import Catalog
from bot.flows.graph import to_dot
from bot.results.pictures import svg
from bot.sources import PROJECT_ROOT, project_catalog

from support import fixture_catalog

REFRESH = "make docs"


def stale_pictures(catalog: Catalog, folder: Path) -> list[str]:
    """One line per flow whose picture in ``folder`` is missing or differs from a fresh drawing."""
    stale = []
    for flow_id, flow in sorted(catalog.flows.items()):
        path = folder / f"{flow_id}.svg"
        drawn = svg(to_dot(flow.model, catalog.texts.get("en")))
        if not path.is_file() or path.read_text(encoding="utf-8") != drawn:
            shown = path.relative_to(folder.parent.parent)  # docs/flows/<id>.svg
            stale.append(
                f"{shown} is out of date: run `{REFRESH}` (or `python -m bot flows graph {flow_id} "
                f"--format svg --out docs/flows/{flow_id}.svg`) and commit the picture"
            )
    return stale


def test_the_pictures_in_docs_flows_are_up_to_date() -> None:
    stale = stale_pictures(project_catalog(), PROJECT_ROOT / "docs" / "flows")
    assert not stale, "\n".join(stale)


def test_a_stale_picture_is_named_with_the_command_that_redraws_it(tmp_path: Path) -> None:
    catalog = fixture_catalog()
    folder = tmp_path / "docs" / "flows"
    folder.mkdir(parents=True)
    for flow_id, flow in catalog.flows.items():
        (folder / f"{flow_id}.svg").write_text(
            svg(to_dot(flow.model, catalog.texts.get("en"))), encoding="utf-8"
        )
    assert stale_pictures(catalog, folder) == []
    picture = folder / "plan.svg"
    picture.write_text(picture.read_text(encoding="utf-8").replace("</svg>", "<!-- -->\n</svg>"))
    (folder / "check.svg").unlink()
    stale = stale_pictures(catalog, folder)
    assert len(stale) == 2
    assert all("run `make docs`" in line for line in stale)
    assert "docs/flows/plan.svg is out of date" in stale[1]
    assert "--out docs/flows/check.svg" in stale[0]
