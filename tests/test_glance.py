"""The issue's case end to end: `probe good.test --rcpt alice@ --rcpt nobody@` on a
domain with two MX hosts, through the real CLI, the loopback DNS server and two
aiosmtpd servers. nobody@ is unknown on mx1 only, alice@ greylisted on mx2 only.

Golden files pin the plain report's verdict block (the matrix, the verdict, each
problem with its fix) and `--brief`; the JSON `summary` says the same; `--timing`
draws a bar per step, in ASCII under TERM=dumb; `--lang` covers the verdict.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.test_cli_dns import dns_server, probe, smtp_farm  # noqa: F401 (fixtures)
from tests.test_dialogs import check_golden, normalise_plain

ZONE = """
good.test.     MX 10 mx1.good.test.
good.test.     MX 20 mx2.good.test.
mx1.good.test. A  127.0.0.2
mx2.good.test. A  127.0.0.3
"""
REJECTS = {
    "127.0.0.2": {"nobody@good.test": "550 5.1.1 <nobody@good.test>: Recipient address "
                                      "rejected: User unknown in local recipient table"},
    "127.0.0.3": {"alice@good.test": "450 4.2.0 <alice@good.test>: Recipient address "
                                     "rejected: Greylisted, see "
                                     "http://postgrey.schweikert.ch/help/good.test.html"},
}
RCPTS = ("--rcpt", "alice@good.test", "--rcpt", "nobody@good.test")


@pytest.fixture
def good(dns_server, smtp_farm):  # noqa: F811
    farm = smtp_farm(["127.0.0.2", "127.0.0.3"], per_address=REJECTS)
    dns = dns_server(ZONE)

    def run(*extra: str, env: dict[str, str] | None = None):
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            return probe("good.test", "--nameserver", dns.nameserver_arg, "--port",
                         str(farm.port), "--helo", "probe.test", "--timeout", "5", *RCPTS,
                         *extra)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    run.port = farm.port  # type: ignore[attr-defined]
    return run


def _ports(text: str, port: int) -> str:
    return text.replace(f":{port}", ":PORT")


def test_plain_report_ends_with_the_matrix_and_who_failed_where(good):
    result = good("--plain", "--no-checks")  # health checks have their own tests
    assert result.code == 2, result.stderr
    text = _ports(normalise_plain(result.stdout), good.port)
    check_golden("two_hosts.txt", text)
    verdict = text[text.index("Results for good.test"):]
    assert "nobody@good.test: recipient does not exist on mx1.good.test (550 5.1.1)" in verdict
    assert "alice@good.test: greylisted on mx2.good.test (450 4.2.0)" in verdict
    # What stays on an 80x24 screen after the run: the matrix, the verdict, both fixes.
    last = text.rstrip("\n").split("\n")[-23:]
    assert any("550 user_unknown" in line for line in last)
    assert any(line.startswith("Verdict: permanent (exit 2)") for line in last)
    assert sum(line.lstrip().startswith("->") for line in last) >= 3
    # The same explanation is printed once; the header names what was really sent.
    assert text.count("Description: ") == 2  # the 550 and the 450, each once
    assert "EHLO probe.test" in text.split("\n")[1]


def test_brief_prints_the_matrix_the_problems_and_the_verdict_only(good):
    result = good("--plain", "--brief")
    assert result.code == 2, result.stderr
    check_golden("two_hosts_brief.txt", result.stdout)
    assert "-> EHLO" not in result.stdout and "MX (mx)" not in result.stdout


def test_json_summary_is_the_same_matrix_and_the_same_words(good):
    doc = good("--json").doc
    summary = doc["summary"]
    assert summary["rcpts"] == ["alice@good.test", "nobody@good.test"]
    assert [(h["host"], h["address"]) for h in summary["hosts"]] == [
        ("mx1.good.test", "127.0.0.2"), ("mx2.good.test", "127.0.0.3")]
    labels = [[cell["label"] for cell in row] for row in summary["matrix"]]
    assert labels == [["250 ok", "450 greylisted"], ["550 user_unknown", "250 ok"]]
    alice_mx2 = summary["matrix"][0][1]
    step = doc["hosts"][1]["steps"][alice_mx2["step"]]
    assert step["command"] == "RCPT TO:<alice@good.test>" and step["reply"]["code"] == 450
    assert [p["text"] for p in summary["problems"]] == [
        "nobody@good.test: recipient does not exist on mx1.good.test (550 5.1.1)",
        "alice@good.test: greylisted on mx2.good.test (450 4.2.0)",
    ]
    assert all(p["fix"] for p in summary["problems"])


def test_timing_draws_one_bar_per_step_in_ascii_under_a_dumb_terminal(good):
    result = good("--plain", "--brief", "--timing", env={"TERM": "dumb"})
    out = result.stdout
    assert "Timing (to scale:" in out
    rows = [line for line in out.split("\n") if re.match(r"   (connect|greeting|EHLO|HELP|"
                                                        r"MAIL FROM|RCPT TO|QUIT)", line)]
    assert len(rows) >= 2 * 6
    assert all(re.search(r"\d+(\.\d+)? m?s +#+$", row) for row in rows), rows
    assert not any(ch in out for ch in "▏▎▍▌▋▊▉█")
    unicode = good("--plain", "--brief", "--timing", env={"TERM": "xterm"}).stdout
    assert "█" in unicode or "▏" in unicode


def test_lang_covers_the_verdict_and_an_unknown_language_is_said_once(good):
    from probe.present.words import say

    zh = good("--plain", "--brief", "--lang", "zh")
    assert say("zh", "verdict", outcome=say("zh", "outcome_permanent"), exit=2) in zh.stdout
    assert "在 mx1.good.test 上收件人不存在 (550 5.1.1)" in zh.stdout
    assert "Verdict" not in zh.stdout and "receiving admin" not in zh.stdout
    de = good("--plain", "--brief", "--lang", "de")
    assert de.stderr.count("language 'de' is not supported") == 1
    assert "Verdict: permanent (exit 2)" in de.stdout
