"""A result a person can keep: a picture of where the advice sits, and a PDF of it all.

Both are pure: words in (already in the person's language), bytes out, with
no files written and no dates stamped, so the same result always gives the
same bytes. matplotlib draws the picture and fpdf2 lays out the PDF; both are
imported only when a report is made, so importing this module stays cheap.
The two share one Unicode font, the DejaVu Sans that matplotlib ships, which
has Welsh letters (ŵ, ŷ, â …) and the symbols the renderer uses (→, ⚠, •).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.render import Block, BlockKind

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

__all__ = ["PICTURE_SIZE", "result_pdf", "result_picture"]

PICTURE_SIZE = (1200, 600)
"""The picture's width and height in pixels."""

_DPI = 100
WARNING = "⚠"

# One hue, light to mid, for the three steps: they differ only as places on a
# scale, so no step is coloured as good or bad.
_STEP_FILLS = ("#e4ebf3", "#c3d2e3", "#a2b9d3")
_INK = "#1c2733"
_MUTED = "#4a5868"
_EDGE = "#8a9bb0"
_MARK = "#1c2733"
_CAUTION_INK = "#8a4b00"
_CAUTION_PANEL = "#f7f4ef"

# Picture layout, in pixels from the bottom left.
_MARGIN = 40
_STEP_HEIGHT = 150
_CHEVRON = 34
_TITLE_PT = 26
_LABEL_PT = (22, 20, 18, 16, 14)
_CAUTION_PT = (19, 17, 15, 13)


def _font_file(bold: bool = False) -> Path:
    """DejaVu Sans as matplotlib ships it, regular or bold."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def result_picture(
    levels: Sequence[tuple[str, str]],
    chosen: str,
    cautions: Sequence[str],
    title: str,
) -> bytes:
    """A PNG of the scale of levels with the chosen one marked and the cautions beside it.

    ``levels`` gives each level's id and label in scale order (inform, consult,
    co-produce), ``chosen`` the id of the recommended one, ``cautions`` the
    short caution titles and ``title`` the line across the top; all words come
    already translated, and the picture adds none of its own.
    """
    ids = [level_id for level_id, _ in levels]
    if not levels:
        raise ValueError("no levels to draw")
    if chosen not in ids:
        raise ValueError(f"chosen level {chosen!r} is not one of {ids}")

    # The figure and its Agg canvas directly, not pyplot: no global figure
    # registry or backend switch, so pictures can be made from any thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = PICTURE_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.set_axis_off()
    pen = _Pen(axes, canvas.get_renderer())

    # The title across the top, at most two lines.
    title_font = pen.font(_TITLE_PT, bold=True)
    title_lines = pen.wrap(title, width - 2 * _MARGIN, title_font, max_lines=2)
    bottom = pen.lines(_MARGIN, height - 30, title_lines, title_font, color=_INK)
    top = bottom - 30

    scale_right = 700 if cautions else width - _MARGIN
    _draw_scale(pen, levels, chosen, _MARGIN, scale_right, top)
    if cautions:
        _draw_cautions(pen, cautions, 740, width - _MARGIN, top)

    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


class _Pen:
    """Draws wrapped text line by line on a pixel-scaled axes, measured as Agg renders it."""

    def __init__(self, axes: Any, renderer: RendererAgg) -> None:
        self.axes = axes
        self.renderer = renderer
        self.regular = str(_font_file())
        self.bold = str(_font_file(bold=True))

    def font(self, size: float, bold: bool = False) -> FontProperties:
        from matplotlib.font_manager import FontProperties

        return FontProperties(fname=self.bold if bold else self.regular, size=size)

    def width(self, text: str, prop: FontProperties) -> float:
        return self.renderer.get_text_width_height_descent(text, prop, ismath=False)[0]

    def cap(self, prop: FontProperties) -> float:
        """The height of a capital letter, in pixels."""
        return self.renderer.get_text_width_height_descent("H", prop, ismath=False)[1]

    def step(self, prop: FontProperties) -> float:
        """The distance between baselines, in pixels."""
        return prop.get_size_in_points() * _DPI / 72 * 1.25

    def wrap(self, text: str, width: float, prop: FontProperties, max_lines: int = 0) -> list[str]:
        """``text`` broken at spaces into lines no wider than ``width`` where possible."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            current = ""
            for word in paragraph.split():
                trial = f"{current} {word}" if current else word
                if current and self.width(trial, prop) > width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            lines.append(current)
        if max_lines and len(lines) > max_lines:
            last = lines[max_lines - 1]
            while last and self.width(last + " …", prop) > width:
                last = last.rpartition(" ")[0] or last[:-1]
            lines = [*lines[: max_lines - 1], last + " …"]
        return lines

    def text(self, x: float, y: float, text: str, prop: FontProperties, **style: Any) -> None:
        """One line with its baseline at ``y``; the words are never read as maths."""
        self.axes.text(x, y, text, fontproperties=prop, parse_math=False, va="baseline", **style)

    def lines(
        self, x: float, top: float, lines: Sequence[str], prop: FontProperties, **style: Any
    ) -> float:
        """Lines from ``top`` down, capitals touching ``top``; returns the last baseline."""
        baseline = top - self.cap(prop)
        for number, line in enumerate(lines):
            if number:
                baseline -= self.step(prop)
            self.text(x, baseline, line, prop, **style)
        return baseline


def _draw_scale(
    pen: _Pen, levels: Sequence[tuple[str, str]], chosen: str, left: float, right: float, top: float
) -> None:
    """The levels as chevrons of one size in a row, the chosen one outlined and pointed at."""
    from matplotlib.patches import Polygon

    count = len(levels)
    gap = 10
    step_width = (right - left - gap * (count - 1)) / count
    middle = min(top - 70 - _STEP_HEIGHT / 2, PICTURE_SIZE[1] / 2 - 10)
    low, high = middle - _STEP_HEIGHT / 2, middle + _STEP_HEIGHT / 2
    for index, (level_id, label) in enumerate(levels):
        x0 = left + index * (step_width + gap)
        x1 = x0 + step_width
        notch = _CHEVRON if index > 0 else 0
        tip = _CHEVRON if index < count - 1 else 0
        outline = [(x0, low), (x1 - tip, low), (x1, middle), (x1 - tip, high), (x0, high)]
        outline.append((x0 + notch, middle))
        picked = level_id == chosen
        fill = _STEP_FILLS[round(index * (len(_STEP_FILLS) - 1) / max(count - 1, 1))]
        pen.axes.add_patch(
            Polygon(
                outline,
                closed=True,
                facecolor=fill,
                edgecolor=_MARK if picked else _EDGE,
                linewidth=5 if picked else 1.2,
                joinstyle="round",
                zorder=3 if picked else 2,
            )
        )
        # The label in the body of the chevron, smaller if a word would not fit.
        inner = step_width - max(notch, tip) * 2 - 8
        for size in _LABEL_PT:
            prop = pen.font(size, bold=picked)
            lines = pen.wrap(label, inner, prop, max_lines=3)
            if max(pen.width(line, prop) for line in lines) <= inner:
                break
        centre = x0 + step_width / 2 + (notch - tip) / 2
        block = (len(lines) - 1) * pen.step(prop) + pen.cap(prop)
        pen.lines(
            centre,
            middle + block / 2,
            lines,
            prop,
            color=_INK if picked else _MUTED,
            ha="center",
            zorder=4,
        )
        if picked:
            # A pointer above and a bar below the chosen step, so it stands out
            # without colour: in greyscale and for colour-blind readers too.
            pen.axes.add_patch(
                Polygon(
                    [(centre - 26, high + 52), (centre + 26, high + 52), (centre, high + 14)],
                    closed=True,
                    facecolor=_MARK,
                    edgecolor=_MARK,
                    zorder=4,
                )
            )
            pen.axes.plot(
                [x0 + notch + 6, x1 - tip - 6],
                [low - 22, low - 22],
                color=_MARK,
                linewidth=7,
                solid_capstyle="round",
                zorder=4,
            )


def _draw_cautions(
    pen: _Pen, cautions: Sequence[str], left: float, right: float, top: float
) -> None:
    """The cautions in a panel, each after a warning sign, smaller type if many; ``+n`` for more."""
    from matplotlib.patches import FancyBboxPatch

    pad = 18
    sign_width = 40
    text_width = right - left - 2 * pad - sign_width
    room = top - _MARGIN - 2 * pad
    for size in _CAUTION_PT:
        prop = pen.font(size)
        step = pen.step(prop)
        gap = step * 0.45
        wrapped = [pen.wrap(c, text_width, prop, max_lines=3) for c in cautions]
        shown = _fit(wrapped, step, gap, pen.cap(prop), room)
        if shown == len(cautions):
            break
    extra = len(cautions) - shown
    heights = [(len(lines) - 1) * step + pen.cap(prop) for lines in wrapped[:shown]]
    if extra:
        heights.append(pen.cap(prop))
    used = sum(heights) + gap * (len(heights) - 1)
    bottom = top - used - 2 * pad - 6
    pen.axes.add_patch(
        FancyBboxPatch(
            (left, bottom),
            right - left,
            top - bottom,
            boxstyle="round,pad=0,rounding_size=14",
            facecolor=_CAUTION_PANEL,
            edgecolor="#d9d0c3",
            linewidth=1.2,
            zorder=1,
        )
    )
    sign = pen.font(size + 3, bold=True)
    y = top - pad
    for lines, high in zip(wrapped[:shown], heights, strict=False):
        baseline = y - pen.cap(prop)
        pen.text(left + pad, baseline, WARNING, sign, color=_CAUTION_INK, zorder=2)
        pen.lines(left + pad + sign_width, y, lines, prop, color=_INK, zorder=2)
        y -= high + gap
    if extra:
        more = pen.font(size, bold=True)
        pen.lines(left + pad + sign_width, y, [f"+{extra}"], more, color=_MUTED, zorder=2)


def _fit(wrapped: list[list[str]], step: float, gap: float, cap: float, room: float) -> int:
    """How many wrapped cautions fit in ``room``, keeping a line for ``+n`` if some don't."""
    used = 0.0
    for shown, lines in enumerate(wrapped):
        need = (len(lines) - 1) * step + cap + (gap if shown else 0)
        rest = len(wrapped) - shown - 1
        if used + need + (gap + cap if rest else 0) > room:
            return shown
        used += need
    return len(wrapped)


# --- PDF -----------------------------------------------------------------

_FAMILY = "DejaVu"
_PAGE_MARGIN = 18.0
"""Left, right and bottom margins in millimetres."""
_SIZES = {BlockKind.TITLE: 20.0, BlockKind.HEADING: 13.0, BlockKind.PARAGRAPH: 11.0}
_BULLET = "•"
_FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_KEEP_WITH_NEXT = 28.0
"""Room in millimetres a heading needs below it, or it starts a new page."""


def result_pdf(
    title: str,
    blocks: Sequence[Block],
    picture: bytes | None,
    answers_heading: str | None = None,
) -> bytes:
    """An A4 PDF of the result: ``title``, the blocks in order, the picture and page numbers.

    ``title`` names the document (its metadata and the line above the blocks,
    unless the first block says the same). The picture, if any, goes after the
    opening title and summary. ``answers_heading`` is the heading text of the
    answers section, when there is one: the list under it is laid out as a
    two-column table of questions and answers instead of ``question → answer``
    bullets.
    """
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class _Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(_FAMILY, size=9)
            self.set_text_color(110, 120, 130)
            self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="C")

    pdf = _Document(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(_FAMILY, "", str(_font_file()))
    pdf.add_font(_FAMILY, "B", str(_font_file(bold=True)))
    pdf.set_margins(_PAGE_MARGIN, 16, _PAGE_MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_PAGE_MARGIN)
    pdf.alias_nb_pages()
    pdf.set_title(title)
    pdf.set_creator("Engagement Advisor")
    pdf.set_producer("Engagement Advisor")
    # fpdf2 always writes a creation date; a fixed one (rather than now) makes
    # the same result give the same bytes, file id included.
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_page()

    def text(kind: BlockKind, body: str, *, colour: tuple[int, int, int] = (28, 39, 51)) -> None:
        size = _SIZES[kind]
        pdf.set_font(_FAMILY, "" if kind is BlockKind.PARAGRAPH else "B", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, size * 0.5, body, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def marked(marker: str, body: str, size: float, bold: bool, marker_colour: tuple) -> None:
        indent = size * 0.6
        pdf.set_font(_FAMILY, "B" if bold else "", size)
        pdf.set_text_color(*marker_colour)
        pdf.cell(indent, size * 0.5, marker)
        pdf.set_text_color(28, 39, 51)
        pdf.multi_cell(0, size * 0.5, body, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    blocks = list(blocks)
    if not blocks or blocks[0].kind is not BlockKind.TITLE or blocks[0].text != title:
        text(BlockKind.HEADING, title, colour=(74, 88, 104))
        pdf.ln(2)
    # The picture goes after the opening title and its summary, before the first heading.
    place = next((i for i, b in enumerate(blocks) if b.kind is BlockKind.HEADING), len(blocks))
    in_answers = False
    for index, block in enumerate(blocks):
        if index == place and picture:
            _image(pdf, picture)
        if block.kind is BlockKind.TITLE:
            text(BlockKind.TITLE, block.text)
            pdf.ln(3)
        elif block.kind is BlockKind.HEADING:
            if pdf.will_page_break(_KEEP_WITH_NEXT):
                pdf.add_page()
            in_answers = answers_heading is not None and block.text == answers_heading
            if block.text.startswith(WARNING):
                pdf.ln(1)
                marked(WARNING, block.text.removeprefix(WARNING).lstrip(), 12, True, (138, 75, 0))
            else:
                pdf.ln(4)
                text(BlockKind.HEADING, block.text)
            pdf.ln(1.5)
        elif block.kind is BlockKind.PARAGRAPH:
            text(BlockKind.PARAGRAPH, block.text)
            pdf.ln(2)
        elif in_answers:
            _answers_table(pdf, block.items)
            pdf.ln(2)
        else:
            for item in block.items:
                marked(_BULLET, item, 11, False, (74, 88, 104))
                pdf.ln(1.2)
            pdf.ln(1)
    if place == len(blocks) and picture:
        _image(pdf, picture)
    return bytes(pdf.output())


def _image(pdf: Any, picture: bytes) -> None:
    """The picture across the page width, on a new page if it doesn't fit."""
    from PIL import Image

    with Image.open(io.BytesIO(picture)) as image:
        ratio = image.height / image.width
    width = pdf.epw
    height = width * ratio
    if pdf.will_page_break(height + 4):
        pdf.add_page()
    pdf.ln(2)
    pdf.image(io.BytesIO(picture), x=pdf.l_margin, w=width, h=height)
    pdf.ln(4)


def _answers_table(pdf: Any, items: Sequence[str]) -> None:
    """``question → answer`` items as a two-column table."""
    from fpdf.fonts import FontFace

    pdf.set_font(_FAMILY, "", 10)
    pdf.set_text_color(28, 39, 51)
    pdf.set_draw_color(200, 208, 218)
    with pdf.table(
        col_widths=(58, 42),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        line_height=5,
        padding=(1.6, 2, 1.6, 0),
        text_align="LEFT",
    ) as table:
        for item in items:
            question, _, answer = item.partition(" → ")
            row = table.row()
            row.cell(question, style=FontFace(color=(74, 88, 104)))
            row.cell(answer)
