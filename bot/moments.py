"""Find the moment of a video that a follow-up question asks about ("what about 0:30?").

`parse_moment(text)` returns a `MomentRef`: an absolute time (`kind="at"`, `seconds` set), or the
clip's beginning or end (`kind="start"` / `"end"`), or None when the question names no moment.

How a question is read (the language is not known in advance, so every table applies to every text):

1. Normalise: NFKC (full-width digits and colons become ASCII), case-fold, every Unicode decimal
   digit to ASCII (Arabic-Indic, Devanagari, ...), then each language's own hook (Chinese numerals
   before a time unit or after 第 become digits: 第三十秒 → 第30秒; Arabic loses its diacritics and
   spelling variants (ة → ه, أ → ا) and its dual time nouns gain a number: دقيقتين → 2 دقيقه).
2. Collect candidates, each at the position where it starts:
   - timecodes `m:ss`, `h:mm:ss`, with an optional fraction (`0:30.5`);
   - a number with a time unit, or a chain of them (`30 s`, `1 min 5 s`, `1m5s`, `1分钟5秒`,
     `на 12-й секунде`, `10-15 seconds` → its first number). Ambiguous short units are only
     trusted inside a chain: `m`/`м`/`分` (metres, "very", pain points) must be followed by a
     seconds part, hours by a smaller part; a bare `2 hours` is a duration, never a moment;
   - a number after a "second"/"minute" noun (`second 30`, `Sekunde 30`, `en el segundo 30`);
   - a bare number after an "at" word (`at 30`, `на 30`, `bei 30`), or before an "at" postposition
     (Hindi `30 पर`): in a question about a video a bare number there means a second. Bare numbers
     are the weakest form: they are ignored when the text talks about pain (`my pain is at 5`),
     when they have more than three digits (years), when a letter sticks to them (`at 5m`) and when
     they are part of a date or decimal (`at 12.03.2024`);
   - phrases for the beginning and the end (`at the beginning`, `в конце`, `开头`, `al final`).
3. Reject what is a count, not a moment: a number followed by a count word (reps, sets, times,
   kg, degrees, days, weeks, o'clock, am/pm, "out of 10", `/10`, `%`, `3x10`), a time followed or
   preceded by an "ago" word (`2 minutes ago`, `hace 2 minutos`), and a duration
   (`for 30 seconds`, `every 30 seconds`). `the first 10 seconds` means the beginning and
   `the last 5 seconds` the end.
4. The earliest candidate in the text wins (`from 0:12 to 0:15` → 0:12).

Adding a language is one `LanguageWords` entry in `LANGUAGES`; entries are lowercase regular
expression fragments written in normalised form (Arabic ه not ة), a space in them matches any run of
whitespace, and in languages written with spaces each fragment must stand as a whole word (it may not
touch a letter or a combining mark, such as a Devanagari vowel sign, on either side).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True)
class MomentRef:
    """A moment in the clip: an absolute time in seconds, or the clip's beginning or end."""

    kind: Literal["at", "start", "end"]
    seconds: float | None = None


@dataclass(frozen=True)
class LanguageWords:
    """One language's words for moments; every entry is a lowercase regular-expression fragment."""

    seconds: tuple[str, ...] = ()  # units after a number: "30 seconds"
    minutes: tuple[str, ...] = ()  # "2 min"
    chain_minutes: tuple[str, ...] = ()  # ambiguous alone, trusted before a seconds part: "1m5s"
    hours: tuple[str, ...] = ()  # only before a smaller part: "1 h 2 min"
    joiners: tuple[str, ...] = ()  # between parts: "1 minute and 5 seconds"
    ordinal_suffixes: tuple[str, ...] = ()  # between number and unit: "30th second", "12-й секунде"
    second_nouns: tuple[str, ...] = ()  # before a number: "second 30", "Sekunde 30"
    minute_nouns: tuple[str, ...] = ()  # before a number: "minute 2"
    at_words: tuple[str, ...] = ()  # a bare number after these is a second: "at 30"
    at_after_words: tuple[str, ...] = ()  # postpositions, a bare number before these is a second: "30 पर"
    start_phrases: tuple[str, ...] = ()
    end_phrases: tuple[str, ...] = ()
    first_words: tuple[str, ...] = ()  # "first 10 seconds" means the beginning
    last_words: tuple[str, ...] = ()  # "last 5 seconds" means the end
    not_before: tuple[str, ...] = ()  # durations and "ago" prefixes: "for", "hace", "vor"
    not_after: tuple[str, ...] = ()  # counts, units that are not time, "ago": "reps", "kg", "назад"
    pain_words: tuple[str, ...] = ()  # bare numbers in pain talk are scores, not seconds
    spaced: bool = True  # written with spaces between words (False for Chinese, Japanese, Thai)
    normalize: Callable[[str], str] | None = None  # a hook for the language's own numerals


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


def _cjk_number(run: str) -> int:
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


def _chinese_numerals(text: str) -> str:
    """Chinese numerals next to a time word become digits (第三十秒 → 第30秒), nothing else changes."""
    return _CJK_NUMERAL_RUN.sub(lambda m: str(_cjk_number(m.group())), text)


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
# An optional "and"/"so", then "at/with the", "for the" or "the", glued to the word: بالثانيه, للنهايه.
_AR_THE = r"(?:[وف]?(?:بال|لل|ال|ب))?"
# Ukrainian lowercase letters (Russian ranges do not include і ї є ґ).
_UK = r"[а-яєіїґ]"


def _arabic(text: str) -> str:
    """Arabic spelling variants become one, and dual or lone time nouns get a number (دقيقتين → 2 دقيقه)."""
    text = _ARABIC_DROP.sub("", text).translate(_ARABIC_SPELLING)
    text = _ARABIC_DUAL.sub(lambda m: f"{m['prefix']}2 {m['stem']}ه", text)
    return _ARABIC_ONE.sub(lambda m: f"{m['prefix']}1 {m['unit']}", text)


LANGUAGES: Mapping[str, LanguageWords] = MappingProxyType(
    {
        "en": LanguageWords(
            seconds=(r"s", r"secs?\.?", r"seconds?"),
            minutes=(r"mins?\.?", r"minutes?"),
            chain_minutes=(r"m",),
            hours=(r"h", r"hrs?", r"hours?"),
            joiners=(r"and",),
            ordinal_suffixes=(r"st", r"nd", r"rd", r"th"),
            second_nouns=(r"second", r"sec"),
            minute_nouns=(r"minute",),
            at_words=(r"at", r"around"),
            start_phrases=(
                r"(?:at|in) the (?:very )?(?:beginning|start)",
                r"(?:beginning|start) of the (?:video|clip|recording|exercise)",
                r"beginning",
                r"at first",
                r"early on",
                r"first few seconds",
            ),
            end_phrases=(
                r"(?:at|by|near|towards?) the (?:very )?end",
                r"end of the (?:video|clip|recording|exercise)",
                r"last few seconds",
            ),
            first_words=(r"first",),
            last_words=(r"last", r"final"),
            not_before=(r"for(?: about| around| roughly| approximately)?", r"every", r"each"),
            not_after=(
                r"reps?",
                r"repetitions?",
                r"sets?",
                r"times?",
                r"rounds?",
                r"kgs?",
                r"kilos?",
                r"lbs?",
                r"pounds?",
                r"degrees?",
                r"deg",
                r"cm",
                r"mm",
                r"inch(?:es)?",
                r"days?",
                r"weeks?",
                r"months?",
                r"years?",
                r"hours?",
                r"hrs?",
                r"am",
                r"pm",
                r"a\.m\.?",
                r"p\.m\.?",
                r"o'clock",
                r"percent",
                r"out of",
                r"of \d+",
                r"ago",
            ),
            pain_words=(r"pain\w*", r"hurts?", r"hurting", r"aches?", r"aching", r"sore\w*"),
        ),
        "ru": LanguageWords(
            # "с" alone is also the preposition "with": "10 с трудом" is not ten seconds.
            seconds=(r"с\.?(?!\s+[а-яё])", r"сек\.?", r"секунд[а-яё]*"),
            minutes=(r"мин\.?", r"минут[а-яё]*"),
            chain_minutes=(r"м",),
            hours=(r"ч\.?", r"час[а-яё]*"),
            joiners=(r"и",),
            ordinal_suffixes=(r"-?(?:ой|ей|ая|ую|й|я|ю|е)",),
            second_nouns=(r"секунд[аеуы]",),
            minute_nouns=(r"минут[аеуы]",),
            at_words=(r"на", r"около", r"в районе"),
            start_phrases=(r"в (?:самом )?начале", r"начало", r"с (?:самого )?начала", r"поначалу"),
            end_phrases=(r"в (?:самом )?конце", r"под конец", r"(?:ближе )?к концу", r"конец", r"в финале"),
            first_words=(r"первы[еха]", r"перв(?:ой|ую)"),
            last_words=(r"последни[еха]", r"последн(?:ей|юю)"),
            not_before=(r"в течение", r"каждые", r"по"),
            not_after=(
                r"повтор[а-яё]*",
                r"подход[а-яё]*",
                r"раза?",
                r"кг",
                r"кило[а-яё]*",
                r"градус[а-яё]*",
                r"см",
                r"д(?:ень|ня|ней)",
                r"недел[а-яё]*",
                r"месяц[а-яё]*",
                r"год[а-яё]*",
                r"лет",
                r"час[а-яё]*",
                r"утра",
                r"вечера",
                r"ночи",
                r"процент[а-яё]*",
                r"из \d+",
                r"назад",
            ),
            pain_words=(r"бол(?:ь|и|ит|ят|ел[аи]?|ьно|евой|езненн[а-яё]*)",),
        ),
        "zh_Hans": LanguageWords(
            seconds=(r"秒钟", r"秒鐘", r"秒"),
            minutes=(r"分钟", r"分鐘"),
            # 分 alone is also a pain score point (疼5分) and part of 十分 ("very").
            chain_minutes=(r"分",),
            hours=(r"个小时", r"個小時", r"小时", r"小時"),
            joiners=(r"零",),
            start_phrases=(r"一开始", r"刚开始", r"最开始", r"开始", r"开头", r"起初"),
            end_phrases=(r"结尾", r"最后", r"末尾", r"结束时", r"快结束"),
            first_words=(r"前", r"头"),
            last_words=(r"最后",),
            not_before=(r"每", r"持续", r"保持", r"坚持"),
            not_after=(
                r"次",
                r"个",
                r"组",
                r"組",
                r"下",
                r"遍",
                r"公斤",
                r"千克",
                r"斤",
                r"度",
                r"天",
                r"周",
                r"星期",
                r"个月",
                r"年",
                r"岁",
                r"前(?![后後])",  # 2分钟前 is "two minutes ago"; 前后 is "around"
            ),
            pain_words=(r"疼", r"痛"),
            spaced=False,
            normalize=_chinese_numerals,
        ),
        "es": LanguageWords(
            seconds=(r"s", r"segs?\.?", r"segundos?"),
            minutes=(r"mins?\.?", r"minutos?"),
            hours=(r"h", r"horas?"),
            joiners=(r"y",),
            ordinal_suffixes=(r"o",),  # º, after NFKC
            second_nouns=(r"segundo",),
            minute_nouns=(r"minuto",),
            at_words=(r"en el", r"a los"),
            start_phrases=(r"al (?:principio|inicio|comienzo)", r"(?:el|del) (?:principio|inicio|comienzo)"),
            end_phrases=(r"al final", r"(?:el|del) final", r"hacia el final"),
            first_words=(r"primeros?", r"primer"),
            last_words=(r"últimos?",),
            not_before=(r"hace", r"durante", r"cada", r"por"),
            not_after=(
                r"repeticion(?:es)?",
                r"repetición",
                r"series?",
                r"veces",
                r"vez",
                r"kgs?",
                r"kilos?",
                r"grados?",
                r"cm",
                r"días?",
                r"semanas?",
                r"mes(?:es)?",
                r"años?",
                r"horas?",
                r"por ciento",
                r"de \d+",
            ),
            pain_words=(r"dolor\w*", r"duel[ea]n?"),
        ),
        "de": LanguageWords(
            seconds=(r"s", r"sek\.?", r"sekunden?"),
            minutes=(r"min\.?", r"minuten?"),
            hours=(r"h", r"std\.?", r"stunden?"),
            joiners=(r"und",),
            ordinal_suffixes=(r"\.",),
            second_nouns=(r"sekunde",),
            minute_nouns=(r"minute",),
            at_words=(r"bei", r"um"),
            start_phrases=(r"am anfang", r"zu beginn", r"am beginn", r"anfangs", r"(?:der|den|dem) anfang"),
            end_phrases=(r"am ende", r"gegen ende", r"zum schluss", r"am schluss", r"(?:das|dem) ende"),
            first_words=(r"ersten?",),
            last_words=(r"letzten?",),
            not_before=(r"vor", r"für", r"seit", r"alle", r"jede"),
            not_after=(
                r"wiederholung(?:en)?",
                r"wdh\.?",
                r"sätzen?",
                r"satz",
                r"mal",
                r"kg",
                r"kilo",
                r"grad",
                r"cm",
                r"tagen?",
                r"tage",
                r"wochen?",
                r"monaten?",
                r"monate",
                r"jahren?",
                r"jahre",
                r"stunden?",
                r"uhr",
                r"prozent",
                r"von \d+",
            ),
            pain_words=(r"schmerz\w*", r"weh"),
        ),
        "fr": LanguageWords(
            seconds=(r"s", r"secs?\.?", r"secondes?"),
            minutes=(r"mins?\.?", r"mn", r"minutes?"),
            hours=(r"h", r"heures?"),
            joiners=(r"et",),
            ordinal_suffixes=(r"e", r"ème", r"eme", r"è"),
            second_nouns=(r"seconde",),
            minute_nouns=(r"minute",),
            at_words=(r"à", r"vers", r"autour de"),
            start_phrases=(
                r"au (?:tout )?(?:début|commencement)",
                r"(?:dès|depuis) le (?:tout )?début",
                r"(?:le|du) début",
                r"début de la (?:vidéo|séance|série)",
                r"premières secondes",  # also "les 10 premières secondes"
            ),
            end_phrases=(
                r"(?:à|vers|sur) la (?:toute )?fin",
                r"(?:la|de la) fin",
                r"en fin de (?:vidéo|séance|série)",
                r"fin de la (?:vidéo|séance|série)",
                r"dernières secondes",  # also "les 5 dernières secondes"
            ),
            first_words=(r"premi(?:ers?|ères?)",),
            last_words=(r"derni(?:ers?|ères?)",),
            not_before=(r"il y a", r"pendant", r"durant", r"depuis", r"pour", r"sur", r"chaque", r"tou(?:te)?s les"),
            not_after=(
                r"répétitions?",
                r"reps?",
                r"séries?",
                r"fois",
                r"kgs?",
                r"kilos?",
                r"degrés?",
                r"cm",
                r"jours?",
                r"semaines?",
                r"mois",
                r"ans",
                r"années?",
                r"heures?",
                r"du matin",
                r"du soir",
                r"pour ?cent",
                r"sur \d+",
            ),
            pain_words=(r"douleurs?", r"douloureu\w*", r"mal(?!\w)"),
        ),
        "pt_BR": LanguageWords(
            seconds=(r"s", r"segs?\.?", r"segundos?"),
            minutes=(r"mins?\.?", r"minutos?"),
            hours=(r"h", r"horas?"),
            joiners=(r"e",),
            ordinal_suffixes=(r"o",),  # º, after NFKC
            second_nouns=(r"segundo",),
            minute_nouns=(r"minuto",),
            # Not "no" alone: it is "not" in Spanish and English ("hice 10, no 12").
            at_words=(r"aos", r"por volta d[eo]s?"),
            start_phrases=(
                r"(?:no|do|o|ao) (?:comecinho|começo|comeco|início|inicio)",
                r"(?:começo|comeco|início|inicio) do (?:vídeo|video|exercício|exercicio)",
                r"de início",
                r"primeiros segundos",  # also "os 10 primeiros segundos"
            ),
            end_phrases=(
                r"(?:no|do|o|ao) (?:finalzinho|final|fim)",
                r"(?:final|fim) do (?:vídeo|video|exercício|exercicio)",
                r"[úu]ltimos segundos",  # also "os 5 últimos segundos"
            ),
            first_words=(r"primeir[oa]s?",),
            last_words=(r"[úu]ltim[oa]s?",),
            not_before=(r"há", r"faz", r"durante", r"por", r"a cada", r"cada"),
            not_after=(
                r"repetiç(?:ões|ão)",
                r"repeticoes",
                r"reps?",
                r"séries?",
                r"series?",
                r"vezes",
                r"vez",
                r"kgs?",
                r"quilos?",
                r"graus?",
                r"cm",
                r"dias?",
                r"semanas?",
                r"mês",
                r"meses",
                r"anos?",
                r"horas?",
                r"da (?:manhã|tarde|noite)",
                r"por cento",
                r"de \d+",
                r"atr[áa]s",
            ),
            pain_words=(r"dor(?:es|zinha)?(?!\w)", r"dói", r"doi(?:a|do|endo|eu)?(?!\w)", r"dolorid\w*"),
        ),
        "uk": LanguageWords(
            # "с" after a number is seconds, unless a word follows (the Russian preposition "with").
            seconds=(r"с\.?(?!\s+[а-яёєіїґ])", r"сек\.?", rf"секунд{_UK}*"),
            minutes=(r"хв\.?", rf"хвилин{_UK}*"),
            hours=(r"год\.?", rf"годин{_UK}*"),
            joiners=(r"і", r"й", r"та"),
            ordinal_suffixes=(r"-?(?:ій|ий|ої|ою|та|ту|й|а|у|і)",),
            second_nouns=(r"секунд[аиуі]",),
            minute_nouns=(r"хвилин[аиуі]",),
            at_words=(r"на", r"близько", r"в районі"),
            start_phrases=(
                r"(?:на|в|у) (?:самому )?початку",
                r"з (?:самого )?початку",
                r"спочатку",
                r"початок",
                r"початку",
            ),
            end_phrases=(
                r"(?:в|у|на) (?:самому )?кінці",
                r"наприкінці",
                r"під кінець",
                r"ближче до кінця",
                r"кінець",
                r"кінці",
                r"(?:у|в) фіналі",
            ),
            first_words=(r"перш(?:і|их|ої|у|ий)",),
            last_words=(r"останн(?:і|іх|ьої|ю|ій)",),
            not_before=(r"протягом", r"впродовж", r"кожні", r"кожну", r"кожен", r"по"),
            not_after=(
                rf"повтор{_UK}*",
                rf"підход{_UK}*",
                r"підхід",
                r"раз(?:и|ів|у)?",
                r"кг",
                rf"кіло{_UK}*",
                rf"градус{_UK}*",
                r"см",
                r"д(?:ень|ні|нів|ня)",
                rf"доб{_UK}",
                rf"тиж(?:день|н{_UK}*)",
                rf"місяц{_UK}*",
                r"міс\.?",
                r"р(?:ік|оки|оків|оку)",
                rf"годин{_UK}*",
                r"год\.?",
                r"ранку",
                r"вечора",
                r"ночі",
                rf"відсот{_UK}*",
                r"з \d+",
                r"із \d+",
                r"тому",
                r"назад",
            ),
            pain_words=(r"біль\w*", r"бол(?:ю|іл|ять|яч)\w*"),
        ),
        "ar": LanguageWords(
            # Written as the Arabic hook leaves them: ه for ة, ا for أ إ آ, ي for ى, no diacritics.
            seconds=(r"ثانيه", r"ثواني", r"ثوان", r"ث"),
            minutes=(r"دقيقه", r"دقائق", r"دقايق"),
            chain_minutes=(r"د",),
            hours=(r"ساعه", r"ساعات"),
            joiners=(r"و",),
            second_nouns=(rf"{_AR_THE}ثانيه",),
            minute_nouns=(rf"{_AR_THE}دقيقه",),
            at_words=(r"و?عند", r"حوالي", r"بحدود"),
            start_phrases=(
                rf"{_AR_THE}بدايه",
                r"(?:و?في |[وف]?ب)الاول",
                r"اول (?:الفيديو|المقطع|التمرين)",
                r"(?:ثواني|ثوان|دقائق) الاولي",  # also "الـ10 ثواني الأولى"
            ),
            end_phrases=(
                rf"{_AR_THE}نهايه",
                r"(?:و?في |[وف]?ب)الاخي?ر",
                r"اخر (?:الفيديو|المقطع|التمرين)",
                r"(?:ثواني|ثوان|دقائق) الاخيره",  # also "الـ5 ثواني الأخيرة"
            ),
            first_words=(r"اول",),
            last_words=(r"اخر",),
            not_before=(r"منذ", r"قبل", r"لمده", r"مده", r"طوال", r"خلال", r"كل", r"ل"),
            not_after=(
                r"تكرار\w*",
                r"عدات",
                r"مرات",
                r"مره",
                r"مرتين",
                r"مجموع\w*",
                r"جولات",
                r"سيت\w*",
                r"كغ",
                r"كجم",
                r"كلغ",
                r"كيلو\w*",
                r"درج\w*",
                r"سم",
                r"يوم\w*",
                r"ايام",
                r"اسبوع\w*",
                r"اسابيع",
                r"شهر",
                r"اشهر",
                r"شهور",
                r"سنه",
                r"سنوات",
                r"سنين",
                r"عام",
                r"اعوام",
                r"ساعه",
                r"ساعات",
                r"صباحا",
                r"مساء",
                r"ص",
                r"م",
                r"بالمئه",
                r"في المئه",
                r"بالمائه",
                r"من \d+",
                r"مضت",
                r"الاولي",  # "the 10 first seconds" is the beginning (see start_phrases)
                r"الاخيره",
            ),
            pain_words=(rf"{_AR_THE}الم(?:ي|ه|ها|ك)?(?!\w)", r"الام(?!\w)", r"[يتم]ؤلم\w*", r"[يت]?وجع\w*"),
            normalize=_arabic,
        ),
        "hi": LanguageWords(
            # NFKC splits letters with a nukta (ख़ → ख + ़), so the nukta is written as \u093c.
            seconds=(r"स[ेै]क(?:े?ं|े?[णन]्)ड(?:ों)?", r"सेक[.॰]?", r"से[.॰]"),
            minutes=(r"मिनट(?:ों)?", r"मि[.॰]"),
            chain_minutes=(r"मि",),
            hours=(r"घ(?:ं|ण्)ट(?:ा|े|ों)", r"घं[.॰]?"),
            joiners=(r"और", r"व"),
            ordinal_suffixes=(r"-?(?:वें|वां|वाँ|वीं|वे|वी|वा)",),
            second_nouns=(r"स[ेै]क(?:े?ं|े?[णन]्)ड",),
            minute_nouns=(r"मिनट",),
            at_after_words=(r"पर", r"पे", r"के (?:आसपास|आस-पास|करीब|क\u093cरीब)"),
            start_phrases=(
                r"शुरुआत",
                r"शुर[ुू] में",
                r"शुरुआती (?:कुछ )?सेकंड",
                r"(?:आरंभ|आरम्भ|प्रारंभ|प्रारम्भ) में",
            ),
            end_phrases=(
                r"अ(?:ं|न्)त में",
                r"अंत की ओर",
                r"अंत के पास",
                r"के अंत",
                r"आख\u093c?िर में",
                r"(?:आख\u093c?िरी|अंतिम) (?:कुछ )?सेकंड",
            ),
            first_words=(r"पहले", r"शुरुआती", r"शुर[ुू] के"),
            last_words=(r"आख\u093c?िरी", r"अंतिम", r"आख\u093c?िर के", r"अंत के"),
            not_before=(r"हर", r"प्रत्येक"),
            not_after=(
                r"बार",
                r"सेट",
                r"रेप(?:्स)?",
                r"रिपीट",
                r"दोहराव",
                r"पुनरावृत्ति\w*",
                r"किलो(?:ग्राम)?",
                r"किग्रा",
                r"केजी",
                r"डिग्री",
                r"सेमी",
                r"दिन(?:ों)?",
                r"हफ\u093c?्त(?:ा|े|ों)",
                r"सप्ताह(?:ों)?",
                r"महीन(?:ा|े|ों)",
                r"साल(?:ों)?",
                r"वर्ष(?:ों)?",
                r"घ(?:ं|ण्)ट(?:ा|े|ों)",
                r"बजे",
                r"प्रतिशत",
                r"में से",
                r"पहले",  # "2 मिनट पहले" is "two minutes ago"
                r"के लिए",  # "30 सेकंड के लिए" is "for 30 seconds"
                r"तक",
            ),
            pain_words=(r"दर्द", r"दुःख", r"दुख", r"पीड\u093c?ा", r"तकलीफ"),
        ),
    }
)

# Language-independent: scores ("5/10"), percentages, angles, "3x10".
_GENERIC_NOT_AFTER = (r"/\s*\d", r"%", r"°", r"[x×*]\s*\d")

_NUM = r"\d+(?:[.,]\d+)?"
_NUM_START = r"(?<![\d.,:/])"
_NUM_END = r"(?![\d:]|[.,]\d)"


def _combining_marks() -> str:
    """Character-class ranges of the combining marks (Devanagari vowel signs, Arabic harakat, ...)."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{first:04x}-\\u{last:04x}" for first, last in ranges)


# A letter, or a combining mark that belongs to the letter before it: "पर" is not a word in "परेशान".
_LETTER = rf"(?:[^\W\d_]|[{_combining_marks()}])"
_UNIT_RANK = {"h": 3, "m": 2, "cm": 2, "s": 1}
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "cm": 60.0, "s": 1.0}
_LOOKBEHIND_CHARS = 40


def _alternation(field: str, *, trailing_guard: bool = True) -> str:
    """One regex alternation of a table field across all languages, each entry guarded as a word."""
    spaced: dict[str, None] = {}
    unspaced: dict[str, None] = {}
    for words in LANGUAGES.values():
        for fragment in getattr(words, field):
            (spaced if words.spaced else unspaced)["(?:" + fragment.replace(" ", r"\s+") + ")"] = None
    groups: list[str] = []
    # Longer entries first, so that 分钟 is tried before 分 and "secs?" before "s". The word guards
    # stand once around the spaced entries (the big letter class is costly to repeat per entry).
    if spaced:
        body = "|".join(sorted(spaced, key=len, reverse=True))
        groups.append(f"(?<!{_LETTER})(?:{body})" + (f"(?!{_LETTER})" if trailing_guard else ""))
    if unspaced:
        groups.append("(?:" + "|".join(sorted(unspaced, key=len, reverse=True)) + ")")
    return "(?:" + "|".join(groups) + ")" if groups else "(?!)"


_TIMECODE = re.compile(
    r"(?<![\d:.,])(?P<a>\d{1,3}):(?P<b>[0-5]\d)(?::(?P<c>[0-5]\d))?(?:[.,](?P<frac>\d{1,3}))?(?![\d:])"
)
_COMPONENT = re.compile(
    rf"{_NUM_START}(?P<num>{_NUM})(?:\s*[-–—~到至]\s*{_NUM})?(?:{_alternation('ordinal_suffixes')})?\s*"
    rf"(?:(?P<h>{_alternation('hours')})|(?P<m>{_alternation('minutes')})"
    rf"|(?P<cm>{_alternation('chain_minutes')})|(?P<s>{_alternation('seconds')}))"
)
_JOIN_GAP = re.compile(rf"\s*(?:(?:,|{_alternation('joiners')})\s*)?")
_NOUN_NUMBER = re.compile(
    rf"(?:(?P<sec>{_alternation('second_nouns')})|(?P<min>{_alternation('minute_nouns')}))"
    rf"\s*(?:(?:no\.?|nr\.?|№|#)\s*)?(?P<num>{_NUM}){_NUM_END}"
)
_AT_NUMBER = re.compile(rf"{_alternation('at_words')}\s*(?P<num>{_NUM}){_NUM_END}(?!{_LETTER})")
_AT_AFTER_NUMBER = re.compile(
    rf"(?<!{_LETTER}){_NUM_START}(?P<num>{_NUM}){_NUM_END}\s*{_alternation('at_after_words')}"
)
_PHRASE = re.compile(rf"(?P<start>{_alternation('start_phrases')})|(?P<end>{_alternation('end_phrases')})")
_NOT_AFTER = re.compile(rf"\s*(?:{_alternation('not_after')}|" + "|".join(_GENERIC_NOT_AFTER) + ")")
_NOT_BEFORE = re.compile(rf"{_alternation('not_before')}\s*$")
_FIRST_BEFORE = re.compile(rf"{_alternation('first_words')}\s*$")
_LAST_BEFORE = re.compile(rf"{_alternation('last_words')}\s*$")
_PAIN = re.compile(_alternation("pain_words", trailing_guard=False))


def _normalize(text: str) -> str:
    """NFKC, case-fold, ASCII digits, then each language's own hook."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    for words in LANGUAGES.values():
        if words.normalize is not None:
            text = words.normalize(text)
    return text


def _number(text: str) -> float:
    """Read a number written with a decimal point or comma."""
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class _Candidate:
    """A moment found at a position of the normalised text."""

    position: int
    ref: MomentRef


@dataclass(frozen=True)
class _Part:
    """One number with a time unit."""

    start: int
    end: int
    unit: str
    value: float


def _parts(text: str) -> list[_Part]:
    """Every number-with-unit in the text, in order."""
    parts = []
    for match in _COMPONENT.finditer(text):
        unit = next(name for name in ("h", "m", "cm", "s") if match.group(name) is not None)
        parts.append(_Part(match.start(), match.end(), unit, _number(match.group("num"))))
    return parts


def _chains(text: str) -> Iterator[list[_Part]]:
    """Yield runs of adjacent number-with-unit parts in falling order (`1 h 2 min 3 s`) that make a time."""
    parts = _parts(text)
    i = 0
    while i < len(parts):
        chain = [parts[i]]
        while i + len(chain) < len(parts):
            nxt = parts[i + len(chain)]
            gap = _JOIN_GAP.fullmatch(text, chain[-1].end, nxt.start)
            if gap is None or _UNIT_RANK[nxt.unit] >= _UNIT_RANK[chain[-1].unit]:
                break
            chain.append(nxt)
        i += len(chain)
        # Ambiguous minutes and hours only count when a smaller part follows them.
        if chain[-1].unit in ("cm", "h"):
            continue
        yield chain


def _rejected_after(text: str, end: int) -> bool:
    """Whether what follows position `end` makes the number a count, a score or a past time."""
    return _NOT_AFTER.match(text, end) is not None


def _before(text: str, start: int) -> str:
    """Return a little of the text before `start`, for prefix checks."""
    return text[max(0, start - _LOOKBEHIND_CHARS) : start]


def _timecodes(text: str) -> Iterator[tuple[int, int, float]]:
    """Every `m:ss` / `h:mm:ss` timecode as (start, end, seconds)."""
    for match in _TIMECODE.finditer(text):
        a, b, c = match.group("a"), match.group("b"), match.group("c")
        seconds = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
        frac = match.group("frac")
        yield match.start(), match.end(), seconds + (float(f"0.{frac}") if frac else 0.0)


def _structured(text: str) -> tuple[list[_Candidate], list[tuple[int, int]]]:
    """Timecodes and unit chains, with the spans they cover."""
    found: list[_Candidate] = []
    covered: list[tuple[int, int]] = []
    for start, end, seconds in _timecodes(text):
        covered.append((start, end))
        if not _rejected_after(text, end):
            found.append(_Candidate(start, MomentRef("at", seconds)))
    for chain in _chains(text):
        start, end = chain[0].start, chain[-1].end
        covered.append((start, end))
        before = _before(text, start)
        if _FIRST_BEFORE.search(before):
            found.append(_Candidate(start, MomentRef("start")))
        elif _LAST_BEFORE.search(before):
            found.append(_Candidate(start, MomentRef("end")))
        elif not _NOT_BEFORE.search(before) and not _rejected_after(text, end):
            seconds = sum(part.value * _UNIT_SECONDS[part.unit] for part in chain)
            found.append(_Candidate(start, MomentRef("at", seconds)))
    return found, covered


def _weak(text: str, covered: list[tuple[int, int]]) -> Iterator[_Candidate]:
    """Numbers after a "second" noun or an "at" word that no stronger form already explains."""

    def free(position: int) -> bool:
        return not any(start <= position < end for start, end in covered)

    for match in _NOUN_NUMBER.finditer(text):
        if free(match.start("num")) and not _rejected_after(text, match.end()):
            factor = 60.0 if match.group("min") is not None else 1.0
            yield _Candidate(match.start(), MomentRef("at", _number(match.group("num")) * factor))
    if _PAIN.search(text):
        return
    for match in itertools.chain(_AT_NUMBER.finditer(text), _AT_AFTER_NUMBER.finditer(text)):
        digits = match.group("num").replace(",", ".").split(".")[0]
        if len(digits) <= 3 and free(match.start("num")) and not _rejected_after(text, match.end()):
            yield _Candidate(match.start(), MomentRef("at", _number(match.group("num"))))


def parse_moment(text: str) -> MomentRef | None:
    """Return the first moment of the clip that `text` refers to, or None when it names no moment."""
    norm = _normalize(text)
    candidates, covered = _structured(norm)
    candidates.extend(_weak(norm, covered))
    for match in _PHRASE.finditer(norm):
        kind: Literal["start", "end"] = "start" if match.group("start") is not None else "end"
        candidates.append(_Candidate(match.start(), MomentRef(kind)))
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: candidate.position).ref
