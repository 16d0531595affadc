"""`ptr`: reverse DNS of each mail host address, checked the way receivers check senders.

An MX usually sends mail too, and receivers reject senders whose address has
no PTR record or whose PTR name does not resolve back to the address
(forward-confirmed reverse DNS). The host's banner should name the same host
as its PTR (RFC 5321 §4.3.1 wants the greeting to start with the server's
own name): a mismatch is what blocklist operators and checkers such as
MXToolbox flag, and usually means a banner left at a default or a PTR never
updated after a move.
"""

from __future__ import annotations

import ipaddress
import re

import dns.reversename
from dns.rdtypes.ANY.PTR import PTR

from ..events import CheckResult, Problem
from ._dns import lookup
from .base import Check, CheckContext, SessionResult

MAX_NAME = 253
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


async def _ptr_names(ctx: CheckContext, address: str) -> list[str] | None:
    """PTR names of `address`; [] when there are none, None when DNS failed."""
    answer = await lookup(ctx.resolver, dns.reversename.from_address(address), "PTR")
    if answer.status == "error":
        return None
    return [rdata.target.to_text(omit_final_dot=True) for rdata in answer.records
            if isinstance(rdata, PTR)]


async def _resolves_to(ctx: CheckContext, name: str, address: str) -> bool:
    rdtype = "AAAA" if ":" in address else "A"
    answer = await lookup(ctx.resolver, name, rdtype)
    return any(rdata.to_text() == address for rdata in answer.records)


def _same(a: str, b: str) -> bool:
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def is_host_name(token: str) -> bool:
    """A DNS host name (at least two labels), not an address literal or a word."""
    name = token.lower().rstrip(".")
    if not name or len(name) > MAX_NAME:
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def banner_name(session: SessionResult) -> str | None:
    """The first word of the greeting (the server's name, RFC 5321 §4.3.1); None
    without a greeting. May be anything the server sent: callers judge it."""
    banner = session.banner
    if banner is None or banner.reply is None or banner.reply.code != 220:
        return None
    words = (banner.reply.lines[0] if banner.reply.lines else "").split()
    return words[0][:MAX_NAME + 1] if words else ""


def _is_address_literal(token: str) -> bool:
    inner = token.strip("[]")
    if inner.lower().startswith("ipv6:"):
        inner = inner[5:]
    try:
        ipaddress.ip_address(inner)
    except ValueError:
        return False
    return token.startswith("[")


def _banner_problem(session: SessionResult, names: list[str],
                    params: dict[str, str]) -> Problem | None:
    """PTR vs banner: the banner's first word should be one of the PTR names."""
    name = banner_name(session)
    if name is None or _is_address_literal(name):
        return None  # no greeting to compare, or an address literal (RFC 5321 allows it)
    shown = ", ".join(names)
    if not is_host_name(name):
        return Problem("banner_no_name", {**params, "banner": name, "names": shown})
    if any(_same(name, ptr) for ptr in names):
        return None
    return Problem("ptr_banner_mismatch", {**params, "banner": name, "names": shown})


async def run(ctx: CheckContext) -> CheckResult | None:
    key = ctx.key
    if key is None or key.address is None:
        return None
    address = key.address
    params = {"address": address, "host": key.host}
    names = await _ptr_names(ctx, address)
    if names is None:
        return CheckResult("ptr", Problem("ptr_lookup_failed", params), host=key)
    if not names:
        return CheckResult("ptr", Problem("no_ptr", params), host=key)
    shown = ", ".join(names)
    details: dict[str, object] = {"ptr": names}
    problems: list[Problem] = []
    confirmed = None
    for name in names:
        if await _resolves_to(ctx, name, address):
            confirmed = name
            break
    if confirmed is None:
        problems.append(Problem("ptr_not_confirmed", {**params, "names": shown}))
        ok = Problem("ptr_ok", {**params, "name": shown})  # not shown: a problem wins
    else:
        details["confirmed"] = confirmed
        code = "ptr_ok" if _same(confirmed, key.host) else "ptr_differs"
        ok = Problem(code, {**params, "name": confirmed})
    session = await ctx.session()
    details["banner_name"] = banner_name(session)
    banner = _banner_problem(session, names, params)
    if banner is not None:
        problems.append(banner)
    return CheckResult.judge("ptr", problems, ok, record=confirmed or shown, details=details,
                             host=key)


CHECK = Check("ptr", "host", run)
