"""Atomic file output: a result file is either absent, the old version, or complete.

Every file rlsandbox writes (figures, CSV tables, JSON metadata, claim results) goes through
:func:`atomic_open` / :func:`atomic_write`: the bytes are written to a temporary file in the
*same directory* as the target, flushed and ``fsync``-ed, then moved over the target with
``os.replace``, which POSIX and Windows perform atomically within one file system. A process
killed at any moment therefore never leaves a truncated file behind, and a reader never sees a
half-written one (DESIGN.md, "Files"). On any exception the temporary file is removed and the
target is left untouched.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write"]


def _target(path: Any) -> Path:
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    p = Path(path)
    if p.name in ("", ".", ".."):
        raise ValueError(f"path {str(path)!r} names a directory, not a file; pass a file path "
                         f"such as {str(p / 'out.json')!r}")
    if p.exists() and p.is_dir():
        raise ValueError(f"path {str(path)!r} is an existing directory; pass a file path inside "
                         f"it, e.g. {str(p / 'out.json')!r}")
    return p


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = None,
                newline: str | None = None, makedirs: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` atomically when the block exits cleanly.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)write.
    mode : {"w", "wb"}
        Text or binary. Text defaults to UTF-8.
    encoding, newline : passed to :func:`open` in text mode (``newline`` as for :func:`open`).
    makedirs : bool
        Create missing parent directories first (default True).

    Yields
    ------
    file object writing to ``<dir>/.<name>.<random>.tmp``; on a clean exit it is flushed,
    fsync-ed and ``os.replace``-d onto ``path``; on an exception it is deleted and ``path`` is
    left as it was.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_open(d / "meta.json") as f:
    ...     json.dump({"seed": 0}, f)
    >>> json.loads((d / "meta.json").read_text())
    {'seed': 0}
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode == {mode!r}; expected 'w' (text) or 'wb' (binary). Appending "
                         f"cannot be atomic: read the old content and write the whole file")
    target = _target(path)
    if mode == "wb" and (encoding is not None or newline is not None):
        raise ValueError("encoding/newline apply to text mode only; drop them or use mode='w'")
    parent = target.parent
    if makedirs:
        parent.mkdir(parents=True, exist_ok=True)
    elif not parent.is_dir():
        raise ValueError(f"directory {str(parent)!r} does not exist; create it or pass "
                         f"makedirs=True")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates files readable only by the owner; give the result the permissions
        # an ordinary open() would (0666 minus the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8",
                 makedirs: bool = True) -> Path:
    """Write ``data`` (str: text in ``encoding``; bytes: verbatim) to ``path`` atomically.

    Returns the target path. See :func:`atomic_open` for the guarantee.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a.csv", "k,value\\n0,1.5\\n")
    >>> p.read_text()
    'k,value\\n0,1.5\\n'
    """
    if isinstance(data, str):
        with atomic_open(path, "w", encoding=encoding, newline="", makedirs=makedirs) as f:
            f.write(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        with atomic_open(path, "wb", makedirs=makedirs) as f:
            f.write(bytes(data))
    else:
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}; serialise it "
                        f"first (e.g. json.dumps(obj) or df.to_csv())")
    return Path(path)
