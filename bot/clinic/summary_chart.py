"""The weekly chart (PNG): sessions per day against the target, and pain over the week."""

from __future__ import annotations

import io
from functools import cache

import matplotlib
from babel.dates import format_skeleton
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from bot.clinic.summaries import SummaryData
from bot.i18n import Translator


@cache
def _font_characters() -> frozenset[int]:
    """Code points the default chart font can draw."""
    path = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    return frozenset(FT2Font(path).get_charmap())


def _label(translated: str, english: str) -> str:
    """The translated label when the chart font can draw it, else English (no tofu boxes)."""
    characters = _font_characters()
    return translated if all(ord(ch) in characters or ch.isspace() for ch in translated) else english


def render_chart(data: SummaryData, tr: Translator) -> bytes:
    """Two panels: bars of sessions per day with the daily target, and the pain scores (0–10)."""
    days = data.days
    labels = [
        _label(format_skeleton("MEd", day, locale=tr.babel_locale), format_skeleton("MEd", day, locale="en"))
        for day in days
    ]
    sessions = [data.sessions_per_day.get(day, 0) for day in days]
    # A Figure without pyplot keeps no global state, so charts can be drawn on worker threads.
    figure = Figure(figsize=(7, 5), dpi=110)
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.bar(range(len(days)), sessions, color="#4C72B0", label=_label(tr.gettext("sessions"), "sessions"))
    if data.sessions_target:
        per_day = data.sessions_target / 7
        top.axhline(per_day, color="#DD8452", linestyle="--", label=_label(tr.gettext("target"), "target"))
    top.set_ylim(0, max([*sessions, 1, (data.sessions_target or 0) / 7]) + 1)
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"{data.sessions_done}/{data.sessions_target or '–'}", fontsize=10, loc="right")
    first = data.start
    xs = [(moment.date() - first).days + moment.hour / 24 for moment, _ in data.pain]
    ys = [score for _, score in data.pain]
    bottom.plot(xs, ys, marker="o", color="#C44E52", label=_label(tr.gettext("pain (0–10)"), "pain (0-10)"))
    bottom.set_ylim(0, 10.5)
    bottom.set_yticks(range(0, 11, 2))
    bottom.legend(loc="upper left", fontsize=8)
    bottom.set_xticks(range(len(days)), labels, fontsize=8)
    bottom.set_xlim(-0.6, len(days) - 0.4)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
