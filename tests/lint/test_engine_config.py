"""`[tool.mltrack.lint]`: keys, validation, rule names, globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrack.errors import ConfigError
from mltrack.lint.config import ENGINE_CODES, LintConfig, load_lint_config


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.mltrack.lint]\n" + body)


def test_full_table_is_read_and_names_become_codes(tmp_path: Path) -> None:
    write_pyproject(tmp_path, """
select = ["missing-seed", "MLT004"]
ignore = ["MLT004"]
exclude = ["legacy"]
tracker = "wandb"
required-hyperparameters = ["lr", "batch_size"]

[tool.mltrack.lint.per-file-ignores]
"tests/**" = ["missing-seed"]
""")
    config = load_lint_config(start=tmp_path)
    assert config.select == ("MLT001", "MLT004") and config.ignore == ("MLT004",)
    assert config.tracker == "wandb" and config.required_hyperparameters == ("lr", "batch_size")
    assert config.root == str(tmp_path.resolve())
    assert config.enabled_codes(["MLT001", "MLT004", "MLT009"]) == {"MLT001", *ENGINE_CODES}
    assert config.ignored_for(tmp_path / "tests" / "unit" / "test_a.py") == {"MLT001"}
    assert config.ignored_for(tmp_path / "train.py") == frozenset()
    assert config.is_excluded(tmp_path / "legacy" / "old.py")


def test_found_from_a_subdirectory_and_absent_means_defaults(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'tracker = "mlflow"\n')
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert load_lint_config(start=tmp_path / "src" / "pkg").tracker == "mlflow"
    bare = tmp_path.parent / f"{tmp_path.name}-bare"
    bare.mkdir(exist_ok=True)
    if any((parent / "pyproject.toml").exists() for parent in bare.parents):
        pytest.skip("a pyproject.toml above the temporary directory")
    assert load_lint_config(start=bare) == LintConfig(root=str(bare.resolve()))


@pytest.mark.parametrize(("body", "message"), [
    ('selct = ["MLT001"]\n', "unknown key(s)"),
    ('select = ["MLT999"]\n', "unknown rule 'MLT999'"),
    ('select = "nonsense-rule"\n', "unknown rule 'nonsense-rule'"),
    ('tracker = "comet"\n', "is not one of mlflow, wandb, tensorboard"),
    ("exclude = 3\n", "must be a list of strings"),
    ('per-file-ignores = ["x"]\n', "per-file-ignores"),
])
def test_bad_configuration_is_a_config_error(tmp_path: Path, body: str, message: str) -> None:
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_lint_config(start=tmp_path)


def test_command_line_overrides() -> None:
    config = LintConfig(select=("MLT001",), ignore=("MLT002",))
    new = config.with_overrides(["MLT00"], ["unused-suppression"])
    assert "MLT001" in new.select and "MLT003" in new.select
    assert new.ignore == ("MLT002", "MLT100")
    assert config.with_overrides([], []) == config
