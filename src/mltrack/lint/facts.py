"""Per-module facts (stub, being filled in)."""

from __future__ import annotations


def summarize_module(source: str, name: str):
    return None
