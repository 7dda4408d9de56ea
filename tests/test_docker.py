"""What can be checked of the container set-up without a container engine: files, the lock, env names."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split()[0].upper(), line.partition(" ")[2]) for line in lines if line and not line.startswith("#")]


def test_image_installs_from_the_lock_like_the_readme() -> None:
    runs = [args for op, args in instructions() if op == "RUN"]
    assert any("pip install" in args and "-c requirements.lock" in args for args in runs)
    readme = (ROOT / "README.md").read_text()
    assert "pip install -q -c requirements.lock -e ." in readme


def test_copied_sources_exist() -> None:
    for op, args in instructions():
        if op == "COPY":
            *sources, _target = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_image_runs_as_an_unprivileged_numeric_user() -> None:
    users = [args for op, args in instructions() if op == "USER"]
    assert users and users[-1].isdigit() and users[-1] != "0"


def test_compose_builds_the_dockerfile_and_uses_known_settings() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    known = {name.upper() for name in Settings.model_fields}
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE.resolve(), name
            assert service["command"][0] in {"run", "worker"}, name
            for variable in service.get("environment", {}):
                assert variable in known, f"{name}: {variable} is not a setting"
    assert {"postgres", "bot", "worker"} <= set(compose["services"])
