"""The cleanup journal: what `cleanup --apply` will delete, written before the first delete,
then what it did, so an apply that dies part way can always be undone.

JSON Lines, appended and flushed to disk as things happen (a crash leaves every line written
so far):
- line 1, the plan: `{"journal": "mltrack-cleanup", "version": 1, "created_at", "uri"`
  (redacted), `"rules", "runs": [{"run_id", "name", "experiment", "experiment_id", "why"}]}`;
- then one event a line: `{"event": "deleting" | "deleted" | "stopped" | "finished" |
  "restored" | "restore-skipped" | "restore-failed", "run_id", "at", ...}`.

`restore_journal` restores, in one process, every run the journal says was deleted or being
deleted (the server may have done a delete whose answer never came). It is idempotent: a run
that is already active is counted, not an error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack.errors import UsageError
from mltrack.stores.base import StoreWriter
from mltrack.stores.retry import call_with_retry, is_transient
from mltrack.uri import redact

KIND = "mltrack-cleanup"
VERSION = 1


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def default_journal_path(directory: Path | None = None) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return (directory or Path.cwd()) / f"mltrack-cleanup-{stamp}.jsonl"


class Journal:
    """An open journal: `create` writes the plan; `record` appends one event, synced to disk."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def create(cls, path: Path, uri_redacted: str, rules: dict[str, Any],
               runs: Iterable[dict[str, Any]]) -> Journal:
        """Write the plan; refuse (exit 2, nothing deleted) when the file exists or cannot be written."""
        path = Path(path)
        try:
            handle = path.open("x", encoding="utf-8")
        except FileExistsError:
            raise UsageError(f"journal {path} already exists; choose another with --journal") from None
        except OSError as exc:
            raise UsageError(f"cannot write the journal {path}: {exc.strerror or exc}; nothing was deleted",
                             hint="choose a writable place with --journal PATH") from None
        journal = cls(path, handle)
        journal._write({"journal": KIND, "version": VERSION, "created_at": _now(), "uri": uri_redacted,
                        "rules": rules, "runs": list(runs)})
        return journal

    def record(self, event: str, run_id: str | None, **facts: Any) -> None:
        self._write({"event": event, "run_id": run_id, "at": _now(), **facts})

    def _write(self, entry: dict[str, Any]) -> None:
        self._handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


@dataclass(frozen=True)
class JournalContents:
    header: dict[str, Any]
    events: tuple[dict[str, Any], ...]

    @property
    def planned(self) -> list[str]:
        return [r["run_id"] for r in self.header.get("runs", ())]

    def touched(self) -> list[str]:
        """Runs deleted or being deleted when the journal was written, in deletion order."""
        return list(dict.fromkeys(e["run_id"] for e in self.events if e.get("event") in ("deleting", "deleted")))


def read_journal(path: Path) -> JournalContents:
    """Parse a journal; exit 2 with one line when it is missing or not a cleanup journal. A torn
    last line (the process died mid-write) is ignored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"journal {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the journal {path}: {exc}") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise UsageError(f"journal {path} line {number} is not JSON") from None
    if not entries or not isinstance(entries[0], dict) or entries[0].get("journal") != KIND:
        raise UsageError(f"{path} is not an mltrack cleanup journal")
    return JournalContents(entries[0], tuple(e for e in entries[1:] if isinstance(e, dict)))


@dataclass
class RestoreOutcome:
    restored: list[str] = field(default_factory=list)
    already_active: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)


def restore_journal(writer: StoreWriter, path: Path) -> RestoreOutcome:
    """Restore every run the journal deleted (or was deleting), one writer, in order."""
    contents = read_journal(path)
    outcome = RestoreOutcome()
    try:
        appender = Path(path).open("a", encoding="utf-8")
    except OSError:
        appender = None  # a read-only journal still restores; the events are just not added
    journal = Journal(Path(path), appender) if appender else None
    try:
        with writer.fail_fast():
            touched = contents.touched()
            stages = _stages_in_bulk(writer, contents, touched)
            for index, run_id in enumerate(touched):
                event, facts = _restore_one(writer, run_id, outcome, stages.get(run_id))
                if journal:
                    journal.record(event, run_id, **facts)
                if facts.get("store_down"):  # the store is gone: do not wait on each remaining run
                    outcome.failed += [(rid, "not attempted: the store stopped answering")
                                       for rid in touched[index + 1:]]
                    break
    finally:
        if journal:
            journal.close()
    return outcome


def _stages_in_bulk(writer: StoreWriter, contents: JournalContents, run_ids: list[str]) -> dict[str, str]:
    """run id -> lifecycle stage, read in bulk by the writer (one `run` each would double the
    round trips of a restore); runs whose experiment the journal lacks are read one by one."""
    experiment_of = {r["run_id"]: r.get("experiment_id") for r in contents.header.get("runs", ())}
    return writer.lifecycle_stages({i: experiment_of[i] for i in run_ids if experiment_of.get(i)})


def _restore_one(writer: StoreWriter, run_id: str, outcome: RestoreOutcome,
                 known_stage: str | None = None) -> tuple[str, dict[str, Any]]:
    """Restore one run unless it is active already (MLflow "restores" an active run without
    complaint, so the state is read first: the journal's last `deleting` may never have happened)."""
    try:
        stage = known_stage or _stage_now(writer, run_id)
        if stage == "active":
            outcome.already_active.append(run_id)
            return "restore-skipped", {"why": "already active"}
        call_with_retry(lambda: writer.restore_run(run_id))
    except Exception as exc:  # noqa: BLE001 - one run's failure is reported, not raised
        why = redact(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")  # MLflow quotes the URL
        outcome.failed.append((run_id, why))
        return "restore-failed", {"error": why, "store_down": is_transient(exc)}
    outcome.restored.append(run_id)
    return "restored", {}


def _stage_now(writer: StoreWriter, run_id: str) -> str:
    run = call_with_retry(lambda: writer.run(run_id))
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    return run.lifecycle_stage
