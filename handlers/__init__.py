"""Thin Telegram handlers: parse the update, call a service, reply. One module per area."""

from __future__ import annotations

from telegram.ext import Application

from handlers import errors, groups, language, privacy, questions, start, videos


def setup(application: Application) -> None:
    """Register every handler, in one place and in order."""
    groups.setup(application)
    start.setup(application)
    language.setup(application)
    privacy.setup(application)
    videos.setup(application)
    questions.setup(application)
    errors.setup(application)
