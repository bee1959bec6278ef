"""ONNX files run in onnxruntime and TorchScript files reload, matching PyTorch; code tables.

Tolerance: atol = rtol = 1e-5. Both sides compute in float32, but onnxruntime's GEMM kernels
(MLAS) sum the 64 (or code-size) products of each output in another order than PyTorch's, so
outputs differ by a few float32 ulps (measured: <= 5e-7 on codes of magnitude ~1, ~1e-7 on
probabilities, which the sigmoid compresses); 1e-5 is ~20x that margin and still far below
anything visible (1/255 is one grey level).
"""

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.errors import ConfigError
from autoencoders.export import export_model, save_table

ort = pytest.importorskip("onnxruntime", reason="ONNX tests need the export extra: pip install '.[export]'")
TOL = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def run():
    return ae.train("dense", data="digits", epochs=2, limit=256, batch_size=64, code_size=8, quiet=True)


def reference(model, part, x):
    with torch.no_grad():
        return {"encoder": model.encode, "decoder": model.decode,
                "autoencoder": lambda v: model.decode(model.encode(v))}[part](x).numpy()


def inputs(part, n):
    g = torch.Generator().manual_seed(n)
    return torch.rand(n, 8, generator=g) * 3 if part == "decoder" else torch.rand(n, 1, 8, 8, generator=g)


@pytest.mark.parametrize("part", ["encoder", "decoder", "autoencoder"])
def test_onnx_matches_pytorch_with_a_dynamic_batch(run, part, tmp_path):
    path = export_model(run, tmp_path / f"{part}.onnx", part=part)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # one file: no external data, no temp left
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == ("z" if part == "decoder" else "x") and isinstance(inp.shape[0], str)
    for n in (1, 37):  # neither is the export's example batch (2)
        x = inputs(part, n)
        (got,) = session.run(None, {inp.name: x.numpy()})
        np.testing.assert_allclose(got, reference(run.model, part, x), **TOL)
    if part != "encoder":
        assert 0 <= got.min() and got.max() <= 1  # probabilities: the sigmoid is in the graph


# PyTorch 2.13 deprecates torch.jit (trace, save, load) in favour of torch.export; it still works
@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("part", ["encoder", "decoder", "autoencoder"])
def test_torchscript_round_trip(run, part, tmp_path):
    path = export_model(run, tmp_path / f"{part}.pt", part=part)
    loaded = torch.jit.load(str(path))
    x = inputs(part, 5)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), reference(run.model, part, x))


def test_export_errors_name_the_problem(run, tmp_path):
    with pytest.raises(ConfigError, match="cannot infer the export format"):
        export_model(run, tmp_path / "model.bin")
    with pytest.raises(ConfigError, match="did you mean 'encoder'"):
        export_model(run, tmp_path / "model.onnx", part="encoders")
    assert not list(tmp_path.iterdir())


def test_code_tables_round_trip(tmp_path):
    codes = np.random.default_rng(0).random((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(np.load(save_table(tmp_path / "c.npy", codes)), codes)
    csv = np.loadtxt(save_table(tmp_path / "c.csv", codes), delimiter=",", skiprows=1, dtype=np.float32)
    np.testing.assert_array_equal(csv, codes)  # 9 significant digits round-trip float32 exactly
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "z0,z1,z2"
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(save_table(tmp_path / "c.parquet", codes))
    assert table.column_names == ["z0", "z1", "z2"]
    np.testing.assert_array_equal(np.column_stack([table[c].to_numpy() for c in table.column_names]), codes)
    with pytest.raises(ConfigError, match="cannot infer the table format"):
        save_table(tmp_path / "c.txt", codes)


ONNX_FAMILIES = ("conv", "conv-vae", "vae", "lstm")  # one per model class besides dense (above)


@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ae.list_models())
def test_every_registered_model_exports(name, tmp_path):
    """The whole autoencoder, untrained (Keras init). TorchScript for every model; ONNX for one
    model of each class (a recurrent export takes ~7 s here; all ten matched within 2e-7 by hand)."""
    from autoencoders.registry import example_shape

    model = ae.create_model(name, example_shape(name)).eval()
    x = torch.rand(3, *example_shape(name), generator=torch.Generator().manual_seed(0))
    expected = reference(model, "autoencoder", x)
    scripted = torch.jit.load(str(export_model(model, tmp_path / "m.pt")))
    np.testing.assert_allclose(scripted(x).detach().numpy(), expected, **TOL)  # LSTM: ~1e-7 off
    if name in ONNX_FAMILIES:
        onnx_file = export_model(model, tmp_path / "m.onnx")
        session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], expected, **TOL)


def test_onnx_exports_build_the_registry_once_and_write_the_same_files(run, tmp_path, monkeypatch):
    # torch.onnx.export built its registry of ONNX functions for every export (~1 s each): exports now
    # share one; the files must be byte for byte those of the plain export, and the plain export is
    # what runs where torch's internal registry is not found
    import contextlib
    import sys

    from torch.onnx._internal.exporter._registration import ONNXRegistry

    from autoencoders import export

    original = ONNXRegistry.__dict__["from_torchlib"]
    builds = []

    def counted(cls, *args, **kwargs):
        builds.append(kwargs)
        return original.__func__(cls, *args, **kwargs)

    monkeypatch.setattr(ONNXRegistry, "from_torchlib", classmethod(counted))
    monkeypatch.setattr(export, "_REGISTRIES", {})
    parts = ("encoder", "decoder", "autoencoder")
    shared = [export_model(run, tmp_path / f"shared-{p}.onnx", part=p).read_bytes() for p in parts]
    assert len(builds) == 1
    assert ONNXRegistry.__dict__["from_torchlib"].__func__ is counted  # put back after each export
    with monkeypatch.context() as m:
        m.setattr(export, "_shared_registry", contextlib.nullcontext)
        plain = [export_model(run, tmp_path / f"plain-{p}.onnx", part=p).read_bytes() for p in parts]
    assert len(builds) == 4
    assert shared == plain
    monkeypatch.setitem(sys.modules, "torch.onnx._internal.exporter._registration", None)  # an import that fails
    assert export_model(run, tmp_path / "fallback.onnx", part="decoder").read_bytes() == plain[1]
    assert len(builds) == 5
