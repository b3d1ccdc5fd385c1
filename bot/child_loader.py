"""The loader run in a child process, so serving never waits on it.

Checking flows is all CPU: proving a 300-question flow takes about a
second, and in the serving process that second would freeze every
conversation (a thread would not help: the proofs hold the GIL). Loading
also needs the YAML parser, the checks and the proof engine, which serving
never uses again. So the bot runs ``python -m bot.child_loader`` at start
and on /reload, and compiles the catalog from the validated flows and texts
it sends back. With the flow model kept free of pydantic (``bot.model``),
the serving process imports 10 MB less (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.catalog import LoadReport, build_catalog
from bot.findings import Finding

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 120.0
"""Far above any flow the loader accepts (its size limits bound the proofs)."""

SECRETS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
"""Settings the child has no use for, kept out of its environment."""


async def load_in_child(path: Path | None = None) -> LoadReport:
    """Load and prove the flows ``bot.sources.resolve(path)`` names, in a child process.

    The report is the loader's own, findings and all; a child that fails in
    a way the loader does not report (killed, out of memory) is one finding.
    """
    command = [sys.executable, "-m", "bot.child_loader", *([str(path)] if path else [])]
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    child = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        child.kill()
        await child.wait()
        return _failed(f"checking the flows took more than {TIMEOUT_SECONDS:g} s")
    except asyncio.CancelledError:  # the bot is stopping: leave no child behind
        child.kill()
        await asyncio.shield(child.wait())
        raise
    if child.returncode != 0 or not out:
        detail = err.decode("utf-8", "replace").strip()
        log.error("the flow check process exited with %s: %s", child.returncode, detail[-2000:])
        last = detail.splitlines()[-1] if detail else "no output"
        return _failed(f"the flow check process failed (exit {child.returncode}): {last}")
    findings, flows, texts, default_locale = pickle.loads(out)
    if flows is None:
        return LoadReport(None, findings)
    return LoadReport(build_catalog(flows, texts, default_locale), findings)


def _failed(message: str) -> LoadReport:
    return LoadReport(
        None, [Finding("flows", 1, message, "run: python -m bot flows check, to see why")]
    )


def main(argv: Sequence[str]) -> int:
    """The child: load, then write the findings and validated flows to stdout."""
    from bot.sources import read_place, resolve

    report = read_place(resolve(Path(argv[0]) if argv else None))
    catalog = report.catalog
    if catalog is None:
        payload: tuple[object, ...] = (report.findings, None, None, None)
    else:
        flows = {fid: compiled.model for fid, compiled in catalog.flows.items()}
        texts = {locale: dict(table) for locale, table in catalog.texts.items()}
        payload = (report.findings, flows, texts, catalog.default_locale)
    sys.stdout.buffer.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
