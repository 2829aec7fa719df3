"""mltrack: trustworthy ML experiment tracking (a linter and a pressure suite)."""

__version__ = "0.1.0"
