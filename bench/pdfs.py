"""Other chats' reply latency while PDFs are being made (issue 16's measure).

One bot (the real Application, SQLite, the project's flows) talks to the
fake Bot API of the tests on 127.0.0.1. Five chats answer questions as
people do (a quarter of a second between a reply and the next message);
first alone, then while three more chats each get a new result and tap
"Save as PDF" over and over (a new result every time, so every file is
really drawn). The figure is the p99 of the other chats'
time from sending a message to the bot's first reply to it; the target is
under 100 ms.

    .venv/bin/python -m bench.pdfs [--seconds 10] [--postgres]

``--postgres`` keeps the conversations in a throwaway PostgreSQL server (as the
tests start one, ``tests/pgserver.py``) instead of SQLite: there a chat's turn
once held a pool connection through its Telegram calls and the PDF queue.

Prints one JSON object. ``bench.run`` runs it as a child and reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.sources import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests"))

from fakebotapi import FakeBotAPI

OTHERS = 5
MAKERS = 3
ANSWERS = ("6", "3", "1", "1", "2", "3")
"""After the first question: place not given, the decision is made by us, the change
is still ahead, no handover, nobody was asked; a result follows."""


def changes(api: FakeBotAPI, chat: int) -> int:
    """How many messages the bot has sent the chat, and texts it has edited there."""
    return sum(1 + len(m.history) for m in api.chat(chat).messages)


def last_id(api: FakeBotAPI, chat: int) -> int:
    """The id of the bot's last message in the chat (0 before any)."""
    messages = api.chat(chat).messages
    return messages[-1].message_id if messages else 0


def answered(api: FakeBotAPI, chat: int, before: int) -> bool:
    """Whether the bot has put up its next question, or the result, since message ``before``:
    a new message, or the last one edited into a result (it offers the PDF)."""
    messages = api.chat(chat).messages
    if not messages:
        return False
    last = messages[-1]
    return last.message_id > before or any((d or "").startswith("pdf:") for _, d in last.buttons())


async def holds(api: FakeBotAPI, test: Callable[[], bool], give_up: float) -> bool:
    """Wait until ``test()`` holds (woken by the fake); False if ``give_up`` comes first."""
    try:
        await api.wait_for(lambda _: test(), give_up - time.monotonic())
    except TimeoutError:
        return False
    return True


STEPS = ("/start plan", "{chat}-{n}", *ANSWERS)
"""What a chat types: the flow, its first answer, then the rest; a result follows.
Each is answered with a new question or the result (sent, or edited into place)."""


THINK = 0.25
"""Seconds a chat waits between a reply and its next message. People read before
they tap; with no pause eight chats would keep the bot saturated, and the figure
would be the bench's own queue rather than what the PDFs cost others."""


async def answer_flow(
    api: FakeBotAPI, chat: int, n: int, latencies: list[float], think: float = 0.0
) -> bool:
    """Go through the flow once, timing the bot's first reply to each message."""
    for text in STEPS:
        await asyncio.sleep(think)
        before, shown = changes(api, chat), last_id(api, chat)
        began = time.monotonic()
        api.send_text(chat, text.format(chat=chat, n=n), language_code="cy")
        if not await holds(api, lambda b=before: changes(api, chat) > b, began + 30):
            return False
        latencies.append((time.monotonic() - began) * 1000)
        if not await holds(api, lambda s=shown: answered(api, chat, s), began + 30):
            return False
    return True


async def other_chat(api: FakeBotAPI, chat: int, until: float, latencies: list[float]) -> None:
    """Answer the plan flow again and again, timing each reply."""
    n = 0
    while time.monotonic() < until and await answer_flow(api, fresh(chat, n), n, latencies, THINK):
        n += 1


async def pdf_maker(
    api: FakeBotAPI, chat: int, until: float, made: list[int], *, once: bool = False
) -> None:
    """Reach a new result and tap Save as PDF, until the time is up (or ``once``)."""
    n = 0
    while time.monotonic() < until or (once and not made):
        here = fresh(chat, n)
        if not await answer_flow(api, here, n, [], 0.0 if once else THINK):
            return
        card = api.last_message(here)
        data = next((d for _, d in card.buttons() if d and d.startswith("pdf:")), None)
        if data is None:
            return
        before = len(api.chat(here).messages)
        api.press(here, data, message_id=card.message_id)
        if not await holds(  # the PDF and the picture
            api, lambda h=here, b=before: len(api.chat(h).messages) >= b + 2, time.monotonic() + 60
        ):
            return
        made.append(1)
        n += 1
        if once:
            return


def fresh(chat: int, n: int) -> int:
    """A new chat for each pass: a chat that has been through the flow has its place
    remembered (``remember: true``), so the same typed answers would land one
    question later."""
    return chat + 100_000 * n


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def measure(seconds: float, url: str | None = None) -> dict[str, Any]:
    from bot.channels.telegram.channel import CatalogHolder, TelegramBot
    from bot.service import open_store
    from bot.settings import Settings
    from bot.sources import project_catalog

    async with FakeBotAPI() as api:
        with tempfile.TemporaryDirectory(prefix="advisor-pdfs-") as tmp:
            db = Path(tmp) / "advisor.sqlite3"
            store = await open_store(url, db)
            settings = Settings(
                token=api.token,
                base_url=api.base_url,
                base_file_url=api.base_file_url,
                db_path=db,
                database_url=url,
            )
            bot = TelegramBot(settings, CatalogHolder(project_catalog()), store)
            await bot.start()
            try:
                # Warm up: one PDF drawn (fonts and plotting loaded) before timing.
                warm: list[int] = []
                await pdf_maker(api, 9000, time.monotonic() + 0.001, warm, once=True)
                alone: list[float] = []
                until = time.monotonic() + seconds
                await asyncio.gather(
                    *(other_chat(api, 7000 + c, until, alone) for c in range(OTHERS))
                )
                busy: list[float] = []
                made: list[int] = []
                until = time.monotonic() + seconds
                await asyncio.gather(
                    *(other_chat(api, 8000 + c, until, busy) for c in range(OTHERS)),
                    *(pdf_maker(api, 9100 + c, until, made) for c in range(MAKERS)),
                )
            finally:
                await bot.stop()
                await store.close()
    return {
        "other_chats": OTHERS,
        "pdf_chats": MAKERS,
        "seconds": seconds,
        "pdfs_made": len(made),
        "p50_ms": percentile(busy, 0.5),
        "p99_ms": percentile(busy, 0.99),
        "replies": len(busy),
        "without_pdfs_p50_ms": percentile(alone, 0.5),
        "without_pdfs_p99_ms": percentile(alone, 0.99),
        "target_p99_ms": 100,
        "store": "postgres" if url else "sqlite",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pdfs", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="each phase (default 10)")
    parser.add_argument(
        "--postgres", action="store_true", help="on a throwaway PostgreSQL server, not SQLite"
    )
    args = parser.parse_args(argv)
    if not args.postgres:
        return report(asyncio.run(measure(args.seconds)))
    import pgserver

    cluster = pgserver.start()
    if isinstance(cluster, str):
        print(f"no PostgreSQL server: {cluster}", file=sys.stderr)
        return 1
    try:
        return report(asyncio.run(measure(args.seconds, cluster.database())))
    finally:
        cluster.close()


def report(figures: dict[str, Any]) -> int:
    """Print the figures; fail if no PDF was made, which would make them meaningless."""
    print(json.dumps(figures))
    if not figures["pdfs_made"]:
        print(
            "no PDF was made: ANSWERS in bench/pdfs.py no longer lead the plan flow to a"
            " result (a question was added or its options changed)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
