"""Voice questions end to end: a voice message is transcribed by a local Whisper and answered like a typed one.

The tiny Whispers (bot/asr/tiny.py) have real architecture, tokenizer and generation but say one fixed
sentence whatever they hear; everything around them is real: the Bot API download, ffmpeg decoding of
an Opus voice note, Whisper's feature extractor, `generate`, the question path and the answer job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.models import Turn, Video
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip, make_clip, run_ffmpeg
from tests.helpers.bot_e2e import consent, files_under, read_rows, running_bot, wait_for_feedback

RUSSIAN_QUESTION = "Что с коленом на 12 секунде?"


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this module's recordings and tiny Whispers live."""
    return tmp_path_factory.mktemp("voice")


@pytest.fixture(scope="module")
def voice_note(voice_dir: Path) -> Path:
    """Two seconds of sound as Telegram records voice notes: Opus in Ogg."""
    path = voice_dir / "question.ogg"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=2", "-c:a", "libopus", "-b:a", "24k", str(path))
    return path


@pytest.fixture(scope="module")
def clip_15s(voice_dir: Path) -> Clip:
    """A 15 s clip, so 0:12 lies inside it."""
    return make_clip(voice_dir / "fifteen.mp4", width=160, height=120, duration_s=15.0, fps=10.0)


def whisper_saying(voice_dir: Path, sentence: str) -> Path:
    """A tiny Whisper that hears `sentence` in any recording."""
    from bot.asr.tiny import make_tiny_whisper

    return make_tiny_whisper(voice_dir / f"whisper-{abs(hash(sentence))}", says=sentence)


async def test_russian_voice_question_is_answered_about_its_moment_in_russian(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, voice_dir: Path, voice_note: Path, clip_15s: Clip
) -> None:
    """ "Что с коленом на 12 секунде?" spoken: the turn is about 0:12, the answer is Russian and shows the question."""
    whisper = whisper_saying(voice_dir, RUSSIAN_QUESTION)
    settings = make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", asr_model=str(whisper))
    async with running_bot(bot_api, settings) as harness:
        ivan = bot_api.make_user(7101, "Иван", "ru")
        await consent(bot_api, ivan)
        video = bot_api.user_sends_video(ivan, clip_15s.path, duration=15, width=160, height=120)
        await wait_for_feedback(bot_api, 7101, video["message_id"], timeout=120)
        voice = bot_api.user_sends_audio(ivan, voice_note, voice=True, duration=2)
        answer = await bot_api.wait_for_message(
            7101, lambda m: m.reply_to_message_id == voice["message_id"], timeout=120
        )
        russian = harness.services.catalogs.get("ru")
        heard = russian.gettext("You asked: “%(question)s”", question=RUSSIAN_QUESTION)
        assert heard != f"You asked: “{RUSSIAN_QUESTION}”", "the Russian catalog lacks the line"
        assert answer.text.startswith(heard + "\n\n")
        assert len(answer.text) > len(heard) + 2
    [turn] = read_rows(settings.database_url, Turn)
    assert turn.spoken and turn.question == RUSSIAN_QUESTION and turn.moment_s == 12.0
    assert turn.answer_message_id == answer.message_id
    # The recording is never kept: only the video's own files remain in the store.
    assert not [path for path in files_under(settings.data_dir) if path.suffix == ".audio"]
    assert bot_api.violations == []


async def test_spoken_red_flag_gets_the_safety_reply_before_consent(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, voice_dir: Path, voice_note: Path
) -> None:
    """Safety rules come first for a spoken question too, even before consent; nothing is queued."""
    whisper = whisper_saying(voice_dir, "I fell and hit my head")
    settings = make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", asr_model=str(whisper))
    async with running_bot(bot_api, settings):
        pat = bot_api.make_user(7102, "Pat", "en")
        voice = bot_api.user_sends_audio(pat, voice_note, voice=True, duration=2)
        reply = await bot_api.wait_for_message(7102, lambda m: m.reply_to_message_id == voice["message_id"])
        assert settings.emergency_number in reply.text
    assert read_rows(settings.database_url, Turn) == []


async def test_long_or_undecodable_voice_is_refused_clearly(
    bot_api: FakeBotApi, tiny_model_dir: Path, tiny_whisper_dir: Path, tmp_path: Path, voice_note: Path
) -> None:
    """Over MAX_VOICE_S: refused before any download. Not audio at all: "could not make out", nothing kept."""
    settings = make_bot_settings(
        bot_api, tiny_model_dir, tmp_path / "data", asr_model=str(tiny_whisper_dir), max_voice_s=60.0
    )
    async with running_bot(bot_api, settings) as harness:
        pat = bot_api.make_user(7103, "Pat", "en")
        await consent(bot_api, pat)
        english = harness.services.catalogs.get("en")
        long_voice = bot_api.user_sends_audio(pat, voice_note, voice=True, duration=600)
        refusal = await bot_api.wait_for_message(7103, lambda m: m.reply_to_message_id == long_voice["message_id"])
        assert refusal.text == english.gettext(
            "This voice message is longer than %(limit)s. Please ask in a shorter message, or type your question.",
            limit="1:00",
        )
        assert bot_api.calls_to("getFile") == []
        noise = bot_api.user_sends_audio(pat, b"OggS" + bytes(range(256)) * 20, voice=True, duration=3)
        unclear = await bot_api.wait_for_message(7103, lambda m: m.reply_to_message_id == noise["message_id"])
        assert unclear.text == english.gettext(
            "I could not make out a question in this voice message. Please try again, or type it."
        )
        await asyncio.sleep(0.2)
    assert read_rows(settings.database_url, Turn) == [] and read_rows(settings.database_url, Video) == []
    assert not [path for path in files_under(settings.data_dir) if path.suffix == ".audio"]
    assert bot_api.violations == []


async def test_round_video_replying_to_feedback_is_a_question_and_otherwise_a_video(
    bot_harness: BotHarness, clip_small: Clip, clip_no_audio: Clip
) -> None:
    """A video note with speech replying to the feedback is asked as a question; one without sound is a new video."""
    from tests.fixtures.model import TINY_WHISPER_SAYS

    api = bot_harness.api
    pat = api.make_user(7104, "Pat", "en")
    await consent(api, pat)
    video = api.user_sends_video(pat, clip_small.path, duration=4, width=320, height=240)
    feedback = await wait_for_feedback(api, 7104, video["message_id"])
    note = api.user_sends_video(
        pat, clip_small.path, kind="video_note", duration=4, width=240, height=240, reply_to=feedback
    )
    answer = await api.wait_for_message(7104, lambda m: m.reply_to_message_id == note["message_id"], timeout=120)
    english = bot_harness.services.catalogs.get("en")
    assert answer.text.startswith(english.gettext("You asked: “%(question)s”", question=TINY_WHISPER_SAYS))
    silent = api.user_sends_video(
        pat, clip_no_audio.path, kind="video_note", duration=4, width=240, height=240, reply_to=feedback
    )
    await wait_for_feedback(api, 7104, silent["message_id"], timeout=120)
    turns = read_rows(bot_harness.settings.database_url, Turn)
    assert [(t.spoken, t.question, t.moment_s) for t in turns] == [(True, TINY_WHISPER_SAYS, 2.0)]
    assert len(read_rows(bot_harness.settings.database_url, Video)) == 2
