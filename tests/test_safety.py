"""The red-flag check: falls, severe pain and red-flag symptoms in ten languages, and the reply."""

from __future__ import annotations

import dataclasses
import gettext
import re
import subprocess
import sys
import time

import pytest

from bot.clinic.safety import (
    CATEGORY_KIND,
    CATEGORY_SEVERITY,
    SafetyCategory,
    SafetyHit,
    SafetyKind,
    Severity,
    check_text,
    find_hits,
    fold_accents,
    normalize,
    safety_message,
)
from bot.clinic.safety_lexicon import CATEGORIES, LEXICONS
from bot.i18n import Translator

FALL = ("fall", "fall", "critical")
PAIN = ("severe_pain", "severe_pain", "high")
SCORE = ("severe_pain", "severe_pain", "critical")  # a numeric score of 7/10 or more
NUMB = ("red_flag", "numbness", "high")
WEAK = ("red_flag", "weakness", "high")
BLADDER = ("red_flag", "bladder_bowel", "high")
CHEST = ("red_flag", "chest_pain", "critical")
FAINT = ("red_flag", "fainting", "critical")
BREATH = ("red_flag", "breathing", "critical")

HITS: dict[str, list[tuple[str, tuple[str, str, str]]]] = {
    "en": [
        ("I fell", FALL),
        ("I fell in the bathroom this morning", FALL),
        ("I've fallen twice this week", FALL),
        ("I had a fall yesterday", FALL),
        ("I keep falling when I stand up", FALL),
        ("I fall a lot when I turn around", FALL),
        ("Tripped and fell on my knee", FALL),
        ("I FELL!!!", FALL),
        ("I can't get up off the floor", FALL),
        ("I can't walk properly since I fell", FALL),
        ("No one was home when I fell", FALL),
        ("I was scared and then I fell", FALL),
        ("I didn't stretch and I fell", FALL),
        ("I'm not sure, but I think I fell", FALL),
        ("severe pain in my knee", PAIN),
        ("The pain is unbearable", PAIN),
        ("worst pain I've ever had", PAIN),
        ("excruciating pain when I bend", PAIN),
        ("it hurts so much", PAIN),
        ("pain 8/10", SCORE),
        ("my pain is 9 out of 10", SCORE),
        ("pain is at 8/10 today", SCORE),
        ("8/10 pain in my hip", SCORE),
        ("pain level 9", SCORE),
        ("knee pain today is like 8/10", SCORE),
        ("the pain is eight out of ten", SCORE),
        ("pain 7.5/10", SCORE),
        ("10/10 pain", SCORE),
        ("Pain: 7", SCORE),
        ("my foot is numb", NUMB),
        ("numbness in my toes", NUMB),
        ("tingling down my leg", NUMB),
        ("pins and needles in my foot", NUMB),
        ("I can't feel my toes", NUMB),
        ("weakness in my left leg", WEAK),
        ("my legs feel weak", WEAK),
        ("my leg gave way on the stairs", WEAK),
        ("I can't move my foot", WEAK),
        ("I wet myself during the exercise", BLADDER),
        ("I can't pee since yesterday", BLADDER),
        ("I lost control of my bladder", BLADDER),
        ("bowel incontinence", BLADDER),
        ("chest pain", CHEST),
        ("my chest hurts", CHEST),
        ("pressure in my chest", CHEST),
        ("tightness across my chest", CHEST),
        ("I fainted", FAINT),
        ("I passed out", FAINT),
        ("I blacked out for a second", FAINT),
        ("I feel faint", FAINT),
        ("I feel like I'm going to pass out", FAINT),
        ("I can't breathe", BREATH),
        ("short of breath", BREATH),
        ("shortness of breath after the squats", BREATH),
        ("trouble breathing", BREATH),
        ("the pain is so bad I can't sleep", PAIN),
        ("I can't hold my urine", BLADDER),
        ("my knee pain is 8", SCORE),
        ("my pain went up to 9 today", SCORE),
        ("I collapsed in the kitchen", FAINT),
        ("Dad fell yesterday while doing the exercise", FALL),
    ],
    "ru": [
        ("я упал", FALL),
        ("Я упала", FALL),
        ("упал(а) вчера", FALL),
        ("сегодня упала в ванной", FALL),
        ("было падение", FALL),
        ("я поскользнулся и упал", FALL),
        ("я часто падаю", FALL),
        ("не удержалась и упала", FALL),
        ("Ёлки, я упала!", FALL),
        ("сильная боль в колене", PAIN),
        ("невыносимая боль", PAIN),
        ("болит очень сильно", PAIN),
        ("боль 8 из 10", SCORE),
        ("боль на 9/10", SCORE),
        ("боль 9", SCORE),
        ("онемение в стопе", NUMB),
        ("нога онемела", NUMB),
        ("немеет нога", NUMB),
        ("покалывание в пальцах", NUMB),
        ("не чувствую ногу", NUMB),
        ("слабость в ноге", WEAK),
        ("ноги подкашиваются", WEAK),
        ("нога стала слабой", WEAK),
        ("недержание мочи", BLADDER),
        ("не могу помочиться", BLADDER),
        ("боль в груди", CHEST),
        ("давит в груди", CHEST),
        ("я потеряла сознание", FAINT),
        ("упала в обморок", FAINT),
        ("задыхаюсь", BREATH),
        ("не могу дышать", BREATH),
        ("одышка", BREATH),
        ("Я потеряла равновесие и упала", FALL),
        ("Отнялась нога", WEAK),
    ],
    "uk": [
        ("я впав", FALL),
        ("я впала", FALL),
        ("вчора впала на сходах", FALL),
        ("було падіння", FALL),
        ("нестерпний біль", PAIN),
        ("сильний біль у коліні", PAIN),
        ("біль 8 з 10", SCORE),
        ("оніміння в нозі", NUMB),
        ("нога оніміла", NUMB),
        ("німіє стопа", NUMB),
        ("слабкість у нозі", WEAK),
        ("ноги підкошуються", WEAK),
        ("нетримання сечі", BLADDER),
        ("біль у грудях", CHEST),
        ("тисне в грудях", CHEST),
        ("я знепритомніла", FAINT),
        ("втратив свідомість", FAINT),
        ("не можу дихати", BREATH),
        ("задишка", BREATH),
    ],
    "zh_Hans": [
        ("我摔倒了", FALL),
        ("昨天跌倒了", FALL),
        ("我摔了一跤", FALL),
        ("今天不小心摔倒了", FALL),
        ("站不稳摔倒了", FALL),
        ("剧痛", PAIN),
        ("疼得受不了", PAIN),
        ("疼痛8分", SCORE),
        ("疼痛大概9/10", SCORE),
        ("腿麻木", NUMB),
        ("脚发麻", NUMB),
        ("腿突然没劲", WEAK),
        ("腿软", WEAK),
        ("大小便失禁", BLADDER),
        ("尿不出来", BLADDER),
        ("胸痛", CHEST),
        ("胸口疼", CHEST),
        ("我晕倒了", FAINT),
        ("失去意识", FAINT),
        ("呼吸困难", BREATH),
        ("喘不过气", BREATH),
        ("我走路时摔倒了", FALL),
        ("我觉得胸口很闷", CHEST),
        ("疼痛十分严重", PAIN),
    ],
    "es": [
        ("me caí", FALL),
        ("me cai ayer", FALL),
        ("Caí en la calle", FALL),
        ("tuve una caída", FALL),
        ("me he caído en el baño", FALL),
        ("dolor insoportable", PAIN),
        ("un dolor muy fuerte en la rodilla", PAIN),
        ("dolor 8/10", SCORE),
        ("el dolor es de 9 sobre 10", SCORE),
        ("entumecimiento en el pie", NUMB),
        ("tengo la pierna adormecida", NUMB),
        ("hormigueo en la mano", NUMB),
        ("debilidad en la pierna", WEAK),
        ("se me dobla la rodilla", WEAK),
        ("tengo incontinencia urinaria", BLADDER),
        ("no puedo orinar", BLADDER),
        ("dolor en el pecho", CHEST),
        ("me duele el pecho", CHEST),
        ("me desmayé", FAINT),
        ("perdí el conocimiento", FAINT),
        ("no puedo respirar", BREATH),
        ("me falta el aire", BREATH),
        ("Ayer me caí en la calle", FALL),
        ("Tengo mucho dolor, es insoportable", PAIN),
    ],
    "de": [
        ("Ich bin gestürzt", FALL),
        ("ich bin gestuerzt", FALL),
        ("Ich bin gestern beim Gehen gefallen", FALL),
        ("Ich bin hingefallen", FALL),
        ("Sturz heute morgen", FALL),
        ("starke Schmerzen", PAIN),
        ("unerträgliche Knieschmerzen", PAIN),
        ("Schmerzen 8 von 10", SCORE),
        ("Knieschmerzen 9/10", SCORE),
        ("Taubheitsgefühl im Fuß", NUMB),
        ("mein Bein ist taub", NUMB),
        ("Kribbeln in den Zehen", NUMB),
        ("Schwäche im Bein", WEAK),
        ("Beinschwäche seit gestern", WEAK),
        ("Harninkontinenz", BLADDER),
        ("Ich kann nicht urinieren", BLADDER),
        ("Brustschmerzen", CHEST),
        ("Schmerzen in der Brust", CHEST),
        ("Ich bin ohnmächtig geworden", FAINT),
        ("Ich war kurz bewusstlos", FAINT),
        ("Atemnot", BREATH),
        ("Ich bekomme keine Luft", BREATH),
        ("Mein Bein knickt weg", WEAK),
        ("Ich habe Druck auf der Brust", CHEST),
    ],
    "fr": [
        ("je suis tombé", FALL),
        ("Je suis tombée hier", FALL),
        ("j'ai fait une chute", FALL),
        ("J’ai fait une chute dans l’escalier", FALL),
        ("douleur insupportable", PAIN),
        ("une douleur atroce au genou", PAIN),
        ("douleur 8/10", SCORE),
        ("douleur à 9 sur 10", SCORE),
        ("engourdissement dans le pied", NUMB),
        ("j'ai des fourmillements", NUMB),
        ("faiblesse dans la jambe", WEAK),
        ("ma jambe lâche", WEAK),
        ("j'ai de l'incontinence", BLADDER),
        ("je n'arrive pas à uriner", BLADDER),
        ("douleur à la poitrine", CHEST),
        ("douleur thoracique", CHEST),
        ("je me suis évanouie", FAINT),
        ("j'ai perdu connaissance", FAINT),
        ("je n'arrive pas à respirer", BREATH),
        ("je suis essoufflée", BREATH),
    ],
    "pt_BR": [
        ("eu caí", FALL),
        ("eu cai ontem", FALL),
        ("Eu caí no banheiro ontem", FALL),
        ("levei um tombo", FALL),
        ("tive uma queda", FALL),
        ("dor insuportável", PAIN),
        ("dor insuportavel", PAIN),
        ("dor 8/10", SCORE),
        ("dor 9 de 10", SCORE),
        ("dormência na perna", NUMB),
        ("formigamento no pé", NUMB),
        ("fraqueza na perna", WEAK),
        ("minha perna falhou", WEAK),
        ("tenho incontinência urinária", BLADDER),
        ("não consigo urinar", BLADDER),
        ("dor no peito", CHEST),
        ("aperto no peito", CHEST),
        ("desmaiei", FAINT),
        ("perdi a consciência", FAINT),
        ("falta de ar", BREATH),
        ("não consigo respirar", BREATH),
        ("Caí da escada", FALL),
        ("Hoje no treino eu caí", FALL),
    ],
    "ar": [
        ("سقطت", FALL),
        ("وقعت على الأرض", FALL),
        ("سقطت في الحمام", FALL),
        ("ألم شديد", PAIN),
        ("الألم شديد جدا", PAIN),
        ("الألم 8 من 10", SCORE),
        ("خدر في قدمي", NUMB),
        ("تنميل في يدي", NUMB),
        ("ضعف في رجلي", WEAK),
        ("ضعف في الساق", WEAK),
        ("سلس البول", BLADDER),
        ("ألم في الصدر", CHEST),
        ("ألم في صدري", CHEST),
        ("إغماء", FAINT),
        ("أغمي عليّ", FAINT),
        ("ضيق في التنفس", BREATH),
        ("صعوبة في التنفس", BREATH),
        ("وقعت من الدرج", FALL),
        ("فقدت الوعي", FAINT),
    ],
    "hi": [
        ("मैं गिर गया", FALL),
        ("मैं गिर गई", FALL),
        ("कल बाथरूम में गिर गई", FALL),
        ("असहनीय दर्द", PAIN),
        ("घुटने में बहुत तेज़ दर्द", PAIN),
        ("दर्द 8/10", SCORE),
        ("दर्द 10 में से 9", SCORE),
        ("पैर सुन्न हो गया", NUMB),
        ("पैर में झुनझुनी", NUMB),
        ("पैर में कमज़ोरी", WEAK),
        ("पैर में कमजोरी", WEAK),
        ("पेशाब पर नियंत्रण नहीं रहा", BLADDER),
        ("सीने में दर्द", CHEST),
        ("छाती में दर्द", CHEST),
        ("मैं बेहोश हो गया", FAINT),
        ("सांस लेने में तकलीफ", BREATH),
        ("मैं गिरा और उठ नहीं पाया", FALL),
    ],
}

NON_HITS: dict[str, list[str]] = {
    "en": [
        "I didn't fall",
        "I did not fall today",
        "I didnt fall",
        "I haven't had any falls",
        "I never fell",
        "No falls this week",
        "no numbness",
        "I don't have numbness or tingling",
        "no chest pain",
        "I'm not in severe pain",
        "the pain is not severe",
        "I'm afraid I might fall",
        "I'm scared of falling",
        "I'm worried that I'll fall",
        "how do I avoid falling?",
        "How can I prevent a fall?",
        "what if I fall?",
        "I almost fell during the balance exercise",
        "I nearly fell",
        "I fall asleep after the exercises",
        "my leg fell asleep",
        "I'm falling behind on my exercises",
        "this fall I started rehab",
        "last fall I had surgery",
        "my knee falls inward, is that ok?",
        "does my knee collapse inward?",
        "my phone fell, sorry about the video",
        "is my back straight?",
        "what about 0:30?",
        "what happens at 1:05?",
        "pain 3/10",
        "pain is 6 out of 10",
        "my pain is at 5",
        "pain at 0:30",
        "it hurts a little at 8 seconds",
        "I did 8 reps, pain 2",
        "I did 8/10 reps without pain",
        "no pain at all",
        "should I feel it in my glutes?",
        "I can't feel my glutes working",
        "my left leg is weaker than the right",
        "what should I do if my leg feels numb?",
        "Are bladder control exercises safe?",
        "a faint click in my knee",
        "How many reps should I do?",
        "Is my form okay at the bottom of the squat?",
        "I fell behind on my exercises this week",
        "fall prevention exercises",
        "Pain: 5/10. Effort: 8/10.",
        "my pain at 8 seconds is weird",
        "The tripod fell over",
        "I'm fine, no falls, no numbness, no chest pain.",
        "Don't worry, I didn't faint.",
        "I'm not short of breath",
        "Is my chest up?",
        "Should I breathe in or out on the way up?",
    ],
    "ru": [
        "я не упал",
        "Я не упала",
        "нет онемения",
        "онемения нет",
        "без онемения",
        "никакой боли в груди",
        "боюсь упасть",
        "как не упасть?",
        "чуть не упала",
        "упал духом",
        "в прошлом году была операция",
        "правильно ли я делаю присед?",
        "что на 0:30?",
        "боль 3 из 10",
        "боль в грудном отделе позвоночника",
        "телефон упал, извините",
        "левая нога слабее правой",
        "упражнение для профилактики падений",
        "колено падает внутрь?",
        "Колени не заваливаются внутрь?",
        "Немного болит колено, это нормально?",
        "Сделала 8 повторений, боль 2",
        "Не чувствую, что работают ягодицы",
        "У меня падает таз при ходьбе?",
        "Я не падала, просто потеряла равновесие",
        "Это упражнение на баланс, чтобы не упасть?",
    ],
    "uk": [
        "я не впав",
        "немає оніміння",
        "оніміння немає",
        "боюся впасти",
        "ледь не впала",
        "чи правильно я роблю присідання?",
        "біль 3 з 10",
    ],
    "zh_Hans": [
        "我没有摔倒",
        "我没摔倒",
        "没有麻木",
        "没有胸痛",
        "怎么避免摔倒？",
        "我怕摔倒",
        "差点摔倒",
        "第30秒我的膝盖对吗？",
        "我的背直吗？",
        "疼痛3分",
        "有点疼",
        "麻烦你看一下",
        "练了30分钟后有点疼",
        "我的膝盖内扣了吗？",
        "这个动作是防止跌倒的吗？",
        "我担心会摔倒",
        "疼痛不严重",
        "做完有点酸痛正常吗？",
    ],
    "es": [
        "no me caí",
        "No me he caído",
        "no tengo entumecimiento",
        "sin hormigueo",
        "casi me caigo",
        "¿cómo evito una caída?",
        "tengo miedo de caerme",
        "¿está bien mi rodilla?",
        "¿qué pasa en el segundo 30?",
        "dolor 3/10",
        "la rodilla se cae hacia dentro",
        "¿La rodilla se me va hacia dentro?",
        "No me duele nada",
        "¿Es para prevenir caídas?",
    ],
    "de": [
        "Ich bin nicht gestürzt",
        "Ich bin heute nicht gefallen",
        "keine Taubheit",
        "Ich habe Angst, dass ich stürze",
        "Wie vermeide ich einen Sturz?",
        "Fast hingefallen, aber alles gut",
        "Die Übung hat mir gut gefallen",
        "Auf jeden Fall mache ich weiter",
        "In diesem Fall höre ich auf",
        "Falls ich Schmerzen habe, soll ich aufhören?",
        "Ist mein Rücken gerade?",
        "Schmerzen 3 von 10",
        "Das Knie fällt nach innen",
        "Ist das eine Übung zur Sturzprophylaxe?",
        "Die Übung ist mir schwer gefallen",
        "Mir ist aufgefallen, dass mein Knie knackt",
        "Die App ist abgestürzt",
        "Ich habe keine Schmerzen",
    ],
    "fr": [
        "je ne suis pas tombé",
        "pas d'engourdissement",
        "j'ai peur de tomber",
        "j'ai failli tomber",
        "comment éviter une chute ?",
        "est-ce que mon dos est droit ?",
        "douleur 3/10",
        "ça tombe bien",
        "aucune douleur à la poitrine",
        "J'ai un peu mal au genou, c'est normal ?",
        "C'est un exercice pour éviter les chutes ?",
        "Je n'ai pas mal",
    ],
    "pt_BR": [
        "não caí",
        "eu não caí",
        "sem dormência",
        "tenho medo de cair",
        "quase caí",
        "como evitar uma queda?",
        "meu joelho está certo?",
        "o joelho cai para dentro",
        "O quadril cai para o lado?",
        "Esse exercício é para evitar quedas?",
        "Não sinto dor",
        "dor 3/10",
    ],
    "ar": [
        "لم أسقط",
        "لا يوجد خدر",
        "أخاف من السقوط",
        "كيف أتجنب السقوط؟",
        "هل ظهري مستقيم؟",
        "الألم 3 من 10",
        "هل هذا التمرين للوقاية من السقوط؟",
        "لا أشعر بأي ألم",
        "المشي مفيد",
        "العالم جميل",
    ],
    "hi": [
        "मैं नहीं गिरा",
        "मैं गिरा नहीं",
        "सुन्नपन नहीं है",
        "मुझे गिरने का डर है",
        "क्या मेरी पीठ सीधी है?",
        "दर्द 3/10",
        "मुझे कोई दर्द नहीं है",
        "मैं गिरने से डरता हूँ",
        "घुटने में थोड़ा दर्द है, क्या यह सामान्य है?",
    ],
}


def _cases(table: dict[str, list[tuple[str, tuple[str, str, str]]]]) -> list[tuple[str, str, tuple[str, str, str]]]:
    return [(language, text, expected) for language, rows in table.items() for text, expected in rows]


@pytest.mark.parametrize(("language", "text", "expected"), _cases(HITS))
def test_hits(language: str, text: str, expected: tuple[str, str, str]) -> None:
    hit = check_text(text)
    assert hit is not None, text
    assert (hit.kind, hit.category, hit.severity) == expected, text
    assert hit.language == language, text


@pytest.mark.parametrize(
    ("language", "text"), [(language, text) for language, rows in NON_HITS.items() for text in rows]
)
def test_non_hits(language: str, text: str) -> None:
    assert check_text(text) is None, (language, text, find_hits(text))


def test_every_language_has_hits_for_every_category() -> None:
    for language, rows in HITS.items():
        categories = {expected[1] for _, expected in rows}
        assert categories == set(CATEGORIES), language


def test_every_lexicon_covers_every_category() -> None:
    languages = {lexicon.language for lexicon in LEXICONS}
    assert languages == {"en", "ru", "zh_Hans", "es", "de", "fr", "pt_BR", "uk", "ar", "hi"}
    assert languages == set(HITS) == set(NON_HITS)
    for lexicon in LEXICONS:
        assert set(lexicon.terms) == set(CATEGORIES), lexicon.language
        assert all(lexicon.terms[category] for category in CATEGORIES), lexicon.language


def test_lexicon_fragments_survive_case_folding() -> None:
    # Fragments are case-folded like the text; an upper-case escape would silently change meaning.
    for lexicon in LEXICONS:
        fragments = [
            *(fragment for rows in lexicon.terms.values() for fragment in rows),
            *lexicon.negations,
            *lexicon.hypotheticals,
            *lexicon.fall_hypotheticals,
            *lexicon.breakers,
            *lexicon.harmless,
            *lexicon.pain,
        ]
        for fragment in fragments:
            assert not re.search(r"\\[WSDBPAZ]|\(\?P", fragment), (lexicon.language, fragment)


def test_lexicon_tables_are_immutable() -> None:
    with pytest.raises(TypeError):
        LEXICONS[0].terms["fall"] = ()  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        LEXICONS[0].negations = ()  # type: ignore[misc]


def test_most_severe_hit_wins() -> None:
    assert check_text("my foot is numb and then I fell").category == "fall"
    assert check_text("I fell and now I have chest pain").category == "chest_pain"
    assert check_text("I'm in severe pain and my leg is numb").category == "severe_pain"
    assert check_text("pain 9/10 and my foot is numb").severity == "critical"
    found = find_hits("I fell, my foot is numb, and I wet myself")
    assert [hit.category for hit in found] == ["fall", "bladder_bowel", "numbness"]


def test_a_negated_mention_does_not_hide_a_real_one() -> None:
    assert check_text("I didn't fall, but my leg is numb").category == "numbness"
    assert check_text("No numbness. But I fell on the stairs").category == "fall"
    assert check_text("я не упала, но нога онемела").category == "numbness"


def test_mixed_language_text() -> None:
    hit = check_text("Doctor said rehab is fine, но вчера я упала")
    assert hit is not None
    assert (hit.category, hit.language) == ("fall", "ru")


def test_words_shared_by_languages_are_read_in_the_language_of_the_text() -> None:
    # "caí" is Spanish and Portuguese; each language's own negation decides.
    assert check_text("no me caí") is None
    assert check_text("não caí") is None
    assert check_text("eu caí").language == "pt_BR"
    # A cognate with no other clue is still a hit, under the first language that has it.
    assert check_text("incontinence").category == "bladder_bowel"
    assert check_text("tengo incontinencia").language == "es"
    # "никакой" (Russian) negates the Ukrainian-looking "боли в груди" too.
    assert check_text("никакой боли в груди") is None


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pain 6/10", False),
        ("pain 7/10", True),
        ("pain 6.5/10", False),
        ("pain 11/10", False),
        ("pain 70/100", False),
        ("pain 2 out of 10, effort 8/10", False),
        ("if my pain gets to 8/10 should I stop?", False),
        ("no pain, squat depth 9/10", False),
        ("my pain is 7", True),
        ("pain at 7 seconds", False),
        ("pain at 0:08", False),
        ("pain 8 reps in", False),
        ("ＰＡＩＮ ８／１０", True),
        ("الألم ٨ من ١٠", True),
        ("दर्द ८/१०", True),
        ("疼痛评分九分", True),
        ("疼痛10分中3分", False),
    ],
)
def test_pain_scores(text: str, expected: bool) -> None:
    hit = check_text(text)
    assert (hit is not None and hit.category == "severe_pain") is expected, (text, hit)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "🙂", "0:30", "?"])
def test_empty_and_trivial_text(text: str) -> None:
    assert check_text(text) is None


def test_normalisation_keeps_offsets_when_folding() -> None:
    text = normalize("  Me  CAÍ   ayer, ёлки; أُغمي   ")
    assert text == "me caí ayer, ёлки; أغمي"
    folded = fold_accents(text)
    assert folded == "me cai ayer, елки; اغمي"
    assert len(folded) == len(text)


def test_long_text_is_fast() -> None:
    text = ("my knee pain is ok and I do not fall but " * 100) + "I fell"
    started = time.perf_counter()
    hit = check_text(text)
    assert time.perf_counter() - started < 2.0
    assert hit is not None
    assert hit.category == "fall"


class _Upper(gettext.NullTranslations):
    """A fake catalog that marks every translated string, to prove the message goes through gettext."""

    def gettext(self, message: str) -> str:
        return "TRANSLATED " + message


HIT_PER_KIND = [
    SafetyHit(SafetyKind.FALL, "fall", "critical", "en"),
    SafetyHit(SafetyKind.SEVERE_PAIN, "severe_pain", "high", "en"),
    SafetyHit(SafetyKind.RED_FLAG, "chest_pain", "critical", "en"),
    SafetyHit(SafetyKind.RED_FLAG, "numbness", "high", "en"),
]


@pytest.mark.parametrize("hit", HIT_PER_KIND, ids=lambda hit: hit.category)
def test_safety_message(hit: SafetyHit) -> None:
    message = safety_message(Translator("en"), hit=hit, emergency_number="112")
    assert message.strip()
    assert "112" in message
    assert "%(" not in message
    assert "<" not in message and ">" not in message
    assert "stop exercising" in message
    assert "doctor or therapist" in message
    assert "therapist is linked" in message
    assert "not a doctor" in message


def test_safety_message_differs_for_falls_and_goes_through_gettext() -> None:
    tr = Translator("en")
    fall = safety_message(tr, hit=HIT_PER_KIND[0], emergency_number="911")
    red_flag = safety_message(tr, hit=HIT_PER_KIND[2], emergency_number="911")
    assert fall != red_flag
    assert "hit your head" in fall
    assert "Chest pain" in red_flag
    translated = safety_message(Translator("xx", _Upper()), hit=HIT_PER_KIND[0], emergency_number=" 999 ")
    assert translated.startswith("TRANSLATED ")
    assert "999 now" in translated


def test_module_imports_no_heavy_dependencies() -> None:
    code = "import sys, bot.safety; print(sorted(m for m in ('telegram', 'torch', 'transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
