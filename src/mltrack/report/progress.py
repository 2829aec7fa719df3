"""Progress for long audits: a redrawn bar on a terminal, plain lines in CI logs.

A bar full of carriage returns is unreadable in a CI log, so when stderr is not a terminal or
`CI` is set we print one line per step instead. Called as `progress(done, total, what)`, the
same signature as `mltrack.stores.base.Progress`. `what` may name store things (experiments,
runs): it is printed through `textsafe.for_terminal`, never raw.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from mltrack.textsafe import for_terminal

_WIDTH = 28


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None, *, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        if interactive is None:
            ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
            interactive = bool(getattr(self.stream, "isatty", lambda: False)()) and not ci
        self.interactive = interactive
        self._last_line = ""
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int | None, what: str) -> None:
        what = for_terminal(what)
        if self.interactive:
            self._draw(done, total, what)
            return
        where = f"[{done}/{total}]" if total else f"[{done}]"
        line = f"mltrack: {where} {what}"
        if line != self._last_line:  # store readers may report the same step many times
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_line = line

    def _draw(self, done: int, total: int | None, what: str) -> None:
        elapsed = time.monotonic() - self._started
        if total:
            filled = int(_WIDTH * min(done, total) / total)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            text = f"\r[{bar}] {done}/{total} {what[:40]:<40} {elapsed:5.1f}s"
        else:
            text = f"\r{done} {what[:60]:<60} {elapsed:5.1f}s"
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so the next output starts clean."""
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
