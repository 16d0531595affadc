"""`compare`: two codes side by side, differences generated from the data.

Nothing here is written per pair. Each code contributes facets from the data
files (class, retry behaviour, who has to act, category, typical stage, the
situation a server uses it for); the differences and the "which situation
calls for which" lines are sentences from the language's `[templates]` filled
with those facets, so every pair of known codes, basic or enhanced, works.
"""

from __future__ import annotations

import re
from typing import Any

from . import i18n, loader
from .classifier import classify, enhanced_entry
from .enhanced_code import split_enhanced
from .model import STAGES, CodeFacts, Comparison

_BASIC = re.compile(r"^\s*([2-5][0-5]\d)(?:@([a-z]+))?\s*$", re.IGNORECASE)
_ENHANCED = re.compile(r"^\s*([245xX])\.(\d{1,3})\.(\d{1,3})\s*$")


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """("basic", "550", stage) or ("enhanced", "5.1.1", None); ValueError otherwise.

    A stage may be attached to a basic code ("550@mail"); "X.1.1" is read as
    the permanent form, since the registry describes details class-free.
    """
    m = _BASIC.match(spec)
    if m:
        stage = m.group(2).lower() if m.group(2) else None
        if stage is not None and stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        return "basic", m.group(1), stage
    m = _ENHANCED.match(spec)
    if m:
        klass = "5" if m.group(1) in "xX" else m.group(1)
        code = ".".join(str(int(p)) for p in (klass, m.group(2), m.group(3)))
        if split_enhanced(code) is not None:
            return "enhanced", code, None
    raise ValueError(f"not a reply code: {spec!r}")


def _class_info(klass: int | None, lang: str) -> dict[str, Any]:
    classes = loader.codes()["class"]
    entry = dict(classes.get(str(klass), classes["invalid"]))
    tr = i18n.text_entry(lang, ("class", str(klass)))
    if tr and tr.get("name"):
        entry["name"] = tr["name"]
    return entry


def _facet(entry: Any, subject: Any, klass_entry: dict[str, Any], key: str) -> Any:
    for source in (entry, subject, klass_entry):
        if isinstance(source, dict) and source.get(key):
            return source[key]
    return None


def facts(spec: str, lang: str = "en") -> CodeFacts:
    """Everything `compare` shows and diffs about one code."""
    kind, code, stage = parse_spec(spec)
    names = {
        "retry": i18n.table(lang, "retry"), "actor": i18n.table(lang, "actor"),
        "stage": i18n.table(lang, "stages"),
    }
    if kind == "basic":
        number = int(code)
        klass = number // 100
        annotation = classify(number, "", stage, lang)
        entry = loader.codes().get(f"c{number}", {})
        if stage:
            entry = {**entry, **entry.get("stage", {}).get(stage, {})}
        subject = None
        tr_path: tuple[str, ...] = ("code", code)
        label = f"{code}@{stage}" if stage else code
    else:
        klass = int(code[0])
        annotation = classify(None, "", None, lang, enhanced=code)
        found = enhanced_entry(code)
        entry = dict(found[0]) if found else {}
        subject = loader.enhanced()["subject"].get(code.split(".")[1])
        tr_path = ("enhanced", found[1]) if found else ("enhanced", code)
        label = code
    klass_entry = _class_info(klass, lang)
    retry = _facet(entry, None, klass_entry, "retry") or "after_fix"
    actor = _facet(entry, subject, klass_entry, "actor") or "receiver"
    stages = tuple(_facet(entry, subject, klass_entry, "stages") or ())
    tr = i18n.text_entry(lang, tr_path) or {}
    # A server's reason to send it; enhanced codes have no use_when, and their
    # meaning already says the situation they report.
    fallback = annotation.when if kind == "basic" else annotation.meaning
    if lang != i18n.DEFAULT_LANG and annotation.lang == lang:
        # Translated texts: never mix in the English use_when sentence.
        use_when = str(tr.get("use_when") or fallback)
    else:
        use_when = str(entry.get("use_when") or fallback)
    return CodeFacts(
        code=label,
        kind=kind,
        class_digit=klass,
        class_name=str(klass_entry["name"]),
        annotation=annotation,
        retry=names["retry"].get(retry, retry),
        actor=names["actor"].get(actor, actor),
        stages=tuple(names["stage"].get(s, s.upper()) for s in stages),
        use_when=use_when,
    )


def _subject_name(code: str, lang: str) -> str:
    subj = code.split(".")[1]
    entry = loader.enhanced()["subject"].get(subj, {})
    tr = i18n.text_entry(lang, ("subject", subj)) or {}
    return str(tr.get("name") or entry.get("name") or f"X.{subj}.x")


def compare(a: str, b: str, lang: str = "en") -> Comparison:
    """Compare two codes ("214", "451", "5.1.1", "550@mail"); ValueError if one is not a code."""
    fa, fb = facts(a, lang), facts(b, lang)
    t = i18n.table(lang, "templates")
    cats = i18n.table(lang, "categories")
    diffs: list[str] = []
    if fa.code == fb.code:
        diffs.append(t["same_code"].format(a=fa.code))
    if fa.kind != fb.kind:
        basic, enh = (fa, fb) if fa.kind == "basic" else (fb, fa)
        key = "kind_together" if basic.class_digit == enh.class_digit else "kind_apart"
        diffs.append(t[key].format(basic=basic.code, enhanced=enh.code))
    elif fa.kind == "enhanced" and fa.code != fb.code:
        sa, sb = _subject_name(fa.code, lang), _subject_name(fb.code, lang)
        if sa == sb:
            diffs.append(t["same_subject"].format(a=fa.code, b=fb.code, subject=sa))
        else:
            diffs.append(t["diff_subject"].format(a=fa.code, b=fb.code, sa=sa, sb=sb))
    if fa.class_digit == fb.class_digit:
        diffs.append(t["same_class"].format(a=fa.code, b=fb.code, cls=fa.class_name))
    else:
        diffs.append(t["diff_class"].format(
            a=fa.code, b=fb.code, ca=fa.class_name, cb=fb.class_name))
    sev_a, sev_b = fa.annotation.severity, fb.annotation.severity
    if fa.class_digit == fb.class_digit and sev_a != sev_b:
        sevs = i18n.table(lang, "severities")
        diffs.append(t["diff_severity"].format(
            a=fa.code, b=fb.code, sa=sevs.get(sev_a, sev_a), sb=sevs.get(sev_b, sev_b)))
    for facet in ("retry", "actor"):
        va, vb = getattr(fa, facet), getattr(fb, facet)
        key = f"same_{facet}" if va == vb else f"diff_{facet}"
        diffs.append(t[key].format(a=fa.code, b=fb.code, va=va, vb=vb))
    ca, cb = fa.annotation.category, fb.annotation.category
    if ca != cb:
        diffs.append(t["diff_category"].format(
            a=fa.code, b=fb.code, ca=cats.get(ca, ca), cb=cats.get(cb, cb)))
    elif fa.code != fb.code:
        diffs.append(t["same_category"].format(a=fa.code, b=fb.code, cat=cats.get(ca, ca)))
    if fa.stages and fb.stages and set(fa.stages) != set(fb.stages):
        diffs.append(t["diff_stages"].format(
            a=fa.code, b=fb.code, sa=", ".join(fa.stages), sb=", ".join(fb.stages)))

    which = [t["which"].format(code=f.code, use_when=_lower_first(f.use_when)) for f in (fa, fb)]
    if fa.class_digit is not None and fb.class_digit is not None:
        lo, hi = sorted((fa.class_digit, fb.class_digit))
        rule = t.get(f"pair_{lo}_{hi}")
        if rule:
            which.append(rule)
    return Comparison(fa, fb, tuple(diffs), tuple(which), lang)


def _lower_first(text: str) -> str:
    """Lowercase the first letter so a sentence fits after "... when"."""
    text = text.strip().rstrip(".。")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
