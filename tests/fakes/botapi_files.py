"""Files known to the fake Bot API: sent by users, uploaded by the bot, served for download."""

from __future__ import annotations

import hashlib
import io
import itertools
import mimetypes
from dataclasses import dataclass
from pathlib import Path

# Telegram's file_id prefixes differ per kind; tests only need them to look plausible and be unique.
_ID_PREFIX = {
    "videos": "BAACAgIAAxkBAAI",
    "video_notes": "DQACAgIAAxkBAAI",
    "animations": "CgACAgIAAxkBAAI",
    "documents": "BQACAgIAAxkBAAI",
    "music": "CQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "photos": "AgACAgIAAxkBAAI",
}


@dataclass
class StoredFile:
    """One file: its ids, bytes, the size Telegram reports and where it can be downloaded."""

    file_id: str
    file_unique_id: str
    data: bytes
    size: int
    file_path: str
    file_name: str | None
    mime_type: str | None
    local_path: Path | None = None

    def as_file(self, *, local_mode: bool) -> dict[str, object]:
        """The `File` object getFile returns (absolute path in local mode)."""
        path = str(self.local_path) if local_mode and self.local_path else self.file_path
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": path,
        }


class FileStore:
    """All files by file_id and by download path; in local mode each file also lives on disk."""

    def __init__(self, local_dir: Path | None) -> None:
        """`local_dir` is where a `--local` server keeps files (None in cloud mode)."""
        self.local_dir = local_dir
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        data: bytes,
        *,
        folder: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        file_id: str | None = None,
        file_unique_id: str | None = None,
    ) -> StoredFile:
        """Register bytes as a Telegram file; `size` lets a test lie about file_size (e.g. 25 MB)."""
        number = next(self._counter)
        digest = hashlib.sha256(data + number.to_bytes(8, "big")).hexdigest()
        suffix = Path(file_name).suffix if file_name else (mimetypes.guess_extension(mime_type or "") or "")
        stored = StoredFile(
            file_id=file_id or f"{_ID_PREFIX.get(folder, 'BQACAgIAAxkBAAI')}{number:04d}{digest[:40]}",
            file_unique_id=file_unique_id or f"AgAD{digest[40:52]}",
            data=data,
            size=len(data) if size is None else size,
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        if self.local_dir is not None:
            stored.local_path = self.local_dir / stored.file_path
            stored.local_path.parent.mkdir(parents=True, exist_ok=True)
            stored.local_path.write_bytes(data)
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """Look a file up by file_id."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """Look a file up by the relative download path getFile gave out."""
        return self._by_path.get(file_path)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an image (0, 0 when it cannot be read)."""
    try:
        from PIL import Image  # Pillow is optional for the fake, so imported lazily

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        # Telegram would reject a non-image photo; the fake just reports no size.
        return 0, 0
