"""`rehab-bot assess` as an operator runs it: one JSON object on stdout, one line on stderr for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.fixtures.videos import Clip

ENVELOPE_KEYS = {"video", "model", "language", "parsed", "result", "text"}
VIDEO_KEYS = {"duration_s", "fps", "width", "height", "rotation", "frames", "timestamps_s"}


def _rehab_bot(*args: str, tmp_path: Path, **env_values: str) -> subprocess.CompletedProcess[str]:
    """Run the console script in a clean environment (no .env, data in tmp; pose stage off unless given)."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "MAX_NEW_TOKENS": "128", "POSE_BACKEND": "off"}
    env.update(env_values)
    script = Path(sys.executable).with_name("rehab-bot")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False
    )


def test_make_tiny_model_then_assess_prints_the_envelope(tmp_path: Path, clip_small: Clip) -> None:
    """The documented flow: make the tiny model, assess a clip with --json."""
    made = _rehab_bot("make-tiny-model", str(tmp_path / "m"), tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    done = _rehab_bot("assess", str(clip_small.path), "--model", str(tmp_path / "m"), "--json", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    envelope = json.loads(done.stdout)
    assert done.stdout.count("\n") == 1
    assert set(envelope) >= ENVELOPE_KEYS
    video = envelope["video"]
    assert set(video) >= VIDEO_KEYS
    assert (video["width"], video["height"], video["rotation"]) == (320, 240, 0)
    assert video["frames"] == len(video["timestamps_s"]) == 8
    assert video["timestamps_s"] == sorted(video["timestamps_s"])
    assert envelope["model"] == str(tmp_path / "m")
    assert envelope["language"] == "en"
    assert isinstance(envelope["parsed"], bool)
    assert (envelope["result"] is None) == (not envelope["parsed"])
    assert envelope["text"].strip()
    assert envelope["measurements"] == {
        "backend": "off",
        "model": "",
        "reps": [],
        "joints": {},
        "key_frames": [],
        "conflicts": [],
    }


def test_assess_with_pose_prints_measurements_and_writes_key_frames(
    tmp_path: Path, tiny_model_dir: Path, clip_small: Clip
) -> None:
    """`make-tiny-pose-model`, then POSE_MODEL: `measurements` has reps, joints and key frames written as JPEG."""
    made = _rehab_bot("make-tiny-pose-model", str(tmp_path / "pose"), tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    done = _rehab_bot(
        "assess", str(clip_small.path), "--model", str(tiny_model_dir), "--json", "--key-frames", str(tmp_path / "kf"),
        tmp_path=tmp_path, POSE_BACKEND="vitpose", POSE_MODEL=str(tmp_path / "pose"), POSE_DEVICE="cpu",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    measurements = json.loads(done.stdout)["measurements"]
    assert measurements["backend"] == "vitpose" and "error" not in measurements
    # Random weights: the numbers mean nothing, their structure is the contract.
    assert measurements["joints"], "the tiny model's keypoints always give some angles"
    for joint in measurements["joints"].values():
        assert set(joint) == {"min_deg", "max_deg"} and 0 <= joint["min_deg"] <= joint["max_deg"] <= 180
    for rep in measurements["reps"]:
        assert set(rep) >= {"start_s", "end_s", "peak_s", "rom_deg"}
        assert 0 <= rep["start_s"] <= rep["peak_s"] <= rep["end_s"] <= clip_small.duration_s
    assert measurements["key_frames"], "at least the deepest measured moment is pictured"
    for frame in measurements["key_frames"]:
        path = Path(frame["path"])
        assert path.parent == tmp_path / "kf" and 0 <= frame["t_s"] <= clip_small.duration_s
        with Image.open(path) as picture:
            assert picture.format == "JPEG" and picture.width == 320


def test_question_adds_moment_and_window(tmp_path: Path, tiny_model_dir: Path, clip_small: Clip) -> None:
    """`--question "what about 0:03?"` reports the moment and the window's absolute frame times."""
    done = _rehab_bot(
        "assess",
        str(clip_small.path),
        "--model",
        str(tiny_model_dir),
        "--json",
        "--lang",
        "zh-hans",
        "--question",
        "what about 0:03?",
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["language"] == "zh_Hans"
    assert envelope["moment_s"] == 3.0
    window = envelope["window"]
    assert window["start_s"] == window["timestamps_s"][0] and window["end_s"] == window["timestamps_s"][-1]
    # A 4 s clip is shorter than the 6 s window: the window is the whole clip at the window rate.
    assert window["start_s"] == 0.0 and 3.8 <= window["end_s"] <= 4.0
    assert len(window["timestamps_s"]) > envelope["video"]["frames"]
    assert len(window["timestamps_s"]) % 2 == 0


def test_question_past_the_end_gets_a_clear_reply(tmp_path: Path, tiny_model_dir: Path, clip_small: Clip) -> None:
    """A moment after the clip ends: no window, a reply naming the clip's length."""
    done = _rehab_bot(
        "assess",
        str(clip_small.path),
        "--model",
        str(tiny_model_dir),
        "--json",
        "--question",
        "at 0:45?",
        tmp_path=tmp_path,
    )
    envelope = json.loads(done.stdout)
    assert envelope["moment_s"] == 45.0 and envelope["window"] is None
    assert "0:04" in envelope["text"] and "0:45" in envelope["text"]


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("clip_zero", "empty"),
        ("clip_text", "not_a_video"),
        ("clip_audio_as_mp4", "no_video_stream"),
        ("clip_truncated", "unreadable"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_model_dir: Path, fixture: str, reason: str
) -> None:
    """Bad files: exit code 2, exactly one stderr line naming the reason, nothing on stdout, no traceback."""
    clip = request.getfixturevalue(fixture)
    path = clip.path if isinstance(clip, Clip) else clip
    done = _rehab_bot("assess", str(path), "--model", str(tiny_model_dir), "--json", tmp_path=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and reason in lines[0]
    assert "Traceback" not in done.stderr


def test_too_long_and_missing_file(tmp_path: Path, tiny_model_dir: Path, clip_small: Clip) -> None:
    """MAX_VIDEO_S applies; a missing file is bad input too."""
    env_limited = _rehab_bot("assess", str(tmp_path / "missing.mp4"), "--json", tmp_path=tmp_path)
    assert env_limited.returncode == 2 and len(env_limited.stderr.splitlines()) == 1
    os.environ["MAX_VIDEO_S"] = "2"
    try:
        done = _rehab_bot("assess", str(clip_small.path), "--model", str(tiny_model_dir), tmp_path=tmp_path)
    finally:
        del os.environ["MAX_VIDEO_S"]
    assert done.returncode == 2
    assert done.stderr.startswith("error: too_long") and len(done.stderr.splitlines()) == 1
