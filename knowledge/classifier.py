"""Turning a reply (code, text, stage) into an Annotation.

Every piece of evidence about a reply is a layer with a kind and a rank. From
weakest to strongest:

    0  class     the first digit of the code (RFC 5321 §4.2.1: unknown codes are
                 read by their first digit) - always present, so classification
                 never fails
    10 enhanced  an enhanced code on a 2xx/3xx reply (success details never
                 outrank the code)
    20 code      the basic code alone
    30 enhanced  a vague enhanced code (X.Y.0, or an unknown detail read by its subject)
    40 stage     the basic code at this stage ("550 at MAIL" is about the sender)
    45 fallback  a vendor's frame ("Recipient address rejected: ...") that says a
                 restriction fired but not which one
    50 enhanced  a specific enhanced code ("5.1.1")
    55 generic   vendor-neutral wording ("mailbox full", "blocked using")
    60 vendor    wording one vendor or product sends
    70 stage     a stage rule marked authoritative (any reply to HELP is about HELP)

and, outside that order, 52 resemblance: a best guess from the reply's
likeness to labelled replies, used only in place of a code.

When no wording was recognised and a code alone decided a failure reply (the
class digit, the basic code, the basic code at its stage or the enhanced code),
the reply's resemblance to labelled replies (`resemblance.py`) replaces that
decision if it names another category clearly enough (`better_guess`; a
vague or catch-all enhanced code yields to a less clear guess): on
replies nobody had written a pattern for, that took the share right from 57%
to 67%. The texts then come from the category (`categories.toml`), and
`matched` says "resemblance:<category> over code:550 (...)".

The strongest layer wins, with one exception that keeps vague wording from
talking over a precise code: generic wording never overrides a specific
enhanced code that names a different RFC 3463 subject. "450 4.2.1 Mailbox
temporarily unavailable" is about a mailbox (X.2), so the generic "temporarily
unavailable = service unavailable" loses to 4.2.1, while "locked by another
process" is mailbox wording and refines it. X.Y.0 and catch-all codes (X.7.1,
which MTAs attach to any access-table rejection) name only a class of
problem, so wording of any subject refines them. Which subjects a category
belongs to is data (`categories.toml`); a pattern may list its own.

Every text field comes from the winner. `when` may come from a weaker layer only
when the winner has none and that layer agrees with it (same category, or the
enhanced code's subject for the winner's subjects), else from the category's
own `when`. The standard a pattern's source is completed with must agree too.
Afterwards the stage policy of `codes.toml` may cap the severity (replies to
HELP and VRFY are informational; 5xx to EHLO only means "fall back to HELO"),
and the caller's context may reinterpret a vague refusal (`context.toml`).

`Annotation.matched` names the winner and, when a weaker layer of another
category lost to it, that layer and why: "enhanced:4.2.1 over
pattern:generic-service-unavailable (different subject)".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import i18n, loader, resemblance
from .enhanced_code import parse_enhanced, split_enhanced, without_repeats
from .model import CATEGORIES, SEVERITIES, Annotation
from .patterns import Pattern, normalise_text, pattern_set

_TEXT_FIELDS = ("title", "meaning", "when", "fix", "fix_admin")
_SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
_SPECIFIC_ENHANCED = 50  # rank of a specific enhanced code on a 4xx/5xx reply

# Why a winner of this kind beats weaker evidence of another category.
_WIN_REASON = {
    "stage_rule": "stage rule",
    "vendor": "vendor wording",
    "generic": "wording names the cause",
    "enhanced": "enhanced code is more specific",
    "fallback": "vendor frame",
    "stage": "code at this stage",
    "code": "basic code",
}
_GUESS_REASON = "no wording known; resembles labelled replies"


@dataclass(frozen=True, slots=True)
class Layer:
    """One piece of evidence: its kind, rank, data and where translations live.

    `subjects` are the RFC 3463 subjects the evidence speaks for: an enhanced
    code's own subject, a pattern's (or its category's), nothing for the rest.
    """

    rank: int
    data: Mapping[str, Any]
    matched: str
    tr_paths: tuple[tuple[str, ...], ...]
    kind: str
    subjects: frozenset[int] = frozenset()

    @property
    def category(self) -> str:
        return str(self.data.get("category", ""))


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
    return Layer(0, classes[key], f"class:{key}", (("class", key),), "class")


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
    layers = [Layer(20, base, f"code:{code}", (("code", str(code)),), "code")]
    override = entry.get("stage", {}).get(stage) if stage else None
    if override:
        authoritative = bool(override.get("authoritative"))
        layers.append(Layer(
            70 if authoritative else 40, {**base, **override}, f"code:{code}@{stage}",
            (("code", str(code)), ("code", str(code), "stage", str(stage))),
            "stage_rule" if authoritative else "stage",
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
    subject = int(key.split(".")[1])
    # Success details (2.1.5, 2.6.0) never outrank the basic code, and neither does
    # X.0.0 ("other undefined status"): servers that stamp it on every reply add
    # nothing to what "554" or "451" already says.
    rank = (_SPECIFIC_ENHANCED if specific else 30) if klass in (4, 5) and subject else 10
    tr_key = ("subject", str(subject)) if key.endswith(".x") else ("enhanced", key)
    return Layer(rank, entry, f"enhanced:{enhanced}", (tr_key,), "enhanced",
                 frozenset({subject}))


@lru_cache(maxsize=64)
def category_subjects(category: str) -> frozenset[int]:
    """The enhanced-code subjects replies of `category` carry (`categories.toml`)."""
    entry = loader.categories().get(category, {})
    return frozenset(int(s) for s in entry.get("subjects", ()))


@lru_cache(maxsize=2048)
def _pattern_layer(pat: Pattern) -> Layer:
    data = {
        "title": pat.title, "meaning": pat.meaning, "when": pat.when, "fix": pat.fix,
        "fix_admin": pat.fix_admin, "category": pat.category, "source": pat.source,
        "doc_url": pat.doc_url,
    }
    if pat.severity:
        data["severity"] = pat.severity
    if pat.fallback:
        rank, kind = 45, "fallback"
    elif pat.generic:
        rank, kind = 55, "generic"
    else:
        rank, kind = 60, "vendor"
    subjects = pat.subjects if pat.subjects is not None else category_subjects(pat.category)
    return Layer(rank, data, f"pattern:{pat.id}", (("pattern", pat.id),), kind, subjects)


@lru_cache(maxsize=64)
def _guess_layer(category: str) -> Layer:
    """A category guessed from resemblance, explained by the category's own texts."""
    data = {**loader.categories()[category], "category": category,
            "source": "A best guess: no rule knows this wording, which resembles "
                      "probe's labelled real replies of this category"}
    return Layer(52, data, f"resemblance:{category}", (("category", category),),
                 "resemblance", category_subjects(category))


def _translated(layer: Layer, lang: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in layer.tr_paths:
        entry = i18n.text_entry(lang, path)
        if entry:
            merged.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return merged


def _subjects_of(layer: Layer) -> frozenset[int]:
    """The subjects a winner speaks for: its own, else its category's."""
    return layer.subjects or category_subjects(layer.category)


def _agreeing_when(layers: list[Layer], winner: Layer) -> Layer:
    """The layer `when` comes from when the winner has none.

    Only evidence that agrees with the winner may say when you meet the reply:
    a layer of the same category (strongest first), then the enhanced code's
    subject if it is one of the winner's subjects, then the category itself.
    "Mailbox full" under 452 must not borrow 452's "at MAIL FROM with a SIZE
    parameter" - that sentence is about another cause.
    """
    category = winner.category
    for layer in sorted(layers, key=lambda lay: lay.rank, reverse=True):
        if layer is not winner and layer.category == category and _has_when(layer.data):
            return layer
    subjects = _subjects_of(winner)
    for layer in layers:
        if layer.kind == "enhanced" and layer.subjects & subjects:
            subject = next(iter(layer.subjects))
            entry = loader.enhanced()["subject"].get(str(subject))
            if entry and _has_when(entry) and subject != 0:
                return Layer(5, entry, "subject", (("subject", str(subject)),), "subject",
                             layer.subjects)
    entry = loader.categories().get(category, loader.categories()["other"])
    return Layer(1, entry, f"category:{category}", (("category", category),), "category")


def _has_when(data: Mapping[str, Any]) -> bool:
    return bool(str(data.get("when", "")).strip())


def _texts(layers: list[Layer], winner: Layer, lang: str) -> tuple[dict[str, str], str]:
    """The five text fields, translated as a whole or not at all.

    Half-translated annotations would mix languages under a foreign label, so
    a translation is used only when it covers every field English has; else
    the result is English and says so (`lang = "en"`).
    """
    english = {f: str(winner.data.get(f, "")).strip() for f in _TEXT_FIELDS}
    when_layer = winner
    if not english["when"]:
        when_layer = _agreeing_when(layers, winner)
        english["when"] = str(when_layer.data.get("when", "")).strip()
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


def _stage_capped_severity(
    stage: str | None, klass: int | None, winner: Layer, severity: str
) -> str:
    """The severity after the stage's cap: a refused HELP or VRFY is informational."""
    policy = loader.codes().get("stage", {}).get(stage) if stage else None
    if not policy:
        return severity
    cap = policy.get("severity_cap")
    is_pattern = winner.kind in ("vendor", "generic", "fallback")
    applies = klass in policy.get("cap_classes", (2, 3, 4, 5)) and (
        policy.get("cap_patterns", True) or not is_pattern
    )
    if cap and applies and _SEVERITY_RANK[severity] > _SEVERITY_RANK[cap]:
        return str(cap)
    return severity


def decide(layers: list[Layer]) -> tuple[Layer, Layer | None, str]:
    """(winner, strongest loser of another category, why the winner won).

    The strongest layer wins, except that generic wording gives way to a
    specific enhanced code of a reply failure (4xx/5xx) that names a subject
    the wording does not belong to. Vague codes (X.Y.0, unknown details) and
    catch-all ones (X.7.1, which MTAs attach to any policy rejection) only
    name a class of problem, so wording of any subject refines them.
    """
    ordered = sorted(layers, key=lambda lay: lay.rank, reverse=True)
    winner = ordered[0]
    reason = _WIN_REASON.get(winner.kind, winner.kind)
    if winner.kind == "enhanced" and winner.rank < _SPECIFIC_ENHANCED:
        reason = "enhanced code names the subject"
    if winner.kind == "generic":
        enhanced = next((lay for lay in ordered if lay.kind == "enhanced"), None)
        if enhanced is not None and enhanced.rank == _SPECIFIC_ENHANCED:
            same = bool(enhanced.subjects & winner.subjects)
            if not same and not enhanced.data.get("catch_all"):
                return enhanced, winner, "different subject"
            if enhanced.category != winner.category:
                reason = "same subject" if same else "catch-all code"
    beaten = next((lay for lay in ordered if _competes(lay, winner)), None)
    return winner, beaten, reason


def _competes(layer: Layer, winner: Layer) -> bool:
    """Whether `layer` is evidence worth naming as beaten by `winner`.

    The class digit and success details never compete, evidence that says
    only "other" claims no cause, and the basic code is not beaten by its own
    stage entry; the rest are named when they would have said another category.
    """
    if layer is winner or layer.kind == "class" or layer.rank <= 10:
        return False
    if layer.category == "other":
        return False
    if layer.kind == "code" and winner.kind in ("stage", "stage_rule"):
        return False
    return layer.category != winner.category


def _context_layer(
    winner: Layer, stage: str | None, klass: int | None, rcpt_domain_is_target: bool | None
) -> Layer | None:
    """The first rule of `context.toml` that applies to this winner, as a layer.

    A rule applies at its stages and reply classes, to a winner of one of its
    categories or evidence kinds, and - if it says so - only when the caller
    knows the recipient's domain is not the probed one.
    """
    for name, rule in loader.context().items():
        if rule.get("needs_foreign_rcpt") and rcpt_domain_is_target is not False:
            continue
        if stage not in rule["stages"] or klass not in rule["classes"]:
            continue
        if winner.category in rule["categories"] or winner.kind in rule.get("evidence", ()):
            return Layer(80, rule, f"context:{name}", (("context", name),), "context")
    return None


def _matched(winner: Layer, loser: Layer | None, reason: str) -> str:
    if loser is None:
        return winner.matched
    return f"{winner.matched} over {loser.matched} ({reason})"


def _source(winner: Layer, layers: list[Layer]) -> str:
    """The winner's source, completed with the standard that defines the code.

    A vendor's wording explains the case; the enhanced or basic code's
    standard still defines the code - but only a standard that agrees with the
    winner is named, so a source never points at an unrelated definition.
    """
    source = str(winner.data.get("source", ""))
    if winner.kind not in ("vendor", "generic", "fallback"):
        return source
    subjects = _subjects_of(winner)
    standards = sorted((lay for lay in layers if lay.kind in ("stage", "code", "class")),
                       key=lambda lay: lay.rank, reverse=True)
    standards[:0] = [lay for lay in layers if lay.kind == "enhanced"]  # the most precise standard
    for layer in standards:
        agrees = layer.category == winner.category or (
            layer.kind == "enhanced" and bool(layer.subjects & subjects))
        if agrees:
            extra = str(layer.data.get("source", ""))
            if extra and extra not in source:
                return f"{source}; {extra}" if source else extra
            break
    return source


@lru_cache(maxsize=8192)
def classify(
    code: int | None, text: str, stage: str | None, lang: str, enhanced: str | None = None,
    *, rcpt_domain_is_target: bool | None = None, klass_hint: int | None = None,
) -> Annotation:
    """The annotation for a reply; `enhanced` may be given when there is no text.

    A pure function of its arguments, cached as a whole: a batch meets the
    same greetings, EHLO and QUIT replies of a provider's MX hosts thousands
    of times. Only the pattern match depends on the text itself; everything after it is
    a pure function of the evidence found, so it is cached: a probe or a log
    repeats the same few (code, stage, enhanced code, pattern) combinations.
    `klass_hint` (4 or 5) stands in for the class when there is no code at all,
    as in a bounce that only says "mailbox is full" in prose.
    """
    enh = enhanced or parse_enhanced(text)
    klass = reply_class(code, enh)
    if klass is None:
        klass = klass_hint
    pat = None
    words = without_repeats(text)
    if words and klass is not None:
        pat = pattern_set().match(normalise_text(words), code, klass, stage)
    ranked = None
    if pat is None or pat.generic or pat.fallback:  # wording that may still lose to a code
        ranked = resemblance.posteriors(code, klass, enh, words, stage)
    return _annotate(code, stage, lang, enh, klass, pat, ranked, rcpt_domain_is_target)


def _guess_kind(winner: Layer) -> str:
    """The kind of evidence a guess would replace, as `resemblance.BARS` keys it.

    A vague enhanced code (X.Y.0, a detail the registry lacks) or a catch-all
    one (X.7.1) is weaker evidence than a specific code, so a guess needs less
    to replace it.
    """
    if winner.kind == "enhanced" and (
            winner.rank < _SPECIFIC_ENHANCED or winner.data.get("catch_all")):
        return "catch-all enhanced"
    return winner.kind


@lru_cache(maxsize=4096)
def _annotate(
    code: int | None, stage: str | None, lang: str, enh: str | None, klass: int | None,
    pat: Pattern | None, ranked: resemblance.Posteriors | None,
    rcpt_domain_is_target: bool | None,
) -> Annotation:
    """Weigh the evidence and build the annotation (see the module docstring).

    `ranked` is how much the reply resembles labelled replies of each category.
    """
    layers = [_class_layer(klass)]
    if code is not None:
        layers.extend(code_layers(code, stage))
    enh_layer = _enhanced_layer(enh, klass) if enh else None
    if enh_layer is not None:
        layers.append(enh_layer)
    if pat is not None:
        layers.append(_pattern_layer(pat))
    winner, loser, reason = decide(layers)
    guess = resemblance.better_guess(ranked, winner.category, _guess_kind(winner))
    if guess:
        guessed = _guess_layer(guess)
        winner, loser, reason = guessed, winner, _GUESS_REASON
        layers.append(guessed)
    context = _context_layer(winner, stage, klass, rcpt_domain_is_target)
    if context is not None:
        winner, loser, reason = context, winner, str(context.data["reason"])
        layers.append(context)

    category = winner.category if winner.category in CATEGORIES else "other"
    severity = str(winner.data.get("severity") or _default_severity(klass))
    if severity not in SEVERITIES:
        severity = _default_severity(klass)
    severity = _stage_capped_severity(stage, klass, winner, severity)

    texts, used_lang = _texts(layers, winner, lang)
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
        source=_source(winner, layers),
        matched=_matched(winner, loser, reason),
        code=code,
        enhanced=enh,
        enhanced_title=enhanced_title,
        fix_admin=texts["fix_admin"],
        doc_url=str(winner.data.get("doc_url", "")),
        lang=used_lang,
        enhanced_registered=registered,
    )


def explain_reply(
    code: int, text: str, stage: str | None = None, lang: str = "en",
    *, rcpt_domain_is_target: bool | None = None,
) -> Annotation:
    """Explain one reply. `text` is its lines joined with "\\n", without the code prefix.

    `rcpt_domain_is_target` is what a live probe knows about a RCPT TO: False
    when the recipient's domain is not the probed one (a relay test), so a
    vague refusal of it reads as relaying denied; None when unknown.

    Never raises for odd input: an unknown code falls back to its first digit,
    an impossible one (e.g. 199 or 600) to an "invalid reply" explanation.
    """
    if not isinstance(text, str):
        text = str(text)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 0
    return classify(code, text, stage or None, lang,
                    rcpt_domain_is_target=rcpt_domain_is_target)


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
            (("error", matched_kind), ("error", matched_kind, "stage", stage)), "error",
        )
    else:
        layer = Layer(20, base, f"error:{matched_kind}", (("error", matched_kind),), "error")
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
