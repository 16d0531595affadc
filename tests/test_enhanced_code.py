"""Enhanced status codes are found where servers put them, and nowhere else."""

from __future__ import annotations

import pytest

from knowledge.enhanced_code import find_enhanced, parse_enhanced


@pytest.mark.parametrize(("text", "code"), [
    ("Status: 5.1.1", "5.1.1"),
    ("Status: 5.1.1 (permanent failure)", "5.1.1"),
    ("dsn=4.7.1, status=deferred", "4.7.1"),
    ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
    ("- Sorry, no mailbox here by that name. (#5.1.1)Z", "5.1.1"),
    ("550-5.1.1 The email account that you tried to reach does not exist", "5.1.1"),
    ("smtp;550 5.2.2 mailbox full", "5.2.2"),
    ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "5.1.1"),
    ("Status: 5.01.001", "5.1.1"),
])
def test_codes_in_text(text: str, code: str) -> None:
    assert find_enhanced(text) == code


@pytest.mark.parametrize("text", [
    "Lotus SMTP MTA v4.6.1 (693.3 8-11-1998)",
    "Remote server version 5.1.2 replied",
    "(mxl_mta-5.5.0-3) with ESMTP id 243e9284",
    "4.3.2.1 does not like recipient.",
    "host 10.2.9.112 says:",
    "Received: from [5.1.1.4] by relay",
    "Date: 5.10.2011",
    "Sun ONE Messaging Server 6.1 HotFix 0.11",
    "build 4.2.0 of the filter",
    "aiosmtplib>=5.1.3,<5.2",
])
def test_versions_addresses_and_dates_are_not_codes(text: str) -> None:
    assert find_enhanced(text) is None


@pytest.mark.parametrize(("text", "code"), [
    ("5.1.1", "5.1.1"),
    ("550 5.1.1 <bob@example.com>: Recipient address rejected", "5.1.1"),
    ("550-5.7.26 Unauthenticated email", "5.7.26"),
    ("4.7.1 Try later", "4.7.1"),
    ("5.1.1.4", None),
    ("v5.1.1", None),
    ("version 5.1.1", None),
])
def test_code_at_the_start(text: str, code: str | None) -> None:
    assert parse_enhanced(text) == code


# ---------------------------------------------------------------- unregistered codes

def test_an_unregistered_code_is_read_by_its_class_and_says_so() -> None:
    from knowledge.classifier import classify

    ann = classify(None, "", None, "en", "5.9.9")
    assert ann.enhanced_registered is False
    assert "not a registered" in ann.enhanced_title
    assert ann.matched == "class:5"  # no neighbouring code lends its meaning
    assert ann.severity == "permanent"


def test_an_unregistered_detail_is_read_by_its_subject() -> None:
    from knowledge.classifier import classify

    ann = classify(None, "", None, "en", "5.1.99")
    assert ann.enhanced_registered is False
    assert ann.matched == "enhanced:5.1.99"
    assert ann.title == "Addressing status"
    assert "not a registered" in ann.enhanced_title and "Addressing status" in ann.enhanced_title


@pytest.mark.parametrize(("code", "registered"), [("5.1.1", True), ("4.7.26", True),
                                                  ("2.0.0", True), ("5.7.99", False)])
def test_registered_codes(code: str, registered: bool) -> None:
    from knowledge.classifier import classify

    assert classify(None, "", None, "en", code).enhanced_registered is registered


def test_explain_json_says_unregistered() -> None:
    import io
    import json

    from probe.explain_cmd import explain_main

    out = io.StringIO()
    assert explain_main(["550", "5.9.8", "Spam"], as_json=True, lang="en", out=out,
                        stdin=io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    assert doc["enhanced"] == "5.9.8"
    assert doc["enhanced_registered"] is False
    assert "not a registered" in doc["enhanced_title"]
