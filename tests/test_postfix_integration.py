"""The real CLI against a real Postfix: the contract as admins will meet it.

Every test here runs `python -m probe` in a subprocess against the private
Postfix instance from `tests/postfix.py` (127.0.0.1, an unprivileged port) and
checks CONTRACT.md against what Postfix actually sent: the JSON keys, the
stage sequence, the replies and enhanced codes verbatim, the category of every
annotation, TLS details, exit codes, `--quit-after`, `--no-starttls` and the
plain view. Postfix's own log is the independent witness for the two promises
the probe's output cannot prove about itself: every session ends with QUIT,
and DATA is never sent (smtpd's `disconnect from` line counts every command
it received).

The first tests talk to Postfix with smtplib and no probe code at all: they
pin the fixture, so a failure in the CLI tests can be blamed on the CLI, not
on a misconfigured server.
"""

from __future__ import annotations

import re
import smtplib
import ssl

import pytest

from tests import dnsserver, postfix
from tests.postfix import PostfixInstance
from tests.probe_cli import (
    FULL_DIALOG,
    Run,
    assert_well_formed,
    one_step,
    only_host,
    run_cli,
    stages,
    steps_of,
    words_in_order,
)

postfix_server = postfix.postfix_server
dns_server = dnsserver.dns_server

HELO = "probe.test"
DOMAIN = postfix.MYDOMAIN
MX_NAME = postfix.MYHOSTNAME
BANNER = f"{MX_NAME} ESMTP Postfix (Debian/GNU)"


# -- running the CLI -----------------------------------------------------------


def probe_json(server: PostfixInstance, *extra: str, rcpts: tuple[str, ...] = ()) -> Run:
    """The usual run: `--mx` straight at the instance, JSON out, trusting the test CA."""
    args = [DOMAIN, "--mx", server.mx_arg, "--json", "--helo", HELO]
    args += ["--tls-ca-file", str(server.ca_pem), "--timeout", "30"]
    for rcpt in rcpts:
        args += ["--rcpt", rcpt]
    return run_cli(server, *args, *extra)


def server_counts(run: Run) -> dict[str, str]:
    """smtpd's per-command counters for the run's single session ("rcpt" -> "1/2")."""
    assert len(run.sessions) == 1, run.describe()
    line = run.sessions[0]
    return dict(re.findall(r"\b([a-z]+)=(\d+(?:/\d+)?)", line.split(" disconnect from ", 1)[1]))


def assert_quit_and_no_data(run: Run) -> None:
    """What Postfix saw: QUIT ended every session, DATA/BDAT never arrived."""
    assert run.sessions, "Postfix logged no session for this run\n" + run.describe()
    for line in run.sessions:
        assert " quit=1" in line, f"session did not end with QUIT: {line}\n{run.describe()}"
        assert " data=" not in line and " bdat=" not in line, line


# -- the fixture itself, without probe code ------------------------------------


def smtp_session(server: PostfixInstance) -> smtplib.SMTP:
    client = smtplib.SMTP(server.host, server.port, local_hostname=HELO, timeout=30)
    client.ehlo()
    return client


def test_fixture_replies_as_configured(postfix_server: PostfixInstance) -> None:
    """Pin the server side: these exact replies are what the CLI tests expect."""
    offset = postfix_server.quiet_offset()
    with smtplib.SMTP(postfix_server.host, postfix_server.port, timeout=30) as client:
        # HELO is required before MAIL.
        assert client.docmd("MAIL FROM:<>") == (503, b"5.5.1 Error: send HELO/EHLO first")
        code, text = client.ehlo(HELO)
        assert code == 250 and b"STARTTLS" in text and text.startswith(MX_NAME.encode())
        assert client.docmd("HELP") == (500, b"5.5.2 Error: command not recognized")
        assert client.docmd("VRFY alice") == (502, b"5.5.1 VRFY command is disabled")
        assert client.docmd("MAIL FROM:<>") == (250, b"2.1.0 Ok")
        expected = {
            f"alice@{DOMAIN}": (250, "2.1.5 Ok"),
            f"nobody@{DOMAIN}": (
                550,
                f"5.1.1 <nobody@{DOMAIN}>: Recipient address rejected: "
                "User unknown in local recipient table",
            ),
            "x@elsewhere.test": (554, "5.7.1 <x@elsewhere.test>: Relay access denied"),
            f"grey@{DOMAIN}": (
                450,
                f"4.2.0 <grey@{DOMAIN}>: Recipient address rejected: Greylisted, see "
                f"http://postgrey.schweikert.ch/help/{DOMAIN}.html",
            ),
            f"tempfail@{DOMAIN}": (
                451,
                f"4.3.0 <tempfail@{DOMAIN}>: Recipient address rejected: Temporary lookup failure",
            ),
            f"full@{DOMAIN}": (
                452,
                f"4.2.2 <full@{DOMAIN}>: Recipient address rejected: Mailbox full",
            ),
            f"moved@{DOMAIN}": (
                551,
                f"5.1.6 <moved@{DOMAIN}>: Recipient address rejected: "
                "User not local; please try <alice@elsewhere.test>",
            ),
        }
        for rcpt, (code, text) in expected.items():
            assert client.docmd(f"RCPT TO:<{rcpt}>") == (code, text.encode()), rcpt
        assert client.docmd("RSET")[0] == 250
        assert client.docmd("MAIL FROM:<spammer@bad.test>")[0] == 250  # smtpd_delay_reject
        assert client.docmd(f"RCPT TO:<alice@{DOMAIN}>") == (
            554,
            b"5.7.1 <spammer@bad.test>: Sender address rejected: Sender blocked by local policy",
        )
        context = ssl.create_default_context(cafile=str(postfix_server.ca_pem))
        client.docmd("RSET")
        client.starttls(context=context)  # verifies the chain for 127.0.0.1 (IP SAN)
        code, text = client.ehlo(HELO)
        assert code == 250 and b"STARTTLS" not in text
    sessions = postfix_server.sessions_since(offset)
    assert len(sessions) == 1 and " quit=1" in sessions[0], sessions


def test_fixture_certificate_names_the_mx(postfix_server: PostfixInstance) -> None:
    """The certificate verifies for mx.postfix.test against the fixture's CA."""
    offset = postfix_server.quiet_offset()
    context = ssl.create_default_context(cafile=str(postfix_server.ca_pem))
    with smtplib.SMTP(postfix_server.host, postfix_server.port, timeout=30) as client:
        client.ehlo(HELO)
        assert client.docmd("STARTTLS") == (220, b"2.0.0 Ready to start TLS")
        # Verifies the chain and that the certificate covers MX_NAME (sent as SNI).
        with context.wrap_socket(client.sock, server_hostname=MX_NAME) as tls:
            cert = tls.getpeercert()
            tls.sendall(b"QUIT\r\n")
            assert tls.recv(100).startswith(b"221 ")
        client.sock = None  # already closed with the TLS layer
    assert ("commonName", MX_NAME) in (pair for rdn in cert["subject"] for pair in rdn)
    sessions = postfix_server.sessions_since(offset)
    assert len(sessions) == 1 and " starttls=1 quit=1" in sessions[0], sessions


# -- the CLI: a clean run ------------------------------------------------------


def test_accepted_run_json_contract(postfix_server: PostfixInstance) -> None:
    run = probe_json(postfix_server)
    assert run.returncode == 0, run.describe()
    assert_well_formed(run)
    doc = run.doc
    assert doc["target"] == DOMAIN
    assert doc["domain"] == DOMAIN
    assert doc["domain_unicode"] == DOMAIN
    assert doc["mx"]["source"] == "override"
    assert doc["outcome"] == "ok" and doc["exit_code"] == 0

    host = only_host(run)
    assert host["address"] == postfix_server.host
    assert host["port"] == postfix_server.port
    assert host["outcome"] == "ok"
    assert stages(host) == FULL_DIALOG, run.describe()

    banner = one_step(host, "banner")
    assert banner["command"] is None
    assert banner["reply"] == {**banner["reply"], "code": 220, "lines": [BANNER]}
    assert banner["annotation"]["category"] == "ok"

    ehlo_plain, ehlo_tls = steps_of(host, "ehlo")
    assert ehlo_plain["command"] == f"EHLO {HELO}"
    assert ehlo_plain["reply"]["code"] == 250
    assert ehlo_plain["reply"]["lines"][0] == MX_NAME
    assert "STARTTLS" in ehlo_plain["reply"]["lines"]
    assert "ENHANCEDSTATUSCODES" in ehlo_plain["reply"]["lines"]
    assert ehlo_tls["reply"]["code"] == 250
    assert "STARTTLS" not in ehlo_tls["reply"]["lines"]  # Postfix stops offering it
    for step in (ehlo_plain, ehlo_tls):
        assert step["annotation"]["category"] == "ok"

    # Postfix does not implement HELP: 500 5.5.2, a command it does not take
    # (syntax_error, as LABELS.md rule 11 says). Informational, never a failure.
    help_step = one_step(host, "help")
    assert help_step["command"] == "HELP"
    assert help_step["reply"]["code"] == 500
    assert help_step["reply"]["enhanced"] == "5.5.2"
    assert help_step["reply"]["lines"] == ["5.5.2 Error: command not recognized"]
    assert help_step["annotation"]["category"] == "syntax_error"
    assert help_step["annotation"]["severity"] == "info"

    starttls = one_step(host, "starttls")
    assert starttls["command"] == "STARTTLS"
    assert starttls["reply"]["code"] == 220
    assert starttls["reply"]["lines"] == ["2.0.0 Ready to start TLS"]
    assert starttls["annotation"]["category"] == "ok"
    tls_step = one_step(host, "tls")
    assert tls_step["error"] is None

    mail = one_step(host, "mail")
    assert mail["command"] == "MAIL FROM:<>"
    assert mail["reply"] == {
        **mail["reply"],
        "code": 250,
        "enhanced": "2.1.0",
        "lines": ["2.1.0 Ok"],
    }
    assert mail["annotation"]["category"] == "ok"
    assert mail["annotation"]["severity"] == "ok"

    rcpt = one_step(host, "rcpt")
    assert rcpt["command"] == f"RCPT TO:<postmaster@{DOMAIN}>"  # the documented default
    assert rcpt["reply"] == {
        **rcpt["reply"],
        "code": 250,
        "enhanced": "2.1.5",
        "lines": ["2.1.5 Ok"],
    }
    assert rcpt["annotation"]["category"] == "ok"

    quit_step = one_step(host, "quit")
    assert quit_step["command"] == "QUIT"
    assert quit_step["reply"]["code"] == 221
    assert quit_step["reply"]["lines"] == ["2.0.0 Bye"]
    assert quit_step["annotation"]["category"] == "ok"

    for step in host["steps"]:
        assert step["error"] is None, step

    counts = server_counts(run)
    assert counts == {
        "ehlo": "2", "starttls": "1", "mail": "1", "rcpt": "1", "quit": "1",
        "unknown": "0/1", "commands": "6/7",
    }, run.sessions  # fmt: skip
    assert_quit_and_no_data(run)


def test_tls_details_from_the_real_handshake(postfix_server: PostfixInstance) -> None:
    run = probe_json(postfix_server)
    host = only_host(run)
    tls = host["tls"]
    assert tls is not None, run.describe()
    assert tls["version"] in {"TLSv1.2", "TLSv1.3"}
    assert tls["cipher"]
    cert = tls["certificate"]
    assert MX_NAME in cert["subject"]
    assert "Probe Test MX" in cert["subject"]
    assert "Probe Test CA" in cert["issuer"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cert["not_after"])
    assert cert["self_signed"] is False
    assert cert["expired"] is False
    # --mx gives an IP address; the leaf carries it as an IP SAN.
    assert cert["hostname_match"] is True
    assert cert["verify_error"] is None, cert
    # Postfix logs the same protocol and cipher for the session.
    log = postfix_server.log_text()
    assert f"{tls['version']} with cipher {tls['cipher']}" in log


def tls_check(host: dict) -> dict:
    (check,) = [c for c in host["checks"] if c["check"] == "tls"]
    return check


def test_untrusted_certificate_is_a_tls_verdict_not_a_failure(
        postfix_server: PostfixInstance) -> None:
    """Without the test CA the chain cannot verify: reported, exit code unchanged."""
    run = run_cli(postfix_server, DOMAIN, "--mx", postfix_server.mx_arg, "--json", "--helo", HELO,
                  "--checks", "tls")
    assert run.returncode == 0, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    cert = host["tls"]["certificate"]
    assert cert["verify_error"], cert
    check = tls_check(host)
    assert (check["code"], check["status"]) == ("tls_cert_untrusted", "warn"), check
    assert stages(host) == FULL_DIALOG
    assert_quit_and_no_data(run)


# -- replies, categories and exit codes ----------------------------------------


@pytest.mark.parametrize(
    ("rcpt", "code", "line", "category", "severity", "exit_code"),
    [
        (f"alice@{DOMAIN}", 250, "2.1.5 Ok", "ok", "ok", 0),
        (
            f"nobody@{DOMAIN}",
            550,
            f"5.1.1 <nobody@{DOMAIN}>: Recipient address rejected: "
            "User unknown in local recipient table",
            "user_unknown",
            "permanent",
            2,
        ),
        (
            "x@elsewhere.test",
            554,
            "5.7.1 <x@elsewhere.test>: Relay access denied",
            "relay_denied",
            "permanent",
            2,
        ),
        (
            f"grey@{DOMAIN}",
            450,
            f"4.2.0 <grey@{DOMAIN}>: Recipient address rejected: Greylisted, see "
            f"http://postgrey.schweikert.ch/help/{DOMAIN}.html",
            "greylisted",
            "transient",
            1,
        ),
        (
            f"tempfail@{DOMAIN}",
            451,
            f"4.3.0 <tempfail@{DOMAIN}>: Recipient address rejected: Temporary lookup failure",
            "server_error",
            "transient",
            1,
        ),
        (
            f"full@{DOMAIN}",
            452,
            f"4.2.2 <full@{DOMAIN}>: Recipient address rejected: Mailbox full",
            "mailbox_full",
            "transient",
            1,
        ),
        (
            f"moved@{DOMAIN}",
            551,
            f"5.1.6 <moved@{DOMAIN}>: Recipient address rejected: "
            "User not local; please try <alice@elsewhere.test>",
            "user_not_local",
            "permanent",
            2,
        ),
    ],
    ids=["ok", "user-unknown", "relay-denied", "greylisted", "tempfail", "full", "not-local"],
)
def test_rcpt_reply_category_and_exit_code(
    postfix_server: PostfixInstance,
    rcpt: str,
    code: int,
    line: str,
    category: str,
    severity: str,
    exit_code: int,
) -> None:
    run = probe_json(postfix_server, rcpts=(rcpt,))
    assert run.returncode == exit_code, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    assert stages(host) == FULL_DIALOG, run.describe()
    step = one_step(host, "rcpt")
    assert step["command"] == f"RCPT TO:<{rcpt}>"
    assert step["reply"]["code"] == code
    assert step["reply"]["enhanced"] == line.split(" ", 1)[0]
    assert step["reply"]["lines"] == [line]
    assert step["annotation"]["category"] == category, step["annotation"]
    assert step["annotation"]["severity"] == severity, step["annotation"]
    outcome = {0: "ok", 1: "transient", 2: "permanent"}[exit_code]
    assert host["outcome"] == outcome
    assert run.doc["outcome"] == outcome
    # The reply Postfix logged is the one the probe reports.
    if code != 250:
        assert f"{code} {line}; from=<> to=<{rcpt}>" in postfix_server.log_text()
    assert_quit_and_no_data(run)


def test_sender_rejected(postfix_server: PostfixInstance) -> None:
    """smtpd_delay_reject (the default): MAIL is accepted, the sender is refused at RCPT."""
    run = probe_json(postfix_server, "--mail-from", "spammer@bad.test")
    assert run.returncode == 2, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    mail = one_step(host, "mail")
    assert mail["command"] == "MAIL FROM:<spammer@bad.test>"
    assert mail["reply"]["code"] == 250
    rcpt = one_step(host, "rcpt")
    assert rcpt["reply"]["code"] == 554
    assert rcpt["reply"]["enhanced"] == "5.7.1"
    assert rcpt["reply"]["lines"] == [
        "5.7.1 <spammer@bad.test>: Sender address rejected: Sender blocked by local policy"
    ]
    assert rcpt["annotation"]["category"] == "sender_rejected", rcpt["annotation"]
    assert rcpt["annotation"]["severity"] == "permanent"
    assert_quit_and_no_data(run)


def test_null_sender_flag(postfix_server: PostfixInstance) -> None:
    """`--mail-from ""` is the null path, like the default."""
    run = probe_json(postfix_server, "--mail-from", "")
    assert run.returncode == 0, run.describe()
    assert one_step(only_host(run), "mail")["command"] == "MAIL FROM:<>"


@pytest.mark.parametrize(
    ("rcpts", "exit_code", "outcome"),
    [
        ((f"alice@{DOMAIN}", f"postmaster@{DOMAIN}"), 0, "ok"),
        ((f"alice@{DOMAIN}", f"grey@{DOMAIN}"), 1, "transient"),
        ((f"grey@{DOMAIN}", f"nobody@{DOMAIN}"), 2, "permanent"),
        ((f"nobody@{DOMAIN}", f"grey@{DOMAIN}", f"alice@{DOMAIN}"), 2, "permanent"),
    ],
    ids=["all-accepted", "one-4xx", "4xx-then-5xx", "5xx-then-4xx"],
)
def test_worst_rcpt_wins(
    postfix_server: PostfixInstance, rcpts: tuple[str, ...], exit_code: int, outcome: str
) -> None:
    run = probe_json(postfix_server, rcpts=rcpts)
    assert run.returncode == exit_code, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    rcpt_steps = steps_of(host, "rcpt")
    assert [s["command"] for s in rcpt_steps] == [f"RCPT TO:<{r}>" for r in rcpts]
    assert host["outcome"] == outcome and run.doc["outcome"] == outcome
    # One transaction: one MAIL, every RCPT in it, as Postfix counted them.
    accepted = sum(1 for s in rcpt_steps if s["reply"]["code"] == 250)
    counts = server_counts(run)
    assert counts["mail"] == "1"
    assert counts["rcpt"] == (
        str(accepted) if accepted == len(rcpts) else f"{accepted}/{len(rcpts)}"
    )
    assert_quit_and_no_data(run)


# -- what gets sent -------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("banner", ["connect", "banner", "quit"]),
        ("ehlo", ["connect", "banner", "ehlo", "quit"]),
        ("help", ["connect", "banner", "ehlo", "help", "quit"]),
        ("starttls", ["connect", "banner", "ehlo", "help", "starttls", "tls", "ehlo", "quit"]),
        ("mail", ["connect", "banner", "ehlo", "help", "starttls", "tls", "ehlo", "mail", "quit"]),
        ("rcpt", FULL_DIALOG),
    ],
)
def test_quit_after(postfix_server: PostfixInstance, phase: str, expected: list[str]) -> None:
    run = probe_json(postfix_server, "--quit-after", phase, rcpts=(f"nobody@{DOMAIN}",))
    host = only_host(run)
    assert stages(host) == expected, run.describe()
    assert_well_formed(run)
    # Stopping before RCPT means the unknown user was never asked about.
    assert run.returncode == (2 if phase == "rcpt" else 0), run.describe()
    counts = server_counts(run)
    assert ("rcpt" in counts) == (phase == "rcpt"), run.sessions
    assert ("mail" in counts) == (phase in {"mail", "rcpt"}), run.sessions
    assert_quit_and_no_data(run)


def test_no_starttls(postfix_server: PostfixInstance) -> None:
    run = probe_json(postfix_server, "--no-starttls")
    assert run.returncode == 0, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    assert stages(host) == ["connect", "banner", "ehlo", "help", "mail", "rcpt", "quit"]
    assert "STARTTLS" in one_step(host, "ehlo")["reply"]["lines"]  # offered, not taken
    assert host["tls"] is None
    counts = server_counts(run)
    assert "starttls" not in counts and counts["ehlo"] == "1", run.sessions
    assert_quit_and_no_data(run)


def test_helo_name_reaches_the_server(postfix_server: PostfixInstance) -> None:
    """The --helo name is what Postfix records (helo=<...> on its reject lines)."""
    run = probe_json(postfix_server, "--helo", "named.probe.test", rcpts=(f"nobody@{DOMAIN}",))
    assert run.returncode == 2, run.describe()
    assert f"to=<nobody@{DOMAIN}> proto=ESMTP helo=<named.probe.test>" in postfix_server.log_text()


# -- real MX discovery through the loopback DNS server ---------------------------


def zone_for(extra: str = "") -> str:
    return f"""
{DOMAIN}.        MX  10 {MX_NAME}.
{MX_NAME}.       A   127.0.0.1
{extra}
"""


def test_mx_discovery_and_hostname_match(postfix_server: PostfixInstance, dns_server) -> None:
    """MX lookup, SNI and certificate name check for the real MX name."""
    dns = dns_server(zone_for())
    run = run_cli(
        postfix_server, DOMAIN, "--nameserver", dns.nameserver_arg,
        "--port", str(postfix_server.port), "--json", "--helo", HELO,
        "--tls-ca-file", str(postfix_server.ca_pem),
    )  # fmt: skip
    assert run.returncode == 0, run.describe()
    assert_well_formed(run)
    doc = run.doc
    assert doc["mx"]["source"] == "mx"
    records = doc["mx"]["records"]
    assert len(records) == 1
    assert records[0]["preference"] == 10
    assert records[0]["host"].rstrip(".") == MX_NAME
    assert records[0]["addresses"] == ["127.0.0.1"]
    host = only_host(run)
    assert host["host"].rstrip(".") == MX_NAME
    assert host["preference"] == 10
    assert stages(host) == FULL_DIALOG
    cert = host["tls"]["certificate"]
    assert cert["hostname_match"] is True
    assert cert["verify_error"] is None
    assert_quit_and_no_data(run)


def test_certificate_name_mismatch(postfix_server: PostfixInstance, dns_server) -> None:
    """An MX name the certificate does not cover: the tls check says so, still exit 0."""
    dns = dns_server(f"{DOMAIN}. MX 10 other.{DOMAIN}.\nother.{DOMAIN}. A 127.0.0.1\n")
    run = run_cli(
        postfix_server, DOMAIN, "--nameserver", dns.nameserver_arg,
        "--port", str(postfix_server.port), "--json", "--helo", HELO,
        "--tls-ca-file", str(postfix_server.ca_pem),
    )  # fmt: skip
    assert run.returncode == 0, run.describe()
    host = only_host(run)
    cert = host["tls"]["certificate"]
    assert cert["hostname_match"] is False
    check = tls_check(host)
    assert check["code"] == "tls_cert_name_mismatch", check
    assert f"does not name the MX host other.{DOMAIN}" in check["summary"]
    assert MX_NAME in check["summary"]  # the name the certificate does carry
    assert_quit_and_no_data(run)


def test_address_target(postfix_server: PostfixInstance, dns_server) -> None:
    """`probe user@domain` probes the domain with RCPT TO that address."""
    dns = dns_server(zone_for())
    run = run_cli(
        postfix_server, f"nobody@{DOMAIN}", "--nameserver", dns.nameserver_arg,
        "--port", str(postfix_server.port), "--json", "--helo", HELO,
        "--tls-ca-file", str(postfix_server.ca_pem),
    )  # fmt: skip
    assert run.returncode == 2, run.describe()
    doc = run.doc
    assert doc["target"] == f"nobody@{DOMAIN}"
    assert doc["domain"] == DOMAIN
    rcpt = one_step(only_host(run), "rcpt")
    assert rcpt["command"] == f"RCPT TO:<nobody@{DOMAIN}>"
    assert rcpt["annotation"]["category"] == "user_unknown"
    assert_quit_and_no_data(run)


# -- plain output ---------------------------------------------------------------


def test_plain_output(postfix_server: PostfixInstance) -> None:
    run = run_cli(
        postfix_server, DOMAIN, "--mx", postfix_server.mx_arg, "--plain", "--helo", HELO,
        "--tls-ca-file", str(postfix_server.ca_pem),
        "--rcpt", f"nobody@{DOMAIN}", "--rcpt", f"grey@{DOMAIN}",
    )  # fmt: skip
    assert run.returncode == 2, run.describe()
    out = run.stdout
    assert "\x1b" not in out, "NO_COLOR is set: no escape sequences"
    # The view may wrap server text and put columns (timings) beside it, so
    # each reply is looked for as its words in order, not as one string.
    for reply in (
        BANNER,
        f"550 5.1.1 <nobody@{DOMAIN}>: Recipient address rejected: "
        "User unknown in local recipient table",
        f"450 4.2.0 <grey@{DOMAIN}>: Recipient address rejected: Greylisted, see "
        f"http://postgrey.schweikert.ch/help/{DOMAIN}.html",
        "500 5.5.2 Error: command not recognized",
        "221 2.0.0 Bye",
    ):
        assert words_in_order(reply, out), f"{reply!r} missing from plain output:\n{out}"
    for line in out.splitlines():
        if len(line) > 80:
            # Only an unbreakable piece of server text may overflow: a single token.
            assert len(line.split()) == 1, f"line of {len(line)} columns:\n{line}\n\n{out}"
    assert_quit_and_no_data(run)
