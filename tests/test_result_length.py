"""The whole result (terminal, PDF) says each thing once, and is no longer than the card
and its sections together (issue 24: results ran to 4,500 characters, the same answers
quoted under several reasons and again in the list of answers)."""

from __future__ import annotations

from itertools import islice

import pytest

from bot.advice import engine
from bot.advice.explore import Explorer
from bot.advice.render import Renderer, plain
from bot.sources import project_catalog

CATALOG = project_catalog()
CASES = [(f, loc) for f in sorted(CATALOG.flows) for loc in CATALOG.locales]


@pytest.mark.parametrize(("flow_id", "locale"), CASES)
def test_the_whole_result_says_each_thing_once_within_the_card_and_sections(
    flow_id: str, locale: str
) -> None:
    flow = CATALOG.flows[flow_id]
    words = Renderer(CATALOG, locale)
    longest_whole = longest_parts = 0
    for session in islice(Explorer(flow).endings(), 2000):
        result = engine.result(flow, session)
        blocks = words.result(flow, result)
        whole = plain(blocks)
        parts = plain(words.card(flow, result)) + "".join(
            plain(words.detail(flow, result, key) or []) for key, _ in words.details(flow, result)
        )
        longest_whole = max(longest_whole, len(whole))
        longest_parts = max(longest_parts, len(parts))
        said = [
            line
            for block in blocks
            for item in (block.items or (block.text,))
            for line in (item or "").splitlines()
        ]
        lines = [line for line in said if line.strip()]
        assert len(lines) == len(set(lines)), [x for x in lines if lines.count(x) > 1][:3]
        for question, value in result.answers:
            quoted = words.said(flow, question, value)
            assert whole.count(quoted) <= 1, (flow_id, quoted)
    assert longest_whole <= longest_parts, (longest_whole, longest_parts)
