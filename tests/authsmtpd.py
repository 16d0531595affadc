"""aiosmtpd with its authenticator: a second AUTH peer besides Exim, in-process and fast.

aiosmtpd is an independent SMTP implementation with AUTH PLAIN and LOGIN built
in. `auth_smtpd` runs it on loopback with STARTTLS (a trustme certificate)
and an authenticator that accepts exactly one username and password and
records every attempt, so a test can assert which mechanism a client used and
whether it sent a password at all. By default AUTH is offered only after TLS
(aiosmtpd's `auth_require_tls`); `require_tls=False` offers it in plaintext,
for tests of a client that must refuse to send a password in clear.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import server_context
from tests.loopback import HOST, free_port

__all__ = ["AuthAttempt", "AuthServer", "auth_smtpd"]

HOSTNAME = "mx.auth.test"
USERNAME = "alice"


@dataclass(frozen=True)
class AuthAttempt:
    mechanism: str
    login: str
    success: bool
    over_tls: bool


@dataclass
class AuthServer:
    """A running aiosmtpd with AUTH: where it listens, its credentials, and what clients tried."""

    port: int
    username: str
    password: str
    host: str = HOST
    attempts: list[AuthAttempt] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def mx_arg(self) -> str:
        return f"{self.host}:{self.port}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        """aiosmtpd's authenticator callback: one valid login, every attempt recorded."""
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        password = data.password.decode("utf-8", "replace")
        ok = (login, password) == (self.username, self.password)
        with self._lock:
            self.attempts.append(AuthAttempt(mechanism, login, ok, session.ssl is not None))
        # handled=False: aiosmtpd then sends its own 535 (True would mean "already answered").
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)


class _Handler:
    """Accepts every envelope; refuses DATA, which a probe must never send."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "554 5.5.1 this test server never takes DATA"


@contextlib.contextmanager
def auth_smtpd(ca: trustme.CA, *, require_tls: bool = True) -> Iterator[AuthServer]:
    """Run aiosmtpd with STARTTLS and AUTH PLAIN/LOGIN on 127.0.0.1 for the block's duration."""
    tls: ssl.SSLContext = server_context(ca, HOSTNAME, HOST)
    server = AuthServer(port=free_port(), username=USERNAME, password=secrets.token_urlsafe(12))
    controller = Controller(
        _Handler(),
        hostname=HOST,
        port=server.port,
        server_hostname=HOSTNAME,
        tls_context=tls,
        authenticator=server.authenticate,
        auth_require_tls=require_tls,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
