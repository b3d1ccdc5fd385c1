"""Reading ADVISOR_DATABASE_URL: where its password is, and every spelling of it redacted.

``urllib.parse.urlsplit`` ends the host part at the first ``/``, ``?`` or
``#``, and asyncpg splits at the first ``@``; passwords hold all of these.
tests/test_database_password.py runs the commands; these pin down the parts.
"""

from __future__ import annotations

import pytest

from bot.logs import Redactor
from bot.settings import (
    SettingsError,
    connectable,
    database_error,
    database_passwords,
    database_url,
    from_env,
)


@pytest.mark.parametrize(
    ("url", "password", "encoded"),
    [
        ("postgresql://u:p/ss#w?rd[x@h:5432/db", "p/ss#w?rd[x", "p%2Fss%23w%3Frd%5Bx"),
        ("postgresql://u:pa%2Fss@h/db", "pa%2Fss", "pa%2Fss"),
        ("postgresql://u:s3cret@host@h/db", "s3cret@host", "s3cret%40host"),
        ("postgres://u:a:b@h/db", "a:b", "a%3Ab"),
    ],
)
def test_the_password_is_everything_after_the_first_colon_up_to_the_last_at(
    url: str, password: str, encoded: str
) -> None:
    """The password as written is what is redacted; the driver gets it encoded."""
    assert database_passwords(url) == (password,)
    assert connectable(url).split("@")[-1] == url.split("@")[-1], "host part untouched"
    assert f"://u:{encoded}@" in connectable(url)
    settings = from_env({"TELEGRAM_BOT_TOKEN": "1:x", "ADVISOR_DATABASE_URL": url})
    assert password in settings.secrets


def test_urls_without_a_password_are_left_as_they_are() -> None:
    for url in ("postgresql://h/db", "postgresql://u@h:5432/db", "postgresql:///db?host=/run"):
        assert database_passwords(url) == ()
        assert connectable(url) == url
    assert database_passwords("postgresql://u@h/db?sslmode=require&password=qu3ry-pw") == (
        "qu3ry-pw",
    )


def test_the_redactor_knows_a_password_in_each_spelling() -> None:
    """Raw, percent-decoded and percent-encoded: an error text may quote any of them."""
    redact = Redactor(["pa%2Fss/x"])
    for spelling in ("pa%2Fss/x", "pa/ss/x", "pa%2Fss%2Fx", "PA%2fSS%2FX"):
        assert redact(f"said {spelling}.") == "said [redacted].", spelling


def test_a_driver_error_that_quotes_the_url_loses_it() -> None:
    url = "postgresql://advisor:hunter2/Wort@127.0.0.1:9/advisor"
    text = database_error(ValueError(f"cannot parse {connectable(url)}\nat all"), url)
    assert text == "ValueError: cannot parse ADVISOR_DATABASE_URL at all"
    text = database_error(OSError("bad port 'hunter2/Wort' or 'hunter2%2FWort'"), url)
    assert "hunter2" not in text


def test_a_malformed_url_is_refused_without_quoting_it() -> None:
    with pytest.raises(SettingsError) as caught:
        database_url({"ADVISOR_DATABASE_URL": "postgresql://u:Sekr1t@[::1/db"})
    assert "Sekr1t" not in str(caught.value)
    assert str(caught.value).startswith("ADVISOR_DATABASE_URL: ")
