"""Writing files atomically: a reader sees the old file or the new one, never half of one.

Every file the package writes (pictures, strokes, weights, checkpoints, caches) goes
through `atomic_write_bytes`; output files the user named go through `write_file`,
which also checks the folder first and names the file in its errors.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and a rename: readers see the old file or
    the new one, never a partial one, and a failure leaves no temp file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); keep the mode of the file being replaced,
        # or give a new file the mode a plain open() would
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)   # reading the umask means setting it; put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def check_writable_path(path) -> Path:
    """The path, once its folder exists and it is not itself a folder (else an OSError naming it)."""
    path = Path(path)
    if not path.parent.is_dir():
        if path.parent.exists():
            raise NotADirectoryError(f"{path}: {path.parent} is not a folder")
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name")
    return path


def write_file(path, data: bytes) -> Path:
    """Write an output file atomically: a failure leaves no partial or temporary file."""
    path = check_writable_path(path)
    try:
        atomic_write_bytes(path, data)
    except PermissionError:
        raise PermissionError(f"{path}: cannot write here (permission denied)") from None
    except OSError as e:   # a full disk, a read-only file system...: name the file, not the temp file
        message = f"{path}: could not be written ({e.strerror or e})"
        raise (OSError(e.errno, message) if e.errno else OSError(message)) from None
    return path
