"""One validated settings object, read from the environment and `.env` (DESIGN section 11)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can set; created once at start-up and passed down explicitly."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Telegram
    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    telegram_local_mode: bool = False
    cloud_download_limit_bytes: int = 20 * 1024 * 1024
    # Set to receive updates by webhook (python-telegram-bot's server) instead of long polling.
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_webhook_listen: str = "0.0.0.0:8443"  # the container's published port

    # Storage
    data_dir: Path = Path("./data")
    database_url: str = ""

    # Model
    model: str = "Qwen/Qwen3-VL-4B-Instruct"
    vlm_backend: Literal["transformers", "openai"] = "transformers"
    vlm_api_url: str = ""
    max_new_tokens: int = Field(default=1024, ge=128)
    model_timeout_s: float = Field(default=0.0, ge=0.0)
    model_device: str = "auto"
    # Voice questions: a multilingual Whisper checkpoint (Hub id or local directory), loaded on the first one.
    asr_model: str = "openai/whisper-small"
    asr_device: str = "auto"
    max_voice_s: float = Field(default=120.0, gt=0)
    # Measured movement: body keypoints per frame. `mediapipe` (BlazePose; its weights ship in the wheel, CPU),
    # `vitpose` (transformers; POSE_MODEL a Hub id or directory, default usyd-community/vitpose-base-simple,
    # on POSE_DEVICE), or `off`.
    pose_backend: Literal["mediapipe", "vitpose", "off"] = "mediapipe"
    pose_model: str = ""
    pose_device: str = "auto"

    # Video sampling (0 = take the value from the model's own processor configuration)
    ffmpeg_binary: str = ""
    ffmpeg_timeout_s: float = Field(default=120.0, gt=0)
    # Address-space cap for each ffmpeg process decoding untrusted video (0 = no cap).
    ffmpeg_memory_mb: int = Field(default=2048, ge=0)
    max_video_s: float = Field(default=600.0, gt=0)
    max_video_pixels: int = Field(default=4096 * 4096, gt=0)
    video_fps: float = Field(default=0.0, ge=0)
    video_min_frames: int = Field(default=0, ge=0)
    video_max_frames: int = Field(default=0, ge=0)
    video_max_pixels: int = Field(default=0, ge=0)
    window_half_s: float = Field(default=3.0, gt=0)
    window_fps: float = Field(default=6.0, gt=0)
    window_frame_pixels: int = Field(default=640 * 640, gt=0)
    # Longer videos are assessed in parts of about this many seconds, each its own model call (0 = never).
    segment_s: float = Field(default=60.0, ge=0)
    blur_faces: bool = True

    # People and policy
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "en"
    emergency_number: str = "112"
    default_timezone: str = "UTC"
    summary_weekday: int = Field(default=0, ge=0, le=6)
    summary_hour: int = Field(default=9, ge=0, le=23)
    summary_draft: bool = False
    consent_wait_h: float = Field(default=24.0, gt=0)
    # Limits per patient (0 = no limit): videos and questions in a rolling hour, unfinished videos per chat.
    max_videos_per_hour: int = Field(default=12, ge=0)
    max_queued_per_chat: int = Field(default=3, ge=0)
    max_questions_per_hour: int = Field(default=30, ge=0)
    # Downloaded videos and frame packs are deleted this many days after they arrive (0 = kept).
    raw_video_retention_days: int = Field(default=30, ge=0)

    # Workers and queue
    # Four keep the model busy while others download and sample (bench/bench_worker.py); deliveries,
    # paced by each chat, run beside the slots (bot/tg/worker.py).
    workers: int = Field(default=4, ge=1)
    # Jobs of one chat in flight at once: a patient who sends many videos cannot starve the others.
    per_chat_jobs: int = Field(default=1, ge=1)
    # `rehab-bot run` also runs workers unless this is off (then `rehab-bot worker` processes do the work).
    run_workers: bool = True
    job_lease_s: float = Field(default=45.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    # Base of the capped exponential backoff between attempts of a failed job (doubles each attempt).
    retry_backoff_s: float = Field(default=5.0, gt=0)
    retry_backoff_cap_s: float = Field(default=300.0, gt=0)

    log_level: str = "INFO"
    # Prometheus endpoint of `run` and `worker` (0 = off).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped from outside the container

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        """Accept `9001`, `1,2,3` and `1, 2, 3` as well as a list."""
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        """Keep the Bot API root without a trailing slash so URLs join cleanly."""
        return value.rstrip("/")

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        """Fill values that depend on other settings."""
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'rehab.db').resolve()}"
        if not self.model_timeout_s:
            # A model call must end before its job's lease could expire.
            self.model_timeout_s = max(5.0, self.job_lease_s * 0.8)
        if self.model_timeout_s >= self.job_lease_s:
            raise ValueError("MODEL_TIMEOUT_S must be shorter than JOB_LEASE_S")
        if self.telegram_webhook_url:
            port = self.telegram_webhook_listen.rpartition(":")[2]
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("TELEGRAM_WEBHOOK_LISTEN must be host:port")
            secret = self.telegram_webhook_secret.get_secret_value()
            # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
            if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -")
        return self

    @property
    def webhook_secret(self) -> str:
        """The secret Telegram sends with each webhook update (TELEGRAM_WEBHOOK_SECRET, else derived).

        Derived from the bot token, replicas behind a load balancer agree without another setting.
        """
        configured = self.telegram_webhook_secret.get_secret_value()
        if configured:
            return configured
        digest = hashlib.sha256(b"rehab-bot webhook " + self.telegram_bot_token.get_secret_value().encode())
        return digest.hexdigest()

    @property
    def webhook_listen_address(self) -> tuple[str, int]:
        """TELEGRAM_WEBHOOK_LISTEN split into host and port (`8443` alone listens on every address)."""
        host, _, port = self.telegram_webhook_listen.rpartition(":")
        return host or "0.0.0.0", int(port)  # noqa: S104

    @property
    def bot_api_base_url(self) -> str:
        """Root for Bot API methods, as python-telegram-bot expects it (token appended)."""
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_file_base_url(self) -> str:
        """Root for file downloads, as python-telegram-bot expects it (token appended)."""
        return f"{self.telegram_api_url}/file/bot"

    @property
    def download_limit_bytes(self) -> int | None:
        """The largest file the bot may download; None when a local Bot API server lifts the cap."""
        return None if self.telegram_local_mode else self.cloud_download_limit_bytes

    @property
    def videos_dir(self) -> Path:
        """Where downloaded videos are kept, by content hash."""
        return self.data_dir / "videos"

    @property
    def frames_dir(self) -> Path:
        """Where decoded frame packs (model frames and the low-resolution proxy) are kept."""
        return self.data_dir / "frames"
