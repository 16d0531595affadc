"""Languages: choosing one, labels, and translated texts with a visible fallback.

Each `i18n/<lang>.toml` holds `[labels]`, `[categories]`, `[severities]`,
`[templates]` (sentences `compare` fills in) and, optionally, translated texts:
`[code.450]`, `[code.550.stage.rcpt]`, `[enhanced."X.1.1"]`, `[class.4]`,
`[pattern.<id>]`, `[error.timeout.banner]`. Anything missing falls back to
English, and the classifier then reports `lang = "en"` so a view can say the
text is untranslated instead of silently mixing languages.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from . import loader

DEFAULT_LANG = "en"
_LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


def resolve_lang(explicit: str | None) -> str:
    """The language to use: `explicit`, else the locale, else English.

    Locale strings look like "fr_FR.UTF-8", "zh_CN", "tr_TR@euro" or "C"; only
    the language part counts. A language without a file resolves to "en".
    """
    raw = explicit
    if not raw:
        # POSIX precedence: the first variable that is set decides, even "C".
        raw = next((os.environ[v] for v in _LOCALE_VARS if os.environ.get(v)), "")
    return _language_part(raw) if is_supported(raw) else DEFAULT_LANG


def _language_part(raw: str) -> str:
    return raw.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()


def is_supported(raw: str) -> bool:
    """True when `raw` ("fr", "zh_CN.UTF-8", "tr-TR") names a language with texts."""
    return _language_part(raw) in loader.languages()


def labels(lang: str) -> dict[str, str]:
    """Every label in `lang`, English filling any gap (views never KeyError).

    Returns a fresh dict each time, so a caller may adjust its copy freely.
    """
    return dict(_labels(lang))


@cache
def _labels(lang: str) -> dict[str, str]:
    return table(lang, "labels")


def table(lang: str, section: str) -> dict[str, str]:
    """A flat name table (`categories`, `severities`, `templates`) with fallback."""
    merged = dict(loader.translations(DEFAULT_LANG).get(section, {}))
    if lang != DEFAULT_LANG:
        merged.update(loader.translations(lang).get(section, {}))
    return merged


def text_entry(lang: str, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The translated text table at `path` (e.g. ("code", "450")) in `lang`, if any."""
    if lang == DEFAULT_LANG:
        return None
    node: Any = loader.translations(lang)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None
