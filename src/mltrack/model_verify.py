"""Verify a downloaded model directory without running any of it.

A tracking store is written by whoever can log a run, so a model in it is untrusted input:
unpickling it (what `mlflow.pyfunc.load_model` and `torch.load(weights_only=False)` do) runs
whatever code its author put there. This module proves a model is *there and well-formed*
instead, reading bytes only:

- the `MLmodel` file parses (`yaml.safe_load`) and every file its flavors declare exists inside
  the model directory;
- local sizes match the store's listing, where the store lists them;
- each weights file is checked by format: zip archives (torch, pt2, skops) by their CRCs and
  tensor tables; safetensors by its header; torch pickles through `weights_only=True` when every
  import they name is one that loader allows; pickle-only formats (cloudpickle pyfunc, sklearn
  pickle) by a scan of their opcodes that lists the imports and never calls `pickle.load`.

Each result says how it was verified (`verified_by`): `static` (structure read, nothing loaded),
`weights-only` (tensors loaded by a loader that cannot run code). A full load is a separate,
opt-in step (`mltrack.stores.model_load`) that runs in a child process.

This module reads bytes only and imports no vendor SDK: the weights-only load is torch's, so it
is handed in by the store layer (`load_weights_only`, see `mltrack.stores.model_access`); without
one, a torch archive is verified statically.
"""

from __future__ import annotations

import io
import json
import pickletools
import struct
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

STATIC = "static"
WEIGHTS_ONLY = "weights-only"
FULL_LOAD = "full load (subprocess)"
NOT_LOADED_NOTE = "well-formed, not loaded"

WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".pkl", ".pickle", ".joblib",
                   ".onnx", ".pt2", ".skops", ".h5", ".keras", ".npy", ".npz")
# MLmodel flavor keys whose value is a path inside the model directory.
_PATH_KEYS = ("model_data", "data", "model_path", "pickled_model", "python_model", "model_file",
              "saved_model_dir", "model_binary", "code")
# Imports that mean "this pickle runs a program when loaded", named in the evidence.
_DANGEROUS_MODULES = ("os", "posix", "nt", "subprocess", "sys", "runpy", "importlib", "socket", "pty",
                      "shutil", "webbrowser", "code", "ctypes")
_DANGEROUS_BUILTINS = ("exec", "eval", "compile", "__import__", "open", "breakpoint")
# What torch's weights_only unpickler accepts in a plain state dict or tensor file; anything else
# (an nn.Module, a custom class) is reported statically rather than attempted.
_WEIGHTS_ONLY_MODULES = ("torch", "collections", "builtins", "numpy", "_codecs")
_MAX_SCANNED_PICKLE = 512 * 1024 * 1024  # bytes; a bigger pickle is reported, not scanned


_MODE_WORDS = {STATIC: "a static read (not loaded)", WEIGHTS_ONLY: "a weights-only load",
               FULL_LOAD: "a full load in a subprocess"}


def describe_mode(verified_by: str | None) -> str:
    """`verified_by` in words, for messages: never claims more than was done."""
    return _MODE_WORDS.get(verified_by or "", "its files only")


class BrokenModel(Exception):
    """The model is missing files or a file is not what it claims to be."""


# A weights-only loader: the number of tensors in a torch archive, loaded by a loader that cannot
# run code; None when no such loader is available. It raises when the loader refuses the file.
WeightsOnlyLoad = Callable[[Path], "int | None"]


def verify_model_dir(path: Path, listed: Mapping[str, int | None] | None = None, *,
                     load_weights_only: WeightsOnlyLoad | None = None) -> dict[str, Any]:
    """Facts about a downloaded model directory (or single weights file); never raises for a
    broken model: `verified` is False and `error` says why. `load_weights_only` (from the store
    layer) loads the tensors of a plain torch archive; without it such a file is read statically."""
    facts: dict[str, Any] = {"verified": False}
    try:
        facts.update(_verify(Path(path), listed, load_weights_only))
        facts["verified"] = True
    except BrokenModel as exc:
        facts["error"] = str(exc)
    except (OSError, ValueError) as exc:  # unreadable file, bad header numbers
        facts["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return facts


def _verify(path: Path, listed: Mapping[str, int | None] | None,
            load_weights_only: WeightsOnlyLoad | None) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    root = path if path.is_dir() else path.parent
    if listed:
        facts["listing"] = _compare_listing(root, listed)
    mlmodel = root / "MLmodel"
    if path.is_file():
        weights = [path]
    elif mlmodel.is_file():
        flavors = _read_mlmodel(mlmodel)
        facts["flavors"] = sorted(flavors)
        weights = _declared_weights(root, flavors)
    else:
        weights = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        if not weights:
            raise BrokenModel(f"no MLmodel file and no weights in {root.name}")
    checked = [_check_file(w, root, load_weights_only) for w in weights]
    facts["weights"] = checked
    facts["verified_by"] = STATIC if any(c["verified_by"] == STATIC for c in checked) else WEIGHTS_ONLY
    if facts["verified_by"] == STATIC:
        facts["note"] = NOT_LOADED_NOTE
    risky = sorted({imp for c in checked for imp in c.get("dangerous_imports", ())})
    if risky:
        facts["dangerous_imports"] = risky  # loading this model would run them
    return facts


# --------------------------------------------------------------------------- MLmodel and files


def _read_mlmodel(mlmodel: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BrokenModel(f"MLmodel does not parse: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict) or not data["flavors"]:
        raise BrokenModel("MLmodel declares no flavors")
    return {str(k): v for k, v in data["flavors"].items()}


def _declared_weights(root: Path, flavors: Mapping[str, Any]) -> list[Path]:
    """Every file a flavor points at must exist; the weights are the files under those paths."""
    declared: set[Path] = set()
    for name, spec in flavors.items():
        if not isinstance(spec, dict):
            continue
        holds_weights = [spec.get(key) for key in _PATH_KEYS]
        artifacts = spec.get("artifacts")
        if isinstance(artifacts, dict):
            holds_weights += [a.get("path") for a in artifacts.values() if isinstance(a, dict)]
        env = spec.get("env")
        environment = list(env.values()) if isinstance(env, dict) else [env]
        for ref in holds_weights + environment:
            if not isinstance(ref, str) or not ref:
                continue
            target = _inside(root, ref, name)
            if not target.exists():
                raise BrokenModel(f"flavor {name!r} declares {ref!r}, which is missing")
            if ref in holds_weights and target != root:
                declared.add(target)
    files = sorted({f for d in declared for f in ([d] if d.is_file() else d.rglob("*")) if f.is_file()})
    weights = [f for f in files if f.suffix in WEIGHT_SUFFIXES or magic(f) in ("zip", "pickle")]
    if not files:
        raise BrokenModel(f"flavors {', '.join(sorted(flavors))} declare no weights file")
    # A format this module does not read (xgboost, lightgbm, JSON...): its files are checked for
    # presence, size and listing only.
    return weights or files


def _inside(root: Path, ref: str, flavor: str) -> Path:
    relative = PurePosixPath(ref)
    if relative.is_absolute() or ".." in relative.parts:
        raise BrokenModel(f"flavor {flavor!r} points outside the model directory: {ref!r}")
    return root.joinpath(*relative.parts)


def _compare_listing(root: Path, listed: Mapping[str, int | None]) -> str:
    """Every file the store lists is here with the listed size."""
    compared = 0
    for rel, size in listed.items():
        local = root.joinpath(*PurePosixPath(rel).parts)
        if not local.is_file():
            raise BrokenModel(f"{rel} is listed by the store but was not downloaded")
        if size is not None:
            actual = local.stat().st_size
            if actual != size:
                raise BrokenModel(f"{rel} is {actual} bytes, the store lists {size}")
            compared += 1
    return f"{compared} of {len(listed)} listed sizes match"


# --------------------------------------------------------------------------- one weights file


def magic(file: Path) -> str:
    """The file's format from its first bytes: zip, pickle, safetensors or other."""
    with open(file, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode
        return "pickle"
    if file.suffix == ".safetensors" or (len(head) == 8 and 2 <= struct.unpack("<Q", head)[0] < 100_000_000
                                         and _looks_like_safetensors(file)):
        return "safetensors"
    return "other"


def _looks_like_safetensors(file: Path) -> bool:
    with open(file, "rb") as handle:
        handle.seek(8)
        return handle.read(1) == b"{"


def _check_file(file: Path, root: Path, load_weights_only: WeightsOnlyLoad | None = None) -> dict[str, Any]:
    rel = file.relative_to(root).as_posix() if file != root and root in file.parents else file.name
    size = file.stat().st_size
    if size == 0:
        raise BrokenModel(f"{rel} is empty")
    kind = magic(file)
    facts: dict[str, Any] = {"file": rel, "bytes": size}
    try:
        if kind == "zip":
            facts.update(_check_zip(file, load_weights_only))
        elif kind == "pickle" and size > _MAX_SCANNED_PICKLE:
            facts.update(format="pickle", scan=f"not scanned (over {_MAX_SCANNED_PICKLE} bytes)", verified_by=STATIC)
        elif kind == "pickle":
            facts.update(format="pickle", **_scan_pickle(file.read_bytes()), verified_by=STATIC)
        elif kind == "safetensors":
            facts.update(_check_safetensors(file))
        else:
            facts.update(format=file.suffix.lstrip(".") or "unknown", verified_by=STATIC)
    except BrokenModel as exc:
        raise BrokenModel(f"{rel}: {exc}") from None
    return facts


def _check_zip(file: Path, load_weights_only: WeightsOnlyLoad | None) -> dict[str, Any]:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise BrokenModel(f"not a readable zip archive ({exc}); truncated?") from None
    with archive:
        try:
            bad = archive.testzip()  # reads every member and checks its CRC-32
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise BrokenModel(f"archive is damaged ({exc})") from None
        if bad is not None:
            raise BrokenModel(f"archive member {bad} fails its CRC check")
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("data.pkl")]
        if any(n.endswith("archive_format") for n in names):
            return _check_pt2(archive, names)
        if pickles:
            return _check_torch_zip(file, archive, pickles[0], names, load_weights_only)
        return {"format": "zip", "members": len(names), "checksums": "CRC-32 of every member", "verified_by": STATIC}


def _check_torch_zip(file: Path, archive: zipfile.ZipFile, data_pkl: str, names: list[str],
                     load_weights_only: WeightsOnlyLoad | None) -> dict[str, Any]:
    prefix = data_pkl[: -len("data.pkl")]
    storages = [n for n in names if n.startswith(prefix + "data/") and not n.endswith("/")]
    scan = _scan_pickle(archive.read(data_pkl))
    facts = {"format": "torch zip", "storages": len(storages), "checksums": "CRC-32 of every member", **scan}
    if not all(imp.split(".")[0] in _WEIGHTS_ONLY_MODULES for imp in scan["imports"]) or scan["dangerous_imports"]:
        facts["verified_by"] = STATIC  # a pickled module or custom class: weights_only would refuse it
        return facts
    try:
        tensors = load_weights_only(file) if load_weights_only is not None else None
    except Exception as exc:  # noqa: BLE001 - refused or damaged: the static facts stand
        facts.update(verified_by=STATIC, weights_only_refused=f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        return facts
    if tensors is None:  # no weights-only loader (torch not installed, or none handed in)
        facts["verified_by"] = STATIC
        return facts
    facts.update(verified_by=WEIGHTS_ONLY, tensors=tensors)
    return facts


# torch.export's serialized ScalarType numbers -> bytes per element (the common ones).
_PT2_ITEMSIZE: dict[object, int] = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 11: 16, 12: 1, 13: 2}


def _check_pt2(archive: zipfile.ZipFile, names: list[str]) -> dict[str, Any]:
    """A torch.export archive: its weights config is the tensor table; check every entry."""
    configs = [n for n in names if n.endswith("data/weights/model_weights_config.json")]
    tensors = 0
    imports: set[str] = set()
    for config_name in configs:
        folder = config_name.rsplit("/", 1)[0]
        try:
            table = json.loads(archive.read(config_name))["config"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BrokenModel(f"tensor table {config_name} does not parse ({exc})") from None
        for tensor, entry in table.items():
            member = f"{folder}/{entry.get('path_name')}"
            if member not in names:
                raise BrokenModel(f"tensor {tensor!r} is in the table but {member} is missing")
            if entry.get("use_pickle"):
                imports.update(_scan_pickle(_zip_pickle(archive.read(member)))["imports"])
            else:
                _check_tensor_size(tensor, entry.get("tensor_meta") or {}, archive.getinfo(member).file_size)
            tensors += 1
    for member in names:  # example inputs and constants saved with torch.save inside the archive
        if member.endswith((".pt", ".pkl")) and not member.endswith("data.pkl"):
            imports.update(_scan_pickle(_zip_pickle(archive.read(member)))["imports"])
    facts: dict[str, Any] = {"format": "pt2 archive", "tensors": tensors, "checksums": "CRC-32 of every member",
                             "imports": sorted(imports), "verified_by": STATIC}
    facts["dangerous_imports"] = _dangerous(imports)
    return facts


def _zip_pickle(blob: bytes) -> bytes:
    """A torch.save file nested in an archive: its data.pkl, or the blob if it is a bare pickle."""
    if not blob.startswith(b"PK"):
        return blob
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as inner:
            pkl = next((n for n in inner.namelist() if n.endswith("data.pkl")), None)
            return inner.read(pkl) if pkl else b"\x80\x02N."  # no pickle: nothing imported
    except zipfile.BadZipFile as exc:
        raise BrokenModel(f"nested archive is damaged ({exc})") from None


def _check_tensor_size(tensor: str, meta: Mapping[str, Any], actual: int) -> None:
    itemsize = _PT2_ITEMSIZE.get(meta.get("dtype"))
    try:
        sizes = [int(s["as_int"]) for s in meta.get("sizes", [])]
        strides = [int(s["as_int"]) for s in meta.get("strides", [])]
        offset = int((meta.get("storage_offset") or {}).get("as_int", 0))
    except (KeyError, TypeError, ValueError):
        return  # symbolic sizes: nothing to compare
    if itemsize is None or any(s == 0 for s in sizes):
        return
    extent = offset + 1 + sum((size - 1) * stride for size, stride in zip(sizes, strides))
    if actual < extent * itemsize:
        raise BrokenModel(f"tensor {tensor!r} needs {extent * itemsize} bytes, its file has {actual}")


def _check_safetensors(file: Path) -> dict[str, Any]:
    size = file.stat().st_size
    with open(file, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise BrokenModel("safetensors header is truncated")
        length = struct.unpack("<Q", head)[0]
        if length > size - 8:
            raise BrokenModel(f"safetensors header claims {length} bytes, the file has {size - 8}")
        try:
            header = json.loads(handle.read(length))
        except ValueError as exc:
            raise BrokenModel(f"safetensors header does not parse ({exc})") from None
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
    if 8 + length + end != size:
        raise BrokenModel(f"safetensors tensor table ends at byte {8 + length + end}, the file has {size}")
    return {"format": "safetensors", "tensors": len(tensors), "verified_by": STATIC}


# --------------------------------------------------------------------------- pickle opcodes


def _scan_pickle(blob: bytes) -> dict[str, Any]:
    """The modules and names a pickle would import, read from its opcodes; never unpickles.
    A pickle that does not run to its STOP opcode is truncated or corrupt."""
    if len(blob) > _MAX_SCANNED_PICKLE:
        return {"imports": [], "dangerous_imports": [], "scan": f"not scanned (over {_MAX_SCANNED_PICKLE} bytes)"}
    imports: set[str] = set()
    memo: dict[int, Any] = {}
    recent: list[Any] = []  # values of the last push opcodes, enough to resolve STACK_GLOBAL
    stopped = False
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(blob)):
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                imports.add(str(arg).replace(" ", "."))
            elif name == "STACK_GLOBAL":
                module, attr = (recent[-2:] + [None, None])[:2] if len(recent) >= 2 else (None, None)
                imports.add(f"{module}.{attr}" if isinstance(module, str) and isinstance(attr, str) else "?")
            elif name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg or 0)] = recent[-1] if recent else None  # PUT/GET args are ints, never None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(int(arg or 0)))
            elif name == "STOP":
                stopped = True
            else:
                recent.append(arg if isinstance(arg, str) else None)
            del recent[:-4]
    except (ValueError, EOFError, struct.error) as exc:
        raise BrokenModel(f"pickle is truncated or corrupt ({str(exc)[:120]})") from None
    if not stopped:
        raise BrokenModel("pickle is truncated (no STOP opcode)")
    return {"imports": sorted(imports), "dangerous_imports": _dangerous(imports)}


def _dangerous(imports: set[str] | list[str]) -> list[str]:
    found = []
    for imp in imports:
        module, _, attr = imp.rpartition(".")
        top = module.split(".")[0]
        if top in _DANGEROUS_MODULES or (module in ("builtins", "__builtin__") and attr in _DANGEROUS_BUILTINS):
            found.append(imp)
    return sorted(found)
