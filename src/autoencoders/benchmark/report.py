"""Run the benchmark over several models and write RESULTS.md + results.json."""

from __future__ import annotations

import datetime

import torch

from ..data import load_dataset
from ..fileio import write_json, write_text
from . import machine
from .suite import bench_case, case, cases


def run_suite(models=None, *, epochs: int = 3, data: str = "mnist", limit: int | None = None,
              out_md=None, out_json=None, bf16: bool | None = None, log=print) -> dict:
    """Benchmark `models` (default: the article's) on `data`; every number comes from this one run."""
    models = list(models or cases())
    bf16 = machine.has_fast_bf16() if bf16 is None else bf16
    train, test = load_dataset(data, "train").images[:limit], load_dataset(data, "test").images
    peak = machine.matmul_peak(torch.float32)
    result = {"date": datetime.date.today().isoformat(), "data": data, "epochs": epochs,
              "machine": machine.cpu_description(), "peak_gflops_fp32": peak, "rows": []}
    if bf16:
        result["peak_gflops_bf16"] = machine.matmul_peak(torch.bfloat16)
    for name in models:
        as_seq = case(name)[1].get("as_sequence")
        x, xt = (train[:, 0], test[:, 0]) if as_seq else (train, test)
        row = bench_case(name, x.contiguous(), xt.contiguous(), epochs, peak, bf16=bf16)
        result["rows"].append(row)
        log(f"{name:<13} toolkit {row['toolkit_s']:.2f}s/epoch  idiomatic {row['idiomatic_s']:.2f}s/epoch  "
            f"x{row['speedup']:.2f}  {100 * row['toolkit_peak_frac']:.1f}% of peak")
    result["peak_rss_mb"] = machine.peak_rss_mb()
    if out_json:
        write_json(out_json, result)
    if out_md:
        write_text(out_md, to_markdown(result))
    return result


def to_markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Benchmark results", "",
        f"{r['date']}; {m['processor']}, {m['threads']} threads, ISA {', '.join(m['isa']) or 'baseline'}; "
        f"torch {m['torch']}; data `{r['data']}`; median of {r['epochs']} epochs after one warm-up epoch.", "",
        f"Measured matmul peak in this run: **{r['peak_gflops_fp32']:.0f} GFLOP/s fp32**"
        + (f", {r['peak_gflops_bf16']:.0f} GFLOP/s bf16" if "peak_gflops_bf16" in r else "")
        + f". Peak resident memory of the whole run: {r['peak_rss_mb']:.0f} MB.", "",
        "FLOPs: forward multiply-adds x 2 per layer (PyTorch's FlopCounterMode), a training step = 3x forward. "
        "Ratios are the evidence; absolute seconds on a shared machine are not.", "",
        "| model | batch | GFLOP/epoch | toolkit s/epoch | idiomatic s/epoch | speed-up | toolkit % peak | "
        "idiomatic % peak | toolkit samples/s | test BCE toolkit / idiomatic | eval samples/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['model']} | {row['batch_size']} | {row['gflop_per_epoch']:.1f} | {row['toolkit_s']:.2f} | "
            f"{row['idiomatic_s']:.2f} | **{row['speedup']:.2f}x** | {100 * row['toolkit_peak_frac']:.1f}% | "
            f"{100 * row['idiomatic_peak_frac']:.1f}% | {row['toolkit_samples_s']:.0f} | "
            f"{row['toolkit_test_bce']:.4f} / {row['idiomatic_test_bce']:.4f} | {row['eval_samples_s']:.0f} |")
    for row in r["rows"]:
        if "iw_images_s" in row:
            lines += ["", f"{row['model']}: importance-weighted bound (k={row['iw_k']}) at {row['iw_images_s']:.1f} "
                          f"test images/s, i.e. {10000 / row['iw_images_s']:.0f} s for 10,000 images (untrained "
                          "weights; the cost does not depend on them)."]
    if any("bf16_s" in row for row in r["rows"]):
        lines += ["", "| model | fp32 s/epoch | bf16 s/epoch | test BCE fp32 / bf16 |", "|---|---|---|---|"]
        lines += [f"| {row['model']} | {row['toolkit_s']:.2f} | {row['bf16_s']:.2f} | "
                  f"{row['toolkit_test_bce']:.4f} / {row['bf16_test_bce']:.4f} |"
                  for row in r["rows"] if "bf16_s" in row]
    return "\n".join(lines) + "\n"
