"""Precision and recall of mltrack-lint per rule family on the labelled real-world corpus.

The corpus is public training, evaluation and inference code that is never committed here: only
its labels and provenance are (corpus/lint/repos/<owner>__<name>.toml, format in
corpus/lint/README.md). Each repository is materialised whole at its pinned commit from a local
git mirror (`git archive` into a cache outside the project), linted whole with
`mltrack-lint --format json` so cross-file analysis has its context, and the findings are compared
with the labels file by file: a family "fires" on a file when any of its codes is reported there.
Only labels marked true or false are scored; `unsure` ones are counted and left out. Labels of
a file the linter cannot parse (MLT014: Python 2 code, say) are counted and listed as
unscoreable, never scored as misses nor silently dropped.

    python benchmarks/lint_corpus.py                  # every repository; exit 2 if a mirror is missing
    python benchmarks/lint_corpus.py --skip-missing   # score the repositories that are here
    python benchmarks/lint_corpus.py --repo kuangliu/pytorch-cifar

Mirrors are bare git directories at <mirror>/<owner>+<name>/repo (the `fetch` tool of the
development environment puts them in /work/.mirror; `--mirror` or $MLTRACK_CORPUS_MIRROR
point elsewhere, e.g. at a folder of `git clone --bare` copies).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
LABELS = PROJECT / "corpus" / "lint" / "repos"
MIRROR = Path(os.environ.get("MLTRACK_CORPUS_MIRROR", "/work/.mirror"))
CACHE = Path(os.environ.get("MLTRACK_CORPUS_CACHE", Path.home() / ".cache" / "mltrack-corpus"))

# A rule family is what a reviewer asks of a file ("is it seeded?"); one family may span codes.
FAMILIES: dict[str, tuple[str, ...]] = {
    "seeding": ("MLT001", "MLT002"),
    "hparams": ("MLT004",),
    "data-version": ("MLT005",),
    "code-version": ("MLT006",),
    "overwrite": ("MLT007",),
    "predictions": ("MLT008",),
    "metrics": ("MLT009",),
    "results-file": ("MLT010",),
    "unclosed-run": ("MLT011",),
    "silent-failure": ("MLT013",),
}
FAMILY_OF = {code: family for family, codes in FAMILIES.items() for code in codes}
ROLES = ("train", "eval", "infer", "sweep")


class CorpusError(Exception):
    """A problem with the labels, a mirror or the linter: one line for the user, exit 2."""


@dataclass(frozen=True)
class Label:
    fire: bool | None  # None: unsure, not scored
    line: int | None
    why: str


@dataclass
class LabelledFile:
    path: str
    role: str
    labels: dict[str, Label]


@dataclass
class RepoLabels:
    repo: str
    commit: str
    files: list[LabelledFile]
    source: Path

    @property
    def mirror_name(self) -> str:
        return self.repo.replace("/", "+")


@dataclass
class Outcome:
    """Scored cells of one family, each a (repo, path, line, why) for the listing."""

    tp: list[tuple[str, str, int | None, str]] = field(default_factory=list)
    fp: list[tuple[str, str, int | None, str]] = field(default_factory=list)
    fn: list[tuple[str, str, int | None, str]] = field(default_factory=list)
    tn: int = 0
    unsure: int = 0
    # certain labels of files that do not parse (MLT014): the linter cannot judge them
    unscoreable: list[tuple[str, str, int | None, str]] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        found = len(self.tp) + len(self.fp)
        return len(self.tp) / found if found else None

    @property
    def recall(self) -> float | None:
        wanted = len(self.tp) + len(self.fn)
        return len(self.tp) / wanted if wanted else None


# --------------------------------------------------------------------------- labels


def _label(raw: object, where: str) -> Label:
    if raw == "unsure":
        return Label(None, None, "")
    if not isinstance(raw, dict) or "fire" not in raw:
        raise CorpusError(f"{where}: a label is a table {{fire = true|false|\"unsure\", why = ...}}")
    fire = raw["fire"]
    if fire not in (True, False, "unsure"):
        raise CorpusError(f"{where}: fire must be true, false or \"unsure\", not {fire!r}")
    why = raw.get("why", "")
    if fire != "unsure" and not why:
        raise CorpusError(f"{where}: a certain label needs a one-line `why`")
    line = raw.get("line")
    if line is not None and (not isinstance(line, int) or line < 1):
        raise CorpusError(f"{where}: line must be a positive integer")
    return Label(None if fire == "unsure" else fire, line, why)


def load_labels(folder: Path) -> list[RepoLabels]:
    repos: list[RepoLabels] = []
    sources = sorted(folder.glob("*.toml"))
    if not sources:
        raise CorpusError(f"no label files (*.toml) in {folder}")
    for source in sources:
        try:
            data = tomllib.loads(source.read_text())
        except tomllib.TOMLDecodeError as error:
            raise CorpusError(f"{source.name}: not valid TOML: {error}") from None
        repo, commit = data.get("repo"), data.get("commit")
        if not isinstance(repo, str) or repo.count("/") != 1:
            raise CorpusError(f"{source.name}: `repo` must be \"owner/name\"")
        if not isinstance(commit, str) or len(commit) != 40:
            raise CorpusError(f"{source.name}: `commit` must be a full 40-hex sha")
        defaults = data.get("defaults", {})
        unknown = set(defaults) - set(FAMILIES)
        if unknown:
            raise CorpusError(f"{source.name}: unknown family {sorted(unknown)[0]!r} in [defaults]")
        files = []
        for entry in data.get("file", []):
            entry = {**defaults, **entry}  # a repository-wide fact, unless the file says otherwise
            path = entry.get("path")
            where = f"{source.name}:{path}"
            if not isinstance(path, str):
                raise CorpusError(f"{source.name}: every [[file]] needs a `path`")
            role = entry.get("role", "train")
            if role not in ROLES:
                raise CorpusError(f"{where}: role must be one of {', '.join(ROLES)}")
            unknown = set(entry) - {"path", "role", *FAMILIES}
            if unknown:
                raise CorpusError(f"{where}: unknown family {sorted(unknown)[0]!r}")
            labels = {fam: _label(entry[fam], f"{where}:{fam}") for fam in FAMILIES if fam in entry}
            files.append(LabelledFile(path, role, labels))
        repos.append(RepoLabels(repo, commit, files, source))
    return repos


# --------------------------------------------------------------------------- trees


def mirror_dir(mirror: Path, repo: RepoLabels) -> Path | None:
    """The bare git directory of a repository's mirror, or None when it is not here."""
    base = mirror / repo.mirror_name / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "objects").is_dir():
            return candidate
    return None


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True)


def materialise(git_dir: Path, repo: RepoLabels, cache: Path) -> Path:
    """The whole tree at the pinned commit, extracted once into the cache. Mirrors may lack
    big blobs (data files, Git LFS): those are left out, as no rule reads them."""
    tree = cache / f"{repo.mirror_name}-{repo.commit[:12]}"
    if (tree / ".complete").exists():
        return tree
    if _git(git_dir, "cat-file", "-e", f"{repo.commit}^{{commit}}").returncode != 0:
        raise CorpusError(
            f"{repo.repo}: the mirror at {git_dir} lacks commit {repo.commit}; "
            f"fetch a newer snapshot (fetch tool: github:{repo.repo})"
        )
    listing = _git(git_dir, "ls-tree", "-r", "-z", repo.commit)
    if listing.returncode != 0:
        raise CorpusError(f"{repo.repo}: git ls-tree failed: {listing.stderr.decode().strip()}")
    blobs: list[tuple[str, str]] = []
    for row in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not row:
            continue
        meta, path = row.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):  # no symlinks, no submodules
            blobs.append((sha, path))
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tree, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(dir=cache, prefix=".partial-"))
    batch = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert batch.stdin and batch.stdout
    try:
        for sha, path in blobs:
            batch.stdin.write(f"{sha}\n".encode())
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if len(header) != 3:  # "<sha> missing": a blob the snapshot does not carry
                continue
            content = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)  # the newline after each object
            target = scratch / path
            if ".." in Path(path).parts:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    finally:
        batch.stdin.close()
        batch.wait()
    scratch.rename(tree)
    (tree / ".complete").write_text(repo.commit + "\n")
    return tree


def tree_size(tree: Path) -> tuple[int, int]:
    """Python files and their lines in a whole tree (what the linter reads)."""
    files = lines = 0
    for path in tree.rglob("*.py"):
        if path.is_file():
            files += 1
            lines += path.read_bytes().count(b"\n")
    return files, lines


def _linter() -> list[str]:
    script = Path(sys.executable).with_name("mltrack-lint")
    if script.exists():
        return [str(script)]
    found = shutil.which("mltrack-lint")
    if not found:
        raise CorpusError("mltrack-lint is not installed in this environment (pip install -e .)")
    return [found]


def lint_tree(tree: Path, config: Path) -> list[dict]:
    """Findings of the whole tree, paths relative to it. An empty config keeps a repository's
    own pyproject.toml from changing what is scored."""
    cmd = [*_linter(), "--format", "json", "--exit-zero", "--no-cache", "--jobs", "1",
           "--config", str(config), "."]
    done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    try:
        # Exit 2 with JSON means a file crashed the linter: its MLT000 finding is reported.
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CorpusError(
            f"mltrack-lint printed no JSON for {tree} (exit {done.returncode}): {last}"
        ) from None


# --------------------------------------------------------------------------- scoring


def score_repo(repo: RepoLabels, findings: list[dict], outcomes: dict[str, Outcome]) -> list[str]:
    """Add one repository's cells to the outcomes; return internal errors (MLT000) seen."""
    fired: dict[tuple[str, str], list[int]] = {}
    crashes = []
    unparsed: set[str] = set()
    for finding in findings:
        path = Path(finding["path"]).as_posix().removeprefix("./")
        if finding["code"] == "MLT000":
            crashes.append(f"{repo.repo}:{path}: {finding['message']}")
        if finding["code"] == "MLT014":
            unparsed.add(path)
        family = FAMILY_OF.get(finding["code"])
        if family:
            fired.setdefault((path, family), []).append(finding["line"])
    for labelled in repo.files:
        for family, label in labelled.labels.items():
            outcome = outcomes[family]
            lines = sorted(fired.get((labelled.path, family), []))
            if label.fire is None:
                outcome.unsure += 1
            elif labelled.path in unparsed:
                outcome.unscoreable.append((repo.repo, labelled.path, label.line, label.why))
            elif label.fire and lines:
                outcome.tp.append((repo.repo, labelled.path, lines[0], label.why))
            elif label.fire:
                outcome.fn.append((repo.repo, labelled.path, label.line, label.why))
            elif lines:
                outcome.fp.append((repo.repo, labelled.path, lines[0], label.why))
            else:
                outcome.tn += 1
    return crashes


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def render(report: Report) -> str:
    outcomes, size = report.outcomes, report.size
    out = [
        "mltrack-lint on the labelled real-world corpus (file-level, certain labels only)",
        f"corpus: {size['repos']} repositories, {size['files']} labelled files "
        f"({size['labelled_lines']:,} lines); whole trees linted: {size['tree_files']:,} "
        f"Python files, {size['tree_lines']:,} lines",
        "",
        f"{'family':<15} {'codes':<15} {'pos':>4} {'neg':>4} {'unsure':>6} {'unparsed':>8} "
        f"{'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}",
    ]
    for family, codes in FAMILIES.items():
        o = outcomes[family]
        pos, neg = len(o.tp) + len(o.fn), len(o.fp) + o.tn
        if pos + neg + o.unsure + len(o.unscoreable) == 0:
            continue
        out.append(
            f"{family:<15} {'+'.join(codes):<15} {pos:>4} {neg:>4} {o.unsure:>6} "
            f"{len(o.unscoreable):>8} {len(o.tp):>4} {len(o.fp):>4} {len(o.fn):>4} "
            f"{_ratio(o.precision):>9} {_ratio(o.recall):>7}"
        )
    for kind, attr in (("false positives", "fp"), ("false negatives", "fn")):
        out += ["", f"{kind} (repo:path:line family - label's reason):"]
        rows = [
            f"  {repo}:{path}:{line if line else '?'} {family} - {why}"
            for family, o in outcomes.items()
            for repo, path, line, why in getattr(o, attr)
        ]
        out += sorted(rows) or ["  none"]
    unparsed = sorted({(repo, path) for o in outcomes.values() for repo, path, _, _ in o.unscoreable})
    if unparsed:
        count = sum(len(o.unscoreable) for o in outcomes.values())
        out += ["", f"unscoreable: {count} certain labels in {len(unparsed)} files that do not parse "
                    "(MLT014, e.g. Python 2 syntax); not in the figures above:"]
        for repo, path in unparsed:
            families = [f for f, o in outcomes.items() if any(u[:2] == (repo, path) for u in o.unscoreable)]
            out.append(f"  {repo}:{path}: {', '.join(families)}")
    if report.crashes:
        out += ["", "internal errors (MLT000):", *(f"  {c}" for c in report.crashes)]
    out += ["", "provenance (repo@commit: labelled files):", *report.provenance]
    if report.missing:
        out += ["", "not scored, mirror missing: " + ", ".join(report.missing)]
    return "\n".join(out)


@dataclass
class Report:
    """Everything the scorer found; the printed table is rendered from it."""

    outcomes: dict[str, Outcome]
    size: dict[str, int]
    provenance: list[str]
    crashes: list[str]
    missing: list[str]


def score(labels: Path, mirror: Path, cache: Path, only: set[str] = frozenset(),
          skip_missing: bool = False) -> Report:
    every = load_labels(labels)
    repos = [r for r in every if not only or r.repo in only]
    unknown = set(only) - {r.repo for r in every}
    if unknown:
        raise CorpusError(f"no labels for {', '.join(sorted(unknown))}")
    missing = [r for r in repos if mirror_dir(mirror, r) is None]
    if missing and not skip_missing:
        names = ", ".join(r.repo for r in missing)
        raise CorpusError(
            f"{len(missing)} mirror(s) missing under {mirror}: {names}. Bring each onto this "
            f"machine with the `fetch` tool (source github:<owner>/<name>), or point --mirror / "
            f"$MLTRACK_CORPUS_MIRROR at bare clones laid out as <owner>+<name>/repo"
        )
    present = [r for r in repos if r not in missing]
    if not present:
        raise CorpusError(f"no repository of the corpus has a mirror under {mirror}")
    cache.mkdir(parents=True, exist_ok=True)
    config = cache / "empty-config.toml"
    config.write_text("# no [tool.mltrack.lint]: the defaults a new user gets\n")
    report = Report({family: Outcome() for family in FAMILIES},
                    dict(repos=0, files=0, labelled_lines=0, tree_files=0, tree_lines=0),
                    [], [], [r.repo for r in missing])
    for repo in present:
        tree = materialise(mirror_dir(mirror, repo), repo, cache)
        for labelled in repo.files:
            source = tree / labelled.path
            if not source.is_file():
                raise CorpusError(
                    f"{repo.source.name}: {labelled.path} is not in {repo.repo}@{repo.commit[:12]}"
                )
            report.size["labelled_lines"] += source.read_bytes().count(b"\n")
        report.crashes += score_repo(repo, lint_tree(tree, config), report.outcomes)
        files, lines = tree_size(tree)
        report.size["repos"] += 1
        report.size["files"] += len(repo.files)
        report.size["tree_files"] += files
        report.size["tree_lines"] += lines
        report.provenance.append(
            f"  https://github.com/{repo.repo}@{repo.commit}: {len(repo.files)}"
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=LABELS, help="folder of <owner>__<name>.toml")
    parser.add_argument("--mirror", type=Path, default=MIRROR, help="folder of <owner>+<name>/repo mirrors")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where trees are extracted")
    parser.add_argument("--repo", action="append", default=[], help="only this owner/name (repeatable)")
    parser.add_argument("--skip-missing", action="store_true", help="score the mirrors that are here")
    args = parser.parse_args(argv)
    try:
        report = score(args.labels, args.mirror, args.cache, set(args.repo), args.skip_missing)
        print(render(report))
    except CorpusError as error:
        print(f"lint_corpus: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
