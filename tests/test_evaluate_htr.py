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
