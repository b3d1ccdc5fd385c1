"""Flow pictures: Graphviz lays out the DOT that ``bot.flows.graph`` writes.

The layout is Graphviz's ``dot`` (Debian's ``graphviz`` package), a
well-kept renderer, never boxes placed by hand. Running it is I/O (a child
process), so it lives here at the edge and the flow format stays pure. The
CLI (``flows graph --format svg|html``, ``make docs``) and the studio both
draw through this module.
"""

from __future__ import annotations

import html
import shutil
import subprocess

from bot.flows.findings import AdvisorError

INSTALL_HINT = "install Graphviz: apt-get install graphviz (or brew install graphviz)"

DOT_TIMEOUT = 30.0
"""Seconds one layout may take; a flow of a few dozen questions takes well under one."""


class PictureError(AdvisorError):
    """Graphviz is missing or refused the diagram; the message says which."""


def graphviz_available() -> bool:
    """Whether ``dot`` is on the PATH."""
    return shutil.which("dot") is not None


def svg(dot: str) -> str:
    """The SVG Graphviz draws for ``dot`` text; ``PictureError`` if it cannot."""
    program = shutil.which("dot")
    if program is None:
        raise PictureError(f"Graphviz's dot was not found; {INSTALL_HINT}")
    try:
        run = subprocess.run(
            [program, "-Tsvg"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PictureError(f"Graphviz took longer than {DOT_TIMEOUT:.0f} s") from None
    if run.returncode != 0:
        raise PictureError(f"Graphviz failed: {run.stderr.decode('utf-8', 'replace').strip()}")
    return run.stdout.decode("utf-8")


def svg_element(picture: str) -> str:
    """Graphviz's SVG from its ``<svg>`` on: inline SVG in HTML needs no XML prologue."""
    start = picture.find("<svg")
    return picture[start:] if start >= 0 else picture


def standalone(picture: str, title: str) -> str:
    """An SVG in a page of its own, for ``--format html``: opens in any browser."""
    body = svg_element(picture)
    name = html.escape(title)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{name}</title>\n"
        "<style>body{font-family:sans-serif;margin:1rem}svg{max-width:100%;height:auto}</style>\n"
        f"</head>\n<body>\n<h1>{name}</h1>\n{body}</body>\n</html>\n"
    )
