"""`mltrack seed`: write the reference training history into a tracking store."""

from __future__ import annotations

import sys
from typing import Any

import click

from mltrack.cli import main
from mltrack.cli.common import fail, handle_errors
from mltrack.errors import UsageError
from mltrack.extras import needs_extras
from mltrack.seed.breaks import BREAKS, validate_break

_BREAK_HELP = "Seed the same history without the one property CHECK guards: " + ", ".join(BREAKS) + "."


class _Progress:
    """A click progress bar on a terminal; a plain line every 10% otherwise (logs, CI)."""

    def __init__(self) -> None:
        self.bar: Any = None  # click's ProgressBar, once the total is known
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="Seeding", file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.bar.pos)
            return
        decile = done * 10 // total
        if decile != self.last_decile:
            self.last_decile = decile
            click.echo(f"seeding: {done}/{total} steps", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command("seed")
# Not `tracking_uri_option` (required): `--tracker wandb --out DIR` needs no tracking URI.
@click.option("--tracking-uri", envvar="MLTRACK_TRACKING_URI", default=None,
              help="MLflow tracking store: sqlite:///PATH or http(s)://HOST. Env: MLTRACK_TRACKING_URI.")
@click.option("--tracker", type=click.Choice(["mlflow", "wandb"]), default="mlflow", show_default=True,
              help="wandb: log the runs with the real wandb client in offline mode under --out.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="With --tracker wandb: the directory to write (DIR/wandb/offline-run-*); "
              "read it back with --tracking-uri wandb-offline:DIR.")
@click.option("--runs", type=click.IntRange(min=1), default=120, show_default=True,
              help="Training runs in the hyperparameter search (at least 12).")
@click.option("--break", "break_check", metavar="CHECK", default=None, help=_BREAK_HELP)
@click.option("--force", is_flag=True,
              help="Replace the reference experiments and model if the store holds them already.")
@handle_errors
def seed(tracking_uri: str | None, tracker: str, out_dir: str | None, runs: int, break_check: str | None,
         force: bool) -> None:
    """Train the reference runs and write them, with a model registry history, into a store.

    Works on sqlite:///PATH (no server needed) and on http(s):// tracking servers. Refuses a
    store that already holds the reference experiment unless --force.
    """
    validate_break(break_check)  # before importing torch: a typo answers at once
    if tracker == "wandb":
        _seed_wandb(out_dir, runs, break_check, force)
        return
    if not tracking_uri:
        raise UsageError("missing --tracking-uri", hint="or --tracker wandb --out DIR")
    progress = _Progress()
    try:
        with needs_extras("train"):  # MLflow to write, torch to train: [train] holds both
            from mltrack.seed.seeder import seed_store

            summary = seed_store(tracking_uri, runs=runs, break_check=break_check, force=force,
                                 progress=progress)
    except KeyboardInterrupt:
        progress.close()
        fail("interrupted; if writing had begun, the store now holds an incomplete seed: "
             "rerun with --force", 130)
    finally:
        progress.close()
    click.echo(f"Seeded {summary.uri} in {summary.elapsed_seconds:.1f} s"
               + (f" (--break {summary.break_check}: {BREAKS[summary.break_check]})"
                  if summary.break_check else ""))
    experiments = ", ".join(f"{name} (id {eid})" for name, eid in summary.experiment_ids.items())
    click.echo(f"  experiments:      {experiments}")
    click.echo(f"  training runs:    {summary.training_runs} by {', '.join(summary.users)}")
    click.echo(f"  inference runs:   {summary.inference_runs}")
    click.echo(f"  best run:         {summary.best_run_name} (val_acc {summary.best_val_acc:.4f})")
    click.echo(f"  registered model: {summary.model_name} versions {', '.join(summary.versions)}; "
               f"production: {summary.production_version or 'none'}, "
               f"previous: {summary.previous_production_version or 'unknown'}")


def _seed_wandb(out_dir: str | None, runs: int, break_check: str | None, force: bool) -> None:
    """`--tracker wandb`: offline W&B runs under `--out` (mltrack.seed.wandb_seeder)."""
    if not out_dir:
        raise UsageError("--tracker wandb needs --out DIR")
    progress = _Progress()

    def logged(done: int, total: int | None, what: str) -> None:
        if what == "logged to W&B" and total:
            progress(done, total)

    try:
        with needs_extras("train", "wandb"):  # W&B to log, torch to train
            from mltrack.seed.wandb_seeder import seed_wandb

            summary = seed_wandb(out_dir, runs=runs, break_check=break_check, force=force, progress=logged)
    finally:
        progress.close()
    click.echo(f"Seeded {summary.training_runs} training and {summary.inference_runs} inference W&B offline runs "
               f"under {summary.out_dir}/wandb"
               + (f" (--break {summary.break_check}: {BREAKS[summary.break_check]})" if summary.break_check else ""))
    click.echo(f"  model versions: v{', v'.join(summary.versions)}")
    click.echo(f"  read it with:   --tracking-uri {summary.uri}")


main.add_command(seed)
