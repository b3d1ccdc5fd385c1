"""What the channels store about a conversation, and the store they need.

The Telegram channel depends on this port, not on a database: ``sqlite``
(one process, one file) and ``postgres`` (replicas sharing a server) both
implement it, with the same tables and the same promises.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.store import jsontext
from bot.store.usage import Event

log = logging.getLogger(__name__)


class NotADatabase(Exception):
    """The configured database file is something else; nothing was changed."""


class SchemaBehind(Exception):
    """The database was opened to read, but its schema is older than this code's.

    Reading commands (``stats``, ``studio --db``) never migrate: a migration
    is a change an operator makes on purpose, with ``db migrate``."""

    def __init__(self, found: int, needed: int) -> None:
        super().__init__(
            f"the database is at schema version {found} and this version of the bot "
            f"reads version {needed}; run `python -m bot db migrate` first"
        )


class ChatHeldElsewhere(Exception):
    """Another process held the chat for as long as an update may wait: the update is
    left to Telegram's resend. Not the update's fault, so never a reason to set it aside."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"the chat was held by another replica for {waited:g} s")


class Applied(StrEnum):
    """What became of an attempt to apply an update."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    """The update was applied before; nothing was written."""
    CONFLICT = "conflict"
    """Another update for the chat was applied first; read again and retry."""


@dataclass(frozen=True, slots=True)
class Conversation:
    """One chat's stored state. ``version`` 0 means nothing is stored yet."""

    chat_id: int
    user_id: int | None = None
    locale: str | None = None
    session: Mapping[str, Any] | None = None
    last_result: Mapping[str, Any] | None = None
    prompt_message_id: int | None = None
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    outbox: str | None = None
    """The replies of update ``outbox_update``, stored with the state it wrote and
    cleared once they are sent: a copy of that update, redelivered after a crash
    between the commit and the sending, sends them (the channel's encoding)."""
    outbox_update: int | None = None


COLUMNS = (
    "user_id, locale, session, last_result, prompt_message_id, version, created_at, updated_at, "
    "outbox, outbox_update"
)
"""The columns both stores read a conversation from, in ``from_row``'s order."""


def from_row(chat_id: int, row: Sequence[Any]) -> Conversation:
    """A conversation from a row of ``COLUMNS``: one reading for both stores, so a
    column added to one cannot be forgotten in the other."""
    return Conversation(
        chat_id=chat_id,
        user_id=row[0],
        locale=row[1],
        session=_readable(row[2]),
        last_result=_readable(row[3]),
        prompt_message_id=row[4],
        version=row[5],
        created_at=row[6],
        updated_at=row[7],
        outbox=row[8],
        outbox_update=row[9],
    )


def dumps(value: Mapping[str, Any] | None) -> str | None:
    """A session or result as both stores keep it: compact JSON, or NULL."""
    return None if value is None else jsontext.dumps(value)


def loads(text: str | None) -> dict[str, Any] | None:
    return None if text is None else jsontext.loads(text)


def _readable(text: str | None) -> dict[str, Any] | None:
    """A stored session or result, or None if it cannot be read.

    A row damaged on disk, or written by hand, must not stop its chat for
    good: the conversation starts afresh, as after an idle timeout.
    """
    try:
        value = loads(text)
    except ValueError:
        value = None
    if text is not None and not isinstance(value, dict):
        log.warning("a stored conversation could not be read; it starts afresh")
        return None
    return value


class Store(Protocol):
    """Conversations by chat, applied at most once per update."""

    migrated: tuple[int, int]
    """Schema versions before and after the migrations run when the store opened."""

    async def close(self) -> None:
        """Close the connections."""
        ...

    async def migrate(self) -> tuple[int, int]:
        """Bring the schema up to date; (version before, version after)."""
        ...

    def serialised(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the chat against other processes while an update is read, applied, answered."""
        ...

    async def announce_reload(self) -> None:
        """Tell the other replicas sharing the database that the flows were reloaded."""
        ...

    async def listen_reloads(self, on_reload: Callable[[], Awaitable[None]]) -> None:
        """Call ``on_reload`` when another replica announces a reload; safe to call again."""
        ...

    async def load(self, chat_id: int) -> Conversation:
        """The chat's conversation, or an empty one at version 0."""
        ...

    async def apply(
        self,
        update_id: int | None,
        new: Conversation,
        now: float | None = None,
        events: Sequence[Event] = (),
        outbox: str | None = None,
    ) -> Applied:
        """Record the update and write ``new`` if the chat is still at ``new.version``.

        ``outbox``, the update's replies, is written in the same commit, as
        the conversation's ``outbox`` for ``update_id``, until ``settle``.
        """
        ...

    async def receive(self, updates: Sequence[tuple[int, str]], now: float | None = None) -> None:
        """Keep updates fetched by long polling (id, JSON) until ``done``: once they are
        here, Telegram may forget them, so the poll loop confirms them at once."""
        ...

    async def received(self) -> list[tuple[int, str]]:
        """The updates kept and not yet done, oldest first (a restart handles them)."""
        ...

    async def done(self, update_ids: Sequence[int]) -> None:
        """Forget handled updates from the inbox."""
        ...

    async def claim(self, update_id: int, chat_id: int, now: float | None = None) -> bool:
        """Record an update that changes no conversation (an admin command) as applied;
        False if it was before, so a copy delivered to another replica does nothing."""
        ...

    async def settle(self, chat_id: int, version: int, prompt_message_id: int | None) -> bool:
        """The replies were sent: clear the outbox and, if given, remember which message
        carries the live buttons; only if the chat is still at ``version``. It is a
        turn's last write: a store that holds the chat across processes lets it go
        with it (``serialised``)."""
        ...

    async def forget(
        self, user_id: int, update_id: int | None = None, now: float | None = None
    ) -> int:
        """Delete every row about a person: conversations, update ids, audit rows.

        With ``update_id``, record that update as applied in the same
        transaction, so the forget happens exactly once: a crash before the
        commit leaves it to Telegram's resend, and a resend after it is a
        duplicate. The id is kept with no chat: it says nothing about anyone.
        How many rows were deleted.
        """
        ...

    async def purge(self, idle_before: float, updates_before: float | None = None) -> int:
        """Delete conversations idle since before ``idle_before``, and the ids of
        updates applied before ``updates_before`` (``idle_before`` if None)."""
        ...

    async def audit(
        self, user_id: int | None, action: str, result: str, now: float | None = None
    ) -> None:
        """Record an admin action."""
        ...

    async def events_since(self, since: float) -> list[tuple[str, str, str | None, str | None]]:
        """Usage events from ``since`` on."""
        ...

    async def timed_events_since(
        self, since: float
    ) -> list[tuple[float, str, str, str | None, str | None]]:
        """Usage events from ``since`` on with their time (the studio's charts over time)."""
        ...

    async def audit_log(self, limit: int = 100) -> list[tuple[float, int | None, str, str]]:
        """The latest admin actions, newest first."""
        ...
