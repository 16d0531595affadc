"""The `dmarc` and `tls_rpt` checks against the loopback DNS server, one zone per verdict."""

from __future__ import annotations

import pytest

from probe.core.checks._orgdomain import organizational_domain
from tests import dnsserver
from tests.checkrun import assert_verdict, run_check
from tests.test_check_spf import txt

dns_server = dnsserver.dns_server

ZONE = "\n".join([
    txt("_dmarc.reject.test.", "v=DMARC1; p=reject; rua=mailto:dmarc@reject.test"),
    txt("_dmarc.quarantine.test.", "v=DMARC1; p=quarantine; rua=mailto:d@quarantine.test"),
    txt("_dmarc.none.test.", "v=DMARC1; p=none; rua=mailto:dmarc@none.test"),
    txt("_dmarc.partial.test.", "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@partial.test"),
    txt("_dmarc.norua.test.", "v=DMARC1; p=reject"),
    txt("_dmarc.syntax.test.", "v=DMARC1; p=rejected; pct=150; adkim=x; rua=mailto:d@syntax.test"),
    txt("_dmarc.nop.test.", "v=DMARC1; rua=mailto:d@nop.test"),
    txt("_dmarc.order.test.", "v=DMARC1; rua=mailto:d@order.test; p=reject"),
    txt("_dmarc.dup.test.", "v=DMARC1; p=reject; p=none; rua=mailto:d@dup.test"),
    txt("_dmarc.typo.test.", "v=DMARC1; p=reject; rua=mailto:d@typo.test; ruf-mailto:x"),
    txt("_dmarc.unknown.test.", "v=DMARC1; p=reject; rua=mailto:d@unknown.test; rue=x"),
    txt("_dmarc.baduri.test.", "v=DMARC1; p=reject; rua=d@baduri.test"),
    txt("_dmarc.two.test.", "v=DMARC1; p=reject; rua=mailto:a@two.test"),
    txt("_dmarc.two.test.", "v=DMARC1; p=none; rua=mailto:b@two.test"),
    txt("_dmarc.lower.test.", "v=dmarc1; p=reject; rua=mailto:d@lower.test"),
    txt("_dmarc.nosemi.test.", "v=DMARC1 p=reject rua=mailto:d@nosemi.test"),
    txt("_dmarc.spnone.test.", "v=DMARC1; p=reject; sp=none; rua=mailto:d@spnone.test"),
    txt("_dmarc.npnone.test.", "v=DMARC1; p=reject; np=none; rua=mailto:d@npnone.test"),
    # inheritance: the organisational domain's record, with sp= for subdomains
    txt("_dmarc.parent.test.", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@parent.test"),
    txt("_dmarc.weakparent.test.", "v=DMARC1; p=reject; sp=none; rua=mailto:d@weakparent.test"),
    "mail.parent.test. A 192.0.2.1",
    # external report destinations
    txt("_dmarc.ext.test.", "v=DMARC1; p=reject; rua=mailto:r@reports.example,"
        "mailto:r@own.ext.test; ruf=mailto:f@forensic.example!10m"),
    txt("ext.test._report._dmarc.reports.example.", "v=DMARC1"),
    txt("_dmarc.wild.test.", "v=DMARC1; p=reject; rua=mailto:r@wildcard.example"),
    txt("*._report._dmarc.wildcard.example.", "v=DMARC1"),
    txt("_dmarc.extfail.test.", "v=DMARC1; p=reject; rua=mailto:r@sf.example"),
    # report domains that cannot receive mail: a typo, a null MX; one with only an A is fine
    txt("_dmarc.nomail.test.", "v=DMARC1; p=reject; rua=mailto:d@nomail-typo.test"),
    txt("_dmarc.nullmx.test.", "v=DMARC1; p=reject; rua=mailto:d@nullmx.test"),
    "nullmx.test. MX 0 .",
    txt("_dmarc.implicit.test.", "v=DMARC1; p=reject; rua=mailto:d@implicit.test"),
    "implicit.test. A 192.0.2.7",
    # every other report domain receives mail
    *(f"{d}. MX 10 mail.reports.example." for d in (
        "reject.test", "quarantine.test", "none.test", "partial.test", "syntax.test",
        "nop.test", "order.test", "dup.test", "typo.test", "unknown.test", "two.test",
        "spnone.test", "npnone.test", "parent.test", "weakparent.test", "reports.example",
        "own.ext.test", "forensic.example", "wildcard.example", "sf.example", "baduri.test")),
    # TLS-RPT
    txt("_smtp._tls.reject.test.", "v=TLSRPTv1; rua=mailto:tls@reject.test"),
    txt("_smtp._tls.https.test.", "v=TLSRPTv1;rua=https://reports.https.test/tlsrpt, "
        "mailto:tls@https.test; ext=1"),
    txt("_smtp._tls.http.test.", "v=TLSRPTv1; rua=http://reports.http.test/"),
    txt("_smtp._tls.norua.test.", "v=TLSRPTv1; ruf=mailto:x@norua.test"),
    txt("_smtp._tls.ext.test.", "v=TLSRPTv1; rua=mailto:t@ext.test; bad ext=va;lue"),
    txt("_smtp._tls.case.test.", "v=tlsrptv1; rua=mailto:t@case.test"),
    txt("_smtp._tls.two.test.", "v=TLSRPTv1; rua=mailto:a@two.test"),
    txt("_smtp._tls.two.test.", "v=TLSRPTv1; rua=mailto:b@two.test"),
])


@pytest.fixture
def server(dns_server):
    return dns_server(ZONE, overrides={
        ("_dmarc.servfail.test.", "TXT"): "servfail",
        ("extfail.test._report._dmarc.sf.example.", "TXT"): "servfail",
        ("_smtp._tls.servfail.test.", "TXT"): "servfail"})


@pytest.mark.parametrize(("domain", "status", "code"), [
    ("reject.test", "pass", "dmarc_ok"),
    ("quarantine.test", "pass", "dmarc_ok"),
    ("mail.parent.test", "pass", "dmarc_inherited"),
    ("deep.sub.parent.test", "pass", "dmarc_inherited"),
    ("ext.test", "warn", "dmarc_report_unauthorised"),
    ("wild.test", "pass", "dmarc_ok"),
    ("none.test", "warn", "dmarc_p_none"),
    ("partial.test", "warn", "dmarc_pct_partial"),
    ("norua.test", "warn", "dmarc_no_rua"),
    ("spnone.test", "warn", "dmarc_sp_none"),
    ("npnone.test", "warn", "dmarc_np_none"),
    ("sub.weakparent.test", "warn", "dmarc_p_none"),
    ("order.test", "warn", "dmarc_p_not_second"),
    ("unknown.test", "warn", "dmarc_unknown_tag"),
    ("missing.test", "warn", "dmarc_missing"),
    ("syntax.test", "fail", "dmarc_bad_tag"),
    ("nop.test", "fail", "dmarc_no_policy"),
    ("dup.test", "fail", "dmarc_duplicate_tag"),
    ("typo.test", "fail", "dmarc_bad_syntax"),
    ("baduri.test", "fail", "dmarc_bad_uri"),
    ("two.test", "fail", "dmarc_multiple"),
    ("lower.test", "fail", "dmarc_not_recognised"),
    ("nosemi.test", "fail", "dmarc_not_recognised"),
    ("servfail.test", "error", "dmarc_lookup_failed"),
    ("extfail.test", "error", "dmarc_report_check_failed"),
    ("nomail.test", "warn", "dmarc_report_domain_no_mail"),
    ("nullmx.test", "warn", "dmarc_report_domain_no_mail"),
    ("implicit.test", "pass", "dmarc_ok"),
])
async def test_dmarc_verdicts(server, domain, status, code):
    await assert_verdict("dmarc", domain, server, status, code)


async def test_inherited_policy_says_which_record_applied_and_uses_sp(server):
    result = await run_check("dmarc", "mail.parent.test", server)
    assert result.details["name"] == "_dmarc.parent.test"
    assert result.details["inherited"] is True
    assert result.details["policy"] == "quarantine"  # sp= of the parent, not its p=
    message = result.headline.text().message
    assert "_dmarc.parent.test" in message and "p=quarantine" in message
    assert server.asked("_dmarc.mail.parent.test.", "TXT") == 1
    assert server.asked("_dmarc.parent.test.", "TXT") == 1


async def test_a_subdomain_with_its_own_record_does_not_look_further(server):
    result = await run_check("dmarc", "reject.test", server)
    assert result.details["inherited"] is False
    assert not any(q.qname.startswith("_dmarc.test") for q in server.queries)


async def test_a_public_suffix_has_no_organisational_domain_to_fall_back_to():
    assert organizational_domain("mail.example.co.uk") == "example.co.uk"
    assert organizational_domain("user.github.io") == "user.github.io"  # private section
    assert organizational_domain("co.uk") is None


def test_the_public_suffix_list_never_touches_the_network(monkeypatch):
    import socket

    from probe.core.checks import _orgdomain

    def refuse(*args, **kwargs):
        raise AssertionError("the PSL must come from the bundled snapshot")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _orgdomain._list.cache_clear()
    assert _orgdomain.organizational_domain("a.b.example.com") == "example.com"


async def test_external_destinations_are_checked_once_each(server):
    result = await run_check("dmarc", "ext.test", server)
    assert result.details["report_authorisation"] == {
        "reports.example": "authorised", "own.ext.test": "internal",
        "forensic.example": "not authorised"}
    assert server.asked("ext.test._report._dmarc.forensic.example.", "TXT") == 1
    assert not any("_report._dmarc.own.ext.test" in q.qname for q in server.queries)
    assert result.details["report_domains_receive_mail"] == {
        "reports.example": "yes", "own.ext.test": "yes", "forensic.example": "yes"}
    (problem,) = [p for p in result.problems if p.code == "dmarc_report_unauthorised"]
    assert problem.params["name"] == "ext.test._report._dmarc.forensic.example"


@pytest.mark.parametrize(("domain", "status", "code"), [
    ("reject.test", "pass", "tls_rpt_ok"),
    ("https.test", "pass", "tls_rpt_ok"),
    ("missing.test", "none", "tls_rpt_missing"),
    ("http.test", "fail", "tls_rpt_bad_uri"),
    ("norua.test", "fail", "tls_rpt_no_rua"),
    ("ext.test", "fail", "tls_rpt_bad_syntax"),
    ("case.test", "fail", "tls_rpt_not_recognised"),
    ("two.test", "fail", "tls_rpt_multiple"),
    ("servfail.test", "error", "tls_rpt_lookup_failed"),
])
async def test_tls_rpt_verdicts(server, domain, status, code):
    await assert_verdict("tls_rpt", domain, server, status, code)


async def test_tls_rpt_lists_every_destination(server):
    result = await run_check("tls_rpt", "https.test", server)
    assert result.details["rua"] == ["https://reports.https.test/tlsrpt", "mailto:tls@https.test"]
    assert server.asked("_smtp._tls.https.test.", "TXT") == 1
