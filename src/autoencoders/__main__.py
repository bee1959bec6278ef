"""`python -m autoencoders` is the `ae` command."""

from .cli import console

raise SystemExit(console())
