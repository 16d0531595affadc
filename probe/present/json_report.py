"""The `--json` document, built from the folded transcript.

Reply lines are stored as the server sent them (decoded, not sanitised:
JSON escaping is enough). Keys beyond the documented ones are additions,
never renames: `raw_b64` keeps the exact reply bytes, `oddities` the RFC
deviations, `outcome` the verdict of each step, `matched` the evidence
behind an annotation, finding `code`s and `params`, and the health `checks`.
Texts (annotations, findings, check summaries) are in the report's language.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from knowledge import Annotation

from ..core.events import CheckResult, Finding, HostKey, Outcome, Step, TlsInfo
from ..core.transcript import HostReport, Report
from .annotation import annotation_dict
from .matrix import Cell, Matrix, build_matrix, find_issues, issue_text, verdict_findings

PROSE_KEYS = ("meaning", "when", "fix", "fix_admin", "source")
"""What `--compact` drops from annotations (category, severity and title stay)."""


def _annotation(annotation: Annotation | None, compact: bool) -> dict[str, Any] | None:
    if annotation is None:
        return None
    data = annotation_dict(annotation)
    if compact:
        for key in PROSE_KEYS:
            del data[key]
    return data


def step_json(step: Step, outcome: Outcome, compact: bool = False) -> dict[str, Any]:
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
        "annotation": _annotation(step.annotation, compact),
        "error": asdict(step.error) if step.error else None,
        "outcome": outcome,
        "attempt": step.attempt,
        "informational": step.informational,
    }
    if step.error is not None:
        data["partial"] = list(step.partial)
    return data


def _params(params: Any) -> dict[str, Any]:
    return {str(k): v if isinstance(v, int | float | str) else str(v) for k, v in params.items()}


def finding_json(finding: Finding, lang: str) -> dict[str, Any]:
    text = finding.text(lang)
    return {"severity": finding.severity, "message": text.message, "code": finding.code,
            "fix": text.fix or None, "params": _params(finding.params)}


def check_json(check: CheckResult, lang: str) -> dict[str, Any]:
    """A health check as documented: check, status, summary, fix, record, details."""
    text = check.headline.text(lang)
    return {
        "check": check.check,
        "status": check.status,
        "summary": text.message,
        "fix": text.fix or None,
        "record": check.record,
        "details": dict(check.details),
        "code": check.headline.code,
        "problems": [{"code": p.code, "status": p.status, "message": p.text(lang).message,
                      "fix": p.text(lang).fix or None} for p in check.problems],
    }


def tls_json(tls: TlsInfo | None) -> dict[str, Any] | None:
    if tls is None:
        return None
    cert = None
    if tls.certificate is not None:
        cert = asdict(tls.certificate)
        cert["san"] = list(tls.certificate.san)
    return {"version": tls.version, "cipher": tls.cipher, "certificate": cert}


def host_json(host: HostReport, lang: str, compact: bool = False) -> dict[str, Any]:
    key: HostKey = host.key
    return {
        "host": key.host,
        "address": key.address,
        "port": key.port,
        "preference": key.preference,
        "tls": tls_json(host.tls),
        "steps": [step_json(step, outcome, compact)
                  for step, outcome in zip(host.steps, host.verdicts, strict=True)],
        "outcome": host.outcome,
        "findings": [finding_json(f, lang) for f in host.findings],
        "checks": [check_json(c, lang) for c in host.checks],
    }


def _key_json(key: HostKey) -> dict[str, Any]:
    return {"host": key.host, "address": key.address, "port": key.port,
            "preference": key.preference}


def _cell_json(cell: Cell, lang: str) -> dict[str, Any]:
    step = cell.step
    return {
        "state": cell.state,
        "outcome": cell.outcome,
        "label": cell.label(lang),
        "stage": step.stage if step else None,
        "code": step.reply.code if step and step.reply else None,
        "enhanced": step.reply.enhanced if step and step.reply else None,
        "category": cell.category,
        "error": step.error.kind if step and step.error else None,
        "step": cell.index,
    }


def summary_json(report: Report, lang: str, compact: bool = False) -> dict[str, Any]:
    """The answer at a glance: the results matrix and each problem in words with
    its fix (the same structure the plain verdict block and the TUI draw);
    `compact` drops the fixes, like the annotation prose."""
    matrix: Matrix = build_matrix(report)
    problems: list[dict[str, Any]] = []
    for issue in find_issues(report, matrix):
        annotation = issue.step.annotation
        problems.append({
            "outcome": issue.outcome,
            "text": issue_text(issue, matrix, lang),
            "rcpts": list(issue.rcpts),
            "hosts": [_key_json(key) for key in issue.keys],
            "stage": issue.step.stage,
            "code": issue.step.reply.code if issue.step.reply else None,
            "enhanced": issue.step.reply.enhanced if issue.step.reply else None,
            "category": annotation.category if annotation else None,
            "error": issue.step.error.kind if issue.step.error else None,
            "fix": annotation.fix if annotation else "",
            "fix_admin": annotation.fix_admin if annotation else "",
        })
    for finding in verdict_findings(report):
        text = finding.text(lang)
        problems.append({"outcome": None, "text": text.message, "finding": finding.code,
                         "fix": text.fix, "fix_admin": ""})
    if compact:
        for problem in problems:
            del problem["fix"], problem["fix_admin"]
    return {
        "rcpts": list(matrix.rcpts),
        "hosts": [_key_json(key) for key in matrix.columns],
        "matrix": [[_cell_json(cell, lang) for cell in row] for row in matrix.rows],
        "problems": problems,
    }


def to_json(report: Report, lang: str = "en", compact: bool = False) -> dict[str, Any]:
    """The whole document; `exit_code` matches the process exit status.

    `compact` drops the annotation prose (a batch of many targets keeps only
    category, severity and title per step).
    """
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
        "hosts": [host_json(host, lang, compact) for host in report.ordered_hosts()],
        "findings": [finding_json(f, lang) for f in report.findings],
        "checks": [check_json(c, lang) for c in report.checks],
        "summary": summary_json(report, lang, compact),
        "outcome": report.done.outcome if report.done else None,
        "exit_code": report.done.exit_code if report.done else None,
    }
