"""RFC 3464 delivery-status fields: per-message and per-recipient blocks.

The fields are read from text, not from the `email` package's parse of the
part: the same parser then serves `message/delivery-status`, the
`message/x-delivery-status` some gateways send, a delivery-status part that
was base64-encoded, DSN fields that only appear in a text/plain part, and DSN
fields an admin pasted on their own. Blocks are separated by blank lines;
continuation lines (starting with white space) are unfolded into the field.
Field values are kept as found; only the address type ("rfc822;") and angle
brackets are taken off addresses, and the type ("smtp;") off the diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass

from .enhanced_code import parse_enhanced

MAX_BLOCKS = 2000  # recipient blocks read from one report
MAX_FIELD = 4096  # characters kept per field value
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient")


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block, with the per-message fields that apply to it."""

    final_recipient: str | None
    original_recipient: str | None
    action: str | None  # "failed", "delayed", "delivered", "relayed", "expanded"
    status: str | None  # the enhanced code of Status:, when it holds one
    diagnostic: str | None  # Diagnostic-Code without its type, e.g. "550 5.1.1 ..."
    diagnostic_type: str | None  # "smtp", "x-postfix", "x-unix", ...
    remote_mta: str | None
    reporting_mta: str | None

    @property
    def is_failure(self) -> bool:
        """False for delivered/relayed/expanded recipients: they are not bounces."""
        if self.action is not None:
            return self.action.startswith(("fail", "delay"))
        klass = self.status[:1] if self.status else ""
        return klass in ("4", "5") or bool(self.diagnostic)


def field_blocks(text: str) -> list[dict[str, str]]:
    """Blocks of `Name: value` fields (names lowercased), folded lines unfolded."""
    blocks: list[dict[str, str]] = []
    block: dict[str, str] = {}
    name = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            if block:
                blocks.append(block)
                if len(blocks) >= MAX_BLOCKS:
                    return blocks
            block, name = {}, ""
        elif line[:1] in (" ", "\t"):
            if name and len(block[name]) < MAX_FIELD:
                block[name] = f"{block[name]} {line.strip()}"[:MAX_FIELD]
        else:
            key, colon, value = line.partition(":")
            key = key.strip().lower()
            if colon and key and " " not in key and key in block:
                # A field met twice starts the next block: a paste that lost
                # the blank lines between recipients ("Final-Recipient: a",
                # ..., "Final-Recipient: b").
                blocks.append(block)
                if len(blocks) >= MAX_BLOCKS:
                    return blocks
                block = {}
            if colon and key and " " not in key:
                name = key
                block[name] = value.strip()[:MAX_FIELD]
            else:
                name = ""
    if block:
        blocks.append(block)
    return blocks


def _typed_value(value: str | None) -> tuple[str | None, str]:
    """("smtp", "550 ...") from "smtp; 550 ..."; (None, value) without a type."""
    if not value:
        return None, ""
    kind, semi, rest = value.partition(";")
    if semi and kind.strip() and " " not in kind.strip():
        return kind.strip().lower(), rest.strip()
    return None, value.strip()


def clean_address(value: str | None) -> str | None:
    """"rfc822; <Bob@Example.com>" -> "Bob@Example.com"; None when nothing is left."""
    _, address = _typed_value(value)
    address = address.strip().strip("<>").strip().strip("\"'").strip()
    return address or None


def _status(value: str | None) -> str | None:
    return parse_enhanced(value) if value else None


def is_report(blocks: list[dict[str, str]]) -> bool:
    """True when the blocks hold at least one per-recipient block."""
    return any(any(f in block for f in _RECIPIENT_FIELDS) for block in blocks)


def recipients(blocks: list[dict[str, str]]) -> list[DsnRecipient]:
    """Per-recipient records, each with the Reporting-MTA of its report.

    Some reporters put the message fields and the one recipient in a single
    block; a block with Final-Recipient or Original-Recipient is a recipient
    whatever else it holds.
    """
    reporting: str | None = None
    out: list[DsnRecipient] = []
    for block in blocks:
        if "reporting-mta" in block:
            reporting = _typed_value(block["reporting-mta"])[1] or None
        if not any(f in block for f in _RECIPIENT_FIELDS):
            continue
        diag_type, diagnostic = _typed_value(block.get("diagnostic-code"))
        if not diagnostic and block.get("x-supplementary-info"):
            diagnostic = block["x-supplementary-info"].strip().strip("<>")
        action = block.get("action", "").strip().lower().split(" ", 1)[0] or None
        remote = _typed_value(block.get("remote-mta"))[1] or None
        out.append(DsnRecipient(
            final_recipient=clean_address(block.get("final-recipient")),
            original_recipient=clean_address(block.get("original-recipient")),
            action=action,
            status=_status(block.get("status")),
            diagnostic=diagnostic or None,
            diagnostic_type=diag_type,
            remote_mta=remote,
            reporting_mta=reporting,
        ))
    return out
