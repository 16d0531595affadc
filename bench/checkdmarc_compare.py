"""probe's spf, dmarc, tls_rpt and dnssec verdicts beside checkdmarc's, on the same zones.

Run (checkdmarc lives in a throwaway virtualenv, never in the project):

    python3 -m venv /tmp/cdm && /tmp/cdm/bin/pip install checkdmarc
    uv run python bench/checkdmarc_compare.py --checkdmarc-python /tmp/cdm/bin/python

The zones are the test suite's (tests/test_check_spf.py, test_check_dmarc.py,
the signed zones of tests/dnssec.py), served by the loopback DNS server; the
DNSSEC rows ask it in its validating-resolver role. Both tools ask the same
server: probe in-process, checkdmarc in a subprocess of the other
interpreter through its `nameservers=` argument. Each row also carries the
verdict the RFCs support, so the last column says who agrees with it.
Verdict classes: pass, warn, fail, missing (nothing published), error.
Loopback only; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.checkrun import run_check  # noqa: E402
from tests.dnssec import sign  # noqa: E402
from tests.dnsserver import DnsServer  # noqa: E402
from tests.test_check_dmarc import ZONE as DMARC_ZONE  # noqa: E402
from tests.test_check_dnssec import MODES as DNSSEC_MODES  # noqa: E402
from tests.test_check_dnssec import RECORDS as DNSSEC_RECORDS  # noqa: E402
from tests.test_check_spf import ZONE as SPF_ZONE  # noqa: E402


@dataclass(frozen=True)
class Case:
    check: str
    domain: str
    expected: str  # the verdict class the RFCs support
    why: str


CASES = [
    Case("spf", "ok.test", "pass", "valid, -all, 2 lookups"),
    Case("spf", "upper.test", "pass", "V=SPF1: ABNF is case-insensitive"),
    Case("spf", "ten.test", "pass", "exactly 10 lookups is allowed (§4.6.4)"),
    Case("spf", "redir.test", "pass", "redirect= to a valid record"),
    Case("spf", "macro.test", "pass", "macros are valid (§7)"),
    Case("spf", "nothing.test", "missing", "no record"),
    Case("spf", "plus.test", "fail", "+all authorises every host"),
    Case("spf", "bare-all.test", "fail", "bare all is +all"),
    Case("spf", "incl-plus.test", "fail", "includes a +all record: all hosts pass"),
    Case("spf", "everyone.test", "fail", "ip4:0.0.0.0/0 authorises every host"),
    Case("spf", "neutral.test", "warn", "?all gives no protection (§8.2)"),
    Case("spf", "noall.test", "warn", "no all: default neutral (§4.7)"),
    Case("spf", "two.test", "fail", "two records: permerror (§4.5)"),
    Case("spf", "incl-two.test", "fail", "include of a permerror domain"),
    Case("spf", "syntax.test", "fail", "ip4:192.0.2.300: permerror (§4.6)"),
    Case("spf", "incl-broken.test", "fail", "include of a syntax error"),
    Case("spf", "quoted.test", "fail", "'\"v=spf1 -all\"': receivers ignore it"),
    Case("spf", "lead.test", "fail", "' v=spf1': not recognised (§4.5)"),
    Case("spf", "eleven.test", "fail", "11 lookups: permerror (§4.6.4)"),
    Case("spf", "void3.test", "fail", "3 void lookups (a, mx, exists): permerror"),
    Case("spf", "void1.test", "warn", "1 void lookup: works, stale entry"),
    Case("spf", "loop-a.test", "fail", "include loop"),
    Case("spf", "redir-missing.test", "fail", "redirect to no record: permerror (§6.1)"),
    Case("spf", "incl-missing.test", "fail", "include of no record: permerror (§5.2)"),
    Case("spf", "dupmod.test", "fail", "redirect= twice: permerror (§6)"),
    Case("spf", "badmacro.test", "fail", "%{q}: permerror (§7.1)"),
    Case("spf", "manymx.test", "fail", "mx with 12 hosts: permerror (§4.6.4)"),
    Case("spf", "ptr.test", "warn", "ptr: SHOULD NOT be used (§5.5)"),
    Case("spf", "after.test", "warn", "terms after all never evaluated"),
    Case("spf", "both.test", "warn", "redirect ignored beside all (§6.1)"),
    Case("spf", "modifiers.test", "warn", "include=...: ignored unknown modifier"),
    Case("spf", "long.test", "warn", "over 450 bytes (§3.4)"),
    Case("spf", "type99.test", "warn", "obsolete SPF RR type (§3.1)"),
    Case("dmarc", "reject.test", "pass", "p=reject, rua"),
    Case("dmarc", "quarantine.test", "pass", "p=quarantine, pct 100, rua"),
    Case("dmarc", "mail.parent.test", "pass", "inherited from parent.test, sp=quarantine"),
    Case("dmarc", "wild.test", "pass", "external rua authorised by a wildcard"),
    Case("dmarc", "missing.test", "missing", "no record here or at the parent"),
    Case("dmarc", "none.test", "warn", "p=none: monitoring only"),
    Case("dmarc", "sub.weakparent.test", "warn", "inherits sp=none"),
    Case("dmarc", "partial.test", "warn", "pct=25"),
    Case("dmarc", "norua.test", "warn", "no rua: no reports"),
    Case("dmarc", "spnone.test", "warn", "sp=none under p=reject"),
    Case("dmarc", "npnone.test", "warn", "np=none under p=reject (RFC 9091)"),
    Case("dmarc", "order.test", "warn", "p= not right after v= (§6.4)"),
    Case("dmarc", "unknown.test", "warn", "unknown tag rue="),
    Case("dmarc", "ext.test", "warn", "ruf to an unauthorised domain (§7.1)"),
    Case("dmarc", "syntax.test", "fail", "p=rejected, pct=150"),
    Case("dmarc", "nop.test", "fail", "no p= tag"),
    Case("dmarc", "dup.test", "fail", "p= twice"),
    Case("dmarc", "typo.test", "fail", "'ruf-mailto:x' is not tag=value"),
    Case("dmarc", "baduri.test", "fail", "rua without mailto:"),
    Case("dmarc", "two.test", "fail", "two records: DMARC not applied (§6.6.3)"),
    Case("dmarc", "lower.test", "fail", "v=dmarc1: must match exactly (§6.3)"),
    Case("dmarc", "nosemi.test", "fail", "'v=DMARC1 p=reject': no separator"),
    Case("tls_rpt", "reject.test", "pass", "mailto rua"),
    Case("tls_rpt", "https.test", "pass", "https and mailto rua, an extension"),
    Case("tls_rpt", "missing.test", "missing", "no record"),
    Case("tls_rpt", "http.test", "fail", "http: is not allowed (§3)"),
    Case("tls_rpt", "norua.test", "fail", "no rua (§3)"),
    Case("tls_rpt", "ext.test", "fail", "'bad ext=va': bad field (§3)"),
    Case("tls_rpt", "case.test", "fail", "v=tlsrptv1: case-sensitive (§3)"),
    Case("tls_rpt", "two.test", "fail", "two records: none apply (§3)"),
    Case("dnssec", "good.test", "pass", "signed, DS at parent, validates"),
    Case("dnssec", "plain.test", "missing", "not signed"),
    Case("dnssec", "island.test", "warn", "signed, no DS at parent"),
    Case("dnssec", "broken.test", "fail", "expired signatures: bogus"),
]

# A subdomain that exists, as mail.parent.test does (checkdmarc stops at NXDOMAIN).
EXTRA = "sub.weakparent.test. A 192.0.2.1"

CHECKDMARC_DRIVER = r"""
import json, sys
import dns.nameserver
from checkdmarc import dmarc, dnssec, smtp_tls_reporting, spf
servers = [dns.nameserver.Do53Nameserver("127.0.0.1", int(sys.argv[1]))]
calls = {"spf": spf.check_spf, "dmarc": dmarc.check_dmarc,
         "tls_rpt": smtp_tls_reporting.check_smtp_tls_reporting}
for check, domain in json.loads(sys.stdin.read()):
    try:
        if check == "dnssec":
            result = {"dnssec": dnssec.check_dnssec(domain, nameservers=servers, timeout=2)}
        else:
            result = calls[check](domain, nameservers=servers, timeout=2)
    except Exception as exc:
        result = {"exception": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result, default=str), flush=True)
"""


NOTHING_PUBLISHED = frozenset({"spf_missing", "dmarc_missing", "tls_rpt_missing",
                               "dnssec_unsigned"})


def probe_class(code: str, status: str) -> str:
    return "missing" if code in NOTHING_PUBLISHED else status


def checkdmarc_class(check: str, result: dict) -> tuple[str, str]:
    """(verdict class, the note it gave) of one checkdmarc result."""
    if "exception" in result:
        return "error", result["exception"]
    if check == "dnssec":
        return ("pass" if result["dnssec"] else "missing/fail"), f"check_dnssec={result['dnssec']}"
    error = str(result.get("error") or "")
    warnings = [str(w) for w in result.get("warnings") or []]
    if error:
        absent = ("does not exist", "not found", "No DMARC")
        nothing = not result.get("record") and any(a in error for a in absent)
        return ("missing" if nothing else "fail"), error
    if warnings:
        return "warn", warnings[0]
    return "pass", ""


async def probe_verdicts(spf_dmarc: DnsServer, validating: DnsServer) -> list[tuple[str, str]]:
    found = []
    for case in CASES:
        server = validating if case.check == "dnssec" else spf_dmarc
        result = await run_check(case.check, case.domain, server, lifetime=3.0)
        found.append((probe_class(result.headline.code, result.status), result.headline.code))
    return found


def checkdmarc_verdicts(python: str, cases: list[Case], server: DnsServer) -> list[dict]:
    done = subprocess.run([python, "-c", CHECKDMARC_DRIVER, str(server.port)],
                          input=json.dumps([(c.check, c.domain) for c in cases]),
                          capture_output=True, text=True, timeout=600, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def short(text: str, width: int = 70) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= width else text[:width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkdmarc-python", required=True,
                        help="the python of a virtualenv where checkdmarc is installed")
    args = parser.parse_args()
    signed = sign(DNSSEC_RECORDS, DNSSEC_MODES)
    zone = "\n".join([SPF_ZONE, DMARC_ZONE, EXTRA])
    with DnsServer(zone) as plain, DnsServer(signed.records, validate_with=signed.anchor) as val:
        ours = asyncio.run(probe_verdicts(plain, val))
        policy = [c for c in CASES if c.check != "dnssec"]
        theirs = checkdmarc_verdicts(args.checkdmarc_python, policy, plain) + \
            checkdmarc_verdicts(args.checkdmarc_python,
                                [c for c in CASES if c.check == "dnssec"], val)
    print("| check | zone | RFC verdict (why) | probe | checkdmarc | agrees with the RFC |")
    print("|---|---|---|---|---|---|")
    tally = {"probe": 0, "checkdmarc": 0}
    for case, (verdict, code), result in zip(CASES, ours, theirs, strict=True):
        their_class, note = checkdmarc_class(case.check, result)
        probe_ok = verdict == case.expected
        their_ok = their_class == case.expected or (
            their_class == "missing/fail" and case.expected in ("missing", "fail"))
        tally["probe"] += probe_ok
        tally["checkdmarc"] += their_ok
        who = {(True, True): "both", (True, False): "probe", (False, True): "checkdmarc",
               (False, False): "neither"}[(probe_ok, their_ok)]
        shown = f"{their_class}" + (f": {short(note)}" if note else "")
        print(f"| {case.check} | {case.domain} | {case.expected} ({case.why}) | "
              f"{verdict} `{code}` | {shown} | {who} |")
    print(f"\n{len(CASES)} rows: probe agrees with the RFC verdict on {tally['probe']}, "
          f"checkdmarc on {tally['checkdmarc']}.")


if __name__ == "__main__":
    main()
