"""Outlook `.msg` files read into the same `MessageText` as a mail message.

Windows admins save a bounce by dragging it out of Outlook: the file is an
OLE2 compound file (MS-OXMSG), not RFC 5322 text. Its MAPI properties are
streams named `__substg1.0_IIIITTTT` (property id, then type: 001F UTF-16LE,
001E 8-bit, 0102 binary) and fixed-size values in `__properties_version1.0`.
What a bounce needs is turned into what `mailmsg.read_message` gives for an
email, so the bounce parser reads one structure whatever the file was:

- the human part: PidTagReportText (0x1001) and PidTagBody (0x1000), else
  PidTagHtml (0x1013) as text;
- delivery-status fields: an attachment whose MIME type is
  message/delivery-status (Exchange keeps the DSN of a report it received
  that way), and for a report class (REPORT.IPM.Note.NDR, .Delayed.DR...)
  one block per row of the recipient table: PidTagSmtpAddress (0x39FE) or
  PidTagEmailAddress (0x3003) as Final-Recipient, PidTagSupplementaryInfo
  (0x0C1B, the remote server's reply as Exchange keeps it) as
  X-Supplementary-Info, PidTagRemoteMta (0x0C21) as Remote-MTA;
- own addresses (never failed recipients): the sender's, those of
  PidTagTransportMessageHeaders (0x007D), and the recipient table of a
  message that is not a report (its To and Cc);
- an attached message (`__substg1.0_3701000D`) is read the same way, and a
  report found there stands for the message that forwards it.

The numeric NDR properties are not read: PidTagNonDeliveryReportStatusCode
(0x0C20) is written as 100*class+10*subject+detail by some servers and as
the basic reply code by others, and the reason and diagnostic codes (0x0C04,
0x0C05) are X.400 enumerations; the supplementary info beside them quotes
the status and the reply themselves ("<mx.example.net #5.1.1 smtp;550 ...>").

The file is hostile: every stream is read only when its declared size fits
the file and a total budget, strings are cut to `MAX_STRING` and decoded with
replacement, recipients, attachments and nesting are capped, and a file that
is no readable compound file raises `UnreadableMsg` with a one-line reason.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Any

import olefile

from .html_text import html_to_text
from .mailmsg import MAX_PART, MessageText, decode_payload, dsn_in_text, own_addresses

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_STRING = MAX_PART  # bytes of one property stream that are decoded
MAX_HEADERS = 64 * 1024  # bytes of the transport headers that are parsed
MAX_RECIPIENTS = 1000  # rows of one recipient table read
MAX_ATTACHMENTS = 64  # attachments of one message looked at
MAX_DEPTH = 4  # attached messages followed inside each other
READ_BUDGET_FACTOR = 4  # all streams read together: at most this many times the file
# A report's class is "REPORT." + the original's class + a suffix (MS-OXOMSG):
# REPORT.IPM.Note.NDR, REPORT.IPM.Note.SMIME.Delayed.DR... The suffix is the
# DSN Action of the recipients it lists; longest suffixes first.
_REPORT_ACTIONS = ((".delayed.dr", "delayed"), (".relayed.dr", "relayed"),
                   (".expanded.dr", "expanded"), (".ndr", "failed"), (".dr", "delivered"))
_SENDER_PROPS = ("0C1F", "5D01", "0065", "5D02")  # sender and sent-representing addresses
_OLE_ERRORS = (OSError, ValueError, struct.error, IndexError, KeyError, TypeError,
               OverflowError, RecursionError, UnicodeError)
_CODEPAGE = 0x3FFD  # PidTagMessageCodepage: the charset of 8-bit strings
_INTERNET_CODEPAGE = 0x3FDE  # PidTagInternetCodepage: the charset of the HTML body
_PT_LONG = 0x0003


class UnreadableMsg(ValueError):
    """The input starts like an Outlook file but cannot be read; says why in one line."""


def is_outlook_msg(data: bytes) -> bool:
    """Whether `data` is an OLE2 compound file (the magic bytes, not a file name)."""
    return data.startswith(OLE_MAGIC)


class _OleFile(olefile.OleFileIO):
    """olefile with its two per-entry look-ups made linear, same checks.

    olefile keeps the first sectors of streams in a list to find one
    referenced twice, and finds a path by scanning each storage's children:
    both quadratic in the directory, which the file chooses (30,000 entries
    took 8 s to open). Here a set and the `kids_dict` olefile builds anyway.
    Defects olefile calls "incorrect" are errors, not warnings: let through,
    a stream longer than the FAT is read sector after sector round a loop in
    the FAT (the mini stream's size is the file's word). 130 of 134 .msg
    files of five readers' test data open (the rest are fuzzer cases).
    """

    def __init__(self, data: bytes) -> None:
        self._seen: dict[bool, set[int]] = {False: set(), True: set()}
        super().__init__(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)

    def _check_duplicate_stream(self, first_sect: int, minifat: bool = False) -> None:
        if not minifat and first_sect in (olefile.DIFSECT, olefile.FATSECT,
                                          olefile.ENDOFCHAIN, olefile.FREESECT):
            return
        seen = self._seen[minifat]
        if first_sect in seen:
            self._raise_defect(olefile.DEFECT_INCORRECT, "Stream referenced twice")
        seen.add(first_sect)

    def _find(self, filename: str | Sequence[str]) -> int:
        names = filename.split("/") if isinstance(filename, str) else list(filename)
        return int(self._node(names).sid)

    def _node(self, names: Sequence[str]) -> Any:
        """The directory entry at a path (the stubs do not know its attributes)."""
        node: Any = self.root
        for name in names:
            node = node.kids_dict.get(name.lower())
            if node is None:
                raise OSError("file not found")
        return node

    def children(self, path: str) -> list[str]:
        """The names of the entries in the storage at `path` ("" for the root)."""
        return [kid.name for kid in self._node(path.split("/") if path else []).kids]


@dataclass
class _Budget:
    """Bytes all stream reads may still take: a FAT loop may make every stream
    as long as the file, so the sum is capped as well as each one."""

    left: int

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


@dataclass
class _Found:
    """What one message and its attached messages hold."""

    text: MessageText = field(default_factory=MessageText)
    attached: list[MessageText] = field(default_factory=list)


class _Reader:
    def __init__(self, ole: _OleFile, file_size: int) -> None:
        self.ole = ole
        self.file_size = file_size
        self.budget = _Budget(READ_BUDGET_FACTOR * file_size)

    # ------------------------------------------------------------ raw streams

    def _stream(self, path: str, cap: int = MAX_STRING) -> bytes | None:
        """The first `cap` bytes of a stream; None when absent, lied about or corrupt."""
        try:
            if self.ole.get_type(path) != olefile.STGTY_STREAM:
                return None
            size = self.ole.get_size(path)
            if size > self.file_size or not self.budget.take(size):
                return None
            with self.ole.openstream(path) as stream:
                return bytes(stream.read(cap))
        except _OLE_ERRORS:
            return None

    def _charsets(self, storage: str, header: int) -> tuple[str, str]:
        """The charsets of the message's 8-bit strings (PidTagMessageCodepage)
        and of its HTML body (PidTagInternetCodepage), as Windows code pages."""
        data = self._stream(_join(storage, "__properties_version1.0"), 64 * 1024) or b""
        found: dict[int, str] = {}
        for offset in range(header, len(data) - 15, 16):
            tag, _, value = struct.unpack_from("<IIQ", data, offset)
            if tag & 0xFFFF == _PT_LONG and tag >> 16 in (_CODEPAGE, _INTERNET_CODEPAGE):
                found[tag >> 16] = f"cp{value & 0xFFFF}"
        # Without a PidTagMessageCodepage, the body's charset is the best guess.
        strings = found.get(_CODEPAGE) or found.get(_INTERNET_CODEPAGE) or "cp1252"
        return strings, found.get(_INTERNET_CODEPAGE, strings)

    def string(self, storage: str, prop: str, charset: str = "cp1252") -> str:
        """A string property: UTF-16LE (001F), else 8-bit (001E) in `charset`."""
        data = self._stream(_join(storage, f"__substg1.0_{prop}001F"))
        if data is not None:
            return data[: len(data) // 2 * 2].decode("utf-16-le", "replace").rstrip("\x00")
        data = self._stream(_join(storage, f"__substg1.0_{prop}001E"))
        return "" if data is None else decode_payload(data, charset).rstrip("\x00")

    def binary(self, storage: str, prop: str) -> bytes:
        return self._stream(_join(storage, f"__substg1.0_{prop}0102")) or b""

    def _kids(self, storage: str, prefix: str, limit: int) -> list[str]:
        names = sorted(n for n in self.ole.children(storage) if n.startswith(prefix))
        return [_join(storage, n) for n in names[:limit]]

    # ------------------------------------------------------------ one message

    def message(self, storage: str, depth: int) -> MessageText:
        """The readable content of the message stored at `storage` ("" for the file)."""
        codepage, html_charset = self._charsets(storage, 32 if not storage else 24)
        klass = self.string(storage, "001A", codepage).strip().lower()
        action = next((a for suffix, a in _REPORT_ACTIONS
                       if klass.startswith("report.") and klass.endswith(suffix)), None)
        found = _Found(MessageText(subject=self.string(storage, "0037", codepage)))
        out = found.text
        for text in (self.string(storage, "1001", codepage),
                     self._body(storage, codepage, html_charset)):
            if text.strip():
                out.human.append(text)
        for prop in _SENDER_PROPS:
            address = self.string(storage, prop, codepage)
            if "@" in address:
                out.own_addresses.add(address.strip().lower())
        headers = self.string(storage, "007D", codepage)[:MAX_HEADERS]
        if headers:
            out.own_addresses |= own_addresses(HeaderParser().parsestr(headers, headersonly=True))
        blocks = [self._recipient(row, action, out, codepage)
                  for row in self._kids(storage, "__recip_version1.0_#", MAX_RECIPIENTS)]
        if action is not None and any(blocks):
            out.dsn.append("\n\n".join(b for b in blocks if b))
        for attachment in self._kids(storage, "__attach_version1.0_#", MAX_ATTACHMENTS):
            self._attachment(attachment, found, depth, codepage)
        if not out.dsn:
            for inner in found.attached:  # a report forwarded as an attached message
                if inner.dsn:
                    out.dsn.extend(inner.dsn)
                    out.human.extend(inner.human)
                    break
        dsn_in_text(out)
        return out

    def _body(self, storage: str, codepage: str, html_charset: str) -> str:
        """PidTagBody; without it PidTagHtml (binary, or a string) as plain text."""
        body = self.string(storage, "1000", codepage)
        if body.strip():
            return body
        markup = self.binary(storage, "1013")
        html = (decode_payload(markup, html_charset) if markup
                else self.string(storage, "1013", codepage))
        return html_to_text(html) if html.strip() else ""

    def _recipient(self, row: str, action: str | None, out: MessageText,
                   codepage: str) -> str:
        """The DSN block of one recipient row of a report; "" for other messages,
        whose recipients are the message's own addressees."""
        address = next((a.strip() for a in (self.string(row, "39FE", codepage),
                                             self.string(row, "3003", codepage)) if "@" in a),
                       "")
        if action is None:
            if address:
                out.own_addresses.add(address.lower())
            return ""
        address = address or self.string(row, "3001", codepage).strip()
        if not address:
            return ""
        lines = [f"Final-Recipient: rfc822; {_one_line(address)}", f"Action: {action}"]
        remote = self.string(row, "0C21", codepage).strip()
        if remote:
            lines.append(f"Remote-MTA: dns; {_one_line(remote)}")
        info = self.string(row, "0C1B", codepage).strip()
        if info:
            lines.append(f"X-Supplementary-Info: {_one_line(info)}")
        return "\n".join(lines)

    def _attachment(self, storage: str, found: _Found, depth: int, codepage: str) -> None:
        """A delivery-status attachment's fields, or an attached message's content."""
        if any(n.upper() == "__SUBSTG1.0_3701000D" for n in self.ole.children(storage)):
            inner = _join(storage, "__substg1.0_3701000D")
            if depth < MAX_DEPTH:
                found.attached.append(self.message(inner, depth + 1))
            return
        mime = self.string(storage, "370E", codepage).strip().lower()
        if mime.endswith("delivery-status"):
            data = self.binary(storage, "3701")
            if data:
                found.text.dsn.append(data.decode("utf-8", "replace"))


def _join(storage: str, name: str) -> str:
    return f"{storage}/{name}" if storage else name


def _one_line(value: str) -> str:
    """A property value as one field line: its line breaks would start new fields."""
    return " ".join(value.split())


def read_outlook_msg(data: bytes) -> MessageText:
    """The readable content of an Outlook .msg file (bytes as read).

    Raises UnreadableMsg when the compound file itself cannot be read; a
    property that cannot be read is left out instead.
    """
    try:
        ole = _OleFile(data)
    except _OLE_ERRORS as exc:
        raise UnreadableMsg(f"not a readable Outlook .msg file ({_reason(exc)})") from None
    try:
        return _Reader(ole, len(data)).message("", 0)
    except _OLE_ERRORS as exc:
        raise UnreadableMsg(f"not a readable Outlook .msg file ({_reason(exc)})") from None
    finally:
        ole.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "storages nested too deep"
    text = " ".join(str(exc).split())[:120]
    return text or type(exc).__name__
