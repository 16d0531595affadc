"""SOCKS5 proxies: `--proxy socks5://[user:pass@]host:port`, parsed and connected through.

Most home ISPs and cloud providers block outbound port 25, so from a laptop
or a VM the probe often reaches no MX at all; a SOCKS5 proxy on a network
that may speak on port 25 is the way round. DNS stays local: the proxy is
given the IP addresses probe resolved, so the report is the same as a direct
run. The proxy's own failures (unreachable, authentication, its refusals)
are typed apart from the MX's, and its credentials never leave this module
except on the wire to the proxy.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .secret import Secret

# SOCKS5 reply codes (RFC 1928 §6) -> our reason, and what it means for the admin.
REPLY_REASONS: dict[int, str] = {
    0x01: "general_failure",
    0x02: "not_allowed",
    0x03: "network_unreachable",
    0x04: "host_unreachable",
    0x05: "refused",
    0x06: "ttl_expired",
    0x07: "unsupported",
    0x08: "unsupported",
}


@dataclass(frozen=True)
class ProxySpec:
    host: str
    port: int
    username: str | None = None
    password: Secret | None = None

    def display(self) -> str:
        """The proxy as it may be shown: never the credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        login = " (with a user name and password)" if self.username else ""
        return f"socks5://{host}:{self.port}{login}"


def parse_proxy(value: str) -> ProxySpec:
    """`socks5://[user:pass@]host:port`; ValueError with a message that shows no password."""
    shown = _masked(value)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"--proxy {shown} is not a URL like socks5://host:1080") from None
    if parts.scheme.lower() == "socks5h":
        raise ValueError(f"--proxy {shown}: probe resolves names itself and gives the proxy "
                         "addresses; use socks5://")
    if parts.scheme.lower() != "socks5":
        raise ValueError(f"--proxy {shown}: only socks5:// proxies are supported")
    if not parts.hostname or port is None:
        raise ValueError(f"--proxy {shown} needs a host and a port, like socks5://host:1080")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"--proxy {shown} must be only socks5://[user:pass@]host:port")
    if not 1 <= port <= 65535:
        raise ValueError(f"--proxy {shown}: port out of range (1-65535)")
    username = unquote(parts.username) if parts.username else None
    password = Secret(unquote(parts.password)) if parts.password is not None else None
    if (username and len(username) > 255) or (password and len(password.reveal()) > 255):
        raise ValueError(f"--proxy {shown}: SOCKS5 user names and passwords are at most "
                         "255 bytes (RFC 1929)")
    return ProxySpec(parts.hostname, port, username, password)


def _masked(value: str) -> str:
    """The URL as typed, with anything between '//' and '@' hidden."""
    head, sep, rest = value.partition("//")
    if sep and "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return ascii(head + sep + rest)


class ProxyFailed(Exception):
    """The proxy could not give us a connection; `reason` says whose fault, in one word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def connect(proxy: ProxySpec, address: str, port: int, timeout: float) -> socket.socket:
    """A socket connected through the proxy to (address, port), or ProxyFailed."""
    from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
    from python_socks.async_.asyncio import Proxy

    where = proxy.display()
    client = Proxy(ProxyType.SOCKS5, proxy.host, proxy.port, proxy.username,
                   proxy.password.reveal() if proxy.password is not None else None, rdns=False)
    try:
        return await client.connect(dest_host=address, dest_port=port, timeout=timeout)
    except ProxyTimeoutError:
        raise ProxyFailed("timeout", f"the proxy {where} did not get a connection to "
                          f"{address}:{port} within {timeout:g} s") from None
    except ProxyConnectionError as exc:
        raise ProxyFailed("proxy_unreachable", f"could not connect to the proxy {where}: "
                          f"{exc.strerror or 'connection failed'}") from None
    except ProxyError as exc:
        code = exc.error_code if isinstance(exc.error_code, int) else None
        text = str(exc)
        if code in REPLY_REASONS:
            reason = REPLY_REASONS[code]
        elif "authentication" in text.lower():
            reason = "auth_failed"
        else:
            reason = "protocol"
        raise ProxyFailed(reason, f"the proxy {where} said: {text}") from None
