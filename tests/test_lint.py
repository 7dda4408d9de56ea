"""The code style is part of the suite: ruff's lint and format checks over the whole repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def test_ruff_lint_passes() -> None:
    """`ruff check` finds nothing."""
    done = subprocess.run([str(RUFF), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    """`ruff format --check` would change nothing."""
    done = subprocess.run(
        [str(RUFF), "format", "--check", "."], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
