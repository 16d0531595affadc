"""DANE for SMTP: do TLSA records match the chain a server presented? (RFC 6698, 7671, 7672)

Pure functions over DER bytes, so every usage, selector and matching type is
tested without a network. Only what an SMTP sender uses counts (RFC 7672
§3.1): DANE-EE (usage 3) matches the server's own certificate or key and
ignores names and dates; DANE-TA (usage 2) matches a trust anchor in the
chain, which must then link to the leaf by signatures, and the leaf must
name the MX host and be in date. PKIX usages 0 and 1, unknown selectors and
unknown matching types are unusable for SMTP.

The selector-1 data is the SubjectPublicKeyInfo exactly as encoded in the
certificate (read from the DER, not re-encoded from a parsed key), so keys
of any algorithm match as a sender's OpenSSL would match them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from .tls import hostname_matches

USAGE_NAMES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
SMTP_USAGES = (2, 3)  # RFC 7672 §3.1.3: senders treat 0 and 1 as unusable
SELECTORS = (0, 1)  # full certificate, SubjectPublicKeyInfo
MATCHING_TYPES = (0, 1, 2)  # exact, SHA-256, SHA-512


@dataclass(frozen=True)
class Tlsa:
    """One TLSA record: certificate usage, selector, matching type, association data."""

    usage: int
    selector: int
    mtype: int
    data: bytes

    @property
    def usable(self) -> bool:
        return (self.usage in SMTP_USAGES and self.selector in SELECTORS
                and self.mtype in MATCHING_TYPES)

    def text(self, limit: int = 64) -> str:
        """Presentation form (`3 1 1 ab12...`), the data cut at `limit` hex digits."""
        shown = self.data.hex()
        if len(shown) > limit:
            shown = shown[:limit] + "..."
        return f"{self.usage} {self.selector} {self.mtype} {shown}"


@dataclass(frozen=True)
class Match:
    """The verdict for one chain: the record that matched (and on which certificate),
    or, when none did, the DANE-TA records whose anchor matched but whose chain
    failed, each with the catalogue code of why."""

    record: Tlsa | None
    depth: int | None = None  # 0: the leaf; 1...: issuers the server sent
    failures: tuple[tuple[str, Tlsa], ...] = ()
    unparsable: bool = False  # the presented certificates could not be read


class DerError(ValueError):
    """The certificate's DER is not what X.509 says it is."""


def _item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of item) of the DER item at `pos`."""
    if pos + 2 > len(data):
        raise DerError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise DerError("DER item overruns its container")
    return tag, start, end


def spki_der(cert: x509.Certificate) -> bytes:
    """The SubjectPublicKeyInfo as encoded in the certificate (RFC 5280 §4.1)."""
    tbs = cert.tbs_certificate_bytes
    tag, pos, end = _item(tbs, 0)
    if tag != 0x30:
        raise DerError("tbsCertificate is not a SEQUENCE")
    fields: list[tuple[int, int, int]] = []
    while pos < end and len(fields) < 7:
        tag, _, after = _item(tbs, pos)
        fields.append((tag, pos, after))
        pos = after
    if fields and fields[0][0] == 0xA0:  # [0] version is present in v3 certificates
        fields = fields[1:]
    # serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(fields) < 6 or fields[5][0] != 0x30:
        raise DerError("no subjectPublicKeyInfo where X.509 puts it")
    _, start, after = fields[5]
    return tbs[start:after]


def association(der: bytes, cert: x509.Certificate, selector: int, mtype: int) -> bytes:
    """What a TLSA record with `selector` and `mtype` must hold to match this certificate."""
    selected = der if selector == 0 else spki_der(cert)
    if mtype == 1:
        return hashlib.sha256(selected).digest()
    if mtype == 2:
        return hashlib.sha512(selected).digest()
    return selected


def suggestions(chain: Sequence[bytes]) -> list[Tlsa]:
    """The records RFC 7671 §8 recommends for this chain: `3 1 1` for the leaf's key,
    and `2 1 1` for the last issuer the server sends (if it sends one)."""
    certs = _load(chain)
    if not certs:
        return []
    found = [Tlsa(3, 1, 1, association(chain[0], certs[0], 1, 1))]
    if len(certs) > 1:
        found.append(Tlsa(2, 1, 1, association(chain[-1], certs[-1], 1, 1)))
    return found


def _load(chain: Sequence[bytes]) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError:
        return []


def _links(certs: list[x509.Certificate], depth: int) -> bool:
    """Each certificate from the leaf up to `depth` is signed by the next one."""
    for child, parent in itertools.pairwise(certs[:depth + 1]):
        try:
            child.verify_directly_issued_by(parent)
        except Exception:  # a bad signature, an unsupported key: the link is broken
            return False
    return True


def match(records: Sequence[Tlsa], chain: Sequence[bytes], host: str,
          now: dt.datetime | None = None) -> Match:
    """Match the usable `records` against `chain` (DER, leaf first) for MX `host`."""
    certs = _load(chain)
    if not certs:
        return Match(None, unparsable=True)
    now = now or dt.datetime.now(dt.UTC)
    failures: list[tuple[str, Tlsa]] = []
    for record in records:
        if not record.usable:
            continue
        depths = [0] if record.usage == 3 else list(range(1, len(certs)))
        for depth in depths:
            try:
                data = association(chain[depth], certs[depth], record.selector, record.mtype)
            except DerError:
                continue
            if data != record.data:
                continue
            if record.usage == 3:
                return Match(record, depth)
            leaf = certs[0]
            if not _links(certs, depth):
                failures.append(("dane_ta_unlinked", record))
            elif not hostname_matches(leaf, host):
                failures.append(("dane_ta_name_mismatch", record))
            elif not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
                failures.append(("dane_ta_leaf_dates", record))
            else:
                return Match(record, depth)
    return Match(None, failures=tuple(failures))
