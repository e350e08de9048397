"""tools/: scripts run by hand when making the bundled model."""
import copy
import subprocess
import sys
from pathlib import Path

import torch

from handwrite.weights import export_weights, load_weights

ROOT = Path(__file__).resolve().parent.parent


def test_average_weights_writes_the_mean_of_the_epochs(tmp_path, tiny_model_parts):
    model, alphabet, normalizer = tiny_model_parts
    paths = []
    for i, shift in enumerate((0.0, 0.5)):
        m = copy.deepcopy(model)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(shift)
        paths.append(tmp_path / f"epoch-{i}.safetensors")
        export_weights(paths[-1], m, alphabet, normalizer, {"epochs": i, "val_nll_per_line": -1.0})
    out = tmp_path / "mean.safetensors"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "average_weights.py"), *map(str, paths), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    mean = load_weights(out)
    a, b = (load_weights(p).model.state_dict() for p in paths)
    for name, value in mean.model.state_dict().items():
        torch.testing.assert_close(value, (a[name] + b[name]) / 2, atol=2e-3, rtol=1e-3)
    assert "val_nll_per_line" not in mean.info            # the mean has not been measured yet
    assert len(mean.info["averaged_from"]) == 2


def test_average_weights_refuses_different_networks(tmp_path, tiny_model_parts):
    from handwrite.model import HandwritingModel, ModelConfig
    model, alphabet, normalizer = tiny_model_parts
    other = HandwritingModel(ModelConfig(alphabet_size=alphabet.size, hidden=8, window_mixtures=3, output_mixtures=4))
    export_weights(tmp_path / "a.safetensors", model, alphabet, normalizer)
    export_weights(tmp_path / "b.safetensors", other, alphabet, normalizer)
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "average_weights.py"), str(tmp_path / "a.safetensors"),
                        str(tmp_path / "b.safetensors"), "-o", str(tmp_path / "m.safetensors")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "different network" in r.stderr
    assert not (tmp_path / "m.safetensors").exists()


def test_imitation_fidelity_ranks_with_a_feature_left_out_or_put_right():
    import importlib.util

    import numpy as np
    spec = importlib.util.spec_from_file_location("imitation_fidelity", ROOT / "tools" / "imitation_fidelity.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    profiles = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    scale = np.ones(2)
    # the written line has its writer's (0) first feature, a stranger's (2) second one
    rows = [{"truth": 0, "written": np.array([0.0, 0.9]), "primer": np.array([0.1, 0.1])}]
    assert tool.ranks(rows, "written", profiles, scale)[0] == 2             # writer 2 is nearer
    assert tool.ranks(rows, "written", profiles, scale, keep=[0])[0] == 1   # by the first feature alone
    assert tool.ranks(rows, "written", profiles, scale, swap=1)[0] == 1     # the primer's second feature put in
    assert tool.ranks(rows, "primer", profiles, scale)[0] == 1


def test_ocr_floor_measures_only_the_lines_right_by_eye(tmp_path, capsys):
    import importlib.util
    import json

    import pytest
    spec = importlib.util.spec_from_file_location("ocr_floor", ROOT / "tools" / "ocr_floor.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    texts = ["the cat sat", "on the mat", "a dog ran"]
    readings = {"tesseract": ["the cat sal", "0n the", "a bog ran"],     # "0n": 0/O folded
                "ppocr": ["tho cat sat", "", "a bog rau"],
                "reader": ["the cat sat", "on the mat", "a dog ran"]}
    (tmp_path / "lines.json").write_text(json.dumps({"style": "cursive", "seed": 0, "bias": 0.75,
                                                     "texts": texts, "readings": readings}))
    # line 2 has a word wrong by eye ("dog" missed by both): left out, only line 1's "mat" is missed
    assert tool.figures(texts, readings, [0, 1])["missed_by_both_ocr"] == round(1 / 6, 4)
    assert tool.figures(texts, readings, [0, 1, 2])["missed_by_both_ocr"] == round(2 / 9, 4)
    tool.main(["figure", str(tmp_path), "--wrong", "2"])
    out = capsys.readouterr().out
    assert "2 of 3 lines right by eye" in out and '"words": 6' in out
    with pytest.raises(SystemExit, match="outside 0-2"):
        tool.main(["figure", str(tmp_path), "--wrong", "3"])
