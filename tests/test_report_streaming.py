"""The onboarding page reads runs as a stream (issue 13 item 2): its helpers keep bounded state
and give exactly what sorting or masking every run would.

- TopN = sorted(items, key)[:n], ties in arrival order, holding at most 2n + 64 items.
- DistinctValues = len(set(values)) per key up to a limit, sets past a few thousand on disk.
- SortedSpill = sorted rows, from memory or (past its limit) from a sqlite file it deletes.
- MaskedRunTable masks each record as it is read, and on lookup; the store's records are untouched.
- The onboarding data of a spilled table (records streamed from disk) equals the in-memory one's,
  including with the metric-over-time rows sorted on disk.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import random
import tempfile

import pytest

from mltrack.model import RunRecord, StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.report import streaming
from mltrack.report.masked_runs import MaskedRunTable, masked_snapshot
from mltrack.report.onboarding import build_onboarding
from mltrack.report.streaming import DistinctValues, SortedSpill, TopN
from mltrack.run_table import RunTableBuilder
from tests.support.synthetic_snapshot import synthetic_snapshot


def test_top_n_is_the_head_of_a_stable_sort() -> None:
    rnd = random.Random(7)
    items = [(rnd.randrange(50), i) for i in range(10_000)]  # many ties on the key
    for n in (1, 5, 40, 3_000):
        top: TopN = TopN(n, key=lambda item: item[0])
        for item in items:
            top.add(item)
        assert top.result() == sorted(items, key=lambda item: item[0])[:n]
        assert top.count == len(items)
        assert len(top._items) <= 2 * n + 64  # never the whole stream


def test_sorted_spill_sorts_on_disk_past_its_limit_and_removes_its_file() -> None:
    rnd = random.Random(3)
    rows = [(rnd.randrange(20), f"v{i}", rnd.random()) for i in range(1_000)]
    expected = [row for _, row in sorted(enumerate(rows), key=lambda pair: (pair[1][0], pair[0]))]
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "mltrack-sort-*")))
    for limit in (10_000, 7):  # in memory; spilled every 7 rows
        with SortedSpill(spill_after=limit) as spill:
            for row in rows:
                spill.add(row[0], row)
            assert list(spill.sorted_rows()) == expected
            assert spill.count == len(rows)
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "mltrack-sort-*"))) == before


def test_distinct_values_counts_exactly_up_to_the_limit_in_memory_or_on_disk() -> None:
    rnd = random.Random(5)
    pairs = [("lr", str(rnd.choice([0.1, 0.01, 0.001]))) for _ in range(500)]
    pairs += [("width", str(rnd.randrange(120))) for _ in range(2_000)]  # 120 distinct: within 150
    pairs += [("run_dir", f"/runs/{i}") for i in range(400)]  # one a run: past the limit
    rnd.shuffle(pairs)
    exact: dict[str, set[str]] = {}
    for key, value in pairs:
        exact.setdefault(key, set()).add(value)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "mltrack-distinct-*")))
    for keep in (4_096, 10):  # all in sets; every key past 10 values counted in the file
        distinct = DistinctValues(limit=150, keep_in_memory=keep)
        for key, value in pairs:
            distinct.add(key, value)
        assert distinct.counts() == {k: len(v) for k, v in exact.items() if len(v) <= 150}
        assert "run_dir" not in distinct.counts() and distinct.counts()["width"] == 120
        distinct.close()
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "mltrack-distinct-*"))) == before


def test_masked_run_table_masks_as_it_reads_and_on_lookup() -> None:
    secret = "sk-" + "Q" * 40
    runs = [RunRecord(f"r{i}", "1", f"run {i}", "ana", "FINISHED", i, i + 1,
                      params={"lr": "0.1", "api_key": secret if i % 2 else "<unset>"},
                      tags={"ci.url": f"https://ci:{secret}@git.example/x"} if i == 3 else {})
            for i in range(6)]
    snapshot, in_registry = masked_snapshot(StoreSnapshot("sqlite:///x.db", "mlflow", "3", 0, runs=runs))
    assert in_registry == 0 and isinstance(snapshot.runs, MaskedRunTable)
    read = list(snapshot.runs)
    assert secret not in json.dumps([[dict(r.params), dict(r.tags)] for r in read])
    assert [r.params["api_key"] for r in read] == ["<unset>", "***"] * 3
    assert read[0] is runs[0]  # a record without a secret is not copied
    assert snapshot.run("r3").tags["ci.url"] == "***" and snapshot.runs[1].params["api_key"] == "***"
    assert sum(count for _, count in snapshot.runs.counted()) == 4  # three api keys and one URL
    assert runs[1].params["api_key"] == secret  # the store's records are untouched


@pytest.fixture(scope="module")
def big() -> StoreSnapshot:
    # 2,000 runs: a main experiment of 1,000 runs (strided plot samples), 40 experiments
    return synthetic_snapshot(2_000)


def test_onboarding_data_from_a_spilled_table_equals_the_in_memory_one(
        big: StoreSnapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = build_onboarding(big, Policy(), (), now_ms=1)
    builder = RunTableBuilder(spill_after=0)
    for run in big.runs:
        builder.add(run)
    spilled = dataclasses.replace(big, runs=builder.finish())
    # the metric over time sorted on disk too: every 50 rows spill
    original = SortedSpill.__init__
    monkeypatch.setattr(streaming.SortedSpill, "__init__", lambda self, spill_after=50: original(self, spill_after))
    # ... and the distinct values of every param past 5 counted on disk
    distinct = DistinctValues.__init__
    monkeypatch.setattr(streaming.DistinctValues, "__init__",
                        lambda self, limit, keep_in_memory=5: distinct(self, limit, keep_in_memory))
    got = build_onboarding(spilled, Policy(), (), now_ms=1)
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(expected, sort_keys=True, default=str)
    assert got["over_time"]["runs"] > 400 and len(got["over_time"]["points"]) == 400
