"""Tracking calls: what an MLflow, MlflowClient or W&B call records (a run, parameters,
metrics, artifacts, a data version, a code version)."""

from __future__ import annotations

import re

import libcst as cst

from mltrack.lint.autolog import DATASETS, MODELS, autolog_effects
from mltrack.lint.facts import CallSite, dotted, is_literal, literal_string

_MLFLOW_LOG_ARTIFACT = frozenset(
    {"log_artifact", "log_artifacts", "log_model", "register_model", "log_table", "log_figure",
     "log_image", "log_text", "log_dict"}
)

_DATA_KEY = re.compile(r"(data|dataset|input|train|csv|file).*(hash|sha|md5|digest|checksum|version|rev)"
                       r"|(hash|sha|md5|digest|checksum)")
_CODE_KEY = re.compile(r"git|commit|code_version|source_version|revision")


def logged_key(site: CallSite) -> str | None:
    first = site.positional(0) or site.kwarg("key")
    text = literal_string(first.value) if first is not None else None
    return text.lower() if text else None


# Calls that record a run (loading a model or reading runs back is not tracking).
_MLFLOW_TRACKING = frozenset(
    "start_run autolog log_param log_params log_metric log_metrics set_tag set_tags log_input "
    "log_artifact log_artifacts log_model log_dict log_text log_figure log_image log_table "
    "register_model log_inputs log_outputs".split()
)
_WANDB_TRACKING = frozenset(
    "init log log_artifact log_model save use_artifact finish Artifact link_model update "
    "define_metric watch".split()
)


def mlflow_effects(site: CallSite, qual: str, name: str) -> set[str]:
    if name not in _MLFLOW_TRACKING and not qual.startswith("mlflow.data."):
        return set()
    effects = {"track", "track:mlflow"}
    if name == "autolog" and site.kwarg_is("disable", "True"):
        pass  # `autolog(disable=True)` turns autologging off: it logs nothing
    elif name == "autolog":
        # what each integration logs is in mltrack.lint.autolog: not "every parameter" (a
        # hand-written PyTorch loop gets none), so `log:autolog:<flavor>`, not `log:params:all`
        effects |= {"log:metric"} | autolog_effects(qual)
        if not site.kwarg_is("log_datasets", "False"):
            # the training set's digest, if an integration that logs datasets is used (autolog.py)
            effects.add(DATASETS)
        if not site.kwarg_is("log_models", "False"):
            effects.add(MODELS)  # the trained model, if an integration that logs models is used
    elif name == "create_run":
        effects.add("track:client")
    elif name in ("log_metric", "log_metrics"):
        effects.add("log:metric")
    elif name in ("log_param", "log_params", "set_tag", "set_tags"):
        effects.add("log:params")
        for key in _dict_keys_and_key(site):
            if _CODE_KEY.search(key) and "data" not in key:
                effects.add("log:code")
            elif _DATA_KEY.search(key):
                effects.add("log:data")
    elif name == "log_input" or qual.startswith("mlflow.data."):
        effects.add("log:data")
    if name in _MLFLOW_LOG_ARTIFACT or site.kwarg("registered_model_name") is not None:
        effects.add("log:artifact")
    if name in ("log_param", "log_params", "log_dict") and _logs_whole_object(site):
        effects.add("log:params:all")
    return effects


def client_effects(site: CallSite, name: str) -> set[str]:
    """`MlflowClient` calls: the run id comes first, so the key is the second argument."""
    effects = {"track"}
    if name == "create_run":
        tags = site.kwarg("tags")
        keys = [literal_string(e.key) or "" for e in tags.value.elements
                if isinstance(e, cst.DictElement)] if tags and isinstance(tags.value, cst.Dict) else []
        if any(_CODE_KEY.search(k.lower()) for k in keys):
            effects.add("log:code")
        elif tags is None or isinstance(tags.value, cst.Dict):
            effects.add("track:client")  # tags built elsewhere (resolve_tags()) may carry the commit
    elif name in ("log_metric", "log_batch"):
        effects.add("log:metric")
    elif name in ("log_artifact", "log_artifacts"):
        effects.add("log:artifact")
    elif name == "log_inputs":
        effects.add("log:data")
    elif name in ("set_tag", "log_param"):
        second = site.positional(1) or site.kwarg("key")
        key = (literal_string(second.value) or "").lower() if second is not None else ""
        if _CODE_KEY.search(key) and "data" not in key:
            effects.add("log:code")
        elif _DATA_KEY.search(key):
            effects.add("log:data")
    return effects


def wandb_effects(site: CallSite, qual: str, name: str, receiver: str) -> set[str]:
    if name not in _WANDB_TRACKING:
        return set()
    effects = {"track", "track:wandb"}
    if name == "init":
        config = site.kwarg("config")
        if config is not None:
            effects.add("log:params")
            if not isinstance(config.value, cst.Dict):
                effects.add("log:params:all")
        if config is not None and isinstance(config.value, cst.Dict):
            for element in config.value.elements:
                key = literal_string(element.key) if isinstance(element, cst.DictElement) else None
                if key and _DATA_KEY.search(key.lower()):
                    effects.add("log:data")
                elif key and _CODE_KEY.search(key.lower()):
                    effects.add("log:code")
        settings = site.kwarg("settings")
        if settings is not None and "disable_git" in _arg_text(settings.value):
            effects.add("nogit")
    elif name == "log":
        effects.add("log:metric")
    elif name in ("save", "log_artifact", "log_model", "link_model", "Artifact"):
        effects.add("log:artifact")
    elif name == "use_artifact":
        effects.add("log:data")
    elif name == "update" and "config" in (dotted(site.node.func) or ""):
        effects.add("log:params")
        if _logs_whole_object(site):
            effects.add("log:params:all")
    return effects


def _arg_text(expr: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(expr)


def _dict_keys_and_key(site: CallSite) -> list[str]:
    keys: list[str] = []
    key = logged_key(site)
    if key:
        keys.append(key)
    for arg in site.node.args:
        if isinstance(arg.value, cst.Dict):
            for element in arg.value.elements:
                if isinstance(element, cst.DictElement):
                    text = literal_string(element.key)
                    if text:
                        keys.append(text.lower())
    return keys


def _logs_whole_object(site: CallSite) -> bool:
    """`log_params(vars(args))`, `log_params(config)`, `config.update(cfg)`: an object, not a
    dict literal of chosen keys."""
    first = site.positional(0) or site.kwarg("params") or site.kwarg("config")
    if first is None:
        return False
    value = first.value
    if isinstance(value, cst.Dict):
        return any(isinstance(e, cst.StarredDictElement) for e in value.elements)
    return not is_literal(value)


def lightning_logs(site: CallSite) -> bool:
    """Whether a LightningModule's `self.log` / `self.log_dict` / `self.save_hyperparameters`
    call sends to the Trainer's loggers. `logger=False` keeps the value out of every logger
    (`self.log(..., prog_bar=True, logger=False)` only shows it in the progress bar): Lightning's
    src/lightning/pytorch/core/module.py `log()` passes `logger` to the result collection, which
    hands only `logger=True` entries to loggers, `None` meaning True; `log_dict` forwards it per
    key; with Fabric, `logger=False` returns without logging. `save_hyperparameters(logger=False)`
    sets `_log_hyperparams = False` (core/mixins/hparams_mixin.py), so the Trainer never calls
    `logger.log_hyperparams`. A non-literal `logger=` is taken as logging. (MLflow's Lightning
    autologging reads `trainer.callback_metrics`, which hold `logger=False` values too -
    mlflow/pytorch/_lightning_autolog.py:132-138 - so MLT009 counts those as logged under it.)"""
    return not site.kwarg_is("logger", "False")
