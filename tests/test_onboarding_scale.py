"""The onboarding page stays the same size however big the store (issue 13 item 5): plots are
sampled and their captions say so (how many drawn of how many), tables show their top rows and
count the rest. Built in memory from RunRecords so it runs in seconds; the figures at 100k-1M
runs come from benchmarks/bench_onboarding_scale.py."""

from __future__ import annotations

import re

import pytest

from mltrack.pressure.policy import Policy
from mltrack.report.onboarding import build_onboarding
from mltrack.report.onboarding_html import render_onboarding
from tests.support.synthetic_snapshot import long_history, synthetic_snapshot


@pytest.fixture(scope="module")
def pages() -> dict[int, str]:
    return {n: render_onboarding(build_onboarding(synthetic_snapshot(n), Policy(), (), history=long_history))
            for n in (2_000, 20_000)}


def test_page_size_does_not_grow_with_runs(pages: dict[int, str]) -> None:
    small, big = (len(pages[n].encode()) for n in (2_000, 20_000))
    # ten times the runs, experiments, users and diverged runs: the page may grow by a few digits
    assert big <= small * 1.05, (small, big)
    assert big <= 1 * 2**20, big
    assert pages[20_000].count("<circle") <= pages[2_000].count("<circle") * 1.05
    assert pages[20_000].count("<tr>") <= pages[2_000].count("<tr>") * 1.05


def test_plot_captions_say_they_are_sampled_and_how_much(pages: dict[int, str]) -> None:
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", pages[20_000])
    assert len(captions) >= 5
    for caption in captions:
        drawn, total = map(int, re.search(r"Sampled: (\d+) of (\d+) (?:runs|steps) drawn", caption).groups())
        assert drawn < total
    assert any("of 25000 steps drawn" in c for c in captions)  # 5 curves x 5,000 steps
    # 2,000 runs: 1,000 in the main experiment, ~1% diverged -> every scored run counted
    small = re.findall(r"<figcaption>(.*?)</figcaption>", pages[2_000])
    assert any(re.search(r"Sampled: \d+ of 989 runs drawn", c) for c in small), small


def test_tables_show_the_top_rows_and_count_the_rest(pages: dict[int, str]) -> None:
    page = pages[20_000]
    # 400 experiments, 800 users, 60 models in production, 104 diverged runs in the main board
    assert "… and 360 more experiments.</p>" in page
    assert "… and 760 more users.</p>" in page
    assert "… and 390 more experiments.</p>" in page  # leaderboards: 10 shown
    assert "… and 20 more models in production.</p>" in page
    assert re.search(r"Diverged \(NaN/inf val_acc, not ranked\): [^<]* … and 94 more\.", page)
    assert "more values not shown" in page  # 37 optimizers, 20 columns
