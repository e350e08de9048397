"""One shard, start to finish, in whatever process runs it (this one, a process of the
pool, a Ray worker): the writer loads once per process and is kept for its next shards.
"""
from __future__ import annotations

from pathlib import Path

from .samples import load_hands, shard_rows
from .settings import DatasetSettings
from .shards import save_shard

_CACHE: dict = {}      # (weights, precision, check_words, hands, style_files) -> (writer, hands)


def init_process() -> None:
    """A worker process: one thread, as the processes already fill the cores."""
    import torch
    torch.set_num_threads(1)


def writer_for(settings: DatasetSettings):
    """(Writer, {hand name: style}) for the settings, loaded once per process."""
    key = (settings.weights, settings.precision, settings.check_words, settings.hands, settings.style_files)
    if key not in _CACHE:
        from ..writer import Writer
        writer = Writer(settings.weights, precision=settings.precision)
        _CACHE.clear()            # one run's writer at a time
        _CACHE[key] = (writer.with_options(check_words=settings.check_words), load_hands(settings))
    return _CACHE[key]


def run_shard(settings: dict | DatasetSettings, shard: int, items: list) -> dict:
    """Write shard `shard` of the run (items: its [(line number, text)]): its done record."""
    if isinstance(settings, dict):
        settings = DatasetSettings.from_dict(settings)
    writer, hands = writer_for(settings)
    rows, stats = shard_rows(writer, settings, hands, shard, items)
    return save_shard(Path(settings.out), settings, shard, rows, stats)
