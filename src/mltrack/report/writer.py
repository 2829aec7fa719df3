"""Write an audit directory: report.json first, then every format rendered from that file.

The renderers receive the JSON text parsed back, not the in-memory objects, so what they show is
exactly what `report.json` holds (and `render_directory` can re-render an old report offline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mltrack.report.audit_html import render_audit_html
from mltrack.report.junit import render_junit
from mltrack.report.markdown import render_markdown
from mltrack.report.schema import ReportError, dumps, load, validate_report
from mltrack.report.trend import HISTORY, compute_trend, history_name, previous_report

RENDERERS = {
    "report.md": render_markdown,
    "report.html": render_audit_html,
    "junit.xml": render_junit,
}


def write_audit(report: Mapping[str, Any], out_dir: Path) -> dict[str, Any]:
    """Add the trend versus the last audit in `out_dir`, keep the report in `history/`, write
    `report.json` and render the other formats from it. Returns the report as written."""
    out_dir = Path(out_dir)
    try:
        (out_dir / HISTORY).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    data = json.loads(dumps(report))
    earlier = previous_report(out_dir)
    if earlier is not None:
        path, previous = earlier
        if path.parent == out_dir:  # a lone report.json from before history existed: keep it
            path = _keep(path, out_dir / HISTORY / history_name(previous["created_at"]))
        data["trend"] = compute_trend(previous, data, _relative(path, out_dir))
    text = dumps(data)
    target = out_dir / HISTORY / history_name(data["created_at"])
    counter = 1
    while target.exists():  # two audits in one second: never overwrite an earlier one
        target = target.with_name(f"{target.stem.split('~')[0]}~{counter}.json")
        counter += 1
    target.write_text(text, encoding="utf-8")
    (out_dir / "report.json").write_text(text, encoding="utf-8")
    render_directory(out_dir)
    return data


def render_directory(out_dir: Path) -> list[Path]:
    """(Re-)render report.md, report.html and junit.xml from `out_dir/report.json` alone."""
    data = load(Path(out_dir) / "report.json")
    return render_files(data, Path(out_dir))


def render_files(data: Mapping[str, Any], out_dir: Path) -> list[Path]:
    validate_report(dict(data))
    written = []
    for name, render in RENDERERS.items():
        path = Path(out_dir) / name
        path.write_text(render(data), encoding="utf-8")
        written.append(path)
    return written


def _keep(src: Path, dst: Path) -> Path:
    if not dst.exists():
        dst.write_bytes(src.read_bytes())
    return dst


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
