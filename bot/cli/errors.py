"""How a CLI verb fails: one line on stderr and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A failure reported as one line on stderr with an exit code, never a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        """Keep the one-line message and the exit code."""
        super().__init__(message)
        self.code = code
