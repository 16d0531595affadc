"""One SMTP conversation with one address, as a stream of steps.

aiosmtplib is the wire layer (`wire.TeeProtocol`): it frames replies,
enforces the per-reply deadline and performs the STARTTLS upgrade. Everything
else is ours, because a diagnostic tool must see what the library hides:
each reply is re-framed and validated from the tee's raw bytes
(`reply.frame`), and each library exception is turned here, and only here,
into a typed step error with the partial lines.

Etiquette: commands go out one at a time (no pipelining), DATA is never sent,
and QUIT ends every session whose connection is still usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import ssl
import time
from collections.abc import Callable
from typing import Any, cast

from aiosmtplib.errors import (
    SMTPReadTimeoutError,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from knowledge import explain_error, explain_reply, explain_success

from . import auth, tls
from .events import (
    ErrorKind,
    Event,
    Finding,
    FindingRaised,
    HostKey,
    Stage,
    Step,
    StepDone,
    StepError,
    StepStarted,
    TlsEstablished,
    TlsInfo,
)
from .plan import RFC_MINIMUM_STEP, Plan, is_ip
from .reply import Framed, MalformedReply, frame
from .transport import ConnectFailed, Connection, Connector, TcpConnector
from .verdict import INFORMATIONAL
from .wire import TEE_LIMIT, Tee, TeeProtocol

MAX_PARTIAL_LINES = 50
MAX_PARTIAL_CHARS = 2000

Emit = Callable[[Event], None]


class _Stop(Exception):
    """The session cannot go on (connection gone, desynced, or refused)."""


def _clip_lines(lines: tuple[str, ...]) -> tuple[str, ...]:
    clipped = tuple(line[:MAX_PARTIAL_CHARS] for line in lines[:MAX_PARTIAL_LINES])
    if len(lines) > MAX_PARTIAL_LINES:
        clipped += (f"[{len(lines) - MAX_PARTIAL_LINES} more lines not kept]",)
    return clipped


def _rfc_note(stage: Stage, timeout: float) -> str:
    """Say so when we gave up sooner than a real MTA would (RFC 5321 §4.5.3.2)."""
    if stage in ("banner", "mail", "rcpt") and timeout < RFC_MINIMUM_STEP:
        return (f"; RFC 5321 §4.5.3.2 lets real senders wait {RFC_MINIMUM_STEP / 60:g} min "
                "here (try --rfc-timeouts)")
    return ""


def ehlo_keywords(lines: tuple[str, ...]) -> set[str]:
    """The extension keywords of an EHLO reply (STARTTLS, SIZE...), upper case."""
    return {line.split()[0].upper() for line in lines[1:] if line.split()}


# Refusals that are about the sending client (its IP, name, reputation or
# rate), not about the recipient: a postmaster@ refused for these says
# nothing about whether the domain accepts postmaster mail.
_ABOUT_THE_CLIENT = frozenset({
    "blocklisted_ip", "bad_reputation", "ptr_rdns_required", "helo_rejected", "rate_limited",
    "spf_dkim_dmarc_auth", "sender_rejected", "tls_required", "auth_required",
    "service_unavailable", "syntax_error",
})


def _refuses_recipient(step: Step) -> bool:
    """A 5xx to RCPT that is about the recipient address itself."""
    if step.reply is None or step.reply.code_class != 5:
        return False
    return step.annotation is None or step.annotation.category not in _ABOUT_THE_CLIENT


class Session:
    """Drives one conversation; `run()` emits events and never raises for the server."""

    def __init__(self, key: HostKey, server_name: str, plan: Plan, emit: Emit,
                 connector: Connector | None = None, attempt: int = 1) -> None:
        self.key = key
        self.server_name = server_name  # SNI and certificate name: the MX host name
        self.plan = plan
        self.emit = emit
        self.connector = connector or TcpConnector()
        self.attempt = attempt  # 2 for a greylisting retry
        self.informational = False  # set while taking a step whose answer never counts
        self.tee = Tee()
        self.consumed = 0
        self.protocol: TeeProtocol | None = None
        self.steps: list[Step] = []
        self.usable = False
        self.noted: set[str] = set()
        self.active: tuple[Stage, str | None, float] | None = None
        self.connected_at = 0.0
        self.helo = plan.helo
        self.tls: TlsInfo | None = None

    # -- helpers -----------------------------------------------------------

    def finding(self, code: str, /, **params: Any) -> None:
        """Raise a finding once per session (the same code and parameters count once)."""
        key = repr((code, sorted(params.items())))
        if key in self.noted:
            return
        self.noted.add(key)
        self.emit(FindingRaised(Finding(code, params, self.key)))

    def start(self, stage: Stage, command: str | None) -> float:
        """Announce a step (for live views) and remember it in case the budget ends it."""
        started = time.monotonic()
        self.active = (stage, command, started)
        self.emit(StepStarted(self.key, stage, command))
        return started

    def record(self, step: Step) -> Step:
        self.active = None
        if self.attempt != 1 or self.informational:
            step = dataclasses.replace(step, attempt=self.attempt,
                                       informational=self.informational)
        self.steps.append(step)
        self.emit(StepDone(self.key, step))
        return step

    def error_step(self, stage: Stage, command: str | None, started: float, kind: ErrorKind,
                   message: str, partial: tuple[str, ...] = (),
                   reason: str | None = None) -> Step:
        # A proxy's failures are explained by what the proxy said (errors.toml proxy_*).
        annotation = explain_error(f"proxy_{reason}" if reason else kind, stage, self.plan.lang)
        return self.record(Step(stage, command, None, (time.monotonic() - started) * 1000,
                                annotation, StepError(kind, message, reason),
                                _clip_lines(partial)))

    def _take_unsolicited(self, stage: Stage) -> None:
        """Bytes that arrived while no command was pending: record and flag them."""
        pending = bytes(self.tee.data[self.consumed:])
        self.consumed = len(self.tee.data)
        if pending:
            shown = pending[:200].decode("utf-8", "backslashreplace")
            self.finding("unsolicited_data", count=len(pending), stage=stage.upper(),
                         data=repr(shown))

    def _frame_region(self, start: int) -> tuple[Framed | None, MalformedReply | None]:
        region = bytes(self.tee.data[start:])
        self.consumed = len(self.tee.data)
        try:
            return frame(region), None
        except MalformedReply as exc:
            return None, exc

    def _note_oddities(self, stage: Stage, framed: Framed) -> None:
        for reply in framed.replies[:1]:
            for oddity in reply.oddities:
                self.finding("reply_oddity", stage=stage.upper(), oddity=oddity)

    # -- one exchange ----------------------------------------------------------

    async def exchange(self, stage: Stage, command: str | None, timeout: float, *,
                       wire: str | None = None, informational: bool = False) -> Step:
        """Send `command` (None: just read, for the banner) and record the outcome.

        `wire`, when given, is what is really sent while `command` is what the
        transcript shows (AUTH: the credentials never reach a Step).
        `informational` marks a step whose answer never counts (catch-all).
        Raises _Stop when the connection can no longer be trusted for a
        next command: it is closed, timed out, desynced or not speaking SMTP.
        """
        self.informational = informational
        try:
            return await self._exchange(stage, command, timeout, wire or command)
        finally:
            self.informational = False

    async def _exchange(self, stage: Stage, command: str | None, timeout: float,
                        wire: str | None) -> Step:
        assert self.protocol is not None
        self._take_unsolicited(stage)
        mark = len(self.tee.data)
        started = self.start(stage, command)
        if command is None:  # the greeting is timed from the moment TCP connected
            started = self.connected_at
        failure: tuple[ErrorKind, str] | None = None
        try:
            if command is None:
                await self.protocol.read_response(timeout=timeout)
            else:
                assert wire is not None
                await self.protocol.execute_command(wire.encode("ascii"), timeout=timeout)
        except (SMTPReadTimeoutError, SMTPTimeoutError):
            failure = ("timeout", f"no complete reply within {timeout:g} s"
                       + _rfc_note(stage, timeout))
        except SMTPServerDisconnected:
            failure = ("closed", "the server closed the connection")
        except SMTPResponseException as exc:
            if exc.code != -1:
                raise
            failure = ("protocol", "reply too long: over aiosmtplib's 8 KiB line / 32 KiB reply "
                       "limit" if "too long" in exc.message else "malformed reply")
        except ConnectionError as exc:
            failure = ("closed", f"connection error: {exc.strerror or exc.__class__.__name__}")
        elapsed = (time.monotonic() - started) * 1000
        framed, malformed = self._frame_region(mark)

        if malformed is not None and self._can_go_on(stage, failure, mark):
            self.protocol.discard_buffer()
            return self.error_step(stage, command, started, "protocol",
                                   f"{malformed.message}; {stage.upper()} is informational, "
                                   "so the session goes on", malformed.lines)
        if malformed is not None:  # not SMTP: sending QUIT into it would only wait
            self.usable = False
            self.error_step(stage, command, started, "protocol", malformed.message,
                            malformed.lines)
            raise _Stop("protocol")
        assert framed is not None
        if failure is None and not framed.replies:
            # aiosmtplib answers a connection lost after QUIT with a made-up
            # "221"; the tee shows nothing arrived, so say what happened.
            failure = ("closed", "the connection closed without a reply"
                       + (" to QUIT" if stage == "quit" else ""))
        if failure is not None or not framed.replies:
            kind, message = failure or ("protocol", "no complete reply")
            if kind == "timeout" and not self.tee.data[mark:]:
                message += " (no bytes received)"
            elif kind == "timeout" and b"\r" in framed.rest and b"\n" not in framed.rest:
                message += " (the line ended with CR but never LF)"
            elif kind == "closed" and framed.partial:
                message = "the server closed the connection in the middle of a reply"
            partial = tuple(line for reply in framed.replies for line in reply.lines)
            self.error_step(stage, command, started, kind, message, partial + framed.partial)
            self.usable = False
            raise _Stop(kind)

        reply = framed.replies[0]
        self._note_oddities(stage, framed)
        step = self.record(Step(stage, command, reply, elapsed,
                                explain_reply(reply.code, reply.text, stage, self.plan.lang,
                                              rcpt_domain_is_target=self._to_target(
                                                  stage, command))))
        extra = framed.replies[1:]
        if (extra or framed.rest) and stage != "starttls":
            shown = bytes(self.tee.data[mark + len(reply.raw):][:200]).decode(
                "utf-8", "backslashreplace")
            self.finding("extra_reply", stage=stage.upper(), data=repr(shown))
            raise _Stop("desync")
        if self.tee.overflowed:
            self.finding("too_much_data", kib=TEE_LIMIT // 1024)
            raise _Stop("overflow")
        if reply.code == 421:  # the server is closing the channel: no QUIT
            self.usable = False
            raise _Stop("421")
        return step

    def _to_target(self, stage: Stage, command: str | None) -> bool | None:
        """For RCPT: is the recipient in the probed domain? (None: not RCPT, or no domain.)

        A refusal of a recipient outside the probed domain is a relay refusal,
        which lets the knowledge base read a vague "Access denied" rightly.
        """
        if stage != "rcpt" or not command or not self.plan.domain:
            return None
        address = command.partition("<")[2].rpartition(">")[0]
        return address.rpartition("@")[2].lower().rstrip(".") == self.plan.domain

    def _can_go_on(self, stage: Stage, failure: tuple[ErrorKind, str] | None,
                   mark: int) -> bool:
        """A malformed reply to an informational command that arrived as whole lines."""
        whole_lines = bytes(self.tee.data[mark:]).endswith(b"\n")
        # A sender never sends these commands, so their answer cannot affect mail;
        # broken framing (no line end, oversize, desync) still ends the session.
        return (stage in INFORMATIONAL and whole_lines and not self.tee.overflowed
                and (failure is None or failure == ("protocol", "malformed reply")))

    # -- the conversation -------------------------------------------------------

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.key.address is not None
        started = self.start("connect", None)
        try:
            connection = await self.connector.open(
                self.key.address, self.key.port, self.server_name,
                lambda: TeeProtocol(self.tee, loop), self.plan.timeouts.connect)
        except ConnectFailed as failed:
            if failed.stage == "tls":  # implicit TLS: TCP worked, the handshake did not
                self.record(Step("connect", None, None, failed.tcp_ms,
                                 explain_success("connect", self.plan.lang)))
                self.start("tls", None)
                started += failed.tcp_ms / 1000
            self.error_step(failed.stage, None, started, failed.kind, failed.message,
                            reason=failed.reason)
            raise _Stop(failed.kind) from None
        self.protocol = connection.protocol
        self.usable = True
        self.connected_at = time.monotonic()
        self.helo = self.plan.ehlo_name(connection.local_address)
        connected = connection.tcp_ms if connection.ssl_object else \
            (time.monotonic() - started) * 1000
        self.record(Step("connect", None, None, connected,
                         explain_success("connect", self.plan.lang)))
        if connection.ssl_object is not None:
            self._tls_up(connection)

    def _tls_up(self, connection: Connection) -> None:
        """Implicit TLS: the handshake is a step of its own, judged like STARTTLS's."""
        assert connection.ssl_object is not None
        self.record(Step("tls", None, None, connection.tls_ms,
                         explain_success("tls", self.plan.lang)))
        self._inspect(connection.ssl_object)

    def _inspect(self, ssl_object: ssl.SSLObject) -> None:
        """Describe the TLS session; the `tls` check judges what this saw."""
        self.tls = tls.inspect(ssl_object, self.server_name, self.plan.tls_ca_file)
        self.emit(TlsEstablished(self.key, self.tls))

    async def ehlo(self) -> tuple[str, ...]:
        """EHLO, falling back to HELO (as a visible step) when EHLO gets a 5xx.

        Returns the EHLO reply's lines (its extensions); () after a HELO.
        """
        timeout = self.plan.timeouts.step
        step = await self.exchange("ehlo", f"EHLO {self.helo}", timeout)
        assert step.reply is not None
        if step.reply.code_class == 2:
            return step.reply.lines
        if step.reply.code_class == 5:
            helo = await self.exchange("helo", f"HELO {self.helo}", timeout)
            assert helo.reply is not None
            if helo.reply.code_class == 2:
                return ()
        raise _Stop("helo refused")

    async def starttls(self) -> bool:
        """STARTTLS and the handshake, as two steps. True when TLS is up."""
        assert self.protocol is not None
        self._take_unsolicited("starttls")
        command = "STARTTLS"
        timeout = self.plan.timeouts.step
        mark = len(self.tee.data)
        started = self.start("starttls", command)
        failure: tuple[ErrorKind, str] | None = None
        try:
            await self.protocol.start_tls(tls.client_context(), server_hostname=self._sni(),
                                          timeout=timeout)
        except SMTPResponseException as exc:
            if exc.code == -1:
                failure = ("protocol", "malformed reply")
        except SMTPTimeoutError as exc:
            failure = ("timeout", str(exc))
        except SMTPServerDisconnected:
            failure = ("closed", "the connection was closed")
        except ssl.SSLError as exc:
            failure = ("tls", f"TLS handshake failed: {exc.reason or exc.__class__.__name__}"
                       + (" (the server did not speak TLS)" if exc.reason ==
                          "WRONG_VERSION_NUMBER" else ""))
        except ConnectionError as exc:
            failure = ("closed", f"connection error: {exc.strerror or exc.__class__.__name__}")
        finished = time.monotonic()
        framed, malformed = self._frame_region(mark)
        if malformed is not None:
            self.usable = False
            self.error_step("starttls", command, started, "protocol", malformed.message,
                            malformed.lines)
            raise _Stop("protocol")
        assert framed is not None
        if not framed.replies:
            kind, message = failure or ("protocol", "no reply")
            self.usable = False
            self.error_step("starttls", command, started, kind, message, framed.partial)
            raise _Stop(kind)

        reply = framed.replies[0]
        reply_at = min(self.tee.last_received, finished)
        self._note_oddities("starttls", framed)
        self.record(Step("starttls", command, reply, (reply_at - started) * 1000,
                         explain_reply(reply.code, reply.text, "starttls", self.plan.lang)))
        if reply.code != 220:
            if reply.code == 421 or not self.protocol.is_connected:
                self.usable = False
                raise _Stop("421")
            return False  # the `tls` check reports the refusal
        if framed.rest or len(framed.replies) > 1:
            injected = bytes(self.tee.data[mark + len(reply.raw):mark + len(reply.raw) + 200])
            self.finding("starttls_injection",
                         data=repr(injected.decode("utf-8", "backslashreplace")))
        self.start("tls", None)
        if failure is not None:
            kind, message = failure
            if kind == "timeout":
                message = f"TLS handshake did not finish within {timeout:g} s"
            self.record(Step("tls", None, None, (finished - reply_at) * 1000,
                             explain_error(kind, "tls", self.plan.lang),
                             StepError(kind, message)))
            self.usable = False
            raise _Stop("tls")
        transport = self.protocol.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        self.record(Step("tls", None, None, (finished - reply_at) * 1000,
                         explain_success("tls", self.plan.lang)))
        if ssl_object is not None:
            self._inspect(ssl_object)
        self.consumed = len(self.tee.data)
        return True

    def _sni(self) -> str | None:
        return None if is_ip(self.server_name) else self.server_name

    async def quit(self) -> None:
        """QUIT, reporting a missing 221 honestly instead of inventing one."""
        if not (self.usable and self.protocol and self.protocol.is_connected):
            return
        with contextlib.suppress(_Stop):
            await self.exchange("quit", "QUIT", self.plan.timeouts.quit)

    async def conversation(self) -> None:
        plan = self.plan
        timeout = plan.timeouts.step
        await self.connect()
        banner = await self.exchange("banner", None, timeout)
        assert banner.reply is not None
        if banner.reply.code != 220 or plan.stops_after("banner"):
            return
        extensions = first = await self.ehlo()
        if plan.stops_after("ehlo"):
            return
        await self.exchange("help", "HELP", timeout)
        if plan.stops_after("help"):
            return
        # Whether TLS was offered, refused or up is the `tls` check's verdict.
        if plan.starttls and not plan.implicit_tls and self.tls is None and \
                "STARTTLS" in ehlo_keywords(extensions) and await self.starttls():
            extensions = await self.ehlo()
        if plan.stops_after("starttls"):
            return
        if plan.auth is not None:
            await self.authenticate(plan.auth, first, extensions)
        mail = await self.exchange("mail", f"MAIL FROM:<{plan.mail_from}>", timeout)
        assert mail.reply is not None
        if mail.reply.code_class != 2 or plan.stops_after("mail"):
            return
        for rcpt in plan.rcpts:
            step = await self.exchange("rcpt", f"RCPT TO:<{rcpt}>", timeout)
            if rcpt.partition("@")[0].lower() == "postmaster" and _refuses_recipient(step):
                self.finding("postmaster_rejected", rcpt=rcpt)
        if plan.catch_all:
            await self.catch_all()

    async def authenticate(self, spec: auth.AuthSpec, before: tuple[str, ...],
                           after: tuple[str, ...]) -> None:
        """AUTH with the best mechanism the server offers; a refusal ends the session.

        Never over plaintext unless --auth-plaintext allowed it. The credentials
        go on the wire only; the transcript shows redacted lines.
        """
        encrypted = self.tls is not None
        offered = auth.offered(after)
        if self.plan.implicit_tls:
            before_tls = "no plaintext phase (implicit TLS)"
        else:
            before_tls = " ".join(auth.offered(before)) or "none"
        self.finding("auth_offered", before_tls=before_tls,
                     after_tls=(" ".join(offered) or "none") if encrypted else "TLS not up")
        if not encrypted and not spec.allow_plaintext:
            self.finding("auth_needs_tls")
            return
        mechanism = auth.choose(offered)
        if mechanism is None:
            self.finding("auth_no_mechanism", offered=" ".join(offered) or "none",
                         supported=" ".join(auth.SUPPORTED))
            return
        timeout = self.plan.timeouts.step
        line = auth.first_line(mechanism, spec)
        step = await self.exchange("auth", line.shown, timeout, wire=line.wire)
        for round_ in range(3):
            if step.reply is None or step.reply.code != 334:
                break
            answer = auth.answer(mechanism, spec, step.reply.text, round_)
            if answer is None:  # a challenge we cannot answer: cancel (RFC 4954 §4)
                answer = auth.Line("*", "*")
            step = await self.exchange("auth", answer.shown, timeout, wire=answer.wire)
        if step.reply is None or step.reply.code_class != 2:
            raise _Stop("auth refused")

    async def catch_all(self) -> None:
        """RCPT a random local part on the same session: does the domain take anything?"""
        domain = self.plan.rcpts[0].rpartition("@")[2] or self.plan.domain
        if not domain:
            return
        address = f"probe-{secrets.token_hex(6)}@{domain}"
        step = await self.exchange("rcpt", f"RCPT TO:<{address}>", self.plan.timeouts.step,
                                   informational=True)
        assert step.reply is not None
        code = {2: "catch_all", 5: "not_catch_all"}.get(step.reply.code_class,
                                                         "catch_all_unknown")
        self.finding(code, domain=domain, address=address, reply_code=step.reply.code)

    async def run(self) -> list[Step]:
        """The whole session within the host budget. Returns the steps taken."""
        budget = self.plan.timeouts.host_budget
        try:
            async with asyncio.timeout(budget):
                try:
                    await self.conversation()
                except _Stop:
                    pass
                except Exception:
                    # A bug of ours: still say goodbye before reporting it.
                    with contextlib.suppress(Exception):
                        await self.quit()
                    raise
                await self.quit()
        except TimeoutError:
            self.finding("host_budget", seconds=f"{budget:g}")
            if self.active is not None:
                stage, command, started = self.active
                self.error_step(stage, command, started, "timeout",
                                f"host budget of {budget:g} s ran out during this step")
        except BaseException:
            self._abort()
            raise
        await self._close()
        return self.steps

    def _abort(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            cast(asyncio.Transport, self.protocol.transport).abort()

    async def _close(self, grace: float = 1.0) -> None:
        """Close the connection and wait (briefly) until it is really gone.

        A TLS connection closes with a close_notify exchange; leaving before
        it ends would leak the socket once the event loop stops. A peer that
        never finishes the exchange gets the connection aborted instead.
        """
        protocol = self.protocol
        if protocol is None:
            return
        if protocol.transport is not None:
            protocol.transport.close()
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(protocol.lost)
        except TimeoutError:
            self._abort()
