"""The composition root: the Telegram channel wired to the store and the flows.

The only module that knows every part; each part knows only the core and its
own outside thing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from telegram.error import InvalidToken, TelegramError

from bot import logs
from bot.channels.telegram.channel import CatalogHolder, TelegramBot
from bot.flows.catalog import Catalog
from bot.settings import Settings, connectable, database_error
from bot.store.conversations import Store

log = logging.getLogger(__name__)

EXIT_SECONDS = 9.5
"""After SIGTERM the process is gone within this long, whatever it was doing:
Docker's ``stop`` kills at 10 s, and an orderly exit is better than a kill."""


async def open_store(database_url: str | None, db_path: Path, *, read_only: bool = False) -> Store:
    """PostgreSQL when a URL is given, else the SQLite file; migrated unless ``read_only``.

    Each driver is imported only when chosen, so a SQLite bot never loads asyncpg.
    The URL is handed over with its password encoded, so one written with an
    unencoded ``/``, ``#``, ``?`` or ``@`` reaches the server whole rather than
    in pieces in the host, the port and the error text.
    """
    if database_url:
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(connectable(database_url), read_only=read_only)
    from bot.store.sqlite import SQLiteStore

    return await SQLiteStore.open(db_path, read_only=read_only)


MALLOC_ARENAS = 1
"""glibc's malloc arenas for the whole process. By default each thread that
allocates gets an arena of its own (up to 8 a core): the SQLite thread's grew
to 2.4 MB under the bench's load, beside free space in the main one. The
threads (the event loop's, SQLite's, the odd ``to_thread``) mostly take turns
under the GIL, and sharing one arena cost no CPU per update the bench could see."""


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas, before the process starts any thread; whether it did.

    What ``MALLOC_ARENA_MAX`` does, for a bot started without it; an operator's
    own ``MALLOC_ARENA_MAX`` wins. Elsewhere than glibc (musl, macOS) nothing happens.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        return False
    m_arena_max = -8  # glibc's malloc.h
    return bool(mallopt(m_arena_max, arenas))


_EARLY_RELOAD = threading.Event()
"""A SIGHUP came while the bot was starting: reload once it has started."""


def defer_sighup() -> None:
    """From the very start of ``run``, a SIGHUP asks for a reload instead of ending the
    process (its default): the flows may be loading, or the store opening, and the
    reload is made once the bot has started. ``serve`` then takes the signal over."""
    signal.signal(signal.SIGHUP, lambda signum, frame: _EARLY_RELOAD.set())


async def serve(settings: Settings, catalog: Catalog) -> int:
    """Run the bot until SIGTERM or SIGINT, then shut down cleanly; the exit status."""
    try:
        store = await open_store(settings.database_url, settings.db_path)
    except Exception as exc:  # a server down, a wrong password, a file it may not write
        # One line, not a traceback, without the URL; the formatter redacts the
        # password again, in every spelling.
        log.error(
            "cannot start: the database did not answer (%s)",
            database_error(exc, settings.database_url),
        )
        return 1
    bot = TelegramBot(settings, CatalogHolder(catalog), store)
    loop = asyncio.get_running_loop()
    logs.guard_loop(loop)

    def on_stop_signal(signum: int, frame: FrameType | None) -> None:
        # A Python signal handler (not the loop's): it runs even if the loop is
        # stuck, and the timer ends the process if stopping itself hangs.
        timer = threading.Timer(EXIT_SECONDS, os._exit, args=(1,))
        timer.daemon = True
        timer.start()
        loop.call_soon_threadsafe(bot.request_stop)

    previous = {s: signal.signal(s, on_stop_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    loop.add_signal_handler(signal.SIGHUP, bot.reload_on_signal)
    try:
        try:
            await bot.start()
        except InvalidToken:
            log.error("cannot start: Telegram refused the bot token; check TELEGRAM_BOT_TOKEN")
            return 1
        except (TelegramError, OSError, ValueError) as exc:
            # The Bot API unreachable, a redirect loop, a mistyped URL scheme: the
            # message may quote the URL, and so the token; the formatter redacts it.
            log.error("cannot start: the Bot API did not answer (%s: %s)", type(exc).__name__, exc)
            return 1
        log.info("bot started (%s)", "webhook" if settings.webhook_url else "polling")
        if _EARLY_RELOAD.is_set():
            _EARLY_RELOAD.clear()
            log.info("reloading: SIGHUP came while the bot was starting")
            bot.reload_on_signal()
        await bot.stopped()
    finally:
        try:
            await asyncio.wait_for(bot.stop(), EXIT_SECONDS - 1.5)
        except TimeoutError:
            log.error("stopping took too long; exiting anyway")
        finally:
            await store.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            loop.remove_signal_handler(signal.SIGHUP)
    log.info("bot stopped")
    return 1 if bot.failed else 0
