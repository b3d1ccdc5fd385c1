"""Settings from the environment: defaults, and a clear message for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, environment, from_env


def test_defaults_and_derived_file_url() -> None:
    """Only the token is required; the file URL follows a self-hosted base URL."""
    settings = from_env(
        {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot"}
    )
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.db_path == Path("data/advisor.sqlite3")
    assert settings.rate_limit == 0.0  # replies are not paced; 429s are waited out
    assert settings.admin_ids == frozenset()
    assert "1:x" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"ADVISOR_ADMIN_IDS": "12, bob"}, "ADVISOR_ADMIN_IDS: 'bob' is not a Telegram user id"),
        ({"ADVISOR_IDLE_HOURS": "soon"}, "ADVISOR_IDLE_HOURS: 'soon' is not a number"),
        ({"ADVISOR_RATE_LIMIT": "-1"}, "ADVISOR_RATE_LIMIT: must be 0"),
        ({"TELEGRAM_WEBHOOK_URL": "https://x/hook"}, "TELEGRAM_WEBHOOK_SECRET is not"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    """Each malformed setting is refused with a message naming it."""
    if env:
        env = {"TELEGRAM_BOT_TOKEN": "1:x", **env}
    with pytest.raises(SettingsError, match=message):
        from_env(env)


def test_rate_limit_can_be_set_for_bulk_sending() -> None:
    """An operator who adds broadcasts can pace the bot to Telegram's 30 a second."""
    settings = from_env({"TELEGRAM_BOT_TOKEN": "1:x", "ADVISOR_RATE_LIMIT": " 30 "})
    assert settings.rate_limit == 30.0


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .env file fills in what the environment does not set."""
    env_file = tmp_path / ".env"
    env_file.write_text("ADVISOR_LOG_LEVEL=debug\nADVISOR_IDLE_HOURS=5\n")
    monkeypatch.setenv("ADVISOR_IDLE_HOURS", "7")
    values = environment(env_file)
    assert values["ADVISOR_LOG_LEVEL"] == "debug"
    assert values["ADVISOR_IDLE_HOURS"] == "7"
