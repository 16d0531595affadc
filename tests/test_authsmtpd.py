"""The aiosmtpd AUTH peer, proven with smtplib (the probe's `--auth` comes later)."""

from __future__ import annotations

import smtplib
import ssl

import pytest
import trustme

from tests.authsmtpd import AuthAttempt, auth_smtpd


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_only_after_starttls(ca: trustme.CA, mechanism: str) -> None:
    with auth_smtpd(ca) as server, smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.ehlo("probe.test")
        assert not client.has_extn("auth") and client.has_extn("starttls")
        # Asking anyway is refused before any credentials are read.
        assert client.docmd("AUTH", "PLAIN")[0] == 538
        client.starttls(context=client_context(ca))  # verifies the 127.0.0.1 SAN
        client.ehlo("probe.test")
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        client.user, client.password = server.username, server.password
        method = getattr(client, f"auth_{mechanism.lower()}")
        assert client.auth(mechanism, method) == (235, b"2.7.0 Authentication successful")
    assert server.attempts == [AuthAttempt(mechanism, "alice", True, True)]


def test_wrong_password_is_535(ca: trustme.CA) -> None:
    with auth_smtpd(ca) as server, smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.starttls(context=client_context(ca))  # verifies the 127.0.0.1 SAN
        client.ehlo("probe.test")
        client.user, client.password = server.username, "not-" + server.password
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            client.auth("PLAIN", client.auth_plain)
        assert (caught.value.smtp_code, caught.value.smtp_error) == (
            535,
            b"5.7.8 Authentication credentials invalid",
        )
    assert server.attempts == [AuthAttempt("PLAIN", "alice", False, True)]


def test_auth_offered_in_plaintext(ca: trustme.CA) -> None:
    """require_tls=False: the peer a client must refuse to send a password to."""
    with (
        auth_smtpd(ca, require_tls=False) as server,
        smtplib.SMTP(server.host, server.port, timeout=30) as client,
    ):
        client.ehlo("probe.test")
        assert client.has_extn("auth")
        assert client.login(server.username, server.password)[0] == 235
    assert server.attempts[-1].over_tls is False and server.attempts[-1].success
