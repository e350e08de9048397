"""Shards as Ray tasks (`pip install 'handwrite-synthesis[ray]'`): many machines, one
dataset folder they all see (a shared file system).  Each task writes its own shard's
files atomically, so a task Ray retries after a lost node writes them again harmlessly.
"""
from __future__ import annotations

from .worker import init_process, run_shard


def _task(settings: dict, shard: int, items: list) -> dict:
    init_process()
    return run_shard(settings, shard, items)


def connect(address: str) -> None:
    """Join the cluster at `address` ("auto": the one this machine belongs to; "local":
    start one here), unless this process has joined one already."""
    try:
        import ray
    except ImportError:
        raise ValueError("running on Ray needs it installed: pip install 'handwrite-synthesis[ray]'") from None
    if ray.is_initialized():
        return
    if address == "local":
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def ray_runner(address: str):
    """A runner (settings, shards) -> done records, the shards run as Ray tasks."""
    def run(settings, todo):
        import ray
        connect(address)
        task = ray.remote(num_cpus=1, max_retries=2)(_task)
        # a few tasks queued per CPU of the cluster: the texts are read as tasks are taken
        limit = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending = []
        for shard, items in todo:
            pending.append(task.remote(settings.to_dict(), shard, items))
            if len(pending) >= limit:
                finished, pending = ray.wait(pending, num_returns=1)
                yield ray.get(finished[0])
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield ray.get(finished[0])
    return run
