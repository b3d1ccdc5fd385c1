"""Command line: ``python -m bot`` and its subcommands.

Each subcommand is a thin shell around the core: it reads files or the
environment, calls pure code, prints, and returns an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.findings import Finding, Severity, errors
from bot.settings import SettingsError, environment, from_env
from bot.sources import read_place, resolve

DESCRIPTION = """\
Engagement Advisor: advice on whether to inform, consult or co-produce.

With no command: the Telegram bot when TELEGRAM_BOT_TOKEN is set (in the
environment or .env), otherwise a chat in this terminal."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = commands.add_parser(
        "chat",
        help="answer a flow in the terminal",
        description="Answer a flow in the terminal. Works with piped input: one answer a "
        "line, a multi-select as 1,3 on one line; ends cleanly at end of input. "
        "Type back, restart, help or quit at any prompt.",
    )
    chat.add_argument("--flow", metavar="ID", help="the flow to run (default: pick from a menu)")
    chat.add_argument("--lang", metavar="LOCALE", default="en", help="language (default: en)")

    commands.add_parser(
        "run",
        help="run the Telegram bot (settings from the environment and .env)",
        description="Run the Telegram bot: long polling, or a webhook when "
        "TELEGRAM_WEBHOOK_URL is set. Settings come from the environment and an optional "
        ".env file; see the README. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    commands.add_parser(
        "health",
        help="exit 0 if the bot's database opens and its heartbeat is recent",
        description="For container health checks: the database at ADVISOR_DB_PATH opens and "
        "passes SQLite's quick check, and the running bot touched its heartbeat file in "
        "the last three minutes.",
    )

    flows = commands.add_parser("flows", help="check the flows and texts admins edit")
    flow_commands = flows.add_subparsers(dest="flows_command", metavar="FLOWS_COMMAND")
    flow_commands.required = True
    check = flow_commands.add_parser(
        "check",
        help="load every flow and text and report problems as file:line: message",
        description="Load flows and texts and report each problem as file:line: message. "
        "Exits 1 when there are errors; warnings alone exit 0.",
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="a flow file, a folder of flows, or a project folder with flows/ and content/ "
        "(default: this project's flows/ and content/)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "flows":
        return flows_check(args.paths)
    if args.command == "chat":
        return chat(args.flow, args.lang)
    if args.command == "run":
        return run_bot()
    if args.command == "health":
        return health()
    if environment().get("TELEGRAM_BOT_TOKEN"):
        return run_bot()
    return chat(None, "en")


def flows_check(paths: Sequence[Path]) -> int:
    """Print every finding; 1 when any is an error."""
    failed = False
    for path in paths or [None]:
        if path is not None and not path.exists():
            print(f"{path}: no such file or folder", file=sys.stderr)
            failed = True
            continue
        report = read_place(resolve(path))
        _print_findings(report.findings)
        if errors(report.findings) or report.catalog is None:
            failed = True
            continue
        catalog = report.catalog
        print(
            f"ok: {len(catalog.flows)} flow(s) ({', '.join(catalog.flows)}), "
            f"{sum(len(t) for t in catalog.texts.values())} texts in "
            f"{len(catalog.texts)} locale(s) ({', '.join(catalog.locales)})"
        )
    return 1 if failed else 0


def _print_findings(findings: list[Finding]) -> None:
    for finding in sorted(findings, key=lambda f: (f.severity is Severity.WARNING, f.file, f.line)):
        print(finding, file=sys.stderr if finding.severity is Severity.ERROR else sys.stdout)
    count = len(errors(findings))
    if count:
        print(f"{count} error(s)", file=sys.stderr)


def chat(flow_id: str | None, locale: str) -> int:
    """The terminal channel on the project's flows."""
    from bot.terminal import Terminal, stdin_reader

    report = read_place(resolve(None))
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    if locale not in report.catalog.texts:
        print(
            f"no texts for language '{locale}'; have: {', '.join(report.catalog.locales)}",
            file=sys.stderr,
        )
        return 2
    return Terminal(report.catalog, locale, stdin_reader(), sys.stdout).run(flow_id)


def run_bot() -> int:
    """The Telegram channel, until SIGTERM."""
    import asyncio

    from bot import logs
    from bot.service import serve

    try:
        settings = from_env(environment())
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.secrets)
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # python-telegram-bot's coming default
    report = read_place(resolve(None))
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    return asyncio.run(serve(settings, report.catalog))


def health() -> int:
    """0 when the database is sound and the bot's heartbeat is fresh."""
    import sqlite3
    import time

    from bot.telegram_bot import heartbeat_path

    env = environment()
    db_path = Path(env.get("ADVISOR_DB_PATH") or "data/advisor.sqlite3")
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            ok = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        print(f"unhealthy: database {db_path}: {exc}", file=sys.stderr)
        return 1
    if not ok or ok[0] != "ok":
        print(f"unhealthy: database {db_path} failed its quick check", file=sys.stderr)
        return 1
    beat = heartbeat_path(db_path)
    age = time.time() - beat.stat().st_mtime if beat.exists() else None
    if age is None or age > 180:
        print(f"unhealthy: no heartbeat in {beat} for 3 minutes", file=sys.stderr)
        return 1
    print("healthy")
    return 0
