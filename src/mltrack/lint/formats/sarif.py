"""SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).

One run; the driver lists every rule (id, name, descriptions, help from the rule's own doc);
each result names its rule by id and index, its level, a message and a physical location with
a URI relative to the repository root (`%SRCROOT%`) and a 1-based region.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mltrack.lint.builtin_codes import documented_here
from mltrack.lint.formats import finding_record, located_message

if TYPE_CHECKING:
    from mltrack.lint.engine import LintRun

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mltrack/mltrack"


def _rule_descriptors() -> list[dict[str, Any]]:
    from mltrack.lint.registry import RULES

    rules = []
    for rule in RULES:
        doc = rule.doc()
        rules.append({
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "help": {"text": doc, "markdown": doc},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["ml", "reproducibility"], "fixable": bool(rule.fixable)},
        })
    for builtin in documented_here():  # findings the engine itself produces (no Rule class)
        rules.append({
            "id": builtin.code,
            "name": builtin.name,
            "shortDescription": {"text": builtin.summary},
            "fullDescription": {"text": builtin.summary},
            "help": {"text": builtin.summary},
            "defaultConfiguration": {"level": builtin.severity},
            "properties": {"tags": ["mltrack-lint"]},
        })
    return rules


def artifact_location(path: str) -> dict[str, str]:
    """Relative paths against %SRCROOT% (what code scanning matches to the repository);
    a file outside the working directory gets an absolute file: URI."""
    file = Path(path)
    if file.is_absolute():
        return {"uri": file.as_uri()}
    return {"uri": quote(file.as_posix()), "uriBaseId": "%SRCROOT%"}


def sarif_log(run: LintRun) -> dict[str, Any]:
    import mltrack

    rules = _rule_descriptors()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for finding in run.findings:
        record = finding_record(finding)
        message = located_message(record)
        region = {
            "startLine": record["line"],
            "startColumn": record["column"],
            "endLine": max(record["end_line"], record["line"]),
            "endColumn": max(record["end_column"], 1),
        }
        result: dict[str, Any] = {
            "ruleId": record["code"],
            "level": "warning" if record["severity"] == "warning" else "error",
            "message": {"text": message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": artifact_location(record["path"]),
                    "region": region,
                }
            }],
        }
        if record["code"] in index:
            result["ruleIndex"] = index[record["code"]]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mltrack-lint",
                "version": mltrack.__version__,
                "semanticVersion": mltrack.__version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(run: LintRun) -> str:
    return json.dumps(sarif_log(run), indent=2, ensure_ascii=False) + "\n"
