"""``python -m bench.traced run``: ``python -m bot run`` under tracemalloc.

Used by ``bench.run`` for ours when ``BENCH_TRACEMALLOC=/path/ours`` is set
(``BENCH_TRACE_FRAMES``, default 1, frames kept per allocation). Peak RSS is
the high-water mark, so what matters is what is alive at the busiest moment:
a thread takes a snapshot whenever the traced total is the highest so far,
and the largest is written to ``/path/ours`` when the bot stops, with the
first one, taken once the bot has started, in ``/path/ours.start`` to compare
with. tracemalloc roughly doubles the memory and slows the bot: read the
snapshots for where the memory goes, never for how much.
"""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc

from bot.cli import main

STARTED_SECONDS = 6.0
"""When the bot, slowed by tracemalloc, is taken to have started."""


def watch(path: str, done: threading.Event, peak: list[tracemalloc.Snapshot]) -> None:
    done.wait(STARTED_SECONDS)
    tracemalloc.take_snapshot().dump(path + ".start")
    highest = 0
    while not done.wait(0.5):
        current, _ = tracemalloc.get_traced_memory()
        if current > highest:
            highest = current
            peak[:] = [tracemalloc.take_snapshot()]


if __name__ == "__main__":
    path = os.environ["BENCH_TRACEMALLOC"]
    tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "1")))
    done = threading.Event()
    peak: list[tracemalloc.Snapshot] = []
    watcher = threading.Thread(target=watch, args=(path, done, peak), daemon=True)
    watcher.start()
    try:
        status = main(sys.argv[1:])
    finally:
        done.set()
        watcher.join(5)
        if peak:
            peak[0].dump(path)
    sys.exit(status)
