"""Status-line texts for each stage of a video's job."""

from __future__ import annotations

from bot.i18n import Translator


def stage_text(tr: Translator, stage: str, *, position: int | None = None, part: tuple[int, int] | None = None) -> str:
    """The status message for a stage (queued, downloading, preparing, analysing, done, rejected).

    `part` is (part, parts) while a long video is watched one part after another.
    """
    if stage == "queued":
        if position and position > 1:
            return tr.gettext("Got your video! It is number %(position)s in the queue.", position=position)
        return tr.gettext("Got your video! It is next in the queue.")
    if stage == "downloading":
        return tr.gettext("Downloading your video…")
    if stage == "preparing":
        return tr.gettext("Preparing the frames…")
    if stage == "analysing":
        if part is not None and part[1] > 1:
            return tr.gettext("Watching your exercise: part %(part)s of %(parts)s…", part=part[0], parts=part[1])
        return tr.gettext("Watching your exercise…")
    if stage == "done":
        return tr.gettext("Done: my feedback is in the reply to your video.")
    if stage == "rejected":
        return tr.gettext("I could not use this video.")
    return tr.gettext("Working on your video…")
