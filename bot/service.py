"""The composition root: the Telegram channel wired to the store and the flows.

The only module that knows every part; each part knows only the core and its
own outside thing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bot.channels.telegram.channel import CatalogHolder, TelegramBot
from bot.flows.catalog import Catalog
from bot.settings import Settings
from bot.store.conversations import Store

log = logging.getLogger(__name__)


async def open_store(database_url: str | None, db_path: Path) -> Store:
    """PostgreSQL when a URL is given, else the SQLite file; migrated either way.

    Each driver is imported only when chosen, so a SQLite bot never loads asyncpg.
    """
    if database_url:
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(database_url)
    from bot.store.sqlite import SQLiteStore

    return await SQLiteStore.open(db_path)


async def serve(settings: Settings, catalog: Catalog) -> int:
    """Run the bot until SIGTERM or SIGINT, then shut down cleanly; the exit status."""
    store = await open_store(settings.database_url, settings.db_path)
    bot = TelegramBot(settings, CatalogHolder(catalog), store)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, bot.request_stop)
    loop.add_signal_handler(signal.SIGHUP, bot.reload_on_signal)
    try:
        await bot.start()
        log.info("bot started (%s)", "webhook" if settings.webhook_url else "polling")
        await bot.stopped()
    finally:
        await bot.stop()
        await store.close()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    log.info("bot stopped")
    return 1 if bot.failed else 0
