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

from bot.flows.findings import Finding, Severity, errors
from bot.settings import (
    SettingsError,
    connectable,
    database_error,
    database_passwords,
    environment,
    from_env,
    is_postgres_url,
)

DESCRIPTION = """\
Engagement Advisor: advice on whether to inform, consult or co-produce.

With no command: the Telegram bot when TELEGRAM_BOT_TOKEN is set (in the
environment or .env), otherwise a chat in this terminal."""


CONFIGURED_DB = "env"
"""``studio --db`` alone: the database the bot is configured with, read from the
environment, so a password never has to be typed on a command line."""

LENIENT_HELP = (
    "while drafting: report an unreachable question, a caution or reason that can never show "
    "and a guarantee about no path as warnings, not errors (/reload stays strict)"
)


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
    chat.add_argument(
        "--lang", metavar="LOCALE", default="en", help="language: en or cy (default: en)"
    )
    chat.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("results"),
        help="where each result's PDF and picture are written (default: ./results)",
    )
    chat.add_argument("--no-files", action="store_true", help="do not write the PDF and picture")
    chat.add_argument("--lenient", action="store_true", help=LENIENT_HELP)

    commands.add_parser(
        "run",
        help="run the Telegram bot (settings from the environment and .env)",
        description="Run the Telegram bot: long polling, or a webhook when "
        "TELEGRAM_WEBHOOK_URL is set. Settings come from the environment and an optional "
        ".env file; see the README. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    commands.add_parser(
        "health",
        help="exit 0 if the bot's database answers and its heartbeat is recent",
        description="For container health checks: the database answers (the PostgreSQL "
        "server at ADVISOR_DATABASE_URL, else the SQLite file at ADVISOR_DB_PATH, which "
        "must pass SQLite's quick check), and this replica's running bot touched its "
        "heartbeat file (beside ADVISOR_DB_PATH) in the last three minutes. Prints what it "
        "found either way.",
    )
    db = commands.add_parser("db", help="the database: migrations")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    db_commands.required = True
    db_commands.add_parser(
        "migrate",
        help="bring the database's schema up to date (the bot also does at start)",
        description="Run the schema migrations not yet run on the database at "
        "ADVISOR_DATABASE_URL (PostgreSQL), else ADVISOR_DB_PATH (SQLite), and print the "
        "schema version before and after. Safe to run while replicas are up: each "
        "migration runs once, under a lock.",
    )

    stats = commands.add_parser(
        "stats",
        help="usage figures per flow, without personal data",
        description="Per flow: conversations started and finished, recommendations given, "
        "cautions raised, and where people stopped, from the database at "
        "ADVISOR_DATABASE_URL, else ADVISOR_DB_PATH.",
    )
    stats.add_argument("--days", type=float, default=30.0, help="the period (default: 30)")
    stats.add_argument("--audit", action="store_true", help="also list the latest admin actions")

    studio = commands.add_parser(
        "studio",
        help="see and try the flows in a browser, before they go live",
        description="Serve a local web page on 127.0.0.1 only: every flow with its check "
        "findings, its diagram, its wording in every language side by side, its rules in "
        "words, what changed since the version in git, and a try-out. Follows edits to the "
        "flow and text files; a broken edit shows its findings while the last good version "
        "stays in use. Ctrl-C stops it. With --export DIR it serves nothing: it writes "
        "DIR/<flow>.html, one self-contained page per flow for a manager to open anywhere "
        "or print (diagram, questions, rules in words, changes, scenario results).",
    )
    studio.add_argument("--port", type=int, default=8765, help="the port (default: 8765)")
    studio.add_argument(
        "--export",
        metavar="DIR",
        type=Path,
        help="write DIR/<flow>.html for every flow (opens with no server running) and exit",
    )
    studio.add_argument(
        "--since",
        metavar="REF",
        default="HEAD",
        help="with --export: the git version to list changes against (default: HEAD)",
    )
    studio.add_argument(
        "--lang",
        metavar="LOCALE",
        help="with --export: the language of the pack's own headings and labels, such as cy "
        "(default: the flows' default language); the flow's texts show in every language",
    )
    studio.add_argument(
        "--db",
        nargs="?",
        const=CONFIGURED_DB,
        metavar="FILE",
        help="chart usage on /stats from the bot's database: --db alone (or --db env) reads "
        "the one configured for the bot (ADVISOR_DATABASE_URL, else the SQLite file at "
        "ADVISOR_DB_PATH, from the environment or .env); --db FILE reads that SQLite file. A "
        "postgresql:// URL with a password is refused here, since every user of the machine "
        "can read a command line in ps: put it in ADVISOR_DATABASE_URL or .env instead.",
    )

    flows = commands.add_parser("flows", help="check the flows and texts admins edit")
    flow_commands = flows.add_subparsers(dest="flows_command", metavar="FLOWS_COMMAND")
    flow_commands.required = True
    check = flow_commands.add_parser(
        "check",
        help="load every flow and text and report problems as file:line: message",
        description="Load flows and texts and report each problem as file:line: message. "
        "Exits 1 when there are errors; warnings alone exit 0. Checks are strict: an "
        "unreachable question, a caution or reason that can never show and a guarantee about "
        "no path are errors, as they are for /reload. Every text is also held to the "
        "plain-language rules: sentences of at most 30 words, texts of at most 700 "
        "characters, English reading ease, and Welsh that is really Welsh. Button labels "
        "over 32 characters and result cards over 1,200 are errors on every load.",
    )
    check.add_argument("--lenient", action="store_true", help=LENIENT_HELP)
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="a flow file, a folder of flows, or a project folder with flows/ and content/ "
        "(default: this project's flows/ and content/)",
    )
    test = flow_commands.add_parser(
        "test",
        help="run the scenario tests written in YAML (flows/tests/*.yaml)",
        description="Run scenario tests: each gives answers as typed, keyed by question id, and "
        "the advice they must lead to. Prints ok per scenario and a diff per failure; exits 1 "
        "on any failure.",
    )
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="scenario files or folders (default: this project's flows/tests/)",
    )
    test.add_argument("--lenient", action="store_true", help=LENIENT_HELP)
    test.add_argument(
        "--add-answer",
        action="append",
        default=[],
        metavar="QUESTION=ANSWER",
        help="after adding a question: write ANSWER for QUESTION into every scenario whose "
        "answers run out there, report each change, then run the tests (repeatable)",
    )
    graph = flow_commands.add_parser(
        "graph",
        help="draw a flow as a picture (SVG, HTML) or as Mermaid or Graphviz text",
        description="Draw a flow's questions, options, branches, outcome rules and cautions. "
        "svg and html are laid out by Graphviz (installed with the package); html is a page to "
        "open in a browser. mermaid and dot print the diagram as text: paste Mermaid into "
        "any Markdown viewer that draws it. `make docs` writes docs/flows/<id>.svg.",
    )
    graph.add_argument("flow", metavar="FLOW", help="the flow's id, e.g. plan")
    graph.add_argument("--format", choices=("mermaid", "dot", "svg", "html"), default="mermaid")
    graph.add_argument("--lang", metavar="LOCALE", default="en", help="wording to show")
    graph.add_argument(
        "--out", metavar="FILE", type=Path, help="write to this file (default: print it)"
    )
    flow_commands.add_parser(
        "schema",
        help="print the JSON Schema of the flow format",
        description="Print the JSON Schema generated from the flow model; "
        "schema/flow.schema.json is this output, so editors check flows as admins type.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status.

    Output piped into a reader that stops early (``| head``) ends quietly:
    what is left unwritten is not wanted.
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        # Further writes (and the interpreter's final flush) would raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "flows":
        if args.flows_command == "test":
            return flows_test(args.paths, lenient=args.lenient, add=args.add_answer)
        if args.flows_command == "graph":
            return flows_graph(args.flow, args.format, args.lang, args.out)
        if args.flows_command == "schema":
            from bot.flows.schema import render_schema

            sys.stdout.write(render_schema())
            return 0
        return flows_check(args.paths, lenient=args.lenient)
    if args.command == "chat":
        return chat(args.flow, args.lang, None if args.no_files else args.out, args.lenient)
    if args.command == "run":
        return run_bot()
    if args.command == "studio" and args.export is not None:
        return studio_export(args.export, args.since, args.lang)
    if args.command == "studio":
        return studio(args.port, args.db)
    if args.command == "health":
        return health()
    if args.command == "stats":
        return stats(args.days, args.audit)
    if args.command == "db":
        return db_migrate()
    if environment().get("TELEGRAM_BOT_TOKEN"):
        return run_bot()
    return chat(None, "en", Path("results"))


def flows_check(paths: Sequence[Path], *, lenient: bool = False) -> int:
    """Print every finding; 1 when any is an error."""
    from bot.sources import read_place, resolve

    failed = False
    for path in paths or [None]:
        if path is not None and not path.exists():
            print(f"{path}: no such file or folder", file=sys.stderr)
            failed = True
            continue
        report = read_place(resolve(path), lenient=lenient, plain_language=True)
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


def flows_test(paths: Sequence[Path], *, lenient: bool = False, add: Sequence[str] = ()) -> int:
    """Run YAML scenario tests against the project's flows; 1 on any failure.

    ``add`` (``--add-answer question=answer``) first writes that answer into
    every scenario that runs out at the question, and says which.
    """
    from bot.advice.scenarios import (
        add_answer,
        format_report,
        parse_scenarios,
        run_scenarios,
        succeeded,
    )
    from bot.sources import default_flows_dir, read_place, read_source, resolve

    report = read_place(resolve(None), lenient=lenient)
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    files: list[Path] = []
    for path in paths or [default_flows_dir() / "tests"]:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")))
        elif path.is_file():
            files.append(path)
        else:
            print(f"{path}: no such file or folder", file=sys.stderr)
            return 1
    for pair in add:
        question, sep, answer = pair.partition("=")
        if not sep or not question.strip():
            print(f"--add-answer {pair}: write it as QUESTION=ANSWER", file=sys.stderr)
            return 2
        if not any(question.strip() in f.questions for f in report.catalog.flows.values()):
            print(f"--add-answer {pair}: no flow has a question '{question}'", file=sys.stderr)
            return 2
        changed = 0
        for file in files:
            source = read_source(file, [], None)  # one that cannot be read is reported below
            if source is None:
                continue
            new, notes = add_answer(
                report.catalog, source.name, source.text, question.strip(), answer.strip()
            )
            for note in notes:
                print(note)
            if new != source.text:
                file.write_text(new, encoding="utf-8")
                changed += sum(" added " in n for n in notes)
        print(f"--add-answer {question.strip()}: added to {changed} scenario(s)\n")
    scenarios = []
    findings: list[Finding] = []
    for file in files:
        source = read_source(file, findings, None)  # capped, and bad bytes at their line
        if source is None:
            continue
        found, problems = parse_scenarios(source.name, source.text)
        scenarios.extend(found)
        findings.extend(problems)
    outcomes = run_scenarios(report.catalog, scenarios)
    print(format_report(outcomes, findings))
    return 0 if succeeded(outcomes, findings) else 1


def flows_graph(flow_id: str, form: str, locale: str, out: Path | None = None) -> int:
    """Draw one flow as text or as a picture, to standard output or ``out``."""
    from bot.flows.graph import to_dot, to_mermaid
    from bot.results.pictures import PictureError, standalone, svg
    from bot.sources import read_place, resolve

    report = read_place(resolve(None))
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    catalog = report.catalog
    if flow_id not in catalog.flows:
        print(f"no flow '{flow_id}'; flows: {', '.join(catalog.flows)}", file=sys.stderr)
        return 2
    flow = catalog.flows[flow_id].model
    texts = catalog.texts.get(locale)
    text = to_mermaid(flow, texts) if form == "mermaid" else to_dot(flow, texts)
    if form in ("svg", "html"):
        try:
            text = svg(text)
        except PictureError as exc:
            print(f"cannot draw {flow_id}: {exc}", file=sys.stderr)
            return 1
        if form == "html":
            text = standalone(text, catalog.text(locale, flow.title))
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    return 0


def _print_findings(findings: list[Finding]) -> None:
    for finding in sorted(findings, key=lambda f: (f.severity is Severity.WARNING, f.file, f.line)):
        print(finding, file=sys.stderr if finding.severity is Severity.ERROR else sys.stdout)
    count = len(errors(findings))
    if count:
        print(f"{count} error(s)", file=sys.stderr)
    strict = sum(f.strict for f in errors(findings))
    if strict:
        print(
            f"{strict} of them would be warnings with --lenient, while you draft",
            file=sys.stderr,
        )


def chat(flow_id: str | None, locale: str, save_to: Path | None, lenient: bool = False) -> int:
    """The terminal channel on the project's flows."""
    from bot.channels.terminal import Terminal, stdin_reader
    from bot.sources import read_place, resolve

    report = read_place(resolve(None), lenient=lenient)
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    missing = report.catalog.missing_language(locale)
    if missing is not None:
        print(missing, file=sys.stderr)
        return 2
    return Terminal(report.catalog, locale, stdin_reader(), sys.stdout, save_to).run(flow_id)


def run_bot() -> int:
    """The Telegram channel, until SIGTERM."""
    import asyncio

    # aiohttp (the transport, the webhook server) builds a FrozenList only for
    # its signals, never per call, and frozenlist's compiled build is C++:
    # importing it maps libstdc++, about 1 MB resident, for nothing. Its own
    # switch, read when aiohttp first imports it (below, with bot.service).
    os.environ.setdefault("FROZENLIST_NO_EXTENSIONS", "1")
    from bot import logs
    from bot.child_loader import load_in_child
    from bot.service import defer_sighup, limit_malloc_arenas, serve

    defer_sighup()
    limit_malloc_arenas()
    try:
        settings = from_env(environment())
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.secrets)
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # python-telegram-bot's coming default
    # Loaded in a child process, as /reload does: the serving process never
    # imports the loader (bot/child_loader.py says why).
    report = asyncio.run(load_in_child())
    if report.catalog is None:
        _print_findings(report.findings)
        return 1
    return asyncio.run(serve(settings, report.catalog))


def studio_export(folder: Path, since: str, locale: str | None = None) -> int:
    """Write the sign-off pack, one HTML file per flow; 1 if the flows do not load."""
    import asyncio

    from bot.channels.studio.export import UnknownLanguage, export

    try:
        written, problems = asyncio.run(export(folder, since, locale))
    except UnknownLanguage as exc:
        print(f"studio --export: {exc}", file=sys.stderr)
        return 2
    if not written:
        _print_findings(problems)
        print("no pages written: fix the errors above first", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def studio(port: int, db: str | None) -> int:
    """The studio's web server, until Ctrl-C or SIGTERM."""
    import asyncio
    import signal

    from bot.channels.studio.server import serve
    from bot.service import open_store
    from bot.store.conversations import NotADatabase, SchemaBehind

    chosen = _studio_database(db) if db is not None else None
    if isinstance(chosen, int):
        return chosen
    where: tuple[str | None, Path] | None = chosen

    async def main() -> None:
        try:
            store = await open_store(*where, read_only=True) if where is not None else None
        except (NotADatabase, SchemaBehind):
            raise
        except Exception as exc:  # unreadable file, corrupt database, server down
            raise NotADatabase(database_error(exc, where[0] if where else None)) from exc
        try:
            task = asyncio.create_task(serve(port, store))
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
            await task
        finally:
            if store is not None:
                await store.close()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except (NotADatabase, SchemaBehind) as exc:
        print(f"cannot read the figures: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _studio_database(db: str) -> tuple[str | None, Path] | int:
    """(PostgreSQL URL or None, SQLite file) that ``studio --db`` names; else an exit
    status, after saying why in one line.

    A URL with a password is refused rather than used: the command line of a
    running process is readable by every user of the machine (``ps``), for as
    long as the studio runs. ``--db`` alone reads it from the environment.
    """
    if db == CONFIGURED_DB:
        return _database_to_read()
    if is_postgres_url(db):
        if database_passwords(db):
            print(
                "studio --db: a URL with a password shows in ps to every user of this machine; "
                "put it in ADVISOR_DATABASE_URL (or .env) and give --db alone",
                file=sys.stderr,
            )
            return 2
        return db, Path()
    if not Path(db).is_file():
        print(f"no database at {db}", file=sys.stderr)
        return 1
    return None, Path(db)


def stats(days: float, with_audit: bool) -> int:
    """Print the usage figures (and the audit log) from the bot's database."""
    import asyncio
    import time

    from bot.advice.render import Renderer
    from bot.service import open_store
    from bot.sources import read_place, resolve
    from bot.store.conversations import NotADatabase, SchemaBehind
    from bot.store.usage import report, tally

    where = _database_to_read()
    if isinstance(where, int):
        return where
    url, db_path = where
    loaded = read_place(resolve(None))
    if loaded.catalog is None:
        _print_findings(loaded.findings)
        return 1

    async def read() -> tuple[list[tuple[str, str, str | None, str | None]], list]:
        # Read only: it refuses a file that is no database, and migrates nothing.
        store = await open_store(url, db_path, read_only=True)
        try:
            rows = await store.events_since(time.time() - days * 86400)
            log = await store.audit_log() if with_audit else []
        finally:
            await store.close()
        return rows, log

    try:
        rows, log = asyncio.run(read())
    except (NotADatabase, SchemaBehind) as exc:
        print(f"cannot read the figures: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # unreadable file, corrupt database, server down
        print(f"cannot read the figures: {database_error(exc, url)}", file=sys.stderr)
        return 1
    print(report(tally(rows), days, Renderer(loaded.catalog, loaded.catalog.default_locale)))
    if with_audit:
        print("\nAdmin actions, newest first:")
        for at, user, action, result in log:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
            print(f"{when}Z  {user if user is not None else '-'}  {action}: {result}")
    return 0


def _database() -> tuple[str | None, Path] | None:
    """(PostgreSQL URL or None, SQLite path) from the environment; None after saying why."""
    from bot.settings import database_url, db_path

    env = environment()
    try:
        return database_url(env), db_path(env)
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return None


def _database_to_read() -> tuple[str | None, Path] | int:
    """The configured database for a command that only reads it; else an exit status,
    after saying why: a SQLite file is never created just to be read."""
    where = _database()
    if where is None:
        return 2
    url, path = where
    if url is None and not path.exists():
        print(f"no database at {path}; set ADVISOR_DB_PATH", file=sys.stderr)
        return 1
    return url, path


def db_migrate() -> int:
    """Bring the schema up to date and say from which version to which."""
    import asyncio

    from bot.service import open_store

    where = _database()
    if where is None:
        return 2

    async def migrate() -> tuple[int, int]:
        store = await open_store(*where)  # opening migrates, as the bot does at start
        await store.close()
        return store.migrated

    try:
        before, after = asyncio.run(migrate())
    except Exception as exc:
        print(f"cannot migrate: {database_error(exc, where[0])}", file=sys.stderr)
        return 1
    if before == after:
        print(f"database schema at version {after}: nothing to migrate")
    else:
        print(f"database schema migrated from version {before} to {after}")
    return 0


def health() -> int:
    """0 when the database answers and this replica's heartbeat is fresh; says which failed."""
    import time

    from bot.channels.telegram.channel import heartbeat_path

    where = _database()
    if where is None:
        return 2
    url, db_path = where
    database = _check_postgres(url) if url else _check_sqlite(db_path)
    beat = heartbeat_path(db_path)
    age = time.time() - beat.stat().st_mtime if beat.exists() else None
    loop = (
        f"loop: no heartbeat in {beat} for 3 minutes"
        if age is None or age > 180
        else f"loop: heartbeat {age:.0f} s ago"
    )
    if database.startswith("database: ok") and age is not None and age <= 180:
        print(f"healthy; {database}; {loop}")
        return 0
    print(f"unhealthy; {database}; {loop}", file=sys.stderr)
    return 1


def _check_sqlite(db_path: Path) -> str:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            ok = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        return f"database {db_path}: {exc}"
    if not ok or ok[0] != "ok":
        return f"database {db_path} failed its quick check"
    return f"database: ok (SQLite {db_path})"


def _check_postgres(url: str) -> str:
    import asyncio

    from bot.store.postgres import check

    try:
        return f"database: ok ({asyncio.run(check(connectable(url)))})"
    except Exception as exc:
        return f"database: {database_error(exc, url)}"
