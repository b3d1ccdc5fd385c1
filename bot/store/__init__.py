"""Where conversations are kept: the store protocol and its implementations."""
