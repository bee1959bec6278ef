"""The generic trainer on scikit-learn's digits: learning, exact resume, NaN stop, logs."""

import json
import math

import pytest
import torch

import autoencoders as ae
from autoencoders.data import EVAL_BATCH, load_dataset
from autoencoders.errors import TrainingError
from autoencoders.models.dense import DenseAutoencoder
from autoencoders.training.checkpoint import load_weights

FAST = dict(data="digits", limit=128, batch_size=32, quiet=True)


def _val_batches() -> int:
    """Forward passes of one validation under FAST: digits' test split in batches of EVAL_BATCH."""
    return math.ceil(len(load_dataset("digits", "test")) / EVAL_BATCH)


def test_tiny_model_overfits_small_set():
    run = ae.train("deep", epochs=60, lr=3e-3, **FAST)
    first, last = run.history[0]["train"]["loss"], run.history[-1]["train"]["loss"]
    assert last < 0.75 * first


@pytest.mark.parametrize("model,options", [("sparse", {"activity_l1": 1e-3}), ("conv", {}), ("vae", {})])
def test_resume_equals_uninterrupted_bitwise(tmp_path, model, options):
    opts = dict(FAST, noise="gaussian:0.3", **options)
    ae.train(model, epochs=4, out=tmp_path / "full", **opts)
    ae.train(model, epochs=2, out=tmp_path / "part", **opts)
    ae.resume(tmp_path / "part", epochs=4, quiet=True)
    a, meta_a = load_weights(tmp_path / "full" / "model.safetensors")
    b, meta_b = load_weights(tmp_path / "part" / "model.safetensors")
    assert meta_a["epoch"] == meta_b["epoch"] == "4"
    assert all(torch.equal(a[k], b[k]) for k in a)
    history = [json.loads(line) for line in (tmp_path / "part" / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]


def test_nonfinite_loss_stops_with_epoch_and_batch_and_keeps_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    val_batches = _val_batches()

    def poisoned(self, z):
        calls["n"] += 1
        # the contract check's one forward, then 4 train + val_batches val calls per epoch
        return {"bad": torch.tensor(float("nan"))} if calls["n"] == 1 + 4 + val_batches + 3 else {}

    monkeypatch.setattr(DenseAutoencoder, "penalties", poisoned)
    with pytest.raises(TrainingError, match=r"epoch 2, batch 3"):
        ae.train("dense", epochs=3, out=tmp_path / "run", **FAST)
    assert calls["n"] > 0
    _, meta = load_weights(tmp_path / "run" / "model.safetensors")
    assert meta["epoch"] == "1"
    assert ae.load_run(tmp_path / "run").model is not None


def test_history_and_tensorboard_written(tmp_path):
    ae.train("dense", epochs=2, out=tmp_path / "run", **FAST)
    lines = (tmp_path / "run" / "history.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert len(lines) == 2 and set(record) >= {"epoch", "train", "val", "seconds"}
    assert set(record["val"]) >= {"loss", "recon"}
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents*"))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["name"] == "dense"


def test_seed_makes_runs_reproducible_and_seeds_differ():
    a = ae.train("dense", epochs=2, seed=1, **FAST).model.encoder[0].weight
    b = ae.train("dense", epochs=2, seed=1, **FAST).model.encoder[0].weight
    c = ae.train("dense", epochs=2, seed=2, **FAST).model.encoder[0].weight
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_early_stopping_stops_before_budget():
    run = ae.train("dense", epochs=200, lr=0.5, optimizer="rmsprop", patience=2, **FAST)
    assert len(run.history) < 200


def test_held_out_validation_and_adadelta():
    run = ae.train("dense", epochs=2, validation="0.25", optimizer="adadelta", **FAST)
    assert run.history[-1]["val"]["loss"] < 0.7


def test_training_leaves_the_callers_global_rng_alone():
    # Regression: fit() called torch.manual_seed, silently resetting the caller's random stream.
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    ae.train("dense", epochs=1, **FAST)
    assert torch.equal(torch.rand(3), expected)


def test_resumed_optimizer_state_keeps_channels_last_strides(tmp_path):
    """Fused Adam pairs elements by memory position: moments must come back with the weights' strides."""
    from autoencoders.config import RunConfig
    from autoencoders.registry import create_model
    from autoencoders.training.checkpoint import load_state, read_config
    from autoencoders.training.trainer import fast_layout, make_optimizer

    ae.train("conv", epochs=1, out=tmp_path / "run", **FAST)
    config = RunConfig.from_dict(read_config(tmp_path / "run"))
    model = fast_layout(create_model("conv", (1, 8, 8)), (1, 8, 8))
    optimizer = make_optimizer(model, config)
    load_state(tmp_path / "run", model, optimizer)
    for param, slots in optimizer.state.items():
        for value in (v for v in slots.values() if torch.is_tensor(v) and v.shape == param.shape):
            assert value.stride() == param.stride()


def test_resume_with_a_new_budget_records_it_in_config_json(tmp_path):
    # Regression: config.json kept the first budget, so `ae reproduce` refused a run extended
    # with `ae train --resume RUN --epochs N` as "a different configuration".
    ae.train("dense", epochs=1, out=tmp_path / "run", **FAST)
    ae.resume(tmp_path / "run", epochs=2, quiet=True)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["epochs"] == 2


def test_optimizer_falls_back_to_foreach_with_every_parameter(monkeypatch):
    # Regression: the fallback reused an exhausted parameter generator after fused Adam failed.
    from autoencoders.training.trainer import make_optimizer

    real_adam = torch.optim.Adam

    def no_fused(params, **kwargs):
        if kwargs.get("fused"):
            list(params)  # consume, as torch's constructor does before it rejects `fused`
            raise RuntimeError("fused=True requires ...")
        return real_adam(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    model = DenseAutoencoder((1, 8, 8), hidden=(), code_size=4)
    optimizer = make_optimizer(model, ae.make_config("dense", "digits"))
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_config_json_is_resolved_and_weights_metadata_only_identifies_them(tmp_path):
    ae.train("dense", epochs=1, out=tmp_path / "run", device="auto", **FAST)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["lr"] == 1e-3 and config["train"]["device"] == "cpu"
    assert config["model"]["options"] == {"code_size": 32, "loss": "bce"}
    assert config["model"]["input_shape"] == [1, 8, 8] and config["data"]["stream"] is False
    _, meta = load_weights(tmp_path / "run" / "model.safetensors")
    assert set(meta) == {"model", "input_shape", "epoch"}
    state = json.loads((tmp_path / "run" / "state" / "trainer.json").read_text())["state"]
    assert set(state) == {"epoch", "step", "best_val", "stale"}
    # the unresolved config is the same run: train(..., resume="auto") reuses it
    assert ae.api.is_finished(ae.make_config("dense", "digits", epochs=1, limit=128, batch_size=32), tmp_path / "run")


def test_a_trainer_json_without_state_or_step_is_refused_before_resuming(tmp_path):
    ae.train("dense", epochs=2, out=tmp_path / "run", **FAST)
    path = tmp_path / "run" / "state" / "trainer.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "state": {k: v for k, v in saved["state"].items() if k != "step"}}))
    with pytest.raises(TrainingError, match="step"):
        ae.resume(tmp_path / "run", epochs=3, quiet=True)
    path.write_text(json.dumps({"optimizer": saved["optimizer"]}))
    with pytest.raises(TrainingError, match="expected an object with 'state' and 'optimizer'"):
        ae.resume(tmp_path / "run", epochs=3, quiet=True)


def test_trainer_on_plain_tensors_with_callbacks_and_max_steps():
    from autoencoders.training import Callback, Trainer

    class Count(Callback):
        batches = 0

        def on_batch_end(self, trainer, batch, n_batches):
            self.batches += 1

    counter = Count()
    model = DenseAutoencoder((1, 8, 8), hidden=(), code_size=4)
    trainer = Trainer(model, ae.TrainConfig(epochs=5, batch_size=16, device="cpu"), callbacks=[counter], max_steps=7)
    history = trainer.fit(torch.rand(64, 1, 8, 8), torch.rand(16, 1, 8, 8))
    assert trainer.state.step == counter.batches == 7 and len(history) == 2 and "val" in history[-1]


def test_max_steps_zero_takes_no_step():
    # Regression: the budget was checked after each step, so max_steps=0 (or a resumed run already
    # at max_steps) took one.
    from autoencoders.training import Trainer

    model = DenseAutoencoder((1, 8, 8), hidden=(), code_size=4)
    before = [p.clone() for p in model.parameters()]
    trainer = Trainer(model, ae.TrainConfig(epochs=2, batch_size=16, device="cpu"), max_steps=0)
    assert trainer.fit(torch.rand(32, 1, 8, 8)) == [] and trainer.state.step == 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(ae.ConfigError, match="max_steps must be None or an int >= 0, got -1"):
        Trainer(model, ae.TrainConfig(device="cpu"), max_steps=-1)


def test_a_loss_that_explodes_without_nan_stops_and_names_the_cure(tmp_path, monkeypatch):
    # Regression: a finite loss growing a million-fold trained on to the end of the budget.
    calls = {"n": 0}

    val_batches = _val_batches()

    def exploding(self, z):
        calls["n"] += 1
        # the contract check's one forward, then 4 train + val_batches val calls per epoch
        return {"blowup": torch.tensor(1e6)} if calls["n"] > 1 + 4 + val_batches + 4 else {}

    monkeypatch.setattr(DenseAutoencoder, "penalties", exploding)
    with pytest.raises(TrainingError, match=r"loss diverged at epoch 3 .*checkpoint of epoch 2 was kept. "
                                            r"Try a lower --lr, or --clip-grad"):
        ae.train("dense", epochs=4, out=tmp_path / "run", **FAST)
    _, meta = load_weights(tmp_path / "run" / "model.safetensors")
    assert meta["epoch"] == "2"


def test_parameters_turned_inf_stop_before_the_checkpoint():
    from autoencoders.training import Callback, Trainer

    class Poison(Callback):  # the last step of epoch 1 leaves an inf weight; the epoch's loss is finite
        def on_batch_end(self, trainer, batch, n_batches):
            if batch == n_batches - 1:
                with torch.no_grad():
                    trainer.model.encoder[0].bias[0] = float("inf")

    model = DenseAutoencoder((1, 8, 8), hidden=(), code_size=4)
    trainer = Trainer(model, ae.TrainConfig(epochs=2, batch_size=16, device="cpu"), callbacks=[Poison()])
    with pytest.raises(TrainingError, match=r"diverged at epoch 1: parameter encoder.0.bias became NaN or inf"):
        trainer.fit(torch.rand(32, 1, 8, 8))


@pytest.mark.parametrize("flags,expected", [(frozenset(), "fp32"), (frozenset({"avx2", "avx512_bf16"}), "bf16"),
                                            (frozenset({"amx_bf16"}), "bf16")])
def test_precision_auto_is_decided_by_the_cpu_and_recorded(tmp_path, monkeypatch, flags, expected):
    from autoencoders.training import setup

    monkeypatch.setattr(setup, "cpu_flags", lambda: flags)
    run = ae.train("dense", epochs=1, out=tmp_path / "run", precision="auto", **FAST)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["precision"] == expected
    assert run.config.train.precision == expected
    trainer = ae.training.Trainer(DenseAutoencoder((1, 8, 8)), ae.TrainConfig(precision="auto", device="cpu"))
    assert trainer.config.precision == expected


def test_a_run_of_precision_auto_is_found_again_and_resumes_as_it_ran(tmp_path, monkeypatch):
    from autoencoders.training import setup

    monkeypatch.setattr(setup, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    ae.train("dense", epochs=1, out=tmp_path / "run", precision="auto", **FAST)
    monkeypatch.setattr(setup, "cpu_flags", lambda: frozenset())  # another machine, without native bf16
    again = ae.train("dense", epochs=1, out=tmp_path / "run", precision="auto", resume="auto", **FAST)
    assert again.config.train.precision == "bf16"  # finished: loaded, not retrained
    resumed = ae.train("dense", epochs=2, out=tmp_path / "run", precision="auto", resume=True, **FAST)
    assert resumed.config.train.precision == "bf16" and [r["epoch"] for r in resumed.history] == [1, 2]


def test_training_flushes_denormals_on_every_intra_op_thread():
    # The flag is per thread: set on the calling thread only, the pool's other threads went on
    # computing denormals (half of a 2-thread op's output below), and Adam's moments decaying
    # through them made every epoch slower than the last.
    import sklearn.manifold  # noqa: F401  (its wheel's own libgomp, loaded beside PyTorch's, as `ae reproduce` does)

    from autoencoders.training import Callback, Trainer

    denormals = torch.full((1 << 20,), 1e-39)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []

    class Probe(Callback):
        def on_batch_end(self, trainer, batch, n_batches):
            seen.append(int((denormals * 1.0 != 0).sum()))

    try:
        assert int((denormals * 1.0 != 0).sum()) == denormals.numel()  # the pool exists, unflushed
        if not torch.set_flush_denormal(False):
            pytest.skip("this CPU has no flush-to-zero flag")
        trainer = Trainer(DenseAutoencoder((1, 8, 8), hidden=(), code_size=4),
                          ae.TrainConfig(epochs=1, batch_size=16, device="cpu"), callbacks=[Probe()])
        trainer.fit(torch.rand(32, 1, 8, 8))
        assert seen == [0, 0]
        assert int((denormals * 1.0 != 0).sum()) == denormals.numel()  # restored after training
    finally:
        torch.set_num_threads(threads)


def test_autocast_refuses_an_undecided_precision():
    from autoencoders.training.setup import autocast

    with pytest.raises(TrainingError, match="resolve_precision"):
        autocast(torch.device("cpu"), "auto")
