"""`handwrite dataset` (handwrite.dataset): samples on the bundled model, read back with
pyarrow and Hugging Face datasets; resuming, determinism, Ray, bad input.

Tiny runs: a few short lines; the word check is off where a test is about files, not labels.
"""
import errno
import json

import numpy as np
import pytest
from conftest import stroke_xml, synthetic_strokes

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from handwrite.dataset import DatasetMismatchError, DatasetSettings, make_dataset, resume_dataset  # noqa: E402
from handwrite.dataset import run as run_module  # noqa: E402
from handwrite.dataset import shards as shards_module  # noqa: E402
from handwrite.dataset.texts import TextCounts, shard_texts  # noqa: E402
from handwrite.options import SettingError  # noqa: E402

TEXTS = ["hello world", "the cat sat", "on a mat", "it was fun"]


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(TEXTS[:2]) + "\n\ncaf\u00e9 \u20ac\n" + "\n".join(TEXTS[2:]) + "\n", encoding="utf-8")
    return path


def settings(texts, out, **changes):
    base = dict(texts=str(texts), out=str(out), lines=6, shard_lines=2, group_lines=1, check_words=False,
                workers=1, progress=False, hands=("neat", "free"), size=(2.0, 2.0), dpi=60.0,
                precision="auto")       # no ONNX graph to build in every process: the tests write single lines
    return DatasetSettings(**{**base, **changes})


def rows_of(out):
    rows = sorted(pq.read_table(out / "data").to_pylist(), key=lambda r: r["id"])
    for r in rows:       # a feature a short word has no measure of is NaN, which equals nothing
        r["style"] = {k: None if v != v else v for k, v in r["style"].items()}
    return rows


def test_a_dataset_loads_with_pyarrow_and_datasets_and_its_labels_are_its_texts(texts, tmp_path):
    out = tmp_path / "ds"
    summary = make_dataset(settings(texts, out, level="both", augment=True))
    assert summary["written"] == 6 and summary["texts"]["skipped_unsupported"] == 1
    assert summary["texts"]["unsupported_characters"] == {"\u00e9": 1, "\u20ac": 1}
    rows = rows_of(out)
    lines = [r for r in rows if r["level"] == "line"]
    assert [r["text"] for r in lines] == (TEXTS * 2)[:6]                 # the file again from its start
    for r in rows:
        assert r["image"]["bytes"][:8] == b"\x89PNG\r\n\x1a\n" and len(r["strokes"]) > 2
        assert set(r["style"]) >= {"slant", "width_per_char"} and r["hand"] in ("neat", "free")
    words = [r for r in rows if r["level"] == "word"]
    assert [r["text"] for r in words if r["line"] == 1] == TEXTS[1].split()
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_dir=str(out), split="train")
    assert sorted(loaded["text"]) == sorted(r["text"] for r in rows)
    assert loaded[0]["image"].size[0] > 10                                # decoded as an image
    gt = (out / "images" / "gt.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(ln.split("\t")[1] for ln in gt) == sorted(r["text"] for r in rows)
    assert all((out / "images" / ln.split("\t")[0]).is_file() for ln in gt)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["model"]["sha256"]) == 64 and manifest["settings"]["seed"] == 0


def test_checked_labels_are_read_right_or_the_line_is_counted(tmp_path):
    texts = tmp_path / "t.txt"
    texts.write_text("hello world\nthe cat sat\n")
    out = tmp_path / "checked"
    summary = make_dataset(settings(texts, out, lines=2, check_words=True, hands=("neat",)))
    rows = rows_of(out)
    assert summary["written"] + summary["dropped"] == 2 and len(rows) == summary["written"]
    assert all(r["text"] in ("hello world", "the cat sat") for r in rows)


def test_a_killed_and_resumed_run_equals_an_uninterrupted_one(texts, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    make_dataset(settings(texts, whole, lines=4))
    broken = tmp_path / "broken"
    real = run_module.run_shard

    def dies_in_shard_1(s, shard, items):
        if shard == 1:
            raise KeyboardInterrupt                                       # the run killed in shard 1
        return real(s, shard, items)
    monkeypatch.setattr(run_module, "run_shard", dies_in_shard_1)
    with pytest.raises(KeyboardInterrupt):
        make_dataset(settings(texts, broken, lines=4))
    assert sorted(p.name for p in (broken / "done").iterdir()) == ["shard-00000.json"]
    monkeypatch.setattr(run_module, "run_shard", real)
    resume_dataset(broken, progress=False)
    assert rows_of(broken) == rows_of(whole)
    assert (broken / "images" / "gt.txt").read_bytes() == (whole / "images" / "gt.txt").read_bytes()


def test_another_seed_gives_other_rows_and_a_folder_of_another_run_is_refused(texts, tmp_path):
    out = tmp_path / "ds"
    make_dataset(settings(texts, out, lines=2))
    with pytest.raises(DatasetMismatchError, match=r"seed was 0, now 1") as e:
        make_dataset(settings(texts, out, lines=2, seed=1))
    assert e.value.settings == ["seed"]
    make_dataset(settings(texts, out, lines=2, workers=3))                # how it runs is not what it writes
    other = tmp_path / "other"
    make_dataset(settings(texts, other, lines=2, seed=1))
    assert [r["strokes"] for r in rows_of(out)] != [r["strokes"] for r in rows_of(other)]
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "x.txt").write_text("x")
    with pytest.raises(DatasetMismatchError, match="holds no dataset"):
        make_dataset(settings(texts, tmp_path / "stuff"))


def test_a_full_disk_fails_clearly_and_marks_nothing_done(texts, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    real = shards_module.atomic_write_bytes

    def full(path, data):
        if path.suffix == ".parquet":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)
    monkeypatch.setattr(shards_module, "atomic_write_bytes", full)
    with pytest.raises(OSError, match="could not write shard 0 .*No space left on device"):
        make_dataset(settings(texts, out, lines=2))
    assert not (out / "done").exists() and not list((out / "data").glob("*.parquet"))
    monkeypatch.setattr(shards_module, "atomic_write_bytes", real)
    assert make_dataset(settings(texts, out, lines=2))["written"] == 2     # the same run, finished


def test_bad_texts(tmp_path, texts):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match="empty"):
        make_dataset(settings(empty, tmp_path / "a"))
    assert not (tmp_path / "a").exists()                                  # nothing claimed
    with pytest.raises(ValueError, match=r"line 4: character '\u00e9' \(U\+00E9\)"):
        make_dataset(settings(texts, tmp_path / "b", strict=True))
    with pytest.raises(SettingError, match="bias must be a range"):
        settings(texts, tmp_path / "c", bias=(1.0, 0.5))
    with pytest.raises(SettingError, match="multiple of group_lines"):
        settings(texts, tmp_path / "c", shard_lines=3, group_lines=2)



def test_a_hand_that_cannot_be_loaded_is_named_before_the_folder_is_claimed(tmp_path, texts):
    xml = tmp_path / "a01-000u-01.xml"          # IAM-OnDB's line files carry no text
    xml.write_text(stroke_xml(synthetic_strokes("hello", np.random.default_rng(0))))
    with pytest.raises(ValueError, match=r"a01-000u-01.xml: the file does not say what its strokes read"):
        make_dataset(settings(texts, tmp_path / "a", hands=(), style_files=(str(xml),)))
    with pytest.raises(ValueError, match="no-such-hand"):
        make_dataset(settings(texts, tmp_path / "b", hands=("no-such-hand",)))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()

def test_a_huge_text_file_is_streamed(tmp_path):
    from handwrite.alphabet import Alphabet
    huge = tmp_path / "huge.txt"
    with open(huge, "w") as f:
        for i in range(200_000):
            f.write(f"line {i}\n")
    counts = TextCounts()
    shards = list(shard_texts(huge, Alphabet("line 0123456789"), 5, 2, counts=counts))
    assert [len(items) for _, items in shards] == [2, 2, 1] and shards[0][1][0] == (1, "line 0")
    assert counts.usable == 5                                             # read no further than needed


def test_the_command_line(texts, tmp_path):
    from click.testing import CliRunner

    from handwrite.cli import main
    out = tmp_path / "cli"
    args = ["dataset", str(texts), "--out", str(out), "--lines", "2", "--no-check", "--workers", "1",
            "--shard-lines", "1", "--group-lines", "1", "--hand", "neat", "--no-progress", "--format", "parquet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "wrote 2 samples of 2 lines" in result.output and not (out / "images").exists()
    result = CliRunner().invoke(main, [*args, "--bias", "0.3,0.4"])
    assert result.exit_code == 2 and "--bias was [0.6, 1.2], now [0.3, 0.4]" in result.output
    result = CliRunner().invoke(main, ["dataset", "--resume", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_two_processes_and_ray_tasks_on_a_local_two_worker_instance_write_the_same_rows(texts, tmp_path):
    whole = tmp_path / "whole"
    make_dataset(settings(texts, whole, lines=4))
    pool = tmp_path / "pool"
    make_dataset(settings(texts, pool, lines=4, workers=2))               # a process per core
    assert rows_of(pool) == rows_of(whole)
    ray = pytest.importorskip("ray")
    import tempfile
    # a short folder: Ray's sockets live there, and socket paths are limited in length
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False, _temp_dir=tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    try:
        out = tmp_path / "ray-ds"
        make_dataset(settings(texts, out, lines=4), ray="auto")
        assert rows_of(out) == rows_of(whole)
    finally:
        ray.shutdown()


def test_a_dot_goes_to_the_word_it_lies_over_and_a_stray_one_is_dropped():
    import numpy as np

    from handwrite.dataset.images import tidy_words

    def stroke(xs, ys):
        pts = np.zeros((len(xs), 3), np.float32)
        pts[:, 0], pts[:, 1], pts[-1, 2] = xs, ys, 1
        return pts
    wave = np.linspace(0, 40, 20)
    word1 = stroke(wave, 10 + 10 * np.sin(wave))            # x 0..40
    word2 = stroke(wave + 60, 10 + 10 * np.sin(wave))       # x 60..100
    dot_over_2, dot_between = stroke([80, 80.5], [-5, -5]), stroke([50, 50.5], [5, 5])
    points = np.concatenate([word1, dot_over_2, dot_between, word2])
    first = np.r_[np.ones(22 + 2, bool), np.zeros(20, bool)]   # the attention gave both dots to word 1
    masks = tidy_words(points, [first, ~first])
    assert masks[0].sum() == 20 and masks[1].sum() == 22 and not (masks[0] | masks[1])[22:24].any()


def test_a_hand_file_is_a_hand_of_the_run(tmp_path):
    from handwrite import Writer
    hand = tmp_path / "my-hand.json"
    Writer().with_options(check_words=False).write("a line of mine", seed=1, style="print").to_json(hand)
    texts = tmp_path / "t.txt"
    texts.write_text("hello there\n")
    out = tmp_path / "ds"
    make_dataset(settings(texts, out, lines=1, hands=(), style_files=(str(hand),)))
    (row,) = rows_of(out)
    assert row["hand"] == "file:0:my-hand" and row["text"] == "hello there"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["style_files"][0]["file"] == "my-hand.json" and len(manifest["style_files"][0]["sha256"]) == 64



def test_a_folder_of_hand_files_gives_a_hand_each_on_the_command_line(tmp_path):
    from click.testing import CliRunner

    from handwrite import Writer
    from handwrite.cli import main
    hands = tmp_path / "hands"
    hands.mkdir()
    writer = Writer().with_options(check_words=False)
    for name, preset in (("ann", "print"), ("bob", "neat")):
        writer.write("a line of mine", seed=1, style=preset).to_json(hands / f"{name}.json")
    (hands / "notes.txt").write_text("not a hand")
    texts = tmp_path / "t.txt"
    texts.write_text("hello there\n")
    out = tmp_path / "ds"
    args = ["dataset", str(texts), "--out", str(out), "--lines", "4", "--no-check", "--workers", "1",
            "--shard-lines", "1", "--group-lines", "1", "--no-progress", "--format", "parquet"]
    result = CliRunner().invoke(main, [*args, "--style-file", str(hands)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["file"] for f in manifest["style_files"]] == ["ann.json", "bob.json"]
    assert {r["hand"] for r in rows_of(out)} <= {"file:0:ann", "file:1:bob"}
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "ds2"), "--style-file", str(empty)])
    assert result.exit_code == 2 and "holds no hand files" in result.output and not (tmp_path / "ds2").exists()

POOL_SCRIPT = """
import multiprocessing, time
from concurrent.futures import ProcessPoolExecutor
from handwrite.dataset.worker import init_pool_process
if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=init_pool_process)
    pool.submit(time.sleep, 0).result()             # the process has started and run its initializer
    print(*pool._processes, flush=True)
    pool.submit(time.sleep, 300)
    time.sleep(300)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"     # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_pool_process_ends_when_the_run_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    run = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = int(run.stdout.readline())
    try:
        assert _running(child)
        run.kill()                 # SIGKILL: nothing in the run can clean up after itself
        run.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(child)
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)
