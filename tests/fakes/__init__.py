"""Test doubles for what cannot run here (the Telegram Bot API)."""
