"""The ways people reach the advice. Each channel knows the core, never another channel."""
