"""DIR/manifest.json: what a dataset was made with (package, model and reader digests,
the texts' digest, every setting), and the check that a resumed run is the same run.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__
from ..fileio import atomic_write_bytes
from ..options import SettingError
from .settings import DatasetSettings

MANIFEST = "manifest.json"
FORMAT = "handwrite-dataset/1"
# Files are compared by their digests, not by the paths they were given as: a run
# resumed from another folder (or machine) with the same files is the same run.
BY_DIGEST = ("texts", "weights", "style_files")


class DatasetMismatchError(SettingError):
    """The output folder holds another run (a different setting, model or text file);
    a SettingError, so that a front end shows the settings it names in its own words."""


def sha256_of(path) -> str:
    """The file's sha256, read in blocks (a text file may be huge)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(settings: DatasetSettings) -> dict:
    """The manifest of a run with these settings (digests read from the files now)."""
    from ..reader import BUNDLED_READER
    from ..weights import BUNDLED_WEIGHTS
    weights = Path(settings.weights) if settings.weights else BUNDLED_WEIGHTS
    for path in (settings.texts, *settings.style_files):
        if not Path(path).is_file():
            raise OSError(f"{path}: no such file")
    return {
        "format": FORMAT,
        "package": {"name": "handwrite-synthesis", "version": __version__},
        "model": {"file": weights.name, "sha256": sha256_of(weights)},
        "reader": ({"file": BUNDLED_READER.name, "sha256": sha256_of(BUNDLED_READER)}
                   if settings.check_words and BUNDLED_READER.is_file() else None),
        "texts": {"file": Path(settings.texts).name, "sha256": sha256_of(settings.texts),
                  "bytes": Path(settings.texts).stat().st_size},
        "style_files": [{"file": Path(p).name, "sha256": sha256_of(p)} for p in settings.style_files],
        "settings": settings.content(),
        "shards": settings.shards,
        "libraries": _libraries(),
    }


def _libraries() -> dict:
    """Versions of what wrote it (recorded, not compared: a resumed run may have newer ones)."""
    import numpy
    import torch
    found = {"torch": torch.__version__, "numpy": numpy.__version__}
    try:
        import pyarrow
        found["pyarrow"] = pyarrow.__version__
    except ImportError:
        pass
    return found


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two manifests, one phrase each, settings named as `name`."""
    found = []
    if old.get("format") != new["format"]:
        return [f"the folder's manifest is {old.get('format')!r}, not {new['format']!r}"]
    for key, what in (("package", "package version"), ("model", "model (sha256)"), ("reader", "reader (sha256)"),
                      ("texts", "text file (sha256)"), ("style_files", "`style_files` (sha256)")):
        if _digests(old.get(key)) != _digests(new[key]):
            found.append(f"the {what} differs: was {_digests(old.get(key))}, now {_digests(new[key])}")
    was, now = old.get("settings", {}), new["settings"]
    for name in sorted(set(was) | set(now)):
        if name not in BY_DIGEST and was.get(name) != now.get(name):
            found.append(f"`{name}` was {was.get(name)!r}, now {now.get(name)!r}")
    return found


def _digests(entry):
    if isinstance(entry, list):
        return [_digests(e) for e in entry]
    if isinstance(entry, dict):
        return entry.get("sha256", entry.get("version"))
    return entry


def read_manifest(out) -> dict | None:
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise DatasetMismatchError(f"{path}: not a readable manifest (damaged?)") from None


def claim_folder(out, manifest: dict) -> bool:
    """Make OUT this run's folder: True when it holds this very run already (resume).
    DatasetMismatchError naming what differs when it holds another, or files that are
    not a dataset's."""
    out = Path(out)
    old = read_manifest(out)
    if old is None:
        if out.is_dir() and any(out.iterdir()):
            raise DatasetMismatchError(f"{out} is not empty and holds no dataset ({MANIFEST}): "
                                       "give a new or empty folder")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))
        return False
    found = differences(old, manifest)
    if found:
        raise DatasetMismatchError(f"{out} holds another run: " + "; ".join(found) +
                                   ". Write to another folder, or finish that run with its own settings "
                                   "(resume_dataset(DIR); handwrite dataset --resume --out DIR)")
    return True


def settings_of(out) -> DatasetSettings:
    """The settings of the run in OUT (to resume it as it was)."""
    old = read_manifest(out)
    if old is None:
        raise DatasetMismatchError(f"{out}: no dataset to resume (no {MANIFEST})")
    return DatasetSettings.from_dict({**old["settings"], "out": str(out)})
