"""What each piece of `ae reproduce`'s evaluation that a profile sizes costs on MNIST, and what it
reads, by size: wall and CPU seconds and the value (an accuracy, a bound) for bench/REPRODUCE_EVAL.md.

    PYTHONPATH=src python bench/reproduce_eval_pieces.py data OUT.json   # the data's own baselines
    PYTHONPATH=src python bench/reproduce_eval_pieces.py runs RUNS OUT.json  # per run (ae reproduce's runs/)

`data`: raw-pixel probes, t-SNE of raw pixels, PCA and its probes, JPEG (what data_baselines.py
caches). `runs`: the probes of each model's codes, the t-SNE of the dense net's codes, the VAE's
importance-weighted bound (measured afresh for every report). Threads: the `ae` command's choice
for this machine's load, unless OMP_NUM_THREADS is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings


def main() -> None:
    from autoencoders.cli.cpu import configure

    configure()
    import torch

    rows = []

    def timed(label, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn()
        rows.append({"piece": label, "wall_s": round(time.perf_counter() - wall, 2),
                     "cpu_s": round(time.process_time() - cpu, 2),
                     "value": value if isinstance(value, (int, float, dict)) else None,
                     "load": round(os.getloadavg()[0], 2), "threads": torch.get_num_threads()})
        print(json.dumps(rows[-1]), flush=True)
        return value

    if sys.argv[1] == "data":
        data_pieces(timed)
    else:
        run_pieces(timed, sys.argv[2])
    with open(sys.argv[-1], "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)


def data_pieces(timed, probe_sizes=(1000, 2000, 5000, 10000), tsne_sizes=(500, 1000, 2000),
                jpeg_sizes=(250, 500, 1000)):
    import torch

    from autoencoders.data import load_dataset
    from autoencoders.data.derived import checksum
    from autoencoders.evaluation import baselines
    from autoencoders.evaluation.probes import knn_probe, linear_probe
    from autoencoders.viz.latent import project_2d

    tr = timed("load train", lambda: load_dataset("mnist", "train"))
    te = timed("load test", lambda: load_dataset("mnist", "test"))
    timed("checksum train", lambda: checksum(tr) and 0)
    timed("checksum test", lambda: checksum(te) and 0)
    timed("mean image", lambda: baselines.mean_image(tr.images, te.images)["bce"])
    timed("entropy floor", lambda: baselines.entropy_floor(te.images))
    perm = torch.randperm(len(tr), generator=torch.Generator().manual_seed(0))
    for n in probe_sizes:
        r = perm[:n]
        timed(f"pixel linear probe n={n}", lambda: linear_probe(tr.images[r], tr.labels[r], te.images, te.labels))
        timed(f"pixel kNN probe n={n}", lambda: knn_probe(tr.images[r], tr.labels[r], te.images, te.labels))
    for n in tsne_sizes:
        timed(f"t-SNE raw pixels n={n}", lambda: float(project_2d(te.images[:n], "tsne", 0)[0, 0]))
    for k in (2, 32, 128):
        out = timed(f"PCA fit k={k}", lambda: baselines.pca_baseline(tr.images, te.images, k, seed=0))
        for n in probe_sizes:
            r = perm[:n].numpy()
            timed(f"PCA-{k} linear probe n={n}", lambda: linear_probe(out[1][r], tr.labels[r], out[2], te.labels))
            timed(f"PCA-{k} kNN probe n={n}", lambda: knn_probe(out[1][r], tr.labels[r], out[2], te.labels))
    for n in jpeg_sizes:
        for b in (32, 128):
            timed(f"JPEG {b} B n={n}", lambda: baselines.jpeg_baseline(te.images, b, n=n)["bce"])


def run_pieces(timed, root):
    import torch

    from autoencoders.api import load_run
    from autoencoders.evaluation.likelihood import likelihood_report
    from autoencoders.evaluation.probes import probes
    from autoencoders.viz.latent import project_2d

    for key in ("dense", "conv", "denoise", "lstm", "vae"):
        run = load_run(f"{root}/fast-{key}")
        tr_in, _, tr_y = run.split("train")
        te_in, _, te_y = run.split("test")
        z_test = timed(f"{key} encode test", lambda: run.encode(te_in))
        perm = torch.randperm(len(tr_in), generator=torch.Generator().manual_seed(0))
        for n in (1000, 2000, 5000):
            r = perm[:n]
            z = timed(f"{key} encode train n={n}", lambda: run.encode(tr_in[r]))
            timed(f"{key} probes n={n}", lambda: probes(z, tr_y[r], z_test, te_y))
        if key == "dense":
            for n in (500, 1000):
                timed(f"dense t-SNE codes n={n}", lambda: float(project_2d(z_test[:n], "tsne", 0)[0, 0]))
        if key == "vae":
            for k, n in ((100, 1000), (200, 1000), (500, 500), (500, 1000)):
                def bound():
                    report = likelihood_report(run.model, te_in[:n], k=k, seed=0)
                    return {"elbo": report["elbo"], "iw_bound": report["iw_bound"]}

                timed(f"vae IW k={k} n={n}", bound)


if __name__ == "__main__":
    main()
