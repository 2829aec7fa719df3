"""The real-world lint corpus (corpus/lint/, scored by benchmarks/lint_corpus.py).

The committed part is labels and provenance only; the trees come from local git mirrors. The
scoring code is tested on a tiny labelled repository built here, so it is exercised in CI; the
real corpus is scored only where its mirrors exist and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lint_corpus", PROJECT / "benchmarks" / "lint_corpus.py")
lint_corpus = importlib.util.module_from_spec(_spec)
sys.modules["lint_corpus"] = lint_corpus  # dataclasses look their module up by name
_spec.loader.exec_module(lint_corpus)

TRAIN = """\
import torch

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    loss = model(torch.randn(8, 4)).pow(2).mean()
    loss.backward()
    optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.3f}")
torch.save(model.state_dict(), "model.pt")
"""

LABELS = """\
repo = "someone/tiny"
commit = "{commit}"

[defaults]
silent-failure = {{ fire = false, why = "no tracker" }}

[[file]]
path = "train.py"
seeding = {{ fire = true, line = 3, why = "torch init and randn, never seeded" }}
metrics = {{ fire = false, why = "deliberately wrong: makes a false positive" }}
overwrite = {{ fire = true, line = 10, why = "torch.save to a literal path" }}
predictions = {{ fire = true, line = 10, why = "deliberately wrong: makes a false negative" }}
hparams = "unsure"

[[file]]
path = "helpers/util.py"
role = "eval"
seeding = {{ fire = false, why = "imports nothing random" }}
"""


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    """A labelled one-repository corpus: a work tree, its bare mirror, labels and a cache."""
    work = tmp_path / "work"
    (work / "helpers").mkdir(parents=True)
    (work / "train.py").write_text(TRAIN)
    (work / "helpers" / "util.py").write_text("def double(x):\n    return 2 * x\n")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "tiny")
    commit = _git(work, "rev-parse", "HEAD")
    mirror = tmp_path / "mirror"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(mirror / "someone+tiny" / "repo"))
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "someone__tiny.toml").write_text(LABELS.format(commit=commit))
    return dict(labels=labels, mirror=mirror, cache=tmp_path / "cache")


def test_scores_a_tiny_labelled_repository(tiny: dict[str, Path]) -> None:
    report = lint_corpus.score(tiny["labels"], tiny["mirror"], tiny["cache"])
    o = report.outcomes
    assert [(r, p) for r, p, _, _ in o["seeding"].tp] == [("someone/tiny", "train.py")]
    assert o["seeding"].tn == 1  # helpers/util.py: labelled false, nothing reported
    assert [p for _, p, _, _ in o["overwrite"].tp] == ["train.py"]
    assert [(p, line) for _, p, line, _ in o["metrics"].fp] == [("train.py", 9)]
    assert [(p, line) for _, p, line, _ in o["predictions"].fn] == [("train.py", 10)]
    assert o["hparams"].unsure == 1 and not o["hparams"].tp and not o["hparams"].fn
    assert o["silent-failure"].tn == 2  # the repository default reaches both files
    assert o["seeding"].precision == 1.0 and o["metrics"].precision == 0.0
    assert o["predictions"].recall == 0.0 and o["hparams"].recall is None
    assert report.size == dict(repos=1, files=2, labelled_lines=12, tree_files=2, tree_lines=12)
    assert (tiny["cache"] / "someone+tiny-" f"{report.provenance[0].split('@')[1][:12]}" / "train.py").is_file()

    text = lint_corpus.render(report)
    assert "corpus: 1 repositories, 2 labelled files (12 lines)" in text
    assert "someone/tiny:train.py:9 metrics - deliberately wrong" in text
    assert "someone/tiny:train.py:10 predictions - deliberately wrong" in text
    assert "https://github.com/someone/tiny@" in text


def test_labels_of_an_unparseable_file_are_counted_unscoreable(tmp_path: Path) -> None:
    """A Python 2 file cannot be linted (MLT014): its labels are neither misses nor dropped."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "old.py").write_text("import torch\nprint 'epoch', loss\n")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "py2")
    commit = _git(work, "rev-parse", "HEAD")
    mirror = tmp_path / "mirror"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(mirror / "someone+old" / "repo"))
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "someone__old.toml").write_text(
        f'repo = "someone/old"\ncommit = "{commit}"\n[[file]]\npath = "old.py"\n'
        'metrics = { fire = true, why = "prints the loss" }\n'
        'seeding = { fire = false, why = "draws nothing" }\n'
    )
    report = lint_corpus.score(labels, mirror, tmp_path / "cache")
    metrics = report.outcomes["metrics"]
    assert not metrics.fn and not metrics.tp and metrics.recall is None
    assert [p for _, p, _, _ in metrics.unscoreable] == ["old.py"]
    assert report.outcomes["seeding"].tn == 0 and len(report.outcomes["seeding"].unscoreable) == 1
    text = lint_corpus.render(report)
    assert "unscoreable: 2 certain labels in 1 files that do not parse" in text
    assert "someone/old:old.py: seeding, metrics" in text


def test_a_missing_mirror_is_one_clear_line_and_exit_2(
    tiny: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = lint_corpus.main(["--labels", str(tiny["labels"]), "--mirror", str(tiny["cache"] / "none"),
                             "--cache", str(tiny["cache"])])
    err = capsys.readouterr().err
    assert code == 2
    assert "someone/tiny" in err and "fetch" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('fire = true, line = 3, why = "torch init and randn, never seeded"', "fire = maybe"), "not valid TOML"),
        (('fire = true, line = 3, why = "torch init and randn, never seeded"', 'fire = "yes", why = "x"'), "fire must be"),
        (('fire = true, line = 3, why = "torch init and randn, never seeded"', "fire = true"), "needs a one-line `why`"),
        (("seeding = {", "seedling = {"), "unknown family 'seedling'"),
        (('path = "train.py"', 'path = "nope.py"'), "nope.py is not in someone/tiny@"),
        (('commit = "', 'commit = "0000000000000000000000000000000000000000"  # was "'), "lacks commit 0000"),
    ],
)
def test_bad_labels_are_usage_errors(
    tiny: dict[str, Path], capsys: pytest.CaptureFixture[str], edit: tuple[str, str], message: str
) -> None:
    source = tiny["labels"] / "someone__tiny.toml"
    source.write_text(source.read_text().replace(*edit, 1))
    assert lint_corpus.main(["--labels", str(tiny["labels"]), "--mirror", str(tiny["mirror"]),
                             "--cache", str(tiny["cache"])]) == 2
    assert message in capsys.readouterr().err


def test_committed_labels_are_well_formed() -> None:
    """Runs without mirrors: every label file loads, paths are unique, certain labels say why."""
    repos = lint_corpus.load_labels(lint_corpus.LABELS)
    assert len({r.repo for r in repos}) == len(repos)
    for repo in repos:
        paths = [f.path for f in repo.files]
        assert len(paths) == len(set(paths)), repo.repo
        assert repo.files, f"{repo.repo} labels no file"


@pytest.mark.slow
def test_real_corpus_scores(request: pytest.FixtureRequest) -> None:
    """Scores the whole real-world corpus where its mirrors are (the `fetch` tool puts them in
    /work/.mirror); without them this is skipped with the missing names, never passed. Linting
    ~30 whole repositories takes minutes, so it runs only when asked for with `-m slow`."""
    repos = lint_corpus.load_labels(lint_corpus.LABELS)
    missing = [r.repo for r in repos if lint_corpus.mirror_dir(lint_corpus.MIRROR, r) is None]
    if missing:
        pytest.skip(
            f"real-world lint corpus: {len(missing)} of {len(repos)} mirrors missing under "
            f"{lint_corpus.MIRROR} ({', '.join(missing[:3])}...); bring them with the fetch tool "
            "or set MLTRACK_CORPUS_MIRROR"
        )
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("real-world lint corpus: mirrors present, but scoring takes minutes; run with -m slow")
    report = lint_corpus.score(lint_corpus.LABELS, lint_corpus.MIRROR, lint_corpus.CACHE)
    print(lint_corpus.render(report))
    assert not report.crashes, report.crashes
    assert report.size["repos"] == len(repos)
    assert report.size["files"] == sum(len(r.files) for r in repos)
    scored = sum(len(o.tp) + len(o.fn) + len(o.fp) + o.tn for o in report.outcomes.values())
    assert scored > 0
