"""Streaming: time to the first stroke against the time of the whole text.

    python benchmarks/bench_stream.py [--weights W.safetensors] [--repeat 3]

`Writer.stream` (what `handwrite serve` sends to the page) yields points while the
network draws; a user sees the pen start after the first event instead of after the
whole line.  Measured for one 40-character line and a 3-line paragraph, in the default
style: the time to the first point, to the end of the stream, and `write` for the same
text; prints the ratios (first stroke / whole, stream / write: the cost of streaming).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from handwrite.writer import Writer, WritingPoints  # noqa: E402

TEXTS = {"one line": "The quick brown fox jumps over a lazy dog"[:40],
         "paragraph": "Handwriting synthesis turns text into pen strokes, line by line, as you watch it."}


def run_stream(writer, text):
    start = time.perf_counter()
    first = None
    for event in writer.stream(text, seed=1):
        if first is None and isinstance(event, WritingPoints) and len(event.points):
            first = time.perf_counter() - start
    return first, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    writer = Writer(args.weights)
    writer.write("warm up", seed=0)
    print(f"{'text':<10} {'first stroke':>13} {'whole stream':>13} {'write':>8} {'first/whole':>12} {'stream/write':>13}")
    for name, text in TEXTS.items():
        runs = [run_stream(writer, text) for _ in range(args.repeat)]
        first = min(r[0] for r in runs)
        whole = min(r[1] for r in runs)
        write = min(_timed(lambda: writer.write(text, seed=1)) for _ in range(args.repeat))
        print(f"{name:<10} {first * 1e3:>10.0f} ms {whole * 1e3:>10.0f} ms {write * 1e3:>5.0f} ms "
              f"{first / whole:>12.3f} {whole / write:>13.2f}")


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
