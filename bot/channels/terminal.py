"""The terminal channel: a flow answered at a prompt or from piped lines.

Scriptable on purpose: one answer a line, a multi-select as ``1,3`` on one
line, and a clean exit at end of input, so admins and CI can run a flow
end to end with ``printf ... | python -m bot chat``.
"""

from __future__ import annotations

import os
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.advice import engine
from bot.advice.engine import Session, Step
from bot.advice.render import Prompt, Renderer, plain
from bot.advice.uitext import UI, also_words
from bot.flows.catalog import Catalog, CompiledFlow
from bot.flows.model import QuestionKind


class Terminal:
    """One person's conversation on standard input and output."""

    def __init__(
        self,
        catalog: Catalog,
        locale: str,
        read: Callable[[], str | None],
        out: TextIO,
        save_to: Path | None = None,
    ) -> None:
        self.catalog = catalog
        self.words = Renderer(catalog, locale)
        self.locale = locale
        self.read = read
        self.out = out
        self.save_to = save_to
        self.saved = 0
        """Result files written in this run, which hold the answers."""
        self.commands = {
            name: {_plain(self.words.t(ui)), ui.value.rsplit(".", 1)[1]}
            for name, ui in (
                ("back", UI.COMMAND_BACK),
                ("restart", UI.COMMAND_RESTART),
                ("help", UI.COMMAND_HELP),
                ("quit", UI.COMMAND_QUIT),
            )
        }
        for word, name in also_words(catalog.texts.get(locale, {})).items():
            if name in self.commands:
                self.commands[name].add(_plain(word))

    def say(self, text: str = "") -> None:
        """Print a line; control characters in it shown, never obeyed (see ``visible``)."""
        print(visible(text), file=self.out, flush=True)

    def command(self, line: str) -> str | None:
        """Which command a line is, if any (the word in this locale or in English).

        Spaces count as ``_``, as Telegram's names cannot hold one: "yn ôl" is ``yn_ol``.
        """
        word = "_".join(_plain(line.strip().lstrip("/")).split())
        return next((name for name, words in self.commands.items() if word in words), None)

    def choose_flow(self, flow_id: str | None) -> CompiledFlow | None:
        """The named flow, the only one, or the one the person picks from a menu."""
        flows = self.catalog.flows
        if flow_id is not None:
            if flow_id in flows:
                return flows[flow_id]
            self.say(self.words.t(UI.TERMINAL_UNKNOWN_FLOW, flow=flow_id, flows=", ".join(flows)))
            return None
        if len(flows) == 1:
            return next(iter(flows.values()))
        ordered = list(flows.values())
        while True:
            self.say(self.words.t(UI.TERMINAL_PICK_FLOW))
            for number, flow in enumerate(ordered, start=1):
                self.say(f"  {number}. {self.words.t(flow.model.title)}")
            line = self.read()
            if line is None or self.command(line) == "quit":
                return None
            choice = line.strip()
            if choice in flows:
                return flows[choice]
            if choice.isdecimal() and 1 <= int(choice) <= len(ordered):
                return ordered[int(choice) - 1]

    def run(self, flow_id: str | None = None) -> int:
        """Talk until the person quits or input ends; the exit status."""
        self.say(self.words.t(UI.TERMINAL_WELCOME))
        self.say(self.words.t(UI.TERMINAL_COMMANDS))
        flow = self.choose_flow(flow_id)
        if flow is None:
            self.say(self.words.t(UI.TERMINAL_BYE))
            return 0 if flow_id is None else 2
        self.say()
        self.say(self.words.t(flow.model.title))
        session = engine.start(flow)
        shown: Session | None = None
        while True:
            if session.finished and session is not shown:
                self.say()
                self.say(plain(self.words.result(flow, engine.result(flow, session))))
                self.save(flow, session)
                self.say()
                self.say(self.words.t(UI.TERMINAL_AGAIN))
                shown = session  # said once: what is typed after it gets a short answer
            elif not session.finished:
                self.show(self.words.prompt(flow, session))
            line = self.read()
            if line is None or self.command(line) == "quit":
                # Files written hold the answers: the goodbye must not say nothing was kept.
                bye = UI.TERMINAL_BYE_SAVED if self.saved else UI.TERMINAL_BYE
                self.say(self.words.t(bye))
                return 0
            session = self.handle(flow, session, line)

    def save(self, flow: CompiledFlow, session: Session) -> None:
        """Write the result's PDF and picture, and say where."""
        if self.save_to is None:
            return
        from bot.results.report import result_files

        pdf, picture = result_files(self.catalog, flow, session, self.locale)
        # The files hold the person's answers: owner-only, as the database is.
        self.save_to.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"{flow.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        pdf_path = self.save_to / f"{stem}.pdf"
        png_path = self.save_to / f"{stem}.png"
        _write_private(pdf_path, pdf)
        _write_private(png_path, picture)
        self.saved += 1
        self.say()
        self.say(self.words.t(UI.TERMINAL_SAVED, pdf=pdf_path, png=png_path))

    def handle(self, flow: CompiledFlow, session: Session, line: str) -> Session:
        """Apply one line: a command, or an answer to the current question."""
        command = self.command(line)
        if command == "restart":
            self.say(self.words.t(UI.TERMINAL_RESTARTED))
            return engine.start(flow, session.kept)
        if command == "back":
            return self.report(flow, engine.back(flow, session))
        if command == "help":
            question = engine.current(flow, session)
            help_id = question.model.help if question else None
            if question is not None:  # after the result there is no question to help with
                self.say(self.words.t(help_id) if help_id else self.words.t(UI.HINT_NO_HELP))
            self.say(self.words.t(UI.TERMINAL_COMMANDS))
            return session
        # Ids too: scripts and scenario tests drive the terminal by option id.
        step = engine.answer(
            flow, session, line, self.locale, self.words.t(UI.COMMAND_SKIP), by_id=True
        )
        return self.report(flow, step)

    def report(self, flow: CompiledFlow, step: Step) -> Session:
        if step.problem is not None:
            self.say(self.words.problem(flow, step.session, step.problem))
        return step.session

    def show(self, prompt: Prompt) -> None:
        self.say()
        self.say(f"{self.words.number(prompt)}: {prompt.text}")
        for number, (_, label) in enumerate(prompt.options, start=1):
            self.say(f"  {number}. {label}")
        for note in prompt.notes:
            self.say(note)
        if prompt.kind is QuestionKind.MULTI:
            self.say(self.words.t(UI.TERMINAL_MULTI))


def _plain(word: str) -> str:
    """A word folded for matching: any case, accents optional ("yn_ol" finds "yn_ôl")."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


MAX_LINE = 4096
"""Characters of one line read; the rest of a longer line is skipped unread into memory."""

_SHOWN = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x0A},
    **{c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
    0x09: "\t",
}
"""Control characters (ANSI and OSC escapes, NUL, ...) and bidirectional overrides,
each as a visible escape: an answer must not retitle, clear or reorder a terminal."""


def visible(text: str) -> str:
    """``text`` with control characters and direction overrides shown, not obeyed."""
    return text.translate(_SHOWN)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, from the moment it exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    path.chmod(0o600)


def stdin_reader(stream: TextIO = sys.stdin) -> Callable[[], str | None]:
    """Read one line at a time; None at end of input.

    A prompt is shown only to a person at a terminal, so piped output stays
    clean for scripts. Bytes that are not valid in the locale's encoding
    become U+FFFD rather than a traceback, and a line longer than
    ``MAX_LINE`` is cut there, the rest read in pieces and dropped.
    """
    interactive = stream.isatty()
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")

    def read() -> str | None:
        if interactive:
            print("> ", end="", flush=True)
        line = stream.readline(MAX_LINE)
        if not line:
            return None
        if not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = stream.readline(MAX_LINE)
        return line.rstrip("\r\n")

    return read
