"""Store text made safe for the medium it is printed in.

Experiment names, run names, params and tags come from whoever can log to the store. Every
output channel passes such text through one of these functions: the terminal must get no raw
escape sequence (OSC 52 writes the clipboard, OSC 0 retitles the window, CSI recolours or
moves the cursor), XML no character XML 1.0 forbids, Markdown no live HTML, heading, link,
image, table cell or code fence. HTML pages escape with `html.escape` (report/html_base.py).

Hidden characters are shown, never dropped: `\\x1b`, `\\u202e`. A reader sees that a name holds
an escape sequence, and two names that differ only there still look different.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls (ESC, CSI, OSC, ...); lone surrogates (unprintable: an
# encoder raises on them); bidirectional overrides and isolates, zero-width characters and the
# Unicode line/paragraph separators (they reorder, hide or break what the reader sees).
_INVISIBLE = "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff"
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# XML 1.0 cannot hold C0 controls other than tab/newline/CR at all, even escaped; C1 controls
# and the invisible characters are legal but reach CI logs and terminals raw: shown too.
_XML_UNSAFE = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_INVISIBLE}\\ufffe\\uffff]")
# Markdown punctuation with inline meaning (links, images, emphasis, code, tables, escapes);
# `&` and `<` become HTML entities instead. `_` inside a word is plain text.
_MD_PUNCT = re.compile(r"[\\`*\[\]|~!#]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_BACKTICKS = re.compile(r"`+")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: object, *, keep_newlines: bool = False) -> str:
    """Text with every control character made visible (`\\x1b`), so nothing reaches a terminal raw.

    `keep_newlines` keeps `\\n` for text mltrack itself laid out on several lines; store text
    is escaped on its own first, so it can never start a line of its own."""
    value = str(text)
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_visible, line) for line in value.split("\n"))
    return _CONTROL.sub(_visible, value)


def for_xml(text: object) -> str:
    """Text XML 1.0 can hold: forbidden and invisible characters made visible (the serializer
    escapes `<`, `&`, quotes and keeps tab/newline/CR)."""
    return _XML_UNSAFE.sub(_visible, str(text))


def for_markdown(text: object) -> str:
    """Inline Markdown text that renders as exactly these characters: controls and line breaks
    made visible (so no heading, list or fence can start), HTML escaped, link/image/emphasis/
    code/table punctuation backslash-escaped. For text after other text on a line, or in a
    table cell; never for the start of a line."""
    value = for_terminal(text)
    value = _MD_PUNCT.sub(lambda m: "\\" + m.group(), value)
    # Raw HTML, autolinks and entities all need `<` or `&`; a bare `>` is text (keeps `v1->v2` readable).
    return value.replace("&", "&amp;").replace("<", "&lt;")


def markdown_code(text: object) -> str:
    """An inline code span showing `text` literally: the fence is one backtick longer than any
    run of backticks inside, so store text cannot close it (code spans take no escapes).
    Not for table cells: GFM splits cells on `|` even inside code."""
    value = for_terminal(text)
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip(" ") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def markdown_fence(text: str, info: str = "") -> list[str]:
    """A fenced code block holding `text` (several lines), as lines: the fence is longer than
    any backtick run inside, so no line of `text` can close it early."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [for_terminal(line) for line in text.split("\n")]
    return [fence + info, *lines, fence]
