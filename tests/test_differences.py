"""The list of differences from the article is written once (report/differences.py); the doc page,
the report, the README and the VAE's docstring all come from it or point to it."""

from pathlib import Path

import autoencoders.models.variational as variational
from autoencoders.report import differences

ROOT = Path(__file__).resolve().parents[1]


def test_docs_page_is_the_generated_one():
    page = (ROOT / "docs" / "differences.md").read_text(encoding="utf-8")
    assert page == differences.markdown(), (
        "docs/differences.md is stale: python -m autoencoders.report.differences docs/differences.md")


def test_readme_and_docstring_point_to_it_instead_of_copying():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/differences.md)" in readme
    for item in differences.DIFFERENCES:
        assert item.split("**")[1] not in readme  # no item's bold title is written there again
    assert "docs/differences.md" in variational.__doc__

