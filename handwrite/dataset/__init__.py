"""Training data for handwriting recognisers (`handwrite dataset`, docs/dataset.md).

    from handwrite.dataset import DatasetSettings, make_dataset
    make_dataset(DatasetSettings(texts="lines.txt", out="data/synth", lines=10_000))

Lines of a text file written in many hands, each label checked by the bundled reader
(a line still misread is written again, then dropped and counted), as Parquet shards
(pyarrow, Hugging Face `datasets`) and an image folder with gt.txt, with a manifest of
everything that made them.  Resumable, the same for the same seed, spread over every
core or a Ray cluster.

Modules: `settings` (plain data), `texts` (the text file as a stream), `samples` (a
shard's rows), `images` (a sample's look and picture), `table` (Parquet), `shards`
(files written atomically), `manifest`, `worker` (one shard in any process), `run`
(the run), `ray_run` (Ray tasks).
"""
from .manifest import DatasetMismatchError, read_manifest
from .run import make_dataset, resume_dataset
from .settings import DatasetSettings

__all__ = ["DatasetSettings", "make_dataset", "resume_dataset", "DatasetMismatchError", "read_manifest"]
