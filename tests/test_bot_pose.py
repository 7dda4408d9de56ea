"""Measured movement in the chat: key frames replying to the video, the measured count winning, a moment's frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col

from bot.config import Settings
from bot.vlm.backend import GenerationRequest
from storage.models import Assessment
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, read_rows, replies_to, wait_for_feedback
from tests.helpers.pose_assessment import CLAIMED_REPS, scripted_assessment


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tiny_whisper_dir: Path, tmp_path: Path) -> Settings:
    """The harness's settings with the default pose stage on (MediaPipe, real weights)."""
    return make_bot_settings(
        bot_api, tiny_model_dir, tmp_path / "data", asr_model=str(tiny_whisper_dir), pose_backend="mediapipe"
    )


def _prompt(request: GenerationRequest) -> str:
    """All text of a request's messages."""
    return " ".join(
        item.get("text", "") for message in request.messages for item in message["content"] if isinstance(item, dict)
    )


async def test_feedback_comes_with_key_frames_and_measured_count(bot_harness: BotHarness, clip_person: Clip) -> None:
    """Key frames of the flagged moments reply to the video as one media group; the measured count wins."""
    api = bot_harness.api
    requests = scripted_assessment(bot_harness)
    patient = api.make_user(7101, "Pat", "en")
    await consent(api, patient)
    video = api.user_sends_video(patient, clip_person.path.read_bytes(), duration=4, width=320, height=320)
    feedback = await wait_for_feedback(api, patient["id"], video["message_id"])

    groups = [m for m in replies_to(api, patient["id"], video["message_id"]) if m.method == "sendMediaGroup"]
    assert len(groups) == 2, "one picture per flagged moment, in one media group"
    assert len({m.message["media_group_id"] for m in groups}) == 1
    assert all(m.message_id < feedback.message_id for m in groups), "pictures first, the text ends the reply"
    captions = [m.message["caption"] for m in groups]
    assert captions[0].startswith("0:01") and captions[1].startswith("0:03")
    # The person's measured joint (her bent right elbow) is drawn and named with its angle.
    assert all(caption.endswith("°") and "elbow" in caption for caption in captions), captions

    (stored,) = read_rows(bot_harness.settings.database_url, Assessment, col(Assessment.video_id).is_not(None))
    measurements: dict[str, Any] = stored.measurements or {}
    measured = sum(1 for rep in measurements["reps"] if not rep["partial"])
    assert stored.result is not None and stored.result["repetitions"] == measured != CLAIMED_REPS
    assert {"field": "repetitions", "model": CLAIMED_REPS, "measured": measured} in measurements["conflicts"]
    assert measurements["key_frames_message_ids"] == [m.message_id for m in groups]
    assert f"{measured} rep" in feedback.text, feedback.text
    assessment_prompt = next(_prompt(r) for r in requests if "JSON" in _prompt(r))
    assert "Measured from body keypoints" in assessment_prompt


async def test_answer_about_a_moment_comes_with_its_frame(bot_harness: BotHarness, clip_person: Clip) -> None:
    """A follow-up about 0:02 is answered, then that moment's picture replies to the answer."""
    api = bot_harness.api
    scripted_assessment(bot_harness)
    patient = api.make_user(7102, "Pat", "en")
    await consent(api, patient)
    video = api.user_sends_video(patient, clip_person.path.read_bytes(), duration=4, width=320, height=320)
    await wait_for_feedback(api, patient["id"], video["message_id"])
    question = api.user_sends_text(patient, "what about my knee at 0:02?")
    answer = await api.wait_for_message(
        patient["id"], lambda m: m.reply_to_message_id == question["message_id"] and m.method == "sendMessage"
    )
    photo = await api.wait_for_message(
        patient["id"], lambda m: m.method == "sendPhoto" and m.reply_to_message_id == answer.message_id
    )
    assert photo.message["caption"].startswith("0:02")
    assert photo.file is not None and photo.file.data[:3] == b"\xff\xd8\xff", "a JPEG picture"
