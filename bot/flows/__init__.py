"""The flow format and its static tools: what an admin writes, read with line numbers.

Pure: no I/O, no Telegram, no database. Nothing here imports ``bot.advice``;
the advice is built on the format, never the other way round.
"""
