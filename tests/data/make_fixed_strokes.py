"""Writes tests/data/fixed_strokes.npz: strokes of the bundled model for fixed seeds.

Made once, before the refactor of issue #17; test_fixed_strokes.py checks that the same
calls still give the same points (bit for bit on the CPU kind that made it).  Rerun only when the model or the sampling
is meant to change.
"""
from pathlib import Path

import numpy as np

CASES = {
    # name: (texts, keyword arguments of Writer.write_many)
    "default_style": (["Bit for bit"], {"seed": 3}),
    "free_style": (["Free hand\nsecond line"], {"seed": 5, "style": "free"}),
    "preset_by_name": (["Named preset"], {"seed": 7, "style": "slanted", "bias": 1.0}),
    "batched": (["one line", "two lines here", "and a third\nwith a break"], {"seed": 11}),
}


def write_cases():
    from handwrite import Writer
    from handwrite.options import WriterOptions
    # fp32: the same strokes on every CPU; no word check: these test the sampler, the check is a
    # policy on top of it (tests/test_wordcheck.py)
    writer = Writer(options=WriterOptions(precision="fp32", check_words=False))
    return {f"{name}_{i}": hw.points for name, (texts, kw) in CASES.items()
            for i, hw in enumerate(writer.write_many(texts, **kw))}


if __name__ == "__main__":
    np.savez_compressed(Path(__file__).with_name("fixed_strokes.npz"), **write_cases())
