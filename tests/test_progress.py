""" "Question 3 of about 9": an estimate that neither promises the end too soon nor jumps.

Before, the total was the longest path left: the plan flow's first question
said "of about 15" and, one answer later, "of about 6".
"""

from __future__ import annotations

from itertools import islice, pairwise

import pytest

from bot.advice.explore import Explorer
from bot.flows.catalog import CompiledFlow
from bot.sources import project_catalog

FLOWS = project_catalog().flows


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_on_every_path_the_total_never_says_last_too_soon_nor_jumps(flow_id: str) -> None:
    flow: CompiledFlow = FLOWS[flow_id]
    paths = 0
    for session in islice(Explorer(flow).endings(), 2000):
        path = session.history
        totals = [number + flow.questions[q].ahead - 1 for number, q in enumerate(path, 1)]
        for number, total in enumerate(totals[:-1], 1):
            assert total > number, (flow_id, path, totals)  # more questions follow
        assert totals[-1] == len(path)  # the last question says so
        jumps = [abs(b - a) for a, b in pairwise(totals)]
        assert max(jumps, default=0) <= 4, (flow_id, path, totals)
        paths += 1
    assert paths > 5
