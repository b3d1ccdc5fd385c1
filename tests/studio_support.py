"""Running the studio for tests: a real `python -m bot studio` process on a copy of the project."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from bot.service import open_store
from bot.store.conversations import Conversation
from bot.store.usage import Event, EventKind

from support import make_fixture_project

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 90.0
SHORT_TEXT = "A short test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class RunningStudio:
    url: str
    project: Path
    process: subprocess.Popen[str]


@contextlib.contextmanager
def studio_on_a_copy(folder: Path) -> Iterator[RunningStudio]:
    """The studio serving a fresh copy of the tests' own flows and texts made in ``folder``."""
    copy = make_fixture_project(folder / "project")
    with running_studio(copy) as running:
        yield running


@contextlib.contextmanager
def running_studio(
    project: Path,
    db: Path | None = None,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningStudio]:
    """The studio serving ``project``'s flows and texts, stopped (SIGTERM) afterwards.

    ``args`` are more command-line arguments; ``env`` replaces the environment,
    which is otherwise this process's with the project's folders.
    """
    port = free_port()
    if env is None:
        env = {
            **os.environ,
            "ADVISOR_FLOWS_DIR": str(project / "flows"),
            "ADVISOR_CONTENT_DIR": str(project / "content"),
        }
    command = [sys.executable, "-m", "bot", "studio", "--port", str(port), *args]
    if db is not None:
        command += ["--db", str(db)]
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    out, err = process.communicate(timeout=5)
                    raise AssertionError(f"the studio did not start: {out}\n{err}") from None
                time.sleep(0.2)
        yield RunningStudio(url, project, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def post(url: str, fields: dict[str, str]) -> str:
    data = urllib.parse.urlencode(fields).encode("ascii")
    with urllib.request.urlopen(url, data=data, timeout=30) as response:
        return response.read().decode("utf-8")


class Form(HTMLParser):
    """What a try page offers: its hidden state, its buttons, whether it asks for text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.state = ""
        self.options: list[tuple[str, bool]] = []
        """Each option button's value, and whether it is a toggle (a multi-select)."""
        self.text_box = False
        self.confirm = False
        self.headings: list[str] = []
        self._in_heading = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") == "state":
            self.state = a.get("value") or ""
        elif tag in ("input", "textarea") and a.get("name") == "answer":
            self.text_box = True
        elif tag == "button" and a.get("name") == "option":
            self.options.append((a.get("value") or "", "aria-pressed" in a))
        elif tag == "button" and a.get("value") == "confirm":
            self.confirm = True
        elif tag in ("h1", "h2"):
            self._in_heading = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2"):
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self.headings[-1] += data


def walk_first_options(url: str, limit: int = 80) -> Form:
    """Answer a try-out over plain HTTP: short text, then the first option each time."""
    form = Form(get(url)[1])
    for _ in range(limit):
        if form.text_box:
            form = Form(post(url, {"state": form.state, "answer": SHORT_TEXT}))
        elif form.options:
            first, toggle = form.options[0]
            form = Form(post(url, {"state": form.state, "option": first}))
            if toggle:
                form = Form(post(url, {"state": form.state, "action": "confirm"}))
        else:
            return form
    raise AssertionError("the try-out did not reach a result")


async def record_usage(
    db: Path, flow_id: str, question: str, level: str, url: str | None = None
) -> None:
    """Three conversations' usage events: all start at ``question``, two reach ``level``.

    In the SQLite file ``db``, or in the PostgreSQL database at ``url`` if given.
    """
    store = await open_store(url, db)
    try:
        for chat in range(3):
            events = [
                Event(flow_id, EventKind.STARTED),
                Event(flow_id, EventKind.ENTERED, question),
            ]
            if chat:
                events += [
                    Event(flow_id, EventKind.LEFT, question),
                    Event(flow_id, EventKind.FINISHED, value=level),
                ]
            await store.apply(chat, Conversation(900 + chat, user_id=4242), events=events)
    finally:
        await store.close()
