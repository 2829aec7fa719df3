"""What MLT004/MLT009 assume MLflow autologging and Lightning's `logger=False` do, tied to source.

mlflow 3.17.2 is installed: its autolog integrations are read from the installed files (an
upgrade that changes them fails here) and, in the slow test, run against a real store. Lightning
is not installed: the claims about `logger=False` quote its source (repository, path, commit)
and check the effects the linter gives those calls. The rules' own examples
(mlt004/mlt009 modules) show the verdicts these facts lead to.
"""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

from mltrack.lint.analyze import analyze_source
from mltrack.lint.effects import call_effects
from mltrack.lint.facts import collect

MLFLOW = Path(__import__("mlflow").__file__).parent


def _source(relative: str) -> str:
    return (MLFLOW / relative).read_text(encoding="utf-8")


def _codes(code: str, rule: str) -> list[int]:
    return [f.location.line for f in analyze_source(code, "example.py", select=[rule]) if f.code == rule]


def test_generic_autolog_has_no_plain_torch_integration() -> None:
    """`mlflow.autolog()` turns on the integrations in LIBRARY_TO_AUTOLOG_MODULE: Lightning maps to
    mlflow.pytorch, plain `torch` is absent - so a hand-written loop's hyperparameters and printed
    loss are reported."""
    fluent = _source("tracking/fluent.py")
    table = fluent[fluent.index("LIBRARY_TO_AUTOLOG_MODULE = {"):]
    table = table[:table.index("}")]
    libraries = set(re.findall(r'"([\w.]+)": "mlflow\.\w+"', table))
    assert {"sklearn", "tensorflow", "keras", "xgboost", "lightgbm", "pytorch_lightning",
            "lightning", "transformers"} <= libraries
    assert "torch" not in libraries
    loop = ("import argparse\nimport mlflow\nimport torch\np = argparse.ArgumentParser()\n"
            "p.add_argument('--lr', type=float)\nargs = p.parse_args()\nmlflow.autolog()\n"
            "opt = torch.optim.SGD(m.parameters(), lr=args.lr)\nfor epoch in range(3):\n"
            "    loss.backward()\n    opt.step()\n    print(f'loss {loss.item()}')\n")
    assert _codes(loop, "MLT004") == [5]
    assert _codes(loop, "MLT009") == [12]


def test_pytorch_autolog_patches_lightning_fit_and_tensorboard_only() -> None:
    """mlflow.pytorch.autolog patches Lightning's Trainer.fit and TensorBoard's writer; nothing a
    hand-written loop calls (optimizer.step, backward, Module) is patched."""
    init = _source("pytorch/__init__.py")
    body = init[init.index("def autolog("):]
    patched = set(re.findall(r"safe_patch\(\s*FLAVOR_NAME,\s*([\w.]+),\s*\"(\w+)\"", body))
    assert patched == {("pl.Trainer", "fit"), ("L.Trainer", "fit"),
                       ("torch.utils.tensorboard.writer.FileWriter", "add_event"),
                       ("torch.utils.tensorboard.writer.FileWriter", "add_summary"),
                       ("torch.utils.tensorboard.SummaryWriter", "add_hparams")}


def test_lightning_autolog_logs_epochs_and_optimizer_defaults() -> None:
    """Lightning's fit logs `epochs` (max_epochs) and the first optimizer's defaults, not the
    batch size: a DataLoader's batch_size stays unlogged."""
    source = _source("pytorch/_lightning_autolog.py")
    assert 'params = {"epochs": trainer.max_epochs}' in source
    assert "params.update(optimizer.defaults)" in source
    script = ("import argparse\nimport mlflow\nimport pytorch_lightning as pl\nfrom model import Lit\n"
              "p = argparse.ArgumentParser()\np.add_argument('--lr', type=float)\n"
              "p.add_argument('--epochs', type=int)\np.add_argument('--batch_size', type=int)\n"
              "args = p.parse_args()\nmlflow.pytorch.autolog()\n"
              "pl.Trainer(max_epochs=args.epochs).fit(Lit(lr=args.lr), DataLoader(ds, batch_size=args.batch_size))\n")
    findings = analyze_source(script, "example.py", select=["MLT004"])
    assert [f.message.split(" configure")[0] for f in findings] == ["hyperparameters `batch_size`"]


def test_sklearn_keras_boosting_autolog_log_the_patched_calls_arguments() -> None:
    """sklearn: the estimator's get_params(); Keras: fit's keywords and the optimizer config;
    xgboost/lightgbm: the params dict and train()'s other arguments."""
    assert "params=estimator.get_params(deep=should_log_params_deeply)" in _source("sklearn/__init__.py")
    keras = _source("keras/autologging.py")
    assert "log_fn_args_as_params(original, [], kwargs, unlogged_params)" in keras
    assert "config = self.model.optimizer.get_config()" in _source("keras/callback.py")
    for flavor in ("xgboost", "lightgbm"):
        source = _source(f"{flavor}/__init__.py")
        assert 'booster_params = args[0] if len(args) > 0 else kwargs["params"]' in source
        assert "get_mlflow_run_params_for_fn_args(" in source
    covered = ("import argparse\nimport mlflow\nimport xgboost as xgb\np = argparse.ArgumentParser()\n"
               "p.add_argument('--rounds', type=int)\nargs = p.parse_args()\nmlflow.autolog()\n"
               "params = {'max_depth': 3, 'eta': 0.1}\nxgb.train(params, dtrain, args.rounds)\n")
    assert _codes(covered, "MLT004") == []
    assert _codes(covered.replace("mlflow.autolog()", "mlflow.sklearn.autolog()"), "MLT004") == [5]


@pytest.mark.slow
def test_autolog_records_estimator_arguments_only(tmp_path: Path) -> None:
    """The behaviour itself, on a real store: under autolog a hand-written torch loop leaves the
    run without params, and sklearn's run has the estimator's `C` but not the split's test size."""
    import mlflow
    import mlflow.sklearn
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        mlflow.autolog(log_models=False, log_datasets=False)
        with mlflow.start_run() as loop_run:
            model = torch.nn.Linear(2, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for _ in range(2):
                loss = model(torch.ones(4, 2)).pow(2).mean()
                loss.backward()
                optimizer.step()
        assert mlflow.get_run(loop_run.info.run_id).data.params == {}
        mlflow.sklearn.autolog(log_models=False, log_datasets=False)
        X, y = np.arange(40.0).reshape(20, 2), np.array([0, 1] * 10)
        with mlflow.start_run() as sk_run:
            X_tr, _, y_tr, _ = train_test_split(X, y, test_size=0.3, random_state=0)
            LogisticRegression(C=0.5).fit(X_tr, y_tr)
        params = mlflow.get_run(sk_run.info.run_id).data.params
        assert params["C"] == "0.5" and "test_size" not in params
    finally:
        mlflow.autolog(disable=True)
        mlflow.set_tracking_uri(None)


def _default(relative: str, function_start: str, name: str) -> str:
    """The default of keyword `name` in the signature starting at `function_start`."""
    source = _source(relative)
    signature = source[source.index(function_start):]
    signature = signature[:signature.index("):")]
    return re.search(rf"\b{name}=(\w+)", signature).group(1)


def test_which_integrations_log_datasets_and_models() -> None:
    """MLT005 counts autologging as logging the data, MLT007/MLT008 as logging the model, only for
    integrations that do so by default (mltrack/lint/autolog.py); Lightning's accepts
    `log_datasets` but nothing in its autologging logs an input."""
    for relative, start in (("sklearn/__init__.py", "def autolog("),
                            ("keras/autologging.py", "def autolog("),
                            ("tensorflow/__init__.py", "def autolog("),
                            ("xgboost/__init__.py", "def autolog("),
                            ("lightgbm/__init__.py", "def autolog(")):
        assert _default(relative, start, "log_datasets") == "True", relative
        assert _default(relative, start, "log_models") == "True", relative
    assert _default("pytorch/__init__.py", "def autolog(", "log_models") == "True"
    assert _default("transformers/__init__.py", "def autolog(", "log_models") == "False"
    lightning = _source("pytorch/_lightning_autolog.py")
    assert "log_input" not in lightning and "log_datasets" not in lightning
    torch_loop = ("import mlflow\nimport pandas as pd\nimport torch\nmlflow.autolog()\n"
                  "df = pd.read_csv('d.csv')\nfor epoch in range(3):\n    loss.backward()\n"
                  "torch.save(model.state_dict(), 'model.pt')\n")
    assert _codes(torch_loop, "MLT005") == [5]
    assert _codes(torch_loop, "MLT007") == [8]
    sklearn = ("import mlflow, joblib\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
               "mlflow.autolog()\ndf = pd.read_csv('d.csv')\nm = Ridge().fit(df[['x']], df['y'])\n"
               "joblib.dump(m, 'model.joblib')\n")
    assert _codes(sklearn, "MLT005") == [] and _codes(sklearn, "MLT007") == []


@pytest.mark.slow
def test_autolog_logs_no_model_nor_dataset_for_a_torch_loop(tmp_path: Path) -> None:
    """On a real store, with autologging's defaults: a hand-written torch loop's run gets no
    dataset input and no logged model; sklearn's gets both."""
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    import torch
    from sklearn.linear_model import Ridge

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        mlflow.autolog()
        # a flavor's own earlier autolog call (another test's) outranks the generic one: reset it
        mlflow.sklearn.autolog()
        with mlflow.start_run() as loop_run:
            model = torch.nn.Linear(2, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            loss = model(torch.ones(4, 2)).pow(2).mean()
            loss.backward()
            optimizer.step()
        frame = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) * 2})
        with mlflow.start_run() as sk_run:
            Ridge().fit(frame[["x"]], frame["y"])
        client = mlflow.MlflowClient()
        loop, sk = client.get_run(loop_run.info.run_id), client.get_run(sk_run.info.run_id)
        assert not loop.inputs.dataset_inputs and sk.inputs.dataset_inputs

        def models(run_id: str) -> list:
            return mlflow.search_logged_models(
                filter_string=f"source_run_id = '{run_id}'", output_format="list")

        assert models(loop_run.info.run_id) == [] and len(models(sk_run.info.run_id)) == 1
    finally:
        mlflow.autolog(disable=True)
        mlflow.set_tracking_uri(None)


# -- Lightning (not installed): cited ----------------------------------------------------------
# src/lightning/pytorch/core/module.py @ 015e16767e0f4779f6a13098175b20c389fbfef4, `log()`:
#   "if logger is None: logger = True" ... "results.log(..., prog_bar=prog_bar, logger=logger, ...)"
#   and with Fabric `_log_dict_through_fabric`: "if logger is False: ... return".
# src/lightning/pytorch/trainer/connectors/logger_connector/result.py
#   @ bdb96c433d679068a3dbb0757b186f833cb12c94, `metrics()`: "if result_metric.meta.logger:
#   metrics['log'][forked_name] = value" - only logger=True values reach the loggers; the progress
#   bar takes `meta.prog_bar` ones.
# src/lightning/pytorch/core/mixins/hparams_mixin.py @ 4488c4b3c4d8cc5bb4527de0065880c4d4032d55,
#   `save_hyperparameters(..., logger=True)`: "self._log_hyperparams = logger" (the Trainer calls
#   logger.log_hyperparams only when it is true).


def _effects(code: str) -> set[str]:
    return call_effects(collect(cst.parse_module(code), "example").calls[-1])


@pytest.mark.parametrize(("call", "logs"), [
    ("self.log('loss', loss)\n", True),
    ("self.log('loss', loss, logger=True, prog_bar=True)\n", True),
    ("self.log('loss', loss, logger=self.use_logger)\n", True),  # unknown at lint time: trusted
    ("self.log('loss', loss, prog_bar=True, logger=False)\n", False),
    ("self.log_dict({'loss': loss}, logger=False)\n", False),
])
def test_lightning_log_with_logger_false_logs_no_metric(call: str, logs: bool) -> None:
    assert ("log:metric" in _effects(call)) is logs


def test_save_hyperparameters_logger_false_logs_no_params() -> None:
    assert {"log:params", "log:params:all"} <= _effects("self.save_hyperparameters()\n")
    assert not {"log:params", "log:params:all"} & _effects("self.save_hyperparameters(logger=False)\n")
