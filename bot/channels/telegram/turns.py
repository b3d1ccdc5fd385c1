"""One update at a time per chat, lowest update id first; different chats side by side.

A chat's updates must be applied in order and never two at once: each is
decided from the conversation the one before it stored. Telegram may post
several updates of one chat to a webhook at once (up to 40 connections), and
the poll loop takes a batch of many chats. Each update waits for its chat's
turn here, so within a process a chat never races itself, while one person's
slow step (a PDF, a slow Bot API answer) holds up nobody else. Across
processes the store serialises them (PostgreSQL's chat lock; the version
check refuses a stale write on either store). An update that was not
applied holds back its chat's later ones until it comes back.
https://core.telegram.org/bots/api#setwebhook (max_connections)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable, Hashable
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


BLOCK_SECONDS = 600.0
"""How long a chat's later updates wait for those not applied to come back, counted
from the first of them: with several replicas, one may be resent to another."""


class ChatTurns:
    """Turns per chat; a chat nobody holds or waits for costs nothing.

    An update that was not applied (``NotApplied``: the database was down, say)
    comes back later, resent by Telegram or tried again from the inbox; until it
    is applied, the chat's later updates are refused too, or they would be
    applied before it, out of order. Each refused update keeps its own place:
    they come back in whatever order their retries fall (each waits its own
    pause), and only the lowest of them may go next.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._chats: dict[Hashable, _Chat] = {}
        self._order = itertools.count()
        self._blocked: dict[Hashable, tuple[float, set[int]]] = {}
        """Chat -> since when its updates are refused, and the ids not applied since."""
        self._clock = clock
        self._swept = clock()

    def waiting(self) -> int:
        """How many updates wait for their chat's turn, behind another of the same chat
        (a waiter cancelled meanwhile counts until its turn would have come)."""
        return sum(len(state.waiting) for state in self._chats.values())

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
            if self._comes_after_another(chat, update_id):
                self._refused(chat, update_id)
                raise NotApplied(update_id)  # an earlier update of this chat comes first
            try:
                yield
            except NotApplied:
                self._refused(chat, update_id)
                raise
            self._applied(chat, update_id)
        finally:
            self._pass_on(chat, state)

    def _comes_after_another(self, chat: Hashable, update_id: int) -> bool:
        """Whether an earlier update of the chat was refused and has not been applied since."""
        blocked = self._blocked.get(chat)
        if blocked is None:
            return False
        if self._clock() - blocked[0] > BLOCK_SECONDS:
            # They will not come back here (resent to another replica, or given up):
            # waiting longer would hold the chat for good.
            del self._blocked[chat]
            return False
        return update_id > min(blocked[1])

    def _refused(self, chat: Hashable, update_id: int) -> None:
        now = self._clock()
        if now - self._swept > BLOCK_SECONDS:  # chats gone quiet while blocked
            self._swept = now
            for gone in [
                c for c, (since, _) in self._blocked.items() if now - since > BLOCK_SECONDS
            ]:
                del self._blocked[gone]
        blocked = self._blocked.get(chat)
        if blocked is None or update_id <= min(blocked[1]):
            # The first, or the lowest came back refused again (a long outage): it is
            # not lost elsewhere, so the wait starts afresh.
            blocked = self._blocked[chat] = (now, blocked[1] if blocked else set())
        blocked[1].add(update_id)

    def _applied(self, chat: Hashable, update_id: int) -> None:
        blocked = self._blocked.get(chat)
        if blocked is not None:
            blocked[1].discard(update_id)
            if not blocked[1]:
                del self._blocked[chat]

    def _pass_on(self, chat: Hashable, state: _Chat) -> None:
        """Give the turn to the next live waiter, or free the chat."""
        while state.waiting:
            _, _, waiter = heapq.heappop(state.waiting)
            if not waiter.done():
                waiter.set_result(None)
                return
        state.busy = False
        del self._chats[chat]
