"""Short patient-facing replies shared by the CLI and the bot (all through gettext)."""

from __future__ import annotations

from typing import Any

from bot.engine.measured_text import measured_lines
from bot.i18n import Translator
from bot.video.errors import RejectReason
from bot.vlm.render import Markup, format_timecode, render_assessment, render_fallback
from bot.vlm.schema import AssessmentResult


def moment_past_end(tr: Translator, *, moment_s: float, duration_s: float) -> str:
    """The reply to a question about a moment after the clip ends."""
    return tr.gettext(
        "This video is %(duration)s long, so %(moment)s is after its end. "
        "Ask me about a moment between 0:00 and %(duration)s.",
        duration=format_timecode(duration_s),
        moment=format_timecode(moment_s),
    )


def analysis_unavailable(tr: Translator) -> str:
    """What the patient reads when the model produced nothing usable."""
    return tr.gettext(
        "I could not put together feedback for this video. Please try recording it again: "
        "side view, whole body in frame, phone still and upright, good light."
    )


def assessment_text(
    tr: Translator,
    *,
    result: AssessmentResult | None,
    fallback: str,
    markup: Markup = Markup.PLAIN,
    measurements: dict[str, Any] | None = None,
) -> str:
    """The rendered assessment, the plain-text fallback, or the could-not-analyse message.

    With `measurements` the measured lines ("5 reps · knee 92–168°", missed targets) head the feedback.
    """
    measured = measured_lines(tr, measurements)
    if result is not None:
        return render_assessment(result, tr, markup=markup, measured=measured)
    if fallback.strip() or measured:
        return render_fallback(fallback, tr, markup=markup, measured=measured)
    return analysis_unavailable(tr)


def rejection(tr: Translator, reason: RejectReason, limits: dict[str, float]) -> str:
    """Why a video was refused and what to do about it."""
    if reason is RejectReason.TOO_LONG:
        return tr.gettext(
            "This video is %(duration)s long; I can look at up to %(limit)s. "
            "Please trim it or record one set of the exercise.",
            duration=format_timecode(limits.get("duration_s", 0.0)),
            limit=format_timecode(limits.get("max_s", 0.0)),
        )
    if reason is RejectReason.TOO_LARGE:
        return tr.gettext(
            "This video's picture is too large for me. Please record at a normal resolution "
            "(1080p is plenty) or send it as a video so Telegram compresses it."
        )
    if reason is RejectReason.NO_VIDEO_STREAM:
        return tr.gettext("This file has sound but no picture. Please send a video of the exercise.")
    if reason is RejectReason.EMPTY:
        return tr.gettext("This video is empty. Please record the exercise again and send it.")
    if reason is RejectReason.NOT_A_VIDEO:
        return tr.gettext("This file is not a video I can open. Please send the exercise as a video.")
    return tr.gettext("I could not read this video; it may be damaged or cut off. Please record it again and send it.")
