"""Turning a reply (code, text, stage) into an Annotation.

Evidence is gathered as layers, each with a rank; the highest rank wins and
supplies the category and the texts. From weakest to strongest:

    0  the first digit of the code (RFC 5321 §4.2.1: unknown codes are read by
       their first digit) - always present, so classification never fails
    10 an enhanced code on a 2xx/3xx reply (success details never outrank the code)
    20 the basic code alone
    30 a vague enhanced code (X.Y.0, or an unknown detail read by its subject)
    40 the basic code at this stage ("550 at MAIL" is about the sender)
    45 a fallback pattern: a vendor's generic frame ("Recipient address
       rejected: ...") that says a restriction fired but not which one
    50 a specific enhanced code ("5.1.1")
    60 a text pattern of a real server
    70 a stage rule marked authoritative (any reply to HELP is about HELP)

`when` may come from a weaker layer when the winner has none (patterns and
enhanced codes rarely say when you meet them; the basic code at its stage does).
Afterwards the stage policy of `codes.toml` may cap the severity (replies to
HELP and VRFY are informational; 5xx to EHLO only means "fall back to HELO").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import i18n, loader
from .enhanced_code import parse_enhanced, split_enhanced
from .model import CATEGORIES, SEVERITIES, Annotation
from .patterns import Pattern, normalise_text, pattern_set

_TEXT_FIELDS = ("title", "meaning", "when", "fix", "fix_admin")
_SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Layer:
    """One piece of evidence: its rank, its data and where translations live."""

    rank: int
    data: Mapping[str, Any]
    matched: str
    tr_paths: tuple[tuple[str, ...], ...]
    is_pattern: bool = False


def reply_class(code: int | None, enhanced: str | None) -> int | None:
    """The class digit (2-5) of a reply: from the code, else from the enhanced code."""
    if code is not None:
        return code // 100 if 200 <= code <= 599 else None
    if enhanced:
        parts = split_enhanced(enhanced)
        return parts[0] if parts else None
    return None


@lru_cache(maxsize=16)
def _class_layer(klass: int | None) -> Layer:
    classes = loader.codes()["class"]
    key = str(klass) if klass is not None and str(klass) in classes else "invalid"
    return Layer(0, classes[key], f"class:{key}", (("class", key),))


@lru_cache(maxsize=1024)
def code_layers(code: int, stage: str | None) -> tuple[Layer, ...]:
    """Layers for the basic code alone and the code at `stage`, when known.

    Pure function of the data, so it is cached: the same few codes and stages
    make up nearly every reply of a probe or a log.
    """
    entry = loader.codes().get(f"c{code}")
    if not isinstance(entry, dict):
        return ()
    base = {k: v for k, v in entry.items() if k != "stage"}
    layers = [Layer(20, base, f"code:{code}", (("code", str(code)),))]
    override = entry.get("stage", {}).get(stage) if stage else None
    if override:
        rank = 70 if override.get("authoritative") else 40
        layers.append(Layer(
            rank, {**base, **override}, f"code:{code}@{stage}",
            (("code", str(code)), ("code", str(code), "stage", str(stage))),
        ))
    return tuple(layers)


def enhanced_entry(enhanced: str) -> tuple[Mapping[str, Any], str, bool] | None:
    """(entry, table key, specific?) for an enhanced code, subject fallback included."""
    parts = split_enhanced(enhanced)
    if parts is None:
        return None
    _, subject, detail = parts
    data = loader.enhanced()
    key = f"X.{subject}.{detail}"
    entry = data["code"].get(key)
    if entry is not None:
        return entry, key, detail != 0
    subj = data["subject"].get(str(subject))
    if subj is not None:
        return subj, f"X.{subject}.x", False
    return None


def enhanced_registered(enhanced: str) -> bool:
    """True when the registry lists the code's subject and detail (X.1.1, not X.1.99)."""
    parts = split_enhanced(enhanced)
    return parts is not None and f"X.{parts[1]}.{parts[2]}" in loader.enhanced()["code"]


def _unregistered_title(layer: Layer | None, lang: str) -> str:
    """The words an unregistered code gets instead of a title it does not have."""
    data = dict(loader.enhanced()["unregistered"])
    data.update(i18n.text_entry(lang, ("unregistered",)) or {})
    if layer is None:
        return str(data["title"])
    subject = str((_translated(layer, lang) or layer.data).get("title", ""))
    return str(data["title_subject"]).format(subject=subject)


@lru_cache(maxsize=1024)
def _enhanced_layer(enhanced: str, klass: int | None) -> Layer | None:
    found = enhanced_entry(enhanced)
    if found is None:
        return None
    entry, key, specific = found
    # Success details (2.1.5, 2.6.0) never outrank the basic code.
    rank = (50 if specific else 30) if klass in (4, 5) else 10
    tr_key = ("subject", key.split(".")[1]) if key.endswith(".x") else ("enhanced", key)
    return Layer(rank, entry, f"enhanced:{enhanced}", (tr_key,))


def _pattern_layer(pat: Pattern) -> Layer:
    data = {
        "title": pat.title, "meaning": pat.meaning, "when": pat.when, "fix": pat.fix,
        "fix_admin": pat.fix_admin, "category": pat.category, "source": pat.source,
        "doc_url": pat.doc_url,
    }
    if pat.severity:
        data["severity"] = pat.severity
    rank = 45 if pat.fallback else 60
    return Layer(rank, data, f"pattern:{pat.id}", (("pattern", pat.id),), is_pattern=True)


def _translated(layer: Layer, lang: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in layer.tr_paths:
        entry = i18n.text_entry(lang, path)
        if entry:
            merged.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return merged


def _subject_when_layer(layers: list[Layer]) -> list[Layer]:
    """The enhanced code's subject (X.7.x ...) as a source of `when` only.

    Ranked just above the first-digit fallback: "5.7.26" pasted alone should
    say when security/policy replies come, not when any 5xx does; a real
    basic code, at its stage, still says it better.
    """
    for layer in layers:
        if layer.matched.startswith("enhanced:"):
            parts = split_enhanced(layer.matched.removeprefix("enhanced:"))
            subject = loader.enhanced()["subject"].get(str(parts[1])) if parts else None
            if subject and subject.get("when"):
                return [Layer(5, {"when": subject["when"]}, "subject",
                              (("subject", str(parts[1])),))]  # type: ignore[index]
    return []


def _texts(layers: list[Layer], winner: Layer, lang: str) -> tuple[dict[str, str], str]:
    """The five text fields, translated as a whole or not at all.

    Half-translated annotations would mix languages under a foreign label, so
    a translation is used only when it covers every field English has; else
    the result is English and says so (`lang = "en"`).
    """
    english = {f: str(winner.data.get(f, "")).strip() for f in _TEXT_FIELDS}
    when_layer = winner
    if not english["when"]:
        candidates = [*layers, *_subject_when_layer(layers)]
        for layer in sorted(candidates, key=lambda lay: lay.rank, reverse=True):
            if str(layer.data.get("when", "")).strip():
                when_layer = layer
                english["when"] = str(layer.data["when"]).strip()
                break
    if lang == i18n.DEFAULT_LANG:
        return english, lang
    tr = _translated(winner, lang)
    tr_when = tr if when_layer is winner else _translated(when_layer, lang)
    local = {f: str(tr.get(f, "")).strip() for f in _TEXT_FIELDS}
    local["when"] = str(tr_when.get("when", "")).strip()
    if all(local[f] for f in _TEXT_FIELDS if english[f]):
        return {f: local[f] if english[f] else "" for f in _TEXT_FIELDS}, lang
    return english, i18n.DEFAULT_LANG


def _default_severity(klass: int | None) -> str:
    classes = loader.codes()["class"]
    key = str(klass) if klass is not None and str(klass) in classes else "invalid"
    return str(classes[key]["severity"])


def _apply_stage_policy(
    stage: str | None, klass: int | None, winner: Layer, category: str, severity: str
) -> tuple[str, str]:
    policy = loader.codes().get("stage", {}).get(stage) if stage else None
    if not policy:
        return category, severity
    if klass in policy.get("force_classes", ()) and policy.get("force_category"):
        category = policy["force_category"]
    cap = policy.get("severity_cap")
    applies = klass in policy.get("cap_classes", (2, 3, 4, 5)) and (
        policy.get("cap_patterns", True) or not winner.is_pattern
    )
    if cap and applies and _SEVERITY_RANK[severity] > _SEVERITY_RANK[cap]:
        severity = cap
    return category, severity


def classify(
    code: int | None, text: str, stage: str | None, lang: str, enhanced: str | None = None,
    klass_hint: int | None = None,
) -> Annotation:
    """The annotation for a reply; `enhanced` may be given when there is no text.

    `klass_hint` (4 or 5) stands in for the class when there is no code at all,
    as in a bounce that only says "mailbox is full" in prose.
    """
    enh = enhanced or parse_enhanced(text)
    klass = reply_class(code, enh)
    if klass is None:
        klass = klass_hint
    layers = [_class_layer(klass)]
    if code is not None:
        layers.extend(code_layers(code, stage))
    enh_layer = _enhanced_layer(enh, klass) if enh else None
    if enh_layer is not None:
        layers.append(enh_layer)
    if text and klass is not None:
        pat = pattern_set().match(normalise_text(text), code, klass, stage)
        if pat is not None:
            layers.append(_pattern_layer(pat))
    winner = max(layers, key=lambda lay: lay.rank)  # ties: the earlier (weaker-kind) layer

    category = str(winner.data.get("category", "other"))
    if category not in CATEGORIES:
        category = "other"
    severity = str(winner.data.get("severity") or _default_severity(klass))
    if severity not in SEVERITIES:
        severity = _default_severity(klass)
    category, severity = _apply_stage_policy(stage, klass, winner, category, severity)

    texts, used_lang = _texts(layers, winner, lang)
    source = str(winner.data.get("source", ""))
    if winner.is_pattern:
        # A vendor's wording explains the case; the standard still defines the code.
        standard = enh_layer if enh_layer is not None else max(
            (lay for lay in layers if not lay.is_pattern), key=lambda lay: lay.rank)
        extra = str(standard.data.get("source", ""))
        if extra and extra not in source:
            source = f"{source}; {extra}" if source else extra
    enhanced_title = ""
    if enh_layer is not None:
        enhanced_title = str(enh_layer.data.get("title", ""))
        if used_lang != i18n.DEFAULT_LANG:
            enhanced_title = str(_translated(enh_layer, lang).get("title", enhanced_title))
    registered: bool | None = None
    if enh:
        registered = enhanced_registered(enh)
        if not registered:
            enhanced_title = _unregistered_title(enh_layer, lang)
    return Annotation(
        category=category,
        severity=severity,
        title=texts["title"],
        meaning=texts["meaning"],
        when=texts["when"],
        fix=texts["fix"],
        source=source,
        matched=winner.matched,
        code=code,
        enhanced=enh,
        enhanced_title=enhanced_title,
        fix_admin=texts["fix_admin"],
        doc_url=str(winner.data.get("doc_url", "")),
        lang=used_lang,
        enhanced_registered=registered,
    )


def explain_reply(code: int, text: str, stage: str | None = None, lang: str = "en") -> Annotation:
    """Explain one reply. `text` is its lines joined with "\\n", without the code prefix.

    Never raises for odd input: an unknown code falls back to its first digit,
    an impossible one (e.g. 199 or 600) to an "invalid reply" explanation.
    """
    if not isinstance(text, str):
        text = str(text)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 0
    return classify(code, text, stage or None, lang)


def explain_success(stage: str, lang: str = "en") -> Annotation:
    """Explain a step that succeeds without a reply (TCP connect, TLS handshake)."""
    return explain_error("ok", stage, lang)


def explain_error(kind: str, stage: str, lang: str = "en") -> Annotation:
    """Explain a step that produced no reply (timeout, refused, closed, ...).

    The same failure means different things at different stages: no answer at
    connect is a filtered port 25, silence after the connection is a tarpit.
    """
    data = loader.errors()
    entry = data.get(kind)
    matched_kind = kind
    if not isinstance(entry, dict):
        entry, matched_kind = data["unknown"], "unknown"
    base = {k: v for k, v in entry.items() if k != "stage"}
    override = entry.get("stage", {}).get(stage) if stage else None
    if override:
        layer = Layer(
            40, {**base, **override}, f"error:{matched_kind}@{stage}",
            (("error", matched_kind), ("error", matched_kind, "stage", stage)),
        )
    else:
        layer = Layer(20, base, f"error:{matched_kind}", (("error", matched_kind),))
    texts, used_lang = _texts([layer], layer, lang)
    category = str(layer.data.get("category", "other"))
    severity = str(layer.data.get("severity", "transient"))
    return Annotation(
        category=category if category in CATEGORIES else "other",
        severity=severity if severity in SEVERITIES else "transient",
        title=texts["title"],
        meaning=texts["meaning"],
        when=texts["when"],
        fix=texts["fix"],
        source=str(layer.data.get("source", "")),
        matched=layer.matched,
        fix_admin=texts["fix_admin"],
        doc_url=str(layer.data.get("doc_url", "")),
        lang=used_lang,
    )
