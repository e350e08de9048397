"""The notebooks in examples/notebooks run end to end (nbclient), and are kept without outputs.

The data notebook reads a tiny IAM-layout folder made here (nothing in it comes from
IAM-OnDB); the sampling notebook writes a few short lines with the bundled model.
"""
from pathlib import Path

import pytest

from conftest import make_tiny_iam

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"


def execute(name: str, cwd: Path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and not any(c.get("outputs") or c.get("execution_count") for c in code), \
        f"{name} is committed with outputs: clear them (they may show IAM-OnDB data)"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs_of(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_the_data_notebook_runs(tmp_path, monkeypatch):
    root = make_tiny_iam(tmp_path / "iam-ondb", forms=6, lines_per_form=4)
    monkeypatch.setenv("HANDWRITE_IAM_ONDB", str(root))
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    nb = execute("data.ipynb", tmp_path)
    text = "".join(o.get("text", "") for o in outputs_of(nb))
    assert "read 24 lines" in text and "3 writers" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs_of(nb)) >= 5


def test_the_sampling_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("HANDWRITE_WEIGHTS", raising=False)
    nb = execute("sampling.ipynb", tmp_path)
    data = [o.get("data", {}) for o in outputs_of(nb)]
    assert sum("image/svg+xml" in d for d in data) >= 6          # Handwriting shows itself as SVG
    assert sum("image/png" in d for d in data) >= 2              # the attention and density figures
