"""The result a person keeps: the picture and the PDF are opened and read back."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.advice.render import Block, BlockKind, Renderer
from bot.advice.uitext import UI
from bot.flows.model import Level
from bot.results.report import PICTURE_SIZE, result_pdf, result_picture

from support import advise, fixture_catalog

# The plan flow's answers that lead to Consult with several cautions.
PLAN = ["A council community centre", "skip", "2", "1", "months", "no", "3", "6", "2", "money"]
PLAN += ["3", "1", "2"]
WELSH = "Dŵr a thŷ: â ê î ô û ï, Ŵ Ŷ"


@dataclass(frozen=True)
class Kept:
    """One real result, the words it was made from, and its picture and PDF."""

    blocks: list[Block]
    headline: str
    cautions: list[str]
    next_steps: list[str]
    answers: list[str]
    png: bytes
    pdf: bytes


@pytest.fixture(scope="module")
def kept() -> Kept:
    """The plan flow's advice in English, made into a picture and a PDF once per module."""
    catalog = fixture_catalog()
    flow = catalog.flows["plan"]
    result = advise("plan", PLAN, catalog)
    words = Renderer(catalog, "en")
    blocks = words.result(flow, result)
    levels = [
        (level.value, words.t(flow.model.recommendations[level].label))
        for level in Level
        if level in flow.model.recommendations
    ]
    cautions = [words.t(c.title) for c in result.cautions]
    headline = words.headline(flow, result)
    png = result_picture(levels, result.level.value, cautions, headline)
    pdf = result_pdf(words.t(flow.model.title), blocks, png, words.t(UI.RESULT_ANSWERS))
    return Kept(
        blocks=blocks,
        headline=headline,
        cautions=cautions,
        next_steps=[words.t(t) for t in result.next_steps],
        answers=[words.answer_text(flow.questions[q], v) for q, v in result.answers],
        png=png,
        pdf=pdf,
    )


def pdf_text(pdf: bytes) -> str:
    """All the text of a PDF, pages in order, with line breaks read as spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def flat(text: str) -> str:
    """Text with every run of white space made one space, as it reads back from a PDF."""
    return " ".join(text.split())


def test_the_result_has_cautions_and_next_steps(kept: Kept) -> None:
    """The chosen answers give a result with several cautions and next steps to check for."""
    assert kept.headline == "Recommendation: Consult"
    assert len(kept.cautions) >= 3
    assert kept.next_steps


def test_picture_is_a_png_of_phone_size(kept: Kept) -> None:
    """The picture opens as a PNG about 1200 by 600 pixels."""
    with Image.open(io.BytesIO(kept.png)) as image:
        assert image.format == "PNG"
        assert image.size == PICTURE_SIZE
        assert 1000 <= image.width <= 1400
        assert 500 <= image.height <= 700


def test_picture_is_not_blank(kept: Kept) -> None:
    """The picture has many colours and ink across its width, not one flat fill."""
    with Image.open(io.BytesIO(kept.png)) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 50
        # Something is drawn in the left (scale) and right (cautions) halves.
        width, height = rgb.size
        for box in ((0, 0, width // 2, height), (width // 2, 0, width, height)):
            extrema = rgb.crop(box).convert("L").getextrema()
            assert extrema[0] < 100 < extrema[1]


def test_picture_bytes_carry_no_timestamp_or_software(kept: Kept) -> None:
    """The PNG holds no time or software chunk, so equal results give equal bytes."""
    with Image.open(io.BytesIO(kept.png)) as image:
        assert "Software" not in image.info
    assert b"tIME" not in kept.png


def test_picture_refuses_an_unknown_chosen_level() -> None:
    """Asking to mark a level that is not on the scale is an error, not a silent picture."""
    with pytest.raises(ValueError, match="not one of"):
        result_picture([("inform", "Inform")], "consult", [], "Title")


def test_pdf_is_a4_with_pages_and_metadata(kept: Kept) -> None:
    """The PDF opens as A4 pages with its title set and a fixed creation date."""
    reader = PdfReader(io.BytesIO(kept.pdf))
    assert len(reader.pages) >= 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata is not None
    assert reader.metadata.title == "Plan engagement on a decision"
    assert reader.metadata.get("/CreationDate") == "D:20000101000000Z"


def test_pdf_text_has_headline_cautions_and_next_steps(kept: Kept) -> None:
    """The PDF's text has the headline, every caution title and every next step."""
    text = pdf_text(kept.pdf)
    assert "Recommendation: Consult" in text
    for caution in kept.cautions:
        assert f"⚠ {caution}" in text
    for step in kept.next_steps:
        assert flat(step) in text


def test_pdf_text_has_every_block_in_order(kept: Kept) -> None:
    """Every heading and paragraph of the result reads back from the PDF, in the same order."""
    text = pdf_text(kept.pdf)
    position = 0
    for block in kept.blocks:
        if block.kind in (BlockKind.TITLE, BlockKind.HEADING):
            found = text.find(flat(block.text), position)
            assert found >= position, block.text
            position = found


def test_pdf_lays_out_the_answers(kept: Kept) -> None:
    """Each answer given, typed text included, reads back from the answers table."""
    text = pdf_text(kept.pdf)
    for answer in kept.answers:
        assert flat(answer) in text


def test_pdf_embeds_the_picture_and_numbers_its_pages(kept: Kept) -> None:
    """The first page holds the picture, and every page ends with ``n / total``."""
    reader = PdfReader(io.BytesIO(kept.pdf))
    assert len(reader.pages[0].images) == 1
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        assert page.extract_text().rstrip().endswith(f"{number} / {total}")


WELSH_BLOCKS = (
    Block(BlockKind.TITLE, "Argymhelliad: Cydgynhyrchu"),
    Block(BlockKind.PARAGRAPH, WELSH),
    Block(BlockKind.HEADING, "⚠ Camu'n ôl"),
    Block(BlockKind.BULLETS, items=("Cwestiwn → ateb • **nid** <b>trwm</b> $x$",)),
)


@pytest.fixture(scope="module")
def welsh_pdf() -> bytes:
    """A small PDF in Welsh with the renderer's symbols and markup-like text, made once."""
    return result_pdf("Cynllunio ymgysylltu ŵ", WELSH_BLOCKS, None)


def test_welsh_and_symbols_round_trip(welsh_pdf: bytes) -> None:
    """Welsh letters, the renderer's symbols and markup-like text come back as written."""
    text = pdf_text(welsh_pdf)
    assert WELSH in text
    assert "⚠ Camu'n ôl" in text
    assert "Cwestiwn → ateb • **nid** <b>trwm</b> $x$" in text
    metadata = PdfReader(io.BytesIO(welsh_pdf)).metadata
    assert metadata is not None
    assert metadata.title == "Cynllunio ymgysylltu ŵ"


def test_pdf_is_the_same_bytes_every_time(welsh_pdf: bytes) -> None:
    """Making the same PDF again gives identical bytes: no clock in the output."""
    assert result_pdf("Cynllunio ymgysylltu ŵ", WELSH_BLOCKS, None) == welsh_pdf


def test_picture_fits_many_cautions_and_long_words() -> None:
    """Welsh labels, a long title and more cautions than fit still make a whole picture."""
    levels = [("inform", "Hysbysu"), ("consult", "Ymgynghori"), ("co_produce", "Cydgynhyrchu")]
    cautions = [f"Rhybudd {n}: mae angen amser ar ymgysylltu da" for n in range(1, 11)]
    png = result_picture(levels, "co_produce", cautions, "Argymhelliad: " + WELSH * 4)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == PICTURE_SIZE


def test_importing_the_module_loads_no_drawing_library() -> None:
    """bot.results.report leaves matplotlib, fpdf and Pillow unloaded until a report is made."""
    code = (
        "import sys, bot.results.report; "
        "print(sorted(m for m in ('matplotlib', 'fpdf', 'PIL') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_making_a_pdf_logs_nothing_from_fonttools() -> None:
    """fontTools logged dozens of INFO lines for every PDF; the bot's logging holds it back."""
    from bot.results.report import result_files

    from support import walk as walk_flow
    from telegram_support import captured_log

    catalog = fixture_catalog()
    session = walk_flow("plan", ["Closing the footpath", "skip", "made", "us", "no", "no"], catalog)
    with captured_log([]) as logged:
        result_files(catalog, catalog.flows["plan"], session, "en")
    assert "fontTools" not in logged.getvalue()
