"""`handwrite eval --htr`: readers trained on generated, real and both, reading real held-out writers.

End to end on a tiny IAM-layout folder (synthetic strokes, conftest) and a tiny reader.
"""
import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from handwrite.reader import ReaderConfig  # noqa: E402
from handwrite.training.evaluate_htr import SETS, HTRConfig, evaluate_htr, format_htr_report  # noqa: E402


def test_three_readers_are_trained_and_read_the_real_held_out_writers(tiny_iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    cfg = HTRConfig(data=str(tiny_iam), work=str(tmp_path / "htr"), lines=4, bias=(0.3, 0.5), epochs=1,
                    batch_size=4, check_words=False, curve_every=1, workers=1,
                    model=ReaderConfig(channels=8, hidden=8, layers=1, dropout=0.0))
    result = evaluate_htr(cfg, progress=False)
    assert result["generated_lines"] == 4 and result["val_lines"] > 0
    assert set(result["cer"]) == set(SETS) and all(0 <= c for c in result["cer"].values())
    runs = result["runs"]
    assert runs["real+generated"]["train_lines"] == runs["real"]["train_lines"] + runs["generated"]["train_lines"]
    assert "trained on generated" in format_htr_report(result)
    log = [json.loads(ln) for ln in (tmp_path / "htr" / "htr-log.jsonl").read_text().splitlines()]
    assert [ln["set"] for ln in log if "val_cer" in ln] == list(SETS)
    # the curve: read along the way, logged, and the final figure still read once at the end
    curve = [ln for ln in log if "curve" in ln]
    assert {ln["set"] for ln in curve} == set(SETS)
    assert all(0 <= ln["curve"]["val_cer"] and ln["step"] <= runs[ln["set"]]["steps"] for ln in curve)
    # the generated lines were written at the bias asked for, in a folder of their own
    manifest = json.loads((tmp_path / "htr" / "generated-4-bias0.3-0.5" / "manifest.json").read_text())
    assert manifest["settings"]["bias"] == [0.3, 0.5] and "bias 0.3-0.5" in format_htr_report(result)
    texts = (tmp_path / "htr" / "train-texts.txt").read_text().splitlines()
    assert texts


def test_generated_lines_can_be_primed_by_the_training_writers(tiny_iam, tmp_path, monkeypatch):
    from handwrite.dataset.table import read_rows
    from handwrite.styles import Style
    from handwrite.training.dataset import writer_split
    from handwrite.training.iam import read_iam
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    cfg = HTRConfig(data=str(tiny_iam), work=str(tmp_path / "htr"), lines=4, hands="writers", epochs=1,
                    batch_size=4, check_words=False, workers=1, sets=("generated",),
                    model=ReaderConfig(channels=8, hidden=8, layers=1, dropout=0.0))
    result = evaluate_htr(cfg, progress=False)
    assert "primed by one line of each training writer" in format_htr_report(result)
    lines, _ = read_iam(tiny_iam, warn=False)
    train_idx, _, val_writers = writer_split([ln.writer_id for ln in lines])
    train_writers = {lines[i].writer_id for i in train_idx}
    out = tmp_path / "htr" / "generated-4-writers"
    manifest = json.loads((out / "manifest.json").read_text())
    primers = [Path(p) for p in manifest["settings"]["style_files"]]
    # one primer per training writer, none of a held-out writer, each one of that writer's lines
    assert manifest["settings"]["hands"] == [] and sorted(p.stem for p in primers) == sorted(
        f"writer-{w}" for w in train_writers)
    assert val_writers and not set(val_writers) & {p.stem.removeprefix("writer-") for p in primers}
    texts_by_writer = {}
    for ln in lines:
        texts_by_writer.setdefault(ln.writer_id, set()).add(ln.text)
    for p in primers:
        assert Style.from_file(p).text in texts_by_writer[p.stem.removeprefix("writer-")]
    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in read_rows(f)]
    assert rows and all(r["hand"].startswith("file:") for r in rows)
    # a second run primes with the same lines
    before = {p: p.read_bytes() for p in primers}
    evaluate_htr(cfg, progress=False)
    assert {p: p.read_bytes() for p in primers} == before
    # another seed would draw other primers and texts: it is sent to a work folder of its own
    for change in ({"seed": 1}, {"real_lines": 3}):
        with pytest.raises(ValueError, match="give another work folder"):
            evaluate_htr(HTRConfig(**{**cfg.__dict__, **change}), progress=False)
    assert {p: p.read_bytes() for p in primers} == before


def test_an_unknown_choice_of_hands_is_named(tiny_iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    cfg = HTRConfig(data=str(tiny_iam), work=str(tmp_path / "htr"), lines=4, hands="people", workers=1)
    with pytest.raises(ValueError, match="hands 'people'"):
        evaluate_htr(cfg, progress=False)


def test_a_reader_cut_off_goes_on_where_it_stood_and_ends_as_an_uncut_one(tmp_path, monkeypatch):
    """fit checkpoints every CHECKPOINT_EVERY batches and on Ctrl-C: a run stopped mid-epoch
    and started again trains the same batches with the same draws (the same figures as a
    run never stopped), and a finished reader is not trained again."""
    import numpy as np

    from handwrite.alphabet import Alphabet
    from handwrite.reader import ink_frames
    from handwrite.training import evaluate_htr as htr
    from handwrite.training.train_reader import FrameSet
    rng = np.random.default_rng(0)
    texts = ["ab", "ba", "aab", "abb", "bab", "aa"] * 3
    strokes = [[np.cumsum(rng.normal(size=(12 * len(t), 2)), axis=0)] for t in texts]
    data = FrameSet([ink_frames(s, 0.15) for s in strokes], texts, ["w"] * len(texts))
    alphabet = Alphabet(" ab")
    monkeypatch.setattr(htr, "CHECKPOINT_EVERY", 2)

    def fit(work, log):
        cfg = HTRConfig(data="-", work=str(work), epochs=2, batch_size=4,
                        model=ReaderConfig(channels=8, hidden=8, layers=1, dropout=0.2))
        return htr.fit(data, data, alphabet, cfg, "real+generated", log)
    (tmp_path / "uncut").mkdir()
    (tmp_path / "cut").mkdir()
    whole = fit(tmp_path / "uncut", lambda line: None)
    steps = []
    train_step = htr.train_step

    def cut_after_three(*args):
        if len(steps) == 3:
            raise KeyboardInterrupt
        steps.append(1)
        return train_step(*args)
    monkeypatch.setattr(htr, "train_step", cut_after_three)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "cut", lambda line: None)
    assert (tmp_path / "cut" / "reader-real-generated.checkpoint.pt").is_file()
    monkeypatch.setattr(htr, "train_step", train_step)
    resumed = fit(tmp_path / "cut", lambda line: None)
    assert resumed["steps"] == whole["steps"] == 10
    assert resumed["val_loss"] == whole["val_loss"] and resumed["val_cer"] == whole["val_cer"]
    monkeypatch.setattr(htr, "train_step", None)            # finished: its figures, no training
    assert fit(tmp_path / "cut", lambda line: None)["val_loss"] == whole["val_loss"]
