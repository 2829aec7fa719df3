"""The index names a linted file the same way whether the path is found as given or resolved."""

from __future__ import annotations

import os
from pathlib import Path

from mltrack.lint.cache import ResultCache
from mltrack.lint.index import build_index


def test_names_as_given_match_resolved_names_symlinks_and_dotdot_included(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "utils.py").write_text("import torch\n\ndef seed():\n    torch.manual_seed(0)\n")
    (root / "train.py").write_text("import torch\nfrom pkg.utils import seed\nseed()\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "train.py").write_text("import torch\n")
    os.symlink(elsewhere, root / "link")  # link/../train.py is elsewhere/../train.py
    monkeypatch.chdir(root)
    files = [Path("train.py"), Path("pkg/utils.py"), Path("link/train.py")]
    sources = {f: f.read_bytes() for f in files}
    index, _ = build_index(files, files, sources, root, ResultCache(root, enabled=False))
    for asked in ["train.py", "pkg/utils.py", "link/train.py", str(root / "train.py"),
                  "link/../train.py", "./pkg/../train.py"]:
        assert index.module_name_for(asked) == index.paths.get(str(Path(asked).resolve())), asked
    assert index.module_name_for("train.py") == "train"
    assert index.module_name_for("link/../train.py") is None  # not a file of the project
