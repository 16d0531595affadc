"""One HTTPS GET the way RFC 8461 §3.3 fetches an MTA-STS policy, with httpx.

* To an address the probe's own resolver found (so `--nameserver` and the
  test zones decide where it goes, as for the SMTP sessions), while TLS
  verifies the certificate for the *name* (SNI and hostname check through
  httpx's `sni_hostname` request extension) against the system store plus
  `--tls-ca-file`.
* No redirects (the RFC forbids following them), no proxies or .netrc from
  the environment (a sender fetches directly), no compressed bodies (the size
  cap must bound what is held in memory, not what arrived on the wire).
* Bounded: one deadline for the whole exchange, a cap on the body.

Failures are typed (`FetchFailed.kind`) so the caller can word each one.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import httpx  # imported by get(): `import httpx` costs ~100 ms (its CLI pulls
    # in click), and most domains publish no MTA-STS policy to fetch

FailKind = Literal["connect", "certificate", "timeout", "protocol"]
MAX_ERROR_CHARS = 300


class FetchFailed(Exception):
    def __init__(self, kind: FailKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: FailKind = kind
        self.reason = reason[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Fetched:
    """What the server answered. `body` is None when it exceeded the cap."""

    address: str
    status: int
    content_type: str
    location: str
    body: bytes | None


def tls_context(extra_ca_file: str | None) -> ssl.SSLContext:
    """Verify like a sender: the system's trust store, plus the user's extra CA."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def _certificate_error(exc: BaseException) -> str | None:
    """The verification message if `exc` was caused by a certificate that did not verify."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx wraps httpcore wraps ssl: a short chain
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}{path}"


async def _get_one(client: httpx.AsyncClient, name: str, address: str, port: int, path: str,
                   max_bytes: int) -> Fetched:
    host_header = name if port == 443 else f"{name}:{port}"
    headers = {"Host": host_header, "Accept-Encoding": "identity", "Accept": "text/plain"}
    async with client.stream("GET", _url(address, port, path), headers=headers,
                             extensions={"sni_hostname": name}) as response:
        body = bytearray()
        too_large = False
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > max_bytes:
                too_large = True
                break
        return Fetched(address, response.status_code,
                       response.headers.get("content-type", ""),
                       response.headers.get("location", ""),
                       None if too_large else bytes(body))


async def get(name: str, addresses: list[str], path: str, *, port: int = 443,
              extra_ca_file: str | None = None, timeout: float = 10.0,
              max_bytes: int = 65536) -> Fetched:
    """GET https://`name``path` from the first of `addresses` that answers.

    Raises FetchFailed (the last address's failure) when none gives an HTTP
    response; an HTTP error status is a response, for the caller to judge.
    """
    import httpx

    failure = FetchFailed("connect", "no address to connect to")
    client = httpx.AsyncClient(verify=tls_context(extra_ca_file), trust_env=False,
                               follow_redirects=False, timeout=httpx.Timeout(timeout))
    try:
        async with asyncio.timeout(timeout):
            for address in addresses:
                try:
                    return await _get_one(client, name, address, port, path, max_bytes)
                except httpx.TimeoutException:
                    failure = FetchFailed("timeout", f"no answer from {address} within "
                                          f"{timeout:g} s")
                except httpx.TransportError as exc:
                    certificate = _certificate_error(exc)
                    if certificate is not None:
                        failure = FetchFailed("certificate", certificate)
                    elif isinstance(exc, httpx.ProtocolError):
                        failure = FetchFailed("protocol", f"{address}: {exc}")
                    else:
                        failure = FetchFailed("connect", f"{address}: {exc}")
    except TimeoutError:
        failure = FetchFailed("timeout", f"no complete answer within {timeout:g} s")
    finally:
        await client.aclose()
    raise failure
