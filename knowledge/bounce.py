"""Explaining a whole bounce: one result per failed recipient.

For each recipient the reason is taken from the most reliable place that has
one, and the result says which (`evidence`):

1. "dsn": the RFC 3464 fields: Diagnostic-Code (the remote reply), else Status;
2. "human": the reply the human-readable part quotes for that recipient
   (Postfix "said:", Exim "SMTP error from remote mail server", Sendmail
   "(reason: ...)", Exchange "#550 5.1.1 ...", qmail "Remote host said:");
3. "prose": no reply code and no status anywhere; the category comes from the
   wording alone ("mailbox is full", "Sorry, no mailbox here by that name").

When the fields give only a vague status (Postfix's 5.0.0) or a code without
text, the wording of the human-readable part is still given to the classifier,
so "maildir has overdrawn his diskspace quota" with Status 5.2.3 is a full
mailbox, not a message that is too large. Recipients the report lists as
delivered, relayed or expanded are not failures and are left out.

`explain_input` decides what was pasted: a message or an mbox goes through
here; anything else (a reply, a log excerpt) through `extract.explain_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .classifier import classify, reply_class
from .dsn import DsnRecipient, field_blocks, recipients
from .enhanced_code import find_enhanced, parse_enhanced
from .extract import FoundReply, explain_text, failure_replies, is_cut_short
from .html_text import html_to_text
from .human_part import RecipientText, cut_original, mentions, recipient_texts, reply_start
from .json_paste import json_lines
from .limits import MAX_INPUT
from .loader import notice_words
from .mailmsg import (
    MessageText,
    input_kind,
    parts_per_message,
    read_message,
    split_mbox,
    unquoted,
)
from .model import Annotation, Explained
from .outlook_msg import UnreadableMsg, is_outlook_msg, read_outlook_msg

MAX_PROSE = 1500  # characters of wording given to the classifier
# A Postfix notice's paragraph for one recipient: "<bob@example.org>: host mx
# said: 550 ..." at the start of a line (the notice's text pasted alone), or
# qmail's and Yahoo's "<bob@example.org>:" on a line of its own.
_RECIPIENT_PARAGRAPH = re.compile(r"(?m)^<[^<>\s@]{1,64}@[^<>\s]{1,254}>:(?: (?:host |\S)|$)")
MAX_PARAGRAPH_SCAN = 64 * 1024
# Pasted text that is HTML markup: it opens with a tag a notice's HTML part uses.
_HTML_PASTE = re.compile(r"\s*(?:<!doctype html|<(?:html|head|body|div|p|table|span|font|br)\b)",
                         re.I)
# A word of notice prose, for telling stock sentences from a stated cause.
_PROSE_WORD = re.compile(r"[^\W\d_]{3,}")
# Where the delivery-status fields of a report pasted as text begin.
_DSN_START = re.compile(r"(?im)^(?:reporting-mta|final-recipient|original-recipient):")
_FINAL_RECIPIENT = re.compile(r"(?im)^final-recipient:")


@dataclass(frozen=True)
class RecipientFailure:
    """Why one recipient of a bounce did not get the message."""

    recipient: str | None
    original_recipient: str | None
    action: str  # "failed" or "delayed"
    status: str | None  # enhanced status code, from Status: or from the reply
    code: int | None  # basic reply code, when the bounce quotes a reply
    text: str  # the reply text after its code, or the wording the cause was read from
    remote_mta: str | None
    reporting_mta: str | None
    evidence: str  # "dsn", "human" or "prose" (see the module docstring)
    stage: str | None  # the command the reply answered, when the bounce says
    annotation: Annotation
    message: int = 0  # which message of an mbox (0 for a single message)


@dataclass(frozen=True)
class InputExplanation:
    """Everything explained in one input.

    `kind` is "mbox", "message", "outlook" (an Outlook .msg file), "dsn" (bare
    DSN fields) or "text". Bounces give `failures`, and so does text that is a
    notice's body pasted without its headers when its paragraphs name every
    recipient; other text, and a message in which no recipient could be told
    apart, give `replies` (the reply-by-reply explanation of `explain_text`).
    """

    kind: str
    failures: tuple[RecipientFailure, ...] = ()
    replies: tuple[Explained, ...] = ()
    truncated: bool = False


# ---------------------------------------------------------------- one recipient

def _prose(*texts: str | None) -> str:
    joined = " ".join(t for t in texts if t)
    return " ".join(joined[: MAX_PROSE * 2].split())[:MAX_PROSE]


def _class_only(status: str | None) -> bool:
    """Whether a DSN Status says no more than the class: absent, or X.0.0."""
    return status is None or status.endswith(".0.0")


def _annotate(code: int | None, text: str, status: str | None, stage: str | None,
              delayed: bool, lang: str) -> Annotation:
    """Classify; wording without any code is read as a 4xx (delay) or 5xx failure.

    A reply is read as it would be alone: its words and its own enhanced code.
    The DSN's Status is the reporting MTA's reading of it, not the server's
    words - Sendmail writes 5.1.1 for any 550 to RCPT TO and 4.4.7 for any
    deferral that expired, Postfix 5.0.0 for any rejection without an enhanced
    code - so it stands in for the reply's own code only where the reply's
    words decide nothing, and a Status of X.0.0 never does. Wording without a
    reply code takes the Status as its code.
    """
    klass = 4 if delayed else 5
    if code is None:
        return classify(None, text, stage, lang, status, klass_hint=klass)
    own = parse_enhanced(text)
    ann = classify(code, text, stage, lang, own, klass_hint=klass)
    if own is None and not _class_only(status) and ann.matched.startswith(("code:", "class:")):
        return classify(code, text, stage, lang, status, klass_hint=klass)
    return ann


def _remote_from(reply: FoundReply) -> str | None:
    """"mx.example.net" from a context like "host mx.example.net[192.0.2.1] said",
    or Exchange's "Remote Server at mx.example.net (192.0.2.1) returned"."""
    words = reply.context.replace("[", " [").split()
    for i, word in enumerate(words[:-1]):
        named = word.lower() == "host" or (word.lower() == "at" and i > 0
                                          and words[i - 1].lower() == "server")
        if named and "." in words[i + 1]:
            return words[i + 1].strip(":,")
    return None


def _best_reply(text: str, previous: str = "") -> FoundReply | None:
    """The first 4xx/5xx reply with a basic code in `text`, if any. A copy cut
    short, as Sendmail's "(reason: 554 first line)" above the transcript that
    holds all of it, is already one reply with the whole (`extract._dedupe`).
    `previous`: the line before `text`, as `extract.find_replies` takes it."""
    if not text:
        return None
    return next((r for r in failure_replies(text, previous) if r.code is not None), None)


# A Diagnostic-Code of type smtp is a reply: its code counts even outside
# RFC 5321 ("571 Delivery not authorized"), as after Exim's lead-in.
_SMTP_DIAGNOSTIC = "Diagnostic-Code: smtp;"


@dataclass(frozen=True)
class _Cause:
    code: int | None
    text: str
    status: str | None
    stage: str | None
    evidence: str
    remote: str | None
    annotation: Annotation


def _cause(diagnostic: str, status: str | None, own: str, common: str, delayed: bool,
           lang: str, smtp_diagnostic: bool = False) -> _Cause:
    """The reason for one recipient, from the best source that gives one.

    A quoted reply wins: the DSN's Diagnostic-Code, else one in the recipient's
    own text, else - only for a recipient with no words of its own - one in the
    notice's common text (which ends with the last recipient's lines, so a
    recipient with its own reason must not borrow that one's reply). Without
    any reply the wording is classified: the DSN diagnostic and the
    recipient's own text first, the common text only when that recognises
    nothing the other did not - and never, for a recipient with words of its
    own, when the common text quotes a reply: that reply is another
    recipient's.
    """
    # Own text with nothing but what every notice says ("Deferred", "still
    # undelivered") and no reply is no reason of its own. The word check runs
    # first: it is cheap, and the reply search then runs only for such text.
    if own and not _states_a_cause(own) and _best_reply(own) is None:
        own = ""
    sources = [(diagnostic, "dsn"), (own, "human")] + ([] if own else [(common, "human")])
    for text, evidence in sources:
        reply = _best_reply(text, _SMTP_DIAGNOSTIC if evidence == "dsn" and smtp_diagnostic
                            else "")
        if reply is None:
            continue
        stage, remote = reply.stage, _remote_from(reply)
        if evidence == "dsn":
            # The notice's text quotes the same reply with what the fields
            # lack: the command it answered, in the MTA's own words ("(in
            # reply to RCPT TO command)", "after end of data"), where a
            # Diagnostic-Code has only the reply's, which may name another
            # command ("... mail from it should not be greylisted"); and the
            # host that sent it.
            twin = _best_reply(own)
            if twin is not None:
                stage, remote = twin.stage, remote or _remote_from(twin)
                # Sendmail's field keeps only the first line of a multiline
                # reply; its transcript has all of it.
                if twin.code == reply.code and is_cut_short(reply.text, twin.text):
                    reply = twin
        found = parse_enhanced(reply.text) or status
        # The Diagnostic-Code is the server's reply and reads as it would
        # alone; the Status beside it is the reporting MTA's reading of it.
        ann = _annotate(reply.code, reply.text, None if evidence == "dsn" else found, stage,
                        delayed, lang)
        return _Cause(reply.code, reply.text, found, stage, evidence, remote, ann)
    borrowed = bool(own) and _best_reply(common) is not None
    texts = [t for t in (_prose(diagnostic, own), "" if borrowed else _prose(common)) if t] or [""]
    causes = []
    for text in texts:
        # A Status of X.0.0 names only the class; the diagnostic's own code
        # ("5.4.7 - Delivery expired ...") says more. qmail's "(#5.1.1)" is a
        # code without a reply.
        found = ((find_enhanced(diagnostic) if _class_only(status) else None) or status
                 or find_enhanced(text))
        evidence = "dsn" if status or diagnostic else "human" if found else "prose"
        ann = _from_prose(text, found, delayed, lang)
        causes.append(_Cause(None, text, found, None, evidence, None, ann))
        if ann.matched.startswith("pattern:"):
            return causes[-1]
    return causes[0]


def _from_prose(prose: str, found: str | None, delayed: bool, lang: str) -> Annotation:
    """The cause notice prose states, with `found` the status it carries.

    Notice prose is no reply (often a greeting or a disclaimer), so a guess
    from what its words resemble gives way: to a status the reporting MTA
    wrote, and to no cause at all when the prose holds nothing but what every
    notice says of itself ("This is an automatically generated Delivery
    Status Notification. Delivery to the following recipients failed."): a
    cause read from those words would be one the notice never gave.
    """
    ann = _annotate(None, prose, found, None, delayed, lang)
    if ann.evidence.startswith("resemblance:") and (found or not _states_a_cause(prose)):
        return _annotate(None, "", found, None, delayed, lang)
    return ann


def _states_a_cause(prose: str) -> bool:
    """Whether prose holds a word beyond the stock words of notices (`notices.toml`).

    Addresses, host names and numbers are no words here: they name the
    recipient or the server, not what went wrong.
    """
    stock = frozenset(notice_words("stock_words"))
    for token in prose[:MAX_PROSE].lower().split():
        if "@" in token or any(ch.isdigit() for ch in token) or "." in token.strip(".,:;!?)("):
            continue
        if any(word not in stock for word in _PROSE_WORD.findall(token)):
            return True
    return False


def _failure(address: str | None, cause: _Cause, *, original: str | None = None,
             rec: DsnRecipient | None = None, delayed: bool, index: int) -> RecipientFailure:
    return RecipientFailure(
        recipient=address, original_recipient=original,
        action="delayed" if delayed else "failed", status=cause.status, code=cause.code,
        text=cause.text, remote_mta=(rec.remote_mta if rec else None) or cause.remote,
        reporting_mta=rec.reporting_mta if rec else None, evidence=cause.evidence,
        stage=cause.stage, annotation=cause.annotation, message=index)


def _from_fields(rec: DsnRecipient, texts: list[RecipientText], delayed: bool, lang: str,
                 index: int) -> RecipientFailure:
    own = "\n".join(t.text for t in texts if not t.shared)
    common = texts[0].common if texts else ""
    delayed = delayed or (rec.action or "").startswith("delay")
    cause = _cause(rec.diagnostic or "", rec.status, own, common, delayed, lang,
                   smtp_diagnostic=rec.diagnostic_type == "smtp")
    final = rec.final_recipient
    address = final if final and "@" in final else (rec.original_recipient or final)
    return _failure(address, cause, original=rec.original_recipient, rec=rec,
                    delayed=delayed, index=index)


def _from_human(item: RecipientText, delayed: bool, lang: str, index: int) -> RecipientFailure:
    own = "" if item.shared else item.text
    cause = _cause("", None, own, item.common, delayed, lang)
    return _failure(item.address, cause, delayed=delayed, index=index)


# ---------------------------------------------------------------- one message

def _is_delay(message: MessageText) -> bool:
    head = " ".join([message.subject, *(t[:2000] for t in message.human)]).lower()
    return any(word in head for word in notice_words("delay_words"))


def _unique(recs: list[DsnRecipient]) -> list[DsnRecipient]:
    """One record per distinct recipient and reason (some MTAs repeat a recipient)."""
    seen: set[tuple[str | None, ...]] = set()
    out = []
    for rec in recs:
        key = (rec.final_recipient and rec.final_recipient.lower(), rec.original_recipient,
               rec.status, rec.diagnostic)
        if key not in seen:
            seen.add(key)
            out.append(rec)
    return out


def explain_message(message: MessageText, lang: str = "en",
                    index: int = 0) -> list[RecipientFailure]:
    """One result per failed recipient of one bounce message."""
    human = "\n".join(message.human)
    delayed = _is_delay(message)
    recs = _unique([r for text in message.dsn for r in recipients(field_blocks(text))
                    if r.is_failure])
    if recs:
        known = [a for r in recs for a in (r.final_recipient, r.original_recipient) if a]
        texts = {t.address.lower(): t for t in recipient_texts(
            human, message.own_addresses, known)}
        out = []
        for rec in recs:
            keys = {a.lower() for a in (rec.final_recipient, rec.original_recipient) if a}
            mine = [texts[k] for k in keys if k in texts]
            if not mine and len(recs) == 1:
                mine = list(texts.values())
            out.append(_from_fields(rec, mine, delayed, lang, index))
        return out
    return [_from_human(item, delayed, lang, index)
            for item in recipient_texts(human, message.own_addresses)]


# ---------------------------------------------------------------- any input

def _decode_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _wording_failure(text: str, lang: str, *, titled: bool = False) -> RecipientFailure | None:
    """The cause a notice states in words alone, when it quotes no reply code.

    Admins paste the readable part of a bounce as often as the whole message:
    "The email account that you tried to reach does not exist." Such text
    gets a result only when its wording names a known cause (a pattern
    matches); anything else stays unexplained rather than guessed from the
    class digit. A message whose subject says it is a failure notice, or
    text that opens like one (`titled`), is a bounce whatever its words, so
    it is always explained: from a pattern, else from what its words
    resemble (marked as a guess), else as a failure whose reason is in its
    text. The result says it was read from wording (`evidence` "prose").
    """
    prose = _prose(cut_original(text))
    if not prose:
        return None
    delayed = any(word in prose.lower() for word in notice_words("delay_words"))
    found = find_enhanced(prose)  # qmail's "(#5.1.1)"
    ann = _from_prose(prose, found, delayed, lang)
    if not titled and not ann.matched.startswith("pattern:"):
        return None
    named = mentions(prose, set())
    cause = _Cause(None, prose, found, None, "prose", None, ann)
    return _failure(named[0][1] if named else None, cause, delayed=delayed, index=0)


def explain_input(data: bytes | str, lang: str = "en") -> InputExplanation:
    """Explain whatever was pasted or read from a file.

    Messages and mboxes give one result per failed recipient; bare DSN fields
    likewise; replies and log excerpts give one result per reply. A message in
    which no recipient is found falls back to the reply-by-reply explanation of
    its text, so nothing with a code in it goes unanswered; text with no code
    at all is read from its wording when that names a known cause. Bytes that
    are an Outlook .msg file (told by its magic bytes) are read like a message
    by their own reader; a file that cannot be read raises
    `outlook_msg.UnreadableMsg`.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    truncated = len(raw) > MAX_INPUT
    raw = raw[:MAX_INPUT]
    if isinstance(data, bytes) and is_outlook_msg(raw):  # a file's or stdin's bytes, not words
        if truncated:
            raise UnreadableMsg(f"Outlook .msg file larger than {MAX_INPUT // (1024 * 1024)} MiB")
        return _explain_messages("outlook", [read_outlook_msg(raw)], "", lang, truncated)
    text = _decode_text(raw)
    kind = input_kind(text)
    if kind == "text":  # a message as its MTA wrote it is never quoted; a paste may be
        raw = unquoted(raw)
        text = _decode_text(raw)
        kind = input_kind(text)
    if kind == "text":
        text = text.replace("\r\n", "\n")  # a paste from Windows: lines end as anywhere else
        text = json_lines(text) or text  # an email service's bounce event, as JSON
        if _HTML_PASTE.match(text):  # a notice's HTML source, saved or copied from a page
            text = html_to_text(text)
        report = _pasted_report(text)
        if report is not None:
            failures = explain_message(report, lang)
            if failures:
                failures += _fields_lost(report, lang)
                return InputExplanation(kind, failures=tuple(failures), truncated=truncated)
        titled = _opens_like_a_notice(text)
        if titled or _RECIPIENT_PARAGRAPH.search(text[:MAX_PARAGRAPH_SCAN]):
            # The body of a notice pasted without its headers: per recipient,
            # as in the whole message, when its paragraphs name them.
            failures = explain_message(MessageText(human=[text]), lang)
            if failures and all(f.recipient for f in failures):
                return InputExplanation(kind, failures=tuple(failures),
                                        truncated=truncated)
        return _replies_or_wording(kind, text, text, lang, truncated, titled=titled)
    if kind == "dsn":
        messages = [MessageText(dsn=[text])]
    elif kind == "mbox":
        parts = split_mbox(raw)
        messages = [read_message(m, parts_per_message(len(parts))) for m in parts]
    else:
        messages = [read_message(raw)]
    return _explain_messages(kind, messages, text, lang, truncated)


def _explain_messages(kind: str, messages: list[MessageText], text: str, lang: str,
                      truncated: bool) -> InputExplanation:
    """Failed recipients of each message, else the replies or wording of all of them."""
    found = [explain_message(msg, lang, i) for i, msg in enumerate(messages)]
    if any(found):
        # A message of an mbox that names no recipient keeps the answer it
        # would get alone, beside the other messages' recipients.
        failures = [f for i, (msg, own) in enumerate(zip(messages, found, strict=True))
                    for f in (own or _unnamed(msg, lang, i))]
        return InputExplanation(kind, failures=tuple(failures), truncated=truncated)
    return _without_recipients(kind, messages, text, lang, truncated)


def _without_recipients(kind: str, messages: list[MessageText], text: str, lang: str,
                        truncated: bool) -> InputExplanation:
    """Messages in which no recipient could be told apart: their replies, else their wording."""
    readable = "\n".join(t for msg in messages for t in (*msg.human, *msg.dsn))
    titled = any(word in msg.subject.lower() for msg in messages
                 for word in notice_words("subject_words"))
    return _replies_or_wording(kind, readable or text, readable, lang, truncated,
                               notice=True, titled=titled)


def _unnamed(message: MessageText, lang: str, index: int) -> list[RecipientFailure]:
    """The failures of one mbox message that names no recipient, as failures
    without an address: its failure replies, or the cause its wording states."""
    alone = _without_recipients("message", [message], "", lang, False)
    out = [replace(f, message=index) for f in alone.failures]
    for reply in alone.replies:
        klass = reply_class(reply.code, reply.enhanced)
        if klass in (4, 5):
            out.append(RecipientFailure(
                recipient=reply.recipient, original_recipient=None,
                action="delayed" if klass == 4 else "failed", status=reply.enhanced,
                code=reply.code, text=reply.text, remote_mta=None, reporting_mta=None,
                evidence="human", stage=reply.stage, annotation=reply.annotation,
                message=index))
    return out


def _pasted_report(text: str) -> MessageText | None:
    """A notice's readable text followed by its delivery-status fields, as a
    mail client shows a report and an admin copies it (no headers, no MIME):
    the text up to the first DSN field is the human part, the rest the fields."""
    m = _DSN_START.search(text[:MAX_PARAGRAPH_SCAN])
    if m is None or not _FINAL_RECIPIENT.search(text[m.start():]):
        return None
    return MessageText(human=[text[: m.start()]], dsn=[text[m.start():]])


def _fields_lost(report: MessageText, lang: str) -> list[RecipientFailure]:
    """Recipients whose own paragraph quotes a failure reply but whose DSN
    fields the paste does not hold: a paste cut short may keep one
    recipient's fields and everyone's paragraphs. Other addresses in the
    prose ("(mail from: bounces@example.com)") quote no reply of their own."""
    named = {a.lower() for text in report.dsn for rec in recipients(field_blocks(text))
             for a in (rec.final_recipient, rec.original_recipient) if a}
    return [f for f in explain_message(MessageText(human=report.human), lang)
            if f.recipient and f.recipient.lower() not in named and f.code is not None]


def _opens_like_a_notice(text: str) -> bool:
    """Whether pasted text starts the way failure notices do ("Undelivered Mail
    Returned to Sender", "This is the mail system at host ...").

    A reply's own words are not the notice's: "451 4.0.0 Temporary message
    delivery failure" in a queue listing does not make it a notice.
    """
    lines = (_before_reply(line) for line in text[:2000].splitlines()[:40])
    opening = " ".join(line for line in lines if line.strip())[:300].lower()
    return any(words in opening for words in notice_words("openings"))


def _before_reply(line: str) -> str:
    start = reply_start(line)
    return line if start < 0 else line[:start]


def _replies_or_wording(kind: str, text: str, wording: str, lang: str, truncated: bool,
                        *, notice: bool = False, titled: bool = False) -> InputExplanation:
    """The replies quoted in `text`; without any, the cause `wording` states.

    In a message (`notice`) only a failure reply counts: "2.0.1" from a
    quoted header ("X-Mailman-Version: 2.0.1") is no reason, so the wording
    is tried first there and the replies are the fallback. Input that calls
    itself a failure notice (`titled`: its subject, or how pasted text opens)
    is explained from its wording even when no rule knows that wording.
    Pasted text that quotes no failure reply is read without the copy of an
    original below it: the copy ("Received: ... (SMTPD32-8.05)") holds no
    reply of this failure, the notice's words above it are the cause.
    """
    replies = tuple(explain_text(text, lang))
    failing = any(reply_class(r.code, r.enhanced) in (4, 5) for r in replies)
    if not notice and not failing:
        cut = cut_original(text)
        if cut and cut != text:
            text = wording = cut
            replies = tuple(explain_text(text, lang))
    if replies and (failing or not notice):
        return InputExplanation(kind, replies=replies, truncated=truncated)
    failure = _wording_failure(wording, lang, titled=titled) if wording else None
    if failure is not None:
        return InputExplanation(kind, failures=(failure,), truncated=truncated)
    return InputExplanation(kind, replies=replies, truncated=truncated)
