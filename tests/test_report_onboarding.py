"""`mltrack report`: the onboarding page from a seeded store, its size on a 10,000-run snapshot,
and the page in a real headless Chromium (no console errors, plots drawn, every section there)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack import conventions
from mltrack.cli import main
from mltrack.model import ModelVersionRecord, RegisteredModelRecord, RunRecord, StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.report.onboarding import build_onboarding
from mltrack.report.onboarding_html import SECTIONS, render_onboarding
from mltrack.report.svg import PALETTE
from tests.support.dump import assert_unchanged, dump_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def onboarding_page(small_reference_store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onboarding") / "onboarding.html"
    store = small_reference_store
    before = dump_store(store.db_path, store.artifacts_dir)
    result = CliRunner().invoke(main, ["report", "--tracking-uri", store.uri, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))
    return out


def test_page_has_every_section_and_the_facts(onboarding_page: Path) -> None:
    page = onboarding_page.read_text()
    for anchor, _ in SECTIONS:
        assert f'<section id="{anchor}">' in page, anchor
    assert "git checkout " in page and "data hash <code>" in page  # reproduce the best run
    assert "search-012-v2-adam-lr0.01-bs32" in page  # the seeded best run leads the leaderboard
    assert "Lineage: data" in page and "inference run(s)" in page and "<td>previous</td><td class=\"num\">2</td>" in page
    assert page.count("<svg") >= 5 and "<polyline" in page and "data v2" in page
    assert 'href="#evidence-rollback"' in page and 'id="evidence-rollback"' in page
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", page)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def _snapshot(runs: int) -> StoreSnapshot:
    """A 10,000-run store as the reader would return it (built in memory: the subject here is
    the builder's and renderer's bounds, the real-store timing is benchmarks/bench_report.py)."""
    now = 1_790_000_000_000
    records = []
    for i in range(runs):
        lr, bs, opt = (0.001, 0.01, 0.1)[i % 3], (16, 32, 64)[i // 3 % 3], ("adam", "sgd")[i % 2]
        records.append(RunRecord(
            f"run{i:05d}", "1", f"search-{i}", f"user{i % 40}", "FINISHED", now - i * 600_000, now - i * 600_000 + 1,
            params={"learning_rate": str(lr), "batch_size": str(bs), "optimizer": opt, "random_seed": "1",
                    "git_commit": "a" * 40, "data_hash": "d" * 64, "data_version": "v2" if i < runs // 2 else "v1"},
            tags={conventions.TAG_RUN_TYPE: "training"}, metrics={"val_acc": 0.5 + (i * 7919 % 1000) / 2000}))
    model = RegisteredModelRecord(conventions.REGISTERED_MODEL, aliases={"production": "2"}, versions=(
        ModelVersionRecord(conventions.REGISTERED_MODEL, "1", "run00001", "models:/m-1"),
        ModelVersionRecord(conventions.REGISTERED_MODEL, "2", "run00002", "models:/m-2")))
    from mltrack.model import ExperimentRecord

    return StoreSnapshot("sqlite:///big.db", "mlflow", "3.17.2", now, runs=tuple(records),
                         experiments=(ExperimentRecord("1", conventions.REFERENCE_EXPERIMENT),),
                         registered_models=(model,))


def test_size_and_time_stay_bounded_on_10000_runs() -> None:
    snapshot = _snapshot(10_000)
    started = time.perf_counter()
    history = lambda run_id, key: [(s, 0.5 + s / 100, 0) for s in range(2000)]  # noqa: E731 - long histories
    page = render_onboarding(build_onboarding(snapshot, Policy(), (), history=history))
    took = time.perf_counter() - started
    assert len(page.encode()) <= 5 * 2**20, f"{len(page) / 2**20:.1f} MiB"
    assert took < 20, f"{took:.1f} s"
    assert page.count("<circle") <= 6 * 500 + 500  # sampled points, never one per run
    assert "… and 0 more" not in page and "more users" not in page  # 40 users fit in the table


def _chromium(*args: str, profile: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=timeout, check=False)


# Injected ahead of the page's Content-Security-Policy (a policy applies from where it is read),
# so it sees every script error, console.error and policy violation the page itself causes.
_PROBE = """<script>
window.__errors = [];
function __note(m) { window.__errors.push(String(m)); document.documentElement.setAttribute('data-errors', window.__errors.join(' | ')); }
window.addEventListener('error', e => __note('error: ' + e.message));
document.addEventListener('securitypolicyviolation', e => __note('csp: ' + e.blockedURI));
const __ce = console.error; console.error = (...a) => { __note('console: ' + a.join(' ')); __ce(...a); };
</script>"""


@pytest.mark.chromium
@needs_chromium
def test_page_in_headless_chromium(onboarding_page: Path, tmp_path: Path) -> None:
    probed = tmp_path / "probed.html"
    probed.write_text(onboarding_page.read_text().replace("<head>", "<head>" + _PROBE, 1))
    dom = _chromium("--dump-dom", "--virtual-time-budget=3000", probed.as_uri(), profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "data-errors" not in dom.stdout.split("<head>", 1)[0], dom.stdout[:500]
    for anchor, _ in SECTIONS:
        assert f'id="{anchor}"' in dom.stdout
    assert "Uncaught" not in dom.stderr and ":CONSOLE(" not in dom.stderr, dom.stderr[-2000:]

    # The top 2,600 CSS px (overview to the first plots) at half scale: small enough to decode
    # in pure Python. (Headless screenshots of a #fragment come out blank, so no scrolling.)
    shot = tmp_path / "page.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1100,2600", "--force-device-scale-factor=0.5",
                    "--hide-scrollbars", onboarding_page.as_uri(), profile=tmp_path / "p2")
    assert shot.is_file(), run.stderr[-2000:]
    width, height, pixels = _decode_png(shot.read_bytes())
    assert (width, height) == (550, 1300)
    luminance = [sum(p) / 3 for p in pixels]
    mean = sum(luminance) / len(luminance)
    variance = sum((v - mean) ** 2 for v in luminance) / len(luminance)
    assert variance > 100, f"blank screenshot (variance {variance:.1f})"
    # The learning curves' colours (PALETTE[1:5]) appear nowhere on the page but in plots.
    curve_colours = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in PALETTE[1:5]]
    marks = sum(1 for p in pixels if any(all(abs(a - b) <= 40 for a, b in zip(p, c)) for c in curve_colours))
    assert marks > 100, f"no plot marks in the screenshot ({marks} curve-coloured pixels)"


def _decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """8-bit RGB/RGBA PNG -> (width, height, RGB pixels), with zlib and struct only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        _unfilter(kind, line, prev, channels)
        rows.append(line)
        prev = line
    pixels = [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)]
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, prev))
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        else:  # 4: Paeth
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + pred) & 0xFF


def test_a_store_with_other_names_still_gets_a_page(tmp_path: Path) -> None:
    """No reference experiment and no policy: the checks run on the store's own names, and the
    page says what was assumed; a policy naming an experiment the store lacks still gets a
    page, whose checks section says why they did not run."""
    from tests.support.small_store import build_small_store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = build_small_store(uri, tmp_path, tmp_path / "artifacts")
    out = tmp_path / "page.html"
    result = CliRunner().invoke(main, ["report", "--tracking-uri", uri, "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Pressure checks not run" not in page and 'id="evidence-multi-user"' in page
    assert "<h3>Assumptions</h3>" in page and store.experiment in page and '<section id="glossary">' in page
    config = tmp_path / "policy.toml"
    config.write_text('experiments = ["mltrack-reference"]\n')
    result = CliRunner().invoke(main, ["report", "--tracking-uri", uri, "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Pressure checks not run: [tool.mltrack] names experiment" in out.read_text()
