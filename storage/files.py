"""The video file store: downloaded files kept once per content hash under DATA_DIR.

Layout (paths stored in the database are relative to the root, i.e. DATA_DIR):
    videos/ab/<sha256><ext>   a downloaded video, named by the sha256 of its bytes
    frames/ab/<sha256>/       the decoded frame pack of that video
    tmp/                      partial files; renamed into place atomically when complete

Deleting is by relative path; whether another row still references a file is decided by the
caller (storage.crud counts references), never here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredFile:
    """Where a stored file lives and what it is."""

    rel: str
    sha256: str
    size: int
    created: bool  # False when identical content was already stored


def clean_suffix(suffix: str | None) -> str:
    """Return a safe lower-case extension such as `.mp4`, or '' when the given one is unusable."""
    if not suffix:
        return ""
    suffix = suffix.lower()
    if not suffix.startswith("."):
        suffix = "." + suffix
    return suffix if _SUFFIX.match(suffix) else ""


class VideoStore:
    """Content-addressed storage for downloaded videos and their frame packs."""

    def __init__(self, root: Path | str) -> None:
        """Use `root` (normally DATA_DIR); folders are created when first needed."""
        self.root = Path(root).resolve()

    def temp_path(self, suffix: str = "") -> Path:
        """Return a fresh path in the store's tmp folder (same file system: the final rename is atomic)."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{uuid.uuid4().hex}{clean_suffix(suffix)}.part"

    def store_stream(self, source: BinaryIO | Iterable[bytes], *, suffix: str | None = None) -> StoredFile:
        """Copy a byte stream into the store, hashing while copying; the same content is kept once."""
        chunks = _iter_chunks(source)
        tmp = self.temp_path()
        digest = hashlib.sha256()
        size = 0
        try:
            with tmp.open("wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            return self._place(tmp, digest.hexdigest(), size, suffix)
        finally:
            tmp.unlink(missing_ok=True)

    def store_file(self, source: Path | str, *, suffix: str | None = None, move: bool = False) -> StoredFile:
        """Store a file already on disk; `move=True` renames it in (when on the same file system)."""
        source = Path(source)
        if suffix is None:
            suffix = source.suffix
        if move and self._same_filesystem(source):
            digest, size = file_sha256(source)
            return self._place(source, digest, size, suffix)
        with source.open("rb") as handle:
            stored = self.store_stream(handle, suffix=suffix)
        if move:
            source.unlink(missing_ok=True)
        return stored

    def _same_filesystem(self, source: Path) -> bool:
        """Whether `source` can be renamed into the store."""
        self.root.mkdir(parents=True, exist_ok=True)
        return source.stat().st_dev == self.root.stat().st_dev

    def _place(self, tmp: Path, sha256: str, size: int, suffix: str | None) -> StoredFile:
        """Rename a complete file to its content address, or drop it when that content is stored."""
        rel = f"videos/{sha256[:2]}/{sha256}{clean_suffix(suffix)}"
        final = self.root / rel
        if final.exists():
            tmp.unlink(missing_ok=True)
            return StoredFile(rel=rel, sha256=sha256, size=size, created=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return StoredFile(rel=rel, sha256=sha256, size=size, created=True)

    def path(self, rel: str) -> Path:
        """Return the absolute path of a stored relative path; refuse paths that leave the store."""
        candidate = (self.root / rel).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise ValueError("path outside the store")
        return candidate

    def delete(self, rel: str) -> bool:
        """Delete a stored file or frame folder; False when it was already gone."""
        target = self.path(rel)
        if target == self.root:
            raise ValueError("refusing to delete the store root")
        if target.is_dir():
            shutil.rmtree(target)
            return True
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        return True

    def frames_rel(self, sha256: str) -> str:
        """Return the relative folder of a video's decoded frame pack."""
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return f"frames/{sha256[:2]}/{sha256}"

    def frames_dir(self, sha256: str) -> Path:
        """Return the absolute folder of a video's decoded frame pack (not created here)."""
        return self.root / self.frames_rel(sha256)


def file_sha256(path: Path) -> tuple[str, int]:
    """Return the sha256 hex digest and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _iter_chunks(source: BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    """Yield chunks of a binary file object or an iterable of byte strings."""
    read = getattr(source, "read", None)
    if read is not None:
        return iter(lambda: read(CHUNK_BYTES), b"")
    return source  # type: ignore[return-value]
