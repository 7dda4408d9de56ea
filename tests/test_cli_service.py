"""Operator verbs: `rehab-bot migrate` and `rehab-bot add-therapist ID` against a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session

from storage.db import create_db_engine
from storage.models import Role, User


def _rehab_bot(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script with DATA_DIR (and so the default SQLite database) in a temp folder."""
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    script = Path(sys.executable).with_name("rehab-bot")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, cwd=data_dir.parent, timeout=120, check=False
    )


def test_migrate_then_add_therapist(tmp_path: Path) -> None:
    """The schema is created and the user gets the therapist role (created if they never wrote)."""
    data_dir = tmp_path / "data"
    migrated = _rehab_bot("migrate", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stderr
    added = _rehab_bot("add-therapist", "4242", data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    assert "4242" in added.stdout
    engine = create_db_engine(f"sqlite:///{data_dir / 'rehab.db'}")
    with Session(engine) as session:
        user = session.get(User, 4242)
        assert user is not None and user.role == Role.THERAPIST
    engine.dispose()


def test_bad_settings_are_one_line(tmp_path: Path) -> None:
    """An invalid variable is named on one stderr line, without a traceback."""
    env = {**os.environ, "DATA_DIR": str(tmp_path), "JOB_LEASE_S": "not-a-number"}
    script = Path(sys.executable).with_name("rehab-bot")
    done = subprocess.run([str(script), "migrate"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: invalid settings: JOB_LEASE_S"]
