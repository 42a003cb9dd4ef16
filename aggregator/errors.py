"""Errors a user can act on. Each message says what is wrong and how to fix it.

The CLI shows these without a traceback; anything else is a bug and is shown
as one line plus "run with -v for details".
"""


class AggregatorError(Exception):
    """A problem the user can fix (bad config, a source that cannot be read)."""

    exit_code = 1


class ConfigError(AggregatorError):
    """config.yaml is missing or invalid. The message names file, key path and fix."""

    exit_code = 2

    def __init__(self, path, key: str | None, problem: str):
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + problem)


class SourceError(AggregatorError):
    """One source could not be fetched or is not its kind's format at all.

    Fails that source for this run; its stored events are kept.
    """


class FetchLocked(AggregatorError):
    """Another fetch run holds the lock."""
