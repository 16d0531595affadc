"""What the STARTTLS handshake revealed about a server's certificate.

SMTP between MTAs is opportunistic: senders encrypt without verifying, so a
probe that refused bad certificates would report a failure no real sender
sees. We therefore handshake without verification (the session goes on) and
judge the certificate afterwards with `cryptography`'s RFC 5280 verifier
against the system trust store: expiry, self-signed, name match and chain
problems become the `tls` check's verdict, never fatal errors.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import warnings
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    DNSName,
    ExtensionPolicy,
    IPAddress,
    PolicyBuilder,
    Store,
    VerificationError,
)

from .events import CertificateInfo, TlsInfo

DEPRECATED_VERSIONS = {"SSLv3", "TLSv1", "TLSv1.1"}
EXPIRY_WARNING_DAYS = 14  # a certificate closer than this to its end is reported


@lru_cache(maxsize=1)
def client_context() -> ssl.SSLContext:
    """An opportunistic client context, like an MTA's: no verification.

    No CA store is loaded here (verification happens afterwards, see
    `inspect`), which keeps the STARTTLS step's timing honest. Old protocol
    versions are allowed so that a server stuck on TLS 1.0 is reported as such
    instead of as a handshake failure.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated on purpose: we want to see old servers
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return context


@lru_cache(maxsize=8)
def _trust_store(extra_ca_file: str | None) -> Store | None:
    certs: list[x509.Certificate] = []
    paths = [ssl.get_default_verify_paths().cafile, extra_ca_file]
    for path in paths:
        if not path:
            continue
        try:
            with open(path, "rb") as handle:
                certs.extend(x509.load_pem_x509_certificates(handle.read()))
        except (OSError, ValueError):
            continue
    return Store(certs) if certs else None


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return repr(name)


def _san_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    names: list[str] = list(ext.value.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def _matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching: exact, or a wildcard standing for one leftmost label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    names = _san_names(cert)
    if not names:  # legacy certificates without SAN: fall back to the CN
        names = tuple(
            str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        )
    return any(_matches(name, host) for name in names)


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # any signature or key-type failure means "not self-signed"
        return False
    return True


# Chain, signatures, validity and the subjectAltName name are checked as
# OpenSSL would for an MTA; the CA/Browser-forum rules on which leaf extensions
# may be critical are not, because private and older SMTP certificates break
# them without any sender caring.
_LENIENT_EE = ExtensionPolicy.permit_all().require_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)


def _verify(leaf: x509.Certificate, chain: list[x509.Certificate], host: str,
            now: dt.datetime, extra_ca_file: str | None) -> str | None:
    store = _trust_store(extra_ca_file)
    if store is None:
        return "no trust store available to verify against"
    try:
        subject: DNSName | IPAddress = IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = DNSName(host)
    try:
        verifier = (PolicyBuilder().store(store).time(now)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                        ee_policy=_LENIENT_EE)
                    .build_server_verifier(subject))
        verifier.verify(leaf, chain)
    except VerificationError as exc:
        return str(exc).split(" (encountered processing")[0]
    except ValueError as exc:
        return f"certificate could not be checked: {exc}"
    return None


def _presented_chain(ssl_object: ssl.SSLObject, leaf: bytes) -> tuple[bytes, ...]:
    """DER of every certificate the server sent, leaf first, if the runtime exposes them.

    Python 3.13 has SSLObject.get_unverified_chain(); 3.11/3.12 only have the
    private `_sslobj` method of the same name. Without it we have the leaf
    alone, and verification reports a missing intermediate even when the
    server sent one.
    """
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is None:
        return (leaf,)
    try:
        chain = tuple(
            item if isinstance(item, bytes)
            else item.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
            for item in (getter() or [])
        )
    except (ValueError, AttributeError, TypeError):
        return (leaf,)
    return chain if chain and chain[0] == leaf else (leaf, *chain[1:])


def _load_chain(chain: tuple[bytes, ...]) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError:
        return []


def inspect(ssl_object: ssl.SSLObject, host: str, extra_ca_file: str | None) -> TlsInfo:
    """Describe the negotiated session and judge the server's certificate for `host`."""
    version = ssl_object.version() or "unknown"
    cipher = (ssl_object.cipher() or ("unknown",))[0]
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return TlsInfo(version, cipher, None)
    with warnings.catch_warnings():  # odd serials etc. are the server's problem, not stderr's
        warnings.simplefilter("ignore")
        return _inspect(ssl_object, host, extra_ca_file, version, cipher, der)


def _inspect(ssl_object: ssl.SSLObject, host: str, extra_ca_file: str | None, version: str,
             cipher: str, der: bytes) -> TlsInfo:
    leaf = x509.load_der_x509_certificate(der)
    chain = _presented_chain(ssl_object, der)
    now = dt.datetime.now(dt.UTC)
    not_after = leaf.not_valid_after_utc
    not_before = leaf.not_valid_before_utc
    certificate = CertificateInfo(
        subject=_name(leaf.subject),
        issuer=_name(leaf.issuer),
        not_after=not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        not_before=not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
        self_signed=_is_self_signed(leaf),
        expired=now > not_after,
        hostname_match=hostname_matches(leaf, host),
        verify_error=_verify(leaf, _load_chain(chain)[1:], host, now, extra_ca_file),
        san=_san_names(leaf),
        not_yet_valid=now < not_before,
        days_left=(not_after - now).days,
    )
    return TlsInfo(version, cipher, certificate, chain)


# What makes a sender that verifies (MTA-STS, RFC 8461 §4.2) refuse the certificate;
# an expiry date close by or an old protocol version only weaken it.
REFUSED_BY_VERIFYING_SENDERS = frozenset({
    "tls_no_certificate", "tls_cert_expired", "tls_cert_not_yet_valid",
    "tls_cert_name_mismatch", "tls_cert_self_signed", "tls_cert_untrusted",
})


def problems_for(tls: TlsInfo, host: str) -> list[tuple[str, dict[str, Any]]]:
    """What is wrong with one TLS session, as (catalogue code, parameters).

    The one judge of a certificate: the `tls` check reports these and the
    `mta_sts` check asks which of them a verifying sender would refuse. Each
    problem has its own code, so an expired certificate and a deprecated
    protocol are told apart. A verification error is reported only when no
    more specific reason (expiry, self-signed, name) already explains it.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    old_version = ([("tls_deprecated_version", {"version": tls.version})]
                   if tls.version in DEPRECATED_VERSIONS else [])
    cert = tls.certificate
    if cert is None:
        return [("tls_no_certificate", {}), *old_version]
    if cert.expired:
        found.append(("tls_cert_expired", {"not_after": cert.not_after}))
    elif cert.not_yet_valid:
        found.append(("tls_cert_not_yet_valid", {"not_before": cert.not_before}))
    elif cert.days_left is not None and cert.days_left < EXPIRY_WARNING_DAYS:
        found.append(("tls_cert_expiring", {"not_after": cert.not_after,
                                            "days": cert.days_left}))
    if not cert.hostname_match:
        found.append(("tls_cert_name_mismatch",
                      {"host": host, "names": ", ".join(cert.san) or cert.subject}))
    if cert.self_signed:
        found.append(("tls_cert_self_signed", {}))
    explained = cert.expired or cert.not_yet_valid or cert.self_signed or not cert.hostname_match
    if cert.verify_error and not explained:
        found.append(("tls_cert_untrusted", {"error": cert.verify_error}))
    return found + old_version  # last: a certificate problem is the one to fix first
