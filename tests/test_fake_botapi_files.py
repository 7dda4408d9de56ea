"""The fake Bot API's files: downloads in cloud and local mode, multipart uploads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from telegram.error import BadRequest

from tests.fakes.botapi import FakeBotApi
from tests.helpers.fake_botapi import VIDEO, _png

# Files


async def test_download_video_in_cloud_mode(bot_api: FakeBotApi, tmp_path: Path) -> None:
    alice = bot_api.make_user()
    message = bot_api.user_sends_video(alice, VIDEO, duration=12, width=720, height=1280, caption="squats")
    big = bot_api.user_sends_video(alice, VIDEO, kind="document", declared_size=25 * 1024 * 1024)
    assert message["video"]["file_size"] == len(VIDEO)
    assert big["document"]["file_size"] == 25 * 1024 * 1024
    async with bot_api.make_bot() as bot:
        file = await bot.get_file(message["video"]["file_id"])
        assert file.file_path.startswith(f"{bot_api.base_file_url}{bot_api.token}/videos/")
        assert bytes(await file.download_as_bytearray()) == VIDEO
        target = await file.download_to_drive(tmp_path / "v.mp4")
        assert target.read_bytes() == VIDEO
        with pytest.raises(BadRequest, match=r"(?i)file is too big"):
            await bot.get_file(big["document"]["file_id"])
    assert len(bot_api.downloads) == 2
    assert [v.description for v in bot_api.violations] == ["Bad Request: file is too big"]


async def test_download_video_in_local_mode(bot_api_local: FakeBotApi, tmp_path: Path) -> None:
    api = bot_api_local
    alice = api.make_user()
    message = api.user_sends_video(alice, VIDEO, kind="video_note", declared_size=300 * 1024 * 1024)
    async with api.make_bot() as bot:
        file = await bot.get_file(message["video_note"]["file_id"])
        assert Path(file.file_path).is_absolute()
        assert file.file_path.startswith(str(api.local_files_dir))
        assert file.file_size == 300 * 1024 * 1024  # no 20 MB cap on a local server
        assert bytes(await file.download_as_bytearray()) == VIDEO
        assert (await file.download_to_drive(tmp_path / "note.mp4")).read_bytes() == VIDEO
        # In local mode PTB passes local paths as file:// URIs instead of uploading them.
        report = tmp_path / "report.json"
        report.write_text('{"ok": true}')
        await bot.send_document(alice["id"], report)
    assert api.calls_to("sendDocument")[0]["document"].startswith("file://")
    assert api.uploads[0].data == b'{"ok": true}' and api.uploads[0].filename == "report.json"
    assert api.downloads == []
    assert api.violations == []


async def test_multipart_uploads_are_stored(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    export = json.dumps({"sessions": [1, 2, 3]}).encode()
    png = _png(32, 16)
    async with bot_api.make_bot() as bot:
        doc = await bot.send_document(
            alice["id"], io.BytesIO(export), filename="export.json", caption="<b>Export</b>", parse_mode="HTML"
        )
        photo = await bot.send_photo(alice["id"], png, caption="progress")
        downloaded = await (await bot.get_file(doc.document.file_id)).download_as_bytearray()
        again = await bot.send_document(alice["id"], doc.document.file_id)
    assert doc.document.file_name == "export.json" and doc.caption == "Export"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (32, 16)
    assert bytes(downloaded) == export
    assert again.document.file_unique_id == doc.document.file_unique_id
    sent = bot_api.sent_messages(alice["id"])
    assert [s.method for s in sent] == ["sendDocument", "sendPhoto", "sendDocument"]
    assert sent[0].file is not None and sent[0].file.data == export and sent[0].file.filename == "export.json"
    assert sent[1].file is not None and sent[1].file.data == png
    assert sent[2].file is None  # re-sent by file_id, nothing uploaded
    assert [u.data for u in bot_api.uploads] == [export, png]
