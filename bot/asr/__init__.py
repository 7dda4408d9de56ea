"""Speech to text for voice questions: audio decoding with our ffmpeg and a local Whisper model."""
