"""A local Whisper model (transformers) that transcribes voice questions on its own thread.

The model loads on the first voice question, on a dedicated single thread that only ASR uses, so a
transcription never waits for, or holds up, the video model's thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.asr.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

# Our locales as Whisper's language names; a locale outside the list lets Whisper detect the language.
WHISPER_LANGUAGES = {
    "en": "en",
    "de": "de",
    "es": "es",
    "fr": "fr",
    "hi": "hi",
    "pt_BR": "pt",
    "ru": "ru",
    "uk": "uk",
    "ar": "ar",
    "zh_Hans": "zh",
}


@dataclass(frozen=True)
class Transcript:
    """What was heard."""

    text: str
    seconds: float


class WhisperTranscriber:
    """Transcribes 16 kHz mono samples with a Whisper checkpoint (a Hub id or a local directory)."""

    def __init__(self, model: str, *, device: str = "auto", max_new_tokens: int = 200) -> None:
        """Configure; nothing is loaded until the first transcription."""
        self.model_id = model
        self._device_setting = device
        self._max_new_tokens = max_new_tokens
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-model")
        self._load_lock = threading.Lock()
        self._model: Any = None
        self._processor: Any = None
        self._device = "cpu"

    def _load(self) -> None:
        """Load the processor and model once (ASR thread)."""
        with self._load_lock:
            if self._model is not None:
                return
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor

            device = self._device_setting
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            self._processor = WhisperProcessor.from_pretrained(self.model_id)
            model = WhisperForConditionalGeneration.from_pretrained(self.model_id, dtype=dtype)
            self._model = model.to(device).eval()
            self._device = device
            logger.info("speech model loaded on %s", device)

    def _transcribe(self, samples: np.ndarray, language: str | None) -> Transcript:
        """Run Whisper on the samples (ASR thread)."""
        import torch

        self._load()
        features = self._processor(samples, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        input_features = features.input_features.to(self._device, dtype=self._model.dtype)
        # Whisper refuses a budget past its decoder's positions (the prompt takes four of them).
        budget = min(self._max_new_tokens, self._model.config.max_target_positions - 5)
        with torch.inference_mode():
            tokens = self._model.generate(input_features, language=language, task="transcribe", max_new_tokens=budget)
        text = self._processor.batch_decode(tokens, skip_special_tokens=True)[0]
        return Transcript(text=" ".join(text.split()), seconds=len(samples) / SAMPLE_RATE)

    async def transcribe(self, samples: np.ndarray, *, locale: str) -> Transcript:
        """Transcribe on the ASR thread, in the patient's language when Whisper knows it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transcribe, samples, WHISPER_LANGUAGES.get(locale))

    def close(self) -> None:
        """Stop the ASR thread and drop the model."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._model = self._processor = None
