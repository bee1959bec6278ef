"""`python -m autoencoders` is the `ae` command."""

from .cli import main

raise SystemExit(main())
