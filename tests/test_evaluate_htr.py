"""`handwrite eval --htr`: readers trained on generated, real and both, reading real held-out writers.

End to end on a tiny IAM-layout folder (synthetic strokes, conftest) and a tiny reader.
"""
import json

import pytest

pytest.importorskip("pyarrow")

from handwrite.reader import ReaderConfig  # noqa: E402
from handwrite.training.evaluate_htr import SETS, HTRConfig, evaluate_htr, format_htr_report  # noqa: E402


def test_three_readers_are_trained_and_read_the_real_held_out_writers(tiny_iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    cfg = HTRConfig(data=str(tiny_iam), work=str(tmp_path / "htr"), lines=4, bias=(0.3, 0.5), epochs=1,
                    batch_size=4, check_words=False, workers=1, model=ReaderConfig(channels=8, hidden=8, layers=1, dropout=0.0))
    result = evaluate_htr(cfg, progress=False)
    assert result["generated_lines"] == 4 and result["val_lines"] > 0
    assert set(result["cer"]) == set(SETS) and all(0 <= c for c in result["cer"].values())
    runs = result["runs"]
    assert runs["real+generated"]["train_lines"] == runs["real"]["train_lines"] + runs["generated"]["train_lines"]
    assert "trained on generated" in format_htr_report(result)
    log = [json.loads(ln) for ln in (tmp_path / "htr" / "htr-log.jsonl").read_text().splitlines()]
    assert [ln["set"] for ln in log if "val_cer" in ln] == list(SETS)
    # the generated lines were written at the bias asked for, in a folder of their own
    manifest = json.loads((tmp_path / "htr" / "generated-4-bias0.3-0.5" / "manifest.json").read_text())
    assert manifest["settings"]["bias"] == [0.3, 0.5] and "bias 0.3-0.5" in format_htr_report(result)
    texts = (tmp_path / "htr" / "train-texts.txt").read_text().splitlines()
    assert texts
