"""The `--json` document of CONTRACT.md, built from the folded transcript.

Reply lines are stored as the server sent them (decoded, not sanitised:
JSON escaping is enough). Keys beyond the contract are additions, never
renames: `raw_b64` keeps the exact reply bytes, `oddities` the RFC deviations,
`matched` the evidence behind an annotation.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from knowledge import Annotation

from .core.events import Finding, HostKey, Step, TlsInfo
from .core.transcript import HostReport, Report

_ANNOTATION_KEYS = ("category", "severity", "title", "meaning", "when", "fix", "source")


def annotation_json(annotation: Annotation | None) -> dict[str, Any] | None:
    if annotation is None:
        return None
    data = {key: getattr(annotation, key) for key in _ANNOTATION_KEYS}
    data.update(matched=annotation.matched, fix_admin=annotation.fix_admin or None,
                doc_url=annotation.doc_url or None,
                enhanced_title=annotation.enhanced_title or None)
    return data


def step_json(step: Step) -> dict[str, Any]:
    reply = None
    if step.reply is not None:
        reply = {
            "code": step.reply.code,
            "enhanced": step.reply.enhanced,
            "lines": list(step.reply.lines),
            "raw_b64": base64.b64encode(step.reply.raw).decode("ascii"),
            "oddities": list(step.reply.oddities),
        }
    data: dict[str, Any] = {
        "stage": step.stage,
        "command": step.command,
        "reply": reply,
        "elapsed_ms": round(step.elapsed_ms, 1),
        "annotation": annotation_json(step.annotation),
        "error": asdict(step.error) if step.error else None,
    }
    if step.error is not None:
        data["partial"] = list(step.partial)
    return data


def finding_json(finding: Finding) -> dict[str, Any]:
    return {"severity": finding.severity, "message": finding.message, "code": finding.code}


def tls_json(tls: TlsInfo | None) -> dict[str, Any] | None:
    if tls is None:
        return None
    cert = None
    if tls.certificate is not None:
        cert = asdict(tls.certificate)
        cert["san"] = list(tls.certificate.san)
    return {"version": tls.version, "cipher": tls.cipher, "certificate": cert}


def host_json(host: HostReport) -> dict[str, Any]:
    key: HostKey = host.key
    return {
        "host": key.host,
        "address": key.address,
        "port": key.port,
        "preference": key.preference,
        "tls": tls_json(host.tls),
        "steps": [step_json(step) for step in host.steps],
        "outcome": host.outcome,
        "findings": [finding_json(f) for f in host.findings],
    }


def to_json(report: Report) -> dict[str, Any]:
    """The whole document; `exit_code` matches the process exit status."""
    started = report.started
    mx = report.mx
    return {
        "target": started.target if started else None,
        "domain": started.domain if started else None,
        "domain_unicode": started.domain_unicode if started else None,
        "mail_from": started.mail_from if started else None,
        "rcpts": list(started.rcpts) if started else [],
        "helo": started.helo if started else None,
        "mx": {
            "source": mx.source if mx else "none",
            "records": [
                {"preference": r.preference, "host": r.host, "host_unicode": r.host_unicode,
                 "addresses": list(r.addresses), "lookup_error": r.lookup_error}
                for r in (mx.records if mx else ())
            ],
        },
        "hosts": [host_json(host) for host in report.ordered_hosts()],
        "findings": [finding_json(f) for f in report.findings],
        "outcome": report.done.outcome if report.done else None,
        "exit_code": report.done.exit_code if report.done else None,
    }
