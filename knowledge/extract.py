"""Finding replies in whatever an admin pastes: a code, a reply, a bounce, a log.

Recognised shapes, per line:

* a line that starts with a code, after transcript markers (`<-`, `S:`, `>`):
  `550 5.1.1 ...`, `550-5.1.1 ...` (a multiline reply continues while the code
  repeats with "-", and ends at the same code with a space), `451`;
* a code after a colon, semicolon or "said" inside a longer line, as in
  Postfix logs (`said: 550 ...`), Exim logs and DSN `Diagnostic-Code: smtp; 550 ...`;
* a line that starts with an enhanced code alone: `5.1.1`, `4.7.1 Try later`.

Indented lines right after a reply are its wrapped continuation (Postfix and
DSN bodies fold long replies). DSN `Status: 5.1.1` or `dsn=5.1.1` fields are
used only when no reply was found at all, so a bounce is not explained twice.
The command a reply answered is read from "in reply to RCPT TO command",
"after MAIL FROM" and the like, and passed on as the stage.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from . import loader
from .classifier import classify
from .enhanced_code import find_enhanced, parse_enhanced
from .model import Explained

# Every regex here is matched against one line at a time and is linear in it:
# no quantified group contains another quantifier that can match the same text,
# and anything that must repeat is walked in plain Python (`_strip_markers`).
# tests/test_linear_time.py runs them on adversarial lines.
MAX_LINE = 4096  # characters of a line that are looked at; a reply line is at most 512
_MARKER_CHARS = frozenset("<>*~|=!#-\"'")
_MARKER_WORDS = ("s:", "r:", "server:")
MAX_REPLY_CHARS = 8192  # text kept per reply; folded lines beyond it are dropped
# Unindented lines a reply Postfix quoted ("said:") may run over before its
# "(in reply to ... command)", when a paste lost the indent of its folds.
MAX_UNINDENTED_FOLDS = 8
_CODE_AT_START = re.compile(r"([2-5][0-5]\d)(?:([ -])(.*))?", re.DOTALL)
# Any second digit, for a line right below a lead-in that vouches for a reply:
# Exim's bounce puts "SMTP error from remote mail server after RCPT TO:<x>:"
# on the line above "571 Delivery not authorized".
_VOUCHED_CODE_AT_START = re.compile(r"([2-5]\d\d)(?:([ -])(.*))?", re.DOTALL)
# A reply quoted after a lead-in: "host x said: 550 ...", "The error was: 550 ...",
# the words notices put before a code ("SMTP error 550: ...", "with code 554
# (5.7.1) '...'", "status code 550 - ...", "failed (550) ...", "responded with
# \"550 ...\"", "Error: [550] ..."), and a session log's arrow after a time stamp
# ("12:00:01 <-- 550 ...", "RCPT TO:<x> -> 550 ...", Exchange's protocol log
# "...,192.0.2.7:25,<,550 5.1.1 ...,"), Exchange Online's message trace
# ("Reason: [{LED=550 5.1.10 ...};{MSG=};..."). Only "said", "was" and
# "returned" vouch for what follows; after the others the code must be followed
# by an enhanced code or real words (`_looks_like_reply_text`). Exchange's
# "mx.example.com #550 5.1.1 RESOLVER..." is read in `_match_line`.
# The code, after a lead-in: "550 5.1.1 text", "[550]", "'550'", "550-text", and
# with the full-width brackets and colon of Chinese and Japanese text (U+FF08,
# U+FF09, U+FF1A), after which, as after the code itself, their words follow
# with no space: "\uff08550\uff09宛先不明", "错误\uff1a550用户不存在".
_CODE_AND_REST = (r"\s*[\"']?(?P<code>[2-5]\d\d)[)\]\uff09]?[:\uff1a]?"
                  r"(?:(?P<sep>[ -]|(?<=[\uff09\uff1a])|(?=[\u3040-\u30ff\u3400-\u4dbf"
                  r"\u4e00-\u9fff\uac00-\ud7af]))(?P<rest>.*))?$")
_CODE_AFTER_LEADIN = re.compile(
    r"(?:\b(?P<said>said|was|returned)\b:?|\{(?P<led>led)="
    r"|\b(?P<word>error|code|status|reply|response|replied|responded|answered|message)\b"
    r"(?: with)?:?"
    r"|(?P<mark>[\[#]|<--?|<<<?|--?>|=>|,<,)|[:;(\uff08\uff1a])" + _CODE_AND_REST,
    re.IGNORECASE | re.DOTALL,
)
# The same words in the languages notices are written in; Chinese, Japanese
# and Korean ones end a run of letters with no space before the code. A regex
# of their own, tried only when the English one finds nothing on a line that
# holds a code at all: in the English regex they cost a 8 MB log a quarter
# of its speed.
_CODE_AFTER_FOREIGN_LEADIN = re.compile(
    r"(?:\b(?P<word>fehler|antwort|antwortete|erreur|r[ée]ponse|r[ée]pondu|c[óo]digo|respuesta"
    r"|respondi[óo]|erro|resposta|respondeu|errore|codice|risposta|risposto|hata|kodu?"
    r"|yan[\u0131i]t[\u0131i]?|b[łl][ąa]d|b[łl][ęe]du|odpowied[źz]|odpowiedzia[łl]a?|fout"
    r"|antwoord|antwoordde|ошибк[аи]|код|ответ|ответил[аи]?)\b"
    r"|(?P<wordcjk>错误|錯誤|代码|代碼|响应|回应|返回|回复|エラー|コード|応答|오류|에러|코드|응답))[:\uff1a\uff08]?"
    + _CODE_AND_REST,
    re.IGNORECASE | re.DOTALL,
)
_ANY_CODE = re.compile(r"(?<!\d)[2-5]\d\d(?!\d)")
# Bytes 0x80-0xff as Exim's bounces escape them: "\\345\\244\\204".
_OCTAL_RUN = re.compile(r"(?:\\[23][0-7]{2})+")
_WORDS = re.compile(r"[^\W\d_]{2,}")
# Chinese and Japanese write words without spaces: a run of two or more of
# their characters (Han, kana) is words, as two space-separated words are elsewhere.
_UNSPACED_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{2,}")
# Where a logged message's structured context starts, after its quoted text.
_LOG_CONTEXT = re.compile(r'"\.? [\[{]')
# The code a client expected, before the one it got ("Expected response code 250").
_EXPECTED = re.compile(r"\bexpected(?: response)?\s*$", re.I)
_MAX_EXPECTED = 3  # expected codes looked past on one line
# A reply whose basic code a client dropped, an enhanced code after a lead-in:
# Thunderbird's "The mail server responded: 5.7.1 <a@b>: Relay access denied.",
# .NET's "Mailbox unavailable. The server response was: 5.7.1 Unable to relay",
# MailKit's "MailKit.Net.Smtp.SmtpCommandException: 5.7.60 SMTP; Client ...".
_ENHANCED_AFTER_LEADIN = re.compile(
    r"(?:\b(?:said|responded|replied|answered|response|reply|was)\b|exception):?\s*[\"']?"
    r"(?=[245]\.\d{1,3}\.\d{1,3}\b)", re.I)
# Python's smtplib quotes a reply as a tuple: "(550, b'5.1.1 <bob@example.org>:
# Recipient address rejected: User unknown')".
_PYTHON_TUPLE = re.compile(
    r"\((?P<code>[2-5][0-5]\d), b?(?:'(?P<sq>(?:[^'\\]|\\.)*)|\"(?P<dq>(?:[^\"\\]|\\.)*))")
# Lead-ins that vouch for a reply as "said" does, matched against the text
# before the code: Exim's "SMTP error from remote mail server after RCPT TO:<x>:
# 451 ...", Postfix smtpd's "NOQUEUE: reject: RCPT from x[ip]: 554 ...", and
# right before the code Domino's "SMTP Protocol Returned a Permanent Error 550",
# a DSN's "Diagnostic-Code: smtp; 550" (RFC 3464: an SMTP reply follows),
# Sendmail's "Deferred: 421" and "(reason: 571", OpenSMTPD's line for each
# recipient ("bob@example.org: 554 RLY:B1"), a transcript's server arrow ("10:00:01 <-- 417",
# Exchange's protocol log ",<,550"), Exchange Online's message trace
# "{LED=550", and a client quoting the server: Outlook's "Server Response:
# '571" (its "Server Error: 550" is a field, no reply: no text follows the
# code) and Symfony's "... with message \"571"; and Gmail's notice, whose
# line "The response from the remote server was:" stands above the reply.
_VOUCHING_LEADIN = re.compile(
    r"smtp error from remote (?:mail )?server|\breject: [a-z-]{3,14} from "
    r"|(?:\bsaid:?|smtp protocol returned a (?:permanent|temporary) error|\b(?:smtp|deferred)[;:]"
    r"|server response:?|response from the remote (?:server|host) was:?|with message|<--?|,<,"
    r"|\{led=|\(reason:"
    r"|^\s*<?[^\s<>@]{1,64}@[^\s<>@]{1,255}>?:)\s*[\"']?$", re.I)
# Transcript markers of what the server said: Sendmail's "<<<", swaks's "<-",
# "<~" (after TLS) and "<**" (a failure reply).
_SERVER_MARKERS = ("<<<", "<-", "<--", "<~", "<**")
_PHASE_TAGS = (("[rcpt_to]", "rcpt"), ("[mail_from]", "mail"))
# Lead-ins that start a reply of their own even inside another's folded lines.
_NEW_REPLY_LEADIN = re.compile(r"\b(?:said|was|returned)\b|smtp error from remote", re.I)
# Postfix's smtpd ends a logged rejection with the envelope, not the reply's
# words: "reject: RCPT from x[ip]: 554 ...; from=<a> to=<b> proto=ESMTP helo=<h>".
_SMTPD_ENVELOPE = "; from=<"
# Where a client's command starts on a transcript's line (see _COMMAND_LINE).
_COMMAND_START = r"(?:^\s*|(?:>>>|->|,>,|\bsent:)\s*)"
_STAGE_HINTS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"rcpt to|rcpt from|does not like recipient", re.I), "rcpt"),
    (re.compile(r"mail from|does not like sender", re.I), "mail"),
    (re.compile(r"end of data|\bdata command|after data\b|end-of-message"
                rf"|{_COMMAND_START}(?:data|bdat)\b", re.I), None),
    (re.compile(r"\bstarttls\b", re.I), "starttls"),
    (re.compile(r"\behlo\b", re.I), "ehlo"),
    (re.compile(r"\bhelo\b", re.I), "helo"),
    (re.compile(r"refused to talk to me|initial (server )?greeting|initial connection"
                r"|\bbanner\b", re.I), "banner"),
    (re.compile(r"\bvrfy\b", re.I), "vrfy"),
    (re.compile(r"\brset\b", re.I), "rset"),
    (re.compile(r"\bquit\b", re.I), "quit"),
)
# Words that say which command a reply answered: Postfix's "in reply to" and
# its smtpd's "reject: RCPT from", Exim's "after", qmail's "does not like
# recipient", the command right above the reply in a transcript (Sendmail's
# ">>> RCPT To:", swaks' " -> RCPT TO:", a telnet session's "RCPT TO:").
_HINT_CONTEXT = re.compile(
    r"in reply to|after|refused to talk|greeting|connection|does not like|\breject: ", re.I)
# The line above a reply that is the command itself: Sendmail's ">>> RCPT To:",
# swaks' " -> RCPT TO:", a telnet session's "RCPT TO:", and the client's line of
# a time-stamped transcript (MDaemon's "10:00:01: --> RCPT To:", hMailServer's
# "SENT: RCPT TO:", the send event of Exchange's protocol log ",>,RCPT TO:").
# Only that line counts: an arrow on the reply's own line ("SERVER -> CLIENT:
# 502 Use HELO first") says nothing of the command.
_COMMAND_LINE = re.compile(
    rf"{_COMMAND_START}(?:rcpt to|mail from|ehlo|helo|starttls|vrfy|rset|data|bdat)\b", re.I)
# Whom a logged reply was for, read from the text before the code: Postfix and
# Sendmail log `to=<bob@example.com>`, Exim flags a failed or deferred address
# with `**` or `==`, and Exim's bounces and session logs name `RCPT TO:<...>`.
_LOG_RECIPIENT = re.compile(r"\bto=<([^<>\s]{1,254})>")
_EXIM_RECIPIENT = re.compile(r"(?:^|\s)(?:\*\*|==) ([^\s<>@]{1,64}@[^\s<>]{1,254})")
_RCPT_RECIPIENT = re.compile(r"\brcpt to: ?<([^<>\s]{1,254})>", re.I)


@dataclass
class _Found:
    code: int | None
    lines: list[str]
    context: str  # the line text before the code, and the line before that
    open_multiline: bool = False
    stage: str | None = None
    line_no: int = 0
    size: int = 0  # characters kept in `lines`, bounded by MAX_REPLY_CHARS
    recipient: str | None = None  # whom the log line says the reply was for
    before: str = ""  # the text before the code on the reply's own line
    unfinished: int = 0  # unindented lines that may still continue it (`folds_to_come`)
    awaits_in_reply_to: bool = False  # Postfix quoted it and its "(in reply to" is to come
    closed: bool = False  # its line closed the bracket or quote it was in: no folds follow
    stage_from_words: bool = False  # the stage was read from the reply's own words


def _stage_of(found: _Found) -> tuple[str | None, bool]:
    """The command this reply answered, when the log around it says so, and
    whether only the reply's own words said it.

    What the MTA or log wrote around the reply is asked before the reply's
    own words: the text before the code on its line, with a trailing "(in
    reply to RCPT TO command)" (Postfix's), then the line before (Exim's
    bounces put "... after RCPT TO:<x>:" above the reply), and only then
    the reply's words, which may name another command than the one they
    answer ("Callback setup failed ... a HELO or MAIL FROM:<> command was
    rejected", "550 Rejected after DATA: bcc recipient detected" sent at
    RCPT). The reply's own line comes before the line above it: in a log,
    the line before is another entry, which may name another command
    ("after RCPT TO" on one line must not answer for "after MAIL FROM" on
    the next).
    """
    # Whitespace collapsed: Postfix wraps its notices, so "refused to talk
    # to me" may be split over two lines.
    words = " ".join(" ".join(found.lines).split())
    appended = words[len(_without_in_reply_to(words, ("(in reply to",))):]
    before, context = " ".join(found.before.split()), " ".join(found.context.split())
    after_command = bool(_COMMAND_LINE.search(found.context))
    hays = ((before, appended, False), (context, appended, after_command),
            (before, words, False), (context, words, after_command))
    for index, (head, tail, command_above) in enumerate(hays):
        if not (head or tail):
            continue
        hay = f"{head} {tail}"
        if not command_above and not _HINT_CONTEXT.search(hay):
            continue
        for regex, stage in _STAGE_HINTS:
            if regex.search(hay):
                return stage, index >= 2
    return None, False


def _recipient_of(before: str, rest: str, previous: str) -> str | None:
    """The address a logged reply was for, when the log line says so.

    Only the reply's own line counts for `to=<...>` (before the code in a
    delivery log, after the reply in Postfix's smtpd "reject:" lines) and for
    Exim's flags: the line before is another log entry. `RCPT TO:<...>` may
    also end the line before, as Exim's bounces wrap it.
    """
    for regex, hay in ((_LOG_RECIPIENT, before), (_LOG_RECIPIENT, rest),
                       (_EXIM_RECIPIENT, before), (_RCPT_RECIPIENT, before),
                       (_RCPT_RECIPIENT, previous)):
        m = regex.search(hay)
        if m:
            return m.group(1)
    return None


def _looks_like_reply_text(rest: str) -> bool:
    """After a lead-in, a code must be followed by an enhanced code or real words.

    Keeps "Content-Length: 250" and "Size: 250 KB" from counting as replies,
    while "エラー: 550 宛先のユーザーが存在しません" (one unspaced run) counts.
    """
    return (parse_enhanced(rest) is not None or len(_WORDS.findall(rest)) >= 2
            or _UNSPACED_WORDS.search(rest) is not None
            or ("(#" in rest and find_enhanced(rest) is not None))  # qmail: "timeout (#4.4.2)"


def _strip_markers(line: str) -> str:
    """The line without transcript markers in front: `<<< `, `S: `, `> `, `-- `...

    Walked character by character rather than with a repeated regex group:
    a run of "-" or "=" has exponentially many ways to split into markers.
    """
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace() or ch in _MARKER_CHARS:
            i += 1
            continue
        low = line[i : i + 7].lower()
        word = next((w for w in _MARKER_WORDS if low.startswith(w)), None)
        if word is None:
            break
        i += len(word)
    return line[i:]


def _match_line(line: str, open_code: int | None = None, previous: str = "",
                ) -> tuple[int, str, str, str, str] | None:
    """(code, separator, rest, text before the lead-in, text before the code)
    if the line carries a reply.

    `open_code` is the code of a multiline reply still open ("550-"): a log
    line with that code continues it even when its words alone would not make
    a reply (Exim's "550-Called:   192.0.2.1" in hMailServer's log).
    When the `previous` line ends with a lead-in that vouches for a reply, a
    code outside RFC 5321 at the start of this one is a reply too (that
    lead-in is only looked for then: most lines start with no code at all).
    """
    bare = _strip_markers(line)
    markers = line[: len(line) - len(bare)]  # a quote among them closes after the reply
    m = _CODE_AT_START.fullmatch(bare)
    if m is None and (odd := _VOUCHED_CODE_AT_START.fullmatch(bare)):
        # A transcript's "<<< " is the server speaking (Sendmail's "<<< 571
        # Delivery not authorized"), as a vouching lead-in above is.
        vouched = markers.rstrip().endswith(_SERVER_MARKERS) or (
            bool(previous) and _VOUCHING_LEADIN.search(previous) is not None)
        m = odd if vouched else None
    if m:
        rest = _without_wrapper_paren(markers, m.group(3) or "")
        return int(m.group(1)), m.group(2) or "", rest, "", ""
    t = _PYTHON_TUPLE.search(line)
    if t is not None:
        rest = _unescaped(t["sq"] if t["sq"] is not None else t["dq"])
        return int(t["code"]), " ", rest, line[: t.start()], line[: t.start("code")]
    m = _reply_after_leadin(line)
    if m is None:
        return None
    g = m.groupdict()  # the foreign-word lead-in has no "said", "led" or mark
    said, code, mark = g.get("said"), m["code"], g.get("mark")
    sep, rest = m["sep"] or "", m["rest"] or ""
    # "]" closes a bracket the code is not the start of: the end of an IPv6
    # address ("[2a01:111:f400::240] must have ...") is no reply.
    if line[m.end("code") : m.end("code") + 1] == "]" and line[m.start("code") - 1 :
                                                             m.start("code")] != "[":
        return None
    if g.get("led"):  # Exchange Online's message trace: "{LED=550 5.1.10 ...};{MSG=};..."
        rest = rest.partition("};")[0].removesuffix("}]").removesuffix("}")
    # "#550 ... ##" is how Exchange quotes a remote reply, which vouches for it
    # as "said" does ("mx.example.net #417 DNS lookup failure ##"). The "##"
    # may close a later line when the reply was folded ("smtp.example.com
    # #550-The domain ... does not\n550 exist. Sorry. ##"): then the host name
    # right before the "#" vouches. Otherwise an enhanced code must follow: a
    # "#500" elsewhere is a ticket or an order number.
    exchange_quote = mark == "#" and (rest.rstrip().endswith("##")
                                           or _host_before_hash(line[: m.start("code")]))
    if mark == "#" and parse_enhanced(rest) is None and not exchange_quote:
        return None
    before, lead = line[: m.start()], line[: m.start("code")]
    vouched = exchange_quote or bool(_VOUCHING_LEADIN.search(lead))
    # A second digit above 5 is outside RFC 5321, yet servers send such codes
    # ("571 Delivery not authorized", "462 Daily send limit reached"); only a
    # lead-in that vouches for a reply (`_VOUCHING_LEADIN`, "said:") makes one
    # of them a reply ("size was 480 KB" is none).
    if code[1] > "5" and not vouched:
        return None
    # After "said", a code is a reply even when its words continue on the next
    # (folded) line: Postfix writes "said: 554 No\n    Resent-From field given".
    # After "error", "code" or a mark it must be an SMTP code ("HTTP error 404",
    # "page [404] not found" are not).
    worded = g.get("word") or g.get("wordcjk")
    if (worded or mark) and not vouched and f"c{code}" not in loader.codes():
        return None
    if mark == ",<,":  # the protocol log's next field, the context, is empty
        rest = rest.rstrip().removesuffix(",")
    rest = _without_wrapper_paren(lead, rest)
    # A blank line of a multiline reply ("SERVER -> CLIENT: 550-") keeps it open.
    if (said or vouched or (sep == "-" and not rest.strip()) or int(code) == open_code
            or _looks_like_reply_text(rest)):
        return int(code), sep, rest, before, lead
    return None


def _reply_after_leadin(line: str) -> re.Match[str] | None:
    """The first code after a lead-in that is not the code a client expected.

    Swift Mailer and Symfony write "Expected response code 250 but got code
    \"550\", with message \"550 5.1.1 ...\"": the 250 is what the client wanted,
    the reply is the 550 after "message". A few codes are looked past at most,
    so a line of nothing but expected codes costs a few searches, not one per code.
    """
    m = _unexpected_code(_CODE_AFTER_LEADIN, line)
    if m is None and _ANY_CODE.search(line) is not None:
        m = _unexpected_code(_CODE_AFTER_FOREIGN_LEADIN, line)
    return m


def _unexpected_code(regex: re.Pattern[str], line: str) -> re.Match[str] | None:
    """The first match of `regex` whose code is not one a client expected."""
    start = 0
    for _ in range(_MAX_EXPECTED):
        m = regex.search(line, start)
        if m is None or not _EXPECTED.search(line, max(0, m.start() - 20), m.start()):
            return m
        start = m.end("code")
    return None


def _unescaped(quoted: str) -> str:
    """The reply inside Python's bytes literal: "\\n" between lines, "\\'" and
    "\\xe6\\x94..." for UTF-8 the server sent. Escapes are decoded as data,
    never evaluated; a malformed one leaves the text as it was."""
    try:
        text = codecs.escape_decode(quoted.encode("utf-8", "surrogateescape"))[0].decode(
            "utf-8", "replace")
    except (ValueError, UnicodeError):
        text = quoted
    return " ".join(text.split("\n"))


def _without_wrapper_paren(lead: str, rest: str) -> str:
    """The reply without the ")" or ">" that closes a bracket opened before it,
    or the quote that closes one opened right before its code.

    Postfix logs the reply inside one: "status=bounced (host x said: 550 ...
    (in reply to RCPT TO command))"; the last ")" is the log's, not the reply's.
    Exchange 2003 does too: "<mx.example.net #5.0.0 smtp;550 5.1.1 <a@b>... Unknown>",
    and hMailServer's log quotes its whole field (RECEIVED: 550 5.7.1 ...) in
    double quotes. Later Exchange quotes it: "Remote Server returned '550 ...'".
    """
    for opening, closing in ("()", "<>"):
        if (rest.endswith(closing) and lead.count(opening) > lead.count(closing)
                and rest.count(closing) > rest.count(opening)):
            return rest[:-1]
    # A log that quotes its whole field: hMailServer's "RECEIVED: 550 ...".
    if rest.endswith('"') and lead.count('"') % 2 and rest.count('"') % 2:
        return rest[:-1]
    opened = lead.rstrip()[-1:]
    context = _LOG_CONTEXT.search(rest) if opened == '"' else None
    if context is not None:  # Laravel: 'with message "550 ...". {"exception": ...}'
        return rest[: context.start()]
    if opened in ("'", '"') and rest.rstrip().rstrip(".").endswith(opened):
        return rest.rstrip().rstrip(".")[:-1]  # Symfony: '... with message "550 ...".'

    if opened in ("'", '"') and (end := rest.rfind(opened + ",")) > 0:
        # Outlook's error dialog: "Server Response: '550 5.7.1 ...', Port: 587, ..."
        return rest[:end]
    return rest


def _without_client_advice(words: str) -> str:
    """The reply without the mail client's advice after it: Thunderbird's
    "... Relay access denied. Please check the message recipient "a@b" and
    try again." """
    advice = words.rfind(". Please ")
    return words[:advice] if advice > 0 and words.rstrip().endswith("try again.") else words


def _extend(item: _Found, text: str, *, new_line: bool) -> None:
    """Add a continuation to a reply, keeping at most MAX_REPLY_CHARS of it."""
    room = MAX_REPLY_CHARS - item.size
    if room <= 0:
        return
    text = text[:room]
    item.size += len(text) + 1
    if new_line:
        item.lines.append(text)
    else:
        item.lines[-1] = f"{item.lines[-1]} {text}"


def _octal_utf8(line: str) -> str:
    """The line with Exim's octal escapes of UTF-8 read back: Exim writes each
    byte of a non-ASCII reply as "\\ooo" in its bounces ("500 \\345\\244\\204..."
    for "500 处..."), which would leave the classifier no words. A run that is
    no valid UTF-8 stays as written."""
    if "\\" not in line:
        return line
    return _OCTAL_RUN.sub(_octal_run_text, line)


def _octal_run_text(match: re.Match[str]) -> str:
    run = match.group(0)
    data = bytes(int(run[i + 1 : i + 4], 8) for i in range(0, len(run), 4))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return run


def _host_before_hash(lead: str) -> bool:
    """Whether `lead` ends with a host name and "#", as Exchange quotes a
    remote server's reply ("smtp.example.com #550-..."). String operations
    only: a line of any length costs one pass."""
    head = lead.rstrip().removesuffix("#")
    if head == lead.rstrip():
        return False
    host = head.rstrip().rpartition(" ")[2]
    labels = host.split(".")
    return len(labels) >= 2 and all(
        label and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)
        for label in labels) and labels[-1][:1].isalpha()


def _without_code_markers(text: str, code: int | None, continued: bool = False) -> str:
    """A folded line without the reply's own code repeated inside it.

    Postfix folds a multiline reply into one ("said: 550-The account 550-or
    domain may not exist ... 550 entries"), so every line's "550-" (and the
    enhanced code after it) lands inside the words, and so does the last
    line's "550 " once a "550-" came before it. Token by token, so linear.
    """
    if code is None or str(code) not in text:
        return text
    marker = f"{code}-"
    tokens = text.split()
    kept: list[str] = []
    skip_enhanced = False
    # After a "550-" (here, or opening the reply being folded: `continued`), a
    # bare "550" opens the reply's last line.
    for k, token in enumerate(tokens):
        if skip_enhanced and parse_enhanced(token) is not None:
            skip_enhanced = False
            continue
        skip_enhanced = False
        if token.startswith(marker):
            continued = True
            token = token[len(marker):]
            if not token or parse_enhanced(token) is not None:
                continue
        elif token == str(code) and k + 1 < len(tokens) and parse_enhanced(tokens[k + 1]):
            skip_enhanced = True
            continue
        elif token == str(code) and continued:
            continued = False
            continue
        kept.append(token)
    return " ".join(kept)


def quoted_by_postfix(lead: str) -> bool:
    """Whether `lead` ends the way Postfix introduces a remote reply that it
    will close with "(in reply to ... command)": "host mx.example.org[192.0.2.1]
    said:". qmail's "Remote host said:" has no such end."""
    return lead.rstrip().lower().endswith("] said:")


def awaits_in_reply_to(lead: str, reply: str, previous: str) -> bool:
    """Whether a reply Postfix quoted ("host x[ip] said:", on its line before
    the code, `lead`, or ending the `previous` line) still has its "(in reply
    to ... command)" to come: up to there, every line is its words."""
    quoted = quoted_by_postfix(lead) or (not lead.strip() and quoted_by_postfix(previous))
    return quoted and "(in reply" not in reply.lower()


def folds_to_come(lead: str, reply: str, previous: str) -> int:
    """How many following lines continue a reply even without an indent.

    Postfix indents the lines it folds a reply over, but a paste from a web
    page may lose the indent. A reply Postfix quoted ("host x[ip] said:", on
    its line before the code, `lead`, or ending the `previous` line) runs to
    its "(in reply to ... command)"; one cut right after its codes ("550
    5.7.1") goes on to the next line. The recipient split (`human_part`) reads
    folds by the same rule as the extractor.
    """
    if awaits_in_reply_to(lead, reply, previous):
        return MAX_UNINDENTED_FOLDS
    if lead.endswith("#") and "##" not in reply:
        # Exchange's "host #550 5.7.1 <bob@example.org>:" runs to its "##".
        return MAX_UNINDENTED_FOLDS
    return 0 if any(ch.isalpha() for ch in reply) else 1


def folds_left(line: str, pending: int) -> int:
    """What `folds_to_come` allows after `line` was read as a fold: none once
    "(in reply" (Postfix may wrap before "to") or Exchange's "##" is reached."""
    return 0 if "(in reply" in line.lower() or "##" in line else pending - 1


def _continues(line: str) -> bool:
    """An indented line continues the reply above, unless it is a separator or
    what follows the reply an exception quotes: Java's "  nested exception is:",
    a stack frame ("   at MailKit.Net.Smtp.SmtpClient.SendAsync(...)")."""
    stripped = line.strip()
    frame = stripped.startswith("at ") and "(" in stripped and "." in stripped.split(" ", 2)[1]
    return bool(stripped) and not frame and not stripped.startswith(
        ("---", "===", "***", "___", "->", "<-", "<~", "~>", "**>", "<**",
         "nested exception is"))


def _inside_fold(current: _Found | None, line: str, before: str) -> bool:
    """Whether a code inside an indented line is the words of the reply it folds.

    Postfix folds a quoted reply over indented lines up to its "(in reply to
    ... command)": "said: 450 Temporary denial of\n    connection (450) for
    Zombie matches (ERS) (in reply to RCPT TO command)". The "(450)" there is
    no new reply, and neither is a fold that starts with a number ("said: 550
    Rate limit exceeded:\n    400 messages per hour ... (in reply to RCPT TO
    command)") or with the reply's own code ("said: 550-Postmaster
    verification\n    failed ... 550-Called: ...") before its "(in reply to".
    Outside such a quote a line that starts with a code is a new reply, and
    so is one that says "said:" again.
    """
    return (current is not None and current.unfinished > 0 and line[:1].isspace()
            and (bool(before.strip()) or current.awaits_in_reply_to)
            and not _NEW_REPLY_LEADIN.search(before))


def find_replies(text: str, previous: str = "") -> list[_Found]:
    """Every reply in `text`, multiline replies and folded lines joined.

    `previous` is the line before `text` when the caller knows it: a DSN's
    "Diagnostic-Code: smtp;" vouches for a reply code outside RFC 5321 at
    the start of the field's value, as Exim's lead-in does on its line.
    Each line is looked at up to MAX_LINE characters, and each reply keeps at
    most MAX_REPLY_CHARS, so time and memory grow linearly with the input.
    """
    found: list[_Found] = []
    current: _Found | None = None  # the reply the next line may continue
    enhanced_only: _Found | None = None
    for line_no, raw in enumerate(text.splitlines()):
        line = _octal_utf8(raw[:MAX_LINE].rstrip("\r"))
        open_code = current.code if current is not None and current.open_multiline else None
        hit = _match_line(line, open_code, previous)
        if hit is not None and _inside_fold(current, line, hit[3]):
            hit = None
        if hit is not None:
            code, sep, rest, before, lead = hit
            # Text after the reply on its line (a bracket's close, a log's next
            # field) ends it: "(host x said: 450 ... (in reply to RCPT TO
            # command))" in Postfix's queue listing, where the recipient follows
            # on an indented line, is no reply folded over two lines.
            closed = bool(rest.strip()) and not line.rstrip().endswith(rest.rstrip())
            rest = _without_code_markers(rest, code, sep == "-")  # "said: 550-a 550-b 550 c"
            if current is not None and current.open_multiline and current.code == code:
                _extend(current, rest, new_line=True)
                current.open_multiline = sep == "-"
            else:
                recipient = _recipient_of(before, rest, previous)
                envelope = rest.find(_SMTPD_ENVELOPE)
                if envelope >= 0 and " to=<" in rest[envelope:]:
                    rest = rest[:envelope]
                current = _Found(code, [rest[:MAX_REPLY_CHARS]], f"{previous} {before}",
                                 sep == "-", line_no=line_no, size=len(rest),
                                 recipient=recipient, before=before, closed=closed)
                current.awaits_in_reply_to = awaits_in_reply_to(lead, rest, previous)
                # A multiline reply continues with its code - unless Postfix
                # quoted it, joined, up to its "(in reply to", or Exchange did,
                # up to its "##".
                if sep != "-" or current.awaits_in_reply_to or lead.endswith("#"):
                    current.unfinished = folds_to_come(lead, rest, previous)
                found.append(current)
        elif current is not None and not current.closed and _continues(line) and (
                line[:1].isspace() or current.unfinished > 0):
            folded = _without_code_markers(line.strip(), current.code,  # a folded line
                                           current.open_multiline)
            _extend(current, folded, new_line=False)
            current.unfinished = folds_left(line, current.unfinished)
        else:
            current = None
            bare = _strip_markers(line)
            led = _ENHANCED_AFTER_LEADIN.search(line)
            if bare[:1] in ("2", "4", "5") and parse_enhanced(bare) is not None:
                current = _Found(None, [bare], previous, line_no=line_no, size=len(bare))
                found.append(current)
            elif led is not None:
                before = line[: led.start()]
                words = _without_client_advice(
                    _without_wrapper_paren(line[: led.end()], line[led.end():]))
                current = _Found(None, [words], f"{previous} {before}", line_no=line_no,
                                 size=len(words), before=before)
                found.append(current)
            elif enhanced_only is None:
                enhanced = find_enhanced(line)
                if enhanced is not None:
                    enhanced_only = _Found(None, [enhanced], previous, line_no=line_no)
        previous = line
    if not found and enhanced_only is not None:
        found = [enhanced_only]
    for item in found:
        tagged = _phase_tagged(item)
        item.stage, item.stage_from_words = (tagged, False) if tagged else _stage_of(item)
        _drop_given_up(item)
        if item.lines[-1].rstrip().endswith("##"):  # Exchange closes a quoted reply with "##"
            item.lines[-1] = item.lines[-1].rstrip()[:-2].rstrip()
        # Postfix's "(in reply to RCPT TO command)" is the log's words, not
        # the server's; the stage says it, and "end of DATA" is no stage.
        item.lines[-1] = _without_in_reply_to(item.lines[-1], ("(in reply to",)).rstrip()
    return _dedupe(found)


def _phase_tagged(item: _Found) -> str | None:
    """The stage a trailing phase tag names, taken off the reply's words.

    Yahoo's notices end the reply they quote with the phase it answered:
    "Remote host said: 550 5.1.1 <bob@example.org>... User Unknown [RCPT_TO]".
    "[BODY]" stays: like "end of DATA" it names no stage of ours, and it is
    all that tells a content rejection.
    """
    last = item.lines[-1].rstrip()
    for tag, stage in _PHASE_TAGS:
        if last[-len(tag):].lower() == tag:
            item.lines[-1] = last[: -len(tag)].rstrip()
            return stage
    return None


# What Exim adds to the last reply of a deferred address when it gives up
# retrying: "450 4.2.1 Mailbox busy: retry timeout exceeded". The host did
# answer, so its reply is the cause; left on, the words read as a host that
# could not be reached. Without a reply before them they stay: then they are
# all the notice says (generic-host-unreachable).
_GIVEN_UP = "retry timeout exceeded"


def _drop_given_up(item: _Found) -> None:
    """Take Exim's ": retry timeout exceeded" off a reply that has a code.

    In a bounce's prose Exim may wrap it onto a line of its own, after the
    reply's last line and its colon.
    """
    if item.code is None:
        return
    last = item.lines[-1].rstrip()
    if not last.lower().endswith(_GIVEN_UP):
        return
    head = last[: -len(_GIVEN_UP)].rstrip()
    if head.endswith(":"):
        item.lines[-1] = head[:-1].rstrip()
    elif not head and len(item.lines) > 1 and item.lines[-2].rstrip().endswith(":"):
        item.lines.pop()
        item.lines[-1] = item.lines[-1].rstrip()[:-1].rstrip()


_TWIN_DISTANCE = 30  # lines; a DSN repeats its reply within one message
_TWIN_LOOKBACK = 8  # replies kept before this one that may be its cut-short twin
_IN_REPLY_TO_STARTS = ("(in reply to", "(after ")


def _without_in_reply_to(text: str, openings: tuple[str, ...] = _IN_REPLY_TO_STARTS) -> str:
    """`text` without a trailing "(in reply to ... command)" or "(after ...)".

    String searches, not a regex: `\\s*\\(...[^)]*\\)` restarted at every
    space is quadratic in a long run of spaces.
    """
    stripped = text.rstrip()
    if not stripped.endswith(")"):
        return text
    low = stripped.lower()
    start = max(low.rfind(opening) for opening in openings)
    if start < 0 or ")" in low[start:-1]:
        return text
    return stripped[:start]


def _key(item: _Found) -> str:
    return " ".join(_without_in_reply_to(" ".join(item.lines)).split()).lower()


def _dedupe(found: list[_Found]) -> list[_Found]:
    """Drop a reply quoted twice in one bounce (its prose and its DSN Diagnostic-Code).

    The copies differ by Postfix's "(in reply to ... command)" suffix, so that
    is ignored; the first copy is kept and inherits a stage only the other had.
    A copy cut short is a twin of the whole reply (Sendmail's "(reason: 554
    first line)" above its transcript, or its long reply with the middle cut
    out; SparkPost's "reason" beside its "raw_reason"): the fuller one is kept.
    Only copies a few lines apart count as twins: the same rejection repeated
    through a long log is kept, once per occurrence.
    """
    kept: list[tuple[str, _Found]] = []
    last: dict[tuple[int | None, str], _Found] = {}
    for item in found:
        key = (item.code, _key(item))
        twin = last.get(key)
        if twin is not None and item.line_no - twin.line_no <= _TWIN_DISTANCE:
            _inherit_stage(twin, item)
            continue
        last[key] = item
        index = _cut_short_twin(kept, item, key[1])
        if index is None:
            kept.append((key[1], item))
            continue
        old_text, old = kept[index]
        if _cut_short(old_text, key[1]):  # the earlier copy was the one cut short
            kept[index] = (key[1], item)
            _inherit_stage(item, old)
        else:
            _inherit_stage(old, item)
    return [item for _, item in kept]


def _cut_short_twin(kept: list[tuple[str, _Found]], item: _Found, text: str) -> int | None:
    """Where, among the last few replies kept, the copy is of which `item` is
    the whole or a cut-short copy; None when there is none."""
    for index in range(max(0, len(kept) - _TWIN_LOOKBACK), len(kept)):
        old_text, old = kept[index]
        if old.code != item.code or item.line_no - old.line_no > _TWIN_DISTANCE:
            continue
        if _cut_short(old_text, text) or _cut_short(text, old_text):
            return index
    return None


def _head_in(part: str, whole: str) -> int:
    """How much of `whole` the normalised text `part` starts: all of `part`,
    or all but a bracket the notice closed after the cut ("(reason: 550-first
    line)"); -1 when `part` is not its start."""
    if whole.startswith(part):
        return len(part)
    if part.endswith(")") and whole.startswith(part[:-1]):
        return len(part) - 1
    return -1


def _cut_short(part: str, whole: str) -> bool:
    """Whether the normalised text `part` is `whole` cut short: its start, or
    its start and end with the middle elided."""
    return _head_in(part, whole) >= 0 or _elided(part, whole)


def is_cut_short(part: str, whole: str) -> bool:
    """Whether reply text `part` is a copy of `whole` cut short (a DSN's
    Diagnostic-Code holds only the first line of Sendmail's multiline reply).
    A copy that adds only punctuation (Exchange's closing quote in "returned
    '400 4.4.7 Message delayed'") holds no more of the reply."""
    part_key, whole_key = (" ".join(t.split()).lower() for t in (part, whole))
    head = _head_in(part_key, whole_key)
    if head >= 0:
        return any(ch.isalnum() for ch in whole_key[head:])
    return _elided(part_key, whole_key)


_ELISION = "..."
_MIN_ELIDED_HEAD = 16  # characters a cut copy must keep before its "..."


def _elided(short: str, whole: str) -> bool:
    """Whether `short` is `whole` with its middle cut out: Sendmail's "(reason:
    550 5.1.1 The email account ... Please try double-checking the r...r
    unnecessary spaces. ...)" shortens a long reply to its head, "..." and its
    tail (a closing bracket of the notice's own may follow)."""
    # The reply may hold "..." of its own ("<bob@example.org>... User
    # unknown"): the cut is the first "..." after the head, or the last.
    first = short.find(_ELISION, _MIN_ELIDED_HEAD)
    return first >= 0 and any(_elided_at(short, cut, whole)
                              for cut in {first, short.rfind(_ELISION)})


def _elided_at(short: str, cut: int, whole: str) -> bool:
    """Whether `short` is `whole` elided by the "..." at `cut`. In a longer run
    of dots the others are the head's ("reused)....d bounce") or the tail's
    ("Solution....domain.com)"): both ends of the run are tried."""
    begin, end = cut, cut + len(_ELISION)
    while begin > 0 and short[begin - 1] == ".":
        begin -= 1
    while end < len(short) and short[end] == ".":
        end += 1
    for start in {begin, end - len(_ELISION)}:
        head, tail = short[:start], short[start + len(_ELISION):].rstrip(")")
        if (len(head) >= _MIN_ELIDED_HEAD and len(head) + len(tail) <= len(whole)
                and whole.startswith(head) and whole.rstrip(")").endswith(tail)):
            return True
    return False


def _inherit_stage(kept: _Found, dropped: _Found) -> None:
    """The kept copy takes the other's stage when it has none, or when only
    its own words gave one and the other's MTA named the command: Sendmail's
    "(reason: 450 ... while receiving the initial server greeting)" is the
    same reply as its transcript's ">>> RCPT To:" "<<< 450 ..."."""
    if dropped.stage is not None and (
            kept.stage is None or (kept.stage_from_words and not dropped.stage_from_words)):
        kept.stage, kept.stage_from_words = dropped.stage, dropped.stage_from_words


def explain_text(text: str, lang: str = "en") -> list[Explained]:
    """Explain every reply found in pasted text; [] when there is none.

    Accepts "451", "5.1.1", "550 5.1.1", whole reply lines, and multi-line
    bounces or log excerpts (a reply quoted twice in one bounce counts once).
    """
    if not isinstance(text, str):
        text = str(text)
    out: list[Explained] = []
    for item in find_replies(text):
        body = "\n".join(item.lines)
        enhanced = parse_enhanced(body)
        annotation = classify(item.code, body, item.stage, lang, enhanced)
        out.append(Explained(item.code, enhanced, body, annotation, item.stage, item.recipient))
    return out


@dataclass(frozen=True)
class FoundReply:
    """A reply found in text: its code (None for an enhanced code alone), its text,
    the command it answered when the text says so, and the text just before it."""

    code: int | None
    text: str
    stage: str | None
    context: str


def failure_replies(text: str, previous: str = "") -> list[FoundReply]:
    """The 4xx/5xx replies in `text`, in order (enhanced codes alone included);
    `previous` as for `find_replies`."""
    out = []
    for item in find_replies(text, previous):
        body = "\n".join(item.lines)
        klass = item.code // 100 if item.code is not None else int(body[:1] or 0)
        if klass in (4, 5):
            out.append(FoundReply(item.code, body, item.stage, item.context))
    return out
