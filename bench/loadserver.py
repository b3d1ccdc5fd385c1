"""A lean fake Telegram Bot API server that plays many users for several bots at once.

One aiohttp server on 127.0.0.1 serves every bot under test, each by its own
token (``/bot<token>/<method>``). Unlike ``tests/fakebotapi.py`` it keeps no
history of calls or messages: per bot it holds counters, a queue of updates
not yet confirmed, and per user a few fields (its latest prompt, the update
it waits on). Latencies are kept as plain lists of floats, one per update, for
the measured slices only.

The users are a closed loop with no think time. Each user sends ``/start``
(with the bot's deep-link payload), then taps the FIRST inline button of each
prompt it receives, and sends ``/start`` again after the result. A *prompt* is
any ``sendMessage``/``editMessageText``/``editMessageReplyMarkup`` in the
user's chat that carries an inline keyboard: every bot here shows exactly one
per update (the next question or the result), whether it sends a new message
or edits the old one. The user knows the flow has ``presses_per_cycle``
questions, so the prompt after that many presses must be the result (its text
must contain ``result_marker``); anything else is counted as an anomaly.

Timing, per update, all on the server's monotonic clock:

- ``handed``: when a ``getUpdates`` response first carried the update;
- ``first``: the first call the bot makes for that user after ``handed``
  (``answerCallbackQuery`` for that query, or any send/edit in that chat);
- ``prompt``: the call that carries the next keyboard (the user acts on it);
- ``wait``: from when the user acted (the update was queued) to ``first``: what
  the person waits, including time in Telegram's queue. Only the bot's active
  time counts: an update taken back at the end of a slice keeps the time it
  waited (``carry``) and goes on from there in the bot's next slice. The
  longest wait, answered or still open at the end, is the *longest wait*.
- *stall*: the longest the bot made no call but ``getUpdates`` while it held
  updates it had been handed and not yet answered: a bot that freezes (a
  blocked event loop, a whole-file rewrite, a long pause for garbage
  collection) stalls every user at once. In a closed loop with no think
  time the longest wait is instead about the number of users times the CPU
  per update, for any bot, so it measures throughput, not stalls.

Only one bot is *active* at a time (see ``bench.run``): an inactive bot's users
do not act, its long polls are held, and its queued but undelivered updates are
withdrawn, so it can finish what it holds and go idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import socket
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

MAX_POLL_SECONDS = 10.0
"""Longest a getUpdates is held, whatever timeout the bot asks for."""

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_TRUE = '{"ok":true,"result":true}'

WEBHOOK_CONNECTIONS = 40
"""Webhook requests in flight at once: Telegram's default ``max_connections``."""


@dataclass(slots=True)
class Pending:
    """One user action queued for the bot, from queueing to the prompt that answers it."""

    update_id: int
    json: str
    user: User
    queued: float
    was_start: bool
    presses_before: int
    handed: float | None = None
    first: float | None = None
    query_id: str | None = None


@dataclass(slots=True)
class User:
    user_id: int
    chat: JSON
    sender: JSON
    presses: int = 0
    """Buttons pressed since the last /start."""
    prompt: JSON | None = None
    """The message whose first button the user presses next."""
    pending: Pending | None = None
    message_ids: int = 0
    actions: int = 0
    answered: int = 0
    results: int = 0
    carry: float = 0.0
    """Active seconds already waited on an action withdrawn at the end of a slice."""
    query_ids: list[str] = field(default_factory=list)
    step: int = 0
    """Where in the conversation the update last handed out stands: 0 the start, k the
    k-th press; the calls that follow are counted against it."""

    def next_message_id(self) -> int:
        self.message_ids += 1
        return self.message_ids


@dataclass
class Window:
    """What one bot did during the measured slices (added up over slices)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    updates: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    first_ms: list[float] = field(default_factory=list)
    prompt_ms: list[float] = field(default_factory=list)
    wait_ms: list[float] = field(default_factory=list)
    stall: float = 0.0
    """Seconds: the longest the bot made no progress while it held handed-out updates."""
    results: int = 0
    updates_by_step: Counter[int] = field(default_factory=Counter)
    calls_by_step: Counter[int] = field(default_factory=Counter)
    """Sends, edits and answers by the step of the update they answer (``User.step``)."""

    def calls_per_conversation_update(self, steps: int) -> float | None:
        """Calls per update over one whole conversation (the start and each press),
        whatever mix of steps the slices happened to cut: users act in step with each
        other, so a slice may hold more presses than starts, and presses cost more."""
        if any(self.updates_by_step[k] == 0 for k in range(steps)):
            return None
        return sum(self.calls_by_step[k] / self.updates_by_step[k] for k in range(steps)) / steps


@dataclass
class BotSpec:
    name: str
    token: str
    start_text: str
    """What a user types to start the flow: ``/start bench`` or ``/start``."""
    users: int
    presses_per_cycle: int = 5
    result_marker: str = "Recommendation"
    first_user_id: int = 1_000_001
    first_message_id: int = 0
    """Message ids in each chat start after this (a stored conversation may name older ones)."""


class BotState:
    """Everything the server knows about one bot and its users."""

    def __init__(self, spec: BotSpec) -> None:
        self.spec = spec
        self.name = spec.name
        bot_id = int(spec.token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": f"Bench {spec.name}",
            "username": f"bench_{spec.name}_bot",
        }
        self.users: dict[int, User] = {}
        for user_id in range(spec.first_user_id, spec.first_user_id + spec.users):
            sender = {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
                "language_code": "en",
            }
            chat = {
                "id": user_id,
                "type": "private",
                "first_name": sender["first_name"],
                "username": sender["username"],
            }
            self.users[user_id] = User(user_id, chat, sender, message_ids=spec.first_message_id)
        self.ready: list[User] = list(self.users.values())
        """Users who will act as soon as the bot is active."""
        self.queue: deque[Pending] = deque()
        """Updates not yet confirmed, in update_id order (handed-out ones first)."""
        self.queries: dict[str, Pending] = {}
        self.update_ids = itertools.count(1)
        self.query_ids = itertools.count(7_000_000_000_000_000_001)
        self.active = False
        self.measuring = False
        self.retired = False
        """Stopping: polls are answered at once, empty."""
        self.wake = asyncio.Event()
        self.in_flight = 0
        """Handed-out updates whose prompt has not come yet."""
        self.slice_start = 0.0
        self.last_call = 0.0
        self.progress_at = 0.0
        """When the bot last made a call, or was handed work while it held none."""
        self.polls = 0
        self.total_calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.anomalies: Counter[str] = Counter()
        self.window = Window()
        self.handed_total = 0
        self.poll_waiting = 0
        self.users_answered = 0
        """Users who have had at least one prompt."""
        self.result_sample: str | None = None
        self.samples: dict[str, list[str]] = {}
        self.webhooks: list[str] = []
        """Replicas' webhook URLs: updates are POSTed to one picked at random instead
        of handed out by getUpdates, as Telegram does through a load balancer."""
        self.webhook_secret = ""
        self.webhooks_set = 0
        """How many setWebhook calls came: one per replica that started."""

    # -- users ----------------------------------------------------------------------

    def act(self, user: User, now: float) -> None:
        """The user's next action: /start after a result (or at first), else press button 1."""
        spec = self.spec
        prompt = user.prompt
        start = prompt is None or user.presses >= spec.presses_per_cycle
        update_id = next(self.update_ids)
        if len(user.query_ids) >= 2:  # a query never answered: Telegram forgets it too
            self.queries.pop(user.query_ids.pop(0), None)
        if start:
            message = {
                "message_id": user.next_message_id(),
                "from": user.sender,
                "chat": user.chat,
                "date": int(time.time()),
                "text": spec.start_text,
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
            body = _dumps({"update_id": update_id, "message": message})
            pending = Pending(update_id, body, user, now, True, user.presses)
            user.presses = 0
        else:
            assert prompt is not None
            data = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            query_id = str(next(self.query_ids))
            query = {
                "id": query_id,
                "from": user.sender,
                "message": prompt,
                "chat_instance": str(4_000_000_000 + user.user_id),
                "data": data,
            }
            body = _dumps({"update_id": update_id, "callback_query": query})
            pending = Pending(update_id, body, user, now, False, user.presses, query_id=query_id)
            self.queries[query_id] = pending
            user.query_ids.append(query_id)
            user.presses += 1
        pending.queued -= user.carry
        user.carry = 0.0
        user.pending = pending
        user.actions += 1
        self.queue.append(pending)

    def activate(self, measuring: bool) -> None:
        now = time.monotonic()
        self.active = True
        self.measuring = measuring
        self.slice_start = now
        ready, self.ready = self.ready, []
        for user in ready:
            self.act(user, now)
        self.wake.set()

    def deactivate(self) -> None:
        """Users stop acting; updates not yet handed out are taken back, unseen."""
        self.active = False
        now = time.monotonic()
        kept: deque[Pending] = deque()
        for pending in self.queue:
            if pending.handed is not None:
                kept.append(pending)
                continue
            user = pending.user
            user.pending = None
            user.carry = now - pending.queued
            user.presses = pending.presses_before
            user.actions -= 1
            if pending.query_id is not None:
                self.queries.pop(pending.query_id, None)
            self.ready.append(user)
        self.queue = kept

    def rescue(self) -> int:
        """Users whose update was handed out but never answered start over; how many."""
        stuck = [u for u in self.users.values() if u.pending is not None]
        if self.measuring and self.in_flight > 0:  # still stalled when the bench gave up
            self.window.stall = max(self.window.stall, time.monotonic() - self.progress_at)
        for user in stuck:
            pending = user.pending
            assert pending is not None
            if pending.query_id is not None:
                self.queries.pop(pending.query_id, None)
            user.pending = None
            user.presses = self.spec.presses_per_cycle
            self.ready.append(user)
        self.in_flight = 0
        self.queue.clear()
        return len(stuck)

    def _first_reply(self, pending: Pending, now: float) -> None:
        pending.first = now
        if self.measuring and pending.handed is not None:
            window = self.window
            window.first_ms.append((now - pending.handed) * 1000)
            window.wait_ms.append((now - pending.queued) * 1000)

    def reply_in_chat(self, chat_id: Any, now: float) -> User | None:
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            self.anomaly("call for an unknown chat")
            return None
        if self.measuring:
            self.window.calls_by_step[user.step] += 1
        pending = user.pending
        if pending is not None and pending.handed is not None and pending.first is None:
            self._first_reply(pending, now)
        return user

    def prompt_shown(self, user: User, message: JSON, now: float) -> None:
        """A message with a keyboard reached the user: their turn is over."""
        pending = user.pending
        if pending is None or pending.handed is None:
            # e.g. a keyboard put back on an old message; the user ignores it
            self.anomaly("keyboard while not waiting", message)
            return
        user.prompt = message
        user.pending = None
        user.answered += 1
        if user.answered == 1:
            self.users_answered += 1
        self.in_flight -= 1
        is_result = self.spec.result_marker in (message.get("text") or "")
        if user.presses >= self.spec.presses_per_cycle:
            if is_result:
                user.results += 1
                self.result_sample = self.result_sample or message.get("text")
                if self.measuring:
                    self.window.results += 1
            else:
                self.anomaly("no result after the last question", message)
        elif is_result:
            self.anomaly("result before the last question", message)
        if self.measuring:
            self.window.prompt_ms.append((now - pending.handed) * 1000)
        if self.active:
            self.act(user, now)
            self.wake.set()
        else:
            self.ready.append(user)

    def anomaly(self, what: str, message: JSON | None = None) -> None:
        self.anomalies[what] += 1
        if message is not None and len(self.samples.setdefault(what, [])) < 3:
            self.samples[what].append(_dumps(message)[:600])

    # -- the Bot API ----------------------------------------------------------------

    def confirm(self, offset: int) -> None:
        queue = self.queue
        while queue and queue[0].update_id < offset:
            queue.popleft()

    async def get_updates(self, params: JSON) -> str:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_SECONDS)
        if offset:
            self.confirm(offset)
        deadline = time.monotonic() + timeout
        self.polls += 1
        while not self._deliverable():
            remaining = deadline - time.monotonic()
            if self.retired:
                await asyncio.sleep(0.05)  # a stopping bot may poll once more; don't spin it
                return '{"ok":true,"result":[]}'
            if remaining <= 0:
                return '{"ok":true,"result":[]}'
            self.wake.clear()
            self.poll_waiting += 1
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self.poll_waiting -= 1
        batch = list(itertools.islice(self.queue, limit))
        again = sum(1 for p in batch if p.handed is not None)
        if again:  # handed out before and not confirmed: a bot that fetches twice
            self.anomalies["updates fetched again (handed out, not confirmed)"] += again
        self._hand_out(batch, time.monotonic())
        return '{"ok":true,"result":[' + ",".join(p.json for p in batch) + "]}"

    def _hand_out(self, batch: list[Pending], now: float) -> None:
        if self.in_flight == 0:
            self.progress_at = now
        for pending in batch:
            if pending.handed is None:
                pending.handed = now
                self.in_flight += 1
                self.handed_total += 1
                step = 0 if pending.was_start else pending.presses_before + 1
                pending.user.step = step
                if self.measuring:
                    self.window.updates += 1
                    self.window.updates_by_step[step] += 1

    async def deliver(self, connections: int = WEBHOOK_CONNECTIONS) -> None:
        """POST queued updates to the replicas until retired, up to ``connections`` at
        once (Telegram's default), each to a replica picked at random; an update not
        answered 2xx is posted again."""
        from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

        posting: dict[int, asyncio.Task[None]] = {}
        rng = random.Random(7)

        async def post(session: ClientSession, pending: Pending) -> None:
            url = rng.choice(self.webhooks)
            headers = {
                "X-Telegram-Bot-Api-Secret-Token": self.webhook_secret,  # set by setWebhook
                "Content-Type": "application/json",
            }
            try:
                async with session.post(url, data=pending.json, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        with contextlib.suppress(ValueError):
                            self.queue.remove(pending)
                        return
            except (OSError, TimeoutError, ClientError):
                pass
            self.errors[f"webhook: not 2xx from {url}"] += 1
            await asyncio.sleep(0.1)

        connector = TCPConnector(limit=connections)
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=60)) as session:
            while not self.retired:
                if len(posting) < connections:
                    for pending in list(self.queue):
                        if len(posting) >= connections:
                            break
                        if pending.update_id in posting:
                            continue
                        if pending.handed is None and not self.active:
                            continue
                        self._hand_out([pending], time.monotonic())
                        posting[pending.update_id] = asyncio.create_task(post(session, pending))
                self.wake.clear()
                waiting = [*posting.values()]
                woken = asyncio.ensure_future(self.wake.wait())
                await asyncio.wait(
                    [*waiting, woken], timeout=0.5, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                for update_id, task in list(posting.items()):
                    if task.done():
                        del posting[update_id]
            for task in posting.values():
                task.cancel()

    def _deliverable(self) -> bool:
        queue = self.queue
        if not queue:
            return False
        return self.active or queue[0].handed is not None

    def message(self, user: User, message_id: int, params: JSON) -> JSON:
        message: JSON = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": user.chat,
            "date": int(time.time()),
            "text": params.get("text") or "…",
        }
        markup = params.get("reply_markup")
        if markup:
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if markup.get("inline_keyboard"):
                message["reply_markup"] = markup
        return message

    def send_message(self, params: JSON, now: float) -> str:
        user = self.reply_in_chat(_int(params.get("chat_id")), now)
        if user is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if not params.get("text"):
            raise _ApiError(400, "Bad Request: message text is empty")
        message = self.message(user, user.next_message_id(), params)
        if "reply_markup" in message:
            self.prompt_shown(user, message, now)
        return '{"ok":true,"result":' + _dumps(message) + "}"

    def edit_message(self, params: JSON, now: float, *, text: bool) -> str:
        user = self.reply_in_chat(_int(params.get("chat_id")), now)
        if user is None:
            raise _ApiError(400, "Bad Request: chat not found")
        message_id = _int(params.get("message_id"))
        if not isinstance(message_id, int) or not 0 < message_id <= max(user.message_ids, 1):
            raise _ApiError(400, "Bad Request: message to edit not found")
        if text and not params.get("text"):
            raise _ApiError(400, "Bad Request: text must be non-empty")
        if not text:
            old = user.prompt if user.prompt and user.prompt["message_id"] == message_id else None
            params = {**params, "text": (old or {}).get("text") or "…"}
        message = self.message(user, message_id, params)
        if "reply_markup" in message:
            self.prompt_shown(user, message, now)
        return '{"ok":true,"result":' + _dumps(message) + "}"

    def answer_callback_query(self, params: JSON, now: float) -> str:
        pending = self.queries.get(str(params.get("callback_query_id")))
        if pending is None:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if pending.first is None and pending.handed is not None:
            self._first_reply(pending, now)
        if self.measuring:
            self.window.calls_by_step[pending.presses_before + 1] += 1
        self.queries.pop(str(params.get("callback_query_id")), None)
        with contextlib.suppress(ValueError):
            pending.user.query_ids.remove(str(pending.query_id))
        return _TRUE

    def get_me(self) -> str:
        me = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        return '{"ok":true,"result":' + _dumps(me) + "}"


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _int(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


_PLAIN_TRUE = frozenset(
    {
        "setmycommands",
        "deletewebhook",
        "deletemycommands",
        "sendchataction",
        "deletemessage",
        "close",
        "logout",
        "setmydescription",
        "setmyshortdescription",
        "setchatmenubutton",
    }
)


class LoadServer:
    """The aiohttp server; ``bots`` are added with :meth:`add_bot` before or while running."""

    def __init__(self) -> None:
        self.bots: dict[str, BotState] = {}
        self.closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add_bot(self, spec: BotSpec) -> BotState:
        state = BotState(spec)
        self.bots[spec.token] = state
        return state

    def retire(self, state: BotState) -> None:
        """Answer the bot's held and future polls at once, so it can stop quickly."""
        state.active = False
        state.retired = True
        state.queue.clear()
        state.wake.set()

    def remove_bot(self, state: BotState) -> None:
        self.retire(state)
        self.bots.pop(state.spec.token, None)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handle_signals=False
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def stop(self) -> None:
        self.closing = True
        for state in self.bots.values():
            self.retire(state)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        state = self.bots.get(request.match_info["token"])
        if state is None:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        key = method.lower()
        params: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        now = time.monotonic()
        if key != "getupdates":
            state.last_call = now
            if state.measuring and state.in_flight > 0:
                state.window.stall = max(state.window.stall, now - state.progress_at)
            state.progress_at = now
        state.total_calls[method] += 1
        if state.measuring:
            state.window.calls[method] += 1
        try:
            if key == "getupdates":
                if self.closing:
                    body = '{"ok":true,"result":[]}'
                else:
                    body = await state.get_updates(params)
            elif key == "sendmessage":
                body = state.send_message(params, now)
            elif key == "editmessagetext":
                body = state.edit_message(params, now, text=True)
            elif key == "editmessagereplymarkup":
                body = state.edit_message(params, now, text=False)
            elif key == "answercallbackquery":
                body = state.answer_callback_query(params, now)
            elif key == "getme":
                body = state.get_me()
            elif key == "setwebhook":
                state.webhook_secret = str(params.get("secret_token") or "")
                state.webhooks_set += 1
                body = _TRUE
            elif key in _PLAIN_TRUE:
                body = _TRUE
            else:
                raise _ApiError(404, "Not Found: method not found")
        except _ApiError as error:
            state.errors[f"{method}: {error.description}"] += 1
            return _error(error.status, error.description)
        return web.Response(text=body, content_type="application/json")


def _error(status: int, description: str) -> web.Response:
    body = _dumps({"ok": False, "error_code": status, "description": description})
    return web.Response(text=body, status=status, content_type="application/json")
