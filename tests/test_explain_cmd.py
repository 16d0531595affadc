"""`probe explain` / `probe compare` handlers: output shape, safety, exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import unicodedata

import pytest

from knowledge import CATEGORIES, SEVERITIES, explain_reply, labels
from probe.explain_cmd import compare_main, explain_main

CONTRACT_KEYS = {"code", "enhanced", "text", "category", "severity", "title", "meaning",
                 "when", "fix", "source"}
POSTFIX_UNKNOWN = ("550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown "
                   "in local recipient table")
BOUNCE = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
    "550 5.1.1 double-checking the recipient's email address - gsmtp\n"
    "some unrelated line\n"
    "451 4.3.0 <bob@example.com>: Temporary lookup failure\n"
)


def run_explain(words: list[str], *, as_json: bool = False, lang: str | None = "en",
                stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    rc = explain_main(words, as_json=as_json, lang=lang, out=out, stdin=io.StringIO(stdin))
    return rc, out.getvalue()


def run_compare(a: str, b: str, *, as_json: bool = False, lang: str | None = "en"
                ) -> tuple[int, str]:
    out = io.StringIO()
    rc = compare_main(a, b, as_json=as_json, lang=lang, out=out)
    return rc, out.getvalue()


def cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def assert_fits_80_columns(text: str) -> None:
    for line in text.splitlines():
        if cells(line) > 80:
            # Only an unbreakable ASCII token (a URL) may overflow, after its label.
            token = line.strip().split(": ")[-1].split(" · ")[-1]
            assert " " not in token and token.isascii(), line


# ---------------------------------------------------------------- explain, JSON

def test_json_has_the_contract_shape() -> None:
    rc, out = run_explain(POSTFIX_UNKNOWN.split(), as_json=True)
    assert rc == 0
    doc = json.loads(out)
    assert isinstance(doc, dict)
    assert set(doc) >= CONTRACT_KEYS
    assert doc["code"] == 550
    assert doc["enhanced"] == "5.1.1"
    assert doc["category"] == "user_unknown"
    assert doc["severity"] == "permanent"
    assert doc["text"].startswith("5.1.1 <bob@example.com>")
    expected = explain_reply(550, doc["text"])
    assert (doc["title"], doc["fix"]) == (expected.title, expected.fix)


@pytest.mark.parametrize(("words", "code", "enhanced"), [
    (["451"], 451, None),
    (["5.1.1"], None, "5.1.1"),
    (["550", "5.1.1"], 550, "5.1.1"),
    (["550-5.1.1", "dash", "form"], 550, "5.1.1"),
])
def test_json_for_short_forms(words, code, enhanced) -> None:
    rc, out = run_explain(words, as_json=True)
    doc = json.loads(out)
    assert rc == 0
    assert (doc["code"], doc["enhanced"]) == (code, enhanced)
    assert doc["category"] in CATEGORIES
    assert doc["severity"] in SEVERITIES
    assert all(doc[k] for k in ("title", "meaning", "when", "fix"))


def test_stdin_with_several_replies_gives_an_array() -> None:
    rc, out = run_explain(["-"], as_json=True, stdin=BOUNCE)
    assert rc == 0
    docs = json.loads(out)
    assert [d["code"] for d in docs] == [550, 451]
    assert [d["category"] for d in docs] == ["user_unknown", "server_error"]
    assert all(set(d) >= CONTRACT_KEYS for d in docs)


def test_stdin_with_one_reply_gives_one_object() -> None:
    rc, out = run_explain(["-"], as_json=True, stdin="451 4.7.1 try later\n")
    assert rc == 0
    assert json.loads(out)["code"] == 451


LOG = (
    "Dec  4 10:00:01 mx postfix/smtp[123]: 4F1A: to=<bob@example.com>, relay=mx.example.com"
    "[192.0.2.1]:25, dsn=5.1.1, status=bounced (host mx.example.com[192.0.2.1] said: 550 "
    "5.1.1 User unknown (in reply to RCPT TO command))\n"
    "Dec  4 10:00:02 mx postfix/smtp[124]: 4F1B: to=<\x1b[31mcarol@example.net>, relay=x"
    "[192.0.2.2]:25, dsn=4.2.2, status=deferred (host x[192.0.2.2] said: 452 4.2.2 Mailbox "
    "full (in reply to RCPT TO command))\n"
)


def test_a_log_gives_the_recipient_of_each_reply() -> None:
    rc, out = run_explain(["-"], as_json=True, stdin=LOG)
    assert rc == 0
    assert [(d["log_recipient"], d["category"]) for d in json.loads(out)] == [
        ("bob@example.com", "user_unknown"), ("\x1b[31mcarol@example.net", "mailbox_full")]
    rc, out = run_explain(["-"], as_json=True, stdin="451 4.7.1 try later\n")
    assert json.loads(out)["log_recipient"] is None
    rc, out = run_explain(["-"], stdin=LOG)
    assert f"{labels('en')['recipient']}: bob@example.com" in out
    assert "\x1b" not in out and "\\x1b[31mcarol@example.net" in out


# ---------------------------------------------------------------- explain, plain

def test_plain_output_has_every_section() -> None:
    rc, out = run_explain(POSTFIX_UNKNOWN.split())
    assert rc == 0
    lab = labels("en")
    for key in ("description", "when", "fix_sender", "learn_more", "category", "severity"):
        assert lab[key] in out, key
    assert lab["fix_admin"] in out
    assert "user_unknown" in out
    assert "postfix.org" in out
    assert_fits_80_columns(out)


def test_plain_output_for_many_replies() -> None:
    rc, out = run_explain(["-"], stdin=BOUNCE)
    assert rc == 0
    assert out.startswith("2 ")
    assert out.count(labels("en")["description"]) == 2
    assert_fits_80_columns(out)


def test_echoed_input_is_sanitised() -> None:
    hostile = "550 5.1.1 \x1b]0;owned\x07 user \x1b[31munknown\u202e"
    rc, out = run_explain([hostile])
    assert rc == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out


def test_not_a_reply_exits_64_with_one_line_on_stderr(capsys) -> None:
    rc, out = run_explain(["hello"])
    assert rc == 64
    assert out == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "hello" in err


def test_empty_stdin_exits_64(capsys) -> None:
    rc, _ = run_explain(["-"], stdin="")
    assert rc == 64
    assert capsys.readouterr().err


def test_hostile_input_in_error_message_is_sanitised(capsys) -> None:
    rc, _ = run_explain(["\x1b[2Jnot a reply"])
    assert rc == 64
    assert "\x1b" not in capsys.readouterr().err


def test_translated_output_and_visible_fallback() -> None:
    rc, out = run_explain(["450"], lang="fr")
    assert rc == 0
    assert labels("fr")["description"] in out
    assert labels("fr")["untranslated"] not in out
    # Text patterns are not translated: a vendor's wording is explained in English, marked.
    rc, out = run_explain(["554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked "
                           "using zen.spamhaus.org"], lang="fr")
    assert rc == 0
    assert labels("fr")["untranslated"] in out


# ---------------------------------------------------------------- compare

def test_compare_plain_has_both_codes_and_sections() -> None:
    rc, out = run_compare("214", "451")
    assert rc == 0
    lab = labels("en")
    assert out.count(lab["class"] + ":") == 2
    assert lab["differences"] in out and lab["which_when"] in out
    assert "214 — " in out and "451 — " in out
    assert_fits_80_columns(out)


def test_compare_json() -> None:
    rc, out = run_compare("550", "5.7.1", as_json=True)
    assert rc == 0
    doc = json.loads(out)
    assert doc["a"]["code"] == "550" and doc["b"]["code"] == "5.7.1"
    assert doc["a"]["kind"] == "basic" and doc["b"]["kind"] == "enhanced"
    assert doc["differences"] and doc["which_when"]
    for side in ("a", "b"):
        assert {"class_name", "meaning", "when", "fix", "category", "severity"} <= set(doc[side])


def test_compare_bad_code_exits_64(capsys) -> None:
    rc, out = run_compare("214", "\x1b[31mxyz")
    assert rc == 64
    assert out == ""
    err = capsys.readouterr().err
    assert "\x1b" not in err and "xyz" in err


@pytest.mark.parametrize("lang", ["en", "zh", "fr", "tr"])
def test_every_language_fits_80_columns(lang) -> None:
    rc, out = run_compare("450", "550", lang=lang)
    assert rc == 0
    assert_fits_80_columns(out)
    rc, out = run_explain(["-"], lang=lang, stdin=BOUNCE)
    assert rc == 0
    assert_fits_80_columns(out)
    assert max(cells(line) for line in out.splitlines()) > 60  # it did wrap, not truncate


# ---------------------------------------------------------------- through the real CLI

def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def _cli_has_subcommands() -> bool:
    proc = _cli("explain", "451", "--json")
    return proc.returncode == 0 and proc.stdout.lstrip().startswith("{")


def test_cli_explain_and_compare() -> None:
    if not _cli_has_subcommands():
        pytest.skip("probe/cli.py does not route `explain` yet")
    proc = _cli("explain", *POSTFIX_UNKNOWN.split(), "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["category"] == "user_unknown"
    proc = _cli("explain", "-", "--json", stdin=BOUNCE)
    assert [d["code"] for d in json.loads(proc.stdout)] == [550, 451]
    proc = _cli("explain", "hello")
    assert proc.returncode == 64 and proc.stderr.strip()
    proc = _cli("compare", "214", "451", "--lang", "zh")
    assert proc.returncode == 0
    assert labels("zh")["differences"] in proc.stdout
