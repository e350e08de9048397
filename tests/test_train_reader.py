"""Training the reader: on a tiny IAM-layout folder, resumable, its best weights exported."""
import json

import pytest

from handwrite.reader import Reader, ReaderConfig
from handwrite.training.iam import DatasetError
from handwrite.training.train_reader import ReaderTrainConfig, train_reader


def tiny_config(data, out, **kw):
    model = ReaderConfig(channels=8, hidden=8, layers=1, dropout=0.0)
    return ReaderTrainConfig(data=str(data), out=str(out), batch_size=4, model=model, **kw)


def test_a_run_logs_each_epoch_and_exports_a_reader(tiny_iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    result = train_reader(tiny_config(tiny_iam, out, epochs=2), progress=False)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2] and result == log[-1]
    assert all(row["val_cer"] >= 0 and row["val_loss"] > 0 for row in log)
    reader = Reader(out / "reader.safetensors")
    assert isinstance(reader.read([[(0, 0), (5, 9), (12, 3)]]), str)
    assert reader.info["epoch"] in (1, 2)


def test_a_stopped_run_resumes_where_it_stopped(tiny_iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    train_reader(tiny_config(tiny_iam, out, epochs=3, max_steps=3), progress=False)
    first = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert first[-1]["step"] == 3
    train_reader(tiny_config(tiny_iam, out, epochs=3), progress=False)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == list(range(1, len(log) + 1)) and log[-1]["epoch"] == 3
    assert log[-1]["step"] > 3


def test_a_folder_that_is_not_there_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        train_reader(tiny_config(tmp_path / "nowhere", tmp_path / "run"), progress=False)
