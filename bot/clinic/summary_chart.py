"""The weekly chart (PNG): sessions per day against the target, pain over the week, range of motion per session."""

from __future__ import annotations

import io
import math
from datetime import date
from functools import cache

import matplotlib
from babel.dates import format_skeleton
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from bot.clinic.summaries import SummaryData
from bot.engine.measured_text import joint_word
from bot.i18n import Translator

_MAX_ROM_TICKS = 8


@cache
def _font_characters() -> frozenset[int]:
    """Code points the default chart font can draw."""
    path = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    return frozenset(FT2Font(path).get_charmap())


def _label(translated: str, english: str) -> str:
    """The translated label when the chart font can draw it, else English (no tofu boxes)."""
    characters = _font_characters()
    return translated if all(ord(ch) in characters or ch.isspace() for ch in translated) else english


def rom_series(data: SummaryData, tr: Translator) -> list[tuple[str, list[date], list[float]]]:
    """One line per exercise and joint: its legend label, the session dates and the ROM (degrees) of each."""
    series = []
    for number, quality in enumerate((q for q in data.exercises if q.rom), start=1):
        for trend in quality.rom:
            english = trend.joint.replace("_", " ")
            fallback = _label(f"{quality.exercise} · {english}", f"#{number} · {english}")
            label = _label(f"{quality.exercise} · {joint_word(tr, trend.joint)}", fallback)
            series.append((label, [s.day for s in trend.sessions], [s.rom_deg for s in trend.sessions]))
    return series


def _draw_rom(axes: Axes, series: list[tuple[str, list[date], list[float]]], tr: Translator) -> None:
    """The ROM panel: degrees per session, x in days from the first session, ticks at session dates."""
    first = min(day for _, days, _ in series for day in days)
    for label, days, roms in series:
        axes.plot([(day - first).days for day in days], roms, marker="o", label=label)
    ticks = sorted({day for _, days, _ in series for day in days})
    ticks = ticks[:: math.ceil(len(ticks) / _MAX_ROM_TICKS)]
    labels = [
        _label(format_skeleton("MMMd", day, locale=tr.babel_locale), format_skeleton("MMMd", day, locale="en"))
        for day in ticks
    ]
    axes.set_xticks([(day - first).days for day in ticks], labels, fontsize=8)
    axes.margins(x=0.08, y=0.25)
    axes.set_title(_label(tr.gettext("ROM per session (°)"), "ROM per session (°)"), fontsize=10, loc="left")
    axes.legend(loc="best", fontsize=8)


def build_figure(data: SummaryData, tr: Translator) -> Figure:
    """Two panels: bars of sessions per day with the daily target, and the pain scores (0–10); a third for ROM."""
    days = data.days
    labels = [
        _label(format_skeleton("MEd", day, locale=tr.babel_locale), format_skeleton("MEd", day, locale="en"))
        for day in days
    ]
    sessions = [data.sessions_per_day.get(day, 0) for day in days]
    series = rom_series(data, tr)
    # A Figure without pyplot keeps no global state, so charts can be drawn on worker threads.
    figure = Figure(figsize=(7, 7.5 if series else 5), dpi=110)
    grid = figure.add_gridspec(3 if series else 2, 1)
    top = figure.add_subplot(grid[0])
    bottom = figure.add_subplot(grid[1], sharex=top)
    top.tick_params(labelbottom=False)
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
    if series:
        _draw_rom(figure.add_subplot(grid[2]), series, tr)
    figure.tight_layout()
    return figure


def render_chart(data: SummaryData, tr: Translator) -> bytes:
    """The chart as PNG bytes."""
    figure = build_figure(data, tr)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
