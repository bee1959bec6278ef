"""Commands that look inside a run's model: codes, denoise, sample, latent, manifold, interpolate, likelihood.

`sample`, `manifold` and `likelihood` need a variational model (a posterior and a prior);
the others work on any run. Figures are written atomically; errors name the file or the run.
numpy and torch are imported inside the commands: `ae --help` should not wait for torch.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..fileio import write_json
from . import add_run_argument, load_run_arg, nonnegative_int, positive_int, print_json, seed


def register(sub) -> None:
    p = _command(sub, "codes", _codes, "the article's picture of codes (each (8,4,4) code as 4x32)")
    p.add_argument("--n", type=positive_int, default=10, help="codes in the figure")
    p = _command(sub, "denoise", _denoise, "denoise an image, a folder of images or a .npy", output=False)
    p.add_argument("input", nargs="?", help="image file, folder of images or .npy (default: the split)")
    p.add_argument("-o", "--output", help="where the denoised INPUT goes, in the same form")
    p.add_argument("--figure", help="also write noisy-over-denoised rows (.png, .pdf, .svg)")
    p.add_argument("--n", type=positive_int, default=10, help="images in the figure")
    p = _command(sub, "sample", _sample, "images decoded from codes drawn from the prior (VAE)")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument("--seed", type=seed, default=0)
    p = _command(sub, "latent", _latent, "codes of a split coloured by label (PCA/t-SNE above 2-D)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca")
    p.add_argument("--n", type=positive_int, default=None, help="use the first N samples (t-SNE is slow)")
    p = _command(sub, "manifold", _manifold, "decoded grid over the prior's quantiles (2-D VAE)")
    p.add_argument("--n", type=positive_int, default=15, help="grid size (n x n images)")
    p = _command(sub, "interpolate", _interpolate, "decoded codes along the line between two samples")
    p.add_argument("--pair", type=nonnegative_int, nargs=2, default=(0, 1), metavar=("I", "J"), help="sample indices")
    p.add_argument("--steps", type=positive_int, default=10, help="codes decoded along the line, both ends included")
    p = _command(sub, "likelihood", _likelihood, "test ELBO, importance-weighted bound, active units (VAE)",
                 output=False)
    p.add_argument("--k", type=positive_int, default=5000, help="importance samples (5000 for reported numbers)")
    p.add_argument("--batch-size", type=positive_int, default=100, help="images per pass")
    p.add_argument("--chunk", type=positive_int, default=None,
                   help="samples per decoder pass (default: fits ~4096 rows)")
    p.add_argument("--limit", type=positive_int, default=None, help="use the first N samples only")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true", help="print JSON (also written to RUN/likelihood.json)")


def _command(sub, name, func, help_, *, output=True):
    p = sub.add_parser(name, help=help_)
    add_run_argument(p)
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    if output:
        p.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf, .svg)")
    p.set_defaults(func=func)
    return p


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

    run = load_run_arg(args)
    inputs, _, _ = run.split(args.split)
    _save(code_pictures(run.encode(inputs[: args.n])), args.output)


def _sample(args) -> None:
    import torch

    from ..viz.latent import image_grid

    run = load_run_arg(args)
    model = _variational(run, "sample")
    z = model.sample_prior(args.n, torch.Generator(device=run.device).manual_seed(args.seed))
    _save(image_grid(run.decode(z), title=f"{args.n} samples from the prior"), args.output)


def _latent(args) -> None:
    from ..viz.latent import latent_scatter

    run = load_run_arg(args)
    inputs, _, labels = run.split(args.split)
    n = len(inputs) if args.n is None else args.n
    labels = None if labels is None else labels[:n]
    _save(latent_scatter(run.encode(inputs[:n]), labels, method=args.method), args.output)


def _manifold(args) -> None:
    from ..viz.latent import manifold

    run = load_run_arg(args)
    model = _variational(run, "manifold")
    if model.latent_size != 2:
        raise ConfigError(f"ae manifold needs a 2-D latent; {args.run} has {model.latent_size} "
                          "dimensions (train with --latent-size 2, or use `ae latent` / `ae sample`)")
    _save(manifold(run.decode, args.n), args.output)


def _interpolate(args) -> None:
    from ..viz.latent import interpolation_strip

    run = load_run_arg(args)
    inputs, targets, _ = run.split(args.split)
    i, j = args.pair
    if not (0 <= i < len(inputs) and 0 <= j < len(inputs)):
        raise ConfigError(f"--pair {i} {j}: the {args.split} split has samples 0..{len(inputs) - 1}")
    z = run.encode(inputs[[i, j]])
    fig = interpolation_strip(run.decode, z[0], z[1], steps=args.steps, ends=targets[[i, j]].cpu())
    _save(fig, args.output)


def _likelihood(args) -> None:
    from ..evaluation.likelihood import likelihood_report

    run = load_run_arg(args)
    model = _variational(run, "likelihood")
    _, targets, _ = run.split(args.split)  # the data itself (binarized as the run's validation data)
    x = targets if args.limit is None else targets[: args.limit]
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
    from ..data.inputs import read_input, write_output
    from ..training.datachecks import check_targets
    from ..viz.latent import denoising_rows

    run = load_run_arg(args)
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
        print(args.output)
    if args.figure:
        _save(denoising_rows(inputs, denoised, clean, n=args.n), args.figure)
