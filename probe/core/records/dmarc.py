"""DMARC records (RFC 7489 §6.3-6.4), with np= from RFC 9091 and DMARCbis' psd= and t=.

A record is one only when its first tag is exactly `v=DMARC1` (§6.3: the
value must match precisely); receivers discard anything else. `p=` is
required and must follow `v=`. Tag names are matched case-insensitively
and keyword values too (`p=Reject`), as deployed receivers do. A value a
receiver cannot use is a `fail`: the policy the admin wrote is not the one
applied. `pct=`, `rf=` and `ri=` are checked as RFC 7489 defines them even
though DMARCbis drops them (receivers still read them).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Problem
from . import taglist
from .uri import mailto_domain

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = frozenset({"v", "p", "sp", "np", "pct", "rua", "ruf", "adkim", "aspf", "fo",
                        "rf", "ri", "psd", "t"})
_SIZE_UNITS = frozenset("kmgtKMGT")
MAX_URIS = 10
"""Report URIs looked at per tag; more than this is itself odd."""


@dataclass(frozen=True)
class ReportUri:
    text: str
    domain: str | None  # where a mailto: sends; None when not a usable mailto: URI


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str]  # lower-case name -> value, first occurrence
    problems: tuple[Problem, ...]
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()

    def policy(self, tag: str = "p") -> str | None:
        """A valid p=/sp=/np= value in lower case, or None."""
        value = self.tags.get(tag, "").lower()
        return value if value in POLICIES else None

    @property
    def pct(self) -> int:
        value = self.tags.get("pct", "100")
        return int(value) if _uint(value, 100) else 100


def is_dmarc(text: str) -> bool:
    """Whether a TXT string is a DMARC record: its first tag is exactly v=DMARC1."""
    tags, _ = taglist.split(text.partition(";")[0])
    return len(tags) == 1 and tags[0].name.lower() == "v" and tags[0].value == "DMARC1"


def looks_like_dmarc(text: str) -> bool:
    """A TXT meant as DMARC that receivers discard ("v=dmarc1", '"v=DMARC1; p=none"')."""
    core = text.strip().strip("\"'").strip().lower().replace(" ", "")
    return core.startswith("v=dmarc") and not is_dmarc(text)


def parse(text: str, name: str) -> DmarcRecord:
    """Parse a record known to be DMARC (`is_dmarc`); `name` is where it was found."""
    tags, malformed = taglist.split(text)
    problems = [Problem("dmarc_bad_syntax", {"name": name, "text": piece})
                for piece in malformed[:5]]
    values: dict[str, str] = {}
    for index, tag in enumerate(tags):
        key = tag.name.lower()
        if key in values:
            problems.append(Problem("dmarc_duplicate_tag", {"name": name, "tag": key}))
            continue
        values[key] = tag.value
        if key not in KNOWN_TAGS:
            problems.append(Problem("dmarc_unknown_tag", {"name": name, "tag": tag.text}))
        elif key in ("rua", "ruf") and tag.value:
            problems.extend(Problem("dmarc_bad_uri", {"name": name, "tag": key,
                                                      "uri": uri.text})
                            for uri in _uris(tag.value) if uri.domain is None)
        elif not _valid(key, tag.value):
            problems.append(Problem("dmarc_bad_tag", {"name": name, "tag": key,
                                                      "value": tag.value}))
        if key == "p" and index != 1:
            problems.append(Problem("dmarc_p_not_second", {"name": name}))
    if values.get("p", "").lower() not in POLICIES:
        problems.append(Problem("dmarc_no_policy", {"name": name}))
    return DmarcRecord(text, values, tuple(problems), _uris(values.get("rua")),
                       _uris(values.get("ruf")))


def _uris(value: str | None) -> tuple[ReportUri, ...]:
    if not value:
        return ()
    found = []
    for piece in value.split(",")[:MAX_URIS]:
        uri = _without_size(piece.strip(taglist.BLANKS))
        found.append(ReportUri(piece.strip(taglist.BLANKS),
                               mailto_domain(uri) if uri is not None else None))
    return tuple(found)


def _without_size(uri: str) -> str | None:
    """Drop a trailing "!10m" size limit; None when the limit is malformed."""
    head, bang, size = uri.rpartition("!")
    if not bang:
        return uri
    digits = size[:-1] if size[-1:] in _SIZE_UNITS else size
    return head if digits and all("0" <= ch <= "9" for ch in digits) else None


def _uint(value: str, limit: int) -> bool:
    return 0 < len(value) <= 10 and all("0" <= ch <= "9" for ch in value) and \
        int(value) <= limit


def _colon_list(value: str, allowed: frozenset[str]) -> bool:
    items = [item.strip(taglist.BLANKS).lower() for item in value.split(":")]
    return all(item in allowed for item in items)


def _valid(tag: str, value: str) -> bool:
    """Whether a known tag's value is one receivers can use."""
    lowered = value.lower()
    if tag == "v":
        return value == "DMARC1"
    if tag in ("p", "sp", "np"):
        return lowered in POLICIES
    if tag == "pct":
        return _uint(value, 100)
    if tag == "ri":
        return _uint(value, 2**32 - 1)
    if tag in ("adkim", "aspf"):
        return lowered in ("r", "s")
    if tag == "fo":
        return _colon_list(value, frozenset({"0", "1", "d", "s"}))
    if tag == "rf":
        return _colon_list(value, frozenset({"afrf"}))
    if tag == "psd":
        return lowered in ("y", "n", "u")
    if tag == "t":
        return lowered in ("y", "n")
    return bool(value)  # rua, ruf: each URI is judged on its own
