"""report.json -> report.html (reads the dict only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrack.report.html_base import assumptions_table, cards, esc, evidence_block, page, status_badge, table
from mltrack.report.trend import describe_number, ordered_numbers as _ordered, human_bytes


def render_audit_html(report: Mapping[str, Any]) -> str:
    summary = report.get("summary", {})
    failing = summary.get("fail", 0) + summary.get("error", 0)
    verdict = "All checks pass" if not failing else f"{failing} check(s) need attention"
    body = [
        '<section id="summary"><h2>Summary</h2>',
        f"<p><b>{esc(verdict)}</b> — store <code>{esc(report['uri'])}</code> "
        f"({esc(report['tracker'])}, server {esc(report.get('server_version') or 'unknown')}), "
        f"audited {esc(report['created_at'])} in {float(report.get('duration_s', 0)):.1f} s "
        f"by mltrack {esc(report['mltrack_version'])}.</p>",
        cards([
            ("pass", summary.get("pass", 0)), ("fail", summary.get("fail", 0)),
            ("warn", summary.get("warn", 0)), ("error", summary.get("error", 0)),
            ("runs", summary.get("runs", "n/a")), ("users", summary.get("users", "n/a")),
            ("untracked fields", summary.get("untracked_fields", "n/a")),
            ("reclaimable", human_bytes(summary.get("reclaimable_bytes"))),
            ("secrets masked", summary.get("masked_secrets", 0)),  # shown as *** (mltrack.secrets)
        ]),
        "</section>",
        _assumptions(report.get("assumptions")),
        _trend(report.get("trend")),
        '<section id="checks"><h2>Checks</h2>',
        table(
            ["code", "check", "status", "verdict", "time"],
            [
                (r["code"], f'<a href="#check-{esc(r["name"])}">{esc(r["name"])}</a>', status_badge(r["status"]),
                 r["message"], f"{float(r.get('duration_s', 0)):.2f} s")
                for r in report["results"]
            ],
            numeric=[4], raw=[1, 2],
        ),
    ]
    for result in report["results"]:
        body.append(
            f'<h3 id="check-{esc(result["name"])}">{esc(result["code"])} {esc(result["name"])} '
            f'{status_badge(result["status"])}</h3><p>{esc(result["message"])}</p>'
        )
        if result.get("fix"):
            body.append(f"<p><b>Fix:</b> {esc(result['fix'])}</p>")
        if result.get("evidence"):
            body.append(evidence_block(result["evidence"]))
    body.append("</section>")
    env = report.get("environment", {})
    body.append('<section id="environment"><h2>Environment</h2>'
                + table(["key", "value"], sorted((k, v) for k, v in env.items())) + "</section>")
    nav = [("summary", "Summary"), *([("assumptions", "Assumptions")] if report.get("assumptions") else []),
           ("trend", "Since last audit"), ("checks", "Checks"), ("environment", "Environment")]
    return page("mltrack audit", f"{report['uri']} — {report['created_at']}", nav, "\n".join(body))


def _assumptions(assumptions: Any) -> str:
    """What zero configuration inferred (report.json `assumptions`), each with its override."""
    if not assumptions:
        return ""
    return ('<section id="assumptions"><h2>Assumptions</h2>'
            + assumptions_table(assumptions, "set the policy key in <code>[tool.mltrack]</code> (or "
                                "<code>--config FILE</code>) to override one.")
            + "</section>")


def _trend(trend: Mapping[str, Any] | None) -> str:
    if not trend:
        return '<section id="trend"><h2>Since the last audit</h2><p>First audit in this directory.</p></section>'
    items = [
        f"<li>Newly failing: {_names(trend.get('newly_failing'))}</li>",
        f"<li>Fixed: {_names(trend.get('fixed'))}</li>",
        f"<li>Still failing: {_names(trend.get('still_failing'))}</li>",
    ] + [f"<li>{esc(describe_number(k, c))}</li>" for k, c in _ordered(trend.get("numbers", {}))]
    return (f'<section id="trend"><h2>Since the last audit</h2><p>Compared with '
            f'{esc(trend.get("previous_created_at"))} (<code>{esc(trend.get("previous"))}</code>).</p>'
            f"<ul>{''.join(items)}</ul></section>")


def _names(names: Any) -> str:
    return ", ".join(f"<code>{esc(n)}</code>" for n in names) if names else "none"
