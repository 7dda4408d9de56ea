"""The content-addressed video store."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from storage.files import VideoStore, clean_suffix


def test_store_stream_by_content_hash(tmp_path: Path) -> None:
    store = VideoStore(tmp_path / "data")
    payload = b"\x00\x01fake mp4 bytes" * 100_000
    digest = hashlib.sha256(payload).hexdigest()

    first = store.store_stream(io.BytesIO(payload), suffix=".MP4")
    assert first.rel == f"videos/{digest[:2]}/{digest}.mp4"
    assert (first.sha256, first.size, first.created) == (digest, len(payload), True)
    assert store.path(first.rel).read_bytes() == payload

    second = store.store_stream(iter([payload[:10], payload[10:]]), suffix="mp4")
    assert (second.rel, second.created) == (first.rel, False)
    stored = [path for path in (tmp_path / "data" / "videos").rglob("*") if path.is_file()]
    assert stored == [store.path(first.rel)]
    assert list((tmp_path / "data" / "tmp").iterdir()) == []  # no partial files left behind


def test_store_file_copy_and_move(tmp_path: Path) -> None:
    store = VideoStore(tmp_path / "data")
    source = tmp_path / "clip.mov"
    source.write_bytes(b"movie")
    copied = store.store_file(source)
    assert copied.rel.endswith(".mov") and source.exists()

    download = store.temp_path(".mp4")
    download.write_bytes(b"downloaded")
    moved = store.store_file(download, suffix=".mp4", move=True)
    assert not download.exists()
    assert store.path(moved.rel).read_bytes() == b"downloaded"

    again = store.temp_path()
    again.write_bytes(b"downloaded")
    duplicate = store.store_file(again, suffix=".mp4", move=True)
    assert (duplicate.rel, duplicate.created) == (moved.rel, False)
    assert not again.exists()


def test_delete_and_path_safety(tmp_path: Path) -> None:
    store = VideoStore(tmp_path)
    stored = store.store_stream(io.BytesIO(b"abc"), suffix=".mp4")
    frames = store.frames_dir(stored.sha256)
    frames.mkdir(parents=True)
    (frames / "000001.jpg").write_bytes(b"jpg")
    assert store.frames_rel(stored.sha256) == f"frames/{stored.sha256[:2]}/{stored.sha256}"

    assert store.delete(stored.rel)
    assert not store.delete(stored.rel)
    assert store.delete(store.frames_rel(stored.sha256))
    assert not frames.exists()

    with pytest.raises(ValueError, match="outside"):
        store.path("../escape.mp4")
    with pytest.raises(ValueError, match="outside"):
        store.delete("/etc/passwd")
    with pytest.raises(ValueError, match="sha256"):
        store.frames_dir("../../etc")


@pytest.mark.parametrize(
    ("given", "expected"),
    [(".mp4", ".mp4"), ("MOV", ".mov"), (None, ""), ("", ""), (".mp4/../x", ""), (".toolongsuffix", "")],
)
def test_clean_suffix(given: str | None, expected: str) -> None:
    assert clean_suffix(given) == expected
