"""A result a person can keep: a picture of where the advice sits, and a PDF of it all.

Both are pure: words in (already in the person's language), bytes out, with
no files written and no clock read, so the same result always gives the
same bytes. matplotlib draws the picture and fpdf2 lays out the PDF; both are
imported only when a report is made, so importing this module stays cheap.
The two share one Unicode font, the DejaVu Sans that matplotlib ships, which
has Welsh letters (ŵ, ŷ, â …) and the symbols the renderer uses (→, ⚠, •).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.advice import engine
from bot.advice.engine import Session
from bot.advice.render import Block, BlockKind, Renderer
from bot.advice.uitext import UI
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.model import Level

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

__all__ = ["PICTURE_SIZE", "result_pdf", "result_picture"]

log = logging.getLogger(__name__)

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
_CHEVRON = 26
_TITLE_PT = 26
_LABEL_PT = (22, 20, 18, 16, 14)
_CAUTION_PT = (18, 16, 14, 12)


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
    # registry to leak into and no process-wide backend switch.
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

    scale_right = 740 if cautions else width - _MARGIN
    _draw_scale(pen, levels, chosen, _MARGIN, scale_right, top)
    if cautions:
        _draw_cautions(pen, cautions, 772, width - _MARGIN, top)

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

    def wrap(
        self,
        text: str,
        width: float,
        prop: FontProperties,
        max_lines: int = 0,
        hyphens: bool = False,
    ) -> list[str]:
        """``text`` broken at spaces (and after hyphens if asked) into lines within ``width``.

        A word wider than ``width`` still gets a line of its own; past
        ``max_lines`` the last line kept ends with an ellipsis.
        """
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            current = ""
            for word in paragraph.split():
                pieces = re.findall(r"[^-]+-+|[^-]+$|-+", word) if hyphens else [word]
                for number, piece in enumerate(pieces):
                    joined = f"{current} {piece}" if current and number == 0 else current + piece
                    if current and self.width(joined, prop) > width:
                        lines.append(current)
                        current = piece
                    else:
                        current = joined
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
    gap = 8
    step_width = (right - left - gap * (count - 1)) / count
    middle = min(top - 70 - _STEP_HEIGHT / 2, PICTURE_SIZE[1] / 2 - 10)
    low, high = middle - _STEP_HEIGHT / 2, middle + _STEP_HEIGHT / 2
    # One size for every label: the largest at which each fits its step on at
    # most two lines, breaking words after hyphens only if none fits without.
    inner = step_width - 1.5 * _CHEVRON - 16
    prop, labels = pen.font(_LABEL_PT[-1], bold=True), [[label] for _, label in levels]
    for hyphens in (False, True):
        sizes = _LABEL_PT if hyphens else [pt for pt in _LABEL_PT if pt >= 18]
        fitted = next((pt for pt in sizes if _labels_fit(pen, levels, pt, inner, hyphens)), None)
        if fitted is not None:
            prop = pen.font(fitted, bold=True)
            labels = [pen.wrap(label, inner, prop, 2, hyphens) for _, label in levels]
            break
    for index, (level_id, _) in enumerate(levels):
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
        lines = labels[index]
        label_font = pen.font(prop.get_size_in_points(), bold=picked)
        centre = x0 + step_width / 2 + (notch - tip / 2) / 2
        block = (len(lines) - 1) * pen.step(label_font) + pen.cap(label_font)
        pen.lines(
            centre,
            middle + block / 2,
            lines,
            label_font,
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


def _labels_fit(
    pen: _Pen, levels: Sequence[tuple[str, str]], size: float, width: float, hyphens: bool
) -> bool:
    """Whether every label fits ``width`` on at most two lines at ``size`` points in bold."""
    prop = pen.font(size, bold=True)
    for _, label in levels:
        lines = pen.wrap(label, width, prop, hyphens=hyphens)
        if len(lines) > 2 or any(pen.width(line, prop) > width for line in lines):
            return False
    return True


def _draw_cautions(
    pen: _Pen, cautions: Sequence[str], left: float, right: float, top: float
) -> None:
    """The cautions in a panel, each after a warning sign, smaller type if many; ``+n`` for more."""
    from matplotlib.patches import FancyBboxPatch

    pad = 16
    sign_width = 34
    text_width = right - left - 2 * pad - sign_width
    room = top - _MARGIN - 2 * pad
    for size in _CAUTION_PT:
        prop = pen.font(size)
        step = pen.step(prop)
        gap = step * 0.7
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
_BULLET = "•"
_FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_RGB_INK = (28, 39, 51)
_RGB_MUTED = (74, 88, 104)
_RGB_CAUTION = (138, 75, 0)
_RGB_RULE = (200, 208, 218)
_NO_GLYPH = "\ufffd"
"""Shown for a character the font has no glyph for (DejaVu Sans has this one)."""


def result_pdf(
    title: str,
    blocks: Sequence[Block],
    picture: bytes | None,
    answers_heading: str | None = None,
) -> bytes:
    """An A4 PDF of the result: ``title``, the blocks in order, the picture and page numbers.

    ``title`` names the document (its metadata, and the line above the blocks
    unless the first block says the same). The picture, if any, goes after the
    opening title and summary. ``answers_heading`` is the heading text of the
    answers section, when there is one: the ``question → answer`` list under it
    is laid out as a two-column table instead of bullets.
    """
    from fpdf import FPDF

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
    pdf.set_title(_printable(title))
    pdf.set_creator("Engagement Advisor")
    # fpdf2 always writes a creation date; a fixed one (rather than now) makes
    # the same result give the same bytes, file id included.
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_page()
    page = _Page(pdf)

    blocks = list(blocks)
    if not blocks or blocks[0].kind is not BlockKind.TITLE or blocks[0].text != title:
        page.text(title, 12, bold=True, colour=_RGB_MUTED)
        pdf.ln(2)
    # The picture goes after the opening title and summary, before the first heading.
    place = next((i for i, b in enumerate(blocks) if b.kind is BlockKind.HEADING), len(blocks))
    in_answers = False
    for index, block in enumerate(blocks):
        if index == place and picture:
            _image(pdf, picture)
        if block.kind is BlockKind.TITLE:
            page.text(block.text, 20, bold=True)
            pdf.ln(3)
        elif block.kind is BlockKind.HEADING:
            # Keep a heading (and any headings straight after it) with a few
            # lines of what follows.
            following = 0
            while _kind_at(blocks, index + 1 + following) is BlockKind.HEADING:
                following += 1
            if pdf.will_page_break(24 + 12 * following):
                pdf.add_page()
            in_answers = answers_heading is not None and block.text == answers_heading
            if block.text.startswith(WARNING):
                pdf.ln(1)
                rest = block.text.removeprefix(WARNING).lstrip()
                page.marked(WARNING, rest, 12, bold=True, marker_colour=_RGB_CAUTION)
            else:
                pdf.ln(4)
                page.text(block.text, 13, bold=True)
            pdf.ln(1.5)
        elif block.kind is BlockKind.PARAGRAPH:
            page.text(block.text, 11)
            pdf.ln(2.5)
        elif in_answers:
            _answers_table(page, block.items)
            pdf.ln(2)
        else:
            for item in block.items:
                page.bullet(item)
                pdf.ln(1.2)
            pdf.ln(1)
    if place == len(blocks) and picture:
        _image(pdf, picture)
    if page.missing:
        # How many and of what kind, never which: the text is what a person typed.
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(page.missing.items()))
        log.warning(
            "the PDF font lacks %d character(s) of this result (Unicode categories: %s); "
            "they show as U+FFFD",
            page.missing.total(),
            kinds,
        )
    return bytes(pdf.output())


def _printable(text: str) -> str:
    """``text`` with tabs as spaces and other control characters (but line breaks) dropped."""
    return _CONTROL.sub("", text.replace("\t", " "))


def _kind_at(blocks: Sequence[Block], index: int) -> BlockKind | None:
    """The kind of the block at ``index``, or None past the end."""
    return blocks[index].kind if index < len(blocks) else None


class _Page:
    """Text laid out on an fpdf2 document, left-aligned, in the shared font.

    Characters the font lacks are replaced before fpdf2 sees them: fpdf2
    would draw an empty box and log the characters themselves (up to ten of
    each PDF, which is enough to spell the name or words a person typed),
    through a logger the bot's log does not silence. Only their number and
    Unicode category are kept, in ``missing``.
    """

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.missing: Counter[str] = Counter()
        """Characters replaced, by Unicode general category (``Lo``, ``So`` ...)."""

    def fit(self, text: str) -> str:
        """``text`` printable (``_printable``) and in glyphs the current font has."""
        text = _printable(text)
        glyphs = self.pdf.current_font.cmap
        kept = []
        for c in text:
            if ord(c) in glyphs or c == "\n":
                kept.append(c)
            else:
                self.missing[unicodedata.category(c)] += 1
                kept.append(_NO_GLYPH)
        return "".join(kept)

    def text(
        self,
        body: str,
        size: float,
        *,
        bold: bool = False,
        colour: tuple[int, int, int] = _RGB_INK,
    ) -> None:
        """A paragraph across the page; its own line breaks are kept."""
        from fpdf.enums import XPos, YPos

        self.pdf.set_font(_FAMILY, "B" if bold else "", size)
        self.pdf.set_text_color(*colour)
        self.pdf.multi_cell(
            0, size * 0.5, self.fit(body), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def marked(
        self,
        marker: str,
        body: str,
        size: float,
        *,
        bold: bool = False,
        marker_colour: tuple[int, int, int] = _RGB_MUTED,
        colour: tuple[int, int, int] = _RGB_INK,
    ) -> None:
        """``body`` indented after ``marker`` (a bullet, a warning sign) in the margin."""
        from fpdf.enums import XPos, YPos

        pdf = self.pdf
        pdf.set_font(_FAMILY, "B" if bold else "", size)
        pdf.set_text_color(*marker_colour)
        pdf.cell(size * 0.6, size * 0.5, marker)
        pdf.set_text_color(*colour)
        pdf.multi_cell(
            0, size * 0.5, self.fit(body), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def bullet(self, item: str) -> None:
        """A bullet; an item's first line is its point, any further lines a quieter note."""
        point, _, note = item.partition("\n")
        self.marked(_BULLET, point, 11)
        if note:
            self.pdf.set_x(self.pdf.l_margin + 11 * 0.6)
            self.text(note, 10, colour=_RGB_MUTED)


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


def _answers_table(page: _Page, items: Sequence[str]) -> None:
    """``question → answer`` items as a two-column table."""
    from fpdf.fonts import FontFace

    pdf = page.pdf
    pdf.set_font(_FAMILY, "", 10)
    pdf.set_text_color(*_RGB_INK)
    pdf.set_draw_color(*_RGB_RULE)
    with pdf.table(
        col_widths=(58, 42),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        line_height=5,
        padding=(1.6, 2, 1.6, 0),
        text_align="LEFT",
        v_align="TOP",
    ) as table:
        for item in items:
            question, _, answer = item.partition(" → ")
            row = table.row()
            row.cell(page.fit(question), style=FontFace(color=_RGB_MUTED))
            row.cell(page.fit(answer))


@dataclass(frozen=True, slots=True)
class Page:
    """What a result's files show, as plain values: worded in the bot, drawn anywhere.

    Plain and picklable, so the drawing can run in another process while
    the bot keeps answering (the catalog's compiled conditions cannot travel).
    """

    title: str
    blocks: tuple[Block, ...]
    answers: str
    levels: tuple[tuple[str, str], ...]
    level: str
    cautions: tuple[str, ...]
    picture_title: str


def result_page(catalog: Catalog, flow: CompiledFlow, session: Session, locale: str) -> Page:
    """The words of a finished session's files, in ``locale``."""
    words = Renderer(catalog, locale)
    result = engine.result(flow, session)
    recommendations = flow.model.recommendations
    return Page(
        title=words.t(UI.REPORT_TITLE, flow=words.t(flow.model.title)),
        blocks=tuple(words.result(flow, result)),
        answers=words.answers_heading(flow, result),
        levels=tuple(
            (level.value, words.t(recommendations[level].label))
            for level in Level
            if level in recommendations
        ),
        level=result.level.value,
        cautions=tuple(words.t(c.title) for c in result.cautions),
        picture_title=words.t(UI.REPORT_PICTURE),
    )


def draw(page: Page) -> tuple[bytes, bytes]:
    """The PDF and the picture of a page."""
    picture = result_picture(page.levels, page.level, page.cautions, page.picture_title)
    return result_pdf(page.title, page.blocks, picture, page.answers), picture


def result_files(
    catalog: Catalog, flow: CompiledFlow, session: Session, locale: str
) -> tuple[bytes, bytes]:
    """The PDF and the picture of a finished session's advice, in ``locale``."""
    return draw(result_page(catalog, flow, session, locale))
