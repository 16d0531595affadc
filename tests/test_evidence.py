"""How the classifier weighs its evidence (see knowledge/classifier.py).

Vendor wording > generic wording that agrees with the enhanced code's subject >
a specific enhanced code > the basic code at its stage > the basic code >
the class digit; generic wording never overrides a specific enhanced code of
another subject; every text of an annotation comes from the evidence that won,
and `matched` says which and over what.
"""

from __future__ import annotations

import re

import pytest

from knowledge import CATEGORIES, explain_reply, loader
from knowledge.classifier import code_layers, enhanced_entry
from knowledge.patterns import pattern_set

from .test_corpus import CORPUS, _stage, reply_text


def _by_id() -> dict:
    return {pat.id: pat for pat in pattern_set().patterns}

def test_generic_wording_refines_an_enhanced_code_of_the_same_subject() -> None:
    ann = explain_reply(450, "4.2.1 Mailbox temporarily unavailable: locked by another process")
    assert ann.category == "server_error"
    assert ann.matched == ("pattern:generic-mailbox-locked over enhanced:4.2.1 (same subject)")
    assert ann.title == _by_id()["generic-mailbox-locked"].title


def test_generic_wording_never_overrides_a_specific_code_of_another_subject() -> None:
    # "temporarily unavailable" is generic service-unavailable wording (X.3/X.4);
    # 4.2.1 says the mailbox (X.2) is the problem.
    ann = explain_reply(450, "4.2.1 Mailbox temporarily unavailable", "rcpt")
    assert ann.category == "mailbox_disabled"
    assert ann.matched == ("enhanced:4.2.1 over pattern:generic-service-unavailable "
                           "(different subject)")
    entry = loader.enhanced()["code"]["X.2.1"]
    assert (ann.title, ann.meaning, ann.fix) == (entry["title"], entry["meaning"], entry["fix"])
    # Without the enhanced code the same wording decides.
    assert explain_reply(450, "Mailbox temporarily unavailable").category == "service_unavailable"


@pytest.mark.parametrize(("code", "text", "category"), [
    # X.Y.0 names only a class of problem: the wording refines it.
    (553, "5.3.0 <bob@example.com>... Recipient address no longer exists", "user_unknown"),
    (421, "4.7.0 Too many errors on this connection, closing transmission channel",
     "syntax_error"),
    # X.7.1 is what MTAs attach to any access-table rejection.
    (550, "5.7.1 No such user", "user_unknown"),

    (451, "4.7.1 Service unavailable - try again later", "service_unavailable"),
])
def test_vague_and_catch_all_codes_let_wording_decide(code: int, text: str, category: str) -> None:
    assert explain_reply(code, text).category == category


@pytest.mark.parametrize(("code", "text", "category"), [
    (554, "5.0.0 Permanent message delivery failure", "policy_rejected"),
    (451, "4.0.0 Try again", "server_error"),
])
def test_other_undefined_status_never_outranks_the_basic_code(
    code: int, text: str, category: str,
) -> None:
    """X.0.0 adds nothing to the basic code: some servers stamp it on every reply."""
    ann = explain_reply(code, text)
    assert ann.category == category
    assert ann.matched.startswith(f"code:{code}")
    # Any other vague subject still speaks for itself over the basic code.
    assert explain_reply(451, "4.3.0 Refused").matched == "enhanced:4.3.0"


@pytest.mark.parametrize(("code", "text", "pattern"), [
    # X.5.1/X.5.2/X.5.4 are what MTAs attach to any refused command argument.
    (501, "5.5.4 Sender address rejected: not owned by you", "generic-sender-rejected"),
    (504, "5.5.2 Sender address refused", "generic-sender-rejected"),
    # Quota wording is more specific than an addressing code sent with it.
    (552, "5.1.1 <bob@example.net>: mailbox is full", "generic-mailbox-full"),
])
def test_generic_wording_refines_argument_codes_and_quota_over_addressing(
    code: int, text: str, pattern: str,
) -> None:
    assert explain_reply(code, text).matched.startswith(f"pattern:{pattern} over enhanced:")


def test_a_bare_554_at_mail_from_is_about_the_sender() -> None:
    """Like 550 at MAIL FROM: 23 of the 32 labelled 554s at MAIL name the sender.
    (Words can change that: every labelled "Transaction failed" is a content
    or policy refusal, so those words now outweigh the stage.)"""
    ann = explain_reply(554, "", "mail")
    assert (ann.category, ann.matched) == ("sender_rejected", "code:554@mail")
    assert explain_reply(554, "", "rcpt").category == "policy_rejected"


def test_vendor_wording_beats_any_enhanced_code() -> None:
    # Zoho sends 5.4.6 with it; 5.4.6 (a loop) is `other`, which yields to the
    # basic code, so a specific code of another subject shows the point.
    ann = explain_reply(550, "5.7.1 Unusual sending activity detected")
    assert ann.category == "bad_reputation"
    assert ann.matched == ("pattern:zoho-unusual-sending-activity over enhanced:5.7.1 "
                           "(vendor wording)")


def test_when_comes_only_from_agreeing_evidence() -> None:
    # 452's own `when` ("at MAIL FROM with a SIZE parameter...") is about
    # another cause; the mailbox-full wording must not borrow it.
    for text in ("4.2.2 Mailbox full", "Mailbox full"):
        for stage in (None, "rcpt"):
            ann = explain_reply(452, text, stage)
            assert ann.category == "mailbox_full"
            assert "SIZE" not in ann.when and "recipients" not in ann.when, ann.when
    bare = explain_reply(550, "Mailbox full")
    assert bare.when == loader.categories()["mailbox_full"]["when"]


def test_source_names_only_an_agreeing_standard() -> None:
    agrees = explain_reply(550, "5.2.2 Mailbox full")
    assert "RFC 3463" in agrees.source
    differs = explain_reply(550, "Mailbox full")  # 550 alone reads "unknown user"
    assert "RFC 5321" not in differs.source


def test_recipient_block_wording_is_not_an_unknown_user() -> None:
    for text in ("5.1.1 <bob@example.com>: Recipient address rejected: Blocked",
                 "5.1.1 <bob@example.com>: Recipient address rejected: Policy rejection",
                 "5.7.1 <bob@example.com>: Recipient address rejected: Access denied",
                 "Recipient address rejected: Blocked"):
        ann = explain_reply(550, text, "rcpt")
        assert ann.category == "policy_rejected", (text, ann.matched)


@pytest.mark.parametrize(("text", "category"), [
    ("5.7.1 Sender address rejected: you are blacklisted", "sender_rejected"),
    ("5.7.1 sender is blacklisted", "sender_rejected"),
    ("5.7.1 Your sender address has been blacklisted", "sender_rejected"),
    # the sending IP, not the sender address, is listed
    ("5.7.1 Sender address rejected: your IP is blacklisted", "blocklisted_ip"),
    ("5.7.1 sender ip is blacklisted", "blocklisted_ip"),
])
def test_sender_side_phrases_are_about_the_sender(text: str, category: str) -> None:
    assert explain_reply(550, text, "mail").category == category


# ---------------------------------------------------------------- context

VAGUE_RCPT_REFUSALS = [
    (550, "5.7.1 <bob@other.example>: Recipient address rejected: Access denied"),
    (554, "5.7.1 <bob@other.example>: Recipient address rejected: Policy rejection"),
    (550, "Administrative prohibition"),
    (550, ""),
    (554, "5.7.1 Delivery not authorized, message refused"),
    (454, "4.7.1 Recipient address rejected: Blocked"),
]


@pytest.mark.parametrize(("code", "text"), VAGUE_RCPT_REFUSALS)
def test_a_vague_refusal_of_a_foreign_recipient_is_relaying_denied(code: int, text: str) -> None:
    ann = explain_reply(code, text, "rcpt", rcpt_domain_is_target=False)
    assert ann.category == "relay_denied"
    assert ann.matched.startswith("context:foreign_rcpt over ")
    rule = loader.context()["foreign_rcpt"]
    assert (ann.title, ann.meaning, ann.when, ann.fix) == (
        rule["title"], rule["meaning"], rule["when"], rule["fix"])
    # Without the context, or for the probed domain, the reply is read as before.
    for known in (None, True):
        plain = explain_reply(code, text, "rcpt", rcpt_domain_is_target=known)
        assert plain == explain_reply(code, text, "rcpt")
        assert plain.category != "relay_denied"


@pytest.mark.parametrize(("code", "text", "stage"), [
    # a stated cause stays the cause, foreign domain or not
    (550, "5.1.1 <bob@other.example>: Recipient address rejected: User unknown in local "
          "recipient table", "rcpt"),
    (450, "4.2.0 <bob@other.example>: Recipient address rejected: Greylisted", "rcpt"),
    (554, "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
     "rcpt"),
    # the rule is about RCPT TO only, and about refusals only
    (550, "5.7.1 Access denied", "mail"),
    (250, "2.1.5 Ok", "rcpt"),
])
def test_context_leaves_stated_causes_and_other_stages_alone(
    code: int, text: str, stage: str
) -> None:
    assert (explain_reply(code, text, stage, rcpt_domain_is_target=False)
            == explain_reply(code, text, stage))


def test_explain_reply_stays_backward_compatible() -> None:
    positional = explain_reply(550, "5.1.1 user unknown", "rcpt", "en")
    assert positional == explain_reply(550, "5.1.1 user unknown", stage="rcpt", lang="en")


# ---------------------------------------------------------------- data and invariants

def test_every_category_has_subjects_and_a_when() -> None:
    data = loader.categories()
    assert set(data) == set(CATEGORIES)
    for name, entry in data.items():
        assert entry["when"].strip(), name
        assert entry["subjects"] and set(entry["subjects"]) <= set(range(8)), name


def _winner_texts(matched: str, code: int, stage: str | None) -> dict | None:
    """The data behind the winning evidence of `matched`, or None if not a table entry."""
    kind, _, name = matched.split(" ", 1)[0].partition(":")
    if kind == "pattern":
        pat = _by_id()[name]
        return {"title": pat.title, "meaning": pat.meaning, "fix": pat.fix,
                "fix_admin": pat.fix_admin, "doc_url": pat.doc_url}
    if kind == "enhanced":
        found = enhanced_entry(name)
        return dict(found[0]) if found else None
    if kind == "code":
        layers = {lay.matched: lay for lay in code_layers(code, stage)}
        return dict(layers[f"code:{name}"].data)
    if kind == "context":
        return dict(loader.context()[name])
    if kind == "resemblance":
        return dict(loader.categories()[name])
    if kind == "class":  # an unregistered code ("353 PRDR ..."): the class digit's entry
        return dict(loader.codes()["class"][name])
    return None


@pytest.mark.parametrize("entry", CORPUS[::7], ids=lambda e: e["text"][:50])
def test_every_text_field_comes_from_the_winner(entry: dict) -> None:
    stage = _stage(entry)
    ann = explain_reply(entry["code"], reply_text(entry["text"]), stage)
    data = _winner_texts(ann.matched, entry["code"], stage)
    assert data is not None, ann.matched
    for field in ("title", "meaning", "fix", "fix_admin", "doc_url"):
        assert getattr(ann, field) == str(data.get(field, "")).strip(), (field, ann.matched)
    if str(data.get("when", "")).strip():
        assert ann.when == data["when"].strip()


@pytest.mark.parametrize("entry", CORPUS[::5], ids=lambda e: e["text"][:50])
def test_matched_names_the_winner_and_what_it_beat(entry: dict) -> None:
    ann = explain_reply(entry["code"], reply_text(entry["text"]), _stage(entry))
    winner, sep, rest = ann.matched.partition(" over ")
    assert winner.split(":")[0] in {"pattern", "enhanced", "code", "class", "context",
                                    "resemblance"}
    assert winner == ann.evidence
    if sep:
        loser, _, reason = rest.partition(" (")
        # The class digit competes with nothing but a resemblance guess, which
        # replaces it when a code alone (an unknown one: "510") decided.
        losers = {"pattern", "enhanced", "code"} | (
            {"class"} if winner.startswith("resemblance:") else set())
        assert loser.split(":")[0] in losers
        assert reason.endswith(")") and len(reason) > 1


@pytest.mark.parametrize(("code", "text"), [
    (550, "No such user"),
    (517, "Domain does not exist: nowhere.example.\nInvalid domain, see <URL:https://"
          "datatracker.ietf.org/doc/html/rfc1035>"),
    (550, "5.1.1 <bob@nowhere.example>... User unknown"),
])
def test_an_unknown_address_at_mail_from_is_the_sender(code: int, text: str) -> None:
    assert explain_reply(code, text).category == "user_unknown"  # no stage: a recipient
    ann = explain_reply(code, text, "mail")
    assert ann.category == "sender_rejected"
    assert ann.matched.startswith("context:unknown_sender over ")
    assert ann.title == loader.context()["unknown_sender"]["title"]


def test_a_guess_over_an_unknown_code_names_the_class_it_replaced() -> None:
    """510 is no code of RFC 5321: only its class digit spoke, and a resemblance
    guess from the words replaces that, saying so."""
    ann = explain_reply(510, "The length of Attach is too long")
    winner, _, rest = ann.matched.partition(" over ")
    assert winner.startswith("resemblance:") and rest.startswith("class:5 (")


# A family rule (the last rules of generic.toml) reads a whole family's
# wording; the lines below are what each family must leave to others: a
# command's usage hint names the HELO argument but refuses no name, a state
# error names HELO, and a missing relay host is the server's own problem.
@pytest.mark.parametrize(("code", "text", "category"), [
    (550, "Your sender address was rejected", "sender_rejected"),
    (553, "5.7.1 Sender mail address refused", "sender_rejected"),
    (550, "no relaying allowed", "relay_denied"),
    (550, "HELO hostname foo is not valid", "helo_rejected"),
    (221, "Connection closed: idle timeout", "other"),
    (554, "Your IP is flooding our server", "rate_limited"),
    (550, "5.7.1 Executable attachments are not allowed", "spam_content"),
    (501, "Syntax: EHLO hostname", "syntax_error"),
    (503, "wrong state for HELO command", "syntax_error"),
    (221, "2.0.0 Bye", "ok"),
])
def test_family_rules_read_a_family_and_leave_the_rest(code: int, text: str,
                                                       category: str) -> None:
    assert explain_reply(code, text).category == category


@pytest.mark.parametrize(("code", "text"), [
    (501, "Syntax: EHLO hostname"),
    # A missing HELO argument: the corpus files "HELO requires domain address"
    # as a refused HELO, so whatever reads it, it is no family rule.
    (501, "5.5.4 HELO hostname required"),
    (503, "wrong state for HELO command"),
    (550, "no relay host available"),
])
def test_no_family_rule_takes_these(code: int, text: str) -> None:
    winner = explain_reply(code, text).matched.partition(" over ")[0]
    assert not winner.endswith("-any-wording"), winner


def test_family_rules_stay_last_under_their_marker() -> None:
    """The comment that opens the family rules says why they are separate rules;
    twice a dropped rule took it along. It must stay, with every family rule
    (and only those) after it."""
    text = (loader.PATTERN_DIR / "generic.toml").read_text(encoding="utf-8")
    head, marker, families = text.partition("# ---- family rules")
    assert marker, "the family-rules marker comment is gone from generic.toml"
    ids = re.compile(r'^id = "([^"]+)"', re.M)
    assert ids.findall(families) and all(i.endswith("-any-wording") for i in ids.findall(families))
    assert not any(i.endswith("-any-wording") for i in ids.findall(head))
