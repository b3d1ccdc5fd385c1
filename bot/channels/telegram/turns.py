"""One update at a time per chat, lowest update id first; different chats side by side.

A chat's updates must be applied in order and never two at once: each is
decided from the conversation the one before it stored. Telegram may post
several updates of one chat to a webhook at once (up to 40 connections), and
the poll loop takes a batch of many chats. Each update waits for its chat's
turn here, so within a process a chat never races itself, while one person's
slow step (a PDF, a slow Bot API answer) holds up nobody else. Across
processes the store's version check serialises the writes.
https://core.telegram.org/bots/api#setwebhook (max_connections)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class NotApplied(Exception):
    """An update whose effect was not stored: it must not be confirmed to Telegram,
    which then sends it again (the poll loop's offset stays; the webhook answers 503)."""


@dataclass(slots=True)
class _Chat:
    """Whether the chat's turn is taken, and who waits for it, lowest update id first."""

    busy: bool = False
    waiting: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)


class ChatTurns:
    """Turns per chat; a chat nobody holds or waits for costs nothing."""

    def __init__(self) -> None:
        self._chats: dict[Hashable, _Chat] = {}
        self._order = itertools.count()

    def busy(self, chat: Hashable) -> bool:
        """Whether an update of ``chat`` is being handled now."""
        state = self._chats.get(chat)
        return state is not None and state.busy

    @asynccontextmanager
    async def turn(self, chat: Hashable, update_id: int) -> AsyncIterator[None]:
        """Wait for the chat's turn (waiting updates go lowest id first), hold it inside."""
        state = self._chats.setdefault(chat, _Chat())
        if state.busy:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(state.waiting, (update_id, next(self._order), waiter))
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._pass_on(chat, state)  # the turn came as we were cancelled
                raise
        else:
            state.busy = True
        try:
            yield
        finally:
            self._pass_on(chat, state)

    def _pass_on(self, chat: Hashable, state: _Chat) -> None:
        """Give the turn to the next live waiter, or free the chat."""
        while state.waiting:
            _, _, waiter = heapq.heappop(state.waiting)
            if not waiter.done():
                waiter.set_result(None)
                return
        state.busy = False
        del self._chats[chat]
