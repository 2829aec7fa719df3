"""Read a W&B offline transaction log (`run-<id>.wandb`) record by record.

The format is the one wandb-core writes (it was `wandb/sdk/internal/datastore.py` in older
wandb releases; 0.31 ships it only inside the Go binary, so it is re-implemented here):

- a 7-byte file header: b":W&B", magic 0xBEE1 (little-endian u16), version 0 (u8);
- then LevelDB-log style 32 KiB blocks (the file header counts toward the first block). Each
  chunk has a 7-byte header: CRC-32 (IEEE, seeded with the chunk type byte) u32, length u16,
  type u8 (1 full, 2 first, 3 middle, 4 last). A block tail shorter than a chunk header is
  zero padding. Chunks reassemble into one serialized `wandb_internal_pb2.Record` protobuf.

Only the framing lives here; `wandb_offline.py` turns the records into runs. The protobuf
classes ship with the `wandb` package and are imported lazily.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mltrack.errors import StoreError

FILE_HEADER = struct.Struct("<4sHB")
FILE_IDENT = b":W&B"
FILE_MAGIC = 0xBEE1  # zlib.crc32(b"Weights & Biases") & 0xFFFF
CHUNK_HEADER = struct.Struct("<IHB")
BLOCK_SIZE = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


class CorruptLogError(StoreError):
    """A `.wandb` file is truncated or damaged; says which file and how many records were read."""

    def __init__(self, path: Path, records_read: int, reason: str, *, cut: bool = False) -> None:
        super().__init__(
            f"{path}: corrupt W&B log after {records_read} record(s): {reason}",
            hint="the run's remaining records are lost; re-run or restore the file",
        )
        self.path = path
        self.records_read = records_read
        self.reason = reason
        # The file simply ends mid-record: what a killed process leaves (wandb-core writes whole
        # 32 KiB blocks, so the last one is lost), not damage. The records before it are sound.
        self.cut = cut


class UnreadableLogError(CorruptLogError):
    """A run's `.wandb` path is no regular file (a directory, a FIFO, a socket) or cannot be
    opened: named and skipped like a damaged log, never fatal and never a hang."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, 0, reason)
        self.message = f"{path}: unreadable W&B log: {reason}"
        self.hint = "the run is skipped; the rest of the directory is read"


def read_log_bytes(path: Path) -> bytes:
    """The whole log, after checking it is a regular file: reading a FIFO would block forever
    and a directory would abort the read of every other run."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UnreadableLogError(path, exc.strerror or type(exc).__name__) from None
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "not a regular file")
        raise UnreadableLogError(path, f"it is {kind}, not a file")
    try:
        # O_NONBLOCK: should the path become a FIFO after the check, opening it must not block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UnreadableLogError(path, exc.strerror or type(exc).__name__) from None


def iter_payloads(path: Path) -> Iterator[bytes]:
    """Yield each record's serialized bytes; raise CorruptLogError at the first damage."""
    data = read_log_bytes(Path(path))
    count = 0

    def corrupt(reason: str, cut: bool = False) -> CorruptLogError:
        return CorruptLogError(Path(path), count, reason, cut=cut)

    if len(data) < FILE_HEADER.size:
        raise corrupt("file shorter than the W&B header")
    ident, magic, version = FILE_HEADER.unpack_from(data, 0)
    if ident != FILE_IDENT or magic != FILE_MAGIC:
        raise corrupt("not a W&B transaction log (bad header)")
    if version != 0:
        raise corrupt(f"unsupported log version {version}")

    pos = FILE_HEADER.size
    pending: list[bytes] | None = None  # chunks of a record split across blocks
    while pos < len(data):
        room = BLOCK_SIZE - pos % BLOCK_SIZE
        if room < CHUNK_HEADER.size:  # block trailer: zero padding
            pos += room
            continue
        if pos + CHUNK_HEADER.size > len(data):
            raise corrupt("truncated chunk header", cut=True)
        crc, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:
            # Zero-filled tail: preallocated space never written (a run still open or killed).
            if any(data[pos:]):
                raise corrupt(f"zero chunk header followed by data at byte {pos}")
            break
        start = pos + CHUNK_HEADER.size
        end = start + length
        if kind not in _TYPE_CRC or length > room - CHUNK_HEADER.size:
            raise corrupt(f"bad chunk header at byte {pos}")
        if end > len(data):
            raise corrupt(f"truncated record at byte {pos}", cut=True)
        chunk = data[start:end]
        if zlib.crc32(chunk, _TYPE_CRC[kind]) != crc:
            raise corrupt(f"checksum mismatch at byte {pos}")
        pos = end
        if kind == FULL:
            if pending is not None:
                raise corrupt(f"unfinished record before byte {pos}")
            count += 1
            yield chunk
        elif kind == FIRST:
            pending = [chunk]
        else:
            if pending is None:
                raise corrupt(f"record continuation without a start at byte {pos}")
            pending.append(chunk)
            if kind == LAST:
                count += 1
                yield b"".join(pending)
                pending = None
    if pending is not None:
        raise corrupt("truncated record at end of file", cut=True)


def iter_records(path: Path) -> Iterator[Any]:
    """Yield each `wandb_internal_pb2.Record`; raise CorruptLogError on damage."""
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2

    count = 0
    for payload in iter_payloads(path):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(payload)
        except DecodeError as exc:
            raise CorruptLogError(Path(path), count, f"undecodable record: {exc}") from None
        count += 1
        yield record
