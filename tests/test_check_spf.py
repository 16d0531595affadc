"""The `spf` check against the loopback DNS server: one zone per verdict.

Every case goes through the real resolver path (UDP, TCP after truncation
for the big records) and the check as the runner calls it; the query log
shows what the check asked, so budgets and caching are asserted, not
assumed.
"""

from __future__ import annotations

import asyncio

import pytest

from tests import dnsserver
from tests.checkrun import assert_verdict, run_check

dns_server = dnsserver.dns_server


def txt(owner: str, text: str) -> str:
    """A TXT line; text longer than 255 bytes is split into strings (RFC 7208 §3.3)."""
    chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    quoted = " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
    return f"{owner} TXT {quoted}"


def chain(prefix: str, depth: int, last: str) -> list[str]:
    """include chain prefix0 -> prefix1 -> ... -> prefix{depth-1}, which holds `last`."""
    lines = [txt(f"{prefix}{i}.test.", f"v=spf1 include:{prefix}{i + 1}.test -all")
             for i in range(depth - 1)]
    return [*lines, txt(f"{prefix}{depth - 1}.test.", last)]


ZONE = "\n".join([
    txt("ok.test.", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.ok.test -all"),
    txt("_spf.ok.test.", "v=spf1 ip4:198.51.100.0/24 a:mail.ok.test ~all"),
    "mail.ok.test. A 192.0.2.5",
    "ok.test. TXT \"google-site-verification=abc\"",
    txt("soft.test.", "v=spf1 mx ~all"),
    "soft.test. MX 10 mail.ok.test.",
    txt("plus.test.", "v=spf1 ip4:192.0.2.1 +all"),
    txt("bare-all.test.", "v=spf1 all"),
    txt("neutral.test.", "v=spf1 ip4:192.0.2.1 ?all"),
    txt("noall.test.", "v=spf1 ip4:192.0.2.1"),
    txt("two.test.", "v=spf1 -all"),
    txt("two.test.", "v=spf1 ip4:192.0.2.1 -all"),
    txt("syntax.test.", "v=spf1 ip4:192.0.2.300 include:nodots -all"),
    txt("upper.test.", "V=SPF1 IP4:192.0.2.1 Include:_spf.ok.test -ALL"),
    txt("quoted.test.", "\"v=spf1 -all\""),
    txt("lead.test.", " v=spf1 -all"),
    txt("sid.test.", "spf2.0/pra ip4:192.0.2.1 -all"),
    # 11 DNS-querying terms: 4 here + a chain whose members add 7
    txt("eleven.test.", "v=spf1 a mx include:e1.test include:e2.test -all"),
    "eleven.test. A 192.0.2.1",
    "eleven.test. MX 10 mail.ok.test.",
    txt("e1.test.", "v=spf1 a:mail.ok.test a:mail.ok.test a:mail.ok.test ~all"),
    txt("e2.test.", "v=spf1 a:mail.ok.test a:mail.ok.test a:mail.ok.test include:e3.test ~all"),
    txt("e3.test.", "v=spf1 ip4:192.0.2.9 ~all"),
    txt("ten.test.", "v=spf1 a mx include:e1.test include:e3.test "
        "a:mail.ok.test a:mail.ok.test a:mail.ok.test -all"),
    "ten.test. A 192.0.2.1",
    "ten.test. MX 10 mail.ok.test.",
    txt("void3.test.", "v=spf1 a:gone1.ok.test mx:gone2.ok.test exists:gone3.ok.test -all"),
    txt("void1.test.", "v=spf1 a:gone1.ok.test ip4:192.0.2.1 -all"),
    txt("loop-a.test.", "v=spf1 include:loop-b.test -all"),
    txt("loop-b.test.", "v=spf1 include:loop-a.test -all"),
    txt("self.test.", "v=spf1 redirect=self.test"),
    txt("redir.test.", "v=spf1 redirect=_spf.ok.test"),
    txt("redir-plus.test.", "v=spf1 redirect=plus.test"),
    txt("redir-missing.test.", "v=spf1 redirect=nowhere.ok.test"),
    txt("incl-missing.test.", "v=spf1 include:mail.ok.test -all"),
    txt("incl-plus.test.", "v=spf1 include:plus.test -all"),
    txt("incl-two.test.", "v=spf1 include:two.test -all"),
    txt("incl-broken.test.", "v=spf1 include:syntax.test -all"),
    txt("ptr.test.", "v=spf1 ptr ip4:192.0.2.1 -all"),
    txt("after.test.", "v=spf1 -all ip4:192.0.2.1"),
    txt("both.test.", "v=spf1 ip4:192.0.2.1 -all redirect=_spf.ok.test"),
    txt("modifiers.test.", "v=spf1 include=_spf.ok.test exp=explain.ok.test -all"),
    txt("dupmod.test.", "v=spf1 redirect=_spf.ok.test redirect=e3.test"),
    txt("everyone.test.", "v=spf1 ip4:0.0.0.0/0 -all"),
    txt("macro.test.", "v=spf1 include:%{ir}.%{v}._spf.ok.test exists:%{i}.x.ok.test -all"),
    txt("badmacro.test.", "v=spf1 exists:%{q}.ok.test -all"),
    txt("long.test.", "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(1, 40)) + " -all"),
    txt("type99.test.", "v=spf1 -all"),
    "type99.test. SPF \"v=spf1 -all\"",
    txt("manymx.test.", "v=spf1 mx -all"),
    *(f"manymx.test. MX {i} mx{i}.ok.test." for i in range(12)),
    txt("servfail-incl.test.", "v=spf1 include:sf.ok.test -all"),
    txt("sf.ok.test.", "v=spf1 -all"),
    txt("hostile.test.", "v=spf1 ip4:192.0.2.1 \x1b[31m[bold]red[/bold] -all"),
])


@pytest.fixture
def server(dns_server):
    return dns_server(ZONE, overrides={("servfail.test.", "TXT"): "servfail",
                                       ("sf.ok.test.", "TXT"): "servfail"})


async def spf(server, domain: str):
    return await run_check("spf", domain, server)


@pytest.mark.parametrize(("domain", "status", "code"), [
    ("ok.test", "pass", "spf_ok"),
    ("soft.test", "pass", "spf_ok"),
    ("upper.test", "pass", "spf_ok"),
    ("ten.test", "pass", "spf_ok"),
    ("redir.test", "pass", "spf_ok"),
    ("macro.test", "pass", "spf_ok"),
    ("nothing.test", "warn", "spf_missing"),
    ("sid.test", "warn", "spf_missing"),
    ("plus.test", "fail", "spf_plus_all"),
    ("bare-all.test", "fail", "spf_plus_all"),
    ("redir-plus.test", "fail", "spf_plus_all"),
    ("neutral.test", "warn", "spf_neutral_all"),
    ("noall.test", "warn", "spf_no_all"),
    ("two.test", "fail", "spf_multiple"),
    ("syntax.test", "fail", "spf_bad_ip"),
    ("quoted.test", "fail", "spf_not_recognised"),
    ("lead.test", "fail", "spf_not_recognised"),
    ("eleven.test", "fail", "spf_too_many_lookups"),
    ("void3.test", "fail", "spf_too_many_void"),
    ("void1.test", "warn", "spf_void_lookups"),
    ("loop-a.test", "fail", "spf_loop"),
    ("self.test", "fail", "spf_loop"),
    ("redir-missing.test", "fail", "spf_target_missing"),
    ("incl-missing.test", "fail", "spf_target_missing"),
    ("incl-plus.test", "fail", "spf_include_pass_all"),
    ("incl-two.test", "fail", "spf_multiple"),
    ("incl-broken.test", "fail", "spf_bad_ip"),
    ("ptr.test", "warn", "spf_ptr"),
    ("after.test", "warn", "spf_after_all"),
    ("both.test", "warn", "spf_redirect_ignored"),
    ("modifiers.test", "warn", "spf_unknown_modifier"),
    ("dupmod.test", "fail", "spf_duplicate_modifier"),
    ("everyone.test", "fail", "spf_allows_all_ips"),
    ("badmacro.test", "fail", "spf_bad_macro"),
    ("long.test", "warn", "spf_too_long"),
    ("type99.test", "warn", "spf_type99"),
    ("manymx.test", "fail", "spf_mx_too_many"),
    ("servfail.test", "error", "spf_lookup_failed"),
    ("servfail-incl.test", "error", "spf_target_lookup_failed"),
])
async def test_spf_verdicts(server, domain, status, code):
    await assert_verdict("spf", domain, server, status, code)


async def test_a_passing_record_shows_its_include_tree_and_counts(server):
    result = await spf(server, "ok.test")
    assert result.record == "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.ok.test -all"
    details = result.details
    assert (details["lookups"], details["void_lookups"], details["all"]) == (2, 0, "-all")
    tree = details["tree"]
    assert (tree["domain"], tree["via"], tree["lookups"], tree["total_lookups"]) == \
        ("ok.test", "top", 1, 2)
    (child,) = tree["children"]
    assert (child["domain"], child["via"], child["lookups"]) == ("_spf.ok.test", "include", 1)
    assert child["record"].startswith("v=spf1 ip4:198.51.100.0/24")
    assert "2 of the 10" in result.headline.text().message


async def test_lookups_are_counted_through_includes_and_the_limit_is_exclusive(server):
    ten = await spf(server, "ten.test")
    eleven = await spf(server, "eleven.test")
    assert ten.details["lookups"] == 10 and ten.status == "pass"
    assert eleven.details["lookups"] == 11
    assert "needs 11 DNS lookups" in eleven.headline.text().message


async def test_redirect_takes_the_targets_all(server):
    result = await spf(server, "redir.test")
    assert result.details["all"] == "~all"
    assert result.details["tree"]["children"][0]["via"] == "redirect"
    assert result.details["lookups"] == 2  # the redirect, and a: in the target


async def test_void_lookups_name_the_names(server):
    result = await spf(server, "void3.test")
    assert result.details["void_names"] == ["gone1.ok.test", "gone2.ok.test", "gone3.ok.test"]
    assert "gone2.ok.test" in result.headline.text().message


async def test_macros_are_counted_but_not_followed(server):
    result = await spf(server, "macro.test")
    assert result.details["lookups"] == 2
    (child,) = result.details["tree"]["children"]
    assert child["note"] == "macro"
    assert not any("%" in q.qname for q in server.queries)


async def test_include_loop_is_reported_and_each_record_fetched_once(server):
    result = await spf(server, "loop-a.test")
    loop = next(p for p in result.problems if p.code == "spf_loop")
    assert loop.params["target"] == "loop-a.test"
    assert server.asked("loop-b.test.", "TXT") == 1


async def test_child_problems_name_the_child(server):
    result = await spf(server, "incl-broken.test")
    bad = result.headline
    assert bad.params["domain"] == "syntax.test" and bad.params["term"] == "ip4:192.0.2.300"
    assert "syntax.test's SPF record" in bad.text().message


async def test_deep_include_chain_stays_within_the_budget(dns_server):
    server = dns_server("\n".join(chain("deep", 60, "v=spf1 -all")))
    result = await spf(server, "deep0.test")
    assert result.headline.code == "spf_too_many_lookups"
    assert result.details["lookups_complete"] is False
    assert result.headline.params["count"].startswith("at least")
    assert len(server.queries) <= 2 + 40  # TXT + SPF for the top, then the record budget


async def test_a_ten_thousand_term_record_is_judged_without_ten_thousand_queries(dns_server):
    record = "v=spf1 " + " ".join(["a"] * 10_000) + " -all"
    server = dns_server(txt("huge.test.", record) + "\nhuge.test. A 192.0.2.1")
    async with asyncio.timeout(20):
        result = await spf(server, "huge.test")
    assert result.status == "fail" and result.details["lookups"] == 10_000
    assert {p.code for p in result.problems} >= {"spf_too_many_lookups", "spf_too_long"}
    assert any(q.transport == "tcp" for q in server.queries)  # it did not fit in UDP
    assert server.asked("huge.test.", "A") == 1  # 10 000 identical targets: one query


async def test_many_bad_terms_are_counted_not_all_listed(dns_server):
    record = "v=spf1 " + " ".join(f"bogus{i}" for i in range(3000)) + " -all"
    server = dns_server(txt("bad.test.", record))
    result = await spf(server, "bad.test")
    assert result.headline.code == "spf_unknown_mechanism"
    assert result.details["syntax_errors"] == 3000
    assert sum(p.code == "spf_unknown_mechanism" for p in result.problems) == 5


async def test_multi_string_txt_is_joined_without_spaces(dns_server):
    server = dns_server('split.test. TXT "v=spf1 ip4:192.0.2.1 -a" "ll"')
    result = await spf(server, "split.test")
    assert result.record == "v=spf1 ip4:192.0.2.1 -all" and result.status == "pass"


async def test_control_characters_stay_in_the_record_for_views_to_escape(server):
    result = await spf(server, "hostile.test")
    assert result.headline.code == "spf_bad_character"
    assert "\x1b[31m" in result.record  # the data as published; views sanitise


async def test_a_server_that_drops_type_99_queries_costs_one_try_not_the_deadline(dns_server):
    server = dns_server(txt("drop99.test.", "v=spf1 -all"),
                        overrides={("drop99.test.", "SPF"): "drop"})
    result = await run_check("spf", "drop99.test", server, lifetime=5.0)
    assert result.status == "pass"
    # bounded by one try's timeout (0.5 s), not the 5 s lifetime's ten tries
    assert server.asked("drop99.test.", "SPF") <= 2
