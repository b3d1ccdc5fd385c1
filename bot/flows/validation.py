"""The flow format's validator: pydantic over the dataclasses in ``bot.flows.model``.

Built once, on first import, by the loader and the schema generator only;
the serving process never imports this module (see ``bot.flows.model``).
"""

from __future__ import annotations

from pydantic import TypeAdapter

from bot.flows.model import Flow

FLOW: TypeAdapter[Flow] = TypeAdapter(Flow)
"""Validates a parsed flow file (``validate_python``) and describes it (``json_schema``)."""
