"""A fake Telegram Bot API server that plays both Telegram and the bot's users.

Why a real HTTP server rather than mocks of ``telegram.Bot``: only a server exercises what
breaks in production - how python-telegram-bot (PTB) encodes requests (form fields whose
non-string values are JSON-encoded, multipart for uploads), how it parses Telegram's
answers into ``Message``/``Update`` objects, how its ``Updater`` confirms updates through the
``offset`` of the next ``getUpdates``, and how it turns error bodies into exceptions.

The shapes returned follow https://core.telegram.org/bots/api, and so do the error texts where
they are cheap to reproduce: a bot that passes here should not meet a new kind of error from
Telegram itself. Everything runs on 127.0.0.1 in the test's event loop.

Typical use::

    async with FakeBotAPI() as api:
        app = (Application.builder().token(api.token).base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...start polling...
        api.send_text(42, "/start")
        await api.wait_idle()
        assert api.last_message(42).text == "Hello!"
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import itertools
import json
import mimetypes
import random
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

from aiohttp import ClientError, ClientSession, web

JSON = dict[str, Any]

TEXT_LIMIT = 4096
"""Maximum message text length, in characters, after entity parsing."""
CAPTION_LIMIT = 1024
"""Maximum media caption length, in characters, after entity parsing."""
CALLBACK_DATA_LIMIT = 64
"""Maximum ``callback_data`` length, in bytes (UTF-8)."""
CALLBACK_ANSWER_LIMIT = 200
"""Maximum ``answerCallbackQuery`` text length, in characters."""

# Update types Telegram leaves out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Parameters that are free text or identifiers: never JSON-decoded, so a text such as "42"
# or "true" stays the string the bot sent (PTB sends strings raw, everything else as JSON).
_TEXT_PARAMS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "game_short_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "photo",
        "provider_token",
        "query",
        "question",
        "result_id",
        "secret_token",
        "short_description",
        "start_parameter",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "vcard",
        "video",
        "video_note",
        "voice",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    ),
}

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (or a test registered), kept so tests can open its bytes."""

    file_id: str
    file_unique_id: str
    filename: str
    mime_type: str
    data: bytes
    file_path: str

    @property
    def size(self) -> int:
        """Size in bytes, as Telegram reports it in ``file_size``."""
        return len(self.data)

    def text(self, encoding: str = "utf-8") -> str:
        """The content decoded as text, for exports such as CSV or Markdown."""
        return self.data.decode(encoding)


@dataclass
class Call:
    """One HTTP request the bot made, recorded after it was answered.

    ``params`` holds the decoded parameters: JSON-encoded values (``reply_markup``,
    ``chat_id``, ``allowed_updates``...) are decoded, uploads appear as :class:`UploadedFile`.
    """

    method: str
    params: JSON
    status: int = 200
    result: Any = None
    description: str | None = None
    at: float = field(default_factory=time.monotonic)
    content_type: str = ""
    """How the parameters came: ``application/json``, a form, or nothing."""

    @property
    def ok(self) -> bool:
        """Whether Telegram would have answered ``{"ok": true}``."""
        return self.status == HTTPStatus.OK


@dataclass
class ChatMessage:
    """A message the bot sent, in its current state (after edits).

    ``text``/``caption`` are what the user sees: HTML tags are parsed away into ``entities``
    and surrounding whitespace is trimmed, as Telegram does; ``source`` is what the bot sent.
    ``reply_markup`` is the inline keyboard currently attached (edits change or remove it);
    ``keyboard`` is a reply keyboard / ReplyKeyboardRemove / ForceReply sent with it.
    """

    message_id: int
    kind: str
    text: str | None = None
    caption: str | None = None
    entities: list[JSON] = field(default_factory=list)
    source: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    keyboard: JSON | None = None
    file: UploadedFile | None = None
    history: list[str | None] = field(default_factory=list)
    """Texts replaced by ``editMessageText``, oldest first."""
    deleted: bool = False
    raw: JSON = field(default_factory=dict)

    def buttons(self) -> list[tuple[str, str | None]]:
        """Buttons as ``(text, callback_data)``, row by row; reply-keyboard buttons have None."""
        markup = self.reply_markup or self.keyboard or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [
            (button, None)
            if isinstance(button, str)
            else (button["text"], button.get("callback_data"))
            for row in rows
            for button in row
        ]


@dataclass
class ChatLog:
    """Everything the bot did in one chat, in order."""

    chat_id: int
    messages: list[ChatMessage] = field(default_factory=list)
    callback_answers: list[JSON] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @property
    def visible(self) -> list[ChatMessage]:
        """Messages not deleted, i.e. what the user still sees."""
        return [m for m in self.messages if not m.deleted]

    @property
    def texts(self) -> list[str | None]:
        """Current text (or caption) of each visible message, oldest first."""
        return [m.text if m.text is not None else m.caption for m in self.visible]

    def message(self, message_id: int) -> ChatMessage:
        """The bot message with this id; KeyError if the bot never sent it here."""
        for message in self.messages:
            if message.message_id == message_id:
                return message
        raise KeyError(f"bot sent no message {message_id} to chat {self.chat_id}")


class _ApiError(Exception):
    """An error answer: the HTTP status doubles as ``error_code``, as on Telegram."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _Fault:
    status: int
    retry_after: int
    times: int
    description: str | None

    def error(self) -> _ApiError:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return _ApiError(
                429,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return _ApiError(
            self.status, self.description or _DEFAULT_DESCRIPTIONS.get(self.status, phrase)
        )


@dataclass
class _Queued:
    update: JSON
    redelivery: bool = False
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next((k for k in self.update if k != "update_id"), "")

    @property
    def chat_id(self) -> Any:
        """The chat the update belongs to (its sender's id when it names no chat)."""
        body = self.update.get(self.kind) or {}
        chat = (body.get("message") or body).get("chat") or body.get("from") or {}
        return chat.get("id")


# --------------------------------------------------------------------------- text handling


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _slice16(text: str, offset: int, length: int) -> str:
    return text.encode("utf-16-le")[2 * offset : 2 * (offset + length)].decode("utf-16-le")


class _EntityError(Exception):
    pass


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(html.parser.HTMLParser):
    """Telegram's HTML parse mode: a fixed tag set, strict nesting, errors at byte offsets."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self._parts: list[str] = []
        self._length = 0
        self._open: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[JSON] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self._source[: self._line_starts[line - 1] + column].encode())

    def _unsupported(self, tag: str) -> _EntityError:
        return _EntityError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _HTML_ENTITY_TYPES or (
            tag == "span" and attributes.get("class") != "tg-spoiler"
        ):
            raise self._unsupported(tag)
        self._open.append((tag, self._length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            raise _EntityError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        name, start, attributes = self._open.pop()
        if name != tag:
            raise _EntityError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{name}>", found "</{tag}>"'
            )
        if name == "code" and self._open and self._open[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity carrying the language.
            language = attributes.get("class") or ""
            if language.startswith("language-"):
                self._open[-1][2]["language"] = language.removeprefix("language-")
            return
        length = self._length - start
        if length == 0:
            return
        entity: JSON = {"type": _HTML_ENTITY_TYPES[name], "offset": start, "length": length}
        if name == "a":
            if not attributes.get("href"):
                return
            entity["url"] = attributes["href"]
        elif name == "pre" and attributes.get("language"):
            entity["language"] = attributes["language"]
        elif name == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif name == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        self._length += _utf16_len(data)

    def handle_comment(self, data: str) -> None:
        raise self._unsupported("!--")

    def handle_decl(self, decl: str) -> None:
        raise self._unsupported("!")

    def unknown_decl(self, data: str) -> None:
        raise self._unsupported("!")

    def handle_pi(self, data: str) -> None:
        raise self._unsupported("?")

    def parse(self) -> tuple[str, list[JSON]]:
        self.feed(self._source)
        self.close()
        if self._open:
            raise _EntityError(
                f'Can\'t find end tag corresponding to start tag "{self._open[-1][0]}"'
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._parts), entities


_CONTROL_CHARS = dict.fromkeys([*range(0, 10), 11, 12, *range(14, 32)], " ")


def _fix_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram's clean-up of message text: control characters become spaces, ``\\r`` goes,
    trailing spaces/newlines are trimmed and so are leading ones up to the first entity,
    and entities covering only whitespace are dropped."""
    text = text.translate(_CONTROL_CHARS)
    if not entities:
        text = text.replace("\r", "")
    kept = [e for e in entities if _slice16(text, e["offset"], e["length"]).strip(" \n\r")]
    stripped = text.rstrip(" \n")
    end = _utf16_len(stripped)
    first_entity = min((e["offset"] for e in kept), default=end)
    lead = 0
    while lead < first_entity and stripped[lead] in " \n":
        lead += 1
    fixed: list[JSON] = []
    for entity in kept:
        stop = min(entity["offset"] + entity["length"], end)
        if stop > entity["offset"]:
            fixed.append(
                {**entity, "offset": entity["offset"] - lead, "length": stop - entity["offset"]}
            )
    return stripped[lead:], fixed


_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[JSON]:
    """``bot_command`` entities for every /command in a user's text, as Telegram adds them."""
    return [
        {
            "type": "bot_command",
            "offset": _utf16_len(text[: m.start()]),
            "length": _utf16_len(m.group()),
        }
        for m in _COMMAND.finditer(text)
    ]


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG; None when Telegram could not process it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + segment
    return None


def _decode_param(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _markup_kind(markup: JSON | None) -> str | None:
    if not markup:
        return None
    return "inline" if "inline_keyboard" in markup else "keyboard"


# --------------------------------------------------------------------------- the server


class FakeBotAPI:
    """A fake Bot API server for one bot token, plus helpers to play that bot's users.

    State is plain Python, inspected directly by tests: :attr:`calls`, :meth:`chat`,
    :meth:`last_message`, :meth:`buttons`, :attr:`files`, :attr:`commands`, :attr:`webhook`.
    """

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Fake Bot",
            "username": "fake_test_bot",
        }
        """The bot as it appears in ``from`` of its messages (``getMe`` adds capabilities)."""
        self.calls: list[Call] = []
        """Every request, in the order answered; failed ones too (see :attr:`Call.ok`)."""
        self.files: dict[str, UploadedFile] = {}
        """Files by ``file_id``: uploaded by the bot or registered with :meth:`add_file`."""
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        """``setMyCommands`` state keyed by (scope as sorted JSON, language_code or "")."""
        self.webhook: JSON = {}
        """Last ``setWebhook`` parameters; empty when no webhook is set."""
        self.deliver_webhooks = True
        """Post queued updates to a webhook once one is set, as Telegram does."""
        self.replicas: list[str] = []
        """The load balancer in front of webhook replicas: when set, each POST goes to
        one of these URLs, picked at random, instead of the webhook's own URL."""
        self.one_per_chat = True
        """Post one update per chat at a time, in order; False posts any queued update
        at once, as Telegram may with several connections, to test chat locks."""
        self.webhook_most_at_once: dict[Any, int] = {}
        """Per chat, the most of its updates posted at once and not yet answered."""

        self._chats: dict[int, ChatLog] = {}
        self._chat_objects: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._raw_messages: dict[tuple[int, int], JSON] = {}
        self._message_ids: dict[int, int] = {}
        self._update_ids = itertools.count(10_001)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1_000_000_000_000_001)
        self._queries: dict[str, JSON] = {}
        self._queue: list[_Queued] = []
        self._history: dict[int, JSON] = {}
        self._confirmed: set[int] = set()
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._polls_waiting = 0
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, tuple[asyncio.Event, frozenset[int] | None]] = {}
        self._odd_bodies: dict[str, list[JSON]] = {}
        self.idle_checks: list[Callable[[], bool]] = []
        """Asked by :meth:`wait_idle` too: a polling bot confirms an update once it is in
        its inbox, before it is handled, so only the bot can say it has nothing in hand."""
        self._held: dict[str, int] = {}
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._changed_event = asyncio.Event()
        self._closing = False
        self._delivery: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        handlers: dict[str, Callable[[JSON], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # A short shutdown timeout: a long poll abandoned by PTB must not hold up stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Answer pending long polls and delays at once, then shut the server down."""
        self._closing = True
        self._changed()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url``: PTB appends the token itself."""
        return f"http://127.0.0.1:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url``, serving files from :attr:`files`."""
        return f"http://127.0.0.1:{self._require_port()}/file/bot"

    def _require_port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._port

    # ------------------------------------------------------------------ inspection

    def chat(self, chat_id: int) -> ChatLog:
        """What the bot did in this chat (empty if nothing yet)."""
        return self._chats.setdefault(chat_id, ChatLog(chat_id))

    def last_message(self, chat_id: int) -> ChatMessage:
        """The bot's latest visible message in the chat; LookupError if there is none."""
        visible = self.chat(chat_id).visible
        if not visible:
            raise LookupError(f"the bot has no message in chat {chat_id}")
        return visible[-1]

    def buttons(self, chat_id: int, message_id: int | None = None) -> list[tuple[str, str | None]]:
        """``(text, callback_data)`` of a message's buttons (default: the latest message)."""
        if message_id is None:
            return self.last_message(chat_id).buttons()
        return self.chat(chat_id).message(message_id).buttons()

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (name case-insensitive)."""
        canonical = self._methods.get(method.lower(), (method, None))[0]
        return [c for c in self.calls if c.method == canonical]

    @property
    def polling(self) -> bool:
        """Whether a ``getUpdates`` is being answered now, i.e. the bot is listening."""
        return self._polls_waiting > 0

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        return [q.update for q in self._queue]

    def is_confirmed(self, update_id: int) -> bool:
        """Whether the bot confirmed this update (offset beyond it) and no copy is pending."""
        return update_id in self._confirmed and all(q.update_id != update_id for q in self._queue)

    # ------------------------------------------------------------------ playing users

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "en",
    ) -> int:
        """Queue a text message from a user; returns its update_id.

        ``/commands`` get ``bot_command`` entities as Telegram adds them. Giving a ``chat_id``
        other than the user's own with the default chat_type makes it a group (a supergroup
        for ``-100...`` ids).
        """
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private" and chat_id != user_id:
            chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        user = self._user(user_id, language_code)
        chat = self._chat_object(chat_id, chat_type)
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities := _command_entities(text):
            message["entities"] = entities
        self._raw_messages[(chat_id, message["message_id"])] = message
        return self._enqueue({"message": message})

    def press(
        self,
        user_id: int,
        callback_data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        forged: bool = False,
    ) -> int:
        """Queue a ``callback_query`` as if the user pressed a button; returns its update_id.

        The button must exist on the message's current inline keyboard (ValueError
        otherwise), since a user can only press what they see. Without ``message_id`` the
        latest bot message carrying that callback_data is used. ``forged=True`` sends the
        data on message ``message_id`` whatever it shows, as a hostile or stale client can.
        """
        chat_id = user_id if chat_id is None else chat_id
        log = self.chat(chat_id)
        candidates = (
            [log.message(message_id)] if message_id is not None else list(reversed(log.visible))
        )
        target = next(
            (
                m
                for m in candidates
                if not m.deleted
                and (forged or m.reply_markup)
                and (forged or any(data == callback_data for _, data in m.buttons()))
            ),
            None,
        )
        if target is None:
            shown = candidates[0].buttons() if candidates else []
            raise ValueError(
                f"no button with callback_data {callback_data!r} in chat {chat_id}"
                f" (message {message_id or 'latest'} shows {shown})"
            )
        query_id = str(next(self._query_ids))
        self._queries[query_id] = {"chat_id": chat_id, "answered": False}
        query = {
            "id": query_id,
            "from": self._user(user_id, None),
            "message": json.loads(json.dumps(target.raw)),
            "chat_instance": str(10**18 + abs(chat_id)),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query})

    def send_update(self, payload: JSON, *, raw: bool = False) -> int:
        """Queue any update (photo, location, group event...); returns its update_id.

        ``raw`` queues it exactly as given (but for the update_id), however malformed.

        ``update_id`` is assigned when missing, and so are ``message_id``/``date`` of a
        ``message``/``edited_message``/``channel_post`` that has a ``chat``.
        """
        update = json.loads(json.dumps(payload))
        if raw:
            return self._enqueue(update)
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat_id = message["chat"]["id"]
                message.setdefault("message_id", self._next_message_id(chat_id))
                message.setdefault("date", int(time.time()))
                self._raw_messages[(chat_id, message["message_id"])] = message
        return self._enqueue(update)

    def redeliver(self, update_id: int) -> None:
        """Queue an already-queued update again, unchanged, to test duplicate delivery."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever queued")
        self._queue.append(_Queued(json.loads(json.dumps(self._history[update_id])), True))
        self._changed()

    def add_file(self, data: bytes, filename: str, mime_type: str | None = None) -> JSON:
        """Register a file a user sends; returns a Document dict to put into an update.

        The bot can then ``get_file`` it and download it from :attr:`base_file_url`.
        """
        stored = self._make_file(data, filename, mime_type)
        self.files[stored.file_id] = stored
        return self._document_json(stored)

    async def post_webhook(
        self, url: str, update_payload: JSON, secret_token: str | None = None
    ) -> int:
        """POST one update to a bot in webhook mode, as Telegram does; returns the HTTP status."""
        update = json.loads(json.dumps(update_payload))
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        self._history[update["update_id"]] = update
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        async with ClientSession() as session, session.post(url, json=update, headers=headers) as r:
            await r.read()
            status = r.status
        self._changed()
        return status

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with a Telegram-like error.

        429 carries ``parameters.retry_after`` (PTB raises RetryAfter); 5xx bodies are
        Telegram's ("Internal Server Error", "Bad Gateway"); 403 defaults to "bot was blocked".
        """
        fault = _Fault(status, retry_after, times, description)
        self._faults.setdefault(method.lower(), []).append(fault)

    def delay(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` only after ``seconds`` (0 removes the delay)."""
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    def answer_next(self, method: str, body: JSON) -> None:
        """Answer the next call of ``method`` with ``body`` as it is, status 200, whatever
        Telegram would say: for answers a real server should never give."""
        self._odd_bodies.setdefault(method.lower(), []).append(body)

    def hold(self, method: str, chats: Iterable[int] | None = None) -> None:
        """Keep every call of ``method`` (to ``chats`` only, if given) waiting, with no
        effect, until :meth:`release`.

        For a process killed or frozen mid-call: what it was sending never arrived.
        """
        self._holds[method.lower()] = (
            asyncio.Event(),
            None if chats is None else frozenset(chats),
        )

    def release(self, method: str) -> None:
        """End the held calls of ``method`` as a dropped connection would: nothing sent."""
        held = self._holds.pop(method.lower(), None)
        if held is not None:
            held[0].set()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting on :meth:`hold` now."""
        return self._held.get(method.lower(), 0)

    # ------------------------------------------------------------------ waiting

    def _changed(self, activity: bool = True) -> None:
        """Wake every waiter on any state change.

        ``activity`` marks changes that mean the bot is still working (its requests, queued
        or confirmed updates) and so restart :meth:`wait_idle`'s quiet period; long polls
        come and go all the time and must not.
        """
        if activity:
            self._last_activity = time.monotonic()
        event, self._changed_event = self._changed_event, asyncio.Event()
        event.set()

    async def _wait_change(self, event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))

    # The waits below take ``timeout=`` (ASYNC109 prefers asyncio.timeout at the call site)
    # because a failed wait must raise with a summary of what the bot did, not a bare
    # CancelledError/TimeoutError from deep inside the wait.

    async def wait_for(
        self,
        predicate: Callable[[list[Call]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate(self.calls)`` holds; re-checked on every recorded change."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed_event
            if predicate(self.calls):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met in {timeout}s; {self._summary()}")
            await self._wait_change(event, deadline - time.monotonic())

    async def wait_confirmed(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every queued update was confirmed by a ``getUpdates`` offset."""
        deadline = time.monotonic() + timeout
        while self._queue:
            event = self._changed_event
            if time.monotonic() >= deadline:
                raise TimeoutError(f"updates still pending after {timeout}s; {self._summary()}")
            await self._wait_change(event, deadline - time.monotonic())

    async def wait_idle(self, quiet: float = 0.1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until all updates are confirmed, no bot request is in flight, and nothing
        happened for ``quiet`` seconds - i.e. the bot has finished handling what it got."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed_event
            now = time.monotonic()
            busy = (
                bool(self._queue)
                or self._inflight > 0
                or not all(check() for check in self.idle_checks)
            )
            if not busy and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(f"bot not idle after {timeout}s; {self._summary()}")
            wait = deadline - now
            if not busy:
                wait = min(wait, quiet - (now - self._last_activity))
            elif self.idle_checks:
                wait = min(wait, 0.02)  # the bot's own state changes without a request
            await self._wait_change(event, wait)

    def _summary(self) -> str:
        recent = [
            f"{c.method}{'' if c.ok else f' -> {c.status}'}"
            for c in self.calls
            if c.method != "getUpdates"
        ][-8:]
        polls = len(self.calls_of("getUpdates"))
        return (
            f"pending updates {[q.update_id for q in self._queue]}, "
            f"requests in flight {self._inflight}, getUpdates calls {polls}, recent {recent}"
        )

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        sent_name = request.match_info["method"]
        method, handler = self._methods.get(sent_name.lower(), (sent_name, None))
        counts = method != "getUpdates"
        content_type = request.content_type if request.body_exists else ""
        if counts:
            self._inflight += 1
            self._changed()
        params: JSON = {}
        try:
            params = await self._read_params(request)
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            await self._apply_delay(method)
            await self._apply_hold(method, params)
            self._apply_fault(method)
            odd = self._odd_bodies.get(method.lower())
            if odd:
                status, body = 200, odd.pop(0)
            else:
                result = await handler(params)
                status, body = 200, {"ok": True, "result": result}
        except _ApiError as error:
            status, body = error.status, error.body()
        finally:
            if counts:
                self._inflight -= 1
        # A snapshot: message dicts live on and later edits must not rewrite history.
        result = json.loads(json.dumps(body.get("result")))
        self.calls.append(
            Call(
                method,
                params,
                status,
                result,
                body.get("description"),
                content_type=content_type,
            )
        )
        self._changed(activity=counts)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        found = next((f for f in self.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or found is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=found.data, content_type=found.mime_type)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _read_params(self, request: web.Request) -> JSON:
        """Telegram accepts query strings, urlencoded and multipart forms, and JSON bodies."""
        raw: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as error:
                    raise _ApiError(400, "Bad Request: can't parse JSON") from error
                raw.update(body if isinstance(body, dict) else {})
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = self._make_file(
                            value.file.read(), value.filename, value.content_type
                        )
                    else:
                        raw[key] = value
        params = {key: _decode_param(key, value) for key, value in raw.items()}
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files.pop(value.removeprefix("attach://"), value)
        params.update(files)
        return params

    async def _apply_delay(self, method: str) -> None:
        seconds = self._delays.get(method.lower(), 0.0)
        deadline = time.monotonic() + seconds
        while not self._closing and time.monotonic() < deadline:
            await self._wait_change(self._changed_event, deadline - time.monotonic())

    async def _apply_hold(self, method: str, params: JSON) -> None:
        held = self._holds.get(method.lower())
        if held is None:
            return
        event, chats = held
        if chats is not None and params.get("chat_id") not in chats:
            return
        key = method.lower()
        self._held[key] = self._held.get(key, 0) + 1
        self._changed()
        try:
            await event.wait()
        finally:
            self._held[key] -= 1
        raise _ApiError(502, "Bad Gateway: the connection was dropped")

    def _apply_fault(self, method: str) -> None:
        faults = self._faults.get(method.lower())
        if not faults:
            return
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        raise fault.error()

    # ------------------------------------------------------------------ state helpers

    def _enqueue(self, update: JSON) -> int:
        update.setdefault("update_id", next(self._update_ids))
        update_id = int(update["update_id"])
        self._history[update_id] = update
        self._queue.append(_Queued(update))
        self._changed()
        return update_id

    def _user(self, user_id: int, language_code: str | None) -> JSON:
        user = self._users.setdefault(
            user_id,
            {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
            },
        )
        if language_code:
            user["language_code"] = language_code
        return dict(user)

    def _chat_object(self, chat_id: int, chat_type: str | None = None) -> JSON:
        if chat_id in self._chat_objects and chat_type in (
            None,
            self._chat_objects[chat_id]["type"],
        ):
            return dict(self._chat_objects[chat_id])
        if chat_type is None:
            if chat_id > 0:
                chat_type = "private"
            else:
                chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        if chat_type == "private":
            user = self._user(chat_id, None)
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            chat["username"] = user["username"]
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
        self._chat_objects[chat_id] = chat
        return dict(chat)

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _make_file(self, data: bytes, filename: str, mime_type: str | None) -> UploadedFile:
        n = next(self._file_ids)
        guessed = mimetypes.guess_type(filename, strict=False)[0]
        suffix = "." + filename.rsplit(".", 1)[1] if "." in filename else ""
        return UploadedFile(
            file_id=f"BQACfake{n:06d}",
            file_unique_id=f"AgADfake{n:06d}",
            filename=filename,
            mime_type=mime_type or guessed or "application/octet-stream",
            data=data,
            file_path=f"documents/file_{n}{suffix}",
        )

    @staticmethod
    def _document_json(stored: UploadedFile) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.filename,
            "mime_type": stored.mime_type,
            "file_size": stored.size,
        }

    def _require_chat(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        return self._chat_object(chat_id)

    def _formatted(
        self,
        params: JSON,
        key: str,
        *,
        limit: int,
        allow_empty: bool,
        too_long: str,
    ) -> tuple[str, list[JSON]]:
        value = params.get(key)
        source = "" if value is None else str(value)
        parse_mode = params.get("parse_mode")
        entities_key = "entities" if key == "text" else "caption_entities"
        entities: list[JSON] = list(params.get(entities_key) or [])
        mode = str(parse_mode).lower() if parse_mode else None
        if mode == "html":
            try:
                source = source.replace("\r", "")
                text, entities = _TelegramHTML(source).parse()
            except _EntityError as error:
                raise _ApiError(400, f"Bad Request: can't parse entities: {error}") from error
        elif mode in (None, "markdown", "markdownv2"):
            text = source  # Markdown is not parsed by this fake: the text stays as sent.
        else:
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        text, entities = _fix_text(text, entities)
        if not text and not allow_empty:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise _ApiError(400, too_long)
        return text, entities

    @staticmethod
    def _check_markup(params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not (
                    isinstance(data, str) and 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT
                ):
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return None
        original = self._raw_messages.get((reply.get("chat_id", chat_id), message_id))
        if original is None:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in original.items() if k != "reply_to_message"}

    def _new_bot_message(self, chat: JSON, params: JSON, kind: str, **content: Any) -> JSON:
        chat_id = chat["id"]
        markup = self._check_markup(params)
        reply_to = self._reply_to(chat_id, params)
        message_id = self._next_message_id(chat_id)
        raw: JSON = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to:
            raw["reply_to_message"] = reply_to
        for key, value in content.items():
            if value not in (None, "", []) and key not in ("file", "source"):
                raw[key] = value
        inline = markup if _markup_kind(markup) == "inline" else None
        if inline:
            raw["reply_markup"] = inline  # Telegram echoes only inline keyboards.
        if content.get("file") is not None:
            self.files[content["file"].file_id] = content["file"]
        self._raw_messages[(chat_id, message_id)] = raw
        self.chat(chat_id).messages.append(
            ChatMessage(
                message_id=message_id,
                kind=kind,
                text=content.get("text"),
                caption=content.get("caption") or None,
                entities=content.get("entities") or content.get("caption_entities") or [],
                source=content.get("source"),
                parse_mode=params.get("parse_mode"),
                reply_markup=inline,
                keyboard=markup if _markup_kind(markup) == "keyboard" else None,
                file=content.get("file"),
                raw=raw,
            )
        )
        return raw

    def _find_message(self, params: JSON, what: str) -> ChatMessage:
        chat_id = params.get("chat_id")
        message_id = params.get("message_id")
        if chat_id is None or message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        log = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        for message in log.messages if log else []:
            if message.message_id == message_id and not message.deleted:
                return message
        raise _ApiError(400, f"Bad Request: message to {what} not found")

    def _input_file(self, params: JSON, key: str) -> UploadedFile:
        value = params.get(key)
        if isinstance(value, UploadedFile):
            return value
        if value in (None, ""):
            raise _ApiError(400, f"Bad Request: there is no {key} in the request")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: failed to get HTTP URL content")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ methods

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            done = [
                q for q in self._queue if q.update_id < offset and (q.delivered or not q.redelivery)
            ]
        elif offset < 0:
            done = self._queue[:offset]
        else:
            return
        if done:
            self._confirmed.update(q.update_id for q in done)
            self._queue = [q for q in self._queue if q not in done]
            self._changed()

    def _deliverable(self, limit: int) -> list[_Queued]:
        allowed = self._allowed_updates
        wanted = [
            q
            for q in self._queue
            if (q.kind in allowed if allowed else q.kind not in _OPT_IN_UPDATES)
        ]
        dropped = [q for q in self._queue if q not in wanted]
        if dropped:  # Telegram drops updates of types the bot did not ask for.
            self._queue = wanted
            self._changed(activity=False)
        return wanted[:limit]

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook.get("url"):
            raise _ApiError(409, _WEBHOOK_ACTIVE)
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"] or ()) or None
        # Like Telegram, a new getUpdates terminates one still waiting (it gets 409).
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        self._polls_waiting += 1
        self._changed(activity=False)
        try:
            while True:
                event = self._changed_event
                if self._poll_generation != generation:
                    raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                batch = self._deliverable(limit)
                if batch or self._closing or time.monotonic() >= deadline:
                    break
                await self._wait_change(event, deadline - time.monotonic())
        finally:
            self._polls_waiting -= 1
        for queued in batch:
            queued.delivered = True
        return [json.loads(json.dumps(q.update)) for q in batch]

    def _drop_pending(self, params: JSON) -> None:
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._changed()

    async def _set_webhook(self, params: JSON) -> bool:
        self._drop_pending(params)
        self.webhook = {k: v for k, v in params.items() if k != "drop_pending_updates"}
        if not params.get("url"):
            self.webhook = {}
        elif self.deliver_webhooks and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _deliver_webhooks(self) -> None:
        """POST queued updates to the webhook as Telegram does, until each is answered 2xx.

        Up to ``max_connections`` at once, one update per chat at a time, in
        update order; a refused connection, an error status or a timeout
        leaves the update queued and it is posted again a little later.
        """
        posting: dict[int, asyncio.Task[bool]] = {}
        async with ClientSession() as session:
            while self.webhook.get("url") and not self._closing:
                limit = int(self.webhook.get("max_connections") or 40)
                chats: set[Any] = set()
                for queued in list(self._queue):
                    if queued.chat_id in chats:
                        continue  # an earlier update of this chat is not confirmed yet
                    if self.one_per_chat:
                        chats.add(queued.chat_id)
                    if queued.update_id not in posting and len(posting) < limit:
                        posting[queued.update_id] = asyncio.create_task(
                            self._post_update(session, queued)
                        )
                        same_chat = sum(
                            q.chat_id == queued.chat_id
                            for q in self._queue
                            if q.update_id in posting
                        )
                        most = self.webhook_most_at_once.get(queued.chat_id, 0)
                        self.webhook_most_at_once[queued.chat_id] = max(most, same_chat)
                event = self._changed_event
                if posting:
                    changed = asyncio.ensure_future(event.wait())
                    await asyncio.wait(
                        [*posting.values(), changed],
                        timeout=0.5,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    changed.cancel()
                else:
                    await self._wait_change(event, 0.5)
                for update_id, task in list(posting.items()):
                    if task.done():
                        del posting[update_id]
                        if task.result():
                            self._queue = [q for q in self._queue if q.update_id != update_id]
                            self._confirmed.add(update_id)
                            self._changed()

    async def _post_update(self, session: ClientSession, queued: _Queued) -> bool:
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
        try:
            url = random.choice(self.replicas) if self.replicas else str(self.webhook["url"])
            async with session.post(
                url, json=queued.update, headers=headers, timeout=30
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return True
        except (OSError, TimeoutError, ClientError):
            pass
        await asyncio.sleep(0.2)  # then posted again, as Telegram retries
        return False

    async def _delete_webhook(self, params: JSON) -> bool:
        self._drop_pending(params)
        self.webhook = {}
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            for key in ("ip_address", "allowed_updates"):
                if key in self.webhook:
                    info[key] = self.webhook[key]
        return info

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not (
                isinstance(name, str)
                and re.fullmatch(r"[a-z0-9_]{1,32}", name)
                and isinstance(description, str)
                and 1 <= len(description) <= 256
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._require_chat(params)
        text, entities = self._formatted(
            params,
            "text",
            limit=TEXT_LIMIT,
            allow_empty=False,
            too_long="Bad Request: message is too long",
        )
        return self._new_bot_message(
            chat, params, "text", text=text, entities=entities, source=params.get("text")
        )

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        edit = {
            "limit": TEXT_LIMIT,
            "allow_empty": False,
            "too_long": "Bad Request: MESSAGE_TOO_LONG",
        }
        if params.get("inline_message_id"):
            self._formatted(params, "text", **edit)
            self._check_markup(params)
            return True
        message = self._find_message(params, "edit")
        if message.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._formatted(params, "text", **edit)
        markup = self._check_markup(params)
        inline = markup if _markup_kind(markup) == "inline" else None
        if (text, entities, inline) == (message.text, message.entities, message.reply_markup):
            raise _ApiError(400, _NOT_MODIFIED)
        message.history.append(message.text)
        message.text, message.entities, message.source = text, entities, params.get("text")
        message.parse_mode = params.get("parse_mode")
        message.raw["text"] = text
        message.raw.pop("entities", None)
        if entities:
            message.raw["entities"] = entities
        return self._apply_markup(message, inline)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        markup = self._check_markup(params)
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, "edit")
        inline = markup if _markup_kind(markup) == "inline" else None
        if inline == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        return self._apply_markup(message, inline)

    @staticmethod
    def _apply_markup(message: ChatMessage, inline: JSON | None) -> JSON:
        """An edit without reply_markup removes the inline keyboard, as on Telegram."""
        message.reply_markup = inline
        message.raw.pop("reply_markup", None)
        if inline:
            message.raw["reply_markup"] = inline
        message.raw["edit_date"] = int(time.time())
        return message.raw

    async def _delete_message(self, params: JSON) -> bool:
        key = (params.get("chat_id"), params.get("message_id"))
        if self._raw_messages.pop(key, None) is None:  # type: ignore[arg-type]
            raise _ApiError(400, "Bad Request: message to delete not found")
        chat_id, message_id = key
        log = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        for message in log.messages if log else []:
            if message.message_id == message_id:
                message.deleted = True
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query = self._queries.get(str(params.get("callback_query_id")))
        if query is None or query["answered"]:
            raise _ApiError(400, _QUERY_INVALID)
        if len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query["answered"] = True
        self.chat(query["chat_id"]).callback_answers.append(dict(params))
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._require_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat(chat["id"]).actions.append(str(action))
        return True

    def _caption(self, params: JSON) -> tuple[str, list[JSON]]:
        return self._formatted(
            params,
            "caption",
            limit=CAPTION_LIMIT,
            allow_empty=True,
            too_long="Bad Request: message caption is too long",
        )

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._require_chat(params)
        stored = self._input_file(params, "document")
        caption, entities = self._caption(params)
        return self._new_bot_message(
            chat,
            params,
            "document",
            document=self._document_json(stored),
            caption=caption,
            caption_entities=entities,
            source=params.get("caption"),
            file=stored,
        )

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._require_chat(params)
        stored = self._input_file(params, "photo")
        size = _image_size(stored.data)
        if size is None:
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption, entities = self._caption(params)
        photo = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": size[0],
            "height": size[1],
            "file_size": stored.size,
        }
        return self._new_bot_message(
            chat,
            params,
            "photo",
            photo=[photo],
            caption=caption,
            caption_entities=entities,
            source=params.get("caption"),
            file=stored,
        )

    async def _get_file(self, params: JSON) -> JSON:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }
