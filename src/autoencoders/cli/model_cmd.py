"""Commands that look inside a run's model: codes, denoise, sample, latent, manifold, interpolate, likelihood.

`sample`, `manifold` and `likelihood` need a variational model (a posterior and a prior);
the others work on any run. Figures are written atomically; errors name the file or the run.
numpy and torch are imported inside the commands: `ae --help` should not wait for torch.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, DataError
from ..fileio import atomic_path, write_json
from . import print_json, seed
from .run_cmd import save_npy

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def register(sub) -> None:
    p = _command(sub, "codes", _codes, "the article's picture of codes (each (8,4,4) code as 4x32)")
    p.add_argument("--n", type=int, default=10, help="codes in the figure")
    p = _command(sub, "denoise", _denoise, "denoise an image, a folder of images or a .npy", output=False)
    p.add_argument("input", nargs="?", help="image file, folder of images or .npy (default: the split)")
    p.add_argument("-o", "--output", help="where the denoised INPUT goes, in the same form")
    p.add_argument("--figure", help="also write noisy-over-denoised rows (.png, .pdf, .svg)")
    p.add_argument("--n", type=int, default=10, help="images in the figure")
    p = _command(sub, "sample", _sample, "images decoded from codes drawn from the prior (VAE)")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=seed, default=0)
    p = _command(sub, "latent", _latent, "codes of a split coloured by label (PCA/t-SNE above 2-D)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca")
    p.add_argument("--n", type=int, default=None, help="use the first N samples (t-SNE is slow)")
    p = _command(sub, "manifold", _manifold, "decoded grid over the prior's quantiles (2-D VAE)")
    p.add_argument("--n", type=int, default=15, help="grid size (n x n images)")
    p = _command(sub, "interpolate", _interpolate, "decoded codes along the line between two samples")
    p.add_argument("--pair", type=int, nargs=2, default=(0, 1), metavar=("I", "J"), help="sample indices")
    p.add_argument("--steps", type=int, default=10)
    p = _command(sub, "likelihood", _likelihood, "test ELBO, importance-weighted bound, active units (VAE)",
                 output=False)
    p.add_argument("--k", type=int, default=5000, help="importance samples (5000 for reported numbers)")
    p.add_argument("--batch-size", type=int, default=100, help="images per pass")
    p.add_argument("--chunk", type=int, default=None, help="samples per decoder pass (default: fits ~4096 rows)")
    p.add_argument("--limit", type=int, default=None, help="use the first N samples only")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true", help="print JSON (also written to RUN/likelihood.json)")


def _command(sub, name, func, help_, *, output=True):
    p = sub.add_parser(name, help=help_)
    p.add_argument("run", help="run directory written by `ae train`")
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    if output:
        p.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf, .svg)")
    p.set_defaults(func=func)
    return p


def _load(args):
    from ..api import load_run

    return load_run(args.run, device=args.device)


def _save(fig, path) -> None:
    from ..viz import save_figure

    save_figure(fig, path)
    print(path)


def _variational(run, command: str):
    from ..evaluation.likelihood import require_variational

    require_variational(run.model, f"ae {command}", run.config.model.name)
    return run.model


def _codes(args) -> None:
    from ..viz.latent import code_pictures

    run = _load(args)
    inputs, _, _ = run.split(args.split)
    _save(code_pictures(run.encode(inputs[: args.n])), args.output)


def _sample(args) -> None:
    import torch

    from ..viz.latent import image_grid

    run = _load(args)
    model = _variational(run, "sample")
    z = model.sample_prior(args.n, torch.Generator(device=run.device).manual_seed(args.seed))
    _save(image_grid(run.decode(z), title=f"{args.n} samples from the prior"), args.output)


def _latent(args) -> None:
    from ..viz.latent import latent_scatter

    run = _load(args)
    inputs, _, labels = run.split(args.split)
    n = args.n or len(inputs)
    labels = None if labels is None else labels[:n]
    _save(latent_scatter(run.encode(inputs[:n]), labels, method=args.method), args.output)


def _manifold(args) -> None:
    from ..viz.latent import manifold

    run = _load(args)
    model = _variational(run, "manifold")
    if model.latent_size != 2:
        raise ConfigError(f"ae manifold needs a 2-D latent; {args.run} has {model.latent_size} "
                          "dimensions (train with --latent-size 2, or use `ae latent` / `ae sample`)")
    _save(manifold(run.decode, args.n), args.output)


def _interpolate(args) -> None:
    from ..viz.latent import interpolation_strip

    run = _load(args)
    inputs, targets, _ = run.split(args.split)
    i, j = args.pair
    if not (0 <= i < len(inputs) and 0 <= j < len(inputs)):
        raise ConfigError(f"--pair {i} {j}: the {args.split} split has samples 0..{len(inputs) - 1}")
    z = run.encode(inputs[[i, j]])
    fig = interpolation_strip(run.decode, z[0], z[1], steps=args.steps, ends=targets[[i, j]].cpu())
    _save(fig, args.output)


def _likelihood(args) -> None:
    from ..evaluation.likelihood import likelihood_report

    run = _load(args)
    model = _variational(run, "likelihood")
    _, targets, _ = run.split(args.split)  # the data itself (binarized as the run's validation data)
    x = targets[: args.limit] if args.limit else targets
    report = likelihood_report(model, x, k=args.k, batch_size=args.batch_size, chunk=args.chunk, seed=args.seed)
    report = {"split": args.split, "model": run.config.model.name, **report}
    write_json(run.path / "likelihood.json", report)
    if args.json:
        print_json(report)
        return
    for key in ("model", "split", "n", "k", "elbo", "iw_bound", "nll_iw", "active_units", "latent_size", "kl"):
        value = report[key]
        print(f"{key:>14}: {value:.3f}" if isinstance(value, float) else f"{key:>14}: {value}")


def _denoise(args) -> None:
    from ..training.datachecks import check_targets
    from ..viz.latent import denoising_rows

    run = _load(args)
    if args.input is None:
        if not args.figure:
            raise ConfigError("give INPUT and -o OUTPUT, and/or --figure FIG (without INPUT the "
                              "figure shows the run's own noisy split)")
        inputs, clean, _ = run.split(args.split)
        inputs, clean = inputs[: args.n].cpu(), clean[: args.n].cpu()
    else:
        if not args.output:
            raise ConfigError(f"-o OUTPUT is required with INPUT {args.input}")
        inputs, clean = read_input(Path(args.input), run.model.input_shape), None
        check_targets(run.model, inputs, inputs[:0], args.input)  # the same range rule as training
    denoised = run.reconstruct(inputs)
    if args.input is not None:
        write_output(Path(args.input), Path(args.output), denoised)
    if args.figure:
        _save(denoising_rows(inputs, denoised, clean, n=args.n), args.figure)


def read_input(path: Path, shape: tuple) -> torch.Tensor:
    """An image file, a folder of images or a .npy -> (N, *shape) float32, checked against `shape`."""
    import torch

    if path.is_dir():
        files = _image_files(path)
        return torch.stack([_read_image(f, shape) for f in files])
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".npy":
        return _read_npy(path, shape)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _read_image(path, shape)[None]
    raise DataError(f"{path}: unsupported input '{path.suffix}'; give an image, a folder of images or a .npy")


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return files


def _read_image(path: Path, shape: tuple) -> torch.Tensor:
    """One image -> (C, H, W) in [0, 1], decoded as training decodes image folders."""
    import torch

    from ..data import files

    if len(shape) != 3:
        raise DataError(f"{path}: this run takes sequences {shape}, not images; give a .npy")
    pixels = files.image_pixels(path, shape[0])
    if pixels.shape[1:] != tuple(shape[1:]):
        raise DataError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[2]} (HxW) but the run takes "
                        f"{shape[1]}x{shape[2]}; resize it first")
    return torch.from_numpy(pixels)


def _read_npy(path: Path, shape: tuple) -> torch.Tensor:
    """A batch (N, *shape) or one sample `shape`; (N, H, W) / (H, W) also fit 1-channel image runs.

    Images are scaled and checked as training data is (uint8 or integers 0..255 -> /255, floats
    in [0, 1], no NaN); sequences must be finite.
    """
    import numpy as np
    import torch

    from ..data import files

    arr = files.load_array(path)
    if len(shape) == 3:
        arr = files.unit_range(arr, path)
    elif arr.dtype.kind not in "biuf" or not np.isfinite(arr).all():
        raise DataError(f"{path}: sequences must be finite numbers (NaN or infinite values, or dtype {arr.dtype})")
    arr = arr.astype(np.float32)
    if arr.shape == shape:
        return torch.from_numpy(arr[None])
    if arr.shape[1:] == shape:
        return torch.from_numpy(arr)
    if len(shape) == 3 and shape[0] == 1 and arr.shape[-2:] == shape[1:] and arr.ndim in (2, 3):
        return torch.from_numpy(arr.reshape(-1, *shape))
    raise DataError(f"{path}: array of shape {arr.shape} does not hold samples of the run's shape {shape}")


def write_output(source: Path, output: Path, x: torch.Tensor) -> None:
    """Write x : (N, *shape) in the form of `source`: a .npy of its shape, an image, or a folder."""
    import numpy as np

    if source.suffix.lower() == ".npy":
        if output.suffix.lower() != ".npy":
            raise DataError(f"{output}: INPUT is a .npy, so OUTPUT must be a .npy too")
        original = np.load(source, allow_pickle=False, mmap_mode="r").shape
        save_npy(output, x.numpy().astype(np.float32).reshape(original))
    elif source.is_dir():
        if output.exists() and not output.is_dir():
            raise DataError(f"{output}: INPUT is a folder, so OUTPUT must be a folder (this is a file)")
        for path, image in zip(_image_files(source), x):
            _write_image(output / path.name, image)
    else:
        _write_image(output, x[0])
    print(output)


def _write_image(path: Path, image: torch.Tensor) -> None:
    import numpy as np

    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown image format '{path.suffix}'; use .png, .jpg, ...")
    pixels = (image.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt)
