"""Model files, the same for every model in `analysis/`.

- `write_npz` / `read_npz`: an `.npz` with fixed zip timestamps (same arrays → byte-identical
  file) that loads with `allow_pickle=False`: no pickle anywhere.
- `write_json` / `read_json`: the metadata, keys sorted, UTF-8.
- `content_hash`, `file_sha256`, `rows_sha256`: what goes into version strings and records
  where a model came from.
- `single_threaded`: trainers run inside it, so the same data gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits


def single_threaded(train: Callable) -> Callable:
    """Run a trainer with one BLAS/OpenMP thread: more threads sum floats in another order,
    and the last bits of the weights (so the model's bytes and version) would depend on the
    machine's core count."""

    @wraps(train)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return train(*args, **kwargs)

    return wrapper


def write_npz(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but with fixed timestamps: same arrays → same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, data.getvalue(), compresslevel=9)
    Path(path).write_bytes(buffer.getvalue())


def read_npz(path: Path | str) -> dict[str, np.ndarray]:
    """Arrays of an .npz file, refusing pickled objects."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def write_json(path: Path | str, meta: dict) -> None:
    Path(path).write_text(json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")


def read_json(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def content_hash(arrays: dict[str, np.ndarray], meta: dict) -> str:
    """First 8 hex digits of the sha256 of the metadata and the arrays."""
    h = hashlib.sha256(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        h.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()[:8]


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rows_sha256(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of labelled training rows, whatever file they came from."""
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(text.encode("utf-8", "surrogatepass") + b"\x00" + label.encode("utf-8") + b"\x01")
    return h.hexdigest()
