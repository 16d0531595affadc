"""The policy record parsers on their own: grammar edge cases, hostile input, fuzzing.

The checks' tests go through DNS; these pin the grammar decisions (RFC 7208
§12, RFC 7489 §6.4, RFC 8460 §3) one term at a time and make sure no input
can make a parser raise or run long.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.core.records import dmarc, spf, taglist, tlsrpt
from probe.core.records.uri import https_ok, mailto_domain


def codes(record) -> list[str]:
    return [p.code for p in record.problems]


@pytest.mark.parametrize("term", [
    "all", "-all", "~all", "?all", "+all", "ALL",
    "include:_spf.example.com", "include:example.com.", "Include:example.com",
    "a", "a:mail.example.com", "a/24", "a//64", "a/24//64", "a:example.com/24//64", "mx/0",
    "mx:example.com", "ptr", "ptr:example.com",
    "ip4:192.0.2.1", "ip4:192.0.2.0/24", "ip4:0.0.0.0/0", "ip6:2001:db8::/32", "ip6:::1",
    "ip6:::ffff:192.0.2.1", "exists:%{i}.%{h}._spf.%{d}", "exists:%{ir}.%{l1r+-}._x.%{d2}",
    "include:%{d}", "include:a.%{o}", "redirect=_spf.example.com", "exp=explain.%{d}",
    "foo=bar", "x-unknown.mod_1=%{d}", "include:spf.example-mail.com", "a:x.123-456",
])
def test_valid_terms(term):
    record = spf.parse(f"v=spf1 {term}", "x.test")
    assert record.syntax_errors == 0, codes(record)
    assert len(record.terms) == 1


@pytest.mark.parametrize(("term", "code"), [
    ("ip4:192.0.2.256", "spf_bad_ip"),
    ("ip4:192.0.2.01", "spf_bad_ip"),  # leading zero: not a dec-octet
    ("ip4:192.0.2", "spf_bad_ip"),
    ("ip6:192.0.2.1", "spf_bad_ip"),
    ("ip6:fe80::1%eth0", "spf_bad_ip"),
    ("ip4:192.0.2.0/33", "spf_bad_cidr"),
    ("ip4:192.0.2.0/024", "spf_bad_cidr"),
    ("ip6:2001:db8::/129", "spf_bad_cidr"),
    ("a/33", "spf_bad_cidr"),
    ("a//129", "spf_bad_cidr"),
    ("a:example.com/", "spf_bad_cidr"),
    ("include:example", "spf_bad_domain_spec"),  # one label: no domain-end
    ("include:example.123", "spf_bad_domain_spec"),  # all-digit top label
    ("include:example..com", "spf_bad_domain_spec"),
    ("include:" + "a" * 64 + ".com", "spf_bad_domain_spec"),
    ("include:example.com-", "spf_bad_domain_spec"),
    ("a:", "spf_bad_domain_spec"),
    ("include", "spf_bad_argument"),
    ("exists", "spf_bad_argument"),
    ("all:example.com", "spf_bad_argument"),
    ("ip4", "spf_bad_argument"),
    ("redirect:example.com", "spf_unknown_mechanism"),
    ("includ:example.com", "spf_unknown_mechanism"),
    ("+", "spf_unknown_mechanism"),
    ("exists:%{q}.example.com", "spf_bad_macro"),
    ("exists:%{c}.example.com", "spf_bad_macro"),  # c, r, t: explanations only
    ("exists:%{d0}.example.com", "spf_bad_macro"),
    ("exists:%{d.example.com", "spf_bad_macro"),
    ("exists:%x.example.com", "spf_bad_macro"),
    ("include:exämple.com", "spf_bad_character"),
    ("ip4:192.0.2.1\x1b[2J", "spf_bad_character"),
    ("exp=%{d", "spf_bad_macro"),
    ("redirect=example", "spf_bad_domain_spec"),
])
def test_invalid_terms(term, code):
    record = spf.parse(f"v=spf1 {term} -all", "x.test")
    assert codes(record)[:1] == [code]
    assert record.problems[0].params == {"domain": "x.test", "term": term}


@pytest.mark.parametrize(("text", "is_spf", "near_miss"), [
    ("v=spf1", True, False),
    ("v=spf1 -all", True, False),
    ("V=SPF1 -ALL", True, False),
    ("v=spf1  ip4:192.0.2.1   -all  ", True, False),
    ("v=spf10 -all", False, True),
    ("v=spf1\t-all", False, True),
    (" v=spf1 -all", False, True),
    ('"v=spf1 -all"', False, True),
    ("spf2.0/pra -all", False, False),
    ("google-site-verification=x", False, False),
])
def test_what_counts_as_an_spf_record(text, is_spf, near_miss):
    assert (spf.is_spf(text), spf.looks_like_spf(text)) == (is_spf, near_miss)


def test_lookup_counting_follows_evaluation_order():
    record = spf.parse("v=spf1 a mx include:x.test ip4:192.0.2.1 -all exists:y.test "
                       "redirect=z.test", "x.test")
    assert record.lookups == 3  # exists after all is never reached; redirect ignored with all
    assert "spf_after_all" in codes(record) and "spf_redirect_ignored" in codes(record)
    no_all = spf.parse("v=spf1 a redirect=z.test", "x.test")
    assert no_all.lookups == 2 and no_all.redirect is not None


def test_ptr_and_all_addresses_are_pointed_out():
    record = spf.parse("v=spf1 ptr ip4:0.0.0.0/0 -ip6:::/0 -all", "x.test")
    assert codes(record) == ["spf_ptr", "spf_allows_all_ips"]


def test_macro_scan_is_linear_on_hostile_input():
    hostile = [
        "v=spf1 exists:" + "%{" * 100_000,
        "v=spf1 exists:" + "%{d" + "1" * 100_000 + "}.example.com",
        "v=spf1 " + "%%" * 100_000,
        "v=spf1 a:" + "a." * 30_000 + "com",
        "v=spf1 " + "a/" * 50_000,
        "v=spf1 " + " " * 200_000 + "-all",
    ]
    started = time.monotonic()
    for text in hostile:
        spf.parse(text, "x.test")
    assert time.monotonic() - started < 20  # a hang guard, not a benchmark


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("v=spf1 :/%{}.-+~?aimxpl46_dr0123,!\x00é")),
               max_size=200))
def test_spf_parser_never_raises(text):
    record = spf.parse("v=spf1 " + text, "x.test")
    assert record.syntax_errors >= 0 and record.lookups >= 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_tag_parsers_never_raise(text):
    for candidate in (text, "v=DMARC1; " + text, "v=TLSRPTv1; " + text):
        if dmarc.is_dmarc(candidate):
            dmarc.parse(candidate, "_dmarc.x.test")
        if tlsrpt.is_tlsrpt(candidate):
            tlsrpt.parse(candidate, "x.test")
        dmarc.looks_like_dmarc(candidate)
        tlsrpt.looks_like_tlsrpt(candidate)


@pytest.mark.parametrize(("text", "expected"), [
    ("v=DMARC1; p=reject", True),
    ("v = DMARC1 ; p=reject", True),
    ("V=DMARC1; p=reject", True),
    ("v=DMARC1", True),
    ("v=dmarc1; p=reject", False),
    ("v=DMARC1 p=reject", False),
    ("p=reject; v=DMARC1", False),
    ("v=DMARC2; p=reject", False),
])
def test_what_counts_as_a_dmarc_record(text, expected):
    assert dmarc.is_dmarc(text) is expected


def test_dmarc_values_are_checked_per_tag():
    record = dmarc.parse("v=DMARC1; p=Reject; sp=quarantine; pct=100; adkim=s; aspf=r; "
                         "fo=1:d:s; rf=afrf; ri=86400; np=reject; psd=n; t=y; "
                         "rua=mailto:a@x.test,mailto:b@y.test!10m", "_dmarc.x.test")
    assert codes(record) == []
    assert record.policy() == "reject" and record.policy("sp") == "quarantine"
    assert [u.domain for u in record.rua] == ["x.test", "y.test"]
    bad = dmarc.parse("v=DMARC1; p=none; pct=101; fo=2; rf=iodef; ri=-1; adkim=x; "
                      "rua=mailto:a@x.test!10q", "_dmarc.x.test")
    assert [p.params["tag"] for p in bad.problems] == ["pct", "fo", "rf", "ri", "adkim", "rua"]


@pytest.mark.parametrize(("uri", "domain"), [
    ("mailto:dmarc@example.com", "example.com"),
    ("MAILTO:dmarc@Example.COM.", "example.com"),
    ("mailto:d%2Bx@example.com", "example.com"),
    ("mailto:d%40x@example.com", None),  # an escaped @ in the local part: refused
    ("mailto:dmarc@example", None),
    ("mailto:@example.com", None),
    ("mailto:a b@example.com", None),
    ("https://example.com/", None),
    ("dmarc@example.com", None),
])
def test_mailto_domain(uri, domain):
    assert mailto_domain(uri) == domain


@pytest.mark.parametrize(("uri", "ok"), [
    ("https://reports.example.com/tlsrpt", True),
    ("https://reports.example.com:8443/x?y=z", True),
    ("http://reports.example.com/", False),
    ("https://reports/", False),
    ("https://reports.example.com:99999/", False),
    ("https://", False),
])
def test_https_ok(uri, ok):
    assert https_ok(uri) is ok


def test_taglist_split_keeps_order_and_reports_junk():
    tags, junk = taglist.split(" v=DMARC1 ;p = reject;; junk ;rua=mailto:a@b.test; ")
    assert [(t.name, t.value) for t in tags] == [("v", "DMARC1"), ("p", "reject"),
                                                 ("rua", "mailto:a@b.test")]
    assert junk == ["junk"]


@pytest.mark.parametrize(("text", "is_record"), [
    ("v=TLSRPTv1; rua=mailto:a@b.test", True),
    ("v=TLSRPTv1 ;rua=mailto:a@b.test", True),
    ("v=TLSRPTv1", False),
    ("v=tlsrptv1; rua=mailto:a@b.test", False),
    ("v=TLSRPTv10; rua=mailto:a@b.test", False),
])
def test_what_counts_as_a_tls_rpt_record(text, is_record):
    assert tlsrpt.is_tlsrpt(text) is is_record
