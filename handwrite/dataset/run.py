"""`make_dataset`: a run from its settings to its finished folder, the shards spread over
this process, a process per core, or a Ray cluster.
"""
from __future__ import annotations

import json
import os
from contextlib import closing
from pathlib import Path

from ..fileio import atomic_write_bytes
from .manifest import build_manifest, claim_folder, settings_of
from .samples import hand_names
from .settings import DatasetSettings
from .shards import done_shards, write_gt
from .texts import TextCounts, shard_texts, usable_lines
from .worker import init_pool_process, run_shard

SUMMARY = "summary.json"


def default_workers() -> int:
    """A process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def make_dataset(settings: DatasetSettings, *, ray: str | None = None) -> dict:
    """Write (or finish) the dataset the settings describe; its summary (counts).

    ray: None runs on this machine (`settings.workers` processes, default one per core;
    1 runs in this process); "auto" or a cluster's address runs every shard as a Ray task
    (each writing into `settings.out`, which must then be a folder every node sees), and
    "local" starts Ray on this machine.  A folder that holds this very run already is
    resumed (finished shards are skipped); one that holds another run is a
    `DatasetMismatchError` naming what differs.
    """
    from ..weights import load_weights
    settings = _absolute(settings)
    out = Path(settings.out)
    manifest = build_manifest(settings)
    alphabet = load_weights(settings.weights).alphabet
    _check_texts(settings, alphabet)
    _check_hands(settings)
    claim_folder(out, manifest)
    done = done_shards(out)
    counts = TextCounts()
    todo = ((shard, items) for shard, items in
            shard_texts(settings.texts, alphabet, settings.lines, settings.shard_lines, strict=settings.strict,
                        max_chars=settings.max_chars, counts=counts)
            if shard not in done)
    with _progress(settings, sum(r.get("lines", 0) for r in done.values())) as bar:
        for record in _runner(settings, ray)(settings, todo):
            done[record["shard"]] = record
            bar.update(record["lines"])
            bar.set_postfix(rows=sum(r["rows"] for r in done.values()),
                            dropped=sum(r["dropped"] for r in done.values()))
    return _finish(settings, done, counts)


def _absolute(settings: DatasetSettings) -> DatasetSettings:
    """The settings with absolute paths: another process (a Ray worker on another node)
    may not start in this one's folder.  Files are compared by digest, so resuming from
    elsewhere still matches."""
    def full(path):
        return None if path is None else str(Path(path).expanduser().resolve())
    return settings.replace(texts=full(settings.texts), out=full(settings.out), weights=full(settings.weights),
                            style_files=tuple(full(p) for p in settings.style_files))


def _check_texts(settings: DatasetSettings, alphabet) -> None:
    """ValueError now, before the folder is claimed, for a text file with nothing to write."""
    with closing(usable_lines(settings.texts, alphabet, strict=settings.strict, max_chars=settings.max_chars)) as lines:
        if next(lines, None) is None:
            list(shard_texts(settings.texts, alphabet, 1, 1, max_chars=settings.max_chars))   # raises, saying why


def _check_hands(settings: DatasetSettings) -> None:
    """ValueError now, before the folder is claimed, naming a hand that cannot be loaded."""
    from ..options import TextMissing
    from ..styles import Style
    hand_names(settings)                     # an unknown preset: ValueError naming it
    for path in settings.style_files:
        try:
            Style.from_file(path)
        except TextMissing:
            raise ValueError(f"{path}: the file does not say what its strokes read, and a dataset's hand "
                             "files must (handwrite .json, a .hand, or InkML with its text)") from None


def resume_dataset(out, *, workers: int | None = None, ray: str | None = None, progress: bool = True) -> dict:
    """Finish the run in OUT with the settings its manifest records."""
    settings = settings_of(out).replace(workers=workers, progress=progress)
    return make_dataset(settings, ray=ray)


def _runner(settings: DatasetSettings, ray: str | None):
    if ray is not None:
        from .ray_run import ray_runner
        return ray_runner(ray)
    workers = settings.workers or default_workers()
    return _in_process if workers == 1 else _pool


def _in_process(settings: DatasetSettings, todo):
    for shard, items in todo:
        yield run_shard(settings, shard, items)


def _pool(settings: DatasetSettings, todo):
    """Shards as tasks of a process pool, a few queued per process (the texts are read as
    the pool takes them, never all at once)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    workers = settings.workers or default_workers()
    # spawn: a fresh interpreter per process, no copy of this one's torch threads or locks
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=init_pool_process) as pool:
        pending = set()
        try:
            for shard, items in todo:
                pending.add(pool.submit(run_shard, settings.to_dict(), shard, items))
                if len(pending) >= 2 * workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in finished)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in finished)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)     # stop now: the shards in progress are lost
            raise


def _progress(settings: DatasetSettings, initial: int):
    from tqdm import tqdm
    return tqdm(total=settings.lines, initial=initial, unit="line", desc="dataset", disable=not settings.progress,
                smoothing=0.1)


def _finish(settings: DatasetSettings, done: dict, counts: TextCounts) -> dict:
    """gt.txt of every shard's pictures and DIR/summary.json: the run's counts."""
    out = Path(settings.out)
    shards = sorted(done)
    if "images" in settings.formats and shards:
        write_gt(out, shards)
    keys = ("lines", "written", "rewritten", "dropped", "no_words", "rows")
    summary = {**{k: sum(done[s].get(k, 0) for s in shards) for k in keys},
               "shards": len(shards), "texts": counts.to_dict()}
    atomic_write_bytes(out / SUMMARY, (json.dumps(summary, indent=1) + "\n").encode("utf-8"))
    return summary
