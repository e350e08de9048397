"""What the word check costs: the same texts written with and without it, in one run.

    python benchmarks/bench_wordcheck.py [--reader R.safetensors] [--rounds 3] [--seeds 3]

A 40-character line and an 8-line paragraph, default hand, `Writer.write` with
check_words on and off, interleaved in rounds; per case the median time over seeds of
the best round, the ratio on/off, and the words the check wrote again or left misread.
The issue's target: on/off <= 1.5 for both.
"""
import argparse
import statistics
import time

from handwrite import Writer
from handwrite.reader import Reader

LINE = "The quick brown fox jumps over a lazy dog"[:40]
PARAGRAPH = ("Dear Anna, thank you for the lovely book.\nI read it on the train to Leeds and could\n"
             "not put it down. The garden is full of\nflowers now and the children play outside\n"
             "until dark. Next week we visit my sister\nin Bristol, then we go walking in Wales.\n"
             "Write soon and tell me all your news.\nWith love from all of us, Maria")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--candidates", type=int, default=None, help="word_candidates (default: the option's default)")
    ap.add_argument("--word-rounds", type=int, default=None, help="word_rounds (default: the option's default)")
    args = ap.parse_args()
    on = Writer(reader=Reader(args.reader) if args.reader else "bundled")
    changes = {k: v for k, v in (("word_candidates", args.candidates), ("word_rounds", args.word_rounds)) if v is not None}
    on = on.with_options(**changes) if changes else on
    if on.reader is None:
        raise SystemExit("no reader: install the bundled one or pass --reader")
    off = on.with_options(check_words=False)
    for name, text in (("40-char line", LINE), ("8-line paragraph", PARAGRAPH)):
        on.write(text, seed=0, width=60)          # warm up: the primer's prefix, the reader
        best = {"off": {}, "on": {}}
        info = {}
        for _ in range(args.rounds):
            for seed in range(args.seeds):
                for label, writer in (("off", off), ("on", on)):
                    t = time.perf_counter()
                    hw = writer.write(text, seed=seed, width=60)
                    took = time.perf_counter() - t
                    best[label][seed] = min(best[label].get(seed, took), took)
                    if label == "on":
                        info[seed] = (hw.info["rewritten_words"], len(hw.info["misread_words"]))
        t_off = statistics.median(best["off"].values())
        t_on = statistics.median(best["on"].values())
        words = len(text.split())
        rewritten = sum(r for r, _ in info.values()) / len(info)
        misread = sum(m for _, m in info.values()) / len(info)
        print(f"{name:18s} off {t_off:6.2f} s   on {t_on:6.2f} s   on/off {t_on / t_off:4.2f}   "
              f"per text: {words} words, {rewritten:.1f} written again, {misread:.1f} left misread")


if __name__ == "__main__":
    main()
