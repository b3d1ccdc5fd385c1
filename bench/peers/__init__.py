"""The bots ours is compared with, each run as its own process by ``bench.run``."""
