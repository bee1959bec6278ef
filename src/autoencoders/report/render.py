"""The report as Markdown and as one self-contained HTML file (figures embedded, nothing fetched).

Both are rendered from the same list of blocks, built from `results.json` by `report_blocks`.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from ..fileio import write_text
from .sections import report_blocks

CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
       "table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;"
       "padding:.25em .5em;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
       "figure{margin:1.2em 0}img{max-width:100%}figcaption{color:#444;font-size:.9em}code{background:#f5f5f5}")


def write_report(results: dict, out) -> tuple[Path, Path]:
    """Write `out/report.md` (figures linked) and `out/report.html` (figures inlined as data URIs)."""
    out = Path(out)
    blocks = report_blocks(results)
    md, page = to_markdown(blocks), to_html(blocks, out)
    write_text(out / "report.md", md)
    write_text(out / "report.html", page)
    return out / "report.md", out / "report.html"


def to_markdown(blocks: list[tuple]) -> str:
    parts = []
    for kind, *args in blocks:
        if kind == "h":
            parts.append("#" * args[0] + " " + args[1])
        elif kind == "p":
            parts.append(args[0])
        elif kind == "code":
            parts.append("```\n" + args[0] + "\n```")
        elif kind == "table":
            header, rows = args
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
            parts.append("\n".join(lines))
        elif kind == "link":
            parts.append(f"[{args[1]}]({args[0]})")
        elif kind == "fig":
            path, caption = args
            parts.append(f"![{caption}]({path})\n\n*{caption}*")
    return "\n\n".join(parts) + "\n"


def to_html(blocks: list[tuple], root: Path) -> str:
    body = []
    for kind, *args in blocks:
        if kind == "h":
            body.append(f"<h{args[0]}>{_inline(args[1])}</h{args[0]}>")
        elif kind == "p":
            body.append(f"<p>{_inline(args[0])}</p>")
        elif kind == "code":
            body.append(f"<pre><code>{html.escape(args[0])}</code></pre>")
        elif kind == "table":
            header, rows = args
            head = "".join(f"<th>{_inline(h)}</th>" for h in header)
            cells = "".join("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif kind == "link":
            body.append(f'<p><a href="{html.escape(args[0])}">{_inline(args[1])}</a></p>')
        elif kind == "fig":
            path, caption = args
            body.append(f'<figure><img src="{_data_uri(root / path)}" alt="{html.escape(caption)}">'
                        f"<figcaption>{_inline(caption)}</figcaption></figure>")
    title = next((a[1] for k, *a in blocks if k == "h"), "report")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _data_uri(path: Path) -> str:
    mime = {"png": "image/png", "svg": "image/svg+xml", "jpg": "image/jpeg"}[path.suffix.lstrip(".")]
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _inline(text: str) -> str:
    """Escape, then render `code` spans and **bold** (the only inline markup the blocks use)."""
    out = html.escape(text)
    parts = out.split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
