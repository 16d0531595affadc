"""The words of the views (headings, cell labels, key names, messages), in each language.

They live in `knowledge/i18n/<lang>/views.toml` as one flat `[views]` table,
English filling any gap, so a translation is a data change and every view
(plain report, JSON summary sentences, TUI) says the same thing the same way.
Templates use `{name}` fields that are filled with values we made or that
were sanitised; a translation must use the same fields (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from knowledge.i18n import table


@cache
def words(lang: str) -> Mapping[str, str]:
    """Every view word in `lang` (read-only; English where a word is missing)."""
    return MappingProxyType(table(lang, "views"))


def say(lang: str, key: str, /, **params: object) -> str:
    """One word or filled-in template, in `lang`."""
    text = words(lang)[key]
    return text.format(**params) if params else text


@cache
def _names(lang: str, section: str) -> Mapping[str, str]:
    return MappingProxyType(table(lang, section))


def stage_name(lang: str, stage: str) -> str:
    """A stage as the admin knows it ("greeting" for banner, "RCPT TO" for rcpt)."""
    return _names(lang, "stages").get(stage, stage)


def category_name(lang: str, category: str) -> str:
    """A category in words ("recipient does not exist" for user_unknown)."""
    return _names(lang, "categories").get(category, category)
