"""Audit outputs are all or nothing, and `--out` is checked before any work (issue 9, item 7).

The full disk is real: a small tmpfs mounted for the test (mltrack's tests run as root in CI;
elsewhere the test skips and says why). An audit fills the directory, the disk is then filled
(completely, or leaving room for only part of the next report set), and a second audit must
end in one line naming the file, exit 2, with the previous report set byte-identical.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.report.schema import ReportError, load
from mltrack.report.writer import write_audit, write_files
from tests.support.hostile_store import hostile_store

GOLDEN = Path(__file__).parent / "golden"
MISSING_STORE = "sqlite:///{}/no-such-store.db"  # would fail with a store error if it were read


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of our own, unmounted at teardown."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave_bytes: int) -> None:
    """Take all the space on `disk` but `leave_bytes` (rounded to the page size)."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with open(disk / "filler", "wb") as out:
        try:
            out.write(b"\0" * max(0, free - leave_bytes))
            out.flush()
            os.fsync(out.fileno())
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _audit(uri: str, out: Path, *extra: str):
    return CliRunner().invoke(main, ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress", *extra])


@pytest.mark.parametrize("leave_kib", [0, 60], ids=["disk-full", "room-for-part-of-the-set"])
def test_full_disk_leaves_the_previous_reports_intact(tiny_disk: Path, leave_kib: int,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    store = hostile_store(tmp_path_factory)
    out = tiny_disk / "audit"
    first = _audit(store.uri, out, "--config", str(store.policy))
    assert first.exit_code == 1, first.output  # the hostile store fails three checks
    before = _tree(out)
    assert {"report.json", "report.md", "report.html", "junit.xml"} <= set(before) and len(before) == 5
    _fill(tiny_disk, leave_kib * 1024)

    second = _audit(store.uri, out, "--config", str(store.policy))
    assert second.exit_code == 2, second.output
    errors = [line for line in second.stderr.splitlines() if not line.startswith("mltrack: [")]  # not progress
    assert len(errors) == 1 and "no space left on device" in errors[0], second.stderr
    assert f"cannot write {out}" in errors[0]  # names the file
    assert _tree(out) == before  # byte-identical, no temporaries left behind, history whole


def test_full_disk_leaves_the_previous_onboarding_page_intact(tiny_disk: Path,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    store = hostile_store(tmp_path_factory)
    page = tiny_disk / "onboarding.html"
    args = ["report", "--tracking-uri", store.uri, "--out", str(page), "--config", str(store.policy),
            "--checks", "none"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    before = _tree(tiny_disk)
    _fill(tiny_disk, 0)

    second = CliRunner().invoke(main, args)
    assert second.exit_code == 2, second.output
    assert "no space left on device" in second.stderr and f"cannot write {page}" in second.stderr
    after = _tree(tiny_disk)
    assert after.pop("filler") and before == after  # the old page whole, no temporary left


def test_a_rename_never_starts_when_a_target_is_a_directory(tmp_path: Path) -> None:
    report = load(GOLDEN / "audit-pass.json")
    write_audit(report, tmp_path)
    before = _tree(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(ReportError, match="is a directory; nothing was written"):
        write_files([(tmp_path / "report.json", "{}"), (tmp_path / "sub", "x")])
    assert _tree(tmp_path) == before


def test_outputs_keep_readable_permissions(tmp_path: Path) -> None:
    write_audit(load(GOLDEN / "audit-pass.json"), tmp_path)
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("report.json", "report.html", "junit.xml"):  # not mkstemp's 0600: the team reads them
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644 & ~umask


# --- `--out` is checked before the store is read --------------------------------------------

def _one_line_usage_error(result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mltrack: error: --out"), lines[0]  # not the store's error
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_audit_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    result = _audit(MISSING_STORE.format(tmp_path), tmp_path / "taken")
    _one_line_usage_error(result, "is a file, not a directory")


def test_audit_out_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    result = _audit(MISSING_STORE.format(tmp_path), tmp_path / "taken" / "audit")
    _one_line_usage_error(result, f"{tmp_path / 'taken'} is a file")


def test_audit_out_holds_a_directory_where_a_report_goes(tmp_path: Path) -> None:
    (tmp_path / "audit" / "report.html").mkdir(parents=True)
    result = _audit(MISSING_STORE.format(tmp_path), tmp_path / "audit")
    _one_line_usage_error(result, "report.html is a directory")


def test_audit_out_on_a_read_only_mount(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs (needs root): {done.stderr.strip()}")
    try:
        for out in (ro, ro / "new" / "audit"):
            _one_line_usage_error(_audit(MISSING_STORE.format(tmp_path), out), "cannot write in", "read-only")
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_audit_out_missing_folders_are_fine(tmp_path: Path) -> None:
    """A new --out (parents included) passes the check; the store error comes next."""
    result = _audit(MISSING_STORE.format(tmp_path), tmp_path / "a" / "b" / "audit")
    assert result.exit_code == 2 and "--out" not in result.stderr and "no-such-store" in result.stderr
    assert not (tmp_path / "a").exists()  # checking creates nothing


def test_report_out_is_a_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--tracking-uri", MISSING_STORE.format(tmp_path),
                                       "--out", str(tmp_path)])
    _one_line_usage_error(result, "is a directory")


def test_report_out_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    result = CliRunner().invoke(main, ["report", "--tracking-uri", MISSING_STORE.format(tmp_path),
                                       "--out", str(tmp_path / "taken" / "o.html")])
    _one_line_usage_error(result, "is a file, not a directory")
