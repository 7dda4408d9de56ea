"""The assessment JSON: extraction from messy model output, coercion, truncation, repair, fallback."""

from __future__ import annotations

import json

import pytest

from bot.vlm.fallback import fallback_text
from bot.vlm.json_extract import extract_json
from bot.vlm.schema import (
    ASSESSMENT_JSON_SCHEMA,
    ASSESSMENT_SCHEMA_TEXT,
    AssessmentResult,
    Observation,
    parse_assessment,
    repair_prompt,
)

CONTRACT_KEYS = {"exercise", "repetitions", "observations", "summary"}
OBSERVATION_KEYS = {"start", "end", "kind", "severity", "what", "cue"}

GOOD = {
    "exercise": "Bodyweight squat",
    "repetitions": 3,
    "observations": [
        {
            "start": 12,
            "end": 15,
            "kind": "issue",
            "severity": "medium",
            "what": "Knees drift inward",
            "cue": "Push your knees out over your toes",
        },
        {"start": 2.5, "end": 6, "kind": "good", "severity": None, "what": "Heels stay down", "cue": ""},
    ],
    "summary": "A steady set. Keep going!",
}
GOOD_TEXT = json.dumps(GOOD)


def test_good_json() -> None:
    result = parse_assessment(GOOD_TEXT)
    assert result is not None
    assert result.model_dump(mode="json") == GOOD


def test_model_dump_has_exactly_the_contract_keys() -> None:
    data = dict(GOOD, confidence=0.3, observations=[dict(GOOD["observations"][0], extra="x")])
    result = parse_assessment(json.dumps(data))
    assert result is not None
    dumped = result.model_dump(mode="json")
    assert set(dumped) == CONTRACT_KEYS
    assert all(set(obs) == OBSERVATION_KEYS for obs in dumped["observations"])
    assert json.loads(result.model_dump_json()) == dumped


def test_schema_names_match_the_models() -> None:
    assert set(ASSESSMENT_JSON_SCHEMA["properties"]) == CONTRACT_KEYS
    assert set(ASSESSMENT_JSON_SCHEMA["required"]) == CONTRACT_KEYS
    items = ASSESSMENT_JSON_SCHEMA["properties"]["observations"]["items"]
    assert set(items["properties"]) == OBSERVATION_KEYS
    assert set(AssessmentResult.model_fields) == CONTRACT_KEYS
    assert set(Observation.model_fields) == OBSERVATION_KEYS
    json.dumps(ASSESSMENT_JSON_SCHEMA)  # usable as a response_format schema


@pytest.mark.parametrize(
    "text",
    [
        f"```json\n{GOOD_TEXT}\n```",
        f"```\n{GOOD_TEXT}\n```",
        f"Here is my assessment:\n```json\n{GOOD_TEXT}\n```\nLet me know if you need more.",
        f"Sure! {GOOD_TEXT} Hope this helps.",
        f'<think>The user wants JSON like {{"a": 1}}. Let me look.</think>\n{GOOD_TEXT}',
        f"<THINK>\nreasoning\n</THINK>```json\n{GOOD_TEXT}\n```",
        f"reasoning left over from a template that opened the block</think>\n{GOOD_TEXT}",
        f"Note {{braces}} in prose first, then {GOOD_TEXT}",
        GOOD_TEXT.replace("}]", "},]").replace('"summary"', '"summary"'),  # a trailing comma
        f"{GOOD_TEXT}<|im_end|>",
    ],
)
def test_wrapped_json_is_found(text: str) -> None:
    extracted = extract_json(text)
    assert extracted is not None
    result = parse_assessment(text)
    assert result is not None
    assert result.model_dump(mode="json") == GOOD


def test_wrapped_assessment_is_unwrapped() -> None:
    result = parse_assessment(json.dumps({"assessment": GOOD}))
    assert result is not None and result.exercise == "Bodyweight squat"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I could not see the video clearly.",
        '{"exercise": "Squat", "repetitions": 3, "observations": [{"start": 1, "end"',  # cut before any
        '{"exercise": }',
        "{'exercise': 'squat'}",  # Python, not JSON
        '{"foo": 1, "bar": [1, 2]}',  # JSON, not an assessment
        "[1, 2, 3]",
        '{"exercise": "", "observations": [], "summary": ""}',  # nothing to show
        '<think>thinking cut off by max_new_tokens {"exercise": "squat"',
        '{"exercise": "squat", "observations": "lots"}',  # observations of the wrong type
    ],
)
def test_unusable_output_is_none(text: str) -> None:
    assert parse_assessment(text) is None


def test_extract_json_on_no_json() -> None:
    assert extract_json("no braces here") is None
    assert extract_json("{ not json at all") is None


def test_truncated_output_keeps_finished_observations() -> None:
    cut = GOOD_TEXT[: GOOD_TEXT.index('"Heels stay down"') + 5]  # inside the second observation
    assert json.loads(extract_json(cut) or "null")["exercise"] == "Bodyweight squat"
    result = parse_assessment(f"```json\n{cut}")
    assert result is not None
    assert result.repetitions == 3
    assert [obs.what for obs in result.observations] == ["Knees drift inward"]
    assert result.summary == ""


def test_truncated_summary_is_dropped_not_half_shown() -> None:
    cut = GOOD_TEXT[: GOOD_TEXT.index("Keep going")]
    result = parse_assessment(cut)
    assert result is not None
    assert len(result.observations) == 2
    assert result.summary == ""


def test_truncated_before_observations_is_refused() -> None:
    # Repaired output must still carry `exercise` and `observations`, and something finished.
    assert parse_assessment('{"exercise": "Squat", "repetitions": 3, "obser') is None
    assert parse_assessment('{"exercise": "Squat", "observations": [], "summ') is None


def test_wrong_types_are_coerced() -> None:
    text = json.dumps(
        {
            "exercise": "  Lunge ",
            "repetitions": "10",
            "observations": [
                {
                    "start": "0:12",
                    "end": "0:15",
                    "kind": "ISSUE",
                    "severity": "High",
                    "what": "a",
                    "cue": "b",
                },
                {"start": "9.5", "end": "4", "kind": "Good", "severity": "high", "what": "c", "cue": None},
                {"start": -2, "end": "3s", "kind": "problem", "severity": "moderate", "what": "d", "cue": 5},
                {"start": 1, "end": 2, "kind": "issue", "severity": "catastrophic", "what": "e", "cue": ""},
                {"start": 1, "end": 2, "kind": "nonsense", "what": "dropped: unknown kind", "cue": ""},
                {"start": 1, "end": 2, "kind": "issue", "what": "   ", "cue": "dropped: nothing seen"},
                {"kind": "issue", "what": "dropped: no time", "cue": ""},
                "not an observation",
            ],
            "summary": 42,
        }
    )
    result = parse_assessment(text)
    assert result is not None
    assert result.exercise == "Lunge"
    assert result.repetitions == 10
    assert result.summary == "42"
    dumped = [obs.model_dump(mode="json") for obs in result.observations]
    assert dumped == [
        {"start": 12.0, "end": 15.0, "kind": "issue", "severity": "high", "what": "a", "cue": "b"},
        {"start": 4.0, "end": 9.5, "kind": "good", "severity": None, "what": "c", "cue": ""},
        {"start": 0.0, "end": 3.0, "kind": "issue", "severity": "medium", "what": "d", "cue": "5"},
        {"start": 1.0, "end": 2.0, "kind": "issue", "severity": None, "what": "e", "cue": ""},
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10", 10), (10.0, 10), ("about 12", 12), (None, None), ("many", None), (-3, None), (True, None)],
)
def test_repetitions(value: object, expected: int | None) -> None:
    result = AssessmentResult.model_validate({"exercise": "x", "repetitions": value})
    assert result.repetitions == expected


def test_missing_optional_fields() -> None:
    result = parse_assessment('{"exercise": "Bridge", "observations": [{"start": 3, "what": "hips sag"}]}')
    assert result is not None
    assert result.repetitions is None
    assert result.summary == ""
    assert result.model_dump(mode="json")["observations"] == [
        {"start": 3.0, "end": 3.0, "kind": "issue", "severity": None, "what": "hips sag", "cue": ""}
    ]
    bare = parse_assessment('{"exercise": "Bridge"}')
    assert bare is not None and bare.observations == []


def test_observations_outside_the_clip() -> None:
    data = dict(
        GOOD,
        observations=[
            {"start": 2, "end": 4, "kind": "issue", "severity": "low", "what": "inside", "cue": ""},
            {"start": 8, "end": 14, "kind": "issue", "severity": "low", "what": "runs past", "cue": ""},
            {"start": 10.5, "end": 12, "kind": "issue", "severity": "low", "what": "just after", "cue": ""},
            {"start": 25, "end": 30, "kind": "issue", "severity": "low", "what": "invented", "cue": ""},
        ],
    )
    result = parse_assessment(json.dumps(data), duration_s=10.0)
    assert result is not None
    spans = [(obs.what, obs.start, obs.end) for obs in result.observations]
    assert spans == [("inside", 2, 4), ("runs past", 8, 10), ("just after", 10, 10)]
    unclamped = parse_assessment(json.dumps(data))
    assert unclamped is not None and len(unclamped.observations) == 4


def test_repair_prompt_contains_the_schema_and_the_bad_output() -> None:
    prompt = repair_prompt('```json\n{"exercise": "squat", oops')
    assert ASSESSMENT_SCHEMA_TEXT in prompt
    for key in [*CONTRACT_KEYS, *OBSERVATION_KEYS]:
        assert f'"{key}"' in prompt
    assert "oops" in prompt
    assert "JSON" in prompt
    assert len(repair_prompt("x" * 100_000)) < 10_000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Your squat looked steady. Keep your knees over your toes.", None),
        ("```\nYour squat looked steady.\n```", "Your squat looked steady."),
        (
            '<think>let me think</think>Nice work!\n```json\n{"exercise": "squat", "obs\n```',
            "Nice work!",
        ),
        ('Answer: {"exercise": "squat", "observations": []}\nLooks steady.', "Answer:\nLooks steady."),
        ('```json\n{"answer": "At 0:30 your knees stay apart."}\n```', "At 0:30 your knees stay apart."),
        ('{"observations": [{"start": 1, "what": "x"', ""),
        ("```json\n{\n}\n```", ""),
        ("   ", ""),
        ("Curly {braces} in prose stay.", None),
    ],
)
def test_fallback_text(raw: str, expected: str | None) -> None:
    assert fallback_text(raw) == (raw.strip() if expected is None else expected)


def test_fallback_text_is_trimmed() -> None:
    long = "This is a sentence. " * 500
    text = fallback_text(long)
    assert 0 < len(text) <= 3001
    assert text.endswith("…")


def test_fallback_text_drops_control_characters_and_undecodable_bytes() -> None:
    """Gibberish from a model never carries NUL, other control characters or U+FFFD to the patient."""

    cleaned = fallback_text("knee\x00 in\x1a\ufffd\x7fward\tok\nnext")
    assert cleaned == "knee inward\tok\nnext"
