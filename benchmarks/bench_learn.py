"""How long `Writer.learn` takes: a hand learned from 1 and from 3 lines.

    python benchmarks/bench_learn.py [--threads 1 2] [--repeat 2]

The primer lines are a model-made stand-in writer (three lines the model wrote in the
"narrow" preset, seed 0; never IAM strokes).  Per thread count and line count: the best
wall time of `repeat` learnings, the steps run, the primer NLL per point before and after,
and the hand file's size.  The issue's target: 3 lines <= 60 s on the 2-core CPU.
"""
import argparse
import os
import tempfile
import time

import torch

from handwrite import Style, Writer

TEXTS = ["Seven quiet mornings by the harbour", "we counted boats and wrote letters",
         "to friends who never came back home"]


def stand_in(writer: Writer, preset: str = "narrow", seed: int = 0) -> Style:
    """Three lines the model wrote in a preset hand, as one style."""
    hw = writer.with_options(check_words=False).write("\n".join(TEXTS), style=preset, seed=seed)
    return Style.from_lines([Style.from_handwriting(hw, line=k).lines[0] for k in range(len(TEXTS))], name=preset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    writer = Writer()
    style = stand_in(writer)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for n in (1, 3):
            one = Style.from_lines(style.lines[:n], name=style.name)
            best, learned = float("inf"), None
            for _ in range(args.repeat):
                t = time.perf_counter()
                learned = writer.learn(one)
                best = min(best, time.perf_counter() - t)
            with tempfile.TemporaryDirectory() as tmp:
                size = learned.save(os.path.join(tmp, "me.hand")).stat().st_size
            s = learned.info["learned"]
            print(f"{threads} thread(s), {n} line(s): {best:5.1f} s ({s['steps']} steps), NLL per point "
                  f"{s['nll_before']:.2f} -> {s['nll_after']:.2f}, hand file {size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
