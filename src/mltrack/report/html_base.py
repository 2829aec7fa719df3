"""The shell every mltrack HTML page shares: one self-contained document, inline CSS, system
fonts, no scripts, no external requests (the pages must work offline and behind firewalls).

Store text (names, params, messages) reaches a page only through `esc`: HTML-escaped, quotes
included (it also goes into attributes), with control and invisible characters made visible
(`\x1b`). The Content-Security-Policy forbids scripts and every external request, so even a
rendering bug could not run store-supplied code."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mltrack.textsafe import for_terminal

_CSS = """
:root{--fg:#1d2330;--muted:#5b6478;--line:#d9dee8;--bg:#fff;--band:#f5f7fb;--accent:#2f6fdf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 32px;background:#17213a;color:#fff}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c5cde0}
nav{padding:8px 32px;background:var(--band);border-bottom:1px solid var(--line);position:sticky;top:0}
nav a{margin-right:16px;color:var(--accent);text-decoration:none}
main{padding:8px 32px 48px;max-width:1200px}
section{margin-top:28px}
h2{border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin-bottom:6px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--band)}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td a,td .status{white-space:nowrap}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:var(--band);padding:8px;overflow:auto;max-height:360px;border:1px solid var(--line)}
.muted{color:var(--muted)}
.status{display:inline-block;padding:0 8px;border-radius:10px;font-weight:600;font-size:12px}
.status.pass{background:#dff3e4;color:#17692f}.status.fail{background:#fbe0e0;color:#a11d1d}
.status.warn{background:#fff1cc;color:#8a5a00}.status.error{background:#f3dcf5;color:#7b1f86}
.status.skip{background:#e6e9ef;color:#4a5263}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:140px;background:var(--band)}
.card b{display:block;font-size:22px}
.plots{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff}
figcaption{font-size:12px;color:var(--muted);max-width:520px}
.bar{display:inline-block;height:10px;background:var(--accent);vertical-align:middle}
dl dt{font-weight:600;margin-top:8px}dl dd{margin-left:16px}
"""


def esc(value: Any) -> str:
    return html.escape(for_terminal("" if value is None else value, keep_newlines=True), quote=True)


def page(title: str, subtitle: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        # No network at all: a strict policy makes any accidental external reference fail loudly
        # in review instead of silently phoning home.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
        f"<nav>{links}</nav>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def status_badge(status: str) -> str:
    return f'<span class="status {esc(status)}">{esc(status)}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
          raw: Iterable[int] = ()) -> str:
    """A table; columns in `numeric` align right, columns in `raw` hold ready HTML."""
    numeric, raw = set(numeric), set(raw)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            text = cell if index in raw else esc(cell)
            cls = ' class="num"' if index in numeric else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def cards(items: Sequence[tuple[str, Any]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{esc(value)}</b>{esc(label)}</div>' for label, value in items
    ) + "</div>"


def evidence_block(evidence: Mapping[str, Any], limit: int = 6000) -> str:
    text = json.dumps(dict(evidence), indent=2, sort_keys=True, default=str)
    if len(text) > limit:
        text = text[:limit] + "\n… (truncated; the full evidence is in report.json)"
    return f"<pre>{esc(text)}</pre>"


def assumptions_table(assumptions: Sequence[Mapping[str, Any]], override_hint: str) -> str:
    """What zero configuration inferred (report.json `assumptions`): a line saying how to
    override, then one row per assumption with the policy key that overrides it."""
    from mltrack.pressure.assumptions import shown_value

    rows = [(a.get("key"), shown_value(a.get("value")), a.get("how"), a.get("coverage") or "", a.get("override"))
            for a in assumptions]
    return (f"<p>No policy named these, so they were inferred from the store; {override_hint}</p>"
            + table(["assumed", "value", "how", "coverage", "policy key"], rows))
