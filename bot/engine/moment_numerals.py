"""Numerals that moment parsing reads as digits: Chinese numerals by a time word, Arabic's dual time nouns."""

from __future__ import annotations

import re
from types import MappingProxyType

_CJK_DIGITS = MappingProxyType(
    {
        "零": 0,
        "〇": 0,
        "一": 1,
        "二": 2,
        "两": 2,
        "兩": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
    }
)
_CJK_NUMERAL_RUN = re.compile(
    r"(?<=第)[零〇一二两兩三四五六七八九十百]+|[零〇一二两兩三四五六七八九十百]+"
    r"(?=\s*(?:秒|分|小时|小時|个小时|個小時))"
)


def cjk_number(run: str) -> int:
    """Read a run of Chinese numerals such as 三十五 or 一百零五 (or digit by digit: 三五)."""
    if "十" not in run and "百" not in run:
        return int("".join(str(_CJK_DIGITS[ch]) for ch in run))
    total = current = 0
    for ch in run:
        if ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = _CJK_DIGITS[ch]
    return total + current


def chinese_numerals(text: str) -> str:
    """Chinese numerals next to a time word become digits (第三十秒 → 第30秒), nothing else changes."""
    return _CJK_NUMERAL_RUN.sub(lambda m: str(cjk_number(m.group())), text)


# Arabic: diacritics (harakat), the tatweel and direction marks go; letters with several spellings
# become one (أ إ آ ٱ → ا, ة → ه, ى → ي); Arabic punctuation becomes ASCII (٫ is the decimal point).
_ARABIC_DROP = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200e\u200f\u061c]")
_ARABIC_SPELLING = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "٫": ".", "٪": "%", "،": ","}
)
_ARABIC_WORD_START = r"(?<![^\W\d_])"
# Time nouns carry the number in their ending: دقيقتين is "two minutes"; دقيقه و5 ثوان is "a minute and 5 s".
_ARABIC_DUAL = re.compile(rf"{_ARABIC_WORD_START}(?P<prefix>[وفبل]?)(?P<stem>دقيق|ثاني|ساع)ت(?:ين|ان)(?![^\W\d_])")
_ARABIC_ONE = re.compile(rf"(?<!\d)(?<!\d\s){_ARABIC_WORD_START}(?P<prefix>[وفبل]?)(?P<unit>دقيقه|ساعه)(?=\s*و\s*\d)")


def arabic(text: str) -> str:
    """Arabic spelling variants become one, and dual or lone time nouns get a number (دقيقتين → 2 دقيقه)."""
    text = _ARABIC_DROP.sub("", text).translate(_ARABIC_SPELLING)
    text = _ARABIC_DUAL.sub(lambda m: f"{m['prefix']}2 {m['stem']}ه", text)
    return _ARABIC_ONE.sub(lambda m: f"{m['prefix']}1 {m['unit']}", text)
