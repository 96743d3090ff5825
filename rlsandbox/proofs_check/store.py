"""The result store: one small JSON file per finished cell, written atomically.

A cell (one claim, instance and run) is stored as soon as it finishes, under
``<root>/<key[:2]>/<key>.json`` with ``key = sha256(canonical JSON of the key material)``. The
key material names everything the cell's result depends on: claim id and a fingerprint of the
source files defining its functions, instance name, params and index, the number of random
instances and the instance stream's seed, the run index and the run streams' seeds, the
quick flag and the package version (see :func:`rlsandbox.proofs_check.runner.plan`).

Files are written with :func:`rlsandbox._io.atomic_write` (temporary file in the same
directory, fsync, ``os.replace``), so a run killed at any moment leaves every cell file either
complete or absent; temporary files of a killed run (``.<name>.*.tmp``) are never read. A
stored record repeats its key material, and :meth:`Store.get` treats a file whose material
differs (a hash collision, a hand-edited file) or that does not parse as missing.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlsandbox._io import atomic_write

__all__ = ["Store", "cell_key"]

#: Version of the record layout; part of the key so that a layout change never reads old files.
FORMAT = 1


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cell_key(material: Mapping[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of ``material`` (sorted keys, no whitespace).

    Examples
    --------
    >>> cell_key({"b": 1, "a": [0.5]}) == cell_key({"a": [0.5], "b": 1})
    True
    """
    return hashlib.sha256(_canonical({"format": FORMAT, **material}).encode()).hexdigest()


class Store:
    """Finished cells on disk under ``root`` (created on the first write).

    Examples
    --------
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> material = {"claim": "classic.toy.x", "run": 0}
    >>> store.get(material) is None
    True
    >>> text = store.put(material, {"measured": 0.5})
    >>> store.get(material)
    {'measured': 0.5}
    """

    def __init__(self, root: str | os.PathLike) -> None:
        if isinstance(root, (bytes, bytearray)) or not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"store root must be a str or os.PathLike, got "
                            f"{type(root).__name__} {root!r}")
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"store root {str(self.root)!r} exists and is not a directory; "
                             f"pass a directory (it is created if missing)")

    def path(self, material: Mapping[str, Any]) -> Path:
        """Where the cell with this key material is stored."""
        key = cell_key(material)
        return self.root / key[:2] / f"{key}.json"

    def get(self, material: Mapping[str, Any]) -> Any | None:
        """The stored result for ``material``, or None if absent (or unreadable)."""
        try:
            text = self.path(material).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(record, dict) or record.get("key") != json.loads(_canonical(material)):
            return None
        return record.get("result")

    def put(self, material: Mapping[str, Any], result: Any) -> str:
        """Store ``result`` (JSON data) for ``material`` atomically; return the JSON text of
        ``result`` as written (parse it to get exactly what a later :meth:`get` returns)."""
        text = _canonical(result)
        record = '{"format":%d,"key":%s,"result":%s}\n' % (FORMAT, _canonical(material), text)
        atomic_write(self.path(material), record)
        return text
