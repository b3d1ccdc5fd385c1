"""English and Welsh: asked at first contact, Welsh for Welsh apps, switchable without loss."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.advice.render import Renderer
from bot.advice.uitext import UI

from fakebotapi import FakeBotAPI
from support import advise, fixture_catalog, walk
from telegram_support import asks_language, last_text, running, say, tap
from test_terminal import run_cli

USER = 4004
FOOTPATH = ("the footpath", "6", "3", "1", "2", "2")
"""The staff flow to Inform, typed as the buttons number them (Telegram takes no option
ids): place not given, decision already made by us, no handover, people never told what
changed."""
CY = Renderer(fixture_catalog(), "cy")
EN = Renderer(fixture_catalog(), "en")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


def stored(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        locale, session = con.execute("SELECT locale, session FROM conversations").fetchone()
    return {"locale": locale, "session": json.loads(session) if session else None}


async def test_first_contact_asks_welsh_first_and_keeps_the_deep_link(
    fake_api: FakeBotAPI, db: Path
) -> None:
    """A new English-app user is asked in both languages, Cymraeg first; the link's flow follows."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start check", language=None)
        assert asks_language(fake_api, USER)
        labels = [label for label, _ in fake_api.last_message(USER).buttons()]
        assert labels == ["Cymraeg", "English"]
        assert CY.t(UI.LANGUAGE_ASK) in last_text(fake_api, USER)
        assert EN.t(UI.LANGUAGE_ASK) in last_text(fake_api, USER)
        await tap(fake_api, USER, "Cymraeg")
        expected = CY.t(UI.QUESTION_NUMBER, number=1).split(" (")[0]
        shown = last_text(fake_api, USER)
        assert shown.startswith(CY.t(UI.TELEGRAM_WELCOME))
        assert expected in shown
    assert stored(db)["locale"] == "cy"
    assert stored(db)["session"]["flow"] == "check"


async def test_welsh_app_gets_welsh_from_the_first_message(fake_api: FakeBotAPI, db: Path) -> None:
    """A user whose Telegram app is in Welsh is answered in Welsh at once, with no question."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan", language=None, language_code="cy")
        assert not asks_language(fake_api, USER)
        shown = last_text(fake_api, USER)
        assert shown.startswith(CY.t(UI.TELEGRAM_WELCOME))
        assert "In English: /language" in shown
        assert CY.t(UI.QUESTION_NUMBER, number=1).split(" (")[0] in shown
        assert CY.t("plan.q.about") in shown
    assert stored(db)["locale"] == "cy"


async def test_language_switch_keeps_every_answer(fake_api: FakeBotAPI, db: Path) -> None:
    """/language mid-conversation re-asks the current question in the new language, answers kept."""
    async with running(fake_api, db):
        await say(fake_api, USER, "/start plan")
        await say(fake_api, USER, "the footpath")
        await say(fake_api, USER, "6")
        await say(fake_api, USER, "3")
        before = stored(db)["session"]
        await say(fake_api, USER, "/language", language=None)
        await tap(fake_api, USER, "Cymraeg")
        assert last_text(fake_api, USER).startswith(
            CY.t(UI.QUESTION_NUMBER, number=4).split(" (")[0]
        )
        after = stored(db)["session"]
        assert after["answers"] == before["answers"]
        assert after["question"] == before["question"]
        for welsh_label in (
            CY.t("plan.o.decider.us"),
            CY.t("plan.o.handover.no"),
            CY.t("plan.o.asked_before.no"),
        ):
            await say(fake_api, USER, welsh_label)
        texts = [t or "" for t in fake_api.chat(USER).texts]
        assert any(
            t.startswith(f"{CY.t(UI.RESULT_RECOMMENDATION)}: {CY.t('level.inform')}") for t in texts
        )
    assert stored(db)["locale"] == "cy"


async def test_result_pdf_and_picture_arrive_and_open(fake_api: FakeBotAPI, db: Path) -> None:
    """'Save as PDF' sends a PDF whose text is the advice, and a picture of the scale."""
    async with running(fake_api, db):
        for answer in ("/start plan", *FOOTPATH):
            await say(fake_api, USER, answer)
        await tap(fake_api, USER, "Save as PDF", timeout=60)  # a loaded machine draws slowly
        await fake_api.wait_for(
            lambda calls: any(c.method == "sendPhoto" and c.ok for c in calls), timeout=30
        )
    documents = [m for m in fake_api.chat(USER).messages if m.kind == "document"]
    photos = [m for m in fake_api.chat(USER).messages if m.kind == "photo"]
    assert len(documents) == 1
    assert len(photos) == 1
    uploads = [c for c in fake_api.calls if c.method in ("sendDocument", "sendPhoto")]
    assert {c.content_type for c in uploads} == {"multipart/form-data"}
    pdf = documents[0].file
    assert pdf is not None
    assert pdf.filename == "plan-inform.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    result = advise("plan", list(FOOTPATH))
    assert "Recommendation: Inform" in text
    for caution in result.cautions:
        assert EN.t(caution.title) in text
    assert EN.t(result.next_steps[0])[:40] in text.replace("\n", " ")
    picture = photos[0].file
    assert picture is not None
    image = Image.open(io.BytesIO(picture.data))
    assert image.format == "PNG"
    assert image.size[0] >= 600
    assert len(image.getcolors(maxcolors=1 << 16) or []) > 10


def test_terminal_in_welsh_writes_the_files(tmp_path: Path, advisor_project: Path) -> None:
    """`chat --lang cy` answers in Welsh, takes Welsh labels, and saves the PDF and picture."""
    answers = "Cau'r llwybr\n6\n" + CY.t("plan.o.decision.made") + "\n1\n2\n3\n"
    done = run_cli(
        ["chat", "--flow", "plan", "--lang", "cy", "--out", str(tmp_path)],
        answers,
        project=advisor_project,
    )
    assert done.returncode == 0, done.stderr
    headline = f"{CY.t(UI.RESULT_RECOMMENDATION)}: {CY.t('level.inform')}"
    assert headline in done.stdout.splitlines()
    pdfs = list(tmp_path.glob("plan-*.pdf"))
    pngs = list(tmp_path.glob("plan-*.png"))
    assert len(pdfs) == 1
    assert len(pngs) == 1
    assert str(pdfs[0]) in done.stdout
    text = "".join(p.extract_text() for p in PdfReader(pdfs[0]).pages)
    assert headline in text


def typed_labels(flow_id: str, ids: list[str], words: Renderer) -> list[str]:
    """The answers as a person would type them in ``words``' language: the option labels."""
    catalog = fixture_catalog()
    flow = catalog.flows[flow_id]
    session = walk(flow_id, ids)
    typed = []
    for question_id in session.history:
        question = flow.questions[question_id]
        value = session.answers[question_id]
        if question.model.options:
            chosen = value if isinstance(value, tuple) else (value,)
            typed.append(", ".join(words.t(question.options[o].label) for o in chosen))
        else:
            typed.append(value or "skip")
    return typed


@pytest.mark.parametrize(
    ("flow_id", "ids"),
    [
        ("plan", ["x", "skip", "made", "other", "no", "no"]),
        (
            "plan",
            [
                "x",
                "wales",
                "open",
                "yes",
                "weeks",
                "yes",
                "short",
                "no",
                "no",
                "no",
                "money,duty",
                "yes",
                "unfunded",
                "not_told",
            ],
        ),
        (
            "plan",
            [
                "x",
                "scotland",
                "partly",
                "yes",
                "longer",
                "no",
                "some",
                "budget,staff",
                "yes",
                "outcomes",
                "yes",
                "told",
            ],
        ),
        (
            "check",
            ["x", "wales", "run", "some", "shared", "none", "no", "main", "months", "unsure"],
        ),
    ],
)
def test_welsh_gives_the_same_advice(flow_id: str, ids: list[str]) -> None:
    """Welsh is never the lesser version: labels typed in Welsh give the advice English does."""
    english = advise(flow_id, typed_labels(flow_id, ids, EN), locale="en")
    welsh = advise(flow_id, typed_labels(flow_id, ids, CY), locale="cy")
    assert welsh == english
    assert welsh == advise(flow_id, ids)
