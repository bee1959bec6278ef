"""`ae bench`: the toolkit's trainer against an idiomatic PyTorch loop, and both against the machine.

Ratios measured in one run are the evidence (shared machines are noisy); absolute seconds are not.
"""

from .report import run_suite

__all__ = ["run_suite"]
