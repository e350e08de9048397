"""How long the reader takes to read a line, on one core.

    python benchmarks/bench_reader.py [--reader R.safetensors] [--repeat 20]

Writes a 40-character line with the bundled model (fixed seed), then times
`Reader.read` of it (frames + network + decoding) and `Reader.score` of its text, one
thread, best of --repeat.  The issue's target: a 40-character line in <= 10 ms.
Also times reading 8 such lines in one call (`read_many`), per line.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import timeit  # noqa: E402

from handwrite import Writer  # noqa: E402
from handwrite.reader import Reader, ink_frames  # noqa: E402

LINE = "The quick brown fox jumps over a lazy dog"[:40]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader", default=None)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    hw = Writer().write(LINE, seed=1)
    reader = Reader(args.reader)
    print(f"read as: {reader.read(hw)!r}  (written: {LINE!r})")
    frames = ink_frames(hw, reader.net.cfg.spacing)
    print(f"{len(hw.points)} pen points -> {len(frames)} frames")
    t_frames = timeit(lambda: ink_frames(hw, reader.net.cfg.spacing), repeat=args.repeat)
    t_read = timeit(lambda: reader.read(hw), repeat=args.repeat)
    t_score = timeit(lambda: reader.score(hw, LINE), repeat=args.repeat)
    t_many = timeit(lambda: reader.read_many([hw] * 8), repeat=max(3, args.repeat // 4)) / 8
    print(f"frames only        {1000 * t_frames:7.2f} ms")
    print(f"read (one line)    {1000 * t_read:7.2f} ms   target <= 10 ms")
    print(f"score (one line)   {1000 * t_score:7.2f} ms")
    print(f"read_many of 8     {1000 * t_many:7.2f} ms per line")


if __name__ == "__main__":
    main()
