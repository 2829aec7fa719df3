"""What a call does, in the vocabulary the rules speak: seeds, randomness, training, tracking.

Effects are short strings: `seed:torch`, `rand:numpy`, `train`, `track`, `track:tensorboard`,
`log:metric`, `log:params:all`, `log:artifact`, `log:data`, `log:code`, `read:data`, `git`,
`write:output` (images, video, figures, arrays written).
Functions get the union of their calls' effects (closed over calls to other functions of the same
file and, through the project index, of other modules), which is how a `set_seed()` helper in
`utils.py` seeds `train.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

import libcst as cst

from mltrack.lint.facts import CallSite, Facts, dotted, literal_string, names_in, receiver_text
from mltrack.lint.trackers import client_effects, lightning_logs, mlflow_effects, wandb_effects

GENERATORS = ("torch", "numpy", "random", "tensorflow")
SEED_ALL = frozenset(f"seed:{g}" for g in GENERATORS)

_TORCH_RANDOM = frozenset(
    "rand randn randint randperm rand_like randn_like randint_like normal bernoulli "
    "multinomial poisson".split()
)
_TORCH_LAYERS = frozenset(
    "Linear Bilinear LazyLinear Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d "
    "ConvTranspose3d LSTM GRU RNN LSTMCell GRUCell RNNCell Embedding EmbeddingBag "
    "MultiheadAttention Transformer TransformerEncoderLayer TransformerDecoderLayer Dropout "
    "Dropout1d Dropout2d Dropout3d AlphaDropout".split()
)
_NUMPY_NOT_GLOBAL = frozenset(
    "seed default_rng RandomState Generator SeedSequence PCG64 PCG64DXSM MT19937 Philox SFC64 "
    "BitGenerator get_state set_state".split()
)
_PY_RANDOM = frozenset(
    "random randint randrange choice choices shuffle sample uniform gauss normalvariate "
    "triangular betavariate expovariate getrandbits randbytes lognormvariate vonmisesvariate "
    "gammavariate paretovariate weibullvariate".split()
)
_KERAS_LAYERS = frozenset(
    "Dense Conv1D Conv2D Conv3D LSTM GRU SimpleRNN Embedding Dropout MultiHeadAttention".split()
)
# scikit-learn estimators and splitters that draw from NumPy's global generator unless given
# `random_state=`.
_SKLEARN_RANDOM = frozenset(
    "train_test_split RandomForestClassifier RandomForestRegressor ExtraTreesClassifier "
    "ExtraTreesRegressor GradientBoostingClassifier GradientBoostingRegressor MLPClassifier "
    "MLPRegressor SGDClassifier SGDRegressor KMeans MiniBatchKMeans ShuffleSplit "
    "StratifiedShuffleSplit DecisionTreeClassifier DecisionTreeRegressor "
    "HistGradientBoostingClassifier HistGradientBoostingRegressor IsolationForest "
    "RandomizedSearchCV BaggingClassifier AdaBoostClassifier".split()
)
_SEED_ALL_CALLS = frozenset(
    {
        "keras.utils.set_random_seed",
        "transformers.set_seed",
        "transformers.enable_full_determinism",
        "transformers.trainer_utils.set_seed",
    }
)
# Lightning's `seed_everything` and accelerate's `set_seed` seed Python's `random`, NumPy and
# torch - not TensorFlow (lightning/fabric/utilities/seed.py, accelerate/utils/random.py; cited
# in tests/lint/test_library_claims.py).
_SEED_TORCH_STACK = frozenset({"seed:torch", "seed:numpy", "seed:random"})
_SEED_TORCH_STACK_CALLS = frozenset(
    {
        "accelerate.utils.set_seed",
        "accelerate.utils.random.set_seed",
        "lightning.seed_everything",
        "lightning.pytorch.seed_everything",
        "lightning.fabric.seed_everything",
        "lightning_fabric.seed_everything",
        "pytorch_lightning.seed_everything",
        "pytorch_lightning.utilities.seed.seed_everything",
        "lightning.pytorch.utilities.seed.seed_everything",
        "lightning.fabric.utilities.seed.seed_everything",
    }
)
_HF_TRAINERS = frozenset({"Trainer", "Seq2SeqTrainer", "SFTTrainer", "DPOTrainer"})
_SEEDISH = re.compile(r"(^|_)(set_?seeds?|seed_?(everything|all|torch|random)?|fix_seeds?|"
                      r"set_random_seeds?|setup_seeds?|init_seeds?|seed)($|_)")
_NOT_A_FIT = re.compile(r"scaler|encoder|vectori[sz]er|imputer|pca|tokeni[sz]er|normali[sz]er|"
                        r"binarizer|selector|transformer$|svd|tfidf")


def keras_qual(qual: str) -> str:
    return qual[len("tensorflow.") :] if qual.startswith("tensorflow.keras.") else qual


def direct_effects(site: CallSite) -> frozenset[str]:
    """`call_effects(site)`, computed once per call site: the project index, the file's function
    effects and the rules all ask for the same sites' effects (in one-job runs on the same facts)."""
    cached = site.direct
    if cached is None:
        cached = site.direct = frozenset(call_effects(site))
    return cached


def call_effects(site: CallSite) -> set[str]:
    """Effects of one call, from its resolved name and arguments."""
    qual, name = keras_qual(site.qual), site.name
    seeded = _seed_effects(site, qual, name)
    if seeded is not None:
        return seeded  # a seeding call does nothing else
    root = qual.split(".", 1)[0] if site.imported else ""
    receiver = receiver_text(site.node.func)
    effects = _random_effects(site, qual, name, root)
    _add_training(effects, site, qual, name, root, receiver)
    _add_tracking(effects, site, qual, name, root, receiver)
    _add_data(effects, site, qual, name, root)
    if site.loops and _prints_metric(site, receiver):
        effects.add("print:metric")  # a loss or accuracy printed in a loop (exported to callers)
    if name in _OUTPUT_WRITERS or (site.imported and qual in _ARRAY_WRITERS):
        effects.add("write:output")  # images, video, figures, arrays: what inference writes
    if _loads_model(site, qual, name):
        effects.add("load:model")  # inference/evaluation: unversioned-predictions judges its outputs
    return effects


_TORCH_SEEDS = frozenset({"torch.manual_seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all",
                          "torch.random.manual_seed"})
_TF_SEEDS = frozenset({"tensorflow.random.set_seed", "tensorflow.set_random_seed",
                       "tensorflow.compat.v1.set_random_seed"})


def _seed_effects(site: CallSite, qual: str, name: str) -> set[str] | None:
    """The effects of a call that seeds (or re-seeds from entropy) a global generator; None for
    any other call."""
    if qual in _SEED_TORCH_STACK_CALLS:
        return set(_SEED_TORCH_STACK)
    if qual in _SEED_ALL_CALLS or (site.imported and name == "seed_everything"):
        return set(SEED_ALL)
    if qual in _TORCH_SEEDS:
        return {"seed:torch"}
    if name == "manual_seed":
        return set()  # `torch.Generator().manual_seed(s)`: a local generator, passed explicitly
    if qual in ("numpy.random.seed", "random.seed") and _entropy_seed(site):
        # `np.random.seed(None)` / `random.seed()` re-seed from OS entropy: the opposite of a seed
        return {f"unseed:{'numpy' if qual.startswith('numpy') else 'random'}"}
    if qual == "numpy.random.seed":
        return {"seed:numpy"}
    if qual == "random.seed":
        return {"seed:random"}
    if qual in _TF_SEEDS:
        return {"seed:tensorflow"}
    return None


def _random_effects(site: CallSite, qual: str, name: str, root: str) -> set[str]:
    """`rand:<generator>` when the call draws from a global generator (or builds a layer whose
    weights do), else an empty set."""
    if root == "torch":
        if site.kwarg("generator") is not None:
            return set()  # draws from the generator it is given, not from the global one
        if qual.startswith("torch.nn.init.") or (qual.startswith("torch.") and name in _TORCH_RANDOM):
            return {"rand:torch"}
        if qual.startswith("torch.nn.") and name in _TORCH_LAYERS:
            return {"rand:torch"}
        if qual == "torch.nn.functional.dropout" or name in ("random_split", "RandomSampler"):
            return {"rand:torch"}
        if name == "DataLoader" and _truthy_kwarg(site, "shuffle"):
            return {"rand:torch"}
    elif root == "torchvision" and name.startswith("Random"):
        return {"rand:torch"}
    elif root == "numpy" and qual.startswith("numpy.random."):
        if name not in _NUMPY_NOT_GLOBAL:
            return {"rand:numpy"}
    elif root == "random" and name in _PY_RANDOM and qual == f"random.{name}":
        return {"rand:random"}
    elif root == "sklearn" and site.kwarg("random_state") is None and not any(
            arg.star == "**" for arg in site.node.args) and (  # `**params` may carry random_state
        name in _SKLEARN_RANDOM
        or (name in ("KFold", "StratifiedKFold", "GroupKFold") and _truthy_kwarg(site, "shuffle"))
    ):
        return {"rand:numpy"}  # drawn from NumPy's global generator
    elif root in ("keras", "tensorflow"):
        if qual.startswith("tensorflow.random.") and name != "set_seed":
            return {"rand:tensorflow"}
        if _tf1_random(qual, name) and site.kwarg("seed") is None:
            return {"rand:tensorflow"}  # TF1 graph mode: op initialisers and layers
        if qual.startswith("keras.layers.") and name in _KERAS_LAYERS:
            return {"rand:tensorflow"}
    return set()


def _add_training(effects: set[str], site: CallSite, qual: str, name: str, root: str,
                  receiver: str) -> None:
    """`train` for a call that updates a model (`loss.backward()`, `optimizer.step()`,
    `model.fit(...)`, `trainer.train()`, ...); the HF Trainer also seeds."""
    if root in ("transformers", "trl") and name in _HF_TRAINERS:
        effects |= SEED_ALL  # the HF Trainer seeds from TrainingArguments.seed (default 42)
        effects.add("train-capable")
    if _trains(site, name, root, receiver):
        effects.add("train")
    if root == "sklearn" and name in ("cross_val_score", "cross_validate", "cross_val_predict"):
        effects.add("train")  # fits the estimator it is given on each fold


def _trains(site: CallSite, name: str, root: str, receiver: str) -> bool:
    args = site.node.args
    if name == "backward" or name in ("fit_generator", "partial_fit", "train_on_batch"):
        return True
    if name == "step" and ("opt" in receiver or "scaler" in receiver) and receiver:
        return True
    if name == "fit" and receiver and not _NOT_A_FIT.search(receiver.rsplit(".", 1)[-1]):
        return True
    if name == "train" and ("trainer" in receiver or root in ("xgboost", "lightgbm")):
        return True
    if name == "train" and receiver and any("optim" in _name_of(a.value).lower() or "optim" in (
            dotted(a.value) or "").lower() for a in args):
        return True  # an engine handed the optimizer: torchnet `engine.train(h, it, n, optimizer)`
    if root == "fasttext" and name in ("train_supervised", "train_unsupervised"):
        return True
    if name == "apply_gradients" or (root == "jax" and name in ("grad", "value_and_grad")):
        return True
    if "scaler" in name.lower() and args and "loss" in _name_of(args[0].value):
        return True  # timm's NativeScaler idiom: `loss_scaler(loss, optimizer)` steps
    if name == "minimize" and ("opt" in receiver or root == "tensorflow"):
        return True  # TF1 `optimizer.minimize(loss)` builds the op sess.run trains with
    # tf.estimator: `model.train(input_fn, steps=...)`
    return name == "train" and (site.kwarg("input_fn") is not None or "input_fn" in receiver_text(
        args[0].value if args else site.node.func) or (
        bool(args) and "input_fn" in (literal_string(args[0].value) or _name_of(args[0].value))))


def _add_tracking(effects: set[str], site: CallSite, qual: str, name: str, root: str,
                  receiver: str) -> None:
    """Runs opened, and parameters, metrics and code versions recorded, by a tracker."""
    if "accelerator" in receiver and name == "init_trackers":
        effects |= {"track", "log:params"}
        if site.kwarg("config") is not None:
            effects.add("log:params:all")
    elif "accelerator" in receiver and name == "log":
        effects.add("log:metric")
    effects |= _tracker_effects(site, qual, name, root, receiver)
    if (name == "add_summary" and "writer" in receiver) or (
            qual in ("tensorflow.summary.scalar", "tensorflow.compat.v1.summary.scalar")):
        effects.add("log:metric")  # TF summaries: scalar ops written by FileWriter.add_summary
    if name in ("add_scalar", "add_scalars", "log_metrics", "log_metric") or (
        name in ("log", "log_dict") and receiver == "self" and lightning_logs(site)
    ):
        effects.add("log:metric")
    if name == "add_hparams" or name == "log_hyperparams" or (
            name == "save_hyperparameters" and lightning_logs(site)):
        effects.add("log:params")
    if name == "save_hyperparameters" and lightning_logs(site):
        effects.add("log:params:all")
    if name in ("add_text",) and "git" in string_args(site):
        effects.add("log:code")


def _tracker_effects(site: CallSite, qual: str, name: str, root: str, receiver: str) -> set[str]:
    """The effects of a call to one tracker's API (MLflow, W&B, an MLflow client, TensorBoard
    writers and callbacks, Lightning and Ray loggers, HF `TrainingArguments(report_to=...)`)."""
    if root == "mlflow":
        return mlflow_effects(site, qual, name)
    if root == "wandb" or (receiver in ("run", "wandb_run", "wb_run") and name in (
            "log", "finish", "use_artifact", "log_artifact", "log_model", "save", "link_model")):
        return wandb_effects(site, qual, name, receiver)
    if "client" in receiver and name in ("create_run", "log_metric", "log_batch", "log_param",
                                         "set_tag", "log_artifact", "log_artifacts", "log_inputs"):
        return client_effects(site, name)
    if name in ("SummaryWriter", "create_file_writer") and root in (
            "torch", "tensorboardX", "tensorflow", "tensorboard"):
        return {"track", "track:tensorboard"}
    if (name == "FileWriter" and root == "tensorflow") or (name == "TensorBoard" and (
            qual.startswith("keras.callbacks.") or root in ("keras", "tensorflow"))) or (
            name == "TensorBoardCallback" and root in ("optuna", "optuna_integration")):
        # TF1's summary FileWriter, Keras' TensorBoard callback (which also writes the
        # epoch metrics), Optuna's TensorBoard callback
        if name != "FileWriter":
            return {"track", "track:tensorboard", "log:metric"}
        return {"track", "track:tensorboard"}
    if name in ("TensorBoardLogger", "CSVLogger") and root in ("lightning", "pytorch_lightning"):
        return {"track", "track:tensorboard"}
    if name in ("MLflowLoggerCallback", "WandbLoggerCallback") and root == "ray":
        return {"track"}  # Ray Tune/Train callbacks that record each trial as a run
    if name in ("MLFlowLogger", "WandbLogger") and root in ("lightning", "pytorch_lightning"):
        return {"track", "log:metric"}
    if name == "TrainingArguments":
        report_to = site.kwarg("report_to")
        if report_to is not None and literal_string(report_to.value) not in ("none", None) or (
            report_to is not None and isinstance(report_to.value, cst.List)
        ):
            text = literal_string(report_to.value) or ""
            if text == "tensorboard":
                return {"track", "log:params:all", "log:metric", "track:tensorboard"}
            return {"track", "log:params:all", "log:metric"}
    return set()


def _add_data(effects: set[str], site: CallSite, qual: str, name: str, root: str) -> None:
    """Data read by a library loader, a data version computed (DVC, a hash), git consulted."""
    if root == "pandas" and name.startswith("read_") or qual in (
        "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "datasets.load_dataset"
    ):
        if not (name == "load_dataset" and site.kwarg("revision") is not None):
            effects.add("read:data")
    elif root in ("torchvision", "tensorflow_datasets") and ".datasets." in f".{qual}." and name[:1].isupper():
        effects.add("read:data")
    elif root == "keras" and ".datasets." in qual and name == "load_data":
        effects.add("read:data")
    elif root == "tensorflow" and (name == "read_data_sets" or qual.startswith("tensorflow.data.") and
                                   name.endswith(("RecordDataset", "TextLineDataset", "list_files"))
                                   or name in ("image_dataset_from_directory",
                                               "text_dataset_from_directory")) or (
            root == "tensorflow_datasets" and name == "load") or (
            root == "ray" and qual.startswith("ray.data.read_")):
        effects.add("read:data")
        if name == "read_data_sets" and site.kwarg("seed") is None:
            # its DataSet re-seeds NumPy from TensorFlow's graph seed (`numpy.random.seed(seed1)`,
            # None without `tf.set_random_seed`) and next_batch shuffles with NumPy: the batches
            # repeat only when TensorFlow is seeded (tests/lint/test_library_claims.py)
            effects.add("rand:tensorflow")
    if root in ("subprocess", "git") or qual.startswith("git."):
        if root == "git" or "git" in string_args(site):
            effects.add("git")
    if root in ("dvc", "hashlib"):
        effects.add("log:data")  # a content hash or DVC-pinned data: the version is computed


# Names of metrics, as printed or logged (shared with metrics-not-logged).
METRIC_WORDS = re.compile(r"loss|acc|f1|auc|precision|recall|mse|mae|rmse|perplexity|ppl|bleu|"
                          r"rouge|iou|dice|score|metric|cost", re.I)
_TEXT_SINKS = re.compile(r"log|tqdm|bar|stdout|stderr|console")


def _prints_metric(site: CallSite, receiver: str) -> bool:
    """`print(f"loss {loss:.3f}")`, `logger.info(...)`, `pbar.set_postfix(loss=...)` naming a
    metric."""
    name = site.name
    if not ((name == "print" and not site.imported) or (
            name in ("info", "write", "set_postfix", "set_description") and _TEXT_SINKS.search(receiver))):
        return False
    for arg in site.node.args:
        if arg.keyword is not None and METRIC_WORDS.search(arg.keyword.value):
            return True
        words = names_in(arg.value) | set(re.findall(r"[A-Za-z_]+", literal_string(arg.value) or ""))
        if any(METRIC_WORDS.search(w) for w in words):
            return True
    return False


_OUTPUT_WRITERS = frozenset({"VideoWriter", "imwrite", "save_image", "save_images", "imsave",
                             "savefig"})
_ARRAY_WRITERS = frozenset({"numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt"})
_MODEL_LOADERS = frozenset({"torch.load", "torch.jit.load", "joblib.load", "pickle.load",
                            "keras.models.load_model", "tensorflow.saved_model.load",
                            "mlflow.pyfunc.load_model", "safetensors.torch.load_file"})
_LOAD_METHODS = frozenset({"load_state_dict", "from_pretrained", "load_weights",
                           "load_from_checkpoint", "load_model"})
_CHECKPOINT_KWARGS = frozenset({"checkpoint_path", "ckpt_path", "model_path", "weights_path",
                                "checkpoint_file", "resume_from_checkpoint"})


def _loads_model(site: CallSite, qual: str, name: str) -> bool:
    """A call that loads a trained model or checkpoint (`torch.load`, `load_state_dict`,
    `from_pretrained`, a constructor given `checkpoint_path=`)."""
    if (qual in _MODEL_LOADERS and site.imported) or name in _LOAD_METHODS:
        return True
    return any(arg.keyword is not None and arg.keyword.value in _CHECKPOINT_KWARGS
               for arg in site.node.args)


_TF1_RANDOM = frozenset("random_normal random_uniform truncated_normal random_shuffle random_crop "
                        "random_gamma random_poisson".split())
_TF1_LAYERS = frozenset("dense conv1d conv2d conv3d conv2d_transpose dropout".split())


def _tf1_random(qual: str, name: str) -> bool:
    """TF1 calls that draw from the graph-level generator (`tf.random_normal`, `tf.layers.dense`,
    `tf.nn.dropout`, `tf.contrib.rnn` cells)."""
    if not qual.startswith("tensorflow."):
        return False
    return (name in _TF1_RANDOM or (qual.startswith("tensorflow.layers.") and name in _TF1_LAYERS)
            or qual == "tensorflow.nn.dropout" or (".rnn." in qual and name.endswith("Cell")))


def _entropy_seed(site: CallSite) -> bool:
    """`seed()` or `seed(None)`: seeded from the OS, different on every run."""
    args = [a for a in site.node.args if a.keyword is None or a.keyword.value in ("seed", "a")]
    if not site.node.args:
        return True
    return len(args) == 1 and isinstance(args[0].value, cst.Name) and args[0].value.value == "None"


def _name_of(expr: cst.BaseExpression) -> str:
    return expr.value if isinstance(expr, cst.Name) else ""


def string_args(site: CallSite) -> str:
    texts: list[str] = []
    for arg in site.node.args:
        value = arg.value
        if isinstance(value, (cst.List, cst.Tuple)):
            texts.extend(literal_string(e.value) or "" for e in value.elements)
        else:
            texts.append(literal_string(value) or "")
    return " ".join(texts).lower()


def _truthy_kwarg(site: CallSite, name: str) -> bool:
    arg = site.kwarg(name)
    if arg is None:
        return False
    value = arg.value
    return not (isinstance(value, cst.Name) and value.value in ("False", "None"))


def seed_like_name(name: str) -> bool:
    """An unresolvable helper whose name says it seeds (`set_seed`, `seed_everything`)."""
    known = _SEED_LIKE.get(name)
    if known is None:
        if len(_SEED_LIKE) > 100_000:  # names of a long-lived process: keep the table bounded
            _SEED_LIKE.clear()
        known = _SEED_LIKE[name] = bool(_SEEDISH.search(name.lower()))
    return known


_SEED_LIKE: dict[str, bool] = {}  # name -> seed_like_name(name): every call asks


def function_effects(facts: Facts, external,
                     effects_of: Callable[[CallSite], Collection[str]] | None = None,
                     ) -> dict[str, frozenset[str]]:
    """Effects of each function of the file, closed over local and project helper calls.

    `external(site)` returns the effects of a call to a function outside the file (project
    index) or None when unknown. `effects_of(site)`, when given, is `site_effects(site, facts,
    external)` as the caller has it (cached).
    """
    own: dict[str, set[str]] = {name: set() for name in facts.functions}
    callees: dict[str, set[str]] = {name: set() for name in facts.functions}
    for site in facts.calls:
        if site.function is None or site.function not in own:
            continue
        own[site.function].update(site_effects(site, facts, external) if effects_of is None
                                  else effects_of(site))
        target = local_target(site, facts)
        if target is not None:
            callees[site.function].add(target)
    changed = True
    while changed:  # fixpoint over the local call graph (small: functions of one file)
        changed = False
        for name, targets in callees.items():
            for target in targets:
                extra = own.get(target, set()) - own[name]
                if extra:
                    own[name] |= extra
                    changed = True
    return {name: frozenset(value) for name, value in own.items()}


def local_target(site: CallSite, facts: Facts) -> str | None:
    """The function of this file that the call reaches (`helper()`, `self.helper()`); asked of
    every call by the effects and several rules, so found once per call site."""
    known = site.target
    if known is None:
        known = site.target = (_local_target(site, facts),)
    return known[0]


def _local_target(site: CallSite, facts: Facts) -> str | None:
    if site.imported:
        return None
    if site.raw in facts.functions:
        return site.raw
    if site.raw and site.raw.startswith("self.") and site.function and "." in site.function:
        candidate = f"{site.function.split('.', 1)[0]}.{site.raw[5:]}"
        if candidate in facts.functions:
            return candidate
    func = site.node.func
    if isinstance(func, cst.Attribute):  # Trainer(cfg).fit() / t = Trainer(cfg); t.fit()
        owner = func.value
        if isinstance(owner, cst.Name):
            owners = facts.assigns.get(owner.value, ())
            owner = owners[0] if len(owners) == 1 else owner
        if isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name):
            candidate = f"{owner.func.value}.{func.attr.value}"
            if candidate in facts.functions:
                return candidate
    if site.raw in facts.classes and f"{site.raw}.__init__" in facts.functions:
        return f"{site.raw}.__init__"
    return None


# A text file named as training input (`input.txt`, `2007_train.txt`), or a path variable
# named so (`args.input_file`, `annotation_path`).
_DATA_FILE = re.compile(r"(input|train|data|annotation|corpus)[^/]*\.(txt|csv|tsv|jsonl)$|"
                        r"(^|[_.])(input|data|train|annotation)s?_?(file|path)$", re.I)


def _reads_local_data(site: CallSite, facts: Facts) -> bool:
    """`open("input.txt")`, `open(args.input_file)`, `dataset = tf.keras.datasets.mnist;
    dataset.load_data()`: data read without a library loader."""
    if site.name == "load_data" and site.raw and not site.imported:
        owner = site.raw.split(".", 1)[0]
        return any(".datasets." in f".{dotted(v) or ''}." for v in facts.assigns.get(owner, ()))
    if site.raw != "open" or not site.node.args:
        return False
    mode = site.positional(1) or site.kwarg("mode")
    if mode is not None and (literal_string(mode.value) or "w").strip("bt") != "r":
        return False
    path = site.node.args[0].value
    text = literal_string(path) or dotted(path) or ""
    if isinstance(path, cst.Name) and not literal_string(path):
        text = " ".join([text] + [literal_string(v) or "" for v in facts.assigns.get(path.value, ())])
    return any(_DATA_FILE.search(part) for part in text.split())


_DATASET_BASE = re.compile(r"^(torchvision\.datasets|tensorflow_datasets)\.(.+\.)?[A-Z]\w*$")
# A data file by name (`train.pkl`, `data/val.npy`), not a model or checkpoint file.
_DATA_PICKLE = re.compile(r"(input|train|val|valid|test|data|dataset|features)[^/]*"
                          r"\.(pkl|pickle|npy|npz|parquet|txt|csv|tsv|jsonl)\b", re.I)
_MODEL_FILE = re.compile(r"model|ckpt|checkpoint|weight|state_dict|vectori[sz]er|encoder", re.I)


def _dataset_subclass(site: CallSite, facts: Facts) -> bool:
    """`MyCelebA(root, split="train")` where `class MyCelebA(CelebA)` subclasses a torchvision or
    TFDS dataset: constructing it reads the data as the library class does."""
    node = facts.classes.get(site.raw or "")
    if node is None:
        return False
    for base in node.bases:
        qual = facts.imports.resolve(dotted(base.value) or "") or ""
        if _DATASET_BASE.match(qual):
            return True
    return False


def _helper_reads_data_file(site: CallSite, facts: Facts) -> bool:
    """`load_pickle(os.path.join(path, "train.pkl"))`: a helper of this file that opens one of
    its parameters for reading, handed a data file's name."""
    node = facts.functions.get(site.raw or "")
    if node is None or not site.node.args:
        return False
    params = [p.name.value for p in node.params.params]
    opened = set()
    for inner in facts.calls:
        if inner.function != site.raw or inner.raw != "open" or not inner.node.args:
            continue
        mode = inner.positional(1) or inner.kwarg("mode")
        if mode is not None and (literal_string(mode.value) or "w").strip("bt") != "r":
            continue
        first = inner.node.args[0].value
        if isinstance(first, cst.Name) and first.value in params:
            opened.add(params.index(first.value))
    for index in opened:
        arg = site.positional(index) or site.kwarg(params[index])
        if arg is None:
            continue
        text = " ".join(filter(None, (literal_string(e) for e in _strings_in(arg.value))))
        if _DATA_PICKLE.search(text) and not _MODEL_FILE.search(text):
            return True
    return False


def _strings_in(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """String literals of a path expression (`os.path.join(root, "train.pkl")`, `a + ".csv"`)."""
    if isinstance(expr, cst.Call):
        return [x for a in expr.args for x in _strings_in(a.value)]
    if isinstance(expr, cst.BinaryOperation):
        return _strings_in(expr.left) + _strings_in(expr.right)
    return [expr]


def _reads_data(site: CallSite, facts: Facts) -> bool:
    """A call of this file that reads data without a library loader (once per call site: the
    index and the rules ask about the same sites; `site.reads_data` caches it)."""
    reads = site.reads_data
    if reads is None:
        reads = site.reads_data = (_reads_local_data(site, facts) or _dataset_subclass(site, facts)
                                   or _helper_reads_data_file(site, facts))
    return reads


def site_effects(site: CallSite, facts: Facts, external) -> set[str]:
    """Effects of a call, including what a project helper it reaches does."""
    effects = set(direct_effects(site))
    if not site.imported and _reads_data(site, facts):
        effects.add("read:data")
    if site.imported:
        extra = external(site) if external is not None else None
        if extra is not None:
            effects |= extra
        elif not effects and seed_like_name(site.name):
            effects |= SEED_ALL  # an unknown helper named set_seed(): trust the name
    elif site.raw is not None and site.raw not in facts.functions and "." not in site.raw:
        if seed_like_name(site.name) and not effects:
            effects |= SEED_ALL
    elif external is not None and site.raw is not None and site.raw.count(".") == 1:
        effects |= external(site) or set()  # `data.setup()` on an instance of a project class
    return effects
