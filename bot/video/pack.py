"""On-disk frame pack: the model's frames and a low-resolution proxy as JPEG files plus a manifest."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PACK_FORMAT = "rehab-framepack"
PACK_VERSION = 1
MANIFEST = "manifest.json"
MODEL_DIR = "model"
PROXY_DIR = "proxy"
# A build older than this belongs to a process that died: no decode of an accepted video takes this long.
STALE_BUILD_S = 15 * 60


def jpeg_name(position: int) -> str:
    """File name ffmpeg's image2 muxer gives the frame at `position` (pattern %05d.jpg, from 0)."""
    return f"{position:05d}.jpg"


@dataclass(frozen=True)
class PackSection:
    """One set of frames in the pack: their size, times and source frame numbers, one entry per file."""

    height: int
    width: int
    timestamps_s: list[float]
    source_indices: list[int]

    @classmethod
    def from_json(cls, data: Any) -> PackSection:
        """Parse and check a section; ValueError when it is malformed."""
        section = cls(
            height=int(data["height"]),
            width=int(data["width"]),
            timestamps_s=[float(ts) for ts in data["timestamps_s"]],
            source_indices=[int(i) for i in data["source_indices"]],
        )
        if len(section.timestamps_s) != len(section.source_indices) or not section.timestamps_s:
            raise ValueError("section lists disagree")
        return section


@dataclass(frozen=True)
class Manifest:
    """What a pack holds; `model_positions` lists model files in order, repeating one if it must."""

    duration_s: float
    rotation: int
    model: PackSection
    model_positions: list[int]
    proxy: PackSection
    proxy_fps: float

    def to_json(self) -> str:
        """Serialise with the format name and version."""
        return json.dumps({"format": PACK_FORMAT, "version": PACK_VERSION, **asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest; ValueError when it is another format, version or malformed."""
        data = json.loads(text)
        if data.get("format") != PACK_FORMAT or data.get("version") != PACK_VERSION:
            raise ValueError("unknown pack format")
        try:
            manifest = cls(
                duration_s=float(data["duration_s"]),
                rotation=int(data["rotation"]),
                model=PackSection.from_json(data["model"]),
                model_positions=[int(p) for p in data["model_positions"]],
                proxy=PackSection.from_json(data["proxy"]),
                proxy_fps=float(data["proxy_fps"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("malformed manifest") from exc
        if any(not 0 <= p < len(manifest.model.timestamps_s) for p in manifest.model_positions):
            raise ValueError("model positions out of range")
        return manifest


def building_dir(pack_dir: Path) -> Path:
    """A fresh sibling directory to build a pack in before it is moved into place."""
    _sweep_stale_builds(pack_dir)
    building = pack_dir.parent / f".{pack_dir.name}.building-{uuid.uuid4().hex}"
    (building / MODEL_DIR).mkdir(parents=True)
    (building / PROXY_DIR).mkdir()
    return building


def _sweep_stale_builds(pack_dir: Path) -> None:
    """Remove this pack's builds left by a killed process: they may hold frames not yet blurred."""
    cutoff = time.time() - STALE_BUILD_S
    for stale in pack_dir.parent.glob(f".{pack_dir.name}.building-*"):
        try:
            if stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)
        except FileNotFoundError:
            continue


def commit(building: Path, pack_dir: Path, manifest: Manifest) -> None:
    """Write the manifest last and move the pack into place, so readers never see half a pack."""
    (building / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    if pack_dir.exists():
        shutil.rmtree(pack_dir, ignore_errors=True)
    try:
        os.replace(building, pack_dir)
    except OSError:
        # Another worker built the same pack meanwhile; theirs is as good as ours.
        if not (pack_dir / MANIFEST).is_file():
            raise
        shutil.rmtree(building, ignore_errors=True)


def load_manifest(pack_dir: Path) -> Manifest:
    """Read and check a pack's manifest and files; FileNotFoundError when missing or incomplete."""
    try:
        manifest = Manifest.from_json((pack_dir / MANIFEST).read_text(encoding="utf-8"))
    except OSError:
        raise FileNotFoundError("frame pack missing") from None
    except ValueError:
        raise FileNotFoundError("frame pack incomplete") from None
    for folder, section in ((MODEL_DIR, manifest.model), (PROXY_DIR, manifest.proxy)):
        last = pack_dir / folder / jpeg_name(len(section.timestamps_s) - 1)
        if not last.is_file():
            raise FileNotFoundError("frame pack incomplete")
    return manifest
