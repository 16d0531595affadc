"""The real CLI against a real Exim: a second MTA's wording, TLS, AUTH and greylisting.

Every CLI test runs `python -m probe` in a subprocess against the private Exim
from `tests/exim.py` and checks what the probe makes of Exim's own replies --
`214` to HELP, `550 Unrouteable address`, `550 relay not permitted`, a sender
refused at MAIL FROM, a `451` greylisting deferral -- none of which carries an
enhanced status code, so the classifier has only Exim's words and the stage to
go on. Exim's log is the independent witness that every session ended with
QUIT and that DATA never came (`Session.history` is Exim's own record of the
commands it received).

The first tests talk to Exim with smtplib and no probe code: they pin the
fixture (replies, AUTH on each listener, real greylisting, and that the
witness does see DATA and a missing QUIT), so a failure in the CLI tests can
be blamed on the CLI, not on a misconfigured server.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time

import pytest

from tests import exim
from tests.exim import EximInstance, Session
from tests.probe_cli import (
    FULL_DIALOG,
    Run,
    assert_well_formed,
    one_step,
    only_host,
    run_cli,
    stages,
    steps_of,
)

exim_server = exim.exim_server

HELO = "probe.test"
DOMAIN = exim.DOMAIN
MX_NAME = exim.HOSTNAME
# Exim's stock banner: "$smtp_active_hostname ESMTP Exim $version_number $tod_full".
BANNER = re.compile(
    rf"{re.escape(MX_NAME)} ESMTP Exim 4\.\d+ "
    r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}"
)
HELP_LINES = [
    "Commands supported:",
    "AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP",
]
AUTH_LINE = "AUTH PLAIN LOGIN CRAM-MD5"


def tls_context(server: EximInstance) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_pem))


def smtp(server: EximInstance, port: int | None = None) -> smtplib.SMTP:
    """An smtplib client on one of the listeners (the MX-style one by default), after EHLO."""
    client = smtplib.SMTP(server.host, port or server.port, local_hostname=HELO, timeout=30)
    client.ehlo()
    return client


def probe_json(
    server: EximInstance, *extra: str, rcpts: tuple[str, ...] = (), port: int | None = None
) -> Run:
    """The usual run: `--mx` straight at a listener, JSON out, trusting the test CA."""
    args = [DOMAIN, "--mx", f"{server.host}:{port or server.port}", "--json", "--helo", HELO]
    args += ["--tls-ca-file", str(server.ca_pem), "--timeout", "30"]
    for rcpt in rcpts:
        args += ["--rcpt", rcpt]
    return run_cli(server, *args, *extra)


def only_session(run: Run) -> Session:
    assert len(run.sessions) == 1, run.describe()
    return run.sessions[0]


def assert_quit_and_no_data(run: Run) -> None:
    """What Exim saw: QUIT ended every session, DATA/BDAT never arrived."""
    assert run.sessions, "Exim logged no session for this run\n" + run.describe()
    for session in run.sessions:
        assert session.end == "quit", f"session did not end with QUIT: {session}\n{run.describe()}"
        assert session.history[-1] == "QUIT", session
        assert not {"DATA", "BDAT"} & set(session.history), session
        assert not session.data_attempted, session


# -- the fixture itself, without probe code ---------------------------------------


def test_fixture_replies_as_configured(exim_server: EximInstance) -> None:
    """Pin the server side: these exact replies are what the CLI tests expect."""
    offset = exim_server.quiet_offset()
    client = smtplib.SMTP(timeout=30)
    code, banner = client.connect(exim_server.host, exim_server.port)
    assert code == 220 and BANNER.fullmatch(banner.decode()), banner
    code, text = client.ehlo(HELO)
    assert code == 250 and b"STARTTLS" in text and b"AUTH" not in text
    assert client.docmd("HELP") == (214, "\n".join(HELP_LINES).encode())
    assert client.docmd("AUTH PLAIN") == (503, b"AUTH command used when not advertised")
    assert client.docmd("MAIL FROM:<>") == (250, b"OK")
    expected = {
        f"alice@{DOMAIN}": (250, b"Accepted"),
        f"nobody@{DOMAIN}": (550, b"Unrouteable address"),
        "x@elsewhere.test": (550, b"relay not permitted"),
        exim.GREY: (451, exim.GREY_DEFERRED.encode()),
    }
    for rcpt, reply in expected.items():
        assert client.docmd(f"RCPT TO:<{rcpt}>") == reply, rcpt
    assert client.docmd("RSET") == (250, b"Reset OK")
    assert client.docmd(f"MAIL FROM:<{exim.BLOCKED_SENDER}>") == (
        550,
        exim.SENDER_REJECTED.encode(),
    )
    client.quit()
    (session,) = exim_server.sessions_since(offset)
    assert session.end == "quit"
    assert session.history == ("EHLO", "HELP", "AUTH", "MAIL") + ("RCPT",) * 4 + (
        "RSET",
        "MAIL",
        "QUIT",
    )


def test_fixture_witness_sees_data_and_a_missing_quit(exim_server: EximInstance) -> None:
    """The checks `assert_quit_and_no_data` relies on can fail: DATA and a dropped session show."""
    offset = exim_server.quiet_offset()
    client = smtp(exim_server)
    client.mail("<>")
    client.rcpt(f"alice@{DOMAIN}")
    assert client.docmd("DATA") == (550, b"this test server never takes DATA")
    client.close()  # no QUIT
    (session,) = exim_server.sessions_since(offset)
    assert session.data_attempted
    assert session.end == "connection-lost"
    assert session.history == ("EHLO", "MAIL", "RCPT", "DATA")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_fixture_auth_after_starttls(exim_server: EximInstance, mechanism: str) -> None:
    """AUTH appears only after STARTTLS; each mechanism works; authenticated clients may relay."""
    with smtp(exim_server) as client:
        client.starttls(context=tls_context(exim_server))
        code, text = client.ehlo(HELO)
        assert code == 250 and AUTH_LINE.encode() in text.splitlines()
        client.user, client.password = exim_server.username, exim_server.password
        method = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
        assert client.auth(mechanism, method) == (235, b"Authentication succeeded")
        client.mail("<>")
        assert client.rcpt("x@elsewhere.test") == (250, b"Accepted")


def test_fixture_wrong_password(exim_server: EximInstance) -> None:
    with smtp(exim_server) as client:
        client.starttls(context=tls_context(exim_server))
        client.ehlo(HELO)
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            client.login(exim_server.username, "not-" + exim_server.password)
        assert (caught.value.smtp_code, caught.value.smtp_error) == (
            535,
            b"Incorrect authentication data",
        )


def test_fixture_plaintext_auth_listener(exim_server: EximInstance) -> None:
    """The second listener offers AUTH in plaintext and accepts it: what a client must refuse."""
    with smtp(exim_server, exim_server.plain_auth_port) as client:
        assert client.sock is not None and not isinstance(client.sock, ssl.SSLSocket)
        assert client.has_extn("auth") and client.has_extn("starttls")
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
        assert client.login(exim_server.username, exim_server.password)[0] == 235


def test_fixture_implicit_tls_listener(exim_server: EximInstance) -> None:
    """The third listener speaks TLS from the first byte (port-465 style) and offers AUTH."""
    with smtplib.SMTP_SSL(
        exim_server.host,
        exim_server.tls_port,
        local_hostname=HELO,
        context=tls_context(exim_server),
        timeout=30,
    ) as client:
        code, text = client.ehlo()
        assert code == 250
        assert AUTH_LINE.encode() in text.splitlines() and b"STARTTLS" not in text
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in {"TLSv1.2", "TLSv1.3"}


def test_fixture_greylisting_lets_a_retry_through(exim_server: EximInstance) -> None:
    """Deferred at first and on an immediate retry, accepted after the delay: real greylisting."""
    sender = exim.fresh_sender()
    deferred = (451, exim.GREYLIST_DEFERRED.encode())

    def attempt() -> tuple[int, bytes]:
        with smtp(exim_server) as client:
            client.mail(sender)
            return client.rcpt(exim.GREYLIST)

    assert attempt() == deferred
    assert attempt() == deferred  # well within the delay
    # Exim's 'seen' timestamps have whole seconds; one more second covers that.
    time.sleep(exim_server.greylist_delay + 1)
    assert attempt() == (250, b"Accepted")


def test_fixture_certificate_names_the_mx(exim_server: EximInstance) -> None:
    with smtp(exim_server) as client:
        assert client.docmd("STARTTLS") == (220, b"TLS go ahead")
        context = tls_context(exim_server)
        assert client.sock is not None
        with context.wrap_socket(client.sock, server_hostname=MX_NAME) as tls:
            cert = tls.getpeercert()
            tls.sendall(b"QUIT\r\n")
    assert cert is not None and ("DNS", MX_NAME) in cert["subjectAltName"]


# -- the CLI: the whole dialog ---------------------------------------------------------


def test_full_dialog(exim_server: EximInstance) -> None:
    run = probe_json(exim_server)
    assert run.returncode == 0, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    assert stages(host) == FULL_DIALOG, run.describe()

    banner = one_step(host, "banner")
    assert banner["reply"]["code"] == 220
    assert len(banner["reply"]["lines"]) == 1
    assert BANNER.fullmatch(banner["reply"]["lines"][0]), banner["reply"]
    assert banner["reply"]["enhanced"] is None  # Exim does not put one in its greeting
    assert (banner["annotation"]["category"], banner["annotation"]["severity"]) == ("ok", "ok")

    first_ehlo, second_ehlo = steps_of(host, "ehlo")
    assert first_ehlo["reply"]["lines"][0] == f"{MX_NAME} Hello {HELO} [127.0.0.1]"
    assert "STARTTLS" in first_ehlo["reply"]["lines"]
    assert not any(line.startswith("AUTH") for line in first_ehlo["reply"]["lines"])
    # After TLS: AUTH offered (and STARTTLS no longer).
    assert AUTH_LINE in second_ehlo["reply"]["lines"]
    assert "STARTTLS" not in second_ehlo["reply"]["lines"]

    help_step = one_step(host, "help")
    assert help_step["reply"]["code"] == 214
    assert help_step["reply"]["lines"] == HELP_LINES
    assert help_step["annotation"]["category"] == "help"
    assert help_step["annotation"]["severity"] == "info"

    starttls = one_step(host, "starttls")
    assert (starttls["reply"]["code"], starttls["reply"]["lines"]) == (220, ["TLS go ahead"])
    assert one_step(host, "tls")["error"] is None

    mail = one_step(host, "mail")
    assert (mail["command"], mail["reply"]["code"], mail["reply"]["lines"]) == (
        "MAIL FROM:<>",
        250,
        ["OK"],
    )
    rcpt = one_step(host, "rcpt")
    assert rcpt["command"] == f"RCPT TO:<postmaster@{DOMAIN}>"
    assert (rcpt["reply"]["code"], rcpt["reply"]["lines"]) == (250, ["Accepted"])
    quit_step = one_step(host, "quit")
    assert quit_step["reply"]["code"] == 221
    assert quit_step["reply"]["lines"] == [f"{MX_NAME} closing connection"]
    for step in host["steps"]:
        assert step["error"] is None, step

    session = only_session(run)
    assert session.listener_port == exim_server.port
    assert session.history == ("EHLO", "HELP", "STARTTLS", "EHLO", "MAIL", "RCPT", "QUIT")
    assert_quit_and_no_data(run)


def test_tls_details_from_the_real_handshake(exim_server: EximInstance) -> None:
    run = probe_json(exim_server)
    tls = only_host(run)["tls"]
    assert tls is not None, run.describe()
    assert tls["version"] in {"TLSv1.2", "TLSv1.3"}
    assert tls["cipher"]
    cert = tls["certificate"]
    assert MX_NAME in cert["subject"] and "Probe Test MX" in cert["subject"]
    assert "exim fixture" in cert["issuer"]
    assert cert["hostname_match"] is True  # --mx gives 127.0.0.1, an IP SAN of the leaf
    assert cert["verify_error"] is None, cert
    assert cert["self_signed"] is False and cert["expired"] is False


# -- the CLI: replies, categories and exit codes --------------------------------------


@pytest.mark.parametrize(
    ("rcpt", "code", "line", "category", "severity", "exit_code"),
    [
        (f"alice@{DOMAIN}", 250, "Accepted", "ok", "ok", 0),
        (f"nobody@{DOMAIN}", 550, "Unrouteable address", "user_unknown", "permanent", 2),
        ("x@elsewhere.test", 550, "relay not permitted", "relay_denied", "permanent", 2),
        (exim.GREY, 451, exim.GREY_DEFERRED, "greylisted", "transient", 1),
    ],
    ids=["ok", "user-unknown", "relay-denied", "greylisted"],
)
def test_rcpt_reply_category_and_exit_code(
    exim_server: EximInstance,
    rcpt: str,
    code: int,
    line: str,
    category: str,
    severity: str,
    exit_code: int,
) -> None:
    run = probe_json(exim_server, rcpts=(rcpt,))
    assert run.returncode == exit_code, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    assert stages(host) == FULL_DIALOG, run.describe()
    step = one_step(host, "rcpt")
    assert step["command"] == f"RCPT TO:<{rcpt}>"
    assert step["reply"]["code"] == code
    assert step["reply"]["enhanced"] is None
    assert step["reply"]["lines"] == [line]
    assert step["annotation"]["category"] == category, step["annotation"]
    assert step["annotation"]["severity"] == severity, step["annotation"]
    outcome = {0: "ok", 1: "transient", 2: "permanent"}[exit_code]
    assert host["outcome"] == outcome and run.doc["outcome"] == outcome
    # The reply Exim logged is the one the probe reports.
    if code != 250:
        assert f"rejected RCPT <{rcpt}>: {line}" in exim_server.log_text()
    assert_quit_and_no_data(run)


def test_sender_rejected_at_mail_from(exim_server: EximInstance) -> None:
    """Exim refuses the sender at MAIL FROM (Postfix waits for RCPT): no RCPT is sent."""
    run = probe_json(exim_server, "--mail-from", exim.BLOCKED_SENDER)
    assert run.returncode == 2, run.describe()
    assert_well_formed(run)
    host = only_host(run)
    assert stages(host) == [*FULL_DIALOG[:-2], "quit"], run.describe()
    mail = one_step(host, "mail")
    assert mail["command"] == f"MAIL FROM:<{exim.BLOCKED_SENDER}>"
    assert (mail["reply"]["code"], mail["reply"]["lines"]) == (550, [exim.SENDER_REJECTED])
    assert mail["annotation"]["category"] == "sender_rejected", mail["annotation"]
    assert mail["annotation"]["severity"] == "permanent"
    assert only_session(run).history[-2:] == ("MAIL", "QUIT")
    assert_quit_and_no_data(run)


def test_greylisting_first_attempt(exim_server: EximInstance) -> None:
    """A fresh triplet on the greylisting recipient: deferred, transient (a retry comes later)."""
    run = probe_json(exim_server, "--mail-from", exim.fresh_sender(), rcpts=(exim.GREYLIST,))
    assert run.returncode == 1, run.describe()
    rcpt = one_step(only_host(run), "rcpt")
    assert (rcpt["reply"]["code"], rcpt["reply"]["lines"]) == (451, [exim.GREYLIST_DEFERRED])
    assert rcpt["annotation"]["category"] == "greylisted", rcpt["annotation"]
    assert_quit_and_no_data(run)


# -- the CLI: the other listeners ---------------------------------------------------------


def test_auth_offered_in_plaintext_is_not_used(exim_server: EximInstance) -> None:
    """On the plaintext-AUTH listener the probe sees AUTH offered, and sends no AUTH."""
    run = probe_json(exim_server, port=exim_server.plain_auth_port)
    assert run.returncode == 0, run.describe()
    host = only_host(run)
    assert stages(host) == FULL_DIALOG
    assert AUTH_LINE in steps_of(host, "ehlo")[0]["reply"]["lines"]
    session = only_session(run)
    assert session.listener_port == exim_server.plain_auth_port
    assert "AUTH" not in session.history
    assert_quit_and_no_data(run)


def test_quit_after_ehlo(exim_server: EximInstance) -> None:
    run = probe_json(exim_server, "--quit-after", "ehlo")
    assert run.returncode == 0, run.describe()
    assert stages(only_host(run)) == ["connect", "banner", "ehlo", "quit"]
    assert only_session(run).history == ("EHLO", "QUIT")
    assert_quit_and_no_data(run)


def test_implicit_tls_listener_without_implicit_tls(exim_server: EximInstance) -> None:
    """Today's probe speaks plaintext first: on a port-465 listener no banner ever comes.

    Both sides wait for the other (Exim for a ClientHello), so the probe's
    banner step times out -- a transient outcome -- and Exim records a TLS
    failure, not an SMTP session.
    """
    run = run_cli(
        exim_server, DOMAIN, "--mx", f"{exim_server.host}:{exim_server.tls_port}",
        "--json", "--helo", HELO, "--timeout", "2",
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    host = only_host(run)
    banner = one_step(host, "banner")
    assert banner["reply"] is None and banner["error"]["kind"] == "timeout", banner
    session = only_session(run)
    assert (session.end, session.listener_port, session.history) == ("tls-failed", None, ())


def test_session_witness_matches_a_plain_socket(exim_server: EximInstance) -> None:
    """Cross-check of the witness with no SMTP library: banner, QUIT, one session."""
    offset = exim_server.quiet_offset()
    with socket.create_connection((exim_server.host, exim_server.port), timeout=30) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"QUIT\r\n")
        assert reader.readline() == f"221 {MX_NAME} closing connection\r\n".encode()
    (session,) = exim_server.sessions_since(offset)
    assert (session.end, session.history) == ("quit", ("QUIT",))


# -- submission through the probe: AUTH, implicit TLS, greylisting retry ------------


def _auth_run(server: EximInstance, monkeypatch: pytest.MonkeyPatch, password: str,
              *extra: str, port: int | None = None) -> Run:
    monkeypatch.setenv("PROBE_PASSWORD", password)
    return probe_json(server, "--auth", server.username, *extra,
                      rcpts=("someone@elsewhere.example",), port=port)


def test_auth_after_starttls_uses_the_best_mechanism_and_relays(
        exim_server: EximInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _auth_run(exim_server, monkeypatch, exim_server.password)
    assert run.returncode == 0, run.describe()
    host = only_host(run)
    auth = steps_of(host, "auth")
    assert auth[0]["command"] == "AUTH CRAM-MD5"  # Exim offers PLAIN LOGIN CRAM-MD5
    assert auth[-1]["reply"]["code"] == 235
    assert steps_of(host, "rcpt")[0]["reply"]["code"] == 250  # relaying once authenticated
    assert "AUTH" in only_session(run).history
    assert exim_server.password not in run.stdout + run.stderr
    assert_quit_and_no_data(run)


def test_auth_with_a_wrong_password_is_535_and_permanent(
        exim_server: EximInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _auth_run(exim_server, monkeypatch, "not-the-password")
    host = only_host(run)
    assert steps_of(host, "auth")[-1]["reply"]["code"] == 535
    assert stages(host)[-2:] == ["auth", "quit"] and run.returncode == 2, run.describe()
    assert "not-the-password" not in run.stdout + run.stderr
    assert_quit_and_no_data(run)


def test_implicit_tls_submission_with_auth(exim_server: EximInstance,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = _auth_run(exim_server, monkeypatch, exim_server.password, "--implicit-tls",
                    port=exim_server.tls_port)
    assert run.returncode == 0, run.describe()
    host = only_host(run)
    assert stages(host)[:3] == ["connect", "tls", "banner"] and "starttls" not in stages(host)
    assert host["tls"]["certificate"]["hostname_match"] is True
    assert steps_of(host, "auth")[-1]["reply"]["code"] == 235
    assert only_session(run).listener_port == exim_server.tls_port
    assert_quit_and_no_data(run)


def test_greylisting_retry_is_confirmed(exim_server: EximInstance) -> None:
    """A fresh triplet is deferred, then accepted when the same session comes back."""
    wait = str(exim_server.greylist_delay + 1)
    run = probe_json(exim_server, "--retry-greylist", wait, "--mail-from", exim.fresh_sender(),
                     rcpts=(exim.GREYLIST,))
    assert run.returncode == 0, run.describe()
    host = only_host(run)
    replies = [s["reply"]["code"] for s in steps_of(host, "rcpt")]
    assert replies == [451, 250]
    assert "greylisting_confirmed" in {f["code"] for f in host["findings"]}
    assert len(run.sessions) == 2
    assert_quit_and_no_data(run)
