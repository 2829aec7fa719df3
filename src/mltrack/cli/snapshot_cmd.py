"""`mltrack snapshot`: record a store's snapshot as JSON, to test checks offline against it.

Reads only. Exit codes: 0 written, 2 the store could not be read (unreachable, malformed URI)
or the output could not be written.
"""

from __future__ import annotations

from pathlib import Path

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option


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
    from mltrack.errors import MltrackError
    from mltrack.stores import open_store
    from mltrack.stores.deadline import ReadDeadline, read_within

    store = open_store(tracking_uri, timeout=timeout, read_deadline_s=read_deadline)
    try:
        snapshot = read_within(store.read_deadline or ReadDeadline(read_deadline), store.uri.redacted,
                               lambda: store.snapshot(list(experiments) or None))
    finally:
        store.close()
    text = snapshot.to_json(indent=indent)
    if str(out_file) == "-":
        click.echo(text)
        return
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise MltrackError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    models = len(snapshot.registered_models)
    click.echo(f"{snapshot.uri}: {len(snapshot.experiments)} experiments, {len(snapshot.runs)} runs, "
               f"{models} registered models -> {out_file}")


main.add_command(snapshot_command)
