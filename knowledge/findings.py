"""The finding catalogue: what the probe noticed, as codes with texts in data.

The core raises findings (and health checks report problems) as a stable
`code` plus parameters: `Finding("null_mx", {"domain": "x.example"})`. The
sentence an admin reads, the fix and the source live in `findings/*.toml`,
keyed by that code, and are translated like annotations (`[finding.<code>]`
in `i18n/<lang>.toml`). So every view renders the same words, a translation is
a data change, and a JSON consumer can key on the code.

An entry has either a `severity` (info, warning, error: a finding) or a
`status` (pass, warn, fail, none, error: the verdict of a health check), a
`message` template whose `{name}` fields are the parameters, and optionally
a `fix` template and a `source`. Parameters may hold untrusted text (a server
banner, a DNS name); the templates are ours, so formatting can never be
steered by that text, and views sanitise the result like any server text.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import i18n, loader

FINDING_SEVERITIES = ("info", "warning", "error")
CHECK_STATUSES = ("pass", "warn", "fail", "none", "error")
_TEXT_FIELDS = ("message", "fix")
STRICT = False
"""Tests set this: a template field without a parameter then raises instead of showing '?'."""


@dataclass(frozen=True)
class FindingText:
    """A catalogue entry rendered with its parameters, in one language."""

    message: str
    fix: str
    source: str
    lang: str


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        if STRICT:
            raise KeyError(f"finding template needs parameter {key!r}")
        return "?"


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Every entry of every `findings/*.toml`, by code (read once)."""
    entries: dict[str, dict[str, Any]] = {}
    for path in sorted((loader.ROOT / "findings").glob("*.toml")):
        for code, entry in loader._read(path).items():
            if code in entries:
                raise ValueError(f"{path.name}: finding code {code!r} is defined twice")
            entries[code] = entry
    return entries


def entry(code: str) -> dict[str, Any]:
    """The catalogue entry of `code`; an unknown code is a bug, reported as such."""
    found = catalogue().get(code)
    if found is None:
        if STRICT:
            raise KeyError(f"unknown finding code {code!r}")
        return {"severity": "warning", "status": "error", "message": code}
    return found


def severity_of(code: str) -> str:
    return str(entry(code).get("severity", "info"))


def status_of(code: str) -> str:
    return str(entry(code).get("status", "error"))


def template_fields(template: str) -> set[str]:
    """The `{name}` fields a template uses (for tests and the catalogue check)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(template: str, params: Mapping[str, Any]) -> str:
    return template.format_map(_Params(params)) if template else ""


def render(code: str, params: Mapping[str, Any] | None = None,
           lang: str = i18n.DEFAULT_LANG) -> FindingText:
    """The message, fix and source of `code` filled with `params`, in `lang`.

    A translation is used only when it covers every field English has;
    otherwise the English text comes back with `lang = "en"`, as for
    annotations, so a view can say it is untranslated.
    """
    base = entry(code)
    values = params or {}
    used = i18n.DEFAULT_LANG
    texts = {field: str(base.get(field, "")) for field in _TEXT_FIELDS}
    local = i18n.text_entry(lang, ("finding", code))
    if local and all(local.get(field) for field in _TEXT_FIELDS if texts[field]):
        texts = {field: str(local.get(field, "")) if texts[field] else "" for field in _TEXT_FIELDS}
        used = lang
    return FindingText(_fill(texts["message"], values), _fill(texts["fix"], values),
                       str(base.get("source", "")), used)
