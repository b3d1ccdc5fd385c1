"""Blocks laid out as Telegram HTML, in messages that fit Telegram's limit.

Every text is escaped, flow wording and what people typed alike: admins
write plain text, and nobody's answer can inject markup.
https://core.telegram.org/bots/api#html-style
"""

from __future__ import annotations

import re
from html import escape

from bot.advice.render import Block, BlockKind

MESSAGE_LIMIT = 4096
"""Characters in one message's text, after entities are parsed."""


def to_html(blocks: list[Block]) -> list[str]:
    """The blocks as HTML paragraphs, in order."""
    out = []
    for block in blocks:
        if block.kind in (BlockKind.TITLE, BlockKind.HEADING):
            out.append(f"<b>{escape(block.text, quote=False)}</b>")
        elif block.kind is BlockKind.PARAGRAPH:
            out.append(escape(block.text, quote=False))
        else:
            out.append("\n".join(f"• {escape(item, quote=False)}" for item in block.items))
    return out


def split_messages(paragraphs: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join paragraphs into as few messages as fit, breaking only between paragraphs.

    A paragraph longer than a whole message is broken at line ends, and a
    line longer than that at a space, never inside an HTML entity.
    """
    pieces = [piece for paragraph in paragraphs for piece in _fit(paragraph, limit)]
    return _balanced(_pack(pieces, "\n\n", limit))


_TAG = re.compile(r"<(/?)([a-z]+)(?:\s[^>]*)?>")


def _balanced(messages: list[str]) -> list[str]:
    """Close the tags a cut left open at the end of a message, and open them again
    at the start of the next: Telegram refuses a message whose HTML does not
    balance (a long bold title cut in two was refused with 400). Tags are not
    counted in Telegram's limit, which is on the text after parsing."""
    balanced: list[str] = []
    carried: list[tuple[str, str]] = []
    for message in messages:
        text = "".join(tag for _, tag in carried) + message
        open_tags: list[tuple[str, str]] = []
        for match in _TAG.finditer(text):
            if not match.group(1):
                open_tags.append((match.group(2), match.group(0)))
            elif open_tags and open_tags[-1][0] == match.group(2):
                open_tags.pop()
        balanced.append(text + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
        carried = open_tags
    return balanced


def _fit(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    chunks = [chunk for line in text.split("\n") for chunk in _cut(line, limit)]
    return _pack(chunks, "\n", limit)


def _pack(pieces: list[str], separator: str, limit: int) -> list[str]:
    """Pieces joined by ``separator`` into as few strings within ``limit`` as they fit."""
    packed: list[str] = []
    current = ""
    for piece in pieces:
        joined = f"{current}{separator}{piece}" if current else piece
        if len(joined) <= limit:
            current = joined
        else:
            packed.append(current)
            current = piece
    if current:
        packed.append(current)
    return packed


def _cut(line: str, limit: int) -> list[str]:
    chunks = []
    while len(line) > limit:
        at = line.rfind(" ", 0, limit)
        if at <= 0:
            at = limit
        amp = line.rfind("&", 0, at)
        if amp != -1 and ";" not in line[amp:at]:
            at = amp  # never split an entity such as &amp;
        chunks.append(line[:at])
        line = line[at:].lstrip(" ")
    chunks.append(line)
    return chunks
