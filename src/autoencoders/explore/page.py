"""The explorer page: one self-contained HTML file (runtime, models, data and code inlined).

It opens from file:// with no server; a Content-Security-Policy forbids every fetch
(`default-src 'none'`), so the page provably loads nothing: the wasm is compiled from bytes
(`'wasm-unsafe-eval'`), images are drawn on canvases.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
from ..fileio import write_text
from .payload import anomaly_payload, picture_size, run_payload, strip, strip_samples, unsupported
from .runtime import load_runtime

CSP = ("default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; connect-src 'none'; worker-src 'none'; base-uri 'none'; form-action 'none'")
# concatenated in this order
SCRIPTS = ("util.js", "pad.js", "anomaly.js", "views.js", "latent.js", "directions.js", "denoise.js", "explorer.js")


def page_payload(runs: list, *, seed: int = 0) -> dict:
    """The page's data: the shared test strip, the runs it shows and the runs it skips (with why).

    runs : [(name, api.Run)]; the first drawable run fixes the pad's size (H, W).
    """
    shown, skipped, size, first, objects = [], [], None, None, []
    for name, run in runs:
        reason = unsupported(run)
        if reason is None and size is not None and picture_size(run) != size:
            reason = f"draws {picture_size(run)} pictures; the pad is {size} (from {first})"
        if reason is not None:
            skipped.append({"name": name, "reason": reason})
            continue
        size, first = size or picture_size(run), first or name
        shown.append(run_payload(run, name, seed=seed))
        objects.append(run)
    if not shown:
        raise ConfigError("none of the runs can be shown: " + "; ".join(f"{s['name']} {s['reason']}" for s in skipped))
    first_run = next(run for name, run in runs if name == first)
    images = strip(first_run)
    for entry, run in zip(shown, objects):  # a calibrated run's detector, with `ae score`'s numbers for the strip
        entry["anomaly"] = anomaly_payload(run, strip_samples(images, run)) if images["images"] else None
    return {"size": list(size), "strip": images, "runs": shown, "skipped": skipped}


def render(payload: dict, *, title: str = "Autoencoder explorer") -> str:
    """The whole page as text: the template with the runtime, the payload and the scripts inlined."""
    runtime = load_runtime()
    static = resources.files(__package__) / "static"
    script = runtime.script + "\n" + "\n".join((static / name).read_text("utf-8") for name in SCRIPTS)
    payload = dict(payload, runtime={"name": "onnxruntime-web", "version": runtime.version,
                                     "sha256": runtime.sha256})
    fields = {
        "TITLE": html.escape(title), "CSP": CSP, "STYLE": (static / "explorer.css").read_text("utf-8"),
        "PAYLOAD": _script_safe(json.dumps(payload, separators=(",", ":"))),
        "WASM": runtime.wasm_gzip_base64, "SCRIPT": _checked_script(script),
    }
    page = (static / "explorer.html").read_text("utf-8")
    return re.sub(r"%%([A-Z]+)%%", lambda m: fields[m.group(1)], page)  # one pass: no re-substitution


def write_page(runs: list, out, *, title: str = "Autoencoder explorer", seed: int = 0) -> dict:
    """Build the page for `runs` ([(name, api.Run)]) and write it to `out` (atomically).

    Returns {'path', 'bytes', 'runs': names shown, 'skipped': [{'name', 'reason'}]}.
    """
    payload = page_payload(runs, seed=seed)
    text = render(payload, title=title)
    out = Path(out)
    write_text(out, text)
    return {"path": out, "bytes": out.stat().st_size, "runs": [r["name"] for r in payload["runs"]],
            "skipped": payload["skipped"]}


def _script_safe(json_text: str) -> str:
    """JSON that cannot end its <script> element early ('<\\/' is '</' in JSON strings)."""
    return json_text.replace("</", "<\\/")


def _checked_script(code: str) -> str:
    if "</script" in code.lower():  # code cannot be escaped like JSON; none of ours contains it
        raise ConfigError("an inlined script contains '</script'; it cannot be embedded in the page")
    return code
