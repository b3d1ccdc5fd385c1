"""The terminal channel: numbered options, commands at any prompt, scriptable from a pipe."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

from bot.channels.terminal import Terminal

from support import fixture_env, mini_catalog

ROOT = Path(__file__).resolve().parent.parent


def converse(lines: list[str], flow: str | None = "mini") -> tuple[int, str]:
    feed = iter(lines)
    out = io.StringIO()
    status = Terminal(mini_catalog(), "en", lambda: next(feed, None), out).run(flow)
    return status, out.getvalue()


def test_a_whole_conversation_ends_with_the_recommendation_line() -> None:
    """Answered to the end, the result opens with 'Recommendation: <level>' on its own line."""
    status, out = converse(["the hall", "1", "1,2", "yes"])
    assert status == 0
    assert "\nRecommendation: Co-produce\n" in out
    assert (
        "Question 3 of about 4: What comes with it?\n"
        "  1. A budget\n  2. Staff time\n  3. None of these" in out
    )
    assert out.rstrip().endswith("Goodbye. Nothing you typed here was stored.")


def test_commands_work_at_any_prompt() -> None:
    """back, restart and help act on the conversation; unknown input re-asks with a hint."""
    status, out = converse(["the hall", "maybe", "1", "back", "2", "restart", "again", "1", "HELP"])
    assert status == 0
    assert (
        "Please pick one of the options: type its number (1 to 2) or its words."
        " To change an earlier answer, type back."
    ) in out
    assert "Recommendation: Inform" in out  # "2" after back answered "No"
    assert "Starting again from the first question." in out
    assert "There is no extra help for this question" in out


def test_help_shows_the_question_help() -> None:
    """help at a question with help text shows that text."""
    _, out = converse(["x", "1", "1", "help"])
    assert "Accountable means you answer for it." in out


def test_quit_and_end_of_input_end_cleanly() -> None:
    """quit and end of input both end with status 0 and a goodbye."""
    assert converse(["quit"])[0] == 0
    status, out = converse([])
    assert status == 0
    assert "Goodbye" in out


def test_unknown_flow_is_named() -> None:
    """Asking for a flow that does not exist lists those that do and fails."""
    status, out = converse([], flow="nope")
    assert status == 2
    assert "There is no flow called 'nope'. Flows: mini." in out


def run_cli(
    args: list[str], stdin: str = "", cwd: Path = ROOT, project: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS``; with ``project``, on that folder's flows instead of the shipped."""
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    if project is not None:
        env |= fixture_env(project)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_plan_flow_from_a_pipe_reaches_a_recommendation(advisor_project: Path) -> None:
    """`python -m bot chat --flow plan` answered from a pipe prints the recommendation line."""
    answers = "a footpath closure\n" + "\n".join(["1"] * 30) + "\n"
    done = run_cli(["chat", "--flow", "plan"], answers, project=advisor_project)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("Recommendation: ") for line in done.stdout.splitlines())


def test_a_language_without_texts_is_named_with_those_there_are(advisor_project: Path) -> None:
    """The same one line as ``studio --export --lang``, and no chat begins."""
    done = run_cli(["chat", "--lang", "xx"], "", project=advisor_project)
    assert done.returncode == 2
    assert done.stderr.strip() == "there are no texts in 'xx' (there are: en, cy)"
    assert done.stdout == ""


def test_no_command_without_token_is_the_terminal_chat() -> None:
    """`python -m bot` (what make run starts) chats in the terminal when no token is set."""
    done = run_cli([], "quit\n")
    assert done.returncode == 0, done.stderr
    assert "Engagement Advisor" in done.stdout


def test_what_is_typed_is_shown_not_obeyed() -> None:
    """ANSI and OSC escapes, NUL and right-to-left overrides in an answer come back visibly."""
    hostile = "\x1b]0;owned\x07\x1b[2J\x00\u202eevil"
    status, out = converse([hostile, "1", "1,2", "yes"])
    assert status == 0
    for raw in ("\x1b", "\x07", "\x00", "\u202e"):
        assert raw not in out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x00\\u202eevil" in out


def run_bytes(args: list[str], stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI with raw bytes in, under the given locale settings."""
    environ = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"} | env
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=environ,
        timeout=120,
        check=False,
    )


def test_huge_lines_and_invalid_utf8_are_read_safely() -> None:
    """A 20 MB line is capped, not echoed in full; bytes that are not UTF-8 under a
    strict UTF-8 locale are replaced, not a traceback."""
    done = run_bytes(
        ["chat", "--flow", "plan", "--no-files"],
        b"\xff\xfe bad bytes\n" + b"1" * 20_000_000 + b"\nquit\n",
        PYTHONIOENCODING="utf-8:strict",
        LC_ALL="C.UTF-8",
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"Traceback" not in done.stderr
    assert len(done.stdout) < 100_000, "the long line was not echoed in full"


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    """`python -m bot chat | head -1`: no BrokenPipeError traceback."""
    done = subprocess.run(
        f"yes 1 | head -50 | {sys.executable} -m bot chat --flow plan --no-files | head -1",
        shell=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert b"Traceback" not in done.stderr, done.stderr.decode()[-2000:]
    assert b"BrokenPipe" not in done.stderr


def test_result_files_are_owner_only(tmp_path: Path) -> None:
    """The PDF and picture hold the answers: 0600 files in a 0700 folder."""
    out = tmp_path / "results"
    feed = iter(["the hall", "1", "1,2", "yes"])
    Terminal(mini_catalog(), "en", lambda: next(feed, None), io.StringIO(), out).run("mini")
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = list(out.iterdir())
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_stats_on_a_file_that_is_no_database(tmp_path: Path) -> None:
    """`bot stats` on another file says so in one line and leaves the file and its mode."""
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n" * 100)
    other.chmod(0o644)
    done = run_bytes(["stats"], b"", ADVISOR_DB_PATH=str(other))
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert b"not a SQLite database" in done.stderr
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert other.read_text() == "not a database\n" * 100


def test_after_the_result_a_stray_line_gets_a_short_answer_not_the_result_again() -> None:
    status, out = converse(["the hall", "1", "1,2", "yes", "thanks", "help"])
    assert status == 0
    assert out.count("Recommendation: Co-produce") == 1
    after = out.split("Type restart to begin again, or quit to leave.", 1)[1]
    assert "This conversation has reached its advice." in after
    assert "There is no extra help for this question" not in after, "there is no question"


def test_the_goodbye_says_the_files_hold_the_answers_when_files_were_written(
    tmp_path: Path,
) -> None:
    feed = iter(["the hall", "1", "1,2", "yes", "quit"])
    out = io.StringIO()
    Terminal(mini_catalog(), "en", lambda: next(feed, None), out, save_to=tmp_path).run("mini")
    assert "Nothing you typed here was stored" not in out.getvalue()
    assert out.getvalue().rstrip().endswith("only the files named above hold your answers.")
    assert len(list(tmp_path.glob("*.pdf"))) == 1
