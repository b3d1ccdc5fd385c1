"""An update's replies as stored with its state, so a crash cannot lose them.

A turn commits the new conversation, then sends the replies. If the process
dies between the two, Telegram redelivers the update (it was never
confirmed), the store recognises the copy and writes nothing, and without
this the person would never get their next question. So the replies are
written in the same commit as the state (``Store.apply``'s ``outbox``), and
cleared once sent (``Store.settle``); a copy of the update that finds them
still there sends them. Edits are idempotent; a message sent just before the
crash may come twice, never not at all (docs/operations.md).

The encoding is compact JSON of what ``perform`` needs: the edits, the
messages, and which result the PDF button asked for. The answer to a button
press is left out: Telegram forgets a press within seconds, and a copy of the
update carries its own query to answer.
"""

from __future__ import annotations

from typing import Any

from bot.advice.engine import Session, SessionError
from bot.channels.telegram.dialogue import Edit, Keepsake, Plan, Send
from bot.flows.catalog import Catalog
from bot.store import jsontext
from bot.store.conversations import Conversation


def encode(plan: Plan) -> str | None:
    """The plan's replies as stored text; None when there is nothing to send."""
    if not plan.sends and not plan.edits and plan.keepsake is None:
        return None
    box: dict[str, Any] = {}
    if plan.edits:
        box["e"] = [[e.message_id, e.text, e.buttons, e.fallback, e.track] for e in plan.edits]
    if plan.sends:
        box["s"] = [[s.text, s.buttons, s.track] for s in plan.sends]
    if plan.keepsake is not None:
        k = plan.keepsake
        box["k"] = [k.flow.id, k.session.to_json(), k.locale, k.key, k.pressed]
    return jsontext.dumps(box)


def decode(stored: Conversation, catalog: Catalog) -> Plan:
    """The plan whose replies are still to send, for a redelivered update.

    A PDF asked for from a flow no longer served (removed by a reload) or a
    session it can no longer read is left out; the messages still go.
    """
    plan = Plan(stored)
    if stored.outbox is None:
        return plan
    box = jsontext.loads(stored.outbox)
    # Outboxes stored before edits could fall back hold three fields.
    plan.edits = [
        Edit(m, text, _rows(buttons), *rest) for m, text, buttons, *rest in box.get("e", ())
    ]
    plan.sends = [Send(text, _rows(buttons), track) for text, buttons, track in box.get("s", ())]
    if "k" in box:
        flow_id, session, locale, key, pressed = box["k"]
        flow = catalog.flows.get(flow_id)
        if flow is not None:
            try:
                restored = Session.from_json(session)
            except SessionError:
                return plan
            plan.keepsake = Keepsake(flow, restored, locale, key, pressed)
    return plan


def _rows(buttons: list[list[list[str]]] | None) -> list[list[tuple[str, str]]] | None:
    """JSON's lists back into the (label, data) pairs a keyboard is made of."""
    if buttons is None:
        return None
    return [[(label, data) for label, data in row] for row in buttons]
