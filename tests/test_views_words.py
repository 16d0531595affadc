"""The words of the views: every language has every word, with the same fields,
and every word the code asks for exists (and none is left unused)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from knowledge import loader
from probe.present.words import say, words

PROBE = Path(__file__).resolve().parent.parent / "probe"
ENGLISH = loader.translations("en")["views"]
OTHERS = [lang for lang in loader.languages() if lang != "en"]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _asked_for() -> set[str]:
    """String constants that name a view word in the sources: arguments of say() and
    the literal prefixes of f-strings passed to it ("outcome_", "cell_", "status_")."""
    keys: set[str] = set()
    for path in PROBE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"[a-z][a-z0-9_]+", node.value):
                keys.add(node.value)
    return keys


@pytest.mark.parametrize("lang", OTHERS)
def test_every_language_has_every_word_with_the_same_fields(lang):
    local = loader.translations(lang)["views"]
    assert set(local) == set(ENGLISH), set(local) ^ set(ENGLISH)
    for key, template in ENGLISH.items():
        assert _fields(local[key]) == _fields(template), (lang, key)
        assert local[key].strip(), (lang, key)


def test_every_word_is_used_and_every_used_word_exists():
    asked = _asked_for()
    prefixed = ("outcome_", "cell_", "status_", "palette_", "key_", "help_", "tls_")
    unused = [key for key in ENGLISH if key not in asked and not key.startswith(prefixed)]
    assert not unused
    for prefix, values in (("outcome_", ("ok", "transient", "permanent")),
                           ("status_", ("waiting", "connecting", "speaking", "accepted",
                                        "transient", "permanent", "error")),
                           ("cell_", ("waiting", "not_reached", "running", "ended"))):
        for value in values:
            assert prefix + value in ENGLISH


def test_say_fills_fields_and_english_fills_gaps(monkeypatch):
    assert say("en", "verdict", outcome="ok", exit=0) == "Verdict: ok (exit 0)"
    assert say("fr", "verdict", outcome="ok", exit=0).startswith("Verdict : ok")
    assert say("xx", "verdict", outcome="ok", exit=0) == "Verdict: ok (exit 0)"
    with pytest.raises(TypeError):
        words("en")["verdict"] = "changed"  # type: ignore[index]


def test_a_table_defined_twice_is_refused(tmp_path, monkeypatch):
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx.toml").write_text('[views]\nverdict = "A"\n', encoding="utf-8")
    (tmp_path / "xx" / "views.toml").write_text('[views]\nverdict = "B"\n', encoding="utf-8")
    monkeypatch.setattr(loader, "I18N_DIR", tmp_path)
    loader.translations.cache_clear()
    try:
        with pytest.raises(ValueError, match="already defined"):
            loader.translations("xx")
    finally:
        loader.translations.cache_clear()
