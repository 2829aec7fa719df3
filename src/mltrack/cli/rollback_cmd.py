"""`mltrack rollback`: move production back to the previous version, recorded and verified.

Exit codes: 0 rolled back and verified; 1 declined at the prompt, or the verification after the
move failed (the move is put back); 2 refused with nothing changed (unknown model or alias, no or
several production versions, no previous version known, target missing, its run deleted or its
weights unverified without --force, production moved meanwhile, store unreachable).
"""

from __future__ import annotations

import shlex
import time

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option
from mltrack.textsafe import for_terminal


@click.command("rollback")
@tracking_uri_option
@click.option("--model", "model_name", required=True, help="Registered model name.")
@click.option("--to", "to_version", default=None, help="Version to restore (default: the previous production version).")
@click.option("--alias", default=None, help="Alias that means production (default: the policy's production_alias, else the one "
                   "the registry holds among production, prod, champion, ...; else stage Production).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True,
              help="Roll back even onto a version whose training run is deleted or whose weights do not verify.")
@click.option("--load-models", is_flag=True, default=False,
              help="Also load (unpickle) each model, in a child process. This runs code stored in the "
                   "tracking store: only for stores you trust. Default: verify models without running them.")
@click.option("--config", "config_path", default=None, help="TOML file with the [tool.mltrack] policy.")
@handle_errors
def rollback_command(tracking_uri: str, model_name: str, to_version: str | None, alias: str | None,
                     yes: bool, config_path: str | None, load_models: bool = False, force: bool = False) -> None:
    """Roll production back to the previous version of MODEL, and verify it loads."""
    from mltrack.errors import UsageError
    from mltrack.model_verify import describe_mode
    from mltrack.ops.rollback import RollbackDeclined, plan_rollback, rollback
    from mltrack.ops.writable import open_for_write
    from mltrack.pressure.policy import load_policy
    from mltrack.uri import redact

    started = time.perf_counter()
    if not model_name.strip():
        raise UsageError("--model is empty: name a registered model")
    if alias is not None and not alias.strip():
        raise UsageError("--alias is empty: name the alias that means production")
    policy = load_policy(config_path)
    adapter, writer = open_for_write(tracking_uri, "rollback")
    try:
        # Explicit wins: --alias, then the policy's key; else the alias is read from the registry.
        plan = plan_rollback(writer, model_name, alias=alias or policy.production_alias,
                             alias_explicit=alias is not None, to_version=to_version, metric=policy.metric,
                             infer_alias=alias is None and not policy.is_set("production_alias"))
        say = lambda text: click.echo(for_terminal(text))  # noqa: E731 - store text, never raw
        say(f"Model {plan.model!r} on {redact(tracking_uri)}, alias {plan.alias!r}")
        if plan.assumed:
            say(f"Assumed {plan.assumed}")
        click.echo("\n".join(for_terminal(row) for row in _facts_table(plan).split("\n")))
        say(f"(the previous version comes from: {plan.how_known})")
        click.echo("Will move:")
        for line in plan.moves():
            say(f"  - {line}")
        say(f"Checking version {plan.target.version} (its run and weights) before changing anything ...")

        def confirm() -> bool:
            if yes:
                return True
            try:
                return click.confirm(for_terminal(f"Roll {plan.alias!r} back to version {plan.target.version}?"),
                                     default=False)
            except click.Abort:  # stdin closed or Ctrl-D: no answer is a no
                raise RollbackDeclined("no answer at the prompt (stdin is closed); rollback declined, "
                                       "nothing changed", hint="pass --yes to roll back without asking") from None

        outcome = rollback(writer, adapter, plan, confirm=confirm, started=started,
                           load_models=load_models or policy.load_models, force=force,
                           on_wait=lambda holder: say(f"Waiting: another rollback of {plan.model!r} "
                                                      f"(by {holder.get('by', '?')}) holds the model ..."))
    finally:
        adapter.close()
    verified = outcome.verified
    for problem in outcome.forced:
        click.echo(for_terminal(f"Warning: --force: {problem}"), err=True)
    if verified.get("verified", verified.get("loaded")):
        click.echo(for_terminal(
            f"Verified: {plan.production_uri} -> version {verified['alias_resolves_to']}, "
            f"verified by {describe_mode(verified.get('verified_by'))} in {verified.get('seconds', 0):.1f} s."))
    else:  # only with --force
        click.echo(for_terminal(f"NOT verified (--force): {plan.production_uri} -> version "
                                f"{verified['alias_resolves_to']}, but {verified.get('error', 'its files did not verify')}"))
    click.echo(for_terminal(
        f"Rolled back in {outcome.elapsed_s:.1f} s (command to verified). Promotion recorded; to undo: "
        f"mltrack rollback --tracking-uri \"$MLTRACK_TRACKING_URI\" --model {shlex.quote(plan.model)} "
        f"--to {plan.current.version}"))


def _facts_table(plan) -> str:
    header = f"  {'':<10} {'version':>7}  {'run':<32}  {plan.metric_name:>8}  {'data':<6}  promoted"
    rows = [header]
    for label, facts in (("current", plan.current), ("target", plan.target)):
        metric = f"{facts.metric:.4f}" if facts.metric is not None else "n/a"
        rows.append(f"  {label:<10} {facts.version:>7}  {facts.run_id or 'n/a':<32}  {metric:>8}  "
                    f"{facts.data_version or 'n/a':<6}  {facts.promoted_at or 'n/a'}")
    return "\n".join(rows)


main.add_command(rollback_command)
