"""The loader run in a child process, so serving never waits on it.

Checking flows is all CPU: proving a 300-question flow takes about a
second, which in the serving process would freeze every conversation (a
thread would not help: the proofs hold the GIL). Loading also needs the
YAML parser, the checks and the proof engine, which serving never uses
again. So the bot runs ``python -m bot.child_loader`` at start and on
/reload, and compiles the catalog from the validated flows and texts it
sends back. With the flow model kept free of pydantic (``bot.flows.model``), the
serving process imports 10 MB less (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.flows import findings, model
from bot.flows.catalog import LoadReport, build_catalog
from bot.flows.findings import Finding

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 120.0
"""Far above any flow the loader accepts (its size limits bound the proofs)."""

MEMORY_BYTES = 1024**3
"""The child's address space: a flow that makes the loader grow past this ends
it with MemoryError (one finding), not the machine's memory."""

SECRETS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
"""Settings the child has no use for, kept out of its environment."""


def _code_version() -> str:
    """A digest of the modules whose classes cross the pipe, as this process imported them.

    The child runs the code on disk. If that changed since the bot started
    (an upgrade, then /reload), the child's classes may not be the bot's, and
    unpickling would put field values in the wrong places without an error.
    """
    digest = hashlib.sha256()
    for module in (model, findings):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


CODE_VERSION = _code_version()


async def load_in_child(path: Path | None = None) -> LoadReport:
    """Load and prove the flows ``bot.sources.resolve(path)`` names, in a child process.

    The report is the loader's own, findings and all; a child that fails in
    a way the loader does not report (killed, out of memory, other code) is
    one finding.
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
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()
        return _failed(f"checking the flows took more than {TIMEOUT_SECONDS:g} s")
    except asyncio.CancelledError:  # the bot is stopping: leave no child behind
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await asyncio.shield(child.wait())
        raise
    if child.returncode != 0 or not out:
        detail = err.decode("utf-8", "replace").strip()
        log.error("the flow check process exited with %s: %s", child.returncode, detail[-2000:])
        last = detail.splitlines()[-1] if detail else "no output"
        return _failed(f"the flow check process failed (exit {child.returncode}): {last}")
    try:
        version, found, flows, texts, default_locale = pickle.loads(out)  # our own child's
    except Exception as exc:  # whatever the cause, the output cannot be used
        log.error("could not read the flow check process's output: %r", exc)
        return _failed("could not read the flow check process's output")
    if version != CODE_VERSION:
        return _failed(
            "the bot's code changed on disk since it started",
            "restart the bot to load flows with the new code",
        )
    if flows is None:
        return LoadReport(None, found)
    return LoadReport(build_catalog(flows, texts, default_locale), found)


def _failed(message: str, hint: str = "run: python -m bot flows check, to see why") -> LoadReport:
    return LoadReport(None, [Finding("flows", 1, message, hint)])


def limit_memory(limit: int = MEMORY_BYTES) -> None:
    """Cap this process's address space (where the platform allows it)."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # no such limit here: the timeout still holds
        pass


def main(argv: Sequence[str]) -> int:
    """The child: load, then write the findings and validated flows to stdout."""
    limit_memory()
    from bot.sources import read_place, resolve

    report = read_place(resolve(Path(argv[0]) if argv else None))
    catalog = report.catalog
    if catalog is None:
        payload: tuple[object, ...] = (CODE_VERSION, report.findings, None, None, None)
    else:
        flows = {fid: compiled.model for fid, compiled in catalog.flows.items()}
        texts = {locale: dict(table) for locale, table in catalog.texts.items()}
        payload = (CODE_VERSION, report.findings, flows, texts, catalog.default_locale)
    sys.stdout.buffer.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
