"""File parameters and media objects of the fake's Bot API methods, and getFile (mixin for MethodHandlers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.botapi_files import StoredFile, image_size
from tests.fakes.botapi_records import UploadedFile, bad_request
from tests.fakes.botapi_request import Request
from tests.fakes.botapi_spec import UploadedPart
from tests.fakes.botapi_world import World

CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024


class MediaFiles:
    """Mixin for MethodHandlers: turns file parameters into stored files and describes them as Telegram does."""

    world: World
    local_mode: bool

    def _resolve_file(self, value: Any, request: Request, folder: str) -> tuple[StoredFile, UploadedFile | None]:
        """Turn an InputFile or String file parameter into a stored file (and the upload, if any)."""
        part: UploadedPart | None = value if isinstance(value, UploadedPart) else None
        if isinstance(value, str) and value.startswith("attach://"):
            part = request.parts[value.removeprefix("attach://")]
        if part is not None:
            return self._store_upload(part.data, part.filename, part.content_type, folder)
        text = str(value)
        if text.startswith("file://"):
            if not self.local_mode:
                raise bad_request("wrong HTTP URL specified", "spec")
            path = Path(unquote(urlsplit(text).path))
            if not path.is_file():
                raise bad_request("file not found", "state")
            return self._store_upload(path.read_bytes(), path.name, "application/octet-stream", folder)
        if text.startswith(("http://", "https://")):
            # Telegram would fetch the URL; the fake has no network, so the file is empty.
            return self.world.files.add(b"", folder=folder, file_name=Path(urlsplit(text).path).name), None
        stored = self.world.files.get(text)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified", "state")
        return stored, None

    def _store_upload(
        self, data: bytes, filename: str, content_type: str, folder: str
    ) -> tuple[StoredFile, UploadedFile]:
        """Keep an uploaded file both as a Telegram file and as a record of what the bot uploaded."""
        stored = self.world.files.add(data, folder=folder, file_name=filename or None, mime_type=content_type)
        upload = UploadedFile(filename=filename, content_type=content_type, data=data, file_id=stored.file_id)
        self.world.uploads.append(upload)
        return stored, upload

    def _media_object(self, field: str, stored: StoredFile, params: dict[str, Any]) -> Any:
        """The Message field describing a media file, as Telegram fills it in."""
        base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if field == "photo":
            width, height = image_size(stored.data)
            return [{**base, "width": width, "height": height, "file_size": stored.size}]
        info: dict[str, Any] = dict(base)
        if field in ("video", "animation"):
            info.update(
                width=params.get("width", 0), height=params.get("height", 0), duration=params.get("duration", 0)
            )
        if field in ("audio", "voice", "video_note"):
            info["duration"] = params.get("duration", 0)
        if field == "video_note":
            info["length"] = params.get("length", 0)
        if field in ("document", "video", "animation", "audio") and stored.file_name:
            info["file_name"] = stored.file_name
        if field not in ("photo", "video_note") and stored.mime_type:
            info["mime_type"] = stored.mime_type
        if field == "video" and params.get("start_timestamp") is not None:
            info["start_timestamp"] = params["start_timestamp"]
        info["file_size"] = stored.size
        return info

    def _get_file(self, request: Request) -> Any:
        """getFile: refuses files over 20 MB unless the server runs in local mode."""
        stored = self.world.files.get(str(request.params["file_id"]))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable", "state")
        if not self.local_mode and stored.size > CLOUD_DOWNLOAD_LIMIT:
            raise bad_request("file is too big", "state")
        return stored.as_file(local_mode=self.local_mode)
