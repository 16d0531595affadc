"""Rebuild a Plan from what the user typed in the target bar.

The bar edits only target, MAIL FROM and RCPT list; everything else (HELO,
port, --mx, name servers, timeouts) is carried over from the plan the app
started with. Going through `build_plan` again means the TUI validates
exactly like the CLI: an InputError is shown and nothing is sent.
"""

from __future__ import annotations

import dataclasses
import re

from probe.core.plan import InputError, Plan, build_plan, default_rcpt, parse_address

__all__ = ["InputError", "editable_rcpts", "replan"]

_SPLIT = re.compile(r"[,;\s]+")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _implied_rcpt(plan: Plan) -> str | None:
    if "@" not in plan.target:
        return None
    try:
        return parse_address(plan.target, "target address")[0]
    except InputError:
        return None


def editable_rcpts(plan: Plan) -> list[str]:
    """The RCPT addresses the user chose, without the ones the target implies.

    The target address and the postmaster@ default are added back by
    build_plan, so showing them would make them stick when the target changes.
    """
    implied = _implied_rcpt(plan)
    shown = [r for r in plan.rcpts if r != implied]
    if implied is None and shown == [default_rcpt(plan.domain, plan.mx_override)]:
        return []
    return shown


def replan(base: Plan, target: str, mail_from: str, rcpts: str) -> Plan:
    """A validated Plan for the edited fields, or InputError.

    The transport and submission settings (proxy, implicit TLS, AUTH, catch-all,
    greylisting retry) are already validated and carried over as they are.
    """
    edited = build_plan(
        target,
        rcpts=[r for r in _SPLIT.split(rcpts.strip()) if r],
        mail_from=mail_from.strip(),
        helo=base.helo or None,  # "" = each connection's address literal
        port=base.port,
        mx=[_hostport(h, p) for h, p in base.mx_override],
        nameservers=[_hostport(h, p) for h, p in base.nameservers],
        timeout=base.timeouts.step,
        rfc_timeouts=base.timeouts.rfc,
        starttls=base.starttls,
        quit_after=base.quit_after,
        tls_ca_file=base.tls_ca_file,
        lang=base.lang,
        checks=",".join(base.checks) if base.checks_named else None,
        no_checks=not base.checks,
        strict=base.strict,
    )
    return dataclasses.replace(edited, proxy=base.proxy, implicit_tls=base.implicit_tls,
                               auth=base.auth, catch_all=base.catch_all,
                               retry_greylist=base.retry_greylist)
