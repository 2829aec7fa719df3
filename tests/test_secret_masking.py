"""Secret-looking params and tags are masked in every report, and the reports say how many.

The store (fixtures/stores/secrets_in_params.py, plain MLflow) logs each engineer's `api_key`,
`token`, `password` and a `db_uri` with a password as params, and tags runs with a clone URL
holding a GitHub token. `mltrack audit` and `mltrack report` publish none of them, in any file or
on the terminal, while the hyperparameters stay readable. What counts as a secret is
mltrack.secrets, the definition MLT012 uses too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.stores import secrets_in_params as store_module
from mltrack.cli import main
from mltrack.model import CheckResult, Status
from mltrack.report.schema import build_report
from mltrack.secrets import MASK, mask_value, secret_reason
from tests.support.stores import empty_database

POLICY = Path(store_module.__file__).with_suffix(".policy.toml")


@pytest.fixture(scope="module")
def secrets_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("secrets-store")
    db = root / "mlflow.db"
    shutil.copy2(empty_database(tmp_path_factory.getbasetemp()), db)
    uri = f"sqlite:///{db}"
    store_module.build(uri, str(root / "artifacts"))
    return uri


def _texts(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _fragments(secret: str) -> set[str]:
    """The secret and each piece of it around an `@` or `#`: a redaction that stops at the wrong
    `@` publishes the tail (`@tures!li#2025` of `Fe@tures!li#2025`), which is still the password."""
    import re

    return {secret} | {piece for piece in re.split(r"[@#]", secret) if len(piece) >= 5}


def _assert_published_nowhere(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for secret in store_module.SECRETS:
            for fragment in _fragments(secret):
                assert fragment not in text, f"{fragment!r} (of a secret) published in {where}"


def test_a_password_holding_at_is_hidden_whole_beside_a_uri() -> None:
    """One line of params, as a check message lists them: the URI's password and the `password`
    value (which holds `@`) are both hidden, and the host and the hyperparameter stay readable."""
    from mltrack.secrets import mask_text

    line = ("db_uri=postgresql://etl:pgliPassw0rd@db.internal:5432/features, learning_rate=0.012, "
            "password=Fe@tures!li#2025, batch_size=64")
    masked, count = mask_text(line)
    assert "pgliPassw0rd" not in masked and "tures!li" not in masked and "Fe@" not in masked, masked
    assert "db.internal:5432/features" in masked and "learning_rate=0.012" in masked
    assert "batch_size=64" in masked and count == 2


def test_audit_publishes_no_secret_and_counts_what_it_masked(secrets_store: str, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", secrets_store, "--out", str(out),
                                       "--config", str(POLICY), "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    _assert_published_nowhere({"stdout": result.output, **_texts(out)})
    report = json.loads((out / "report.json").read_text())
    search = next(r for r in report["results"] if r["name"] == "hparam-search")
    # credentials vary across the runs but are no hyperparameters: the search stays readable
    best = search["evidence"]["best_config"]
    assert not {"api_key", "token", "password", "db_uri"} & set(best), best
    assert best["learning_rate"]
    # Nothing secret is left in the checks' evidence to mask; the count and its notice are
    # test_build_report_masks_messages_evidence_and_fixes_once's and the onboarding page's.
    assert report["summary"]["masked_secrets"] == 0


def test_onboarding_page_publishes_no_secret_and_says_so(secrets_store: str, tmp_path: Path) -> None:
    page = tmp_path / "onboarding.html"
    result = CliRunner().invoke(main, ["report", "--tracking-uri", secrets_store, "--out", str(page),
                                       "--config", str(POLICY)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    _assert_published_nowhere({"stdout": result.output, "onboarding.html": text})
    assert "learning_rate" in text and "secret-looking value(s)" in text


def test_onboarding_data_masks_params_and_tags_of_every_run(secrets_store: str) -> None:
    from mltrack.pressure.policy import load_policy
    from mltrack.report.onboarding import build_onboarding
    from mltrack.stores import open_store

    adapter = open_store(secrets_store)
    try:
        snapshot = adapter.snapshot()
    finally:
        adapter.close()
    data = build_onboarding(snapshot, load_policy(str(POLICY)))
    # every run: api_key, token, password, db_uri and the tagged clone URL
    assert data["masked_secrets"] >= store_module.RUNS * 5
    _assert_published_nowhere({"data": json.dumps(data)})
    assert "--api_key '***'" in json.dumps(data)  # the printed rerun command, masked too


@pytest.mark.parametrize(("name", "value"), [
    ("api_key", "a7c3e9f0b2d8"), ("OPENAI_API_KEY", "x"), ("db_password", "pw"), ("passwd", "hunter2"),
    ("token", "t"), ("client_secret", "s3"), ("private_key_pem", "abc"), ("credentials", "c"),
    ("auth_header", "Basic Zm9vOmJhcg=="), ("wandb_key", "0123456789abcdef0123456789abcdef01234567"),
    ("notes", "sk-proj-abcdefghijklmnopqrstuvwxyz0123"), ("notes", "ghp_" + "a1" * 18),
    ("aws", "AKIAIOSFODNN7EXAMPLE"), ("cfg", "postgresql://u:pw@h/db"),
    ("bearer", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
])
def test_secret_looking_fields(name: str, value: str) -> None:
    assert secret_reason(name, value), (name, value)


@pytest.mark.parametrize(("name", "value"), [
    ("learning_rate", "0.001"), ("mlflow.source.git.commit", "0123456789abcdef0123456789abcdef01234567"),
    ("max_tokens", "512"), ("tokenizer", "bert-base"), ("author", "maya"), ("api_key", "<your key>"),
    ("password", ""), ("primary_key", "id"), ("tracking_uri", "http://mlflow:5000"), ("sort_key", "val_acc"),
])
def test_plain_fields(name: str, value: str) -> None:
    assert secret_reason(name, value) is None, (name, value)


def test_build_report_masks_messages_evidence_and_fixes_once() -> None:
    result = CheckResult("MLP07", "hparam-search", Status.PASS,
                         "best run used token=abc123xyz and postgresql://u:pw9@h/db",
                         {"params": {"api_key": "k-123456", "lr": "0.1"}, "runs": ["ghp_" + "b2" * 18]},
                         fix="rotate sk-abcdefghijklmnopqrstuvwx12")
    report = build_report(uri="sqlite:///x.db", tracker="mlflow", server_version="3", results=(result,),
                          numbers={}, checks_requested="all", duration_s=0.1).to_dict()
    masked = report["results"][0]
    assert masked["message"] == "best run used token=*** and postgresql://u:***@h/db"
    assert masked["evidence"] == {"params": {"api_key": MASK, "lr": "0.1"}, "runs": [MASK]}
    assert masked["fix"] == "rotate ***"
    assert report["summary"]["masked_secrets"] == 5
    assert mask_value("", masked) == (masked, 0)  # masking masked data finds nothing more


def test_pytest_junit_and_terminal_publish_no_secret(secrets_store: str, tmp_path: Path) -> None:
    """`pytest --tracking-uri` puts each result (evidence included) into junit.xml's properties."""
    import subprocess
    import sys

    junit = tmp_path / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--tracking-uri", secrets_store, "--mltrack-config", str(POLICY),
         "-k", "hparam-search", f"--junitxml={junit}", "-p", "no:cacheprovider", "-rA"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )
    assert "1 passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    assert "best_config" in junit.read_text()  # the evidence is there, masked
    _assert_published_nowhere({"stdout": run.stdout, "stderr": run.stderr, "junit.xml": junit.read_text()})


def test_credentials_are_not_hyperparameters(secrets_store: str, tmp_path: Path) -> None:
    """Each engineer's `api_key`, `token`, `password` and `db_uri` vary across the runs, yet
    tune nothing: hparam-search names the learning rate as what was searched, never a credential."""
    out = tmp_path / "audit"
    CliRunner().invoke(main, ["audit", "--tracking-uri", secrets_store, "--config", str(POLICY),
                              "--out", str(out), "--no-progress", "--checks", "hparam-search"])
    result = json.loads((out / "report.json").read_text())["results"][0]
    assert set(result["evidence"]["varied"]) == {"learning_rate"}, result["evidence"]["varied"]
