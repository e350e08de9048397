"""One shard, start to finish, in whatever process runs it (this one, a process of the
pool, a Ray worker): the writer loads once per process and is kept for its next shards.
"""
from __future__ import annotations

from pathlib import Path

from .samples import load_hands, shard_rows
from .settings import DatasetSettings
from .shards import save_shard

# Candidates a misread word is written again as (the writer's default: 4).  A line whose
# word stays misread is written again whole or dropped, so two, each read in its line,
# keep more lines a second than four (docs/dataset.md, session 21).
WORD_CANDIDATES = 2
# ... for this many rounds (the writer's default: 6): a row whose word stays misread is
# rewritten or dropped anyway, so later rounds buy the dataset less than the page.
WORD_ROUNDS = 3

_CACHE: dict = {}      # (weights, precision, check_words, hands, style_files) -> (writer, hands)


def init_process() -> None:
    """A worker process: one thread, as the processes already fill the cores."""
    import torch
    torch.set_num_threads(1)


def init_pool_process() -> None:
    """A process of this machine's pool: `init_process`, and it ends with the run."""
    init_process()
    end_with_parent()


def end_with_parent() -> None:
    """Ask Linux to end this process when the process that started it ends.  A run stopped
    by a signal its Python does not catch (`kill`, a scheduler's SIGTERM) left its pool's
    processes writing shards nobody waits for; Ctrl-C reaches the whole process group and
    needs none of this.  Not for Ray's workers: Ray ends them itself, and the signal would
    follow the raylet thread that started them.  Elsewhere than Linux this does nothing."""
    import ctypes
    import multiprocessing
    import os
    import signal
    import sys
    if not sys.platform.startswith("linux"):
        return
    try:
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)                 # the run ended before the request was made


def writer_for(settings: DatasetSettings):
    """(Writer, {hand name: style}) for the settings, loaded once per process."""
    key = (settings.weights, settings.precision, settings.check_words, settings.hands, settings.style_files)
    if key not in _CACHE:
        from ..writer import Writer
        writer = Writer(settings.weights, precision=settings.precision)
        _CACHE.clear()            # one run's writer at a time
        _CACHE[key] = (writer.with_options(check_words=settings.check_words, word_candidates=WORD_CANDIDATES,
                                           word_rounds=WORD_ROUNDS),
                       load_hands(settings))
    return _CACHE[key]


def run_shard(settings: dict | DatasetSettings, shard: int, items: list) -> dict:
    """Write shard `shard` of the run (items: its [(line number, text)]): its done record."""
    if isinstance(settings, dict):
        settings = DatasetSettings.from_dict(settings)
    writer, hands = writer_for(settings)
    rows, stats = shard_rows(writer, settings, hands, shard, items)
    return save_shard(Path(settings.out), settings, shard, rows, stats)
