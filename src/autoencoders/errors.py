"""The toolkit's error types: each names the file or argument and what is wrong."""

from __future__ import annotations

import difflib


class AutoencodersError(Exception):
    """Base class: every error the toolkit raises on purpose."""


class DataError(AutoencodersError, ValueError):
    """Bad or missing data: a malformed file, a checksum mismatch, an unknown dataset."""


class ConfigError(AutoencodersError, ValueError):
    """A configuration key or value that is not valid."""


class TrainingError(AutoencodersError, RuntimeError):
    """Training cannot go on (a non-finite loss, an unusable checkpoint)."""


def suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the nearest choice, or '' when none is close."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown(kind: str, word: str, choices) -> str:
    """The standard message for an unknown name: what was asked, the nearest match, the valid set."""
    choices = sorted(str(c) for c in choices)
    return f"unknown {kind} '{word}'{suggest(word, choices)}; known: {', '.join(choices)}"
