"""DANE: TLSA records matched against the chain a real STARTTLS session presented.

The matcher is tested directly over every usage, selector and matching type,
with association data computed here independently (the public key re-encoded
by `cryptography`, hashed with hashlib), so a wrong DER walk or a wrong hash
in the code cannot agree with its own test. The check runs end to end: the
loopback DNS server serves the MX, its address and the TLSA records (with the
AD bit when the test says the zone is validated), and a scripted SMTP server
presents trustme certificates over STARTTLS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import ssl

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from probe.core import dane
from tests import dnsserver
from tests.smtpserver import Scripted, dialog

dns_server = dnsserver.dns_server
MX = "mx.dane.test"
HELO = "probe.test"


def chain_of(leaf: trustme.LeafCert) -> list[bytes]:
    """DER of the chain as the server sends it: leaf, then intermediates."""
    return [x509.load_pem_x509_certificate(pem.bytes()).public_bytes(serialization.Encoding.DER)
            for pem in leaf.cert_chain_pems]


def expected(der: bytes, selector: int, mtype: int) -> bytes:
    """Association data, computed without the code under test."""
    if selector == 1:
        key = x509.load_der_x509_certificate(der).public_key()
        der = key.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return {0: der, 1: hashlib.sha256(der).digest(), 2: hashlib.sha512(der).digest()}[mtype]


@pytest.fixture(scope="module")
def pki() -> dict[str, object]:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    now = dt.datetime.now(dt.UTC)
    return {
        "root": root,
        "intermediate": intermediate,
        "leaf": intermediate.issue_cert(MX),
        "other_name": intermediate.issue_cert("elsewhere.test"),
        "expired": intermediate.issue_cert(MX, not_before=now - dt.timedelta(days=30),
                                           not_after=now - dt.timedelta(days=1)),
        "rsa": trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
            MX, key_type=trustme.KeyType.RSA),
    }


# -- the matcher ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["leaf", "rsa"])
def test_spki_is_read_as_encoded_in_the_certificate(pki, name):
    der = chain_of(pki[name])[0]
    spki = dane.spki_der(x509.load_der_x509_certificate(der))
    assert spki == expected(der, 1, 0)  # selector 1, matching 0: the SPKI itself
    assert spki[0] == 0x30 and spki in der


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("mtype", [0, 1, 2])
@pytest.mark.parametrize(("usage", "depth", "other"), [(3, 0, 1), (2, 1, 0)])
def test_every_selector_and_matching_type(pki, usage, depth, other, selector, mtype):
    """DANE-EE matches the leaf, DANE-TA the issuer; neither matches the other one."""
    chain = chain_of(pki["leaf"])
    record = dane.Tlsa(usage, selector, mtype, expected(chain[depth], selector, mtype))
    found = dane.match([record], chain, MX)
    assert (found.record, found.depth) == (record, depth)
    wrong = dane.Tlsa(usage, selector, mtype, expected(chain[other], selector, mtype))
    assert dane.match([wrong], chain, MX).record is None  # EE is no issuer, a leaf no anchor


def test_dane_ee_ignores_names_and_dates_but_dane_ta_does_not(pki):
    for name, code in (("other_name", "dane_ta_name_mismatch"), ("expired", "dane_ta_leaf_dates")):
        chain = chain_of(pki[name])
        ee = dane.Tlsa(3, 1, 1, expected(chain[0], 1, 1))
        assert dane.match([ee], chain, MX).record == ee
        ta = dane.Tlsa(2, 1, 1, expected(chain[1], 1, 1))
        found = dane.match([ta], chain, MX)
        assert found.record is None and found.failures == ((code, ta),)


def test_dane_ta_needs_a_chain_linked_by_signatures(pki):
    leaf = chain_of(pki["leaf"])[0]
    stranger = chain_of(pki["rsa"])[0]  # sent as if it were the issuer
    ta = dane.Tlsa(2, 0, 1, expected(stranger, 0, 1))
    found = dane.match([ta], [leaf, stranger], MX)
    assert found.record is None and found.failures == (("dane_ta_unlinked", ta),)


def test_pkix_usages_and_unknown_parameters_are_unusable(pki):
    chain = chain_of(pki["leaf"])
    for usage, selector, mtype in ((0, 0, 1), (1, 1, 1), (3, 2, 1), (3, 1, 3), (4, 1, 1)):
        record = dane.Tlsa(usage, selector, mtype, expected(chain[0], 1, 1))
        assert not record.usable
        assert dane.match([record], chain, MX).record is None


def test_the_first_matching_record_is_named_among_several(pki):
    chain = chain_of(pki["leaf"])
    stale = dane.Tlsa(3, 1, 1, b"\x00" * 32)
    good = dane.Tlsa(2, 1, 2, expected(chain[1], 1, 2))
    assert dane.match([stale, good], chain, MX).record == good


def test_garbage_chain_matches_nothing():
    found = dane.match([dane.Tlsa(3, 1, 1, b"\x00" * 32)], [b"\x30\x03\x02\x01\x01"], MX)
    assert found.record is None and found.unparsable


def test_suggestions_are_3_1_1_for_the_leaf_and_2_1_1_for_the_top_issuer(pki):
    chain = chain_of(pki["leaf"])
    ee, ta = dane.suggestions(chain)
    assert ee == dane.Tlsa(3, 1, 1, expected(chain[0], 1, 1))
    assert ta == dane.Tlsa(2, 1, 1, expected(chain[-1], 1, 1))


# -- the check, end to end --------------------------------------------------------


def server_tls(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def zone(port: int, *tlsa: str) -> str:
    lines = [f"dane.test. MX 10 {MX}.", f"{MX}. A 127.0.0.1"]
    lines += [f"_{port}._tcp.{MX}. TLSA {record}" for record in tlsa]
    return "\n".join(lines)


async def dane_check(run_cli, dns_server, leaf, records, *, secure=True, script=None,
                     overrides=None, plain=False):
    """Probe dane.test (one MX, its TLSA records) and return the host's dane check."""
    async with Scripted(script or dialog(tls=server_tls(leaf))) as smtp:
        names = [f"_{smtp.port}._tcp.{MX}."]
        server = dns_server(zone(smtp.port, *records(smtp.port)) if callable(records)
                            else zone(smtp.port, *records),
                            secure=names if secure else False, overrides=overrides)
        result = await run_cli("dane.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--helo", HELO, "--checks", "dane,tls",
                               "--plain" if plain else "--json", "--timeout", "3")
    assert result.code == 0, result.err
    if plain:
        return result.out, server
    (host,) = json.loads(result.out)["hosts"]
    (check,) = [c for c in host["checks"] if c["check"] == "dane"]
    return check, server


def record(usage: int, selector: int, mtype: int, der: bytes) -> str:
    return f"{usage} {selector} {mtype} {expected(der, selector, mtype).hex()}"


async def test_matching_tlsa_passes_and_names_the_record(run_cli, dns_server, pki):
    chain = chain_of(pki["leaf"])
    good = record(3, 1, 1, chain[0])
    check, server = await dane_check(run_cli, dns_server, pki["leaf"],
                                     ["3 1 1 " + "00" * 32, good])
    assert (check["status"], check["code"]) == ("pass", "dane_ok"), check
    assert check["details"]["matched"] == good
    assert check["details"]["authenticated"] is True
    assert good[:22] in check["summary"]
    assert server.asked(check["details"]["owner"] + ".", "TLSA") >= 1


async def test_dane_ta_record_for_the_intermediate_passes(run_cli, dns_server, pki):
    chain = chain_of(pki["leaf"])
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [record(2, 0, 2, chain[1])])
    assert check["code"] == "dane_ok" and check["details"]["matched_depth"] == 1


async def test_tlsa_for_another_key_fails_and_suggests_the_right_record(run_cli, dns_server, pki):
    other = chain_of(pki["rsa"])[0]
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [record(3, 1, 1, other)])
    assert (check["status"], check["code"]) == ("fail", "dane_mismatch")
    right = record(3, 1, 1, chain_of(pki["leaf"])[0])
    assert check["details"]["suggested"][0] == right
    assert right in check["fix"]


async def test_tlsa_without_dnssec_is_unusable(run_cli, dns_server, pki):
    good = record(3, 1, 1, chain_of(pki["leaf"])[0])
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [good], secure=False)
    assert (check["status"], check["code"]) == ("warn", "dane_unauthenticated")
    assert "not DNSSEC-validated" in check["summary"] and check["details"]["tlsa"] == [good]


async def test_no_tlsa_is_not_published(run_cli, dns_server, pki):
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [])
    assert (check["status"], check["code"]) == ("none", "dane_none")


async def test_tlsa_lookup_failure_is_an_error(run_cli, dns_server, pki):
    async with Scripted(dialog(tls=server_tls(pki["leaf"]))) as smtp:
        owner = f"_{smtp.port}._tcp.{MX}."
        server = dns_server(zone(smtp.port), overrides={(owner, "TLSA"): "servfail"})
        result = await run_cli("dane.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--helo", HELO, "--checks", "dane", "--json")
    (check,) = json.loads(result.out)["hosts"][0]["checks"]
    assert (check["status"], check["code"]) == ("error", "dane_lookup_failed")
    assert result.code == 0


async def test_pkix_only_records_are_unusable_for_smtp(run_cli, dns_server, pki):
    chain = chain_of(pki["leaf"])
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [record(1, 1, 1, chain[0])])
    assert (check["status"], check["code"]) == ("warn", "dane_no_usable")


async def test_tlsa_but_no_starttls_fails(run_cli, dns_server, pki):
    good = record(3, 1, 1, chain_of(pki["leaf"])[0])
    check, _ = await dane_check(run_cli, dns_server, pki["leaf"], [good], script=dialog())
    assert (check["status"], check["code"]) == ("fail", "dane_no_starttls")


async def test_plain_report_names_the_dane_verdict(run_cli, dns_server, pki):
    other = chain_of(pki["rsa"])[0]
    out, _ = await dane_check(run_cli, dns_server, pki["leaf"], [record(3, 1, 1, other)],
                              plain=True)
    health = out.split("\nHealth:\n", 1)[1]
    assert "dane [127.0.0.1] fail" in " ".join(health.split())
    assert "IN TLSA 3 1 1" in " ".join(health.split())
