"""Babel/gettext catalogs: locale negotiation and a per-user translator with named placeholders."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "ru", "zh_Hans", "es", "de", "fr", "pt_BR", "uk", "ar", "hi")
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "zh_Hans": "简体中文",
    "es": "Español",
    "de": "Deutsch",
    "fr": "Français",
    "pt_BR": "Português (Brasil)",
    "uk": "Українська",
    "ar": "العربية",
    "hi": "हिन्दी",
}
DOMAIN = "messages"


def default_locales_dir() -> Path:
    """The `locales/` folder at the repository root (beside the `bot` package)."""
    return Path(__file__).resolve().parent.parent / "locales"


def negotiate_locale(language_code: str | None, *, default: str = "en") -> str:
    """Map a Telegram `language_code` (an IETF tag such as `zh-hans` or `pt-br`) to a supported locale."""
    fallback = default if default in SUPPORTED_LOCALES else "en"
    if not language_code:
        return fallback
    tag = language_code.strip().replace("_", "-").lower()
    primary = tag.split("-", 1)[0]
    if primary == "zh":
        # Traditional Chinese readers understand Simplified far better than an English fallback.
        return "zh_Hans" if "zh_Hans" in SUPPORTED_LOCALES else fallback
    if primary == "pt" and "pt_BR" in SUPPORTED_LOCALES:
        return "pt_BR"
    for locale in SUPPORTED_LOCALES:
        if locale.lower() == primary:
            return locale
    return fallback


@dataclass(frozen=True)
class Translator:
    """Translates UI strings for one locale; placeholders are named (`%(name)s`)."""

    locale: str
    translations: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)

    @property
    def babel_locale(self) -> Locale:
        """The Babel locale, for dates and numbers."""
        return Locale.parse(self.locale)

    def gettext(self, message: str, /, **params: object) -> str:
        """Translate `message` and fill its named placeholders."""
        text = self.translations.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """Translate with the locale's plural rule; `%(count)s` is always available."""
        text = self.translations.ngettext(singular, plural, n)
        return text % {"count": n, **params}

    def language_name(self) -> str:
        """The language's own name, for menus."""
        return LANGUAGE_NAMES.get(self.locale, self.locale)


def _load_catalog(po_path: Path) -> gettext.GNUTranslations:
    """Load a catalog, preferring a compiled .mo that is newer than its .po."""
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    # An uncompiled checkout still works: compile in memory (what `pybabel compile` would write).
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogs:
    """All translators, loaded once at start-up."""

    def __init__(self, translators: dict[str, Translator], default_locale: str = "en") -> None:
        """Keep the loaded translators."""
        self._translators = translators
        self.default_locale = default_locale if default_locale in translators else "en"

    @classmethod
    def load(cls, locales_dir: Path | None = None, *, default_locale: str = "en") -> Catalogs:
        """Read every supported locale's catalog from `locales_dir`."""
        root = locales_dir or default_locales_dir()
        translators: dict[str, Translator] = {}
        for locale in SUPPORTED_LOCALES:
            po_path = root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po_path.exists():
                translators[locale] = Translator(locale, _load_catalog(po_path))
            else:
                translators[locale] = Translator(locale)
        return cls(translators, default_locale)

    def get(self, locale: str | None) -> Translator:
        """The translator for `locale`, or the default one."""
        if locale and locale in self._translators:
            return self._translators[locale]
        return self._translators[self.default_locale]

    def for_language_code(self, language_code: str | None) -> Translator:
        """The translator for a Telegram `language_code`."""
        return self.get(negotiate_locale(language_code, default=self.default_locale))

    @property
    def locales(self) -> tuple[str, ...]:
        """The loaded locales, in menu order."""
        return tuple(self._translators)
