"""STARTTLS with real certificates (trustme, and a self-signed one made with cryptography).

SMTP TLS is opportunistic: the probe always completes the handshake and then
judges the certificate, so a bad certificate is the `tls` check's verdict and
the session goes on to MAIL and RCPT; the exit code does not change.

With `--mx 127.0.0.1:PORT` the MX "name" is the IP, so end-to-end certificates
are issued for the IP identity "127.0.0.1"; name matching against DNS names is
tested on `probe.core.tls.hostname_matches` directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from probe.core import tls
from probe.core.events import CertificateInfo, Problem, TlsInfo
from tests.conftest import server_context
from tests.smtpserver import Scripted, dialog

HANG_GUARD = 30
HELO = "probe.test"


async def probe_tls(run_cli, context: ssl.SSLContext, *args: str, mode: str = "--json",
                    script=None):
    async with Scripted(script or dialog(tls=context)) as server:
        result = await asyncio.wait_for(
            run_cli("x.test", "--mx", server.mx, mode, "--helo", HELO, "--timeout", "2",
                    "--checks", "tls", *args),
            HANG_GUARD)
    assert result.code in (0, 1, 2), result.err
    assert "Traceback" not in result.err
    return result, server


def only_host(doc: dict[str, Any]) -> dict[str, Any]:
    (host,) = doc["hosts"]
    return host


def tls_check(host: dict[str, Any], code: str) -> dict[str, Any]:
    """The host's `tls` check, after checking its verdict is `code` and that the
    session itself raised no TLS finding (the check says it, once)."""
    assert not [f for f in host["findings"] if "tls" in f["code"]], host["findings"]
    (check,) = [c for c in host["checks"] if c["check"] == "tls"]
    assert check["code"] == code, check
    return check


def make_cert(*, cn: str = "self.test", dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
              issuer_key=None, issuer_name: x509.Name | None = None,
              days: int = 30) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate with the given names; self-signed unless an issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_name or subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=days)))
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def context_for(cert: x509.Certificate, key, tmp_path: Path) -> ssl.SSLContext:
    cert_file = tmp_path / "cert.pem"
    key_file = tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


# -- end to end ----------------------------------------------------------------


async def test_good_certificate_verifies_and_a_second_ehlo_follows(run_cli, ca, ca_file):
    result, server = await probe_tls(run_cli, server_context(ca, "127.0.0.1"),
                                     "--tls-ca-file", ca_file)
    doc = json.loads(result.out)
    host = only_host(doc)
    info = host["tls"]
    assert info["version"] in ("TLSv1.2", "TLSv1.3")
    assert info["cipher"] and info["cipher"] != "unknown"
    cert = info["certificate"]
    assert cert["verify_error"] is None
    assert cert["hostname_match"] is True
    assert cert["expired"] is False
    assert cert["self_signed"] is False
    assert "127.0.0.1" in cert["san"]
    assert cert["not_after"].endswith("Z")
    stages = [s["stage"] for s in host["steps"]]
    assert stages == ["connect", "banner", "ehlo", "help", "starttls", "tls", "ehlo", "mail",
                      "rcpt", "quit"]
    second_ehlo = [s for s in host["steps"] if s["stage"] == "ehlo"][1]
    assert second_ehlo["reply"]["lines"][0] == "mx.test greets you over TLS"
    check = tls_check(host, "tls_ok")
    assert check["status"] == "pass" and check["fix"] is None
    assert info["version"] in check["summary"] and cert["not_after"] in check["summary"]
    assert result.code == 0 and host["outcome"] == "ok"
    assert server.commands()[-1] == "QUIT"
    assert server.commands().count(f"EHLO {HELO}") == 2  # the second one over TLS


async def test_good_certificate_plain_report(run_cli, ca, ca_file):
    result, _ = await probe_tls(run_cli, server_context(ca, "127.0.0.1"),
                                "--tls-ca-file", ca_file, mode="--plain")
    flat = " ".join(line.strip() for line in result.out.splitlines())
    assert "TLS: TLSv1." in flat
    assert "name matches; verifies" in flat
    assert all(len(line) <= 80 for line in result.out.splitlines())
    assert result.code == 0


async def test_expired_certificate_is_a_tls_verdict_and_the_probe_goes_on(run_cli, ca, ca_file):
    result, server = await probe_tls(run_cli, server_context(ca, "127.0.0.1", expired=True),
                                     "--tls-ca-file", ca_file)
    host = only_host(json.loads(result.out))
    cert = host["tls"]["certificate"]
    assert cert["expired"] is True
    assert cert["verify_error"] is not None
    assert cert["hostname_match"] is True
    check = tls_check(host, "tls_cert_expired")
    assert check["status"] == "warn" and f"expired on {cert['not_after']}" in check["summary"]
    assert [s["stage"] for s in host["steps"]][-3:] == ["mail", "rcpt", "quit"]
    assert result.code == 0 and host["outcome"] == "ok"  # certificates never change it
    assert "RCPT TO:<postmaster@x.test>" in server.commands()


async def test_certificate_expiring_soon_says_when(run_cli, ca, ca_file):
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue_cert("127.0.0.1", not_before=now - dt.timedelta(days=80),
                         not_after=now + dt.timedelta(days=5, hours=1))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    result, _ = await probe_tls(run_cli, context, "--tls-ca-file", ca_file)
    host = only_host(json.loads(result.out))
    check = tls_check(host, "tls_cert_expiring")
    assert "in 5 days" in check["summary"] and check["status"] == "warn"
    assert host["tls"]["certificate"]["days_left"] == 5 and result.code == 0


async def test_wrong_host_certificate(run_cli, ca, ca_file):
    result, _ = await probe_tls(run_cli, server_context(ca, "mx.elsewhere.test"),
                                "--tls-ca-file", ca_file)
    host = only_host(json.loads(result.out))
    cert = host["tls"]["certificate"]
    assert cert["hostname_match"] is False
    assert cert["expired"] is False
    assert cert["san"] == ["mx.elsewhere.test"]
    check = tls_check(host, "tls_cert_name_mismatch")
    assert "does not name the MX host 127.0.0.1" in check["summary"]
    assert "mx.elsewhere.test" in check["summary"]
    assert result.code == 0


async def test_untrusted_ca_sets_verify_error(run_cli, ca):
    result, _ = await probe_tls(run_cli, server_context(ca, "127.0.0.1"))  # no --tls-ca-file
    host = only_host(json.loads(result.out))
    cert = host["tls"]["certificate"]
    assert cert["verify_error"]
    assert cert["hostname_match"] is True and cert["expired"] is False
    assert cert["self_signed"] is False
    check = tls_check(host, "tls_cert_untrusted")
    assert "does not verify" in check["summary"] and check["details"]["verify_error"]
    assert result.code == 0


async def test_self_signed_certificate(run_cli, tmp_path):
    cert, key = make_cert(cn="mx.self.test", ips=("127.0.0.1",))
    result, _ = await probe_tls(run_cli, context_for(cert, key, tmp_path))
    host = only_host(json.loads(result.out))
    info = host["tls"]["certificate"]
    assert info["self_signed"] is True
    assert info["verify_error"]
    assert info["hostname_match"] is True
    assert info["subject"] == info["issuer"] == "CN=mx.self.test"
    check = tls_check(host, "tls_cert_self_signed")
    assert "self-signed" in check["summary"] and "TLSA 3 1 1" in check["fix"]
    assert result.code == 0


async def test_certificate_text_from_the_server_is_escaped_in_plain(run_cli, tmp_path):
    cert, key = make_cert(cn="evil\x1b]0;PWNED\x07.test", ips=("127.0.0.1",))
    result, _ = await probe_tls(run_cli, context_for(cert, key, tmp_path), mode="--plain")
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert result.code == 0


async def test_tls_alert_mid_handshake_names_the_alert(run_cli):
    async def script(reader, writer, server):
        writer.write(b"220 mx.test ESMTP\r\n")
        await writer.drain()
        while line := await reader.readline():
            if line.startswith(b"EHLO"):
                writer.write(b"250-mx.test\r\n250 STARTTLS\r\n")
            elif line.startswith(b"STARTTLS"):
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                await reader.read(5)  # the ClientHello record header
                writer.write(b"\x15\x03\x03\x00\x02\x02\x28")  # fatal handshake_failure
                await writer.drain()
                while await reader.read(65536):
                    pass
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    result, server = await probe_tls(run_cli, None, script=script)
    host = only_host(json.loads(result.out))
    step = host["steps"][-1]
    assert step["stage"] == "tls"
    assert step["error"]["kind"] == "tls"
    assert "HANDSHAKE_FAILURE" in step["error"]["message"].upper()
    assert "QUIT" not in server.commands()
    assert result.code == 1
    check = tls_check(host, "starttls_failed")
    assert check["status"] == "fail" and "HANDSHAKE_FAILURE" in check["summary"].upper()


@pytest.mark.parametrize(("args", "code", "status"), [
    (("--no-starttls",), "tls_skipped", "error"),
    (("--quit-after", "ehlo"), "tls_not_reached", "error"),  # offered, never tried
    (("--quit-after", "starttls"), "tls_ok", "pass"),
])
async def test_tls_check_when_starttls_was_not_tried(run_cli, ca, ca_file, args, code, status):
    result, server = await probe_tls(run_cli, server_context(ca, "127.0.0.1"),
                                     "--tls-ca-file", ca_file, *args)
    check = tls_check(only_host(json.loads(result.out)), code)
    assert check["status"] == status
    assert ("STARTTLS" in server.commands()) == (code == "tls_ok")


async def test_helo_fallback_means_no_starttls(run_cli):
    script = dialog(replies={"EHLO": b"502 5.5.1 EHLO not supported\r\n"})
    result, server = await probe_tls(run_cli, None, script=script)
    host = only_host(json.loads(result.out))
    check = tls_check(host, "no_starttls")
    assert check["status"] == "fail" and check["fix"]
    assert f"HELO {HELO}" in server.commands() and "STARTTLS" not in server.commands()


async def test_quit_over_tls_without_close_notify_is_not_a_221(run_cli, ca, ca_file):
    """The AWS SES case (aiosmtplib #345): the server drops TLS without a 221."""
    context = server_context(ca, "127.0.0.1")

    async def script(reader, writer, server):
        writer.write(b"220 mx.test ESMTP\r\n")
        await writer.drain()
        while line := await reader.readline():
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                writer.write(b"250-mx.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                await writer.start_tls(context)
                continue
            elif verb == b"QUIT":
                writer.transport.abort()  # no 221, no close_notify
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    result, server = await probe_tls(run_cli, None, "--tls-ca-file", ca_file, script=script)
    assert server.commands()[-1] == "QUIT"
    doc = json.loads(result.out)
    host = only_host(doc)
    quit_step = host["steps"][-1]
    assert quit_step["stage"] == "quit"
    assert quit_step["reply"] is None
    assert quit_step["error"]["kind"] == "closed"
    assert host["tls"]["certificate"]["verify_error"] is None
    assert result.code == 0


# -- the certificate judge, directly ---------------------------------------------


@pytest.mark.parametrize(("names", "host", "expected"), [
    (("mx.example.test",), "mx.example.test", True),
    (("MX.Example.TEST",), "mx.example.test", True),
    (("mx.example.test.",), "mx.example.test", True),
    (("mx.example.test",), "mx.example.test.", True),
    (("mx.example.test",), "mx2.example.test", False),
    (("*.example.test",), "mx.example.test", True),
    (("*.example.test",), "example.test", False),
    (("*.example.test",), "a.mx.example.test", False),
    (("*.example.test",), ".example.test", False),
    (("other.test", "mx.example.test"), "mx.example.test", True),
    (("example.test",), "mx.example.test", False),
])
def test_hostname_matches_dns_names(names, host, expected):
    cert, _ = make_cert(cn="ignored.test", dns=names)
    assert tls.hostname_matches(cert, host) is expected


def test_hostname_matches_ip_identities():
    cert, _ = make_cert(cn="x", ips=("127.0.0.1", "2001:db8::1"))
    assert tls.hostname_matches(cert, "127.0.0.1")
    assert tls.hostname_matches(cert, "2001:db8::1")
    assert not tls.hostname_matches(cert, "127.0.0.2")


def test_common_name_is_used_only_without_san():
    legacy, _ = make_cert(cn="mx.legacy.test")
    assert tls.hostname_matches(legacy, "mx.legacy.test")
    with_san, _ = make_cert(cn="mx.legacy.test", dns=("other.test",))
    assert not tls.hostname_matches(with_san, "mx.legacy.test")


def _info(**changes: Any) -> TlsInfo:
    cert = dict(subject="CN=mx.test", issuer="CN=ca", not_after="2030-01-01T00:00:00Z",
                self_signed=False, expired=False, hostname_match=True, verify_error=None,
                san=("mx.test",))
    version = changes.pop("version", "TLSv1.3")
    cert.update(changes)
    return TlsInfo(version, "TLS_AES_128_GCM_SHA256", CertificateInfo(**cert))


def test_problems_for_a_good_certificate_are_none():
    assert tls.problems_for(_info(), "mx.test") == []


def _messages(info: TlsInfo, host: str) -> list[tuple[str, str]]:
    """(code, English message) of each problem, rendered from the catalogue."""
    return [(code, Problem(code, {"host": host, **params}).text().message)
            for code, params in tls.problems_for(info, host)]


def test_each_problem_has_its_own_code():
    assert _messages(_info(expired=True, verify_error="expired"), "mx.test") == [
        ("tls_cert_expired", "the certificate of mx.test expired on 2030-01-01T00:00:00Z; "
         "senders that verify (MTA-STS, DANE-TA) refuse it")]
    ((code, mismatch),) = _messages(_info(hostname_match=False, verify_error="x"), "mx2.test")
    assert code == "tls_cert_name_mismatch" and "mx2.test" in mismatch and "mx.test" in mismatch
    assert _messages(_info(self_signed=True, verify_error="x"), "mx.test") == [
        ("tls_cert_self_signed", "the certificate of mx.test is self-signed: senders that verify "
         "with public CAs (MTA-STS) refuse it; only a DANE-EE (usage 3) TLSA record makes it "
         "verifiable")]
    ((code, chain),) = _messages(_info(verify_error="unknown issuer"), "mx.test")
    assert code == "tls_cert_untrusted" and "does not verify: unknown issuer" in chain
    ((code, old),) = _messages(_info(version="TLSv1"), "mx.test")
    assert code == "tls_deprecated_version" and "TLSv1 is deprecated" in old
    assert _messages(TlsInfo("TLSv1.3", "x", None), "mx.test") == [
        ("tls_no_certificate", "mx.test sent no certificate (anonymous TLS): no sender can "
         "authenticate it")]
    ((code, soon),) = _messages(_info(days_left=3), "mx.test")
    assert code == "tls_cert_expiring" and "in 3 days" in soon
    ((code, early),) = _messages(_info(not_yet_valid=True, not_before="2031-01-01T00:00:00Z",
                                       verify_error="not yet valid"), "mx.test")
    assert code == "tls_cert_not_yet_valid" and "2031-01-01" in early


def test_client_context_is_opportunistic():
    context = tls.client_context()
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_certificate_problems_come_before_an_old_protocol():
    info = _info(version="TLSv1.1", expired=True, verify_error="expired")
    assert [code for code, _ in tls.problems_for(info, "mx.test")] == [
        "tls_cert_expired", "tls_deprecated_version"]
    assert [code for code, _ in tls.problems_for(TlsInfo("TLSv1", "x", None), "mx.test")] == [
        "tls_no_certificate", "tls_deprecated_version"]
