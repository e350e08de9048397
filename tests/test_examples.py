"""Every script in examples/ runs (with tiny weights, so it is fast)."""
import subprocess
import sys
from pathlib import Path

import pytest

from handwrite.weights import export_weights

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, tiny_model_parts):
    weights = tmp_path / "tiny.safetensors"
    export_weights(weights, *tiny_model_parts)
    r = subprocess.run([sys.executable, str(script), "--weights", str(weights), "--out-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
