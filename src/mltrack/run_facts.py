"""What a run's records say about one reproduction fact, by any name and by MLflow's own means.

The checks ask "has this run a data hash, a seed, a code version, an environment?". A run
answers through a param or tag among the synonyms (mltrack.synonyms, or the policy's list), and
through what MLflow records by itself, which counts whatever the policy names the field:

- data hash: the digest of a dataset input (`mlflow.log_input`, every autolog fit); the
  training-context inputs when the run has any (`mlflow.data.context` training/train/unset);
- data reference: a data path or version param, or a dataset input (with or without a digest);
- seed: an integer `random_state=`/`seed=` inside autolog's `estimator` param text;
- code version: MLflow's `mlflow.source.git.commit` tag;
- environment: a model the run logged, whose `python_env.yaml` (Python version) and
  `requirements.txt` / `conda.yaml` (libraries) MLflow writes with every `log_model`, or whose
  `mlflow.log-model.history` entry records the Python version.

Sweeps (a parent run and its children, `mlflow.parentRunId`): a child that records no data of
its own inherits its parent's data hash or reference, and one with no commit its parent's git
commit. That is the truth for nested runs: MLflow's children run inside the parent's process
(`start_run(nested=True)`), from the parent's checkout, on the data the parent logged for the
whole study. Nothing else is inherited (each trial's seed and hyperparameters are its own), and
a child's own record always wins. Pure functions over mltrack.model records.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from mltrack import conventions, synonyms
from mltrack.model import DatasetInputRecord, RunRecord, StoreSnapshot


def named_value(run: RunRecord, names: Iterable[str]) -> str | None:
    """The first set param or tag among `names` (a param first, then a tag of that name)."""
    for name in names:
        for source in (run.params, run.tags):
            value = source.get(name)
            if value is not None and value not in synonyms.UNSET:
                return str(value)
    return None


def parent_of(snapshot: StoreSnapshot | None, run: RunRecord) -> RunRecord | None:
    """The run's parent in a sweep (`mlflow.parentRunId`), when the snapshot holds it."""
    parent_id = run.tags.get(synonyms.TAG_PARENT_RUN)
    if snapshot is None or not parent_id or parent_id == run.run_id:
        return None
    if not snapshot.runs.spilled:
        return snapshot.run(parent_id)
    # A spilled table reads each lookup from disk; a sweep's trials share a few parents, so
    # the last few thousand answers are kept (bounded, thread-safe: checks gather in threads).
    lookup = snapshot.__dict__.get("_parent_lookup")
    if lookup is None:
        lookup = snapshot.__dict__.setdefault("_parent_lookup", functools.lru_cache(maxsize=4096)(snapshot.runs.get))
    return lookup(parent_id)


# --------------------------------------------------------------------------- data


def training_datasets(run: RunRecord) -> tuple[DatasetInputRecord, ...]:
    """The dataset inputs that name the data the run trained on: those logged with a training
    context (or none) when there are any, else every input."""
    trained = tuple(d for d in run.datasets if d.context.lower() in synonyms.TRAINING_CONTEXTS)
    return trained or run.datasets


def dataset_digest(run: RunRecord) -> str | None:
    """The digest(s) of the run's training dataset inputs, as one value ("a1b2c3d4", or
    "a1b2c3d4+e5f6a7b8" for several); None when MLflow recorded no digest."""
    digests = sorted({d.digest for d in training_datasets(run) if d.digest})
    return "+".join(digests) if digests else None


def dataset_label(run: RunRecord) -> str | None:
    """`name@digest` of the run's training dataset inputs, for messages."""
    shown = sorted({f"{d.name}@{d.digest}" if d.digest else d.name for d in training_datasets(run)})
    return ", ".join(shown) if shown else None


def own_data_hash(run: RunRecord, names: Iterable[str] = synonyms.DATA_HASH) -> str | None:
    return named_value(run, names) or dataset_digest(run)


def data_hash(run: RunRecord, names: Iterable[str] = synonyms.DATA_HASH,
              parent: RunRecord | None = None) -> str | None:
    """A data hash param/tag among `names`, else a dataset input's digest; a child of a sweep
    with neither takes its parent's."""
    names = tuple(names)
    own = own_data_hash(run, names)
    if own is not None or parent is None or _has_own_data(run):
        return own
    return own_data_hash(parent, names)


def data_reference(run: RunRecord, parent: RunRecord | None = None) -> str | None:
    """What names the run's data without proving its bytes: a path or version param, or a
    dataset input (the parent's, for a child of a sweep that names no data)."""
    own = named_value(run, synonyms.DATA_REFERENCES) or dataset_label(run)
    if own is not None or parent is None:
        return own
    return named_value(parent, synonyms.DATA_REFERENCES) or dataset_label(parent)


def data_path(run: RunRecord) -> str | None:
    """A data *path* param (Lightning's `data_dir`, ...): which data, not which bytes."""
    return named_value(run, synonyms.DATA_PATHS)


def _has_own_data(run: RunRecord) -> bool:
    return bool(run.datasets) or named_value(run, synonyms.DATA_REFERENCES) is not None


# --------------------------------------------------------------------------- seed, code


def seed(run: RunRecord, names: Iterable[str] = synonyms.SEED) -> str | None:
    """A seed param/tag among `names`, else an integer seed inside autolog's `estimator` text."""
    value = named_value(run, names)
    if value is not None:
        return value
    for key in synonyms.ESTIMATOR_PARAMS:
        found = synonyms.seed_in_text(run.params.get(key))
        if found is not None:
            return found
    return None


def code_version(run: RunRecord, names: Iterable[str] = synonyms.GIT_COMMIT,
                 parent: RunRecord | None = None) -> str | None:
    """A commit param/tag among `names`, else MLflow's `mlflow.source.git.commit`; a child of a
    sweep with neither takes its parent's."""
    names = (*tuple(names), synonyms.TAG_GIT_COMMIT)
    own = named_value(run, names)
    if own is not None or parent is None:
        return own
    return named_value(parent, names)


# --------------------------------------------------------------------------- environment


def model_environment(run: RunRecord, *, library: bool, listed: Iterable[str] | None = None) -> str | None:
    """How a model the run logged records its environment, or None. `library`: a library
    version is asked for (requirements.txt / conda.yaml pin them), else the Python version
    (python_env.yaml / conda.yaml, or the version in the model's MLmodel). `listed`: the
    environment files a listing of the run's artifacts found; when given, it replaces what the
    snapshot infers from the model records (a listing confirms, or refutes, them)."""
    wanted = ("requirements.txt", "conda.yaml") if library else ("python_env.yaml", "conda.yaml")
    if not library:
        recorded = next((m for m in run.logged_models if m.python_version), None)
        if recorded is not None:
            return f"Python {recorded.python_version} in the MLmodel of model {recorded.name or recorded.model_id!r}"
    if listed is not None:
        found = [f for f in wanted if f in set(listed)]
        return f"{found[0]} among the run's model files" if found else None
    for model in run.logged_models:
        files = [f for f in model.environment_files if f in wanted]
        if files:
            how = "" if model.environment_confirmed else ", which MLflow writes with every log_model"
            return f"{files[0]} of model {model.name or model.model_id!r}{how}"
    return None


def environment_value(run: RunRecord, field: str, names: Iterable[str] = (),
                      listed: Iterable[str] | None = None) -> str | None:
    """An environment field (python_version, torch_version, ...): a param/tag among `names`
    (and the field's synonyms), else the environment files of a model the run logged."""
    names = (*tuple(names), field, *conventions.ENVIRONMENT_FIELDS.get(field, ()))
    value = named_value(run, names)
    if value is not None:
        return value
    return model_environment(run, library=field not in _PYTHON_FIELDS, listed=listed)


def environment_files(paths: Iterable[str]) -> list[str]:
    """The environment files (python_env.yaml, conda.yaml, requirements.txt) among listed
    artifact paths, by file name."""
    return sorted({name for p in paths if (name := p.rsplit("/", 1)[-1]) in synonyms.ENVIRONMENT_FILES})


_PYTHON_FIELDS = frozenset({conventions.PARAM_PYTHON_VERSION, *synonyms.PYTHON_VERSION})


# --------------------------------------------------------------------------- all at once


def field_present(run: RunRecord, field: str, names: Iterable[str], *,
                  parent: RunRecord | None = None) -> str | None:
    """The value that satisfies required field `field` (a key of the policy's required_fields),
    by its names or by MLflow's own record of that fact."""
    if field == conventions.PARAM_DATA_HASH:
        return data_hash(run, names, parent)
    if field == conventions.PARAM_SEED:
        return seed(run, names)
    if field == conventions.PARAM_GIT_COMMIT:
        return code_version(run, names, parent)
    return named_value(run, names)


def missing_fields(run: RunRecord, fields: Mapping[str, Iterable[str]], *,
                   data_reference_ok: bool = False, parent: RunRecord | None = None,
                   environment_fields: Iterable[str] = ()) -> list[str]:
    """The required fields (and environment fields) the run lacks. `data_reference_ok`: a data
    path, version or dataset input stands in for the data hash (recovery, long-term-repro; the
    data-change check alone insists on a hash)."""
    missing = [name for name, names in fields.items()
               if field_present(run, name, names, parent=parent) is None]
    if (data_reference_ok and conventions.PARAM_DATA_HASH in missing
            and data_reference(run, parent) is not None):
        missing.remove(conventions.PARAM_DATA_HASH)
    missing += [f for f in environment_fields if f not in fields and environment_value(run, f) is None]
    return missing
