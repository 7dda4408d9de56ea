"""What a red-flag hit carries (never the text), its enums and severities, and the module's imports."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from bot.clinic.safety import (
    CATEGORY_KIND,
    CATEGORY_SEVERITY,
    SafetyCategory,
    SafetyHit,
    SafetyKind,
    Severity,
    check_text,
)
from bot.clinic.safety_lexicon import CATEGORIES


def test_hit_never_carries_the_text() -> None:
    text = "I fell near the Kowalski bakery and my chest hurts"
    hit = check_text(text)
    assert hit is not None
    assert {f.name for f in dataclasses.fields(SafetyHit)} == {"kind", "category", "severity", "language"}
    rendered = repr(hit) + str(dataclasses.asdict(hit))
    for word in ("Kowalski", "bakery", "near", "chest hurts"):
        assert word not in rendered


def test_hit_is_frozen_and_uses_the_enums() -> None:
    hit = check_text("I fell")
    assert hit is not None
    assert isinstance(hit.kind, SafetyKind)
    assert SafetyCategory(hit.category) is SafetyCategory.FALL
    assert Severity(hit.severity) is Severity.CRITICAL
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.severity = "high"  # type: ignore[misc]


def test_severity_mapping() -> None:
    assert {c.value for c in SafetyCategory} == set(CATEGORIES)
    critical = {c for c, s in CATEGORY_SEVERITY.items() if s is Severity.CRITICAL}
    assert critical == {
        SafetyCategory.FALL,
        SafetyCategory.CHEST_PAIN,
        SafetyCategory.FAINTING,
        SafetyCategory.BREATHING,
    }
    assert CATEGORY_KIND[SafetyCategory.FALL] is SafetyKind.FALL
    assert CATEGORY_KIND[SafetyCategory.SEVERE_PAIN] is SafetyKind.SEVERE_PAIN
    assert {CATEGORY_KIND[c] for c in SafetyCategory} == set(SafetyKind)


def test_module_imports_no_heavy_dependencies() -> None:
    code = (
        "import sys, bot.clinic.safety; "
        "print(sorted(m for m in ('telegram', 'torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
