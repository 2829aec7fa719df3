"""MLT011's message states what each tracker does with a run left open; these tests check those
claims against the installed libraries (mlflow 3.17.2, wandb 0.31.0), so a library upgrade that
changes the behaviour fails here instead of leaving the message false.

- MLflow: `mlflow/tracking/fluent.py` registers `atexit.register(_safe_end_run)`, and
  `_safe_end_run` calls `end_run()` whose default status is FINISHED; `ActiveRun.__exit__` ends
  the run as FAILED when an exception escapes the `with` block.
- W&B: `wandb/sdk/lib/service/service_connection.py` installs `ExitHooks` and registers
  `teardown_atexit`, which hands `hooks.exit_code` to the service; `ExitHooks.exc_handler`
  (`wandb/sdk/lib/exit_hooks.py`) sets that code to 1 on an uncaught exception, and
  `Run.finish`'s docstring: "Failed: Run completed with errors (`exit_code!=0`)".
  `wandb.init()` while a run is active returns the previous run when `reinit` is "default"
  outside a notebook (`wandb/sdk/wandb_init.py`, `wandb_settings.py`).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mltrack.lint.rules.mlt011_unclosed_run import _MLFLOW_HARM, _WANDB_HARM


def test_mlflow_exit_hook_ends_an_open_run_as_finished(tmp_path: Path, monkeypatch) -> None:
    import mlflow
    from mlflow.tracking import fluent

    assert "ends the run as FINISHED" in _MLFLOW_HARM
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a file store: no sqlite migrations
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    try:
        with pytest.raises(RuntimeError):
            with mlflow.start_run() as in_with:
                raise RuntimeError("crash inside a with block")
        bare = mlflow.start_run()
        try:
            raise RuntimeError("crash with no with block")
        except RuntimeError:
            pass
        fluent._safe_end_run()  # what MLflow's atexit hook runs when the process exits
        client = mlflow.MlflowClient()
        assert client.get_run(in_with.info.run_id).info.status == "FAILED"
        assert client.get_run(bare.info.run_id).info.status == "FINISHED"  # the crash is hidden
        assert "atexit.register(_safe_end_run)" in inspect.getsource(fluent)
    finally:
        mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.mark.slow
def test_mlflow_crashed_script_run_reads_finished(tmp_path: Path) -> None:
    """End to end: a script that raises after a bare start_run() leaves a FINISHED run."""
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    script = textwrap.dedent("""
        import sys, mlflow
        mlflow.set_tracking_uri(sys.argv[1])
        mlflow.start_run(run_name="bare")
        raise RuntimeError("training crashed")
    """)
    done = subprocess.run([sys.executable, "-c", script, uri], capture_output=True, text=True)
    assert done.returncode == 1 and "training crashed" in done.stderr
    import mlflow

    runs = mlflow.MlflowClient(uri).search_runs(["0"])
    assert [r.info.status for r in runs] == ["FINISHED"]


def test_wandb_records_exit_code_one_for_an_uncaught_exception() -> None:
    from wandb.sdk.lib import exit_hooks
    from wandb.sdk.lib.service import service_connection

    assert "returns that same run" in _WANDB_HARM
    saved_hook, saved_exit = sys.excepthook, sys.exit
    hooks = exit_hooks.ExitHooks()
    try:
        hooks.hook()
        error = RuntimeError("training crashed")
        sys.excepthook(RuntimeError, error, error.__traceback__)  # what an uncaught raise does
    finally:
        sys.excepthook, sys.exit = saved_hook, saved_exit
    assert hooks.exit_code == 1
    # the exit hook's code reaches the service at exit, which finishes open runs with it
    assert "conn.teardown(hooks.exit_code)" in inspect.getsource(service_connection)


def test_wandb_init_returns_the_open_run_in_a_script() -> None:
    import wandb
    from wandb.sdk import wandb_init

    assert wandb.Settings().reinit == "default"
    source = inspect.getsource(wandb_init)
    assert 'settings.reinit == "default" and wb_ipython.in_notebook()' in source
    assert "return previous_run" in source


@pytest.mark.slow
def test_wandb_second_init_returns_the_unfinished_run(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys, wandb
        first = wandb.init(mode="offline", project="p", dir=sys.argv[1])
        second = wandb.init(mode="offline", project="p", dir=sys.argv[1])
        print("SAME" if first is second else "NEW")
        first.finish()
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, env={"WANDB_SILENT": "true", "WANDB_MODE": "offline",
                                          "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.stdout.strip().endswith("SAME"), done.stderr
