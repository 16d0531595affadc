"""The finding catalogue: well-formed, complete for every code the core raises, translatable.

The core raises codes; the sentences live in knowledge/findings/*.toml. These
tests keep the two in step: no code without an entry, no entry nobody raises,
no template asking for a parameter its translation does not use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from knowledge import findings, i18n, loader
from probe.core.events import Finding, Problem

PROBE = Path(__file__).resolve().parent.parent / "probe"
SOURCES = {path: path.read_text(encoding="utf-8") for path in PROBE.rglob("*.py")}
RAISERS = {"Finding", "Problem", "finding", "DnsFailure"}


def _raised_codes() -> set[str]:
    """String arguments of Finding(...), Problem(...), session.finding(...), _Failure(...)."""
    codes: set[str] = set()
    for text in SOURCES.values():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in RAISERS:
                codes.update(arg.value for arg in node.args if isinstance(arg, ast.Constant)
                             and isinstance(arg.value, str) and arg.value not in
                             ("transient", "permanent"))
    return codes


def test_every_entry_is_a_finding_or_a_check_verdict():
    for code, entry in findings.catalogue().items():
        kinds = [k for k in ("severity", "status") if k in entry]
        assert len(kinds) == 1, code
        if "severity" in entry:
            assert entry["severity"] in findings.FINDING_SEVERITIES, code
        else:
            assert entry["status"] in findings.CHECK_STATUSES, code
        assert str(entry.get("message", "")).strip(), code
        assert set(entry) <= {"severity", "status", "message", "fix", "source", "in_verdict"}, code


def test_every_code_the_core_raises_has_an_entry():
    raised = _raised_codes()
    assert {"nxdomain", "dns_servfail", "starttls_injection", "no_ptr"} <= raised
    missing = raised - findings.catalogue().keys()
    assert not missing


def test_every_entry_is_raised_somewhere():
    quoted = "\n".join(SOURCES.values())
    unused = [code for code in findings.catalogue() if f'"{code}"' not in quoted]
    assert not unused


@pytest.mark.parametrize("lang", [lang for lang in loader.languages() if lang != "en"])
def test_translations_use_the_same_parameters(lang):
    for code, entry in (loader.translations(lang).get("finding") or {}).items():
        english = findings.entry(code)
        for field in ("message", "fix"):
            if field in entry:
                assert findings.template_fields(entry[field]) == \
                    findings.template_fields(english.get(field, "")), (lang, code, field)


def test_render_fills_parameters_and_never_lets_them_format(monkeypatch):
    text = Finding("null_mx", {"domain": "{0.__class__} x.test"}).text()
    assert text.message.startswith("{0.__class__} x.test publishes a null MX")
    assert text.fix and text.source == "RFC 7505 §3" and text.lang == "en"
    assert Problem("no_ptr", {"address": "192.0.2.1", "host": "mx"}).status == "warn"


def test_a_missing_parameter_is_a_bug_in_tests_and_a_question_mark_for_users(monkeypatch):
    with pytest.raises(KeyError):
        Finding("null_mx").text()
    monkeypatch.setattr(findings, "STRICT", False)
    assert Finding("null_mx").text().message.startswith("? publishes")


def test_translation_is_used_whole_or_not_at_all(monkeypatch):
    full = {"message": "{domain} : MX nul", "fix": "Remplacez-le."}
    monkeypatch.setitem(loader.translations("fr"), "finding", {"null_mx": full})
    assert Finding("null_mx", {"domain": "x.test"}).text("fr").message == "x.test : MX nul"
    monkeypatch.setitem(loader.translations("fr"), "finding",
                        {"null_mx": {"message": "{domain} : MX nul"}})  # no fix: English
    text = Finding("null_mx", {"domain": "x.test"}).text("fr")
    assert text.lang == i18n.DEFAULT_LANG and "publishes a null MX" in text.message


@pytest.mark.parametrize("lang", [lang for lang in loader.languages() if lang != "en"])
def test_every_catalogue_entry_is_translated(lang):
    """--lang covers findings and health-check verdicts: every entry of every
    findings/*.toml renders in each language (a new code needs its translations too)."""
    files = sorted((loader.ROOT / "findings").glob("*.toml"))
    assert {"core.toml", "spf.toml", "dmarc.toml", "tls.toml"} <= {f.name for f in files}
    translated = set(loader.translations(lang).get("finding") or {})
    missing = {path.name: sorted(set(loader._read(path)) - translated) for path in files}
    assert not any(missing.values()), (lang, missing)
    for code in findings.catalogue():
        params = {name: "X" for field in ("message", "fix")
                  for name in findings.template_fields(str(findings.entry(code).get(field, "")))}
        assert findings.render(code, params, lang).lang == lang, (lang, code)
