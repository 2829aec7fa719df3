"""Store text made safe for the medium it is printed in.

Experiment names, run names, params and tags come from whoever can log to the store. Every
output channel passes such text through one of these functions: the terminal must get no raw
escape sequence (OSC 52 writes the clipboard), XML no character XML 1.0 forbids, Markdown no
live HTML, heading or fence.
"""

from __future__ import annotations

import html
import re

# C0 controls, DEL and C1 controls (ESC, CSI, OSC, ...): shown as \xNN, never emitted raw.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters XML 1.0 cannot hold at all, even escaped.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def for_terminal(text: object, *, keep_newlines: bool = False) -> str:
    """Text with every control character made visible (`\\x1b`), so nothing reaches a terminal raw."""
    value = str(text)
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_visible, line) for line in value.split("\n"))
    return _CONTROL.sub(_visible, value)


def for_xml(text: object) -> str:
    """Text XML 1.0 can hold: forbidden characters made visible (the serializer escapes the rest)."""
    return _XML_ILLEGAL.sub(_visible, str(text))


def for_markdown(text: object) -> str:
    """Inline Markdown text: HTML escaped, table pipes, backticks and line breaks neutralised."""
    value = for_terminal(text)
    value = html.escape(value, quote=False)
    return value.replace("|", "\\|").replace("`", "\\`")
