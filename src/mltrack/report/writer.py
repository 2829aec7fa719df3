"""Write an audit directory: report.json first, then every format rendered from that file.

The renderers receive the JSON text parsed back, not the in-memory objects, so what they show is
exactly what `report.json` holds (and `render_directory` can re-render an old report offline).

All or nothing: every file of the set (the history entry, report.json and the renderings) is
first written in full to a temporary file beside its target and flushed to disk; only when all
of them are written are they renamed over the old ones (`os.replace`, atomic per file). A full
disk or any other write error removes the temporaries and leaves the previous reports exactly
as they were, with one line naming the file that could not be written.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mltrack.errors import UsageError
from mltrack.report.audit_html import render_audit_html
from mltrack.report.junit import render_junit
from mltrack.report.markdown import render_markdown
from mltrack.report.schema import ReportError, dumps, load, validate_report
from mltrack.report.trend import HISTORY, compute_trend, history_name, previous_report

RENDERERS = {
    "report.md": render_markdown,
    "report.html": render_audit_html,
    "junit.xml": render_junit,
}
OUTPUTS = ("report.json", *RENDERERS)
_TEMP_SUFFIX = ".mltrack-tmp"


def write_audit(report: Mapping[str, Any], out_dir: Path) -> dict[str, Any]:
    """Add the trend versus the last audit in `out_dir`, keep the report in `history/`, write
    `report.json` and render the other formats from it, all or nothing. Returns the report."""
    out_dir = Path(out_dir)
    try:
        (out_dir / HISTORY).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    data = json.loads(dumps(report))
    files: list[tuple[Path, str | bytes]] = []
    earlier = previous_report(out_dir)
    if earlier is not None:
        path, previous = earlier
        if path.parent == out_dir:  # a lone report.json from before history existed: keep it
            kept = out_dir / HISTORY / history_name(previous["created_at"])
            if not kept.exists():
                files.append((kept, path.read_bytes()))
            path = kept
        data["trend"] = compute_trend(previous, data, _relative(path, out_dir))
    text = dumps(data)
    target = out_dir / HISTORY / history_name(data["created_at"])
    counter = 1
    while target.exists():  # two audits in one second: never overwrite an earlier one
        target = target.with_name(f"{target.stem.split('~')[0]}~{counter}.json")
        counter += 1
    files += [(target, text), (out_dir / "report.json", text)]
    files += _rendered(json.loads(text), out_dir)
    write_files(files)
    return data


def render_directory(out_dir: Path) -> list[Path]:
    """(Re-)render report.md, report.html and junit.xml from `out_dir/report.json` alone."""
    data = load(Path(out_dir) / "report.json")
    return render_files(data, Path(out_dir))


def render_files(data: Mapping[str, Any], out_dir: Path) -> list[Path]:
    files = _rendered(data, Path(out_dir))
    write_files(files)
    return [path for path, _ in files]


def _rendered(data: Mapping[str, Any], out_dir: Path) -> list[tuple[Path, str | bytes]]:
    validate_report(dict(data))
    return [(out_dir / name, render(data)) for name, render in RENDERERS.items()]


def write_files(files: Sequence[tuple[Path, str | bytes]]) -> None:
    """Write every (path, content) or none: all temporaries first, then the renames."""
    for path, _ in files:  # the one thing that would make a rename fail after others succeeded
        if path.is_dir():
            raise ReportError(f"cannot write {path}: it is a directory; nothing was written")
    temps: list[tuple[Path, Path]] = []
    current = None
    try:
        for current, content in files:
            temps.append((_write_temp(current, content), current))
        # Renames need no space; this loop only fails on a directory changed under our feet.
        for temp, current in temps:
            os.replace(temp, current)
    except OSError as exc:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        raise ReportError(_describe(exc, Path(current or "."))) from None


def write_file(path: Path, content: str | bytes) -> None:
    """One file, atomically: the old content stays whole until the new one is on disk."""
    write_files([(Path(path), content)])


def _write_temp(path: Path, content: str | bytes) -> Path:
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # a full disk shows here, not later behind the rename
        os.chmod(temp, _FILE_MODE)  # mkstemp makes 0600; reports are for the team to read
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _file_mode() -> int:
    """0644 under the process umask, read once at import (umask cannot be read without setting
    it, and setting it later could race a thread creating a file)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o644 & ~mask


_FILE_MODE = _file_mode()


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on device"
    else:
        why = (exc.strerror or str(exc)).lower()
    return f"cannot write {path}: {why}; nothing was replaced, the previous reports are unchanged"


# --- `--out` checked before any work starts -------------------------------------------------

def check_out_dir(out_dir: Path) -> None:
    """`mltrack audit --out DIR`: DIR is (or can be made) a writable directory, and nothing in
    it that the audit replaces is a directory. Raises UsageError (exit 2) with one line."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"--out {out_dir} is a file, not a directory")
        for name in (*OUTPUTS, HISTORY):
            inside = out_dir / name
            if name == HISTORY:
                if inside.exists() and not inside.is_dir():
                    raise UsageError(f"--out {out_dir}: {inside} is a file, not a directory")
            elif inside.is_dir():
                raise UsageError(f"--out {out_dir}: {inside} is a directory, not a file")
        _check_writable(out_dir, out_dir)
        if (out_dir / HISTORY).is_dir():
            _check_writable(out_dir / HISTORY, out_dir)
    else:
        _check_creatable(out_dir, out_dir)


def check_out_file(out_file: Path) -> None:
    """`mltrack report --out FILE`: FILE is not a directory and its folder is (or can be made)
    writable. Raises UsageError (exit 2) with one line."""
    out_file = Path(out_file)
    if out_file.is_dir():
        raise UsageError(f"--out {out_file} is a directory; give a file name such as {out_file / 'onboarding.html'}")
    parent = out_file.parent
    if parent.exists():
        if not parent.is_dir():
            raise UsageError(f"--out {out_file}: {parent} is a file, not a directory")
        _check_writable(parent, out_file)
    else:
        _check_creatable(parent, out_file)


def _check_creatable(missing: Path, option: Path) -> None:
    ancestor = missing.absolute()
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"--out {option}: {ancestor} is a file, not a directory")
    _check_writable(ancestor, option)


def _check_writable(folder: Path, option: Path) -> None:
    """Create and remove a probe file: permission bits alone miss read-only mounts (and root)."""
    try:
        handle, name = tempfile.mkstemp(prefix=".mltrack-probe-", suffix=_TEMP_SUFFIX, dir=folder)
        os.close(handle)
        os.unlink(name)
    except OSError as exc:
        why = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc)).lower()
        raise UsageError(f"--out {option}: cannot write in {folder}: {why}") from None


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
