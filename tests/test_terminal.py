"""The terminal channel: numbered options, commands at any prompt, scriptable from a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.channels.terminal import Terminal

from support import mini_catalog

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
        "Question 3: What comes with it?\n  1. A budget\n  2. Staff time\n  3. None of these" in out
    )
    assert out.rstrip().endswith("Goodbye. Nothing you typed here was stored.")


def test_commands_work_at_any_prompt() -> None:
    """back, restart and help act on the conversation; unknown input re-asks with a hint."""
    status, out = converse(["the hall", "maybe", "1", "back", "2", "restart", "again", "1", "HELP"])
    assert status == 0
    assert "Please pick one of the options: a number from 1 to 2" in out
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


def run_cli(args: list[str], stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
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


def test_plan_flow_from_a_pipe_reaches_a_recommendation() -> None:
    """`python -m bot chat --flow plan` answered from a pipe prints the recommendation line."""
    answers = "a footpath closure\n" + "\n".join(["1"] * 30) + "\n"
    done = run_cli(["chat", "--flow", "plan"], answers)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("Recommendation: ") for line in done.stdout.splitlines())


def test_no_command_without_token_is_the_terminal_chat() -> None:
    """`python -m bot` (what make run starts) chats in the terminal when no token is set."""
    done = run_cli([], "quit\n")
    assert done.returncode == 0, done.stderr
    assert "Engagement Advisor" in done.stdout
