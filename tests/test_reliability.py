"""Reliability guarantees (docs/reliability.md): damaged data, killed training runs,
hostile or damaged weight files, and output files that are whole or absent."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import make_tiny_iam, write_form
from test_iam import DEFECTS, GOOD_TEXTS, good_form

import handwrite.training.dataset as dataset
import handwrite.render as render
import handwrite.weights as weights
from handwrite.alphabet import Alphabet
from handwrite.cli import main
from handwrite.handwriting import Handwriting, WrittenLine
from handwrite.training.iam import DatasetError
from handwrite.model import ModelConfig
from handwrite.training.train import TrainConfig, train
from handwrite.weights import (WeightsError, export_checkpoint, export_weights, load_checkpoint, load_weights,
                               model_from_checkpoint, save_checkpoint)
from handwrite.writer import Writer

TINY = ModelConfig(hidden=16, window_mixtures=3, output_mixtures=4)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny_weights(tmp_path, tiny_model_parts) -> Path:
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts, info={"steps": 0})
    return path


def train_config(data, out, **overrides) -> TrainConfig:
    settings = dict(data=str(data), out=str(out), model=TINY, batch_size=2, samples=False, bf16=False,
                    threads=1, device="cpu", epochs=1000)
    settings.update(overrides)
    return TrainConfig(**settings)


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


# =================================================================================================
# Damaged datasets: skipped and counted, or one clear DatasetError
# =================================================================================================
def damaged_dataset(root: Path) -> tuple[Path, int]:
    """Two good forms by different writers plus every kind of defect, each in its own form.

    Returns the folder and the number of usable lines in it."""
    usable = 6
    good_form(root, "b01-000a")
    good_form(root, "b02-000a", texts=("the mat", "on it", "a cat"))
    (root / "writers.tsv").write_text("form_id\twriter_id\nb01-000a\t1\nb02-000a\t2\n")
    for i, (make, _) in enumerate(DEFECTS):
        sub = root.parent / f"defect{i}"
        usable += make(sub)[1]
        for p in sub.rglob("*.*"):
            target = root / str(p.relative_to(sub)).replace("c01-000", f"c01-{i:03d}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
    # a transcription in UTF-16: no CSR marker can be found, so the form is skipped
    write_form(root, "d01-000a", ["one", "two"], encoding="utf-16")
    return root, usable


def test_training_skips_damaged_lines_and_counts_them(tmp_path):
    root, usable = damaged_dataset(tmp_path / "iam")
    with pytest.warns(UserWarning, match=r"skipped \d+ \(.*bad points.*line count mismatch.*malformed XML"):
        state = train(train_config(root, tmp_path / "run", max_steps=3), progress=False)
    assert state["step"] == 3
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert split["train_lines"] + split["val_lines"] == usable
    assert model_from_checkpoint(ckpt).alphabet.chars   # a usable model came out


def test_a_utf16_transcription_is_skipped_not_misread(tmp_path):
    root = tmp_path / "iam"
    good_form(root)
    write_form(root, "d01-000a", ["one", "two"], encoding="utf-16")
    from handwrite.training.iam import read_iam
    with pytest.warns(UserWarning, match="2 no transcription"):
        lines, _ = read_iam(root)
    assert {ln.text for ln in lines} == GOOD_TEXTS


def test_training_on_nothing_usable_is_one_clear_error(tmp_path):
    root = tmp_path / "iam"
    write_form(root, "b01-000a", ["Please Enter Transcription here", "#struck#"])
    with pytest.warns(UserWarning), pytest.raises(DatasetError, match="no usable IAM-OnDB lines"):
        train(train_config(root, tmp_path / "run", max_steps=1), progress=False)


@pytest.mark.filterwarnings("ignore:IAM-OnDB at")
@pytest.mark.parametrize("kind", ["not-iam", "missing", "nothing-usable"])
def test_cli_train_on_a_bad_folder_exits_2_with_a_message(tmp_path, kind):
    root = tmp_path / "data"
    if kind == "not-iam":
        (root / "photos").mkdir(parents=True)
    elif kind == "nothing-usable":
        write_form(root, "b01-000a", ["one"])
        next((root / "lineStrokes").rglob("*.xml")).write_text("<broken")
    expected = {"not-iam": "not an IAM-OnDB folder", "missing": "no such folder",
                "nothing-usable": "no usable IAM-OnDB lines"}[kind]
    result = CliRunner().invoke(main, ["train", "--data", str(root), "--out", str(tmp_path / "run"),
                                       "--hidden", "16", "--no-samples", "--no-bf16", "--threads", "1",
                                       "--max-steps", "1"])
    assert result.exit_code == 2, result.output
    assert expected in result.output and str(root) in result.output
    assert "Traceback" not in result.output


def test_cli_resume_from_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    root = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(main, ["train", "--data", str(root), "--out", str(run), "--hidden", "16",
                                       "--no-samples", "--no-bf16", "--threads", "1", "--max-steps", "1",
                                       "--resume"])
    assert result.exit_code == 2, result.output
    assert "checkpoint.pt" in result.output and "unreadable checkpoint" in result.output


# =================================================================================================
# Training killed at random moments: the checkpoint always loads, --resume finishes the run
# =================================================================================================
def _train_command(data: Path, run: Path, steps: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "handwrite", "train", "--data", str(data), "--out", str(run),
           "--hidden", "16", "--checkpoint-minutes", "0", "--no-samples", "--no-bf16", "--threads", "1",
           "--batch-size", "2", "--max-steps", str(steps)]
    return cmd + (["--resume"] if resume else [])


def _checkpoint_step(run: Path) -> int:
    ckpt = load_checkpoint(run / "checkpoint.pt")          # raises WeightsError if damaged
    model_from_checkpoint(ckpt, run / "checkpoint.pt")      # and the weights fit the model
    return json.loads(ckpt["meta"])["progress"]["step"]


def _wait_for(condition, process, timeout, poll=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(poll)
    return False


def test_training_killed_at_random_moments_always_leaves_a_loadable_checkpoint(tmp_path):
    data = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=2)
    run = tmp_path / "run"
    steps = 60
    env = {**os.environ, "HANDWRITE_CACHE": str(tmp_path / "cache")}
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    history = []          # (how it was stopped, checkpoint step after it)
    last_step = 0
    for round_ in range(3):
        ckpt = run / "checkpoint.pt"
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        log = open(tmp_path / f"stderr{round_}.txt", "w")
        proc = subprocess.Popen(_train_command(data, run, steps, resume=round_ > 0), env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=log)
        try:
            # wait until this process has written a checkpoint: it is inside the training loop
            started = _wait_for(lambda: ckpt.exists() and ckpt.stat().st_mtime_ns != before, proc, 60)
            assert started or proc.returncode == 0, (tmp_path / f"stderr{round_}.txt").read_text()[-2000:]
            if round_ % 2 == 0:
                how = f"SIGKILL after {rng.uniform(0, 0.3):.3f}s"
                time.sleep(float(how.split()[2][:-1]))
            else:
                # kill the moment a checkpoint's temp file appears: in the middle of a write
                in_write = _wait_for(lambda: bool(temp_files(run)), proc, 2, poll=0.0005)
                how = "SIGKILL during a checkpoint write" if in_write else "SIGKILL (no write seen)"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        step = _checkpoint_step(run)
        history.append((how, step))
        assert step >= last_step, (seed, history)        # progress is never lost or rolled back
        last_step = step

    # a polite stop (SIGTERM, as from Ctrl-C or a scheduler) saves a checkpoint and exits 0
    proc = subprocess.Popen(_train_command(data, run, steps, resume=True), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    before = (run / "checkpoint.pt").stat().st_mtime_ns
    _wait_for(lambda: (run / "checkpoint.pt").stat().st_mtime_ns != before, proc, 60)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped at" in out, out
    assert _checkpoint_step(run) >= last_step

    # --resume then finishes the run at exactly the requested number of steps
    done = subprocess.run(_train_command(data, run, steps, resume=True), env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"step {steps};" in done.stdout
    assert _checkpoint_step(run) == steps, (seed, history)
    starts = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines() if '"event": "start"' in ln]
    assert len(starts) == 5 and all(s["resumed"] for s in starts[1:])


# =================================================================================================
# Weights: no pickle on the loading path; damaged or foreign files are WeightsErrors naming the file
# =================================================================================================
class RunsCode:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('code ran')",)


def test_the_crafted_payload_really_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "proof"
    pickle.loads(pickle.dumps(RunsCode(marker)))
    assert marker.read_text() == "code ran"      # so the refusals below are meaningful


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("container", ["torch.save", "raw pickle"])
def test_a_checkpoint_carrying_code_is_refused_without_running_it(tmp_path, tiny_model_parts, container):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    model = tiny_model_parts[0]
    payload = {"model": model.state_dict(), "meta": RunsCode(marker)}
    if container == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(WeightsError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    with pytest.raises(WeightsError):
        export_checkpoint(path, tmp_path / "out.safetensors")
    with pytest.raises(WeightsError):
        load_weights(path)
    result = CliRunner().invoke(main, ["export", str(path), "-o", str(tmp_path / "cli.safetensors")])
    assert result.exit_code == 2 and str(path) in result.output
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists() and not (tmp_path / "cli.safetensors").exists()


def _rewrite(path: Path, out: Path, *, metadata=None, tensors=None) -> Path:
    """Copy a weights file, changing metadata entries and/or tensors."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata())
        data = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(metadata or {})
    data.update(tensors or {})
    save_file(data, str(out), metadata=meta)
    return out


def _header_length(data: bytes) -> int:
    return int.from_bytes(data[:8], "little")


def test_good_weights_load(tiny_weights, tiny_model_parts):
    loaded = load_weights(tiny_weights)
    assert loaded.alphabet == tiny_model_parts[1] and loaded.info == {"steps": 0}


@pytest.mark.parametrize("keep", [0, 4, 8, 40, 0.5, -1])
def test_truncated_weights_are_a_weights_error(tmp_path, tiny_weights, keep):
    data = tiny_weights.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) + keep)
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[:n])
    with pytest.raises(WeightsError) as info:
        load_weights(bad)
    assert str(bad) in str(info.value)


def _tamper_header_json(data: bytes) -> bytes:
    n = _header_length(data)
    return data[:8] + b"#" + data[9:8 + n] + data[8 + n:]


def _tamper_header_length(data: bytes) -> bytes:
    return (2**40).to_bytes(8, "little") + data[8:]


def _tamper_dtype(data: bytes) -> bytes:
    n = _header_length(data)
    header = data[8:8 + n].replace(b'"F16"', b'"F32"', 1)
    return data[:8] + header + data[8 + n:]


def _tamper_shape(data: bytes) -> bytes:
    n = _header_length(data)
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__" and len(header[k]["shape"]) == 2)
    header[name]["shape"] = header[name]["shape"][::-1] if header[name]["shape"][0] != header[name]["shape"][1] \
        else [header[name]["shape"][0] * 2, header[name]["shape"][1] // 2]
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    return len(new).to_bytes(8, "little") + new + data[8 + n:]


@pytest.mark.parametrize("tamper", [_tamper_header_json, _tamper_header_length, _tamper_dtype, _tamper_shape])
def test_tampered_weights_are_a_weights_error(tmp_path, tiny_weights, tamper):
    bad = tmp_path / "tampered.safetensors"
    bad.write_bytes(tamper(tiny_weights.read_bytes()))
    with pytest.raises(WeightsError) as info:
        load_weights(bad)
    assert str(bad) in str(info.value)


def test_weights_with_nan_are_a_weights_error(tmp_path, tiny_weights):
    from safetensors import safe_open
    with safe_open(str(tiny_weights), "pt") as f:
        w = f.get_tensor("output.weight").clone()
    w[0, 0] = float("nan")
    bad = _rewrite(tiny_weights, tmp_path / "nan.safetensors", tensors={"output.weight": w})
    with pytest.raises(WeightsError, match="NaN") as info:
        load_weights(bad)
    assert str(bad) in str(info.value) and "output.weight" in str(info.value)


def _config(**changes):
    """Metadata change: the file's own model config with some entries changed."""
    return lambda meta: {"config": json.dumps({**json.loads(meta["config"]), **changes})}


@pytest.mark.parametrize("change, message", [
    (lambda meta: {"alphabet": json.dumps("abc")}, "alphabet has 3 characters"),
    (lambda meta: {"alphabet": json.dumps("a" + json.loads(meta["alphabet"]))}, "damaged metadata"),
    (_config(hidden=32), "shape"),
    (_config(window_mixtures=5), "shape"),
    (_config(layers=4), "unknown model config keys"),
    (_config(hidden=-16), "impossible model config"),
    (_config(hidden=10**9), "shape|impossible model config"),
    (_config(hidden=100_000), "shape"),
    (_config(hidden=10**9, alphabet_size=10**9), "alphabet has"),
    (_config(kappa_step=-1.0), "impossible model config"),
    (lambda meta: {"config": "[1, 2"}, "damaged metadata"),
    (lambda meta: {"normalizer": json.dumps({"mean": [0, 0], "std": [0, 1]})}, "damaged metadata"),
    (lambda meta: {"info": json.dumps([1])}, "damaged metadata"),
    (lambda meta: {"format": "something-else"}, "not a handwrite weights file"),
], ids=["short-alphabet", "repeated-char", "hidden", "window", "unknown-key", "negative-hidden",
        "huge-hidden", "big-hidden", "huge-alphabet", "kappa-step", "broken-json", "zero-std", "info-not-dict",
        "format"])
def test_weights_for_another_alphabet_or_config_are_a_weights_error(tmp_path, tiny_weights, change, message):
    from safetensors import safe_open
    with safe_open(str(tiny_weights), "pt") as f:
        meta = f.metadata()
    bad = _rewrite(tiny_weights, tmp_path / "other.safetensors", metadata=change(meta))
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match=message) as info:
        load_weights(bad)
    assert str(bad) in str(info.value)
    assert time.monotonic() - t0 < 5          # a huge config is refused without building it


def test_a_missing_weights_file_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file"):
        load_weights(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("damage", ["truncated", "not a dict", "no meta", "wrong shapes"])
def test_damaged_checkpoints_are_weights_errors(tmp_path, tiny_model_parts, damage):
    model, alphabet, normalizer = tiny_model_parts
    meta = json.dumps({"config": model.config.to_dict(), "alphabet": alphabet.chars,
                       "normalizer": normalizer.to_dict(), "progress": {"step": 1}})
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"model": model.state_dict(), "meta": meta})
    assert model_from_checkpoint(load_checkpoint(path), path).alphabet == alphabet
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "not a dict":
        save_checkpoint(path, [torch.zeros(3)])
    elif damage == "no meta":
        save_checkpoint(path, {"model": model.state_dict()})
    else:
        state = model.state_dict()
        state["output.bias"] = torch.zeros(3)
        save_checkpoint(path, {"model": state, "meta": meta})
    with pytest.raises(WeightsError) as info:
        model_from_checkpoint(load_checkpoint(path), path)
    assert str(path) in str(info.value)
    result = CliRunner().invoke(main, ["export", str(path), "-o", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 2 and str(path) in result.output and "Traceback" not in result.output


@pytest.fixture
def bundled(tmp_path, monkeypatch, tiny_weights):
    """Install the tiny weights as the 'bundled' model, with its checksum file."""
    target = tmp_path / "bundle" / "model.safetensors"
    target.parent.mkdir()
    target.write_bytes(tiny_weights.read_bytes())
    checksum = target.parent / "model.sha256"
    checksum.write_text(f"{hashlib.sha256(target.read_bytes()).hexdigest()}  model.safetensors\n")
    monkeypatch.setattr(weights, "BUNDLED_WEIGHTS", target)
    monkeypatch.setattr(weights, "BUNDLED_CHECKSUM", checksum)
    return target


def test_bundled_weights_load_when_the_checksum_matches(bundled, tiny_model_parts):
    assert load_weights().alphabet == tiny_model_parts[1]
    assert Writer().alphabet == tiny_model_parts[1]


def test_damaged_bundled_weights_fail_the_checksum(bundled, tmp_path):
    data = bytearray(bundled.read_bytes())
    data[-3] ^= 0x01                                   # still a valid file, but not the shipped one
    bundled.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="checksum mismatch") as info:
        load_weights()
    assert str(bundled) in str(info.value)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        Writer()
    out = tmp_path / "out.svg"
    result = CliRunner().invoke(main, ["hello", "-o", str(out)])
    assert result.exit_code == 2 and "checksum mismatch" in result.output and not out.exists()


def test_missing_bundled_weights_are_a_clear_error(bundled):
    bundled.unlink()
    with pytest.raises(WeightsError, match="bundled model is missing"):
        load_weights()


# =================================================================================================
# Output files: whole or absent, clear errors
# =================================================================================================
@pytest.fixture
def handwriting() -> Handwriting:
    t = np.linspace(0, 6, 40)
    pts = np.stack([t * 20, 10 * np.sin(t * 3), (np.arange(40) % 10 == 9)], 1).astype(np.float32)
    return Handwriting("hi", [WrittenLine("hi", pts)])


@pytest.mark.parametrize("ext", ["svg", "png", "pdf", "json"])
def test_each_format_is_written_whole(tmp_path, handwriting, ext):
    path = handwriting.save(tmp_path / f"out.{ext}")
    data = path.read_bytes()
    if ext == "svg":
        assert ET.fromstring(data).tag.endswith("svg")
    elif ext == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    elif ext == "pdf":
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-32:]
    else:
        np.testing.assert_allclose(Handwriting.from_json(path).points, handwriting.points, atol=1e-3)
    assert temp_files(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask      # not the 0600 of a temp file


def test_a_replaced_file_keeps_its_mode(tmp_path, handwriting):
    path = tmp_path / "out.svg"
    path.write_text("old")
    path.chmod(0o640)
    handwriting.save(path)
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_text().startswith("<")


def test_rendering_that_fails_leaves_no_file(tmp_path, handwriting, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")
    monkeypatch.setattr(render, "svg_to_png", broken)
    monkeypatch.setattr(render, "to_png", broken)          # a tight PNG is drawn without its SVG
    with pytest.raises(RuntimeError, match="renderer crashed"):
        handwriting.save(tmp_path / "out.png")
    with pytest.raises(RuntimeError, match="renderer crashed"):
        handwriting.save(tmp_path / "page.png", page="A6")
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_midway_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, handwriting, monkeypatch):
    path = tmp_path / "out.svg"
    path.write_text("old contents")
    real_fsync = os.fsync

    def disk_full(fd):
        real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(dataset.os, "fsync", disk_full)
    with pytest.raises(OSError) as info:
        handwriting.save(path)
    assert str(path) in str(info.value) and "No space left" in str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert path.read_text() == "old contents"
    assert temp_files(tmp_path) == [] and sorted(tmp_path.iterdir()) == [path]


def test_an_interrupted_write_leaves_no_temp_file(tmp_path, handwriting, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(dataset.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        handwriting.save(tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_output_folder_is_a_clear_error(tmp_path, handwriting):
    path = tmp_path / "no" / "such" / "out.svg"
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        handwriting.save(path)
    assert str(path) in str(info.value)
    assert not (tmp_path / "no").exists()


def test_an_output_folder_that_is_a_file_is_a_clear_error(tmp_path, handwriting):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        handwriting.save(tmp_path / "notes.txt" / "out.svg")


def test_an_output_path_that_is_a_folder_is_a_clear_error(tmp_path, handwriting):
    (tmp_path / "out.svg").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        handwriting.save(tmp_path / "out.svg")
    assert str(tmp_path / "out.svg") in str(info.value)
    assert temp_files(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_a_clear_error(tmp_path, handwriting):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="permission denied"):
            handwriting.save(folder / "out.svg")
    finally:
        folder.chmod(0o700)


def test_permission_denied_names_the_file(tmp_path, handwriting, monkeypatch):
    """The same check as above, for runs as root: the OS refusal is simulated."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="permission denied") as info:
        handwriting.save(tmp_path / "out.svg")
    assert str(tmp_path / "out.svg") in str(info.value)


@pytest.mark.parametrize("name", ["out.txt", "out", "out.svg.bak", "out.jpeg"])
def test_an_unknown_extension_is_a_clear_error(tmp_path, handwriting, name):
    with pytest.raises(ValueError, match="unknown output format") as info:
        handwriting.save(tmp_path / name)
    assert ".svg" in str(info.value) and str(tmp_path / name) in str(info.value)
    assert list(tmp_path.iterdir()) == []


# ---- the same through the CLI ----
def _cli_write(weights_path, out, *text, extra=()):
    return CliRunner().invoke(main, ["-o", str(out), "--weights", str(weights_path), "--seed", "0", *extra, "--",
                                     *text])


def test_cli_writes_a_file(tmp_path, tiny_weights):
    result = _cli_write(tiny_weights, tmp_path / "out.svg", "hi there")
    assert result.exit_code == 0, result.output
    assert ET.fromstring((tmp_path / "out.svg").read_bytes()).tag.endswith("svg")
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("name, message", [
    ("out.txt", "unknown output format"),
    ("out", "unknown output format"),
    ("missing/out.svg", "does not exist"),
])
def test_cli_bad_output_paths_exit_2_with_a_message(tmp_path, tiny_weights, name, message):
    out = tmp_path / name
    result = _cli_write(tiny_weights, out, "hi")
    assert result.exit_code == 2, result.output
    assert message in result.output and str(out) in result.output and "Traceback" not in result.output
    assert not out.exists() and temp_files(tmp_path) == []


def test_cli_write_failure_exits_1_with_a_message_and_no_file(tmp_path, tiny_weights, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(dataset.os, "fsync", disk_full)
    out = tmp_path / "out.png"
    result = _cli_write(tiny_weights, out, "hi")
    assert result.exit_code == 1, result.output
    assert "No space left" in result.output and str(out) in result.output
    assert not out.exists() and temp_files(tmp_path) == []


@pytest.mark.parametrize("weights_file", ["missing", "garbage"])
def test_cli_bad_weights_exit_2_with_a_message(tmp_path, weights_file):
    path = tmp_path / "w.safetensors"
    if weights_file == "garbage":
        path.write_bytes(b"\x00" * 100)
    out = tmp_path / "out.svg"
    result = _cli_write(path, out, "hi")
    assert result.exit_code == 2 and str(path) in result.output and not out.exists()


def test_alphabet_mismatch_between_weights_and_text_is_reported_by_character(tmp_path, tiny_model_parts):
    model, alphabet, normalizer = tiny_model_parts
    # the same network shape, but an alphabet with '\u00e6' in place of 'z'
    chars = Alphabet(alphabet.chars.replace("z", "\u00e6"))
    assert chars.size == alphabet.size and "z" not in chars
    export_weights(tmp_path / "w.safetensors", model, chars, normalizer)
    result = _cli_write(tmp_path / "w.safetensors", tmp_path / "out.svg", "zoo")
    assert result.exit_code == 2 and "'z'" in result.output and not (tmp_path / "out.svg").exists()
