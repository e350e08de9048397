"""What checking capitals costs: `WriterOptions.check_capitals` on and off, in one process.

    python benchmarks/bench_capitals.py [--rounds 3] [--seeds 4]

Writes, for seeds 0..N-1, with the default style: one word with a checked capital (E, H,
K), the same in small letters, a heading and a sentence holding them (longer than
WriterOptions.checked_words: not checked), as single lines, and the capitals gallery's 26 words
(docs/make_capitals.py) as one batch.  Prints per case the mean over seeds of each seed's
best time, check on and off, interleaved in rounds (compare the ratios; the machine may
be shared), and how many lines were written again (the rest of the time the check costs
is reading the checked lines back: one batched teacher-forced read per batch).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "docs"))
from make_capitals import WORDS  # noqa: E402

from handwrite import Writer  # noqa: E402
from handwrite.drafts import Check  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--seeds", type=int, default=4)
parser.add_argument("--precision", default="auto")
args = parser.parse_args()

CASES = {"one word with E": ["Evening"],
         "one word without capitals": ["evening"],
         "heading with E, H, K": ["Every Kettle Hums"],
         "sentence with E, H, K": ["Every Kettle Hums at Home."],
         "26 gallery words, one batch": WORDS}
attempts = []
base = Writer(precision=args.precision)
original = next(c for c in base.pipeline.checks if c.name == "capitals_clear")


def counting(drafts, reader):
    attempts.append(len(drafts))
    return original.judge(drafts, reader)


counted = base.with_options(pipeline=base.pipeline.replacing(
    "capitals_clear", Check("capitals_clear", counting, original.option, original.retries)))
writers = {check: counted.with_options(check_capitals=check) for check in (True, False)}
counted.write("Warm up the caches.", seed=0)
best = {}
again = {}
for round_ in range(args.rounds):
    for name, texts in CASES.items():
        for check in (True, False):
            for seed in range(args.seeds):
                attempts.clear()
                t = time.perf_counter()
                writers[check].write_many(texts, seed=seed)
                dt = time.perf_counter() - t
                key = (name, check, seed)
                best[key] = min(best.get(key, float("inf")), dt)
                if check:
                    again[(name, seed)] = sum(attempts[1:])     # lines scored after the first attempt
print(f"precision {args.precision}; mean over seeds 0-{args.seeds - 1} of the best of {args.rounds} rounds")
for name, texts in CASES.items():
    on = sum(best[(name, True, s)] for s in range(args.seeds)) / args.seeds
    off = sum(best[(name, False, s)] for s in range(args.seeds)) / args.seeds
    rewritten = sum(again[(name, s)] for s in range(args.seeds)) / args.seeds
    print(f"{name:28s}: check on {on:6.2f} s, off {off:6.2f} s ({on / off:.2f}x); "
          f"lines written again per call: {rewritten:.1f} of {len(texts)}")
