"""Engagement Advisor: advice on whether to inform, consult or co-produce.

The package keeps a functional core (``model``, ``loader``, ``conditions``,
``engine``, ``render``) apart from its edges (``terminal``, ``telegram_bot``,
``store``), so the advice can be read, checked and tested without Telegram.
"""
