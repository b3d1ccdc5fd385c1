"""Telegram HTML: everything escaped, long results split between paragraphs within the limit."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.advice.render import Block, BlockKind
from bot.channels.telegram.html import MESSAGE_LIMIT, split_messages, to_html

from fakebotapi import _TelegramHTML


def test_blocks_are_escaped_and_headings_bold() -> None:
    """Titles and headings are bold; every text, typed or written by admins, is escaped."""
    html = to_html(
        [
            Block(BlockKind.TITLE, "Recommendation: Consult"),
            Block(BlockKind.PARAGRAPH, "a < b & c > d"),
            Block(BlockKind.BULLETS, items=("<i>x</i>", "y")),
        ]
    )
    assert html == [
        "<b>Recommendation: Consult</b>",
        "a &lt; b &amp; c &gt; d",
        "• &lt;i&gt;x&lt;/i&gt;\n• y",
    ]


def test_paragraphs_join_until_the_limit_and_break_between_them() -> None:
    """Paragraphs share a message while they fit, and a break falls only between paragraphs."""
    paragraphs = ["a" * 40, "b" * 40, "c" * 40]
    assert split_messages(paragraphs, limit=100) == ["a" * 40 + "\n\n" + "b" * 40, "c" * 40]


def test_an_oversized_paragraph_breaks_at_lines_then_spaces_never_in_an_entity() -> None:
    """A paragraph longer than a message is cut at line ends, then spaces, never inside &amp;."""
    text = ("word " * 30).strip() + "\n" + "x" * 18 + "&amp;" + "y" * 10
    parts = split_messages([text], limit=25)
    assert all(len(p) <= 25 for p in parts)
    assert all(not p.endswith("&am") and "&amp" not in p.replace("&amp;", "") for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab &<>\n"), max_size=600), max_size=30))
def test_every_message_fits_and_nothing_is_lost(texts: list[str]) -> None:
    """Whatever the paragraphs, each message fits and the text survives (but for spacing)."""
    paragraphs = [p for p in to_html([Block(BlockKind.PARAGRAPH, t) for t in texts]) if p.strip()]
    messages = split_messages(paragraphs, limit=200)
    assert all(0 < len(m) <= 200 for m in messages)
    squash = lambda s: "".join(s.split())  # noqa: E731
    assert squash("".join(messages)) == squash("".join(paragraphs))
    assert MESSAGE_LIMIT == 4096


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(BlockKind)[:2]),
            st.text(alphabet=st.sampled_from("ab &<>\n"), min_size=1, max_size=900),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_cut_headings_keep_their_html_balanced(blocks: list[tuple[BlockKind, str]]) -> None:
    """A bold title longer than a message (a 4,000-character caution title with '&' was
    refused with 400) is cut into messages each of which Telegram's parser accepts."""
    paragraphs = to_html([Block(kind, text) for kind, text in blocks if text.strip()])
    for message in split_messages([p for p in paragraphs if p.strip()], limit=300):
        text, _ = _TelegramHTML(message).parse()  # raises on unbalanced tags
        assert len(text) <= 300


def test_a_long_bold_caution_title_is_cut_into_valid_messages() -> None:
    title = "Rights & duties " * 300
    messages = split_messages([f"<b>{escape(title)}</b>"])
    assert len(messages) > 1
    for message in messages:
        _TelegramHTML(message).parse()
