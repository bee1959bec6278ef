"""CPU seconds of each demo run's test-set passes by rows per pass (EVAL_BATCH's choice): the loss pass
(`evaluate_loss`, which also gives the reconstructions and codes) and the decoding of the codes.

    PYTHONPATH=src python bench/eval_batch.py RUNS OUT.json   # RUNS: ae reproduce's runs/
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    import torch

    from autoencoders.api import load_run
    from autoencoders.models.base import batched
    from autoencoders.training.trainer import evaluate_loss

    sizes, rows = (2048, 1024, 512, 256, 128), []
    for path in sorted(Path(sys.argv[1]).iterdir()):
        run = load_run(path)
        x, y, _ = run.split("test")
        z = run.encode(x)
        evaluate_loss(run.model, x[:1024], y[:1024], batch_size=256)  # warm-up: the first pass sets up kernels
        row = {"run": path.name, "cpu_s": {}}
        for size in sizes:
            cpu = time.process_time()
            evaluate_loss(run.model, x, y, batch_size=size)
            batched(run.model, run.model.decode, z, size)
            row["cpu_s"][str(size)] = round(time.process_time() - cpu, 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {str(s): round(sum(r["cpu_s"][str(s)] for r in rows), 2) for s in sizes}
    report = {"threads": torch.get_num_threads(), "load": round(os.getloadavg()[0], 2), "runs": rows, "total": total}
    Path(sys.argv[2]).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(total))


if __name__ == "__main__":
    main()
