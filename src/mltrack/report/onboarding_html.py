"""Onboarding data (`onboarding.build_onboarding`) -> one self-contained HTML page.

Sections (each an anchor the nav links to and the browser test looks for): overview,
experiments, users, leaderboard, plots, production, checks, glossary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrack.report.html_base import assumptions_table, cards, esc, evidence_block, page, status_badge, table
from mltrack.report.onboarding import MAX_PARAM_COLUMNS
from mltrack.report.svg import PALETTE, Plot, axis_for, category_axis

MAX_MESSAGE = 600  # characters of a check's verdict in the checks table

SECTIONS = (("overview", "Overview"), ("experiments", "Experiments"), ("users", "Users"),
            ("leaderboard", "Leaderboard"), ("plots", "Plots"), ("production", "Production"),
            ("checks", "Pressure checks"), ("glossary", "Glossary"))


def render_onboarding(data: Mapping[str, Any]) -> str:
    body = [_overview(data), _experiments(data), _users(data), _leaderboard(data), _plots(data),
            _production(data), _checks(data), _glossary(data)]
    return page("Tracking store onboarding", f"{data['uri']} — generated {data['generated_at']}",
                SECTIONS, "\n".join(body))


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{content}</section>'


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _bar(value: float | None) -> str:
    width = 0 if value is None else int(value * 80)
    return f'<span class="bar" style="width:{width}px"></span> {esc(_pct(value))}'


def _missing(missing: Mapping[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(missing.items(), key=lambda kv: -kv[1])) or "—"


def _overview(data: Mapping[str, Any]) -> str:
    totals = data["totals"]
    failing = [c["name"] for c in data["checks"] if c["status"] in ("fail", "error")]
    verdict = ("All pressure checks pass." if data["checks"] and not failing else
               f"Checks needing attention: {', '.join(failing)}." if failing else "Pressure checks were not run.")
    return _section("overview", "Overview", cards([
        ("experiments", totals["experiments"]), ("runs", totals["runs"]), ("users", totals["users"]),
        ("registered models", totals["registered_models"])]) +
        f"<p>Store <code>{esc(data['uri'])}</code> ({esc(data['tracker'])}, server "
        f"{esc(data.get('server_version') or 'unknown')}). Leaderboards rank by <b>{esc(data['metric'])}</b> "
        f"({'higher' if data['metric_goal'] == 'max' else 'lower'} is better). {esc(verdict)}</p>" +
        (f"<p>{int(data['masked_secrets'])} secret-looking value(s) (params, tags, URIs with passwords, "
         "tokens) are shown as <code>***</code>.</p>" if data.get("masked_secrets") else "") +
        _assumptions(data.get("assumptions")))


def _assumptions(assumptions: Any) -> str:
    """What zero configuration inferred from the store, each with the policy key that overrides it."""
    if not assumptions:
        return ""
    return "<h3>Assumptions</h3>" + assumptions_table(
        assumptions, "set the policy key in <code>[tool.mltrack]</code> to override one.")


def _experiments(data: Mapping[str, Any]) -> str:
    block = data["experiments"]
    rows = [(e["name"], e["runs"], e["finished"], ", ".join(e["top_users"]), e["first_run"] or "—",
             e["last_run"] or "—", _bar(e["completeness"]), _missing(e["missing"])) for e in block["rows"]]
    more = f"<p class='muted'>… and {block['more']} more experiments.</p>" if block["more"] else ""
    return _section("experiments", "Experiments", table(
        ["experiment", "runs", "finished", "main users", "first run", "last run", "completeness", "missing fields (runs)"],
        rows, numeric=[1, 2], raw=[6]) + more +
        f"<p class='muted'>Completeness: share of the required fields ({esc(', '.join(data['fields']))}) "
        "present on training runs.</p>")


def _users(data: Mapping[str, Any]) -> str:
    block = data["users"]
    rows = [(u["user"], u["runs"], u["experiments"], u["last_run"] or "—", _bar(u["completeness"]),
             _missing(u["missing"])) for u in block["rows"]]
    more = f"<p class='muted'>… and {block['more']} more users.</p>" if block["more"] else ""
    return _section("users", "Who runs what", table(
        ["user", "training runs", "experiments", "last run", "completeness", "missing fields (runs)"],
        rows, numeric=[1, 2], raw=[4]) + more)


def _leaderboard(data: Mapping[str, Any]) -> str:
    parts = []
    for board in data["leaderboards"]:
        every_key = sorted({k for r in board["top"] for k in r["params"]})
        keys = every_key[:MAX_PARAM_COLUMNS]
        hidden = (f"<p class='muted'>… and {len(every_key) - len(keys)} more parameters (the reproduce "
                  "command below has them all).</p>" if len(every_key) > len(keys) else "")
        diverged = board.get("diverged") or []
        diverged_note = (f"<p class='muted'>Diverged (NaN/inf {esc(data['metric'])}, not ranked): "
                         f"{esc(', '.join(d['name'] or d['run_id'] for d in diverged[:10]))}"
                         + _more(len(diverged) - min(len(diverged), 10) + board.get("diverged_more", 0), "")
                         + ".</p>" if diverged else "")
        rows = [(i + 1, f"{r['metric']:.4f}", r["name"] or r["run_id"][:8], r["user"], r["started"] or "—",
                 *(r["params"].get(k, "—") for k in keys)) for i, r in enumerate(board["top"])]
        rep = board["reproduce"]
        note = "" if rep["entry_point_known"] else (
            "<p class='muted'>The entry point is not recorded; set <code>rerun_command</code> in "
            "[tool.mltrack] to show the exact command.</p>")
        parts.append(
            f"<h3>{esc(board['experiment'])} <span class='muted'>({board['scored_runs']} scored runs)</span></h3>"
            + table(["#", data["metric"], "run", "user", "started", *keys], rows, numeric=[0, 1]) + hidden
            + diverged_note
            + f"<p>Reproduce the best run <code>{esc(rep['name'] or rep['run_id'])}</code> "
            f"(<code>{esc(rep['run_id'])}</code>): git commit <code>{esc(rep['git_commit'] or 'not recorded')}</code>, "
            f"data hash <code>{esc(rep['data_hash'] or 'not recorded')}</code>"
            f"{', data ' + esc(rep['data_version']) if rep.get('data_version') else ''}.</p>"
            f"<pre>{esc(rep['command'])}</pre>{note}")
    if parts and data.get("leaderboards_more"):
        parts.append(f"<p class='muted'>Leaderboards of the {len(data['leaderboards'])} experiments with the most "
                     f"training runs; … and {data['leaderboards_more']} more experiments.</p>")
    return _section("leaderboard", "Leaderboard", "".join(parts) or "<p>No run logged the metric.</p>")


def _more(count: int, noun: str) -> str:
    return f" … and {count} more{' ' + noun if noun else ''}" if count > 0 else ""


def _sampled(shown: int, total: int, noun: str, how: str) -> str:
    """A plot caption's statement of what was drawn: all of it, or a sample and how it was taken."""
    if shown >= total:
        return f"All {total} {noun} drawn (not sampled)."
    return f"Sampled: {shown} of {total} {noun} drawn ({how})."


def _plots(data: Mapping[str, Any]) -> str:
    metric, figures = data["metric"], []
    curves = [s for s in data["learning_curves"] if s["points"]]
    if curves:
        xs = [p[0] for s in curves for p in s["points"]]
        ys = [p[1] for s in curves for p in s["points"]]
        plot = Plot(axis_for(xs, pad=0.02), axis_for(ys), title=f"Learning curves: top {len(curves)} runs",
                    x_label="step", y_label=metric)
        for index, series in enumerate(curves):
            plot.line(series["points"], PALETTE[index % len(PALETTE)], series["label"])
        drawn, steps = sum(len(s["points"]) for s in curves), sum(s.get("steps", len(s["points"])) for s in curves)
        figures.append(_figure(plot.render(), f"{metric} per step of the best runs in {data['main_experiment']}. "
                               + _sampled(drawn, steps, "steps", "evenly strided per run, last step kept")))
    for hp in data["hparams"]:
        if not hp["points"]:
            continue
        ys = [p[1] for p in hp["points"]]
        x_axis = (category_axis(hp["categories"]) if hp["kind"] == "categorical"
                  else axis_for([p[0] for p in hp["points"]], log=hp["log"]))
        plot = Plot(x_axis, axis_for(ys), title=f"{metric} vs {hp['param']}", x_label=hp["param"]
                    + (" (log scale)" if hp.get("log") else ""), y_label=metric)
        plot.dots(_jitter(hp["points"]) if hp["kind"] == "categorical" else hp["points"], PALETTE[0])
        shown, total = len(hp["points"]), hp.get("runs", len(hp["points"]))
        columns = (f" Only the first {len(hp['categories'])} values (sorted) have a column;"
                   f" {hp['categories_more']} more values not shown." if hp.get("categories_more") else "")
        figures.append(_figure(plot.render(), "Each dot is one run. " + _sampled(
            shown, total, "runs", "evenly strided in store order, the top runs always included") + columns))
    over = data["over_time"]
    if over["points"]:
        xs = [p[0] for p in over["points"]] + [c[0] for c in over["data_changes"]]
        plot = Plot(axis_for(xs, time=True), axis_for([p[1] for p in over["points"]]),
                    title=f"{metric} over time", x_label="run start (UTC)", y_label=metric)
        plot.dots(over["points"], PALETTE[1])
        for when, version in over["data_changes"]:
            plot.vline(when, f"data {version}")
        changes = ("" if not over.get("data_changes_more") else
                   f" (the first {len(over['data_changes'])}; {over['data_changes_more']} later changes not drawn)")
        figures.append(_figure(plot.render(), "Each dot is one run. " + _sampled(
            len(over["points"]), over["runs"], "runs", "evenly strided in start-time order")
            + f" Dashed lines: the data version changed{changes}."))
    content = f'<div class="plots">{"".join(figures)}</div>' if figures else "<p>Nothing to plot yet.</p>"
    return _section("plots", "Plots", content)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _jitter(points: list[list[float]]) -> list[tuple[float, float]]:
    """Spread a strip plot's dots sideways, deterministically, so equal values stay visible."""
    return [(x + ((i * 37) % 21 - 10) / 40, y) for i, (x, y) in enumerate(points)]


def _production(data: Mapping[str, Any]) -> str:
    parts = []
    for model in data["production"]:
        current, previous = model["current"], model["previous"]
        chain = (f"data <code>{esc((current['data_hash'] or 'unknown')[:16])}</code> → training run "
                 f"<code>{esc(current['run_name'] or current['run_id'])}</code> → "
                 f"<b>{esc(model['model'])} v{esc(current['version'])}</b> → "
                 f"{current['inference_runs']} inference run(s)"
                 + (f" (latest: {esc(', '.join(current['latest_inference']))})" if current["latest_inference"] else ""))
        rows = [(label, f["version"], f["run_name"] or f["run_id"] or "—",
                 "—" if f["metric"] is None else f"{f['metric']:.4f}", f["data_version"] or "—",
                 f["promoted_at"] or "—", f["inference_runs"])
                for label, f in (("production", current), ("previous", previous)) if f]
        parts.append(f"<h3>{esc(model['model'])} <span class='muted'>@{esc(model['alias'])}</span></h3>"
                     f"<p>Lineage: {chain}</p>"
                     + table(["", "version", "training run", data["metric"], "data", "promoted", "inference runs"],
                             rows, numeric=[1, 6])
                     + f"<p class='muted'>Previous version known from: {esc(model['previous_from'])}. "
                     f"Roll back with <code>mltrack rollback --tracking-uri \"$MLTRACK_TRACKING_URI\" --model "
                     f"{esc(model['model'])}</code>.</p>")
    if data.get("production_more"):
        parts.append(f"<p class='muted'>… and {data['production_more']} more models in production.</p>")
    return _section("production", "Models in production", "".join(parts) or "<p>No model is in production.</p>")


def _checks(data: Mapping[str, Any]) -> str:
    if not data["checks"]:
        why = data.get("checks_note") or "not run"
        return _section("checks", "Pressure checks", f"<p>Pressure checks {esc(why)}. Configure the policy "
                        "in [tool.mltrack] (experiments, registered_models) and run <code>mltrack audit</code>.</p>")
    rows = [(c["code"], f'<a href="#evidence-{esc(c["name"])}">{esc(c["name"])}</a>', status_badge(c["status"]),
             _clip(c["message"])) for c in data["checks"]]
    details = "".join(
        f'<h3 id="evidence-{esc(c["name"])}">{esc(c["code"])} {esc(c["name"])} {status_badge(c["status"])}</h3>'
        + (f"<p><b>Fix:</b> {esc(c['fix'])}</p>" if c.get("fix") else "")
        + f"<details><summary>Evidence</summary>{evidence_block(c.get('evidence') or {}, 4000)}</details>"
        for c in data["checks"])
    return _section("checks", "Pressure checks", table(["code", "check", "status", "verdict"], rows,
                                                       raw=[1, 2]) + details)


def _clip(text: Any, limit: int = MAX_MESSAGE) -> str:
    """A verdict that lists runs grows with the store; the table keeps its head."""
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f" … ({len(text) - limit} more characters; `mltrack audit` prints it whole)"


def _glossary(data: Mapping[str, Any]) -> str:
    items = "".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in data["glossary"])
    return _section("glossary", "Glossary", f"<dl>{items}</dl>")
