"""The knowledge package: data completeness, classifier rules, parsing, compare, i18n."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knowledge
from knowledge import (
    CATEGORIES,
    SEVERITIES,
    compare,
    explain_error,
    explain_reply,
    explain_text,
    known_codes,
    labels,
    loader,
    parse_enhanced,
    resolve_lang,
)
from knowledge.patterns import guard_literals, load_patterns, pattern_set

RFC5321_CODES = [211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455, 500, 501,
                 502, 503, 504, 521, 550, 551, 552, 553, 554, 555]
EXTRA_CODES = [235, 334, 432, 454, 530, 534, 535, 538, 556]
STAGES = ["connect", "banner", "ehlo", "helo", "help", "starttls", "tls",
          "mail", "rcpt", "vrfy", "rset", "quit"]
LANGS = ["en", "zh", "fr", "tr"]


def basic_codes() -> list[int]:
    return [int(c) for c in known_codes() if c.isdigit()]


def enhanced_codes() -> list[str]:
    return [c for c in known_codes() if c.startswith("X.")]


def assert_valid(ann: knowledge.Annotation) -> None:
    assert ann.category in CATEGORIES
    assert ann.severity in SEVERITIES
    for field in ("title", "meaning", "when", "fix"):
        assert getattr(ann, field).strip(), field


# ---------------------------------------------------------------- data completeness

@pytest.mark.parametrize("code", RFC5321_CODES + EXTRA_CODES)
def test_every_seed_code_is_described(code: int) -> None:
    assert str(code) in known_codes()
    ann = explain_reply(code, "")
    assert_valid(ann)
    assert ann.matched == f"code:{code}"
    assert ann.source


@pytest.mark.parametrize("code", [f"{k}.{s}.{d}" for k in (4, 5) for s, d in
                                  [(1, 1), (1, 10), (2, 2), (5, 3), (6, 10), (7, 1),
                                   (7, 20), (7, 25), (7, 26), (7, 27), (7, 29), (7, 30)]])
def test_enhanced_registry_entries_exist(code: str) -> None:
    assert "X." + code.split(".", 1)[1] in enhanced_codes()
    ann = explain_text(code)[0].annotation
    assert_valid(ann)
    assert ann.matched == f"enhanced:{code}"


def test_registry_is_complete_up_to_x_7_30() -> None:
    enhanced = set(enhanced_codes())
    expected = {f"X.7.{d}" for d in range(31)} | {f"X.1.{d}" for d in range(11)}
    expected |= {f"X.2.{d}" for d in range(5)} | {f"X.4.{d}" for d in range(8)}
    expected |= {f"X.5.{d}" for d in range(7)} | {f"X.6.{d}" for d in range(11)}
    expected |= {f"X.3.{d}" for d in range(7)} | {"X.0.0"}
    assert expected <= enhanced


def test_all_data_entries_use_the_contract_vocabulary() -> None:
    codes = loader.codes()
    tables = [v for k, v in codes.items() if k.startswith("c")]
    tables += [s for v in tables for s in v.get("stage", {}).values()]
    tables += list(codes["class"].values())
    tables += list(loader.enhanced()["code"].values()) + list(loader.enhanced()["subject"].values())
    tables += [v for v in loader.errors().values()]
    for table in tables:
        if "category" in table:
            assert table["category"] in CATEGORIES, table
        if "severity" in table:
            assert table["severity"] in SEVERITIES, table


def test_every_pattern_file_loads_cleanly() -> None:
    ps = pattern_set()
    assert ps.problems == ()
    files = {p.source_file for p in ps.patterns}
    assert {"generic.toml", "postfix.toml"} <= files
    assert len(files) == len(loader.pattern_files())


def test_a_toml_escape_in_a_regex_is_reported(tmp_path) -> None:
    # In a double-quoted TOML string "\\b" is a backspace, not a word boundary.
    bad = tmp_path / "escape.toml"
    bad.write_text('vendor = "X"\n[[pattern]]\nid = "x-1"\nregex = "\\bnxdomain\\b"\n'
                   'category = "other"\ntitle = "t"\nmeaning = "m"\nfix = "f"\n')
    problems = load_patterns([bad]).problems
    assert len(problems) == 1 and "control character" in problems[0]


def test_pattern_loader_reports_broken_entries(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'vendor = "X"\n'
        '[[pattern]]\nid = "x-1"\nregex = "("\ncategory = "other"\ntitle = "t"\n'
        'meaning = "m"\nfix = "f"\n'
        '[[pattern]]\nid = "x-2"\nregex = "a"\ncategory = "nonsense"\ntitle = "t"\n'
        'meaning = "m"\nfix = "f"\n'
        '[[pattern]]\nid = "x-3"\nregex = "fine"\ncategory = "other"\ntitle = "t"\n'
        'meaning = "m"\nfix = "f"\n'
        '[[pattern]]\nid = "x-3"\nregex = "dup"\ncategory = "other"\ntitle = "t"\n'
        'meaning = "m"\nfix = "f"\n',
        encoding="utf-8",
    )
    ps = load_patterns([bad])
    assert [p.id for p in ps.patterns] == ["x-3"]
    assert len(ps.problems) == 3


def test_winner_is_priority_then_regex_length_then_order(tmp_path) -> None:
    f = tmp_path / "v.toml"
    f.write_text(
        'vendor = "V"\npriority = 20\n'
        '[[pattern]]\nid = "v-short"\nregex = "mailbox full"\ncategory = "mailbox_full"\n'
        'title = "short"\nmeaning = "m"\nfix = "f"\n'
        '[[pattern]]\nid = "v-long"\nregex = "the mailbox full"\ncategory = "other"\n'
        'title = "long"\nmeaning = "m"\nfix = "f"\n'
        '[[pattern]]\nid = "v-high"\nregex = "full"\ncategory = "rate_limited"\npriority = 99\n'
        'title = "high"\nmeaning = "m"\nfix = "f"\n',
        encoding="utf-8",
    )
    ps = load_patterns([f])
    assert ps.match("sorry, the mailbox full", 552, 5, None).id == "v-high"
    assert ps.match("sorry, the mailbox full", 250, 2, None) is None  # default classes 4, 5


def test_guard_literals_are_required_substrings() -> None:
    assert guard_literals("relay access denied") == ("relay access denied",)
    assert guard_literals("(?:relay|relaying) (?:access )?denied") == ("denied",)
    assert set(guard_literals("spamhaus|barracuda") or ()) == {"spamhaus", "barracuda"}
    assert guard_literals("spamhaus|spamcop") == ("spam",)  # the parser factors prefixes
    assert guard_literals("a|b") is None


# ---------------------------------------------------------------- classifier rules

@pytest.mark.parametrize(("code", "text", "stage", "category", "severity"), [
    (502, "5.5.2 Error: command not recognized", "help", "syntax_error", "info"),
    (500, "5.5.1 Unknown command", "help", "syntax_error", "info"),
    (504, "", "help", "syntax_error", "info"),
    (214, "2.0.0 http://www.postfix.org", "help", "help", "info"),
    (211, "", None, "system_status", "info"),
    (211, "Help:->Supported Commands: HELO,EHLO,QUIT,HELP,RCPT,MAIL,DATA", "help", "help", "info"),
    (250, "2.0.0 See http://aox.org", "help", "help", "info"),
    # An EHLO keyword list is not a list of commands, even without its stage.
    (250, "mx.test\nPIPELINING\nETRN\nSTARTTLS\nAUTH PLAIN LOGIN\nHELP", None, "ok", "ok"),
    (550, "", "mail", "sender_rejected", "permanent"),
    (550, "", "rcpt", "user_unknown", "permanent"),
    (550, "5.1.1 <bob@example.com>... User unknown", "rcpt", "user_unknown", "permanent"),
    (450, "", "rcpt", "greylisted", "transient"),
    (221, "2.0.0 Bye", "quit", "ok", "ok"),
    (220, "mx.example.com ESMTP Postfix", "banner", "ok", "ok"),
    (554, "", "banner", "blocklisted_ip", "permanent"),
    (550, "", "banner", "blocklisted_ip", "permanent"),
    # After the data the recipients were accepted: a bare 550 is no unknown user.
    (550, "", "data", "policy_rejected", "permanent"),
    (554, "", "helo", "helo_rejected", "permanent"),
    (553, "", "rcpt", "syntax_error", "permanent"),
    (553, "", "mail", "sender_rejected", "permanent"),
    (421, "4.3.2 Service shutting down", None, "service_unavailable", "transient"),
    (500, "5.5.1 Command unrecognized: EHLO", "ehlo", "syntax_error", "warning"),
    (502, "5.5.1 EHLO not implemented", "ehlo", "syntax_error", "warning"),
    (530, "5.7.0 Authentication required", "mail", "auth_required", "permanent"),
    (530, "5.7.0 Must issue a STARTTLS command first", "mail", "tls_required", "permanent"),
    (502, "5.5.1 VRFY command is disabled", "vrfy", "other", "info"),
    (550, "5.1.1 no such user", "vrfy", "user_unknown", "info"),
])
def test_stage_aware_rules(code, text, stage, category, severity) -> None:
    ann = explain_reply(code, text, stage)
    assert (ann.category, ann.severity) == (category, severity)
    assert_valid(ann)


@pytest.mark.parametrize(("code", "text", "category", "pattern"), [
    (554, "5.7.1 <bob@example.com>: Relay access denied", "relay_denied",
     "postfix-relay-access-denied"),
    (550, "5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local "
          "recipient table", "user_unknown", "postfix-user-unknown"),
    (550, "5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual "
          "mailbox table", "user_unknown", "postfix-user-unknown"),
    (450, "4.1.8 <a@nowhere.invalid>: Sender address rejected: Domain not found",
     "sender_rejected", "postfix-sender-domain-not-found"),
    (450, "4.7.1 Client host rejected: cannot find your hostname, [198.51.100.7]",
     "ptr_rdns_required", "postfix-client-no-hostname"),
    (504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
     "helo_rejected", "postfix-helo-fqdn"),
    (450, "4.7.1 <x.example>: Helo command rejected: Host not found", "helo_rejected",
     "postfix-helo-not-found"),
    (554, "5.7.1 Service unavailable; Client host [203.0.113.9] blocked using "
          "zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.9",
     "blocklisted_ip", "postfix-dnsbl-client"),
    (452, "4.3.1 Insufficient system storage", "server_error", "postfix-insufficient-storage"),
    (451, "4.3.5 Server configuration error", "server_error", "postfix-server-config-error"),
    (421, "4.7.0 mx.example.com Error: too many connections from 192.0.2.55", "rate_limited",
     "postfix-too-many-connections"),
    (452, "4.5.3 Error: too many recipients", "rate_limited", "postfix-too-many-recipients"),
    (552, "5.3.4 Message size exceeds fixed limit", "message_too_large", "postfix-message-size"),
    (530, "5.7.0 Must issue a STARTTLS command first", "tls_required", "postfix-must-starttls"),
])
def test_postfix_replies(code, text, category, pattern) -> None:
    ann = explain_reply(code, text, "rcpt")
    assert ann.category == category
    assert ann.evidence == f"pattern:{pattern}"
    assert "Postfix" in ann.source


def test_matching_ignores_case_whitespace_and_variable_parts() -> None:
    a = explain_reply(550, "5.1.1 <a@b.example>: Recipient address rejected: "
                      "User unknown in local recipient table", "rcpt")
    b = explain_reply(550, "5.1.1 <zz9@other.example>:  RECIPIENT ADDRESS REJECTED:\n"
                      "USER   unknown in LOCAL recipient\ttable", "rcpt")
    assert a.evidence == b.evidence == "pattern:postfix-user-unknown"


def test_evidence_order_pattern_enhanced_stage_code_class() -> None:
    assert explain_reply(550, "5.7.1 Relay access denied", "rcpt").evidence.startswith("pattern:")
    # Texts no labelled reply resembles ("go away" did once; real refusals say it now),
    # so only the codes speak.
    assert explain_reply(550, "5.7.1 xyzzy plugh", "rcpt").evidence == "enhanced:5.7.1"
    assert explain_reply(550, "5.0.0 xyzzy plugh", "rcpt").evidence == "code:550@rcpt"
    assert explain_reply(550, "xyzzy plugh", None).evidence == "code:550"
    unknown = explain_reply(559, "xyzzy", None)
    assert unknown.evidence == "class:5"
    assert unknown.severity == "permanent"
    assert explain_reply(429, "", None).severity == "transient"


def test_enhanced_code_on_success_does_not_override_the_code() -> None:
    ann = explain_reply(250, "2.1.5 Ok", "rcpt")
    assert ann.category == "ok"
    assert ann.matched == "code:250@rcpt"
    assert ann.enhanced == "2.1.5"
    assert ann.enhanced_title


def test_invalid_codes_never_fail() -> None:
    for code in (0, 99, 199, 600, 999, -5):
        ann = explain_reply(code, "whatever", "rcpt")
        assert_valid(ann)
        assert ann.matched == "class:invalid"


@pytest.mark.parametrize("kind", ["timeout", "refused", "closed", "protocol", "tls", "dns",
                                  "unreachable", "weird"])
@pytest.mark.parametrize("stage", ["connect", "banner", "starttls", "tls", "rcpt"])
def test_explain_error(kind, stage) -> None:
    ann = explain_error(kind, stage)
    assert_valid(ann)
    assert ann.severity == "transient"
    assert ann.matched.startswith("error:")


def test_explain_error_is_stage_aware() -> None:
    connect = explain_error("timeout", "connect")
    banner = explain_error("timeout", "banner")
    assert connect.title != banner.title
    assert "port 25" in connect.meaning.lower()
    assert "tarpit" in banner.meaning.lower()


# ---------------------------------------------------------------- enhanced parsing

@pytest.mark.parametrize(("text", "expected"), [
    ("5.1.1 <bob@x>: user unknown", "5.1.1"),
    ("5.1.1", "5.1.1"),
    ("  4.7.1 try later", "4.7.1"),
    ("5.01.001 padded", "5.1.1"),
    ("5.7.26 Unauthenticated", "5.7.26"),
    ("5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
    ("550 5.1.1 with code", "5.1.1"),
    ("550-5.1.1 dash", "5.1.1"),
    ("5.1.1: colon", "5.1.1"),
    ("2.0.0 Ok", "2.0.0"),
    ("3.1.1 bad class", None),
    ("5.1 too short", None),
    ("5.1.1000 too long", None),
    ("5.1.1.1 is an address", None),
    ("5.1.1x", None),
    ("user unknown 5.1.1", None),
    ("", None),
])
def test_parse_enhanced(text, expected) -> None:
    assert parse_enhanced(text) == expected


# ---------------------------------------------------------------- explain_text

def test_explain_text_short_forms() -> None:
    [a] = explain_text("451")
    assert (a.code, a.enhanced, a.annotation.matched) == (451, None, "code:451")
    [b] = explain_text("5.1.1")
    assert (b.code, b.enhanced, b.annotation.category) == (None, "5.1.1", "user_unknown")
    [c] = explain_text("550 5.1.1")
    assert (c.code, c.enhanced) == (550, "5.1.1")
    assert explain_text("hello") == []
    assert explain_text("Content-Length: 250") == []


def test_explain_text_multiline_reply_is_one_reply() -> None:
    found = explain_text(
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser - gsmtp\n"
        "451 4.7.1 Greylisting in action, please come back later\n"
    )
    assert [(f.code, f.annotation.category) for f in found] == [
        (550, "user_unknown"), (451, "greylisted")]
    assert found[0].text.count("\n") == 2


def test_explain_text_postfix_log_line_gives_the_stage() -> None:
    [found] = explain_text(
        "Nov 22 07:15:32 mx postfix/smtp[1234]: 4F3A2B1C0D: to=<bob@example.com>, "
        "relay=mx.example.com[192.0.2.10]:25, delay=0.5, dsn=5.1.1, status=bounced "
        "(host mx.example.com[192.0.2.10] said: 550 5.1.1 <bob@example.com>: Recipient "
        "address rejected: User unknown in local recipient table (in reply to RCPT TO command))"
    )
    assert found.code == 550
    assert found.stage == "rcpt"
    assert found.annotation.evidence == "pattern:postfix-user-unknown"


def test_explain_text_bounce_with_folded_lines_and_dsn_counts_once() -> None:
    found = explain_text(
        "<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1\n"
        "    <bob@example.com>: Recipient address rejected: User unknown in local\n"
        "    recipient table (in reply to RCPT TO command)\n"
        "\n"
        "Reporting-MTA: dns; mail.example.org\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient address\n"
        "    rejected: User unknown in local recipient table\n"
    )
    assert len(found) == 1
    assert found[0].annotation.category == "user_unknown"
    assert found[0].stage == "rcpt"


def test_explain_text_exim_banner_and_status_only() -> None:
    [exim] = explain_text(
        "SMTP error from remote mail server after MAIL FROM:<a@example.org> SIZE=1234:\n"
        "550 5.7.1 Sender rejected by policy\n")
    assert exim.stage == "mail"
    [banner] = explain_text("host mx.example.com[192.0.2.1] refused to talk to me: "
                            "554 5.7.1 Service unavailable; Client host blocked")
    assert banner.stage == "banner"
    [status] = explain_text("Action: failed\nStatus: 5.2.2\n")
    assert (status.code, status.enhanced, status.annotation.category) == (
        None, "5.2.2", "mailbox_full")


# ---------------------------------------------------------------- property tests

@settings(max_examples=300, deadline=None)
@given(code=st.integers(min_value=-1000, max_value=10000), text=st.text(max_size=300),
       stage=st.sampled_from([*STAGES, None, "data", ""]), lang=st.sampled_from(LANGS))
def test_explain_reply_never_raises(code, text, stage, lang) -> None:
    ann = explain_reply(code, text, stage, lang)
    assert ann.category in CATEGORIES
    assert ann.severity in SEVERITIES
    assert ann.title


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(
    st.text(max_size=400),
    st.lists(st.tuples(st.integers(100, 699), st.sampled_from([" ", "-", ""]),
                       st.text(max_size=60)), max_size=6).map(
        lambda parts: "\n".join(f"{c}{sep}{t}" for c, sep, t in parts)),
))
def test_explain_text_never_raises(text) -> None:
    for item in explain_text(text):
        assert item.annotation.category in CATEGORIES
        assert item.annotation.severity in SEVERITIES
        assert item.code is not None or item.enhanced is not None


# ---------------------------------------------------------------- compare

def test_compare_every_pair_of_basic_codes() -> None:
    codes = [str(c) for c in basic_codes()]
    for a, b in itertools.combinations(codes, 2):
        result = compare(a, b)
        assert result.a.code == a and result.b.code == b
        assert result.differences and result.which_when
        assert all(d.strip() for d in result.differences)


def test_compare_mentions_the_real_differences() -> None:
    result = compare("214", "451")
    text = " ".join(result.differences)
    assert "2xx" in text and "4xx" in text
    assert result.a.annotation.category == "help"
    assert result.b.annotation.severity == "transient"
    mixed = compare("550", "5.1.1")
    assert any("550 5.1.1" in d for d in mixed.differences)
    enhanced = compare("5.1.1", "5.7.1")
    assert any("addressing" in d and "security" in d for d in enhanced.differences)
    staged = compare("550@mail", "550@rcpt")
    assert staged.a.annotation.category == "sender_rejected"
    assert staged.b.annotation.category == "user_unknown"


def test_compare_enhanced_pairs_and_bad_input() -> None:
    for a, b in itertools.combinations(["5.1.1", "4.2.2", "2.0.0", "X.7.26", "5.9.9"], 2):
        assert compare(a, b).differences
    for bad in ("hello", "600", "5.1", "550@nowhere"):
        with pytest.raises(ValueError):
            compare(bad, "250")


# ---------------------------------------------------------------- i18n

def test_every_language_has_every_label() -> None:
    english = loader.translations("en")
    for lang in LANGS:
        data = loader.translations(lang)
        for section in ("labels", "categories", "severities", "retry", "actor", "stages",
                        "templates"):
            missing = set(english[section]) - set(data.get(section, {}))
            assert not missing, (lang, section, missing)
        assert set(data["categories"]) == set(CATEGORIES)
        assert set(labels(lang)) == set(english["labels"])


def test_templates_format_in_every_language() -> None:
    for lang in LANGS:
        result = compare("550", "5.7.1", lang)
        assert result.lang == lang
        assert all("{" not in d for d in result.differences + result.which_when)


def test_translation_is_used_or_visibly_english() -> None:
    fr = explain_reply(450, "", "rcpt", "fr")
    en = explain_reply(450, "", "rcpt", "en")
    assert fr.lang in ("fr", "en")
    if fr.lang == "fr":
        assert fr.title != en.title
    else:
        assert fr.title == en.title
    # A vendor's wording (text patterns are not translated) stays English and says so.
    dnsbl = "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
    rare = explain_reply(554, dnsbl, "rcpt", "fr")
    assert rare.matched.startswith("pattern:")
    assert (rare.lang, rare.title) == ("en", explain_reply(554, dnsbl, "rcpt").title)


def test_translated_common_codes_are_complete() -> None:
    for lang in ("zh", "fr", "tr"):
        codes = loader.translations(lang).get("code", {})
        for code, entry in codes.items():
            english = loader.codes()[f"c{code}"]
            for field in ("title", "meaning", "when", "fix", "fix_admin"):
                if english.get(field):
                    assert entry.get(field), (lang, code, field)


@pytest.mark.parametrize(("explicit", "env", "expected"), [
    ("fr", {}, "fr"),
    ("zh", {"LANG": "fr_FR.UTF-8"}, "zh"),
    (None, {"LANG": "fr_FR.UTF-8"}, "fr"),
    (None, {"LC_ALL": "tr_TR.UTF-8", "LANG": "fr_FR.UTF-8"}, "tr"),
    (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "fr_FR"}, "zh"),
    (None, {"LANG": "C.UTF-8"}, "en"),
    (None, {"LANG": "de_DE.UTF-8"}, "en"),
    ("klingon", {"LANG": "fr_FR.UTF-8"}, "en"),
    ("../../etc/passwd", {}, "en"),
    (None, {}, "en"),
])
def test_resolve_lang(monkeypatch, explicit, env, expected) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert resolve_lang(explicit) == expected


# ---------------------------------------------------------------- packaging hygiene

def test_import_is_cheap_and_ui_free() -> None:
    code = (
        "import sys, knowledge\n"
        "assert not any(m.split('.')[0] in ('probe', 'textual', 'rich') for m in sys.modules)\n"
        "from knowledge import loader, patterns\n"
        "assert loader.codes.cache_info().currsize == 0\n"
        "assert patterns.pattern_set.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_data_files_are_valid_toml() -> None:
    for path in [loader.ROOT / n for n in ("codes.toml", "enhanced.toml", "errors.toml")] + \
            list(loader.I18N_DIR.glob("*.toml")) + loader.pattern_files():
        with path.open("rb") as handle:
            tomllib.load(handle)


def test_notice_words_are_lowercase_phrases() -> None:
    """notices.toml is matched against lowercased text: an entry with a capital
    letter, or an empty one, would never match (or match everything)."""
    from knowledge import loader

    for kind in ("subject_words", "openings", "delay_words", "original_markers",
                 "alias_phrases"):
        words = loader.notice_words(kind)
        assert words, kind
        assert all(w and w == w.lower() and w == w.strip() for w in words), kind


def test_an_enhanced_code_repeated_on_every_line_is_read_once() -> None:
    """Gmail leads each line of a multiline reply with "5.7.1" (RFC 2034), as a
    live session or a transcript gives it; the words across the line break
    are read as the corpus has them, with the code once."""
    lines = ["The IP you're using to send mail is not authorized to",
             "send email directly to our servers. Please use the SMTP relay at your",
             "service provider instead."]
    repeated = "\n".join(f"5.7.1 {line}" for line in lines)
    once = "5.7.1 " + "\n".join(lines)
    assert explain_reply(550, repeated, "mail") == explain_reply(550, once, "mail")
    assert explain_reply(550, repeated, "mail").category == "blocklisted_ip"
