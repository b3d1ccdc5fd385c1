"""``python -m bench.profiled run``: ``python -m bot run`` under cProfile.

Used by ``bench.run`` for ours when ``BENCH_CPROFILE=/path/ours.prof`` is set
(py-spy, ``--profile DIR``, is the better tool: it does not slow the bot).
The stats are written when the bot stops (SIGTERM); read them with
``python -m pstats /path/ours.prof`` or snakeviz.
"""

from __future__ import annotations

import cProfile
import os
import sys

from bot.cli import main

if __name__ == "__main__":
    profiler = cProfile.Profile()
    try:
        status = profiler.runcall(main, sys.argv[1:])
    finally:
        profiler.dump_stats(os.environ["BENCH_CPROFILE"])
    sys.exit(status)
