"""The fake Bot API answers the real python-telegram-bot over HTTP the way Telegram does."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
import telegram
from aiohttp import ClientSession, web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakebotapi import FakeBotAPI

USER = 4242


@asynccontextmanager
async def ptb_bot(api: FakeBotAPI, token: str | None = None) -> AsyncIterator[telegram.Bot]:
    """A plain PTB Bot pointed at the fake server."""
    bot = telegram.Bot(token or api.token, base_url=api.base_url, base_file_url=api.base_file_url)
    async with bot:
        yield bot


@asynccontextmanager
async def polling_app(api: FakeBotAPI, *handlers: object) -> AsyncIterator[Application]:
    """A real Application long-polling the fake server, stopped cleanly afterwards."""
    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)  # type: ignore[arg-type]
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def as_seconds(period: int | timedelta) -> float:
    """PTB 22 gives plain seconds unless PTB_TIMEDELTA opts in to timedelta."""
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs]
    )


async def test_get_me_returns_the_bot_user(fake_api: FakeBotAPI) -> None:
    """getMe parses into a PTB User that is the bot, with the id taken from the token."""
    async with ptb_bot(fake_api) as bot:
        me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "fake_test_bot")
    assert fake_api.calls_of("getMe")[0].ok


async def test_send_message_records_params_and_returns_a_full_message(fake_api: FakeBotAPI) -> None:
    """sendMessage records decoded params (reply_markup as a dict) and returns a full Message."""
    async with ptb_bot(fake_api) as bot:
        first = await bot.send_message(
            USER, "Pick one", reply_markup=keyboard(("Yes", "y"), ("No", "n"))
        )
        second = await bot.send_message(USER, "Again")
    call = fake_api.calls_of("sendMessage")[0]
    assert call.params == {
        "chat_id": USER,
        "text": "Pick one",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Yes", "callback_data": "y"}],
                [{"text": "No", "callback_data": "n"}],
            ]
        },
    }
    assert isinstance(first, telegram.Message)
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == USER
    assert first.chat.type == "private"
    assert first.from_user is not None
    assert first.from_user.is_bot
    assert first.date.year >= 2024
    assert first.reply_markup == keyboard(("Yes", "y"), ("No", "n"))
    assert fake_api.buttons(USER, 1) == [("Yes", "y"), ("No", "n")]
    assert fake_api.chat(USER).texts == ["Pick one", "Again"]


async def test_edit_message_text_changes_the_chat_view_like_telegram(fake_api: FakeBotAPI) -> None:
    """Edits update text and keyboard; identical edits and unknown ids fail as on Telegram."""
    async with ptb_bot(fake_api) as bot:
        sent = await bot.send_message(USER, "Step 1", reply_markup=keyboard(("Next", "next")))
        edited = await bot.edit_message_text("Step 2", chat_id=USER, message_id=sent.message_id)
        assert isinstance(edited, telegram.Message)
        assert edited.text == "Step 2"
        assert edited.edit_date is not None
        # Telegram drops the inline keyboard when an edit does not repeat it.
        assert edited.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Step 2", chat_id=USER, message_id=sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("Nope", chat_id=USER, message_id=999)
        await bot.edit_message_reply_markup(
            USER, sent.message_id, reply_markup=keyboard(("Done", "d"))
        )
    message = fake_api.last_message(USER)
    assert (message.text, message.history) == ("Step 2", ["Step 1"])
    assert fake_api.calls_of("sendMessage")[0].result["text"] == "Step 1"
    assert fake_api.buttons(USER) == [("Done", "d")]


async def test_get_updates_delivers_a_command_with_its_entity(fake_api: FakeBotAPI) -> None:
    """A queued '/start plan' arrives as a PTB Update with a bot_command entity over '/start'."""
    update_id = fake_api.send_text(USER, "/start plan")
    async with ptb_bot(fake_api) as bot:
        updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start plan"
    assert message.parse_entities(["bot_command"]) == {message.entities[0]: "/start"}
    assert message.from_user is not None
    assert message.from_user.language_code == "en"


async def test_updates_stay_pending_until_a_later_offset_confirms_them(
    fake_api: FakeBotAPI,
) -> None:
    """An update is delivered again until getUpdates is called with an offset beyond it."""
    first = fake_api.send_text(USER, "one")
    second = fake_api.send_text(USER, "two")
    async with ptb_bot(fake_api) as bot:
        assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]
        assert [u.update_id for u in await bot.get_updates()] == [first, second]
        assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [second]
        assert fake_api.is_confirmed(first)
        assert not fake_api.is_confirmed(second)
        assert await bot.get_updates(offset=second + 1) == ()
    assert fake_api.is_confirmed(second)
    assert fake_api.pending_updates == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(fake_api: FakeBotAPI) -> None:
    """A getUpdates waiting with a long timeout answers when an update is queued, not at timeout."""
    async with ptb_bot(fake_api) as bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await fake_api.wait_for(lambda _: fake_api.polling)
        fake_api.send_text(USER, "hi")
        updates = await poll
    assert len(updates) == 1
    assert time.monotonic() - started < 2


async def test_allowed_updates_filters_what_is_delivered(fake_api: FakeBotAPI) -> None:
    """Updates of types not in allowed_updates are dropped instead of delivered."""
    fake_api.send_text(USER, "text")
    async with ptb_bot(fake_api) as bot:
        await bot.send_message(USER, "menu", reply_markup=keyboard(("A", "a")))
        press = fake_api.press(USER, "a")
        updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in updates] == [press]
    assert fake_api.calls_of("getUpdates")[0].params["allowed_updates"] == ["callback_query"]


# PTB 22's own RetryAfter.__init__ reads its deprecated int-valued retry_after and warns.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_too_many_requests_raises_retry_after(fake_api: FakeBotAPI) -> None:
    """An injected 429 becomes RetryAfter with the given retry_after, then calls succeed again."""
    fake_api.fail_next("sendMessage", retry_after=7)
    async with ptb_bot(fake_api) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "hi")
        assert as_seconds(caught.value.retry_after) == 7
        await bot.send_message(USER, "hi")
    failed, sent = fake_api.calls_of("sendMessage")
    assert (failed.status, failed.description) == (429, "Too Many Requests: retry after 7")
    assert sent.ok
    assert fake_api.chat(USER).texts == ["hi"]


async def test_server_errors_and_delays_are_injectable(fake_api: FakeBotAPI) -> None:
    """A 502 becomes NetworkError('Bad Gateway') and a delayed method answers late."""
    async with ptb_bot(fake_api) as bot:
        fake_api.fail_next("getMe", status=502)
        fake_api.delay("getMe", 0.2)
        started = time.monotonic()
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_me()
        assert time.monotonic() - started >= 0.2


async def test_wrong_token_raises_invalid_token(fake_api: FakeBotAPI) -> None:
    """A token other than the server's gets 401 Unauthorized, which PTB raises as InvalidToken."""
    with pytest.raises(InvalidToken):
        async with ptb_bot(fake_api, token="999:wrong"):
            pass
    assert fake_api.calls[-1].status == 401


async def test_raw_http_answers_match_telegram_bodies(fake_api: FakeBotAPI) -> None:
    """Method names are case-insensitive; unknown methods and bad tokens get Telegram's bodies."""
    root = fake_api.base_url
    async with ClientSession() as http:
        async with http.get(f"{root}{fake_api.token}/GETME") as r:
            assert r.status == 200
            assert (await r.json())["result"]["is_bot"] is True
        async with http.post(f"{root}{fake_api.token}/sendSticker", json={}) as r:
            assert (r.status, await r.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
            )
        async with http.post(f"{root}1:bad/getMe") as r:
            assert (r.status, await r.json()) == (
                401,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )
        payload = {"chat_id": USER, "text": "json body", "reply_markup": '{"inline_keyboard": []}'}
        async with http.post(f"{root}{fake_api.token}/sendMessage", json=payload) as r:
            assert r.status == 200
    assert fake_api.calls_of("sendMessage")[0].params["reply_markup"] == {"inline_keyboard": []}


async def test_invalid_messages_are_refused_like_telegram(fake_api: FakeBotAPI) -> None:
    """Long callback data, empty or over-long text and broken HTML are 400s with Telegram's text."""
    async with ptb_bot(fake_api) as bot:
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(USER, "x", reply_markup=keyboard(("Too long", "é" * 33)))
        await bot.send_message(USER, "ok", reply_markup=keyboard(("Fits", "x" * 64)))
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(USER, " \n ")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, "x" * 4097)
        await bot.send_message(USER, "x" * 4096)
        with pytest.raises(
            BadRequest, match=r'(?i)can.t find end tag corresponding to start tag "b"'
        ):
            await bot.send_message(USER, "<b>bold", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br" at byte offset 4'):
            await bot.send_message(USER, "Line<br>next", parse_mode="HTML")
        html = (
            '<b>Plan</b> for <a href="https://example.org">you</a> &amp; '
            "<tg-spoiler>them</tg-spoiler>"
        )
        sent = await bot.send_message(USER, html, parse_mode="HTML")
    assert [c.description for c in fake_api.calls if not c.ok][:1] == [
        "Bad Request: BUTTON_DATA_INVALID"
    ]
    assert sent.text == "Plan for you & them"
    assert sent.parse_entities() == {
        sent.entities[0]: "Plan",
        sent.entities[1]: "you",
        sent.entities[2]: "them",
    }
    assert [e.type for e in sent.entities] == ["bold", "text_link", "spoiler"]
    assert fake_api.last_message(USER).source == html


async def test_send_document_keeps_the_uploaded_bytes(fake_api: FakeBotAPI) -> None:
    """A multipart upload keeps its bytes and filename, and the bot can download it back."""
    data = b"level,why\nconsult,people shape it\n"
    async with ptb_bot(fake_api) as bot:
        sent = await bot.send_document(
            USER, data, filename="plan.csv", caption="<i>Your plan</i>", parse_mode="HTML"
        )
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        photo = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 3, 2) + b"\x08\x02"
        picture = await bot.send_photo(USER, photo)
        with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
            await bot.send_photo(USER, b"not an image")
    message = fake_api.last_message(USER)
    stored = fake_api.chat(USER).message(sent.message_id).file
    assert stored is not None
    assert (stored.filename, stored.data) == ("plan.csv", data)
    assert stored.mime_type == "text/csv"
    assert bytes(downloaded) == data
    assert sent.document.file_name == "plan.csv"
    assert sent.caption == "Your plan"
    assert (picture.photo[-1].width, picture.photo[-1].height) == (3, 2)
    assert message.kind == "photo"
    assert isinstance(fake_api.calls_of("sendDocument")[0].params["document"], type(stored))


async def test_application_polling_echoes_and_confirms(fake_api: FakeBotAPI) -> None:
    """A real Application polling the fake replies to a user's text and confirms the update."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        assert update.message.text is not None
        await update.message.reply_text(update.message.text)

    async with polling_app(fake_api, MessageHandler(filters.TEXT & ~filters.COMMAND, echo)):
        update_id = fake_api.send_text(USER, "hello there")
        await fake_api.wait_idle()
        assert fake_api.last_message(USER).text == "hello there"
        assert fake_api.is_confirmed(update_id)
    assert fake_api.webhook == {}
    assert fake_api.calls_of("deleteWebhook")


async def test_application_handles_buttons_and_duplicate_delivery(fake_api: FakeBotAPI) -> None:
    """Commands reach CommandHandler, presses CallbackQueryHandler; a redelivery runs twice."""
    seen: list[int] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        seen.append(update.update_id)
        await update.message.reply_text(f"args={context.args}", reply_markup=keyboard(("Go", "go")))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Going")
        await query.edit_message_text(f"chose {query.data}")

    async with polling_app(fake_api, CommandHandler("start", start), CallbackQueryHandler(pressed)):
        first = fake_api.send_text(USER, "/start plan")
        await fake_api.wait_for(lambda calls: any(c.method == "sendMessage" for c in calls))
        fake_api.press(USER, "go")
        await fake_api.wait_idle()
        fake_api.redeliver(first)
        await fake_api.wait_idle()
    log = fake_api.chat(USER)
    assert seen == [first, first]
    assert log.texts == ["chose go", "args=['plan']"]
    assert [a["text"] for a in log.callback_answers] == ["Going"]
    assert log.messages[0].reply_markup is None


async def test_post_webhook_delivers_an_update_with_the_secret(fake_api: FakeBotAPI) -> None:
    """post_webhook POSTs the update JSON with Telegram's secret-token header."""
    received: list[tuple[str | None, Update]] = []

    async def hook(request: web.Request) -> web.Response:
        update = Update.de_json(await request.json(), None)
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        payload = {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "hi",
            }
        }
        status = await fake_api.post_webhook(f"http://127.0.0.1:{port}/hook", payload, "s3cret")
    finally:
        await runner.cleanup()
    assert status == 200
    secret, update = received[0]
    assert secret == "s3cret"
    assert update.message is not None
    assert update.message.text == "hi"


async def test_wait_for_times_out_with_a_summary(fake_api: FakeBotAPI) -> None:
    """wait_for raises TimeoutError naming what is pending when the condition never holds."""
    fake_api.send_text(USER, "nobody polls")
    with pytest.raises(TimeoutError, match="pending updates"):
        await fake_api.wait_for(lambda calls: bool(calls), timeout=0.05)
