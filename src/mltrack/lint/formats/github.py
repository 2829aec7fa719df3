"""GitHub Actions workflow commands: one `::error` (or `::warning`) annotation per finding.

https://docs.github.com/actions/reference/workflow-commands-for-github-actions - data is
escaped (% CR LF), property values additionally (: ,), so a message can never end the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltrack.lint.formats import finding_record, located_message

if TYPE_CHECKING:
    from mltrack.lint.engine import LintRun


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(record: dict) -> str:
    level = "warning" if record["severity"] == "warning" else "error"
    message = located_message(record)
    props = {
        "file": record["path"],
        "line": record["line"],
        "col": record["column"],
        "endLine": record["end_line"],
        "endColumn": record["end_column"],
        "title": f"{record['code']} {record['name']}",
    }
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in props.items())
    return f"::{level} {rendered}::{escape_data(message)}"


def render_github(run: LintRun) -> str:
    return "".join(annotation(finding_record(f)) + "\n" for f in run.findings)
