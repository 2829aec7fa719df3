"""Reading W&B offline runs: runs per second for `wandb-offline:DIR` (default 1,000 runs).

    python benchmarks/bench_wandb_read.py [--runs 1000] [--templates 4] [--epochs 20]

How the runs are made: starting one real offline run per template with the `wandb` client
costs ~0.1-0.5 s each, so the real client writes only `--templates` runs (config with the
reference fields, `--epochs` history rows of three metrics, a summary, a dataset and a model
artifact). Each of the `--runs` directories is then a copy of one template whose records were
decoded, given a fresh 8-character run id (run record and artifact records), re-encoded with the
same record framing wandb-core uses, and written as `offline-run-<stamp>-<id>/run-<id>.wandb`.
The copies are byte-for-byte valid logs (`wandb leet inspect` reads them).

Printed, side by side in one run: decoding the logs alone (`read_directory`) and the whole
snapshot (decoding + mapping to `StoreSnapshot`), as runs per second.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

TEMPLATE_WRITER = r"""
import os, sys, wandb
out, count, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
open(os.path.join(out, "data.csv"), "w").write("x\n" * 1000)
for i in range(count):
    settings = wandb.Settings(mode="offline", username=f"user{i % 3}", x_disable_stats=True,
                              console="off", silent=True, git_commit="0" * 40)
    run = wandb.init(project="bench", entity="bench", dir=out, job_type="training", name=f"t{i}",
                     config={"learning_rate": 0.01 * (i + 1), "batch_size": 32, "optimizer": "adam",
                             "random_seed": i, "data_hash": "f" * 64}, settings=settings)
    for step in range(epochs):
        run.log({"train_loss": 1 / (step + 1), "val_loss": 1.1 / (step + 1), "val_acc": step / epochs})
    data = wandb.Artifact("bench-data", "dataset"); data.add_file(os.path.join(out, "data.csv"))
    run.log_artifact(data)
    model = wandb.Artifact(f"run-{run.id}-model", "model"); model.add_file(os.path.join(out, "data.csv"), name="model.pt")
    run.log_artifact(model)
    run.finish()
wandb.teardown()
"""

BLOCK = 32768
HEADER = struct.pack("<4sHB", b":W&B", 0xBEE1, 0)


def encode_log(payloads: list[bytes]) -> bytes:
    """The wandb-core framing (see mltrack.stores.wandb_log): 32 KiB blocks, 7-byte chunks."""
    out = bytearray(HEADER)
    for payload in payloads:
        first = True
        while True:
            room = BLOCK - len(out) % BLOCK
            if room < 7:
                out += b"\0" * room
                room = BLOCK
            take = min(len(payload), room - 7)
            chunk, payload = payload[:take], payload[take:]
            kind = (1 if not payload else 2) if first else (4 if not payload else 3)
            out += struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind)
            out += chunk
            first = False
            if not payload:
                break
    return bytes(out)


def make_runs(root: Path, runs: int, templates: int, epochs: int) -> Path:
    from wandb.proto import wandb_internal_pb2

    from mltrack.stores.wandb_log import iter_payloads
    from mltrack.stores.wandb_offline import find_run_logs

    source = root / "templates"
    source.mkdir(parents=True)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DATA_DIR=str(source / "data"))
    subprocess.run([sys.executable, "-c", TEMPLATE_WRITER, str(source), str(templates), str(epochs)],
                   check=True, env=env, capture_output=True, timeout=600)
    decoded = []
    for log in find_run_logs(source):
        records = []
        for payload in iter_payloads(log):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(payload)
            records.append(record)
        decoded.append(records)
    store = root / "store" / "wandb"
    rng = random.Random(7)
    for index in range(runs):
        run_id = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
        payloads = []
        for record in decoded[index % len(decoded)]:
            kind = record.WhichOneof("record_type")
            if kind == "run":
                record.run.run_id = run_id
            elif kind == "artifact":
                record.artifact.run_id = run_id
            payloads.append(record.SerializeToString())
        folder = store / f"offline-run-20260101_{index:06d}-{run_id}"
        folder.mkdir(parents=True)
        (folder / f"run-{run_id}.wandb").write_bytes(encode_log(payloads))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    from mltrack.stores import open_store
    from mltrack.stores.wandb_offline import read_directory

    with tempfile.TemporaryDirectory(prefix="bench-wandb-") as tmp:
        started = time.perf_counter()
        store = make_runs(Path(tmp), args.runs, args.templates, args.epochs)
        size = sum(p.stat().st_size for p in store.rglob("*.wandb"))
        print(f"wrote {args.runs} offline runs ({size / 2**20:.1f} MiB of .wandb logs, "
              f"{args.templates} real templates, {args.epochs} history rows each) "
              f"in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        read = read_directory(store)
        decode_s = time.perf_counter() - started
        assert len(read.runs) == args.runs and not read.errors, (len(read.runs), read.errors[:1])

        started = time.perf_counter()
        snapshot = open_store(f"wandb-offline:{store}").snapshot()
        snapshot_s = time.perf_counter() - started
        assert len(snapshot.runs) == args.runs

    print(f"decode .wandb logs (read_directory): {args.runs / decode_s:8.0f} runs/s  ({decode_s:.2f} s)")
    print(f"full snapshot (decode + mapping):    {args.runs / snapshot_s:8.0f} runs/s  ({snapshot_s:.2f} s)")
    print(f"mapping overhead: x{snapshot_s / decode_s:.2f} of decoding alone")


if __name__ == "__main__":
    main()
