"""A vendor's pattern must not claim another vendor's reply.

Categories can be right while the title is wrong ("Outlook.com: mailbox
unavailable" on a Postfix reply). Vendor files must key on text only that
vendor sends; generic phrases belong in generic.toml.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from knowledge import explain_reply

from .test_corpus import _stage

ROOT = Path(__file__).resolve().parents[1]
# Files whose patterns describe software or lists many vendors share; a file
# marked `generic = true` (vendor-neutral wording) is shared by definition.
SHARED = {"generic", "postfix", "dnsbl", "greylisting", "exim", "sendmail", "qmail"}
# Corpus files that are collections from many senders, not one vendor.
MIXED = {"various", "providers"}
# A DNSBL reply naming Barracuda's or Spamhaus's list is that list's text.
# SimpleLogin forwards and passes on Gmail's "receiving mail at a rate that" in its own E522.
# MessageLabs is Symantec's (now Broadcom's) Email Security.cloud: one product's text.
# microsoft.toml covers on-premises Exchange too, whose lines the corpus files as exchange.
ALLOWED = {("dnsbl", "barracuda"), ("dnsbl", "yahoo"), ("apple", "proofpoint"),
           ("simplelogin", "google"), ("messagelabs", "symantec"), ("exchange", "microsoft")}


def _pattern_files() -> dict[str, str]:
    owner = {}
    for path in (ROOT / "knowledge" / "patterns").glob("*.toml"):
        data = tomllib.loads(path.read_text())
        for pattern in data.get("pattern", []):
            owner[pattern["id"]] = "generic" if data.get("generic") else path.stem
    return owner


def test_vendor_patterns_stay_with_their_vendor():
    owner = _pattern_files()
    wrong = []
    for path in (ROOT / "tests" / "corpus").glob("*.toml"):
        vendor = path.stem
        if vendor in MIXED:
            continue
        for reply in tomllib.loads(path.read_text())["reply"]:
            text = re.sub(r"(?m)^\d{3}[ -]", "", reply["text"])
            matched = explain_reply(reply["code"], text, _stage(reply)).evidence
            winner = owner.get(matched.removeprefix("pattern:"))
            if winner and winner not in SHARED and winner != vendor \
                    and (vendor, winner) not in ALLOWED:
                wrong.append((vendor, matched, reply["text"][:80]))
    assert wrong == []
