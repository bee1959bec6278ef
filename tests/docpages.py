"""The code blocks of README.md and docs/*.md, found one way for every test that runs or checks a page.

A fenced block runs in its page's test unless the line just before it says why not, e.g.
`<!-- not run: needs MNIST (minutes) -->` (invisible on the site). `tests/test_docs_pages.py`
checks that every bash and python block of every page is run by a test or marked so.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

_FENCE = re.compile(r"^(?:<!-- not run: (?P<why>[^\n]+?) -->\n)?```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$",
                    re.S | re.M)


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    not_run: str | None  # the page's reason, when it marks the block

    @property
    def runs(self) -> bool:
        return self.not_run is None


def page_text(page: str | Path, section: str | None = None) -> str:
    """A page's text (a name under docs/, or a path), or only its `## section`."""
    path = Path(page)
    if not path.is_absolute():
        path = README if str(page) == "README.md" else DOCS / page
    text = path.read_text(encoding="utf-8")
    if section is not None:
        head = f"## {section}\n"
        assert head in text, f"{path.name} has no '## {section}' section"
        text = text.split(head, 1)[1].split("\n## ", 1)[0]
    return text


def blocks(page: str | Path, lang: str | None = None, section: str | None = None) -> list[Block]:
    text = page_text(page, section)
    found = [Block(m["lang"], m["code"], text.count("\n", 0, m.start("lang")) + 1, m["why"])
             for m in _FENCE.finditer(text)]
    return [b for b in found if lang is None or b.lang == lang]


def python_source(page: str | Path, section: str | None = None) -> str:
    """The page's python blocks that run, in order, as one program."""
    return "\n".join(b.code for b in blocks(page, "python", section) if b.runs)


def ae_lines(code: str) -> list[list[str]]:
    """The `ae ...` command lines of a bash block as argv lists (comments and `source` lines left out)."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "source ")):
            continue
        argv = shlex.split(line)
        assert argv[0] == "ae", f"not an ae command: {line}"
        commands.append(argv)
    return commands


def run_ae(code: str, swaps: dict[str, str] | None = None) -> list[list[str]]:
    """Run every `ae` line of a bash block in this process (`autoencoders.cli.main`); `swaps`
    replace whole arguments first (e.g. {"mnist": "digits"}). Returns the argv lists run."""
    from autoencoders.cli import main

    ran = []
    for argv in ae_lines(code):
        argv = [(swaps or {}).get(a, a) for a in argv]
        assert main(argv[1:]) == 0, " ".join(argv)
        ran.append(argv)
    return ran


_NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z]-)[-−]?(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?)")


def numbers(text: str) -> list[str]:
    """The numbers written in a text outside its code blocks, inline code, links and comments,
    normalised (no thousands commas, ASCII minus). Parts of names are left out (fp32, 28x28, 1e-4,
    AVX-512), a factor is kept (3.33x)."""
    text = _FENCE.sub("", text)
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code: commands, file names, flags
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    found = []
    for m in _NUMBER.finditer(text):
        after = text[m.end():m.end() + 2]
        if after[:1].isalpha() and not (after[:1] == "x" and not after[1:2].isalnum()):
            continue
        found.append(m.group().replace(",", "").replace("−", "-"))
    return found
