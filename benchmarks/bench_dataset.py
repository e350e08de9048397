"""Checked lines a second: `handwrite dataset` beside `handwrite batch`, in one run, on the
same 40-character lines, the word check on in both.

    python benchmarks/bench_dataset.py [--lines 256] [--workers 2] [--out /tmp/bench-dataset] [--no-batch]

batch: today's `handwrite batch` path (`request.run_batch` in chunks of 64 lines, one
process, one hand, a PNG per line and labels.tsv; a line still misread is kept).
dataset: `make_dataset` with its defaults (a process per core, precision "fastest", many
hands, a line still misread written again once, then dropped), Parquet and images.
Reported: lines written a second (wall clock, process start-up and model loading
included for the dataset) and lines kept (read right) a second; and whether every row
of the dataset, read back with pyarrow and with Hugging Face datasets, has its line's text.
Also the CPU seconds each used (the pool's processes included): on a machine shared with
other work, lines per CPU second times the cores says what the cores would give alone.
The CPU's kind and the dataset's kernels (`precision="fastest"`) head the output: the
figures depend on both (docs/speed.md).
The lines are made of common words, not taken from any corpus.  --no-batch: the dataset
alone (a long run's figure; the side-by-side comparison comes from a shorter run).
"""
import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

WORDS = ("the of and to in is was that for on with as his he at by it from this had not are but be have you "
         "which one were all we her she there been an their has would more when will if no out so said what up "
         "its about into than them can only other new some could time these two may then do first any my now "
         "such like our over man me even most made after also did many before must through back years where much "
         "your way well down should because each just those people how too little state good very make world "
         "still own see men work long get here between both life being under never day same another know while "
         "last might us great old year off come since against go came right used take three").split()


def forty_char_lines(n: int, seed: int = 0) -> list[str]:
    """n lines of common words, each exactly 40 characters (the last word padded by choice)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        line = ""
        while len(line) < 40:
            line = (line + " " + WORDS[rng.integers(len(WORDS))]).strip()
        if len(line) == 40:
            out.append(line)
    return out


def bench_batch(texts: list[str], out: Path) -> dict:
    from handwrite import Writer
    from handwrite.batch import save_chunks
    from handwrite.request import WriteRequest, run_batch
    torch.set_num_threads(1)
    start, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    writer = Writer()
    requests = [WriteRequest(text=t, seed=0, width=75) for t in texts]
    kept = [0]

    def chunks():
        for chunk in run_batch(writer, requests, 64):
            kept[0] += sum(not hw.info["misread_words"] for _, hw in chunk)
            yield chunk
    save_chunks(chunks(), len(texts), out, "png")
    wall, cpu = time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu
    return {"lines": len(texts), "seconds": wall, "lines_per_s": len(texts) / wall, "read_right": kept[0],
            "read_right_per_s": kept[0] / wall, "cpu_seconds": cpu, "read_right_per_cpu_s": kept[0] / cpu}


def _cpu(who) -> float:
    """CPU seconds used so far by this process (RUSAGE_SELF) or its finished children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bench_dataset(texts: list[str], out: Path, workers: int) -> dict:
    from handwrite.dataset import DatasetSettings, make_dataset
    path = out.parent / "texts.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    start, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    summary = make_dataset(DatasetSettings(texts=str(path), out=str(out), lines=len(texts), workers=workers,
                                           progress=False))
    wall = time.perf_counter() - start
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu        # the pool's processes included
    return {"lines": len(texts), "seconds": wall, "lines_per_s": len(texts) / wall, "cpu_seconds": cpu,
            "kept_per_cpu_s": summary["written"] / cpu, "kept": summary["written"],
            "kept_per_s": summary["written"] / wall, "dropped": summary["dropped"], "rewritten": summary["rewritten"],
            "labels_match": labels_match(out, texts)}


def labels_match(out: Path, texts: list[str]) -> bool:
    """Every row, read with pyarrow and with Hugging Face datasets, is labelled with the
    text of its line."""
    import pyarrow.parquet as pq
    rows = pq.read_table(out / "data", columns=["line", "text"]).to_pylist()
    ok = all(r["text"] == texts[r["line"]] for r in rows)
    try:
        import datasets
        loaded = datasets.load_dataset("parquet", data_dir=str(out), split="train")
        ok = ok and all(t == texts[i] for i, t in zip(loaded["line"], loaded["text"])) and len(loaded) == len(rows)
    except ImportError:
        pass
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--no-batch", action="store_true", help="the dataset alone, without `handwrite batch` beside it")
    args = ap.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="bench-dataset-"))
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    texts = forty_char_lines(args.lines)
    from handwrite import cpu
    from handwrite.sampling import fastest_plan
    result = {"cpu": cpu.kind(), "dataset's kernels (one line, batches)": fastest_plan()}
    if not args.no_batch:
        result["batch (1 process)"] = bench_batch(texts, root / "batch")
    result[f"dataset ({args.workers} processes)"] = bench_dataset(texts, root / "dataset", args.workers)
    print(json.dumps(result, indent=1))
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
