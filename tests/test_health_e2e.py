"""One domain, several MX addresses, every TLS health check at once, in JSON and plain.

x.test has two MX hosts: mx1.x.test with two addresses (a pool) and a backup,
mx2.other.test. Its MTA-STS policy is enforced but lists only mx1.x.test; a
DNSSEC-validated TLSA record pins the key 127.0.0.2 presents, while 127.0.0.3
(same name, renewed with a new key) no longer matches it. Everything is real
and on loopback: DNS, the HTTPS policy server, three STARTTLS servers.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from contextlib import AsyncExitStack
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests import dnsserver, httpsserver
from tests.httpsserver import HttpsServer, Response
from tests.smtpserver import dialog, same_port_servers

dns_server = dnsserver.dns_server
https_port = httpsserver.https_port
POLICY = b"version: STSv1\nmode: enforce\nmx: mx1.x.test\nmax_age: 1209600\n"


def tls_for(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def spki_sha256(leaf: trustme.LeafCert) -> str:
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


async def run_both(run_cli, dns_server, https_port, ca, ca_file) -> tuple[Any, Any]:
    pinned, renewed = ca.issue_cert("mx1.x.test"), ca.issue_cert("mx1.x.test")
    banner = b"220 mx1.x.test ESMTP\r\n"
    scripts = {"127.0.0.2": dialog(banner, tls=tls_for(pinned)),
               "127.0.0.3": dialog(banner, tls=tls_for(renewed)),
               "127.0.0.5": dialog(b"220 mx2.other.test ESMTP\r\n",
                                   tls=tls_for(ca.issue_cert("mx2.other.test")))}
    async with AsyncExitStack() as stack:
        port = await same_port_servers(stack, scripts)
        tlsa = f"_{port}._tcp.mx1.x.test."
        zone = f"""
            x.test. MX 10 mx1.x.test.
            x.test. MX 20 mx2.other.test.
            mx1.x.test. A 127.0.0.2
            mx1.x.test. A 127.0.0.3
            mx2.other.test. A 127.0.0.5
            2.0.0.127.in-addr.arpa. PTR mx1.x.test.
            3.0.0.127.in-addr.arpa. PTR mx1.x.test.
            5.0.0.127.in-addr.arpa. PTR mx2.other.test.
            {tlsa} TLSA 3 1 1 {spki_sha256(pinned)}
            _mta-sts.x.test. TXT "v=STSv1; id=20250601"
            mta-sts.x.test. A 127.0.0.4
        """
        dns = dns_server(zone, secure=[tlsa])
        https = await stack.enter_async_context(HttpsServer(
            tls_for(ca.issue_cert("mta-sts.x.test")), Response(body=POLICY), host="127.0.0.4"))
        https_port(https.port)
        args = ("x.test", "--nameserver", dns.nameserver_arg, "--port", str(port),
                "--helo", "probe.test", "--tls-ca-file", ca_file, "--timeout", "4")
        as_json = await run_cli(*args, "--json")
        plain = await run_cli(*args, "--plain", "--strict")
    return as_json, plain


async def test_one_probe_tells_what_is_right_weak_and_broken(run_cli, dns_server, https_port,
                                                            ca, ca_file):
    as_json, plain = await run_both(run_cli, dns_server, https_port, ca, ca_file)
    doc = json.loads(as_json.out)
    assert as_json.code == 0 and doc["exit_code"] == 0  # mail flows: checks alone never fail it

    top = {c["check"]: c for c in doc["checks"]}
    assert (top["mta_sts"]["status"], top["mta_sts"]["code"]) == ("fail", "mta_sts_mx_uncovered")
    assert top["mta_sts"]["details"]["uncovered"] == ["mx2.other.test"]
    assert "mx2.other.test" in top["mta_sts"]["summary"]
    assert (top["mx_consistency"]["status"], top["mx_consistency"]["code"]) == (
        "pass", "mx_consistent")

    by_address = {h["address"]: {c["check"]: c for c in h["checks"]} for h in doc["hosts"]}
    assert set(by_address) == {"127.0.0.2", "127.0.0.3", "127.0.0.5"}
    assert by_address["127.0.0.2"]["dane"]["code"] == "dane_ok"
    assert by_address["127.0.0.3"]["dane"]["code"] == "dane_mismatch"
    assert by_address["127.0.0.3"]["dane"]["status"] == "fail"
    assert by_address["127.0.0.5"]["dane"]["code"] == "dane_none"
    for address, checks in by_address.items():
        assert checks["tls"]["code"] == "tls_ok", (address, checks["tls"])
        assert checks["ptr"]["code"] == "ptr_ok", (address, checks["ptr"])
    assert not [f for h in doc["hosts"] for f in h["findings"]]  # said once, by the checks

    assert plain.code == 3  # --strict: a failed check
    health = plain.out.split("\nHealth:\n", 1)[1]
    flat = " ".join(health.split())
    assert "mta_sts fail the enforced MTA-STS policy covers mx: mx1.x.test, but not the MX " \
           "host(s) mx2.other.test" in flat
    assert "dane [127.0.0.2] pass TLSA 3 1 1" in flat
    assert "dane [127.0.0.3] fail no TLSA record at" in flat
    assert "mx_consistency pass all 3 MX addresses answered" in flat
    assert all(len(line) <= 80 for line in plain.out.splitlines())
    (verdict,) = [line for line in plain.out.splitlines() if line.startswith("Verdict:")]
    assert "(exit 3)" in verdict, verdict
