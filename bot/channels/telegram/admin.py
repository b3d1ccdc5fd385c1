"""Admin commands (/reload, /stats) and reloading the flows, from a command, SIGHUP or a peer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.advice.render import Renderer
from bot.advice.uitext import UI
from bot.channels.telegram.base import BotBase
from bot.channels.telegram.incoming import Incoming, Message
from bot.channels.telegram.wire import (
    is_number,
)
from bot.flows.findings import Severity
from bot.store.conversations import Conversation
from bot.store.usage import report, tally

log = logging.getLogger(__name__)

ADMIN_COMMANDS = frozenset({"reload", "stats"})


class Admin(BotBase):
    """The admin part of ``TelegramBot``: commands for configured admins, and reloads."""

    async def admin(self, update: Incoming, command: str, argument: str) -> None:
        """/reload and /stats: for configured admins only, and every attempt audited."""
        user = update.effective_user
        message = update.message
        assert user is not None
        assert message is not None
        words = Renderer(
            self.holder.catalog, self.advisor.locale_for(Conversation(0), user.language_code)
        )
        if user.id not in self.settings.admin_ids:
            # Recorded without the person's id: they are no admin, and the audit
            # log keeps admins' rows for good (docs/operations.md, Retention).
            await self.store.audit(None, command, "denied", self.clock())
            await self.reply(message, words.t(UI.ADMIN_DENIED))
            return
        if command == "reload":
            # Beside the updates: the poll loop takes them one at a time, and
            # checking the flows takes about a second.
            self.in_background(self.reload_and_reply(user.id, message, words))
            return
        days = float(argument) if is_number(argument) else 30.0
        rows = await self.store.events_since(self.clock() - days * 86400)
        text = report(tally(rows), days, words)
        await self.store.audit(user.id, command, f"ok ({days:g} days)", self.clock())
        await self.reply(message, text)

    async def reload_and_reply(self, user_id: int, message: Message, words: Renderer) -> None:
        """/reload from an admin: reload, audit it, and tell them how it went."""
        text, result = await self.reload(words)
        await self.store.audit(user_id, "reload", result, self.clock())
        await self.reply(message, text)

    async def reload(self, words: Renderer, announce: bool = True) -> tuple[str, str]:
        """Re-read flows and texts; swap them in only if they load without errors.

        Conversations carry on: each is fitted to the new flows at its next
        update (``engine.resume``), keeping every answer that still fits.
        With ``announce``, a reload that succeeded is announced to the other
        replicas sharing the database, which then reload too.

        Requests coalesce: one load runs at a time, and every request made
        while it runs is answered by the next load, which starts after all of
        them. Thirty SIGHUPs or /reloads at once make two loads, not thirty
        child processes of a few hundred megabytes each.
        """
        self._reload_asked += 1
        asked = self._reload_asked
        async with self._reloading:
            if self._reload_began < asked:  # no load began since this request: run one
                self._reload_began = self._reload_asked
                self._reload_outcome = await self._load_and_swap(announce)
        outcome = self._reload_outcome
        assert outcome is not None
        if outcome.problems is not None:
            problems = outcome.problems
            listed = "\n".join(problems[:15])
            more = len(problems) - 15
            if more > 0:
                listed += f"\n(+{more})"
            text = words.t(UI.ADMIN_REFUSED, count=len(problems), findings=listed)
            return text, f"refused: {len(problems)} error(s)"
        text = words.t(
            UI.ADMIN_RELOADED, flows=outcome.flows, texts=outcome.texts, warnings=outcome.warnings
        )
        return text, f"ok: {outcome.flows} flow(s), {outcome.warnings} warning(s)"

    async def _load_and_swap(self, announce: bool) -> Reloaded:
        loaded = await self.load_catalog()
        problems = [f for f in loaded.findings if f.severity is Severity.ERROR]
        if loaded.catalog is None or problems:
            log.warning("reload refused: %d error(s)", len(problems))
            return Reloaded(problems=[str(f) for f in problems])
        self.holder.catalog = loaded.catalog
        self._files.clear()  # a reworded text changes the files, not the flow's version
        await self.register_commands()  # the command names come from the texts too
        log.info("reloaded %d flow(s)", len(loaded.catalog.flows))
        if announce:
            try:
                await self.store.announce_reload()
            except Exception as exc:
                log.warning("could not tell the other replicas about the reload (%s)", exc)
        return Reloaded(
            flows=len(loaded.catalog.flows),
            texts=sum(len(t) for t in loaded.catalog.texts.values()),
            warnings=len(loaded.findings),
        )

    def reload_on_signal(self) -> None:
        """SIGHUP: reload in the background and audit it as the operator's action."""

        async def job() -> None:
            words = Renderer(self.holder.catalog, self.holder.catalog.default_locale)
            _, result = await self.reload(words)
            await self.store.audit(None, "reload (SIGHUP)", result, self.clock())

        self.in_background(job())

    async def reload_from_peer(self) -> None:
        """Another replica reloaded (after /reload or SIGHUP there): read the same files."""
        words = Renderer(self.holder.catalog, self.holder.catalog.default_locale)
        _, result = await self.reload(words, announce=False)
        log.info("reloaded on another replica's notice: %s", result)


@dataclass(frozen=True, slots=True)
class Reloaded:
    """What one load of the flows came to, worded for each admin who asked."""

    problems: list[str] | None = None
    """The errors that refused it; None if it was swapped in."""
    flows: int = 0
    texts: int = 0
    warnings: int = 0
