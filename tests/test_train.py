"""Training a tiny network on a tiny synthetic IAM folder: it learns, saves, and resumes exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import make_tiny_iam

from handwrite.alphabet import Alphabet
from handwrite.training.dataset import load_lines
from handwrite.training.iam import DatasetError
from handwrite.model import ModelConfig
from handwrite.preprocess import Normalizer
from handwrite.training.train import TrainConfig, evaluate_nll, train
from handwrite.weights import export_checkpoint, load_checkpoint, load_weights, model_from_checkpoint, save_checkpoint

TINY = ModelConfig(hidden=16, window_mixtures=3, output_mixtures=4)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Training caches preprocessed data: keep it inside the test's folder."""
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))


def config(data, out, **overrides) -> TrainConfig:
    settings = dict(data=str(data), out=str(out), model=TINY, batch_size=2, samples=False, bf16=False,
                    threads=1, device="cpu", epochs=1000)
    settings.update(overrides)
    return TrainConfig(**settings)


def events(run, kind=None):
    rows = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines()]
    return [r for r in rows if kind is None or r["event"] == kind]


def trained_model(run, name="checkpoint.pt"):
    return model_from_checkpoint(load_checkpoint(run / name), run / name)


def test_a_tiny_model_overfits_a_few_lines(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)   # one writer: 1 line held out
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=0), progress=False)               # the untrained weights
    start = trained_model(run)
    state = train(config(data_dir, run, max_steps=120, batch_size=4, lr=1e-2, lr_decay=1.0, resume=True),
                  progress=False)
    assert state["step"] == 120
    end = trained_model(run)

    data = load_lines(data_dir, downsample=2, progress=False)
    held_out = set(json.loads((run / "split.json").read_text())["val_line_ids"])
    data = data.subset([i for i, lid in enumerate(data.line_ids) if lid not in held_out])
    assert len(data) == 5
    before = evaluate_nll(start.model, data, start.alphabet, start.normalizer, bf16=False)
    after = evaluate_nll(end.model, data, end.alphabet, end.normalizer, bf16=False)
    assert np.isfinite(before["nll_per_point"]) and np.isfinite(after["nll_per_point"])
    # the training lines are learnt: several nats per point better than at the start
    assert after["nll_per_point"] < before["nll_per_point"] - 3.0, (before, after)
    # the log tells the same story
    log = events(run)
    assert [e["event"] for e in log if e["event"] in ("start", "stop")] == ["start", "stop", "start", "stop"]
    assert events(run, "start")[1]["resumed"] is True
    (progress_event,) = events(run, "train")                                # every 100 steps
    assert progress_event["step"] == 100 and progress_event["nll_per_point"] < before["nll_per_point"]


def test_resuming_after_an_interruption_gives_the_same_weights(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=6, lines_per_form=2)   # 3 writers: 1 for validation
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    a = train(config(data_dir, straight, max_steps=8), progress=False)
    first = train(config(data_dir, resumed, max_steps=3), progress=False)
    assert first["step"] == 3 and first["batch"] != 0                      # stopped inside an epoch
    b = train(config(data_dir, resumed, max_steps=8, resume=True), progress=False)
    assert a["step"] == b["step"] == 8 and a["epoch"] == b["epoch"] and a["batch"] == b["batch"]
    ca, cb = load_checkpoint(straight / "checkpoint.pt"), load_checkpoint(resumed / "checkpoint.pt")
    assert ca["model"].keys() == cb["model"].keys()
    for k in ca["model"]:
        assert torch.allclose(ca["model"][k], cb["model"][k], atol=1e-6), k
    # the optimiser's moments match too: a resumed run goes on exactly as before
    for sa, sb in zip(ca["optimizer"]["state"].values(), cb["optimizer"]["state"].values()):
        assert torch.allclose(sa["exp_avg"], sb["exp_avg"], atol=1e-6)
        assert torch.allclose(sa["exp_avg_sq"], sb["exp_avg_sq"], atol=1e-9)
    split_a = json.loads((straight / "split.json").read_text())
    assert split_a == json.loads((resumed / "split.json").read_text())


def test_resume_without_a_checkpoint_starts_fresh(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    state = train(config(data_dir, tmp_path / "run", max_steps=2, resume=True), progress=False)
    assert state["step"] == 2 and events(tmp_path / "run", "start")[0]["resumed"] is False


def test_checkpoint_round_trip(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=6, lines_per_form=2)
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=7), progress=False)                # crosses an epoch end
    ckpt = load_checkpoint(run / "checkpoint.pt")
    meta = json.loads(ckpt["meta"])
    assert meta["progress"]["step"] == 7 and meta["config"]["hidden"] == 16
    loaded = model_from_checkpoint(ckpt, run / "checkpoint.pt")
    data = load_lines(data_dir, downsample=2, progress=False)
    assert loaded.alphabet == Alphabet("".join(sorted(set("".join(data.texts)))))

    # save -> load gives the same tensors and metadata back
    save_checkpoint(tmp_path / "copy.pt", ckpt)
    again = load_checkpoint(tmp_path / "copy.pt")
    assert again["meta"] == ckpt["meta"]
    for k, v in ckpt["model"].items():
        assert torch.equal(again["model"][k], v)

    # best.pt (written at an epoch end) loads as a model too
    best = trained_model(run, "best.pt")
    assert best.model.config == loaded.model.config

    # export -> fp16 safetensors -> the same network, to fp16 precision
    digest = export_checkpoint(run / "checkpoint.pt", tmp_path / "tiny.safetensors")
    assert len(digest) == 64
    exported = load_weights(tmp_path / "tiny.safetensors")
    assert exported.alphabet == loaded.alphabet and exported.info["steps"] == 7
    np.testing.assert_allclose(exported.normalizer.mean, loaded.normalizer.mean)
    x = torch.randn(1, 10, 3)
    chars = torch.tensor([loaded.alphabet.encode(data.texts[0])])
    with torch.no_grad():
        torch.testing.assert_close(exported.model(x, chars), loaded.model(x, chars), atol=5e-2, rtol=5e-2)


def test_normaliser_is_fitted_on_the_training_lines(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=0), progress=False)
    loaded = trained_model(run)
    data = load_lines(data_dir, downsample=2, progress=False)
    held_out = set(json.loads((run / "split.json").read_text())["val_line_ids"])
    assert len(held_out) == 1                    # one writer: every 12th line is held out
    expected = Normalizer.fit([data.line(i) for i in range(len(data)) if data.line_ids[i] not in held_out])
    np.testing.assert_allclose(loaded.normalizer.mean, expected.mean, rtol=1e-5)
    np.testing.assert_allclose(loaded.normalizer.std, expected.std, rtol=1e-5)


def test_validation_writers_are_kept_out_of_training(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=8, lines_per_form=2)
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=0, val_fraction=0.3), progress=False)
    split = json.loads((run / "split.json").read_text())
    data = load_lines(data_dir, downsample=2, progress=False)
    val_lines = [w for w in data.writers if w in split["val_writers"]]
    assert split["val_writers"] and len(val_lines) == split["val_lines"]
    assert split["train_lines"] + split["val_lines"] == len(data)


def test_training_on_a_folder_that_is_not_iam_is_a_dataset_error(tmp_path):
    (tmp_path / "notiam").mkdir()
    with pytest.raises(DatasetError, match="not an IAM-OnDB folder"):
        train(config(tmp_path / "notiam", tmp_path / "run", max_steps=1), progress=False)


def test_training_can_start_from_exported_weights(tmp_path, tiny_model_parts):
    from handwrite.weights import export_weights
    model, alphabet, normalizer = tiny_model_parts
    weights = tmp_path / "start.safetensors"
    export_weights(weights, model, alphabet, normalizer)
    data_dir = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=2)
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=0, init_weights=str(weights)), progress=False)
    start = trained_model(run)
    assert start.alphabet == alphabet                       # kept, not rebuilt from the data
    np.testing.assert_allclose(start.normalizer.std, normalizer.std)
    for k, v in model.state_dict().items():               # fp16 round trip of the export
        assert torch.allclose(start.model.state_dict()[k], v.half().float()), k


def test_keep_epochs_exports_every_epoch(tmp_path):
    from handwrite.weights import load_weights
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    run = tmp_path / "run"
    train(config(data_dir, run, epochs=2, keep_epochs=True), progress=False)
    kept = sorted((run / "epochs").glob("*.safetensors"))
    assert [p.name for p in kept] == ["epoch-001.safetensors", "epoch-002.safetensors"]
    final = trained_model(run).model.state_dict()
    last = load_weights(kept[-1])
    assert last.info["epochs"] == 2
    for name, value in last.model.state_dict().items():            # fp16 copies of the weights
        torch.testing.assert_close(value, final[name], atol=2e-3, rtol=1e-3)
    train(config(data_dir, tmp_path / "plain", epochs=1), progress=False)
    assert not (tmp_path / "plain" / "epochs").exists()


def test_training_with_augmentation_runs_and_bad_strength_is_refused(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    state = train(config(data_dir, tmp_path / "run", max_steps=5, augment=0.1), progress=False)
    assert state["step"] == 5
    assert all(torch.isfinite(v).all() for v in trained_model(tmp_path / "run").model.state_dict().values())
    with pytest.raises(ValueError, match="augment"):
        train(config(data_dir, tmp_path / "bad", max_steps=1, augment=2.0), progress=False)


def _lines(texts, strokes_per_line):
    """A LineSet whose line i has strokes_per_line[i] pen strokes of 5 points each."""
    from handwrite.training.dataset import LineSet
    parts = []
    for n in strokes_per_line:
        line = np.zeros((5 * n, 3), np.float32)
        line[4::5, 2] = 1
        parts.append(line)
    lengths = np.array([len(p) for p in parts])
    return LineSet(np.concatenate(parts), np.r_[0, np.cumsum(lengths)[:-1]], lengths, list(texts),
                   ["w"] * len(texts), [f"l{i}" for i in range(len(texts))])


def test_lines_with_capitals_and_joined_up_lines_are_found_and_repeated():
    from handwrite.training.train import has_capitals, is_joined_up, repeat_lines
    data = _lines(["the cat sat", "The cat", "a dog ran far", "Joined Up"], [9, 7, 5, 4])
    idx = np.array([0, 1, 2, 3])
    assert list(has_capitals(data, idx)) == [False, True, False, True]
    # lifts per letter: 9/9 print, 7/6 print, 5/10 joined, 4/8 joined
    assert list(is_joined_up(data, idx)) == [False, False, True, True]
    assert list(is_joined_up(data, np.array([2]))) == [True]
    assert list(repeat_lines(idx, is_joined_up(data, idx), 3)) == [0, 1, 2, 3, 2, 3, 2, 3]
    assert list(repeat_lines(idx, has_capitals(data, idx), 1)) == [0, 1, 2, 3]


def test_training_with_repeated_lines_runs_and_bad_repeats_are_refused(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    state = train(config(data_dir, tmp_path / "run", max_steps=3, joined_repeats=2, capital_repeats=2),
                  progress=False)
    assert state["step"] == 3
    with pytest.raises(ValueError, match="joined_repeats"):
        train(config(data_dir, tmp_path / "bad", max_steps=1, joined_repeats=0), progress=False)


def test_a_learning_rate_below_the_decay_floor_is_used_as_given(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    low = tmp_path / "low"
    train(config(data_dir, low, epochs=2, lr=1e-5, min_lr=5e-5), progress=False)
    assert [e["lr"] for e in events(low, "epoch")] == [1e-5, 1e-5]       # not lifted to min_lr
    high = tmp_path / "high"
    train(config(data_dir, high, epochs=2, lr=1e-4, lr_decay=0.1, min_lr=5e-5), progress=False)
    assert [e["lr"] for e in events(high, "epoch")] == [1e-4, 5e-5]      # the decay stops at min_lr


def test_steps_with_nan_gradients_are_skipped_and_counted(tmp_path, monkeypatch):
    """A batch whose loss (so its gradient) is NaN leaves the weights as they were; the log
    counts it and keeps it out of the NLL it reports."""
    import handwrite.training.train as train_module
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    calls = {"n": 0}
    real_nll = train_module.mdn_nll

    def every_other_nan(*args, **kwargs):            # training steps only (validation: no_grad)
        nll = real_nll(*args, **kwargs)
        if not torch.is_grad_enabled():
            return nll
        calls["n"] += 1
        return nll * float("nan") if calls["n"] % 2 == 0 else nll
    monkeypatch.setattr(train_module, "mdn_nll", every_other_nan)
    run = tmp_path / "run"
    train(config(data_dir, run, max_steps=100, batch_size=4, lr=1e-2, lr_decay=1.0), progress=False)
    logged = events(run, "train")
    assert len(logged) == 1 and logged[0]["step"] == 100
    assert logged[0]["skipped_steps"] == 50
    assert np.isfinite(logged[0]["nll_per_point"])
    assert all(torch.isfinite(v).all() for v in trained_model(run).model.state_dict().values())


def test_balance_capitals_lists_lines_with_rarer_capitals_more_often(tmp_path):
    from handwrite.training.dataset import LineSet
    from handwrite.training.train import capital_balance
    texts = ["The cat", "The dog", "The owl", "The Elk", "no capital", "Two Quiet ones"]
    lines = LineSet(np.zeros((len(texts), 3), np.float32), np.arange(len(texts)), np.ones(len(texts), np.int64),
                    texts, ["w"] * len(texts), [str(i) for i in range(len(texts))])
    # T is in 5 lines, E and Q in 1: a line counts by its rarest capital
    np.testing.assert_array_equal(capital_balance(lines, np.arange(6), target=4), [1, 1, 1, 4, 1, 4])
    np.testing.assert_array_equal(capital_balance(lines, np.arange(6), target=40, most=10), [8, 8, 8, 10, 1, 10])
    data_dir = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=4)
    state = train(config(data_dir, tmp_path / "run", max_steps=2, balance_capitals=50), progress=False)
    assert state["step"] == 2
    train(config(data_dir, tmp_path / "plain", max_steps=0), progress=False)
    plain_lines = events(tmp_path / "plain", "start")[0]["train_lines"]
    data = load_lines(data_dir, downsample=2, progress=False)
    held_out = set(json.loads((tmp_path / "plain" / "split.json").read_text())["val_line_ids"])
    train_idx = np.array([i for i, lid in enumerate(data.line_ids) if lid not in held_out])
    extra = int((capital_balance(data, train_idx, target=50) - 1).sum())
    assert extra > 0                                     # the tiny data's "Zoe" and "X-ray"
    assert events(tmp_path / "run", "start")[0]["train_lines"] == plain_lines + extra
    with pytest.raises(ValueError, match="balance_capitals"):
        train(config(data_dir, tmp_path / "bad", max_steps=1, balance_capitals=-1), progress=False)


def test_teach_lists_lines_with_rare_letters_more_often_and_weighs_their_points(tmp_path):
    from handwrite.training.balance import letter_balance, letter_point_weights
    from handwrite.training.dataset import LineSet
    texts = ["six boxes", "an ox", "fox", "lazy fox", "no such", "zoo"]
    lines = LineSet(np.zeros((len(texts), 3), np.float32), np.arange(len(texts)), np.ones(len(texts), np.int64),
                    texts, ["w"] * len(texts), [str(i) for i in range(len(texts))])
    # x is in 4 lines, z in 2: a line counts by its rarest taught letter
    np.testing.assert_array_equal(letter_balance(lines, np.arange(6), 8, "xz"), [2, 2, 2, 4, 1, 4])
    np.testing.assert_array_equal(letter_balance(lines, np.arange(6), 8, "x"), [2, 2, 2, 2, 1, 1])
    alphabet = Alphabet("axz ")
    chars = torch.tensor([alphabet.encode("axz")])
    phi = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2, 2]]), 3).float()
    weights = letter_point_weights(phi, chars, alphabet, 3.0, set("x").__contains__)
    np.testing.assert_allclose(weights.numpy(), [[1, 3, 1, 1]])
    data_dir = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=4)
    state = train(config(data_dir, tmp_path / "run", max_steps=2, teach="xz", teach_lines=50, teach_weight=2.0),
                  progress=False)
    assert state["step"] == 2
    train(config(data_dir, tmp_path / "plain", max_steps=0), progress=False)
    assert events(tmp_path / "run", "start")[0]["train_lines"] > events(tmp_path / "plain", "start")[0]["train_lines"]
    for bad, match in (({"teach_weight": 0.5}, "teach_weight"), ({"teach": "x z"}, "without spaces"),
                       ({"teach": "x", "teach_lines": 0}, "teach_lines")):
        with pytest.raises(ValueError, match=match):
            train(config(data_dir, tmp_path / "bad", max_steps=1, **bad), progress=False)


def test_capital_weight_weighs_the_points_drawn_on_capitals(tmp_path):
    from handwrite.training.train import capital_point_weights
    alphabet = Alphabet("aBc ")
    chars = torch.tensor([alphabet.encode("aBc") + [0]])             # code 0: padding
    on = torch.tensor([[0, 1, 1, 2, 3]])                             # the strongest character per point
    phi = torch.nn.functional.one_hot(on, 4).float() * 0.6 + 0.1     # (1, 5, 4)
    np.testing.assert_allclose(capital_point_weights(phi, chars, alphabet, 4.0).numpy(), [[1, 4, 4, 1, 1]])

    # the same start and batches: the weighted loss moves the weights elsewhere (the tiny
    # data's "Zoe" and "X-ray" hold capitals)
    data_dir = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=4)
    models = {}
    for weight in (1.0, 5.0):
        run = tmp_path / f"w{weight}"
        train(config(data_dir, run, max_steps=3, batch_size=8, lr=1e-2, capital_weight=weight), progress=False)
        models[weight] = trained_model(run).model.state_dict()
    assert any(not torch.allclose(models[1.0][k], models[5.0][k]) for k in models[1.0])
    with pytest.raises(ValueError, match="capital_weight"):
        train(config(data_dir, tmp_path / "bad", max_steps=1, capital_weight=0.5), progress=False)


@pytest.mark.parametrize("has_bf16", [False, True])
def test_bf16_training_falls_back_to_fp32_where_the_cpu_only_emulates_it(monkeypatch, has_bf16):
    from handwrite import cpu
    from handwrite.training import train as train_module
    monkeypatch.setattr(cpu, "has_bf16", lambda: has_bf16)
    cfg = TrainConfig(data="d", out="o", bf16=True)
    if has_bf16:
        assert train_module.mixed_precision_here(cfg, torch.device("cpu")).bf16 is True
    else:
        with pytest.warns(UserWarning, match="no bf16 instructions"):
            assert train_module.mixed_precision_here(cfg, torch.device("cpu")).bf16 is False
    assert train_module.mixed_precision_here(cfg, torch.device("cuda")).bf16 is True     # GPUs keep it
    fp32 = TrainConfig(data="d", out="o", bf16=False)
    assert train_module.mixed_precision_here(fp32, torch.device("cpu")).bf16 is False
