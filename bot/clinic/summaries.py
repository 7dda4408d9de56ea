"""Weekly summaries: what happened for one patient, exception-first, in the therapist's language."""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent

from bot.clinic.alerts import patient_label, reason_text
from bot.clinic.weeks import RomTrend, exercise_name, rom_trends
from bot.engine.measured_text import joint_word
from bot.i18n import Translator
from bot.vlm.render import format_span
from storage.crud_therapist import PatientWeek
from storage.models import Assessment, User, VideoStatus

# Word overlap at which two problem descriptions count as the same recurring problem.
_SAME_PROBLEM_OVERLAP = 0.5
_WORD = re.compile(r"\w{3,}", re.UNICODE)
_MAX_PROBLEMS_PER_EXERCISE = 3
_MAX_EXAMPLES = 2


@dataclass(frozen=True)
class ProblemExample:
    """Where a problem was seen: the video's local date and the moment in it."""

    day: date
    start_s: float
    end_s: float


@dataclass
class RecurringProblem:
    """One movement problem and every time it was seen."""

    what: str
    words: frozenset[str]
    examples: list[ProblemExample] = field(default_factory=list)
    worst_severity: int = 0


@dataclass
class ExerciseQuality:
    """Movement quality for one exercise over the week, and its range of motion per session."""

    exercise: str
    videos: int = 0
    problems: list[RecurringProblem] = field(default_factory=list)
    rom: list[RomTrend] = field(default_factory=list)


@dataclass
class SummaryData:
    """Everything a summary says, computed from the database rows."""

    patient: User
    start: date
    end: date
    days: list[date]
    flags: list[tuple[date, str]]
    paused_since: date | None
    sessions_target: int | None
    sessions_done: int
    sessions_per_day: dict[date, int]
    pain: list[tuple[datetime, int]]
    previous_pain_mean: float | None
    exercises: list[ExerciseQuality]
    questions: list[tuple[date, str]]
    rejected: Counter[str]


def _words(text: str) -> frozenset[str]:
    """Content words of a problem description, for grouping similar ones."""
    return frozenset(word.casefold() for word in _WORD.findall(text))


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two word sets."""
    return len(a & b) / len(a | b) if a and b else 0.0


_SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


def recurring_problems(week: PatientWeek, tz: ZoneInfo) -> list[ExerciseQuality]:
    """Issues grouped per exercise; similar descriptions are merged, most frequent first."""
    video_days = {video.id: video.created_at.astimezone(tz).date() for video in week.videos}
    exercises: dict[str, ExerciseQuality] = {}
    for assessment in week.assessments:
        result = assessment.result or {}
        name = exercise_name(assessment)
        quality = exercises.setdefault(name.casefold(), ExerciseQuality(exercise=name))
        quality.videos += 1
        for observation in result.get("observations") or []:
            if observation.get("kind") != "issue":
                continue
            what = str(observation.get("what") or "").strip()
            words = _words(what)
            example = ProblemExample(
                video_days.get(assessment.video_id, date.min), float(observation["start"]), float(observation["end"])
            )
            match = next((p for p in quality.problems if _overlap(p.words, words) >= _SAME_PROBLEM_OVERLAP), None)
            if match is None:
                match = RecurringProblem(what=what, words=words)
                quality.problems.append(match)
            match.examples.append(example)
            match.worst_severity = max(match.worst_severity, _SEVERITY_RANK.get(str(observation.get("severity")), 0))
    for quality in exercises.values():
        quality.problems.sort(key=lambda p: (-len(p.examples), -p.worst_severity))
    return sorted(exercises.values(), key=lambda q: -q.videos)


def collect_summary(
    patient: User,
    week: PatientWeek,
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    history: list[tuple[datetime, Assessment]] | None = None,
) -> SummaryData:
    """Turn a patient's rows for [start, end) into summary facts (dates in the therapist's zone).

    `history` holds measured assessments from before `start` (with their video's time), so that the range of
    motion of an exercise done this week is shown as a trend over the weeks before, too.
    """
    first_day = start.astimezone(tz).date()
    days = [first_day + timedelta(days=i) for i in range((end - start).days or 1)]
    assessed = [v for v in week.videos if v.status == VideoStatus.ASSESSED]
    per_day: dict[date, int] = defaultdict(int)
    for video in assessed:
        per_day[video.created_at.astimezone(tz).date()] += 1
    flags = [(alert.created_at.astimezone(tz).date(), alert.kind + ":" + alert.reason) for alert in week.alerts]
    target = sum(p.sessions_per_week or 0 for p in week.prescriptions) or None
    earlier = [report.score for report in week.earlier_pain]
    video_times = {video.id: video.created_at for video in week.videos}
    this_week = [(video_times[a.video_id], a) for a in week.assessments if a.video_id in video_times]
    trends = rom_trends([*(history or []), *this_week], tz)
    exercises = recurring_problems(week, tz)
    for quality in exercises:
        quality.rom = trends.get(quality.exercise.casefold(), [])
    return SummaryData(
        patient=patient,
        start=first_day,
        end=days[-1],
        days=days,
        flags=flags,
        paused_since=patient.plan_paused_at.astimezone(tz).date() if patient.plan_paused_at else None,
        sessions_target=target,
        sessions_done=len(assessed),
        sessions_per_day=dict(per_day),
        pain=[(report.created_at.astimezone(tz), report.score) for report in week.pain],
        previous_pain_mean=sum(earlier) / len(earlier) if earlier else None,
        exercises=exercises,
        questions=[(turn.created_at.astimezone(tz).date(), turn.question) for turn in week.questions],
        rejected=Counter(v.reject_reason or "unreadable" for v in week.videos if v.status == VideoStatus.REJECTED),
    )


def _heading(text: str) -> str:
    """A bold section heading."""
    return f"<b>{html.escape(text)}</b>"


def _flag_lines(data: SummaryData, tr: Translator, alerts_text: list[str]) -> list[str]:
    """Flags first: alerts of the week and a paused plan."""
    lines = [_heading(tr.gettext("Flags"))]
    locale = tr.babel_locale
    for (day, _), text in zip(data.flags, alerts_text, strict=True):
        lines.append(f"• {format_skeleton('MMMd', day, locale=locale)}: {html.escape(text)}")
    if data.paused_since:
        lines.append(
            "• "
            + html.escape(
                tr.gettext(
                    "Plan paused since %(date)s; /resume %(patient)s when reviewed.",
                    date=format_skeleton("MMMd", data.paused_since, locale=locale),
                    patient=data.patient.id,
                )
            )
        )
    if len(lines) == 1:
        lines.append(html.escape(tr.gettext("No flags this week.")))
    return lines


def _adherence_lines(data: SummaryData, tr: Translator) -> list[str]:
    """Sessions against the prescription and days with data."""
    locale = tr.babel_locale
    days_with_data = len(data.sessions_per_day)
    days_text = tr.ngettext(
        "data on %(count)s of %(total)s days",
        "data on %(count)s of %(total)s days",
        days_with_data,
        total=len(data.days),
    )
    if data.sessions_target:
        share = format_percent(min(data.sessions_done / data.sessions_target, 9.99), locale=locale)
        done = tr.ngettext(
            "%(count)s of %(target)s prescribed sessions (%(share)s)",
            "%(count)s of %(target)s prescribed sessions (%(share)s)",
            data.sessions_done,
            target=data.sessions_target,
            share=share,
        )
    else:
        done = tr.ngettext("%(count)s session, no plan set", "%(count)s sessions, no plan set", data.sessions_done)
    return [_heading(tr.gettext("Adherence")), html.escape(f"{done} · {days_text}")]


def _pain_lines(data: SummaryData, tr: Translator) -> list[str]:
    """Pain reports: range, average, trend against the week before."""
    lines = [_heading(tr.gettext("Pain"))]
    if not data.pain:
        lines.append(html.escape(tr.gettext("No pain reports this week.")))
        return lines
    locale = tr.babel_locale
    scores = [score for _, score in data.pain]
    mean = sum(scores) / len(scores)
    text = tr.ngettext(
        "%(count)s report: first %(first)s/10, last %(last)s/10, highest %(high)s/10, average %(mean)s",
        "%(count)s reports: first %(first)s/10, last %(last)s/10, highest %(high)s/10, average %(mean)s",
        len(scores),
        first=scores[0],
        last=scores[-1],
        high=max(scores),
        mean=format_decimal(round(mean, 1), locale=locale),
    )
    lines.append(html.escape(text))
    if data.previous_pain_mean is not None:
        change = mean - data.previous_pain_mean
        previous = format_decimal(round(data.previous_pain_mean, 1), locale=locale)
        if change >= 1:
            trend = tr.gettext("Rising: the week before averaged %(mean)s.", mean=previous)
        elif change <= -1:
            trend = tr.gettext("Falling: the week before averaged %(mean)s.", mean=previous)
        else:
            trend = tr.gettext("About the same as the week before (%(mean)s).", mean=previous)
        lines.append(html.escape(trend))
    return lines


def _movement_lines(data: SummaryData, tr: Translator) -> list[str]:
    """Recurring problems per exercise with example moments."""
    lines = [_heading(tr.gettext("Movement"))]
    if not data.exercises:
        lines.append(html.escape(tr.gettext("No assessed videos this week.")))
        return lines
    locale = tr.babel_locale
    for quality in data.exercises:
        videos = tr.ngettext("%(count)s video", "%(count)s videos", quality.videos)
        lines.append(f"{html.escape(quality.exercise)} — {html.escape(videos)}")
        lines += [f"• {html.escape(rom_text(trend, tr))}" for trend in quality.rom]
        for problem in quality.problems[:_MAX_PROBLEMS_PER_EXERCISE]:
            examples = "; ".join(
                f"{format_skeleton('MMMd', example.day, locale=locale)} {format_span(example.start_s, example.end_s)}"
                for example in problem.examples[:_MAX_EXAMPLES]
            )
            times = tr.ngettext("seen once", "seen %(count)s times", len(problem.examples))
            lines.append(f"• {html.escape(problem.what)} — {html.escape(times)} ({html.escape(examples)})")
    return lines


def rom_text(trend: RomTrend, tr: Translator) -> str:
    """The trend in words: "knee range of motion 78° → 91° over 3 weeks (4 measured sessions)"."""
    locale = tr.babel_locale
    joint = joint_word(tr, trend.joint)
    first, last = (format_decimal(round(s.rom_deg), locale=locale) for s in (trend.sessions[0], trend.sessions[-1]))
    sessions = tr.ngettext("%(count)s measured session", "%(count)s measured sessions", len(trend.sessions))
    if len(trend.sessions) == 1:
        text = tr.gettext("%(joint)s range of motion %(degrees)s°", joint=joint, degrees=last)
    else:
        text = tr.ngettext(
            "%(joint)s range of motion %(first)s° → %(last)s° over %(count)s week",
            "%(joint)s range of motion %(first)s° → %(last)s° over %(count)s weeks",
            trend.weeks,
            joint=joint,
            first=first,
            last=last,
        )
    return f"{text} ({sessions})"


def render_summary(data: SummaryData, tr: Translator, *, draft: str | None = None) -> str:
    """The summary message (Telegram HTML; all data escaped)."""
    locale = tr.babel_locale
    period = tr.gettext(
        "%(start)s – %(end)s",
        start=format_skeleton("MMMd", data.start, locale=locale),
        end=format_skeleton("yMMMd", data.end, locale=locale),
    )
    title = tr.gettext("Weekly summary: %(patient)s", patient=patient_label(data.patient))
    alert_texts = [_flag_reason(tr, flag) for _, flag in data.flags]
    sections = [
        [_heading(title), html.escape(period)],
        _flag_lines(data, tr, alert_texts),
        _adherence_lines(data, tr),
        _pain_lines(data, tr),
        _movement_lines(data, tr),
    ]
    if data.questions:
        questions = [_heading(tr.gettext("Questions for you"))]
        questions += [
            f"• {format_skeleton('MMMd', day, locale=locale)}: {html.escape(text[:300])}"
            for day, text in data.questions
        ]
        sections.append(questions)
    if data.rejected:
        count = sum(data.rejected.values())
        sections.append(
            [
                _heading(tr.gettext("Data quality")),
                html.escape(
                    tr.ngettext("%(count)s video could not be used.", "%(count)s videos could not be used.", count)
                ),
            ]
        )
    if draft:
        label = tr.gettext("AI draft, for you to judge:")
        sections.append([f"<i>{html.escape(label)} {html.escape(draft)}</i>"])
    caveat = tr.gettext("Observations come from an AI model watching videos; they are not measurements.")
    sections.append([f"<i>{html.escape(caveat)}</i>"])
    if any(quality.rom for quality in data.exercises):
        rom_caveat = tr.gettext(
            "Range of motion is measured from the videos by a pose model; camera angle affects it, "
            "so read the trend rather than a single session."
        )
        sections[-1].append(f"<i>{html.escape(rom_caveat)}</i>")
    return "\n\n".join("\n".join(section) for section in sections)


def _flag_reason(tr: Translator, flag: str) -> str:
    """A flag code (`kind:reason`) in words."""
    kind, _, reason = flag.partition(":")
    return reason_text(tr, kind, reason)


def summary_facts(data: SummaryData) -> str:
    """Plain facts for the optional model-drafted paragraph (English, for the prompt)."""
    scores = [score for _, score in data.pain]
    parts = [
        f"Sessions: {data.sessions_done} of {data.sessions_target or 'no'} prescribed.",
        f"Days with data: {len(data.sessions_per_day)} of {len(data.days)}.",
        f"Pain scores this week: {scores or 'none'}; previous week average: {data.previous_pain_mean}.",
        f"Alerts: {[flag for _, flag in data.flags] or 'none'}.",
    ]
    for quality in data.exercises:
        problems = [f"{p.what} ({len(p.examples)}x)" for p in quality.problems[:_MAX_PROBLEMS_PER_EXERCISE]]
        parts.append(f"{quality.exercise}: {quality.videos} videos; problems: {problems or 'none noted'}.")
        for trend in quality.rom:
            degrees = [round(s.rom_deg) for s in trend.sessions]
            parts.append(f"{quality.exercise}: {trend.joint} range of motion per session (degrees): {degrees}.")
    return "\n".join(parts)
