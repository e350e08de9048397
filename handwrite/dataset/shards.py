"""A shard's files, written so that a killed run never leaves half of one that counts.

    DIR/data/train-00003-of-00010.parquet    the rows (Hugging Face's file naming)
    DIR/images/shard-00003/00000384.png       the pictures, and the shard's gt.txt
    DIR/done/shard-00003.json                 written last: the shard is done

Each file is written to a temporary name, synced and renamed into place; the pictures
go to a temporary folder renamed whole.  Only a shard with its `done` record counts;
a resumed run writes any other shard again, over whatever it left.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..fileio import atomic_write_bytes

GT = "gt.txt"


def parquet_path(out: Path, shard: int, shards: int) -> Path:
    return Path(out) / "data" / f"train-{shard:05d}-of-{shards:05d}.parquet"


def image_dir(out: Path, shard: int) -> Path:
    return Path(out) / "images" / f"shard-{shard:05d}"


def done_path(out: Path, shard: int) -> Path:
    return Path(out) / "done" / f"shard-{shard:05d}.json"


def done_shards(out: Path) -> dict[int, dict]:
    """{shard: its counts} of the finished shards."""
    found = {}
    for path in sorted((Path(out) / "done").glob("shard-*.json")):
        try:
            found[int(path.stem.split("-")[1])] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue           # not one of ours, or unreadable: the shard is written again
    return found


def save_shard(out: Path, settings, shard: int, rows: list, stats: dict) -> dict:
    """Write the shard's files, then its done record (last).  OSError (a full disk, no
    permission) with a message naming the shard and the cause; the shard is then not done."""
    out = Path(out)
    try:
        if "images" in settings.formats:
            _save_images(out, shard, rows)
        if "parquet" in settings.formats:
            from .table import rows_to_parquet
            path = parquet_path(out, shard, settings.shards)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, rows_to_parquet(rows, image_paths=[_image_name(shard, r) for r in rows]))
        record = {**stats, "rows": len(rows), "shard": shard}
        done_path(out, shard).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(done_path(out, shard), json.dumps(record).encode("utf-8"))
        return record
    except OSError as e:
        why = e.strerror or str(e)
        raise OSError(e.errno, f"could not write shard {shard} to {out}: {why}; the shard is not marked done "
                               "and a resumed run writes it again") from None


def _image_name(shard: int, row: dict) -> str:
    return f"shard-{shard:05d}/{row['id']}.png"


def _save_images(out: Path, shard: int, rows: list) -> None:
    """The shard's pictures and gt.txt into a temporary folder, synced, renamed into place."""
    final = image_dir(out, shard)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        lines = []
        for row in rows:
            name = f"{row['id']}.png"
            _write_synced(tmp / name, row["image"])
            lines.append(f"{name}\t{row['text']}\n")
        _write_synced(tmp / GT, "".join(lines).encode("utf-8"))
        if final.exists():            # left by a run killed before this shard's done record
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_gt(out: Path, shards: list[int]) -> Path:
    """DIR/images/gt.txt (image<TAB>label, paths from DIR/images) of the finished shards,
    streamed from their own gt.txt files and renamed into place whole."""
    out = Path(out)
    target = out / "images" / GT
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gt.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for shard in shards:
                folder = image_dir(out, shard)
                with open(folder / GT, encoding="utf-8") as part:
                    for line in part:
                        f.write(f"{folder.name}/{line}")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
