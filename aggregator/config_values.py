"""The typed reads config.yaml is checked with: numbers in a range, true/false, strings,
lists of strings, mappings whose unknown keys are warnings, and "did you mean" for a misspelling.

A value's problem is recorded and the key falls back to its default, so `config` checks on
and reports every problem of a file in one run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 75) -> str:
    """'; did you mean X?' for the closest of `choices`, or '' when none is close."""
    from rapidfuzz import fuzz, process, utils  # only for a mistake: a valid config never imports it

    found = process.extractOne(word, list(choices), scorer=fuzz.ratio, processor=utils.default_process,
                               score_cutoff=cutoff)
    return f"; did you mean {found[0]!r}?" if found else ""


class Values:
    """Typed reads of config values. A problem is recorded and the key falls back to its
    default, so the checking goes on and every problem is reported at the end."""

    def __init__(self, path: Path, kinds: Callable[[], list[str]], kind_options: Callable[[str], dict | None]):
        self.path = path
        self.kinds = kinds
        self.kind_options = kind_options
        self.warnings: list[str] = []
        self.problems: list[tuple[str | None, str]] = []

    # -- helpers ---------------------------------------------------------
    def fail(self, key: str, problem: str) -> None:
        self.problems.append((key, problem))

    def warn(self, key: str, problem: str) -> None:
        self.warnings.append(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping of keys to values, not {kind_words(value)}")
            return {}
        for name in value:
            if name not in allowed:
                self.warn(f"{key}.{name}" if key != "(top level)" else str(name),
                          f"unknown key, ignored{did_you_mean(str(name), allowed)} "
                          f"(known: {', '.join(sorted(allowed))})")
        return value

    def number(self, data: dict, key: str, prefix: str, default, *, minimum=None, maximum=None, integer=False):
        value = data.get(key, default)
        if value is None:
            return default
        what = "whole number" if integer else "number"
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"{prefix}{key}", f"must be a finite {what}, not {value!r}")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.fail(f"{prefix}{key}", f"must be a {what}, not {value!r}")
            return default
        if minimum is not None and value < minimum:
            self.fail(f"{prefix}{key}", f"must be at least {minimum}, not {value!r}")
            return default
        if maximum is not None and value > maximum:
            self.fail(f"{prefix}{key}", f"must be at most {maximum}, not {value!r}")
            return default
        return value

    def boolean(self, data: dict, key: str, prefix: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{prefix}{key}", f"must be true or false, not {value!r}")
            return default
        return value

    def text(self, data: dict, key: str, prefix: str, default=None, *, required=False):
        value = data.get(key, default)
        if value is None:
            if required:
                self.fail(f"{prefix}{key}", "is required")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{prefix}{key}", f"must be a non-empty string, not {value!r}")
            return default
        return value

    def strings(self, value: Any, key: str, example: str) -> list[str]:
        """A list of strings (a single string counts as a list of one)."""
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a list of strings, e.g. {example}, not {value!r}")
            return []
        return value

    def file_path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.path.parent / p


def kind_words(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def type_words(kind: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
            list: "a list", dict: "a mapping"}.get(kind, kind.__name__)
