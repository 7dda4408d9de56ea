"""parse_moment: phrases naming a moment in ten languages, and questions that name none."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bot.engine.moments import LANGUAGES, MomentRef, _normalize, parse_moment


def at(seconds: float) -> MomentRef:
    return MomentRef("at", seconds)


START = MomentRef("start")
END = MomentRef("end")

MOMENTS: list[tuple[str, MomentRef]] = [
    # Timecodes, any language.
    ("0:30", at(30)),
    ("1:05", at(65)),
    ("01:02:03", at(3723)),
    ("0:30.5", at(30.5)),
    ("what about at 0:30?", at(30)),
    ("and 12:00?", at(720)),
    ("０：３０", at(30)),  # full-width, as Chinese keyboards type it
    ("from 0:12 to 0:15", at(12)),  # several moments: the first one
    ("0:12-0:15 is that ok?", at(12)),
    # English
    ("30s", at(30)),
    ("30 s", at(30)),
    ("30 sec", at(30)),
    ("30 secs", at(30)),
    ("30 seconds", at(30)),
    ("what happens at 30 seconds?", at(30)),
    ("at second 30", at(30)),
    ("second 30", at(30)),
    ("at 30", at(30)),
    ("and at 45?", at(45)),
    ("at 12.5", at(12.5)),
    ("1 min 5 s", at(65)),
    ("1m5s", at(65)),
    ("1 minute 5 seconds", at(65)),
    ("1 minute and 5 seconds", at(65)),
    ("2 min", at(120)),
    ("at minute 2", at(120)),
    ("1 h 2 min 3 s", at(3723)),
    ("at the 30th second", at(30)),
    ("10-15 seconds in, is my back ok?", at(10)),
    ("at the beginning", START),
    ("beginning of the video", START),
    ("in the first 10 seconds", START),
    ("at the end", END),
    ("towards the end", END),
    ("the last 5 seconds", END),
    ("At 0:30 or at the end?", at(30)),
    # Russian
    ("на 12 секунде", at(12)),
    ("а что на 12 секунде?", at(12)),
    ("на 12-й секунде", at(12)),
    ("12 сек", at(12)),
    ("12 с", at(12)),
    ("на 1:05", at(65)),
    ("1 мин 5 сек", at(65)),
    ("1 минута 5 секунд", at(65)),
    ("2 минуты", at(120)),
    ("30 секунд", at(30)),
    ("а на 30?", at(30)),
    ("в начале", START),
    ("что у меня в начале видео?", START),
    ("в конце", END),
    ("под конец", END),
    ("первые 10 секунд", START),
    # Simplified Chinese
    ("第30秒", at(30)),
    ("第30秒我的膝盖对吗？", at(30)),
    ("30秒", at(30)),
    ("1分5秒", at(65)),
    ("1分钟5秒", at(65)),
    ("2分钟", at(120)),
    ("第三十秒", at(30)),
    ("一分五秒", at(65)),
    ("两分钟", at(120)),
    ("第十五秒", at(15)),
    ("1小时2分3秒", at(3723)),
    ("第30秒前后", at(30)),
    ("开始", START),
    ("开头", START),
    ("一开始我的背直吗", START),
    ("前10秒", START),
    ("结尾", END),
    ("最后", END),
    ("最后5秒", END),
    # Spanish
    ("segundo 30", at(30)),
    ("en el segundo 30", at(30)),
    ("¿y en el segundo 45?", at(45)),
    ("30 segundos", at(30)),
    ("1 minuto 5 segundos", at(65)),
    ("1 minuto y 5 segundos", at(65)),
    ("al minuto 2", at(120)),
    ("en el 30", at(30)),
    ("al principio", START),
    ("al final", END),
    ("los primeros 10 segundos", START),
    # German
    ("bei Sekunde 30", at(30)),
    ("Sekunde 30", at(30)),
    ("30 Sekunden", at(30)),
    ("1 Minute 5 Sekunden", at(65)),
    ("1 Minute und 5 Sekunden", at(65)),
    ("bei der 30. Sekunde", at(30)),
    ("was ist bei 0:45?", at(45)),
    ("was ist bei 30?", at(30)),
    ("am Anfang", START),
    ("am Ende", END),
    ("gegen Ende", END),
    ("die letzten 5 Sekunden", END),
    # French
    ("à 0:30", at(30)),
    ("à la seconde 30", at(30)),
    ("seconde 30", at(30)),
    ("30 secondes", at(30)),
    ("30 s", at(30)),
    ("30 sec", at(30)),
    ("qu'est-ce qui se passe à 12 secondes ?", at(12)),
    ("1 minute 5 secondes", at(65)),
    ("1 min et 5 s", at(65)),
    ("2 mn", at(120)),
    ("à la minute 2", at(120)),
    ("1 h 2 min 3 s", at(3723)),
    ("à la 30e seconde", at(30)),
    ("à la 30ème seconde", at(30)),
    ("et à 45 ?", at(45)),
    ("vers 30", at(30)),
    ("de 0:10 à 0:20", at(10)),
    ("au début", START),
    ("dès le début de la vidéo", START),
    ("les 10 premières secondes", START),
    ("à la fin", END),
    ("vers la fin", END),
    ("les 5 dernières secondes", END),
    # Brazilian Portuguese
    ("no segundo 30", at(30)),
    ("e no segundo 45?", at(45)),
    ("aos 30 segundos", at(30)),
    ("30 segundos", at(30)),
    ("30 seg", at(30)),
    ("1 minuto e 5 segundos", at(65)),
    ("1min5s", at(65)),
    ("no minuto 2", at(120)),
    ("aos 45", at(45)),
    ("por volta dos 30 segundos", at(30)),
    ("o 30º segundo", at(30)),
    ("no começo", START),
    ("no início", START),
    ("os primeiros 10 segundos", START),
    ("os 10 primeiros segundos", START),
    ("no final", END),
    ("no fim do vídeo", END),
    ("os últimos 5 segundos", END),
    # Ukrainian
    ("на 12 секунді", at(12)),
    ("а що на 12 секунді?", at(12)),
    ("на 12-й секунді", at(12)),
    ("на 12-ій секунді", at(12)),
    ("12 сек", at(12)),
    ("12 с", at(12)),
    ("30 секунд", at(30)),
    ("1 хв 5 с", at(65)),
    ("1 хвилина й 5 секунд", at(65)),
    ("2 хвилини", at(120)),
    ("на хвилині 2", at(120)),
    ("1 год 2 хв 3 с", at(3723)),
    ("а на 30?", at(30)),
    ("на початку", START),
    ("що в мене на початку відео?", START),
    ("перші 10 секунд", START),
    ("в кінці", END),
    ("наприкінці", END),
    ("під кінець", END),
    ("останні 5 секунд", END),
    # Arabic (digits may be Arabic-Indic)
    ("عند الثانية 30", at(30)),
    ("الثانية ٣٠", at(30)),
    ("ماذا يحدث في الثانية 45؟", at(45)),
    ("بالثانية 30", at(30)),
    ("30 ثانية", at(30)),
    ("٣٠ ثانية", at(30)),
    ("30 ث", at(30)),
    ("٣٠٫٥ ثانية", at(30.5)),
    ("1 دقيقة و5 ثوان", at(65)),
    ("دقيقة و5 ثوان", at(65)),  # "a minute and 5 seconds": the lone minute is one
    ("دقيقة و 5 ثوانٍ", at(65)),
    ("دقيقتين", at(120)),  # the dual: "two minutes"
    ("ساعة و10 دقائق", at(4200)),
    ("في الدقيقة 2", at(120)),
    ("عند ٤٥", at(45)),
    ("وعند 45؟", at(45)),
    ("الثَّانِيَة ٣٠", at(30)),  # with diacritics
    ("الثانية \u200f30", at(30)),  # with a right-to-left mark
    ("في البداية", START),
    ("بالبداية", START),
    ("أول 10 ثواني", START),
    ("الـ10 ثواني الأولى", START),
    ("في النهاية", END),
    ("في الأخير", END),
    ("آخر 5 ثواني", END),
    # Hindi (digits may be Devanagari)
    ("30 सेकंड पर", at(30)),
    ("३० सेकंड पर", at(30)),
    ("30 सेकेंड पर क्या हो रहा है?", at(30)),
    ("सेकंड 30", at(30)),
    ("सेकंड ३० पर", at(30)),
    ("30वें सेकंड पर", at(30)),
    ("1 मिनट 5 सेकंड", at(65)),
    ("1 मिनट और 5 सेकंड", at(65)),
    ("1 मि. 5 से.", at(65)),
    ("2 मिनट", at(120)),
    ("मिनट 2 पर", at(120)),
    ("30 पर", at(30)),
    ("और 45 पर?", at(45)),
    ("शुरुआत में", START),
    ("वीडियो की शुरुआत में", START),
    ("पहले 10 सेकंड", START),
    ("अंत में", END),
    ("वीडियो के अंत में", END),
    ("आखिरी 5 सेकंड", END),
    ("आख़िरी 5 सेकंड", END),  # with a nukta
]

NO_MOMENT: list[str] = [
    "is my back straight?",
    "how many reps did I do?",
    "I did 3 sets of 10",
    "I did 3x10",
    "my knee hurts 5/10",
    "my pain is at 7",
    "my knee hurts at 6 out of 10",
    "is my knee at 90 degrees?",
    "I lifted 20 kg at 5 kg per hand",
    "2 weeks ago",
    "I hurt it 2 minutes ago",
    "I held it for 30 seconds",
    "every 30 seconds I rest",
    "I am 65 years old",
    "I train at 7 am",
    "at 10:30 am I did the video",
    "the first 10 reps felt easy",
    "is 5 m far enough from the camera?",
    "I did it on 12.03.2024",
    "at 2024",
    "I trained for 2 hours",
    "",
    "я сделал 10 повторений?",
    "я сделал 3 подхода по 10 раз",
    "боль 7 из 10",
    "на 5 из 10 болит",
    "колено болит на 7",
    "2 недели назад",
    "2 минуты назад",
    "сделал 10 с трудом",
    "我做了几次?",
    "我做了3组，每组10次",
    "疼痛5分",
    "膝盖十分疼",
    "两周前受伤了",
    "2分钟前",
    "保持30秒",
    "¿cuántas repeticiones hice?",
    "hice 3 series de 10",
    "dolor 5 de 10",
    "hace 2 semanas",
    "hace 2 minutos",
    "habe ich 3 Sätze gemacht?",
    "Schmerz 6 von 10",
    "bei 3 Sätzen",
    "vor 2 Wochen",
    "vor 2 Minuten",
    "um 8 Uhr",
    "combien de répétitions ai-je faites ?",
    "j'ai fait 3 séries de 10",
    "ma douleur est de 5/10",
    "j'ai mal à 7",
    "il y a 2 semaines",
    "il y a 2 minutes",
    "mon dos est-il droit ?",
    "je l'ai tenu pendant 30 secondes",
    "toutes les 30 secondes je me repose",
    "de 5 à 10 répétitions",
    "à 8h30",
    "quantas repetições eu fiz?",
    "fiz 3 séries de 10",
    "minha dor é 5/10",
    "minha dor está em 7",
    "2 semanas atrás",
    "há 2 semanas",
    "há 2 minutos",
    "minhas costas estão retas?",
    "segurei por 30 segundos",
    "a cada 30 segundos eu descanso",
    "aos 65 anos",
    "hice 10, no 12",  # Spanish "no" is "not", not the Portuguese "no" ("at the")
    "скільки повторень я зробив?",
    "я зробив 3 підходи по 10",
    "мій біль 5/10",
    "болить на 7",
    "2 тижні тому",
    "2 хвилини тому",
    "чи рівна в мене спина?",
    "тримав протягом 30 секунд",
    "кожні 30 секунд відпочиваю",
    "зробив 10 разів",
    "о 8 годині",
    "كم عدد التكرارات التي قمت بها؟",
    "قمت بـ 3 مجموعات من 10",
    "ألمي 5/10",
    "الألم عند 7",
    "منذ أسبوعين",
    "قبل 2 أسابيع",
    "قبل دقيقتين",
    "هل ظهري مستقيم؟",
    "لمدة 30 ثانية",
    "كل 30 ثانية",
    "عند الساعة 8",
    "عند 90 درجة",
    "بعد دقيقة",  # a lone minute counts only before a seconds part
    "मैंने कितने रेप्स किए?",
    "मैंने कितनी पुनरावृत्तियाँ कीं?",
    "मैंने 10 के 3 सेट किए",
    "मेरा दर्द 5/10 है",
    "दर्द 7 पर है",
    "2 हफ्ते पहले",
    "2 मिनट पहले",
    "क्या मेरी पीठ सीधी है?",
    "30 सेकंड के लिए पकड़ा",
    "हर 30 सेकंड आराम",
    "7 बजे",
    "30 परेशानी",  # पर inside a word: the vowel sign belongs to the word
]


@pytest.mark.parametrize(("text", "expected"), MOMENTS)
def test_moment_is_found(text: str, expected: MomentRef) -> None:
    assert parse_moment(text) == expected


@pytest.mark.parametrize("text", NO_MOMENT)
def test_no_moment(text: str) -> None:
    assert parse_moment(text) is None


def test_seconds_are_floats_for_at_and_none_otherwise() -> None:
    found = parse_moment("0:30")
    assert found is not None and isinstance(found.seconds, float)
    assert parse_moment("at the end") == MomentRef("end", None)


def test_every_language_has_units_and_phrases() -> None:
    for name, words in LANGUAGES.items():
        assert words.seconds and words.minutes, name
        assert words.start_phrases and words.end_phrases, name
        assert words.not_after, name


def test_unicode_digits_are_read() -> None:
    # Arabic-Indic and Devanagari digits with an English unit: digits are normalised for every language.
    assert parse_moment("٣٠ seconds") == at(30)
    assert parse_moment("३० seconds") == at(30)
    assert parse_moment("۳۰ seconds") == at(30)  # Persian (extended Arabic-Indic) digits


def test_fragments_are_written_normalised() -> None:
    # Text is normalised before matching (NFKC, case-fold, each language's hook): a fragment that
    # normalisation would change (º, ة, a precomposed nukta) could never match.
    for name, words in LANGUAGES.items():
        for field in fields(words):
            if field.name in ("spaced", "normalize"):
                continue
            for fragment in getattr(words, field.name):
                assert _normalize(fragment) == fragment, (name, field, fragment)
