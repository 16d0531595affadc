"""`probe DOMAIN` end to end with the DNS health checks: a scripted MX, the loopback
DNS server, and zones where the checks pass, warn and fail together.

What is asserted is what an admin reads: the plain Health block (one line
per check, the fix under warn and fail, hostile record text escaped), the
JSON `checks` list with the contract's keys, and exit code 3 under --strict.
"""

from __future__ import annotations

import json

from tests import dnsserver
from tests.dnssec import sign
from tests.smtpserver import Scripted, dialog
from tests.test_check_spf import txt

dns_server = dnsserver.dns_server

BROKEN = "\n".join([
    "broken.test. MX 10 mx.broken.test.",
    "mx.broken.test. A 127.0.0.3",
    txt("broken.test.", "v=spf1 mx include:gone.broken.test +all"),
    txt("_dmarc.broken.test.", "v=DMARC1; p=none"),
    txt("_smtp._tls.broken.test.", "v=TLSRPTv1; rua=http://reports.broken.test/"),
])
HOSTILE = "\n".join([
    "hostile.test. MX 10 mx.hostile.test.",
    "mx.hostile.test. A 127.0.0.3",
    txt("hostile.test.", " v=spf1 \x1b]0;PWNED\x07 [red]boom[/red] \x1b[2J -all"),
    txt("_dmarc.hostile.test.", "v=DMARC1; p=reject; rua=mailto:r@hostile.test; "
        "x\x1b[31m=[link=https://evil.test]y[/link]"),
])
DNS_CHECKS = ("spf", "dmarc", "tls_rpt", "dnssec")


async def _probe(run_cli, server, domain: str, *args: str):
    async with Scripted(dialog(), host="127.0.0.3") as smtp:
        return await run_cli(domain, "--nameserver", server.nameserver_arg, "--port",
                             str(smtp.port), "--helo", "probe.test", "--checks",
                             ",".join(DNS_CHECKS), *args)


async def test_json_lists_every_dns_check_with_the_contract_keys(dns_server, run_cli):
    server = dns_server(BROKEN)
    result = await _probe(run_cli, server, "broken.test", "--json")
    assert result.code == 0  # mail flows; checks alone never change the exit code
    document = json.loads(result.out)
    by_name = {c["check"]: c for c in document["checks"]}
    assert set(by_name) == set(DNS_CHECKS)
    for check in by_name.values():
        assert {"check", "status", "summary", "fix", "record", "details"} <= set(check)
    assert (by_name["spf"]["status"], by_name["spf"]["code"]) == ("fail", "spf_plus_all")
    assert by_name["spf"]["record"] == "v=spf1 mx include:gone.broken.test +all"
    assert "spf_target_missing" in {p["code"] for p in by_name["spf"]["problems"]}
    assert by_name["spf"]["details"]["tree"]["children"][0]["note"] == "missing"
    assert (by_name["dmarc"]["status"], by_name["dmarc"]["code"]) == ("warn", "dmarc_p_none")
    assert {p["code"] for p in by_name["dmarc"]["problems"]} == {"dmarc_p_none", "dmarc_no_rua"}
    assert by_name["tls_rpt"]["status"] == "fail"
    assert by_name["dnssec"]["status"] == "error"  # an authoritative server cannot tell
    assert all(c["fix"] for c in by_name.values() if c["status"] in ("warn", "fail"))
    assert document["hosts"][0]["checks"] == []  # only domain checks were asked for


async def test_plain_health_block_has_each_check_and_its_fix(dns_server, run_cli):
    server = dns_server(BROKEN)
    result = await _probe(run_cli, server, "broken.test", "--plain")
    health = result.out.split("\nHealth:\n", 1)[1].split("\n\n", 1)[0]  # up to the verdict
    heads = {line.split()[0]: line.split()[1] for line in health.splitlines()
             if line.startswith("  ") and not line.startswith("   ")}
    assert heads == {"spf": "fail", "dmarc": "warn", "tls_rpt": "fail", "dnssec": "error"}
    assert "-> Replace +all with -all" in health
    assert "-> Once the aggregate reports show" in health


async def test_strict_exits_3_when_a_dns_check_fails(dns_server, run_cli):
    server = dns_server(BROKEN)
    result = await _probe(run_cli, server, "broken.test", "--json", "--strict")
    assert result.code == 3 and json.loads(result.out)["exit_code"] == 3


async def test_a_well_kept_domain_passes_and_strict_stays_0(dns_server, run_cli):
    signed = sign("\n".join([
        "good.test. MX 10 mx.good.test.",
        "mx.good.test. A 127.0.0.3",
        txt("good.test.", "v=spf1 mx -all"),
        txt("_dmarc.good.test.", "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"),
        txt("_smtp._tls.good.test.", "v=TLSRPTv1; rua=mailto:tls@good.test"),
    ]), {"test.": "signed", "good.test.": "signed"})
    server = dns_server(signed.records, validate_with=signed.anchor)
    result = await _probe(run_cli, server, "good.test", "--json", "--strict")
    statuses = {c["check"]: c["status"] for c in json.loads(result.out)["checks"]}
    assert statuses == dict.fromkeys(DNS_CHECKS, "pass")
    assert result.code == 0


async def test_hostile_record_text_is_escaped_in_plain_and_kept_in_json(dns_server, run_cli):
    server = dns_server(HOSTILE)
    plain = await _probe(run_cli, server, "hostile.test", "--plain")
    assert "\x1b" not in plain.out and "\x07" not in plain.out
    assert "\\x1b]0;PWNED\\x07" in plain.out
    assert "[red]boom[/red]" in plain.out  # shown as text, never taken as markup
    as_json = await _probe(run_cli, server, "hostile.test", "--json")
    checks = {c["check"]: c for c in json.loads(as_json.out)["checks"]}
    assert checks["spf"]["code"] == "spf_not_recognised"
    assert "\x1b]0;PWNED\x07" in checks["spf"]["record"]  # the data as published
    assert "dmarc_unknown_tag" in {p["code"] for p in checks["dmarc"]["problems"]}


async def test_a_silent_dns_answer_only_sinks_its_own_check(dns_server, run_cli):
    server = dns_server(BROKEN, overrides={("_dmarc.broken.test.", "TXT"): "drop",
                                           ("_smtp._tls.broken.test.", "TXT"): "servfail"})
    result = await _probe(run_cli, server, "broken.test", "--json", "--timeout", "2")
    document = json.loads(result.out)
    by_name = {c["check"]: c for c in document["checks"]}
    assert by_name["dmarc"]["status"] == "error"  # its deadline, not the run's
    assert by_name["tls_rpt"]["code"] == "tls_rpt_lookup_failed"
    assert by_name["spf"]["code"] == "spf_plus_all"  # the others finished normally
    assert document["hosts"][0]["outcome"] == "ok" and result.code == 0
