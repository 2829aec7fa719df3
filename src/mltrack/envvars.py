"""Temporarily set environment variables (vendor SDKs read their settings from os.environ)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def temporary_environ(overrides: Mapping[str, str]) -> Iterator[None]:
    """Set `overrides` for the duration of the block; restore (or remove) each key afterwards.

    Process-wide: another thread reading the environment meanwhile sees the overrides.
    """
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
