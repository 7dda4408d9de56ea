"""Thin Telegram handlers: parse the update, call a service, reply. One module per area."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    admin,
    errors,
    groups,
    language,
    pain,
    plan,
    prescribe,
    privacy,
    questions,
    sanity,
    start,
    therapist,
    unknown,
    videos,
    voice,
)


def setup(application: Application) -> None:
    """Register every handler, in one place and in order (the first match wins)."""
    sanity.setup(application)
    groups.setup(application)
    start.setup(application)
    language.setup(application)
    privacy.setup(application)
    admin.setup(application)
    therapist.setup(application)
    # Before questions: while a therapist is prescribing, their text answers belong to that conversation.
    prescribe.setup(application)
    plan.setup(application)
    pain.setup(application)
    # Before videos: a round video replying to feedback may be a spoken question.
    voice.setup(application)
    videos.setup(application)
    questions.setup(application)
    unknown.setup(application)
    errors.setup(application)
