"""What the lint rules assume about libraries, each tied to the library's source.

Libraries installed here (mlflow 3.17, wandb 0.31, numpy, Python's `random`) are checked by
running or inspecting them: an upgrade that changes the behaviour fails the test. Libraries not
installed here (transformers, Lightning, accelerate, Keras) are cited: `CITED` names the file of
the library's public repository and quotes the source line the claim rests on, and the test
checks that the linter's effect for the call is exactly what that source does. (Claims of MLT005
and MLT006 are in test_rule_claims.py, MLT011's in test_unclosed_run_claims.py.)
"""

from __future__ import annotations

import inspect
import random
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

from mltrack.lint.effects import call_effects
from mltrack.lint.facts import collect

SEEDS = {"seed:torch", "seed:numpy", "seed:random", "seed:tensorflow"}


@dataclass(frozen=True)
class Cited:
    claim: str
    repo: str
    path: str
    commit: str  # the version read
    quote: str  # the source line(s) the claim rests on
    call: str  # code whose last call the linter judges
    has: frozenset[str]  # effects the linter must give that call
    lacks: frozenset[str] = frozenset()  # effects it must not give


CITED = [
    Cited("transformers.set_seed seeds Python's random, NumPy, torch and TensorFlow (if installed)",
          "huggingface/transformers", "src/transformers/trainer_utils.py",
          "007360d654f36b1f4bc0c701c7b1b69273a7c4ed",
          "random.seed(seed) / np.random.seed(seed) / torch.manual_seed(seed) / tf.random.set_seed(seed)",
          "from transformers import set_seed\nset_seed(1)\n", frozenset(SEEDS)),
    Cited("the HF Trainer seeds in its constructor from TrainingArguments.seed (default 42)",
          "huggingface/transformers", "src/transformers/trainer.py",
          "2cda12cbf6e476183e68ec476551fa7e3717394a",
          "enable_full_determinism(self.args.seed) if self.args.full_determinism else "
          "set_seed(self.args.seed)",
          "from transformers import Trainer\nTrainer(model=m, args=a)\n", frozenset(SEEDS)),
    Cited("Lightning's seed_everything seeds Python's random, NumPy and torch, not TensorFlow",
          "Lightning-AI/pytorch-lightning", "src/lightning/fabric/utilities/seed.py",
          "014994ad91a56a71bbe3d6675f42b6f125789a26",
          "random.seed(seed) / np.random.seed(seed) / torch.manual_seed(seed)",
          "import lightning as L\nL.seed_everything(1)\n",
          frozenset({"seed:torch", "seed:numpy", "seed:random"}), frozenset({"seed:tensorflow"})),
    Cited("accelerate's set_seed seeds Python's random, NumPy and torch, not TensorFlow",
          "huggingface/accelerate", "src/accelerate/utils/random.py",
          "0ea4be1a49be68a84c98fca0c4fdfd75f17d1dae",
          "random.seed(seed) / np.random.seed(seed) / torch.manual_seed(seed)",
          "from accelerate.utils import set_seed\nset_seed(1)\n",
          frozenset({"seed:torch", "seed:numpy", "seed:random"}), frozenset({"seed:tensorflow"})),
    Cited("Keras' set_random_seed seeds Python's random, NumPy, TensorFlow (if installed) and torch "
          "(torch backend)", "keras-team/keras", "keras/src/utils/rng_utils.py",
          "77d1b35f2735ba2446a1c89fb14834ee92160251",
          "random.seed(seed) / np.random.seed(seed) / tf.random.set_seed(seed) / torch.manual_seed(seed)",
          "import keras\nkeras.utils.set_random_seed(1)\n", frozenset(SEEDS)),
    Cited("accelerate's init_trackers(config=...) stores the whole config in every tracker",
          "huggingface/accelerate", "src/accelerate/accelerator.py",
          "9f71f0b8b9f0a410475e49cf19f87053f0c88cf9",
          "if config is not None: for tracker in self.trackers: tracker.store_init_configuration(config)",
          "accelerator.init_trackers('proj', config=cfg)\n",
          frozenset({"track", "log:params:all"})),
    Cited("accelerator.log sends metrics to the trackers",
          "huggingface/accelerate", "src/accelerate/accelerator.py",
          "9f71f0b8b9f0a410475e49cf19f87053f0c88cf9",
          "def log(self, values: dict, step: Optional[int] = None): ... Logs `values` to all stored "
          "trackers in `self.trackers`",
          "accelerator.log({'loss': loss}, step=step)\n", frozenset({"log:metric"})),
    Cited("Lightning logs save_hyperparameters()' values to every logger when training starts",
          "Lightning-AI/pytorch-lightning", "src/lightning/pytorch/loggers/utilities.py",
          "cfc8f001d776d65ba4bf866eb98f139c5e55ba45",
          "elif pl_module._log_hyperparams: hparams_initial = pl_module.hparams_initial ... "
          "logger.log_hyperparams(hparams_initial)",
          "self.save_hyperparameters()\n", frozenset({"log:params", "log:params:all"})),
    Cited("save_hyperparameters() takes the init arguments of the module it is called in (minus "
          "`ignore`), not other settings of the script",
          "Lightning-AI/pytorch-lightning", "src/lightning/pytorch/utilities/parsing.py",
          "530b93a1e66248e9c3920124e78fb97c13650536",
          "for local_args in collect_init_args(frame, [], classes=(HyperparametersMixin,)): "
          "init_args.update(local_args) ... init_args = {k: v for k, v in init_args.items() if k not in ignore}",
          "self.save_hyperparameters()\n", frozenset({"log:params"})),
    Cited("Lightning's self.log goes to the Trainer's loggers; the default (logger=True) is "
          "TensorBoardLogger, or CSVLogger when TensorBoard is not installed; logger=False drops it",
          "Lightning-AI/pytorch-lightning",
          "src/lightning/pytorch/trainer/connectors/logger_connector/logger_connector.py",
          "565f776a3bac7d023d9b1375a8f8e652e7ae791f",
          "if not logger: self.trainer.loggers = [] elif logger is True: if _TENSORBOARD_AVAILABLE or "
          "_TENSORBOARDX_AVAILABLE: logger_ = TensorBoardLogger(...) ... `logger=True` will use "
          "`CSVLogger` as the default logger",
          "self.log('train_loss', loss)\n", frozenset({"log:metric"})),
    Cited("TF1's read_data_sets builds DataSets that re-seed NumPy from TensorFlow's graph seed "
          "(entropy when none is set) and shuffle with NumPy in next_batch: reproducible only when "
          "TensorFlow is seeded (or seed= is given)",
          "tensorflow/tensorflow", "tensorflow/contrib/learn/python/learn/datasets/mnist.py",
          "13aeec48521c431ee95a28d2e1db2164132005f5",
          "DataSet.__init__: seed1, seed2 = random_seed.get_seed(seed); "
          "numpy.random.seed(seed1 if seed is None else seed2) ... next_batch: "
          "if self._epochs_completed == 0 and start == 0 and shuffle: "
          "perm0 = numpy.arange(self._num_examples); numpy.random.shuffle(perm0)",
          "from tensorflow.examples.tutorials.mnist import input_data\n"
          "input_data.read_data_sets('/tmp/data/', one_hot=True)\n",
          frozenset({"read:data", "rand:tensorflow"}), frozenset({"rand:numpy"})),
    Cited("HF TrainingArguments(report_to='mlflow') logs every training argument and the metrics",
          "huggingface/transformers", "src/transformers/integrations/integration_utils.py",
          "23b2354078d27fff8e5abb7a37324282aa84eba4",
          "MLflowCallback.setup: combined_dict = args.to_dict() ... self._ml_flow.log_params(...); "
          "on_log: self._ml_flow.log_metrics(metrics=metrics, step=state.global_step)",
          "from transformers import TrainingArguments\nTrainingArguments('out', report_to='mlflow')\n",
          frozenset({"track", "log:params:all", "log:metric"})),
    Cited("Keras' TensorBoard callback writes each epoch's metrics as scalars",
          "keras-team/keras", "keras/src/callbacks/tensorboard.py",
          "ac2ee342b119221090e464edc0d3344289f48741",
          "def _log_epoch_metrics(self, epoch, logs): Writes epoch metrics out as scalar summaries.",
          "import keras\nkeras.callbacks.TensorBoard('logs')\n",
          frozenset({"track", "track:tensorboard", "log:metric"})),
]


def _effects_of_last_call(code: str) -> set[str]:
    facts = collect(cst.parse_module(code), "example")
    return call_effects(facts.calls[-1])


@pytest.mark.parametrize("cited", CITED, ids=lambda c: c.claim[:50])
def test_linter_effects_match_the_cited_library_source(cited: Cited) -> None:
    assert len(cited.commit) == 40 and cited.quote and cited.path
    found = _effects_of_last_call(cited.call)
    assert cited.has <= found, (cited.claim, found)
    assert not (cited.lacks & found), (cited.claim, found)


# -- installed libraries: run or inspect them -------------------------------------------------


def test_mlflow_autolog_disable_is_the_integrations_off_switch() -> None:
    """MLT005/MLT004/MLT009 treat `autolog(disable=True)` as logging nothing. Every autolog
    integration must take `disable=False` (mlflow/utils/autologging_utils/__init__.py,
    `autologging_integration`), and patched functions consult `autologging_is_disabled`."""
    import mlflow
    import mlflow.sklearn
    from mlflow.utils import autologging_utils

    assert inspect.signature(mlflow.autolog).parameters["disable"].default is False
    assert inspect.signature(mlflow.sklearn.autolog).parameters["disable"].default is False
    source = inspect.getsource(autologging_utils.autologging_integration)
    assert 'param_spec["disable"].default is not False' in source
    assert "integration_name" in inspect.signature(autologging_utils.autologging_is_disabled).parameters


@pytest.mark.slow
def test_mlflow_autolog_disable_true_logs_nothing(tmp_path: Path) -> None:
    """The behaviour itself: a fit after `autolog(disable=True)` leaves the run without params
    (a sqlite store: about a minute on a loaded machine, hence slow)."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LinearRegression

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        mlflow.sklearn.autolog(disable=True)
        with mlflow.start_run() as run:
            LinearRegression().fit(np.arange(8.0).reshape(4, 2), np.arange(4.0))
        logged = mlflow.get_run(run.info.run_id).data
        assert logged.params == {} and logged.metrics == {}
        mlflow.sklearn.autolog(log_models=False, log_datasets=False)  # the control: it does log
        with mlflow.start_run() as control:
            LinearRegression().fit(np.arange(8.0).reshape(4, 2), np.arange(4.0))
        assert mlflow.get_run(control.info.run_id).data.params
    finally:
        mlflow.sklearn.autolog(disable=True)
        mlflow.set_tracking_uri(None)


def test_entropy_reseeding_differs_each_time() -> None:
    """MLT002: `np.random.seed(None)` and `random.seed()` re-seed from OS entropy."""
    draws = set()
    for _ in range(3):
        np.random.seed(None)
        draws.add(float(np.random.rand()))
    assert len(draws) == 3
    values = set()
    for _ in range(3):
        random.seed()
        values.add(random.random())
    assert len(values) == 3
    np.random.seed(5)
    first = np.random.rand()
    np.random.seed(5)
    assert np.random.rand() == first  # an explicit seed does repeat


def test_numpy_generators_are_seeded_by_construction() -> None:
    """MLT001/MLT002: `np.random.default_rng(seed)` needs no `np.random.seed`."""
    np.random.seed(None)
    a = np.random.default_rng(3).random(4)
    np.random.seed(None)
    assert (np.random.default_rng(3).random(4) == a).all()


def test_wandb_login_finds_the_key_in_the_environment_or_netrc() -> None:
    """MLT012's fix `wandb.login()` (no key in code) reads WANDB_API_KEY or ~/.netrc."""
    from wandb import env
    from wandb.sdk.lib.wbauth import authenticate

    assert env.API_KEY == "WANDB_API_KEY"
    system = inspect.getsource(authenticate._use_system_auth)
    assert "_try_env_auth" in system and "wbnetrc.read_netrc_auth_with_source" in system
    assert "os.getenv(env.API_KEY)" in inspect.getsource(authenticate._try_env_auth)


def test_save_hyperparameters_covers_the_init_arguments_only() -> None:
    """MLT004 follows the cited parsing.py: the init arguments are logged, `ignore` ones are not,
    and a script's other settings are not."""
    from mltrack.lint.context import FileContext
    from mltrack.lint.hparams import analyze_hparams, norm

    code = ("import pytorch_lightning as pl\n\nclass Lit(pl.LightningModule):\n"
            "    def __init__(self, hidden_dim, learning_rate, net):\n"
            "        super().__init__()\n        self.save_hyperparameters(ignore=['net'])\n")
    ctx = FileContext.build(code, "lit.py", cst.parse_module(code))
    report = analyze_hparams(ctx)
    assert not report.all_covered
    assert {norm("hidden_dim"), norm("learning_rate")} <= report.logged
    assert norm("net") not in report.logged and norm("batch_size") not in report.logged


# MLT003's "why": cited from PyTorch's reproducibility notes (https://pytorch.org/docs/stable/notes/
# randomness.html, section "CUDA convolution benchmarking"): "Due to benchmarking noise and
# different hardware, the benchmark may select different algorithms on subsequent runs, even on
# the same machine." and "torch.use_deterministic_algorithms() lets you configure PyTorch to use
# deterministic algorithms instead of nondeterministic ones where they're available".
def test_the_settings_mlt003_names_exist_in_torch() -> None:
    import torch

    assert isinstance(torch.backends.cudnn.benchmark, bool)
    assert isinstance(torch.backends.cudnn.deterministic, bool)
    assert callable(torch.use_deterministic_algorithms)


def test_torch_tensorboard_writer_records_no_git_commit() -> None:
    """MLT006: a `SummaryWriter` run carries no code version unless the code logs one - nothing
    in torch.utils.tensorboard runs git or writes a commit (read as text: importing it needs the
    tensorboard package, which this environment does not install)."""
    import torch

    folder = Path(torch.__file__).parent / "utils" / "tensorboard"
    sources = {path.name: path.read_text() for path in folder.glob("*.py")}
    assert "writer.py" in sources and "class SummaryWriter" in sources["writer.py"]
    for name, text in sources.items():
        assert "subprocess" not in text and "rev-parse" not in text, name
        assert "commit" not in text.lower(), name


def test_sklearn_estimators_without_random_state_draw_from_numpy_global_generator() -> None:
    """MLT001/MLT002 count `train_test_split(X)` / `RandomForestClassifier()` without
    `random_state=` as NumPy draws: seeding NumPy's global generator makes them repeat, and an
    explicit `random_state=` makes them independent of it."""
    from sklearn.model_selection import train_test_split

    X = np.arange(40).reshape(20, 2)
    np.random.seed(3)
    first = train_test_split(X)[0]
    np.random.seed(3)
    assert (train_test_split(X)[0] == first).all()
    np.random.seed(4)
    assert not (train_test_split(X)[0] == first).all()
    np.random.seed(None)
    a = train_test_split(X, random_state=1)[0]
    np.random.seed(None)
    assert (train_test_split(X, random_state=1)[0] == a).all()
