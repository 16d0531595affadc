"""The far side of a real MTA's delivery: a remote MX that refuses, and a sink for bounces.

The bounce tests hand a message to a real Postfix or Exim, which relays it to
this aiosmtpd server on loopback. The server refuses the senders, recipients
or messages the test names, at MAIL, RCPT or the end of DATA, each with the
reply the test chose (one line or several, byte for byte as given), accepts
the others, and keeps every message that arrives with the null sender: the
delivery status notifications the MTA wrote about the refusals, exactly as
it sent them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.loopback import HOST, free_port


def wire_reply(code: int, text: str) -> str:
    """A reply as a server sends it: `text` ("550 5.1.1 No such user", or a
    corpus entry's lines) with every line led by the code, "-" on all but the
    last. Lines that already carry the code keep their words."""
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        if line[:3] == str(code) and line[3:4] in ("", " ", "-"):
            line = line[4:]
        out.append(f"{code}{' ' if index == len(lines) - 1 else '-'}{line}")
    return "\r\n".join(out)


class RemoteAndSink:
    """Refuses what `rejections` names with its reply, at one command; keeps bounces.

    `at` is where: "rcpt" refuses the recipients named, "mail" the senders
    named (MAIL FROM), "data" a message to a recipient named at the end of
    its data, as content filters do.
    """

    def __init__(self, rejections: Mapping[str, str], at: str = "rcpt") -> None:
        self.rejections = dict(rejections)
        self.at = at
        self.bounces: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list) -> str:
        if self.at == "mail" and address in self.rejections:
            return self.rejections[address]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list) -> str:
        if self.at == "rcpt" and address in self.rejections:
            return self.rejections[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.mail_from in ("", "<>"):
            with self._lock:
                self.bounces.append(bytes(envelope.original_content or b""))
        elif self.at == "data":
            for address in envelope.rcpt_tos:
                if address in self.rejections:
                    return self.rejections[address]
        return "250 2.0.0 Ok: queued"

    def wait_bounces(self, done: Callable[[list[bytes]], bool], wait: float = 60.0) -> list[bytes]:
        """The bounces so far, once `done(bounces)` says they are all there
        (or `wait` seconds passed: the caller's assertion shows what is missing)."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                bounces = list(self.bounces)
            if done(bounces) or time.monotonic() > deadline:
                return bounces
            time.sleep(0.2)


@contextmanager
def remote_and_sink(rejections: Mapping[str, str], at: str = "rcpt",
                    ) -> Iterator[tuple[RemoteAndSink, int]]:
    """The server running on a free loopback port: (handler, port)."""
    handler = RemoteAndSink(rejections, at)
    # SMTPUTF8 on: aiosmtpd then sends a reply's non-ASCII words as UTF-8, as
    # servers that localise their replies do, instead of failing to encode them.
    controller = Controller(handler, hostname=HOST, port=free_port(),
                            server_hostname="mx.remote.test", enable_SMTPUTF8=True)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
