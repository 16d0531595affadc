"""Submission: AUTH (PLAIN, LOGIN, CRAM-MD5) after TLS, implicit TLS, catch-all, greylist retry.

aiosmtpd is the real server for AUTH (its authenticator checks the
credentials; a handler method adds CRAM-MD5); scripted servers cover the
byte-exact cases. Every output mode is searched for the password and its
base64: the secret may only ever cross the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from probe.core import auth
from probe.core.plan import InputError, build_plan
from probe.core.secret import Secret
from tests.conftest import server_context
from tests.smtpserver import Scripted, dialog

USER = "alice@sub.test"
PASSWORD = "s3cr3t-Pa55word!"
SECRETS = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
           base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()]
HELO = "probe.test"


class Handler:
    """Accepts RCPT only after a successful AUTH; adds CRAM-MD5 to aiosmtpd's mechanisms."""

    def __init__(self, mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN", "CRAM-MD5")) -> None:
        self.mechanisms = mechanisms
        self.logins: list[tuple[str, bool]] = []

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        challenge = b"<1896.697170952@sub.test>"
        response = await server.challenge_auth(challenge)
        if not isinstance(response, bytes):
            return AuthResult(success=False)
        user, _, digest = response.decode().partition(" ")
        expected = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
        ok = user == USER and hmac.compare_digest(digest, expected)
        self.logins.append(("CRAM-MD5", ok))
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if not session.authenticated:
            return f"554 5.7.1 <{address}>: Relay access denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope) -> str:
        raise AssertionError("the probe must never send DATA")


def authenticator(handler: Handler):
    def check(server, session, envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and \
            data.password.decode() == PASSWORD
        handler.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    return check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def submission(ca, handler: Handler, *, implicit: bool = False,
               auth_require_tls: bool = True) -> Iterator[str]:
    """aiosmtpd with AUTH: STARTTLS (port-587 style), or TLS from the first byte."""
    context = server_context(ca, "127.0.0.1")
    excluded = [m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m not in handler.mechanisms]
    kwargs: dict[str, Any] = {"ssl_context": context} if implicit else {"tls_context": context}
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            server_hostname="mx.sub.test", authenticator=authenticator(handler),
                            auth_require_tls=auth_require_tls,
                            auth_exclude_mechanism=excluded, **kwargs)
    controller.start()
    try:
        yield f"127.0.0.1:{controller.port}"
    finally:
        controller.stop()


async def submit(run_cli, mx: str, ca_file: str, *args: str, mode: str = "--json",
                 password: str | None = PASSWORD, monkeypatch=None):
    if monkeypatch is not None and password is not None:
        monkeypatch.setenv("PROBE_PASSWORD", password)
    return await asyncio.wait_for(run_cli(
        "sub.test", "--mx", mx, "--helo", HELO, "--tls-ca-file", ca_file, "--timeout", "5",
        "--rcpt", "bob@elsewhere.test", mode, *args), 60)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def auth_steps(doc: dict) -> list[dict]:
    return [s for s in doc["hosts"][0]["steps"] if s["stage"] == "auth"]


@pytest.mark.parametrize("mechanisms", [("PLAIN", "LOGIN", "CRAM-MD5"), ("PLAIN", "LOGIN"),
                                        ("LOGIN",)])
async def test_auth_after_starttls_with_the_best_mechanism(run_cli, ca, ca_file, monkeypatch,
                                                          mechanisms):
    handler = Handler(mechanisms)
    with submission(ca, handler) as mx:
        result = await submit(run_cli, mx, ca_file, "--auth", USER, monkeypatch=monkeypatch)
    assert result.code == 0, result.out
    doc = json.loads(result.out)
    expected = auth.choose(mechanisms)
    assert handler.logins == [(expected, True)]
    steps = auth_steps(doc)
    assert steps[0]["command"].startswith(f"AUTH {expected}")
    assert steps[-1]["reply"]["code"] == 235
    rcpt = next(s for s in doc["hosts"][0]["steps"] if s["stage"] == "rcpt")
    assert rcpt["reply"]["code"] == 250  # authenticated: relaying allowed
    offered = next(f for f in doc["hosts"][0]["findings"] if f["code"] == "auth_offered")
    assert "before TLS: none" in offered["message"]  # aiosmtpd hides AUTH until TLS
    assert_no_secret(result.out, result.err)


async def test_wrong_password_is_535_permanent_and_the_session_stops(run_cli, ca, ca_file,
                                                                    monkeypatch):
    handler = Handler(("PLAIN",))
    with submission(ca, handler) as mx:
        result = await submit(run_cli, mx, ca_file, "--auth", USER, password="wrong",
                              monkeypatch=monkeypatch)
    doc = json.loads(result.out)
    (step,) = auth_steps(doc)
    assert step["reply"] is not None, step
    assert step["reply"]["code"] == 535
    assert step["annotation"]["category"] == "auth_required"
    assert [s["stage"] for s in doc["hosts"][0]["steps"]][-2:] == ["auth", "quit"]
    assert result.code == 2 and doc["hosts"][0]["outcome"] == "permanent"


async def test_no_auth_over_plaintext_unless_allowed(run_cli, ca, ca_file, monkeypatch):
    handler = Handler(("PLAIN", "LOGIN"))
    with submission(ca, handler, auth_require_tls=False) as mx:
        refused = await submit(run_cli, mx, ca_file, "--auth", USER, "--no-starttls",
                               monkeypatch=monkeypatch)
        allowed = await submit(run_cli, mx, ca_file, "--auth", USER, "--no-starttls",
                               "--auth-plaintext", monkeypatch=monkeypatch)
    doc = json.loads(refused.out)
    assert auth_steps(doc) == []
    assert "auth_needs_tls" in {f["code"] for f in doc["hosts"][0]["findings"]}
    assert handler.logins == [("PLAIN", True)]  # only the run that allowed it
    assert auth_steps(json.loads(allowed.out))[-1]["reply"]["code"] == 235
    assert_no_secret(refused.out, allowed.out)


async def test_implicit_tls_on_a_465_style_port(run_cli, ca, ca_file, monkeypatch):
    handler = Handler(("PLAIN",))
    # aiosmtpd only counts STARTTLS as TLS for its auth_require_tls; TLS is up from the
    # first byte here, so that switch is off and AUTH is advertised.
    with submission(ca, handler, implicit=True, auth_require_tls=False) as mx:
        result = await submit(run_cli, mx, ca_file, "--implicit-tls", "--auth", USER,
                              monkeypatch=monkeypatch)
    doc = json.loads(result.out)
    stages = [s["stage"] for s in doc["hosts"][0]["steps"]]
    assert stages[:3] == ["connect", "tls", "banner"] and "starttls" not in stages
    assert doc["hosts"][0]["tls"]["certificate"]["verify_error"] is None
    assert auth_steps(doc), doc["hosts"][0]["findings"]
    assert auth_steps(doc)[-1]["reply"]["code"] == 235
    assert result.code == 0


async def test_implicit_tls_against_a_plaintext_port_says_so(run_cli):
    async with Scripted(dialog()) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--implicit-tls", "--json",
                               "--helo", HELO, "--timeout", "2")
    steps = json.loads(result.out)["hosts"][0]["steps"]
    assert [s["stage"] for s in steps] == ["connect", "tls"]
    assert steps[1]["error"]["kind"] == "tls" and result.code == 1


async def test_the_password_never_appears_in_any_output(run_cli, ca, ca_file, monkeypatch,
                                                        tmp_path):
    handler = Handler(("PLAIN", "LOGIN"))
    outputs = []
    with submission(ca, handler) as mx:
        for mode in ("--json", "--plain", "--format=jsonl"):
            result = await submit(run_cli, mx, ca_file, "--auth", USER, mode=mode,
                                  monkeypatch=monkeypatch)
            outputs += [result.out, result.err]
        batch = await run_cli("batch", "-", "--mx", mx, "--helo", HELO, "--tls-ca-file",
                              ca_file, "--auth", USER, "--no-progress", stdin="sub.test\n")
        outputs += [batch.out, batch.err]
    assert "[credentials redacted]" in outputs[0]
    assert_no_secret(*outputs)
    assert repr(build_plan("sub.test", auth_user=USER, auth_password=PASSWORD)).count(
        PASSWORD) == 0


def test_auth_needs_a_password_and_never_takes_one_from_argv():
    with pytest.raises(InputError, match="PROBE_PASSWORD"):
        build_plan("sub.test", auth_user=USER, auth_password=None)
    with pytest.raises(InputError, match="--auth USER"):
        build_plan("sub.test", auth_plaintext=True)


def test_mechanisms_and_the_lines_they_send():
    assert auth.offered(["mx ESMTP", "AUTH PLAIN LOGIN", "AUTH=LOGIN CRAM-MD5"]) == (
        "PLAIN", "LOGIN", "CRAM-MD5")
    assert auth.choose(["LOGIN", "PLAIN", "XOAUTH2"]) == "PLAIN"
    assert auth.choose(["XOAUTH2", "GSSAPI"]) is None
    spec = auth.AuthSpec("tim", Secret("tanstaaftanstaaf"))
    # RFC 2195's example: the response to this challenge is fixed.
    challenge = base64.b64encode(b"<1896.697170952@postoffice.reston.mci.net>").decode()
    line = auth.answer("CRAM-MD5", spec, challenge, 0)
    assert line is not None
    assert base64.b64decode(line.wire) == b"tim b913a602c7eda7a495b4e6e7334d3890"
    assert line.shown == "[response redacted]"
    assert auth.answer("CRAM-MD5", spec, "not base64!", 0) is None


# -- catch-all and greylisting -------------------------------------------------------


@pytest.mark.parametrize(("reply", "code"), [(b"250 2.1.5 ok\r\n", "catch_all"),
                                             (b"550 5.1.1 no such user\r\n", "not_catch_all")])
async def test_catch_all_is_answered_and_never_counts(run_cli, reply, code):
    async def script(reader, writer, server):
        writer.write(b"220 mx.test ESMTP\r\n")
        while line := await reader.readline():
            text = line.decode()
            if text.startswith("RCPT TO:<probe-"):
                writer.write(reply)
            elif text.startswith("QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    async with Scripted(script) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--json", "--helo", HELO,
                               "--catch-all")
    doc = json.loads(result.out)
    rcpts = [s for s in doc["hosts"][0]["steps"] if s["stage"] == "rcpt"]
    assert rcpts[-1]["informational"] is True and rcpts[-1]["outcome"] == "ok"
    assert rcpts[-1]["command"].startswith("RCPT TO:<probe-") and "@x.test>" in rcpts[-1]["command"]
    assert code in {f["code"] for f in doc["hosts"][0]["findings"]}
    assert result.code == 0  # the random address's 550 is expected, not a failure


def _greylisting(deferrals: int):
    """Greylists postmaster@ for the first `deferrals` sessions, then accepts."""
    state = {"sessions": 0}
    grey = (b"450 4.2.0 <postmaster@x.test>: Recipient address rejected: Greylisted, see "
            b"http://postgrey.schweikert.ch/help/x.test.html\r\n")

    async def script(reader, writer, server):
        state["sessions"] += 1
        replies = {"RCPT": grey} if state["sessions"] <= deferrals else {}
        await dialog(replies=replies)(reader, writer, server)

    return script, state


@pytest.mark.parametrize(("deferrals", "finding", "exit_code"),
                         [(1, "greylisting_confirmed", 0), (5, "still_deferred", 1)])
async def test_retry_greylist_reruns_the_host_once(run_cli, deferrals, finding, exit_code):
    script, state = _greylisting(deferrals)
    async with Scripted(script) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--json", "--helo", HELO,
                               "--retry-greylist", "0.3")
    doc = json.loads(result.out)
    steps = doc["hosts"][0]["steps"]
    assert state["sessions"] == 2  # exactly one retry
    assert {s["attempt"] for s in steps} == {1, 2}
    assert steps[-1]["attempt"] == 2 and steps[-1]["stage"] == "quit"
    assert finding in {f["code"] for f in doc["hosts"][0]["findings"]}
    assert result.code == exit_code and doc["hosts"][0]["outcome"] == (
        "ok" if exit_code == 0 else "transient")


async def test_retry_greylist_plain_says_it_waits_and_marks_the_attempt(run_cli):
    script, _ = _greylisting(1)
    async with Scripted(script) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--plain", "--helo", HELO,
                               "--retry-greylist", "0.2")
    assert "greylisted; retrying once in 0.2 s" in result.err
    assert "-- attempt 2 after 0.2 s (greylisting retry) --" in result.out
    assert "greylisting confirmed" in result.out


def test_retry_wait_is_validated():
    with pytest.raises(InputError, match="more than 0"):
        build_plan("x.test", retry_greylist="0")
    assert build_plan("x.test", retry_greylist="300").retry_greylist == 300.0
