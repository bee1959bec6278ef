"""Corruptions for denoising: parsing, determinism, range, and the rates they promise."""

import pytest
import torch

from autoencoders.data import Noise, parse_noise
from autoencoders.errors import ConfigError

SPECS = ["gaussian:0.5", "masking:0.3", "salt-pepper:0.2"]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("spec", SPECS)
def test_parse_round_trip(spec):
    noise = parse_noise(spec)
    assert isinstance(noise, Noise) and str(noise) == spec and parse_noise(str(noise)) == noise


@pytest.mark.parametrize("spec", [None, "", "none", "None"])
def test_no_noise(spec):
    assert parse_noise(spec) is None


@pytest.mark.parametrize("spec, match", [
    ("gausian:0.5", "bad noise spec 'gausian:0.5'.*did you mean 'gaussian'.*masking, salt-pepper"),
    ("salt_pepper:0.1", "did you mean 'salt-pepper'"),
    ("masking", "bad noise spec 'masking': give a level"),
    ("masking:abc", "level 'abc' is not a number"),
    ("masking:1.5", "not a probability in \\[0, 1\\]"),
    ("gaussian:-1", "not a standard deviation >= 0"),
    ("gaussian:nan", "finite"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        parse_noise(spec)


@pytest.mark.parametrize("spec", SPECS)
def test_deterministic_in_range_and_clean_input_untouched(spec):
    noise = parse_noise(spec)
    x = torch.rand(64, 1, 8, 8, generator=gen(1))
    clean = x.clone()
    a, b, c = noise(x, gen(0)), noise(x, gen(0)), noise(x, gen(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype and a.device == x.device
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(x, clean)


@pytest.mark.parametrize("spec", SPECS)
def test_global_rng_without_generator(spec):
    noise, x = parse_noise(spec), torch.full((100,), 0.5)
    torch.manual_seed(3)
    a = noise(x)
    torch.manual_seed(3)
    assert torch.equal(a, noise(x))


def test_masking_fraction():
    x = torch.ones(200_000)
    zeros = (Noise("masking", 0.3)(x, gen()) == 0).float().mean().item()
    assert abs(zeros - 0.3) < 0.01


def test_salt_pepper_fraction_and_balance():
    out = Noise("salt-pepper", 0.2)(torch.full((200_000,), 0.5), gen())
    salt, pepper = (out == 1).float().mean().item(), (out == 0).float().mean().item()
    assert abs(salt + pepper - 0.2) < 0.01 and abs(salt - pepper) < 0.01
    assert set(out.unique().tolist()) == {0.0, 0.5, 1.0}


def test_gaussian_is_added_then_clipped():
    x = torch.full((100_000,), 0.5)
    assert torch.equal(Noise("gaussian", 0.0)(x, gen()), x)
    out = Noise("gaussian", 0.1)(x, gen())
    assert abs(out.mean().item() - 0.5) < 0.005 and abs(out.std().item() - 0.1) < 0.005
    assert float(Noise("gaussian", 5.0)(x, gen()).max()) == 1.0


def test_noise_validates_directly():
    with pytest.raises(ConfigError, match="unknown noise kind 'blur'"):
        Noise("blur", 0.1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("spec", SPECS)
def test_cuda(spec):
    noise, x = parse_noise(spec), torch.rand(16, 1, 28, 28, generator=gen(2))
    on_gpu = noise(x.cuda(), gen(0))  # a CPU generator: the same draws as on the CPU
    assert on_gpu.is_cuda and torch.equal(on_gpu.cpu(), noise(x, gen(0)))
    cuda_gen = torch.Generator(device="cuda")
    a = noise(x.cuda(), cuda_gen.manual_seed(0))
    assert torch.equal(a, noise(x.cuda(), cuda_gen.manual_seed(0)))
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert noise(x.cuda()).is_cuda
