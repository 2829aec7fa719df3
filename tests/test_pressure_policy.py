"""Policy loading from [tool.mltrack]: defaults match the reference runs, unknown keys are errors."""

from __future__ import annotations

import pytest

from mltrack import conventions
from mltrack.errors import ConfigError, UsageError
from mltrack.pressure.policy import Policy, load_policy
from mltrack.pressure.registry import CHECKS, select


def write(tmp_path, text: str):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_defaults_match_conventions(tmp_path):
    policy = load_policy(start=tmp_path)  # no pyproject anywhere below /tmp: defaults
    assert policy == Policy()
    assert policy.experiments == (conventions.REFERENCE_EXPERIMENT,)
    assert policy.metric == "val_acc" and policy.higher_is_better
    assert (policy.old_run_days, policy.stale_run_days, policy.min_users, policy.min_search_runs) == (30, 180, 3, 10)
    assert "lr" in policy.required_fields["learning_rate"]


def test_reads_keys_and_ignores_lint_table(tmp_path):
    write(tmp_path, """
[tool.mltrack]
experiments = ["exp-a", "exp-b"]
metric = "val_loss"
metric_goal = "min"
min_users = 1
keep_top = 3
timeout_s = 5
rerun_command = "python train.py"
required_fields = {learning_rate = ["lr", "eta"], random_seed = ["seed"]}
[tool.mltrack.lint]
select = ["MLT001"]
""")
    policy = load_policy(start=tmp_path)
    assert policy.experiments == ("exp-a", "exp-b")
    assert not policy.higher_is_better
    assert policy.timeout_s == 5.0 and policy.keep_top == 3
    assert policy.required_fields == {"learning_rate": ("learning_rate", "lr", "eta"),
                                      "random_seed": ("random_seed", "seed")}


def test_required_fields_as_list_uses_convention_synonyms(tmp_path):
    write(tmp_path, '[tool.mltrack]\nrequired_fields = ["learning_rate"]\n')
    assert load_policy(start=tmp_path).required_fields["learning_rate"] == conventions.REQUIRED_FIELDS["learning_rate"]


def test_unknown_key_is_named(tmp_path):
    write(tmp_path, '[tool.mltrack]\nmin_user = 2\n')
    with pytest.raises(ConfigError, match="unknown key 'min_user'"):
        load_policy(start=tmp_path)


@pytest.mark.parametrize("line", ['min_users = "three"', 'metric_goal = "up"', "experiments = 3", "keep_top = -1"])
def test_bad_values_are_config_errors(tmp_path, line):
    write(tmp_path, f"[tool.mltrack]\n{line}\n")
    with pytest.raises(ConfigError):
        load_policy(start=tmp_path)


def test_explicit_standalone_file(tmp_path):
    path = tmp_path / "mltrack.toml"
    path.write_text('metric = "f1"\n')
    assert load_policy(path).metric == "f1"
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_registry_order_and_groups():
    assert [c.code for c in CHECKS] == [f"MLP{i:02d}" for i in range(1, 11)]
    assert [c.name for c in CHECKS] == ["recovery", "production-model", "multi-user", "data-change", "rollback",
                                        "prediction-audit", "hparam-search", "long-term-repro",
                                        "artifact-cleanup", "onboarding"]
    for check in CHECKS:
        assert check.fixable is False and check.summary
        for section in ("## What it checks", "## Why it matters", "## How it fails", "## How to fix"):
            assert section in check.doc, (check.name, section)
    assert [c.name for c in select("monthly")] == ["data-change", "long-term-repro", "artifact-cleanup"]
    assert len(select("all")) == 10 and len(select(None)) == 10
    assert [c.name for c in select(["onboarding,MLP01"])] == ["recovery", "onboarding"]
    with pytest.raises(UsageError, match="unknown check 'rolback'"):
        select("rolback")
