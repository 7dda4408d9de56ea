"""A long video assessed part by part: the parts' results merged into one feedback on the whole clip."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.video.frames import Segment
from bot.vlm.schema import AssessmentResult, Observation

# Seconds an observation may fall outside its part and still count as given in whole-video time.
_EDGE_SLACK_S = 1.0


def in_video_time(observation: Observation, segment: Segment) -> Observation:
    """The observation in whole-video seconds.

    Each part is asked for whole-video times (its frames carry them). An answer that lies outside the
    part but within the part's own length was given from the part's start instead, and is shifted.
    """
    length = segment.end_s - segment.start_s
    inside = segment.start_s - _EDGE_SLACK_S <= observation.start <= segment.end_s + _EDGE_SLACK_S
    if inside or observation.end > length + _EDGE_SLACK_S:
        return observation
    return observation.model_copy(
        update={"start": observation.start + segment.start_s, "end": observation.end + segment.start_s}
    )


def merge_parts(
    results: Sequence[tuple[Segment, AssessmentResult | None]], *, duration_s: float
) -> AssessmentResult | None:
    """One assessment from the parts that parsed; None when none did.

    Observations keep their order in time; repetitions add up (unknown when no part counted any);
    the exercise is the one most parts named; the summaries follow one another.
    """
    parsed = [(segment, result) for segment, result in results if result is not None]
    if not parsed:
        return None
    observations = sorted(
        (in_video_time(observation, segment) for segment, result in parsed for observation in result.observations),
        key=lambda observation: (observation.start, observation.end),
    )
    names = Counter(result.exercise for _, result in parsed if result.exercise)
    counts = [result.repetitions for _, result in parsed if result.repetitions is not None]
    summaries: list[str] = []
    for _, result in parsed:
        if result.summary and result.summary not in summaries:
            summaries.append(result.summary)
    merged = AssessmentResult(
        exercise=names.most_common(1)[0][0] if names else "",
        repetitions=sum(counts) if counts else None,
        observations=observations,
        summary=" ".join(summaries),
    )
    return merged.within(duration_s)
