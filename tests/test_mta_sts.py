"""MTA-STS: the record, the policy over real HTTPS, and the MX hosts it must cover.

End to end, every piece is real: the loopback DNS server serves the MX
records, `_mta-sts` and the address of `mta-sts.x.test`; a TLS server with a
trustme certificate serves the policy on a loopback address and port; scripted
SMTP servers on 127.0.0.x present their own certificates over STARTTLS. The
policy port is the plan's test seam (`Plan.https_port`), set by wrapping the
CLI's plan builder: no option a user could type reaches it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from contextlib import AsyncExitStack
from typing import Any

import pytest

from probe.core import mta_sts as sts
from tests import dnsserver, httpsserver
from tests.conftest import server_context
from tests.httpsserver import HttpsServer, Response
from tests.smtpserver import Scripted, dialog, same_port_servers

dns_server = dnsserver.dns_server
https_port = httpsserver.https_port
HELO = "probe.test"
POLICY_HOST = "127.0.0.4"  # where mta-sts.x.test points: only our resolver knows it
ENFORCE = b"version: STSv1\nmode: enforce\nmx: mx1.x.test\nmx: *.x.test\nmax_age: 604800\n"


# -- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "id_", "codes"), [
    ("v=STSv1; id=20250101T01Z", "20250101T01Z", []),
    ("v=STSv1;id=abc123;", "abc123", []),
    ("v=STSv1;  id=abc ;  ext=x ", "abc", []),
    ("v=STSv1; id=" + "a" * 33, None, ["mta_sts_txt_bad_id"]),
    ("v=STSv1; id=2025-01-01", None, ["mta_sts_txt_bad_id"]),
    ("v=STSv1;", None, ["mta_sts_txt_no_id"]),
    ("v=STSv1; id=a; id=b", "a", ["mta_sts_txt_syntax"]),
    ("v=STSv1 id=a", None, ["mta_sts_txt_syntax"]),
    ("id=a; v=STSv1", None, ["mta_sts_txt_syntax"]),
    ("v=STSv1; id=a; bad field", "a", ["mta_sts_txt_syntax"]),
])
def test_txt_record(text, id_, codes):
    record = sts.parse_record(text)
    assert record.id == id_
    assert [i.code for i in record.issues] == codes


def test_a_good_policy_with_crlf_and_extensions():
    policy = sts.parse_policy("version: STSv1\r\nmode: enforce\r\nmx: mx1.x.test\r\n"
                              "mx: *.backup.test\r\nmax_age:86400   \r\nfuture_field: 1\r\n")
    assert policy.issues == []
    assert (policy.version, policy.mode, policy.max_age) == ("STSv1", "enforce", 86400)
    assert policy.mx == ["mx1.x.test", "*.backup.test"]
    assert policy.extensions == ["future_field"]


@pytest.mark.parametrize(("body", "code", "part"), [
    ("mode: enforce\nmx: a.test\nmax_age: 1", "mta_sts_policy_missing", "version"),
    ("version: STSv1\nmx: a.test\nmax_age: 1", "mta_sts_policy_missing", "mode"),
    ("version: STSv1\nmode: enforce\nmx: a.test", "mta_sts_policy_missing", "max_age"),
    ("version: STSv1\nmode: testing\nmax_age: 1", "mta_sts_policy_missing", "mx"),
    ("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1", "mta_sts_policy_version", "STSv2"),
    ("version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 1", "mta_sts_policy_mode", "Enforce"),
    ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601",
     "mta_sts_policy_max_age", "31557601"),
    ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1", "mta_sts_policy_max_age", "-1"),
    ("version: STSv1\nmode: enforce\nmode: none\nmx: a.test\nmax_age: 1",
     "mta_sts_policy_duplicate", "mode"),
    ("version: STSv1\nmode: enforce\nmx: mx*.a.test\nmax_age: 1",
     "mta_sts_policy_bad_mx", "mx*.a.test"),
    ("version: STSv1\nmode: enforce\nmx: a.test.\nmax_age: 1", "mta_sts_policy_bad_mx", "a.test."),
    ("version: STSv1\nmode: enforce\nmx: *.*.a.test\nmax_age: 1",
     "mta_sts_policy_bad_mx", "*.*.a.test"),
    ("version: STSv1\nmode enforce\nmx: a.test\nmax_age: 1", "mta_sts_policy_syntax",
     "mode enforce"),
    ("<html><body>It works!</body></html>", "mta_sts_policy_syntax", "<html><body>It works!<"
     "/body></html>"),
])
def test_policy_problems_name_the_part(body, code, part):
    policy = sts.parse_policy(body)
    assert (policy.issues[0].code, policy.issues[0].part) == (code, part)


def test_mode_none_needs_no_mx():
    assert sts.parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").issues == []


def test_hostile_policy_text_is_parsed_in_linear_time():
    body = ("mx: " + "a." * 30000 + "\n") + ":" * 60000 + "\n" + "x" * 60000
    policy = sts.parse_policy(body)  # must simply finish; the size is already capped
    assert len(policy.issues[0].part) <= sts.MAX_SHOWN + 3


@pytest.mark.parametrize(("pattern", "host", "expected"), [
    ("mx1.x.test", "mx1.x.test", True),
    ("MX1.x.test", "mx1.X.test.", True),
    ("*.x.test", "mx2.x.test", True),
    ("*.x.test", "x.test", False),
    ("*.x.test", "a.mx2.x.test", False),
    ("mx1.x.test", "mx2.x.test", False),
    ("*.x.test", ".x.test", False),
])
def test_mx_patterns_match_one_leftmost_label(pattern, host, expected):
    assert sts.mx_matches(pattern, host) is expected


# -- end to end ---------------------------------------------------------------------


def zone(mx: dict[str, str], txt: str | None = 'v=STSv1; id=2025010101',
         policy_address: str | None = POLICY_HOST) -> str:
    """x.test's MX hosts (name -> address), its _mta-sts record and policy host address."""
    lines = []
    for preference, (name, address) in enumerate(mx.items(), 1):
        lines += [f"x.test. MX {preference * 10} {name}.", f"{name}. A {address}"]
    if txt is not None:
        lines.append(f'_mta-sts.x.test. TXT "{txt}"')
    if policy_address is not None:
        lines.append(f"mta-sts.x.test. A {policy_address}")
    return "\n".join(lines)


async def probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file, *, policy: Response,
                        mx: dict[str, tuple[str, ssl.SSLContext | None]] | None = None,
                        policy_cert: str = "mta-sts.x.test", mode: str = "--json",
                        serve_policy: bool = True, **zone_args: Any):
    """Probe x.test; `mx` maps MX names to (address, STARTTLS context or None)."""
    mx = mx or {"mx1.x.test": ("127.0.0.2", server_context(ca, "mx1.x.test"))}
    async with AsyncExitStack() as stack:
        port = await same_port_servers(stack, {address: dialog(tls=context)
                                          for address, context in mx.values()})
        server = dns_server(zone({name: a for name, (a, _) in mx.items()}, **zone_args))
        https = HttpsServer(server_context(ca, policy_cert), policy, host=POLICY_HOST)
        if serve_policy:
            await stack.enter_async_context(https)
            https_port(https.port)
        else:
            https_port(9)  # discard: nothing listens on loopback there
        result = await asyncio.wait_for(run_cli(
            "x.test", "--nameserver", server.nameserver_arg, "--port", str(port), "--helo", HELO,
            "--tls-ca-file", ca_file, "--timeout", "4", mode), 60)
    assert "Traceback" not in result.err, result.err
    return result, https


def mta_sts_check(result) -> dict[str, Any]:
    (check,) = [c for c in json.loads(result.out)["checks"] if c["check"] == "mta_sts"]
    return check


async def test_enforce_policy_covering_every_mx_passes(run_cli, dns_server, https_port, ca,
                                                       ca_file):
    result, https = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                        policy=Response(body=ENFORCE))
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("pass", "mta_sts_ok"), check
    assert check["record"] == "v=STSv1; id=2025010101"
    assert check["details"]["mode"] == "enforce" and check["details"]["max_age"] == 604800
    assert check["details"]["fetched_from"] == POLICY_HOST
    (request,) = https.requests
    assert request.line == "GET /.well-known/mta-sts.txt HTTP/1.1"
    assert request.sni == "mta-sts.x.test"
    assert request.headers["host"] == f"mta-sts.x.test:{https.port}"
    assert result.code == 0


async def test_testing_mode_is_a_warning(run_cli, dns_server, https_port, ca, ca_file):
    body = ENFORCE.replace(b"mode: enforce", b"mode: testing")
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=body))
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("warn", "mta_sts_testing")


async def test_an_uncovered_mx_is_named(run_cli, dns_server, https_port, ca, ca_file):
    body = b"version: STSv1\nmode: enforce\nmx: mx1.x.test\nmax_age: 1209600\n"
    mx = {"mx1.x.test": ("127.0.0.2", server_context(ca, "mx1.x.test")),
          "backup.other.test": ("127.0.0.3", server_context(ca, "backup.other.test"))}
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=body), mx=mx)
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("fail", "mta_sts_mx_uncovered"), check
    assert "backup.other.test" in check["summary"] and "mx1.x.test" in check["summary"]
    assert "mx: backup.other.test" not in check["summary"]
    assert check["details"]["uncovered"] == ["backup.other.test"]
    assert "backup.other.test" in check["fix"]


async def test_an_mx_whose_certificate_names_another_host_fails_enforce(
        run_cli, dns_server, https_port, ca, ca_file):
    mx = {"mx1.x.test": ("127.0.0.2", server_context(ca, "mx1.x.test")),
          "mx2.x.test": ("127.0.0.3", server_context(ca, "wrong.x.test"))}
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=ENFORCE), mx=mx)
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("fail", "mta_sts_mx_tls_fails"), check
    (refused,) = check["details"]["refused"]
    assert refused.startswith("mx2.x.test [127.0.0.3]: ")
    assert "does not name the MX host mx2.x.test" in refused
    assert "mx2.x.test [127.0.0.3]" in check["summary"] and "mx1.x.test" not in check["summary"]


async def test_an_mx_without_starttls_fails_enforce(run_cli, dns_server, https_port, ca,
                                                    ca_file):
    mx = {"mx1.x.test": ("127.0.0.2", None)}
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=ENFORCE), mx=mx)
    check = mta_sts_check(result)
    assert check["code"] == "mta_sts_mx_tls_fails"
    assert "does not offer STARTTLS" in check["summary"]


async def test_unreachable_policy_fails(run_cli, dns_server, https_port, ca, ca_file):
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=ENFORCE), serve_policy=False)
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("fail", "mta_sts_policy_unreachable"), check
    assert POLICY_HOST in check["summary"]


async def test_policy_host_with_a_wrong_name_certificate_fails(run_cli, dns_server, https_port,
                                                               ca, ca_file):
    result, https = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                        policy=Response(body=ENFORCE),
                                        policy_cert="www.x.test")
    check = mta_sts_check(result)
    assert (check["status"], check["code"]) == ("fail", "mta_sts_policy_certificate"), check
    assert "mta-sts.x.test" in check["summary"]
    assert https.requests == []  # the policy was never asked for over an unverified channel


@pytest.mark.parametrize(("response", "code", "words"), [
    (Response(301, headers={"Location": "https://www.x.test/mta-sts.txt"}),
     "mta_sts_policy_redirect", "https://www.x.test/mta-sts.txt"),
    (Response(404, b"not found"), "mta_sts_policy_http_status", "HTTP 404"),
    (Response(body=b"version: STSv1\n" + b"#" * 70000), "mta_sts_policy_too_large", "64 KiB"),
    (Response(body=ENFORCE, headers={"Content-Type": "text/html"}),
     "mta_sts_policy_content_type", "text/html"),
    (Response(body=ENFORCE, delay=5), "mta_sts_policy_unreachable", "within 2 s"),
    (Response(body=b"version: STSv1\nmode: enforce\nmx: mx1.x.test\n"),
     "mta_sts_policy_missing", "no max_age field"),
    (Response(body=ENFORCE.replace(b"604800", b"3600")), "mta_sts_max_age_short", "3600 s"),
    (Response(body=b"version: STSv1\nmode: none\nmax_age: 86400\n"), "mta_sts_mode_none",
     "mode none"),
])
async def test_policy_responses(run_cli, dns_server, https_port, ca, ca_file, response, code,
                                words):
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=response)
    check = mta_sts_check(result)
    assert check["code"] == code, check
    assert words in check["summary"]


@pytest.mark.parametrize(("zone_args", "code", "status"), [
    ({"txt": None}, "mta_sts_none", "none"),
    ({"txt": "v=STSv1; id=a!b"}, "mta_sts_txt_bad_id", "fail"),
    ({"policy_address": None}, "mta_sts_policy_no_address", "fail"),
])
async def test_record_problems(run_cli, dns_server, https_port, ca, ca_file, zone_args, code,
                               status):
    result, https = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                        policy=Response(body=ENFORCE), **zone_args)
    check = mta_sts_check(result)
    assert (check["code"], check["status"]) == (code, status), check
    assert https.requests == []


async def test_two_sts_records_fail(run_cli, dns_server, https_port, ca, ca_file):
    async with Scripted(dialog()) as smtp:
        server = dns_server(zone({"mx1.x.test": "127.0.0.1"}) +
                            '\n_mta-sts.x.test. TXT "v=STSv1; id=2"\n'
                            '_mta-sts.x.test. TXT "unrelated text"')
        result = await run_cli("x.test", "--nameserver", server.nameserver_arg, "--port",
                               str(smtp.port), "--helo", HELO, "--json", "--checks", "mta_sts")
    check = mta_sts_check(result)
    assert (check["code"], check["status"]) == ("mta_sts_txt_multiple", "fail")
    assert "2 TXT records" in check["summary"]


async def test_plain_report_names_every_mx_that_breaks_the_policy(run_cli, dns_server,
                                                                  https_port, ca, ca_file):
    body = b"version: STSv1\nmode: enforce\nmx: mx1.x.test\nmax_age: 1209600\n"
    mx = {"mx1.x.test": ("127.0.0.2", server_context(ca, "wrong.x.test")),
          "backup.other.test": ("127.0.0.3", server_context(ca, "backup.other.test"))}
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=Response(body=body), mx=mx, mode="--plain")
    block = " ".join(_health_block(result.out, "mta_sts").split())  # unwrapped
    assert block.startswith("mta_sts fail the enforced MTA-STS policy covers mx: mx1.x.test, "
                            "but not the MX host(s) backup.other.test")
    assert "+ the enforced MTA-STS policy requires verified TLS, and senders will refuse: " \
           "mx1.x.test [127.0.0.2]: the certificate does not name the MX host mx1.x.test" in block
    assert all(len(line) <= 80 for line in result.out.splitlines())


def _health_block(plain: str, check: str) -> str:
    """The lines of one check in the plain Health block (its line and those under it)."""
    lines = plain.split("\nHealth:\n", 1)[1].split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {check} "))
    end = next((i for i in range(start + 1, len(lines))
                if not lines[i].startswith("   ")), len(lines))
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("response", [
    Response(body=b"version: STSv1\nmode: enforce\nmx: \x1b]0;pwned\x07.x.test\nmax_age: 86400\n"),
    Response(302, headers={"Location": "https://x.test/\x1b[2J"}),
    Response(body=ENFORCE, headers={"Content-Type": "text/\x1b[31mred"}),
])
async def test_hostile_policy_text_never_reaches_the_terminal(run_cli, dns_server, https_port,
                                                              ca, ca_file, response):
    result, _ = await probe_mta_sts(run_cli, dns_server, https_port, ca, ca_file,
                                    policy=response, mode="--plain")
    assert _health_block(result.out, "mta_sts").startswith("  mta_sts")
    assert "\x1b" not in result.out and "\x07" not in result.out
