"""gitcoord: coordination of parallel agents, stored in git."""

__version__ = "0.1.0"
