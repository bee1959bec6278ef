"""The report as Markdown and as one self-contained HTML file (figures embedded, nothing fetched).

Both come from the same list of blocks, built from `Results` (results.json) by `report_blocks`:
the blocks become Markdown, and the HTML is that Markdown rendered by the `markdown` library
(tables extension) with each figure's path replaced by a data URI, so the two never disagree on
markup.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from ..fileio import write_text
from .results import Results
from .sections import report_blocks

# The results table is wider than a laptop window: it scrolls inside its own box (display:block)
# instead of pushing the page sideways, with a smaller font and wrapping header cells.
CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
       "table{display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;margin:1em 0;font-size:.8em}"
       "td,th{border:1px solid #ccc;padding:.25em .45em;text-align:right}th{background:#f3f3f3;min-width:5em}"
       "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
       "p>em:only-child{color:#444;font-size:.9em}code{background:#f5f5f5}")


def write_report(results: Results, out) -> tuple[Path, Path]:
    """Write `out/report.md` (figures linked) and `out/report.html` (figures inlined as data URIs)."""
    out = Path(out)
    blocks = report_blocks(results)
    write_text(out / "report.md", to_markdown(blocks))
    write_text(out / "report.html", to_html(blocks, out))
    return out / "report.md", out / "report.html"


def to_markdown(blocks: list[tuple], image_src=lambda path: path) -> str:
    """Blocks as Markdown; `image_src(path)` is where each figure's image is taken from."""
    return "\n\n".join(MARKDOWN[kind](*args, image_src=image_src) for kind, *args in blocks) + "\n"


def _table(header, rows, **_) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# Each kind of block and its Markdown: (kind, *args) -> MARKDOWN[kind](*args, image_src=...).
MARKDOWN = {
    "h": lambda level, text, **_: "#" * level + " " + text,
    "p": lambda text, **_: text,
    "list": lambda items, **_: "\n".join("- " + item for item in items),
    "code": lambda text, **_: "```\n" + text + "\n```",
    "table": _table,
    "link": lambda target, text, **_: f"[{text}]({target})",
    "fig": lambda path, caption, image_src: f"![{_plain(caption)}]({image_src(path)})\n\n*{caption}*",
}


def to_html(blocks: list[tuple], root: Path) -> str:
    import markdown

    body = markdown.markdown(to_markdown(blocks, lambda path: _data_uri(Path(root) / path)),
                             extensions=["tables", "fenced_code"], output_format="html")
    title = next((a[1] for k, *a in blocks if k == "h"), "report")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _data_uri(path: Path) -> str:
    mime = {"png": "image/png", "svg": "image/svg+xml", "jpg": "image/jpeg"}[path.suffix.lstrip(".")]
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _plain(text: str) -> str:
    """A caption as alt text: no Markdown markup, no brackets that would end the image's label."""
    return re.sub(r"[*`\[\]]", "", text)
