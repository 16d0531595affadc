"""SPF records (RFC 7208), parsed strictly term by term.

The version section, every mechanism and modifier, dual CIDR lengths and
macro strings (§7.1) are checked against the ABNF of RFC 7208 §12. Macros
are syntax-checked only, never expanded: a target that holds one depends on
the sender and cannot be followed without a message, so the check counts it
as one DNS lookup and stops there.

A syntax error anywhere makes receivers return "permerror" for the whole
record (§4.6), so every one is a `fail` problem; other problems are what an
experienced admin would point at (the deprecated `ptr`, terms after `all`).
Names are compared case-insensitively (ABNF strings are), so `V=SPF1` and
`Include:` are valid.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..events import Problem
from .names import dns_name_ok, is_ascii_alnum

VERSION = "v=spf1"
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
"""Terms that make a receiver query DNS: at most 10 per evaluation (§4.6.4)."""
QUALIFIERS = frozenset("+-~?")
MAX_SYNTAX_PROBLEMS = 5
"""Syntax problems reported per record; the rest are only counted (a 10k-term record)."""

_MACRO_LETTERS = frozenset("slodiphv")  # c, r and t belong to explanation strings only
_DELIMITERS = frozenset(".-+,/_=")


@dataclass(frozen=True)
class Term:
    """One valid mechanism or modifier, as written and as understood."""

    text: str
    name: str  # lower case: "include", "ip4", "redirect", "foo" (an unknown modifier)
    qualifier: str  # "+", "-", "~" or "?" for mechanisms ("+" when omitted); "" for modifiers
    target: str | None  # domain-spec, network or modifier value; None when absent
    modifier: bool = False
    macro: bool = False  # the target holds a macro: it cannot be resolved statically
    prefix: int | None = None  # ip4/ip6 CIDR length, when given

    @property
    def queries_dns(self) -> bool:
        return self.name in LOOKUP_TERMS


@dataclass(frozen=True)
class SpfRecord:
    """A parsed record: its valid terms in order and what is wrong with it."""

    text: str
    terms: tuple[Term, ...]
    problems: tuple[Problem, ...]
    syntax_errors: int

    @property
    def all_term(self) -> Term | None:
        return next((t for t in self.terms if t.name == "all" and not t.modifier), None)

    @property
    def redirect(self) -> Term | None:
        """The redirect= modifier when a receiver would follow it (only without `all`)."""
        if self.all_term is not None:
            return None
        return next((t for t in self.terms if t.modifier and t.name == "redirect"), None)

    @property
    def evaluated(self) -> tuple[Term, ...]:
        """The mechanisms a receiver may evaluate: everything up to the first `all`."""
        found: list[Term] = []
        for term in self.terms:
            if term.modifier:
                continue
            found.append(term)
            if term.name == "all":
                break
        return tuple(found)

    @property
    def lookups(self) -> int:
        """DNS-querying terms of this record alone (its includes count separately)."""
        return sum(1 for t in self.evaluated if t.queries_dns) + (1 if self.redirect else 0)


def is_spf(text: str) -> bool:
    """Whether a TXT string is an SPF record: "v=spf1" then a space or the end (§4.5)."""
    return text[:6].lower() == VERSION and (len(text) == 6 or text[6] == " ")


def looks_like_spf(text: str) -> bool:
    """A TXT meant as SPF that receivers will not recognise (" v=spf1", '"v=spf1 -all"',
    "v=spf1\\t-all")."""
    core = text.strip().strip("\"'").strip()
    return core[:6].lower() == VERSION and not is_spf(text)


def parse(text: str, domain: str) -> SpfRecord:
    """Parse a record already known to be SPF (`is_spf`); `domain` names it in problems."""
    problems: list[Problem] = []
    terms: list[Term] = []
    errors = 0
    for raw in text.split(" ")[1:]:
        if not raw:
            continue  # terms are separated by one or more spaces
        term = _term(raw)
        if isinstance(term, str):
            errors += 1
            if errors <= MAX_SYNTAX_PROBLEMS:
                problems.append(Problem(term, {"domain": domain, "term": raw}))
            continue
        terms.append(term)
    record = SpfRecord(text, tuple(terms), (), errors)
    return SpfRecord(text, record.terms, (*problems, *_advice(record, domain)), errors)


def _advice(record: SpfRecord, domain: str) -> list[Problem]:
    """Problems of a syntactically valid set of terms: repeats, dead terms, risky ones."""
    problems: list[Problem] = []
    modifiers = [t for t in record.terms if t.modifier]
    for name in ("redirect", "exp"):
        if sum(1 for t in modifiers if t.name == name) > 1:
            problems.append(Problem("spf_duplicate_modifier", {"domain": domain,
                                                               "modifier": name}))
    for term in modifiers:
        if term.name not in ("redirect", "exp"):
            problems.append(Problem("spf_unknown_modifier", {"domain": domain,
                                                             "term": term.text}))
    for term in record.evaluated:
        if term.name == "ptr":
            problems.append(Problem("spf_ptr", {"domain": domain, "term": term.text}))
        if term.name in ("ip4", "ip6") and term.prefix == 0 and term.qualifier == "+":
            problems.append(Problem("spf_allows_all_ips", {"domain": domain,
                                                           "term": term.text}))
    mechanisms = [t for t in record.terms if not t.modifier]
    after = mechanisms[len(record.evaluated):]
    if after:
        problems.append(Problem("spf_after_all", {
            "domain": domain, "terms": " ".join(t.text for t in after[:5])}))
    if record.all_term is not None and any(t.name == "redirect" for t in modifiers):
        problems.append(Problem("spf_redirect_ignored", {"domain": domain}))
    return problems


def _is_modifier_name(name: str) -> bool:
    """name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )"""
    return bool(name) and name[0].isascii() and name[0].isalpha() and all(
        is_ascii_alnum(ch) or ch in "-_." for ch in name)


def _term(raw: str) -> Term | str:
    """One term, or the catalogue code of what is wrong with it."""
    if any(not ("\x21" <= ch <= "\x7e") for ch in raw):
        return "spf_bad_character"
    name, equals, value = raw.partition("=")
    if equals and _is_modifier_name(name):
        lowered = name.lower()
        if lowered in ("redirect", "exp"):
            problem = _domain_spec_problem(value)
        else:
            problem = "spf_bad_macro" if _macro_problem(value) else None
        if problem:
            return problem
        return Term(raw, lowered, "", value, modifier=True, macro="%" in value)
    qualifier = raw[0] if raw[0] in QUALIFIERS else ""
    body = raw[len(qualifier):]
    cut = min((i for i in (body.find(":"), body.find("/")) if i >= 0), default=len(body))
    mechanism, argument = body[:cut].lower(), body[cut:]
    if mechanism not in MECHANISMS:
        return "spf_unknown_mechanism"
    parsed = _argument(mechanism, argument)
    if isinstance(parsed, str):
        return parsed
    target, prefix = parsed
    return Term(raw, mechanism, qualifier or "+", target,
                macro=target is not None and "%" in target, prefix=prefix)


def _argument(mechanism: str, argument: str) -> tuple[str | None, int | None] | str:
    """(target, CIDR length) of one mechanism, or a problem code."""
    if mechanism == "all":
        return (None, None) if not argument else "spf_bad_argument"
    if mechanism in ("ip4", "ip6"):
        return _network(mechanism, argument)
    if mechanism in ("include", "exists") and not argument.startswith(":"):
        return "spf_bad_argument"
    spec = argument
    if mechanism in ("a", "mx"):
        spec, cidr_problem = _strip_dual_cidr(argument)
        if cidr_problem:
            return cidr_problem
    if not spec:
        return (None, None)  # a, mx, ptr: the current domain
    if not spec.startswith(":"):
        return "spf_bad_argument"
    problem = _domain_spec_problem(spec[1:])
    return problem if problem else (spec[1:], None)


def _cidr(text: str, limit: int) -> int | None:
    """A CIDR length: decimal, no leading zero, 0..limit."""
    if not text or len(text) > 3 or not all("0" <= ch <= "9" for ch in text):
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    value = int(text)
    return value if value <= limit else None


def _strip_dual_cidr(argument: str) -> tuple[str, str | None]:
    """Split `a:example.com/24//64` into the domain part and check the CIDR lengths."""
    spec, marker, ip6 = argument.rpartition("//")
    if marker:
        if _cidr(ip6, 128) is None:
            return argument, "spf_bad_cidr"
    else:
        spec = argument
    head, slash, ip4 = spec.rpartition("/")
    if slash and all("0" <= ch <= "9" for ch in ip4):
        if _cidr(ip4, 32) is None:
            return argument, "spf_bad_cidr"
        spec = head
    return spec, None


def _network(mechanism: str, argument: str) -> tuple[str, int | None] | str:
    if not argument.startswith(":"):
        return "spf_bad_argument"
    address, slash, length = argument[1:].partition("/")
    prefix = None
    if slash:
        prefix = _cidr(length, 32 if mechanism == "ip4" else 128)
        if prefix is None:
            return "spf_bad_cidr"
    try:
        if mechanism == "ip4":
            ipaddress.IPv4Address(address)  # dotted quad, no leading zeros
        elif "%" in address or "." in address.rsplit(":", 1)[0]:
            return "spf_bad_ip"  # no zone index; an embedded IPv4 only at the end
        else:
            ipaddress.IPv6Address(address)
    except ValueError:
        return "spf_bad_ip"
    return argument[1:], prefix


def _domain_spec_problem(spec: str) -> str | None:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1), and a usable DNS name."""
    problem = _macro_problem(spec)
    if problem:
        return problem
    if not spec:
        return "spf_bad_domain_spec"
    if _ends_with_macro(spec):
        return None
    body = spec[:-1] if spec.endswith(".") else spec
    _, dot, top = body.rpartition(".")
    if not dot or not _toplabel_ok(top):
        return "spf_bad_domain_spec"
    if "%" not in spec and not dns_name_ok(spec):
        return "spf_bad_domain_spec"
    return None


def _toplabel_ok(label: str) -> bool:
    """toplabel: alphanumerics and inner hyphens, not all digits (§7.1)."""
    if not label or not all(is_ascii_alnum(ch) or ch == "-" for ch in label):
        return False
    if not (is_ascii_alnum(label[0]) and is_ascii_alnum(label[-1])):
        return False
    return "-" in label or any(ch.isalpha() for ch in label)


def _ends_with_macro(spec: str) -> bool:
    if spec.endswith("}"):
        start = spec.rfind("%{")
        return start >= 0 and "}" not in spec[start:-1] \
            and not _escaped_percent_before(spec, start)
    return spec[-2:] in ("%%", "%_", "%-") and not _escaped_percent_before(spec, len(spec) - 2)


def _escaped_percent_before(spec: str, index: int) -> bool:
    """Whether the '%' at `index` is the second half of a "%%" pair."""
    run = 0
    while index - 1 - run >= 0 and spec[index - 1 - run] == "%":
        run += 1
    return run % 2 == 1


def _macro_problem(text: str) -> str | None:
    """Check a macro-string in one pass: "%{" letter digits ["r"] delimiters "}", "%%",
    "%_", "%-", and otherwise visible ASCII."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            if not ("\x21" <= ch <= "\x7e"):
                return "spf_bad_character"
            i += 1
            continue
        following = text[i + 1:i + 2]
        if following in ("%", "_", "-"):
            i += 2
            continue
        if following != "{":
            return "spf_bad_macro"
        end = text.find("}", i + 2)
        if end < 0 or not _macro_body_ok(text[i + 2:end]):
            return "spf_bad_macro"
        i = end + 1
    return None


def _macro_body_ok(body: str) -> bool:
    if not body or body[0].lower() not in _MACRO_LETTERS:
        return False
    j = 1
    while j < len(body) and "0" <= body[j] <= "9":
        j += 1
    if j > 1 and body[1:j].strip("0") == "":
        return False  # a digit transformer must be nonzero (§7.3)
    if j < len(body) and body[j] in "rR":
        j += 1
    return all(ch in _DELIMITERS for ch in body[j:])
