"""What MLflow autologging records, per integration ("flavor"), as the rules need to know it.

Autologging patches a framework's training calls and logs what those calls see; it does not
log a script's settings wholesale. Read from the source of mlflow 3.17.2 (paths under
`site-packages/mlflow/`):

- `mlflow.autolog()` turns on, when the library is imported, the integration of each library in
  `LIBRARY_TO_AUTOLOG_MODULE` (tracking/fluent.py:3759-3775: tensorflow, keras, xgboost,
  lightgbm, statsmodels, sklearn, pyspark, pytorch_lightning / lightning, setfit, transformers).
  Plain `torch` is not there: a hand-written PyTorch loop gets nothing.
- `mlflow.pytorch.autolog()` patches only Lightning's `Trainer.fit` (pytorch/__init__.py:1481-1501)
  and TensorBoard's writer (1503-1540: scalars written by `add_scalar` become metrics,
  `add_hparams` becomes params). Lightning's fit logs `epochs` (`trainer.max_epochs`), the first
  optimizer's name and its `defaults` (lr, momentum, ...) (pytorch/_lightning_autolog.py:248-269)
  and an `EarlyStopping` callback's settings (478-490); not the batch size nor the module's
  other arguments.
- sklearn: the fitted estimator's `get_params()` - its constructor arguments
  (sklearn/__init__.py:1614-1618), for the estimators `sklearn.utils.all_estimators()` lists
  (sklearn/utils.py:920). Splitters (`KFold`, `ShuffleSplit`) have no `fit`, and values used
  elsewhere (`train_test_split(test_size=...)`) are not logged.
- Keras / TensorFlow: the keyword arguments of `Model.fit` (epochs, batch_size, ...;
  keras/autologging.py:200-208, tensorflow/__init__.py:1280-1320, which also takes positional
  ones) and the optimizer's `get_config()` (learning rate, ...; keras/callback.py:70-71,
  tensorflow/callback.py:71-72), plus `EarlyStopping` settings (tensorflow/__init__.py:1174-1184).
- xgboost / lightgbm: the `params` dict and every other argument given to `train`
  (`num_boost_round`, `early_stopping_rounds`, ...; xgboost/__init__.py:681-700,
  lightgbm/__init__.py:844-869); their scikit-learn API classes through sklearn's autologging
  (xgboost/__init__.py:861-877).
- transformers: `Trainer.train` gets MLflow's callback (transformers/__init__.py:3160-3198), which
  logs the `TrainingArguments` and the model config.
Other integrations (statsmodels, Spark, the GenAI ones) are not modelled: the rules assume they
log everything, preferring no finding to a false one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mltrack.lint.facts import CallSite

if TYPE_CHECKING:
    from mltrack.lint.context import FileContext

EFFECT = "log:autolog:"  # `log:autolog:sklearn`: an integration turned on (a `log:` effect, so
# project summaries export it: a `setup_tracking()` helper in another module turns it on too)
# `mlflow.<module>.autolog()` -> the flavor it turns on (pytorch: Lightning and TensorBoard).
_FLAVOR_OF_MODULE = {
    "sklearn": "sklearn", "tensorflow": "keras", "keras": "keras", "xgboost": "xgboost",
    "lightgbm": "lightgbm", "pytorch": "lightning", "transformers": "transformers",
}
# `mlflow.autolog()`: tracking/fluent.py:3759-3775 (statsmodels and Spark are `other`, judged
# only when the file uses them).
GENERIC_FLAVORS = frozenset(
    {"sklearn", "keras", "xgboost", "lightgbm", "lightning", "transformers", "statsmodels", "spark"})
# The libraries each flavor's integration patches (the file imports one: the framework is used).
_FRAMEWORK_ROOTS = {
    "sklearn": frozenset({"sklearn"}), "keras": frozenset({"keras", "tensorflow", "tf_keras"}),
    "xgboost": frozenset({"xgboost"}), "lightgbm": frozenset({"lightgbm"}),
    "lightning": frozenset({"lightning", "pytorch_lightning"}),
    "transformers": frozenset({"transformers", "setfit"}),
    # not modelled: used -> assume the integration logs everything
    "statsmodels": frozenset({"statsmodels"}), "spark": frozenset({"pyspark"}),
}
_UNMODELLED = ("statsmodels", "spark")
_MODELLED = ("sklearn", "keras", "xgboost", "lightgbm", "lightning", "transformers")
_SPLITTER_SUFFIXES = ("Fold", "Split", "LeaveOneOut", "LeavePOut", "LeaveOneGroupOut", "LeavePGroupsOut")


def autolog_effects(qual: str) -> set[str]:
    """The `log:autolog:<flavor>` effects of an (enabled) `mlflow[.<module>].autolog()` call."""
    parts = qual.split(".")
    if len(parts) == 2:  # mlflow.autolog
        return {EFFECT + flavor for flavor in GENERIC_FLAVORS}
    return {EFFECT + _FLAVOR_OF_MODULE.get(parts[1], "other")}


def flavors(ctx: FileContext) -> frozenset[str]:
    """Integrations turned on in this file, directly or by a helper it calls (the file's
    effects are the union of its calls')."""
    return frozenset(e[len(EFFECT):] for e in ctx.file_effects if e.startswith(EFFECT))


def _root(site: CallSite) -> str:
    return site.qual.split(".", 1)[0] if site.imported else ""


def unmodelled(ctx: FileContext, on: frozenset[str]) -> bool:
    """True when what autologging records here is beyond this module's model: an integration it
    does not model is on and in use, or training happens in another module's helper (whose
    framework this file does not show)."""
    if "other" in on or _framework_used(ctx, on, _UNMODELLED):
        return True
    return any(site.imported and "train" in ctx.effects(site) and "train" not in ctx.direct(site)
               for site in ctx.calls)


def _framework_used(ctx: FileContext, on: frozenset[str], kinds: Iterable[str]) -> bool:
    """The file uses the framework of one of these integrations, and that integration is on."""
    imports = ctx.facts.imports
    return any(flavor in on and imports.imports_any(_FRAMEWORK_ROOTS[flavor]) for flavor in kinds)


def logs_metrics(ctx: FileContext) -> bool:
    """Whether the integrations turned on here record this file's training metrics: those of the
    frameworks they patch (sklearn scores and post-training metrics, Keras epoch metrics,
    boosting eval results, what a LightningModule logs, the HF Trainer's logs) - not what a
    hand-written PyTorch loop prints: `mlflow.autolog()` does not patch plain torch,
    `mlflow.pytorch.autolog()` only Lightning's `Trainer.fit` and TensorBoard writers
    (pytorch/__init__.py:1481-1540)."""
    turned_on = flavors(ctx)
    return unmodelled(ctx, turned_on) or _framework_used(ctx, turned_on, _MODELLED)


# Integrations that log the dataset their training call is given (`log_datasets=True`, the
# default): sklearn/__init__.py:1447 (fit's X, y), keras/autologging.py:213,
# tensorflow/__init__.py:1357, xgboost/__init__.py:717 (dtrain), lightgbm/__init__.py (train_set);
# transformers' defaults to False (transformers/__init__.py:3139) but is not modelled further.
# Lightning's accepts `log_datasets` and never reads it (pytorch/__init__.py:1317, nothing in
# pytorch/_lightning_autolog.py logs an input): no dataset; a hand-written loop: nothing at all.
_DATASET_FLAVORS = ("sklearn", "keras", "xgboost", "lightgbm", "transformers")
DATASETS = "log:data:autolog"  # an autolog call that leaves `log_datasets` on (trackers.py)


def logs_datasets(ctx: FileContext) -> bool:
    """Whether autologging turned on here records the training data (a digest and its source):
    a framework whose integration logs datasets is used here, or what autologging records is
    beyond this module's model (then assume it does). The caller checks that an autolog call
    left `log_datasets` on (`DATASETS` among its effects)."""
    turned_on = flavors(ctx)
    return unmodelled(ctx, turned_on) or _framework_used(ctx, turned_on, _DATASET_FLAVORS)


# Integrations that log the trained model by default (`log_models=True`): sklearn/__init__.py:1161,
# keras/autologging.py:118, tensorflow/__init__.py:1040, xgboost/__init__.py:469,
# lightgbm/__init__.py:648, Lightning's (pytorch/__init__.py:1316, _lightning_autolog.py:569-571).
# transformers' defaults to False (transformers/__init__.py:3138). A hand-written loop: nothing.
_MODEL_FLAVORS = ("sklearn", "keras", "xgboost", "lightgbm", "lightning")
MODELS = "log:model:autolog"  # an autolog call that leaves `log_models` on (trackers.py)


def logs_models(ctx: FileContext) -> bool:
    """Whether autologging turned on here logs the trained model with its run (so a model file
    overwritten on disk is still versioned in the tracker): a framework whose integration logs
    models is used here, or what autologging records is beyond this module's model. The caller
    checks that an autolog call left `log_models` on (`MODELS` among its effects)."""
    turned_on = flavors(ctx)
    return unmodelled(ctx, turned_on) or _framework_used(ctx, turned_on, _MODEL_FLAVORS)


def artifact_logged(ctx: FileContext) -> bool:
    """The file logs an artifact to its run: a `log_artifact`/`log_model`-style call, or an
    autolog call (of this file or a helper it calls) that leaves `log_models` on where its
    integration logs this file's model."""
    effects = ctx.file_effects
    return "log:artifact" in effects or (MODELS in effects and logs_models(ctx))


def helper_logs_artifact(effects: frozenset[str] | tuple[str, ...]) -> bool:
    """A helper's effects log an artifact: directly, or by turning on autologging with models
    (whose framework is not seen from the caller: taken as logging it)."""
    return "log:artifact" in effects or MODELS in effects


def metrics_logged(ctx: FileContext) -> bool:
    """Some call of the file logs a metric that is recorded (`logs_metrics_at`)."""
    return "log:metric" in ctx.file_effects and any(logs_metrics_at(ctx, s) for s in ctx.calls)


def logs_metrics_at(ctx: FileContext, site: CallSite) -> bool:
    """Whether this call's `log:metric` effect records anything: an autolog call's only when
    its integrations log this file's metrics (`logs_metrics`)."""
    if "log:metric" not in ctx.effects(site):
        return False
    if any(e.startswith(EFFECT) for e in ctx.direct(site)):
        return logs_metrics(ctx)
    return True


def logged_calls(ctx: FileContext, on: frozenset[str]) -> Iterable[tuple[CallSite, bool]]:
    """Calls whose arguments the turned-on integrations log, each with whether all of its
    arguments are logged (True) or only its keywords (False: Keras' `fit`)."""
    keras = _framework_used(ctx, on, ("keras",))
    lightning = _framework_used(ctx, on, ("lightning",))
    for site in ctx.calls:
        root, name, qual = _root(site), site.name, site.qual
        if root == "sklearn" and "sklearn" in on and name[:1].isupper() \
                and not name.endswith(_SPLITTER_SUFFIXES):
            yield site, True  # an estimator's constructor arguments are its get_params()
        elif root in ("xgboost", "lightgbm") and root in on and (name == "train" or name[:1].isupper()):
            yield site, True  # booster params and train()'s arguments; the sklearn API classes
        elif keras and name == "fit" and root not in ("sklearn", "xgboost", "lightgbm"):
            yield site, False  # Model.fit's keyword arguments
        elif keras and root in ("keras", "tensorflow", "tf_keras") and (
                ".optimizers." in qual or name == "EarlyStopping"):
            yield site, True  # optimizer.get_config(), early stopping settings
        elif lightning and root == "torch" and ".optim." in qual and "lr_scheduler" not in qual:
            yield site, True  # the optimizer's defaults, logged when Trainer.fit begins
        elif lightning and root in ("lightning", "pytorch_lightning") and name == "EarlyStopping":
            yield site, True
        elif "transformers" in on and root == "transformers" and name in (
                "TrainingArguments", "Seq2SeqTrainingArguments"):
            yield site, True


# torch optimizers' constructor arguments: what `optimizer.defaults` holds.
_OPTIMIZER_DEFAULTS = frozenset({"lr", "momentum", "dampening", "weight_decay", "nesterov", "betas",
                                 "eps", "amsgrad", "alpha", "centered", "rho", "lr_decay"})


def lightning_names(ctx: FileContext, on: frozenset[str]) -> frozenset[str]:
    """Names Lightning autologging logs when this file runs a Lightning Trainer: `epochs`
    (`trainer.max_epochs`) and the first optimizer's defaults, wherever the optimizer is built
    (`configure_optimizers` of a module in another file)."""
    if not _framework_used(ctx, on, ("lightning",)):
        return frozenset()
    return frozenset({"epochs"}) | _OPTIMIZER_DEFAULTS
