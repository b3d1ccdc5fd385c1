"""Telegram: the I/O shell (``channel``) around pure decisions (``dialogue``)."""
