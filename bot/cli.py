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


def _token_set() -> bool:
    return bool(os.environ.get("TELEGRAM_BOT_TOKEN"))
