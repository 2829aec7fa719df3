"""`mltrack snapshot`: record a store's snapshot as JSON, to test checks offline against it.

Reads only. The runs are written one at a time as they stream from the snapshot (a big store's
runs are spilled to disk by the reader, never held), and secrets are masked as in the reports.
Exit codes: 0 written, 2 the store could not be read (unreachable, malformed URI)
or the output could not be written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from pathlib import Path
from typing import Any

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option
from mltrack.model import RunTable, StoreSnapshot


@click.command("snapshot")
@tracking_uri_option
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="JSON file to write ('-' for stdout).")
@click.option("--experiment", "experiments", multiple=True,
              help="Read runs of this experiment only (name or id; repeatable). Default: all.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds to wait for each request to the store.")
@click.option("--read-deadline", default=180.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds the whole read may take (a hung server ends then, exit 2).")
@click.option("--indent", default=None, type=click.IntRange(min=0),
              help="Pretty-print the JSON with this indent.")
@handle_errors
def snapshot_command(tracking_uri: str, out_file: Path, experiments: tuple[str, ...],
                     timeout: float, read_deadline: float, indent: int | None) -> None:
    """Read a tracking store (never writing to it) and save its StoreSnapshot as JSON."""
    from mltrack.stores import open_store
    from mltrack.stores.deadline import ReadDeadline, read_within

    store = open_store(tracking_uri, timeout=timeout, read_deadline_s=read_deadline)
    try:
        snapshot = read_within(store.read_deadline or ReadDeadline(read_deadline), store.uri.redacted,
                               lambda: store.snapshot(list(experiments) or None))
    finally:
        store.close()
    try:
        if str(out_file) == "-":
            write_snapshot_json(snapshot, _Echo(), indent)
            click.echo("")
            return
        masked = _write_file(snapshot, out_file, indent)
    finally:
        snapshot.runs.close()  # a spilled read's temporary file goes now, not at exit
    models = len(snapshot.registered_models)
    note = f" ({masked} secret-looking values masked as ***)" if masked else ""
    click.echo(f"{snapshot.uri}: {len(snapshot.experiments)} experiments, {len(snapshot.runs)} runs, "
               f"{models} registered models -> {out_file}{note}")


def _write_file(snapshot: StoreSnapshot, out_file: Path, indent: int | None) -> int:
    from mltrack.errors import MltrackError

    temp = out_file.with_name(f".{out_file.name}.partial")
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        with temp.open("w", encoding="utf-8") as out:
            masked = write_snapshot_json(snapshot, out, indent)
            out.write("\n")
        os.replace(temp, out_file)  # a failed write never leaves half a snapshot under the name
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise MltrackError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    return masked


class _Echo:
    """stdout as a file for `--out -`."""

    def write(self, text: str) -> None:
        click.echo(text, nl=False)


def write_snapshot_json(snapshot: StoreSnapshot, out: Any, indent: int | None) -> int:
    """Write `snapshot.to_json(indent)` to `out` run by run (never the whole store as one
    string), with every secret-looking value masked as the reports mask it (mltrack.secrets:
    by name in params and tags, by value anywhere). Returns how many values were masked.
    For a store without secrets the text is byte for byte `snapshot.to_json(indent)`."""
    from mltrack.secrets import mask_value

    marker = f"mltrack-runs-{uuid.uuid4().hex}"
    head = dataclasses.replace(snapshot, runs=RunTable()).to_dict()
    head, masked = mask_value("", head)
    head["runs"] = marker
    before, after = json.dumps(head, indent=indent, sort_keys=True).split(json.dumps(marker))
    out.write(before)
    # json.dumps lays out the runs list one level below the top: this is its layout, item by item.
    nested = None if indent is None else "\n" + " " * (indent * 2)
    separator = ", " if nested is None else "," + nested
    first = True
    for run in snapshot.runs:
        # one run at a time, through the same JSON form as StoreSnapshot.to_dict
        plain = StoreSnapshot("", "", None, 0, runs=RunTable((run,))).to_dict()["runs"][0]
        plain, count = mask_value("", plain)
        masked += count
        text = json.dumps(plain, indent=indent, sort_keys=True)
        if nested is not None:
            text = text.replace("\n", nested)  # JSON strings escape newlines: each is layout
        out.write(("[" + ("" if nested is None else nested) if first else separator) + text)
        first = False
    out.write("[]" if first else ("]" if indent is None else "\n" + " " * indent + "]"))
    out.write(after)
    return masked


main.add_command(snapshot_command)
