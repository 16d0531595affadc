"""A reply means the same inside a bounce or a log as pasted alone.

Every failure reply of the labelled corpus is put into the forms an admin
pastes it in - a Postfix DSN (the notice's folded "host ... said:" paragraph
and the delivery-status fields), a Postfix delivery log line, the notices of
Exim, Sendmail, qmail, Exchange, Gmail, Domino, Yahoo, Courier and MDaemon,
the delay warnings and queue listings of Postfix and Sendmail and Exim's
delay warning (temporary replies only),
Exim's log, hMailServer's and Exchange's protocol logs, Exchange Online's
message trace, the receiving Postfix's
"NOQUEUE: reject:" line, a swaks or telnet session, and what developers paste:
an NDR's HTML source, a Python smtplib traceback, Outlook's error dialog,
Symfony Mailer's exception,
a Nodemailer error,
PHPMailer's debug output, the
bounce events of SendGrid, Amazon SES, Mailgun and SparkPost as JSON, a reply
in quotes - and `probe explain` must find it
there and give it the category the classifier gives the bare reply at that
stage. A difference means the wrapper
changed the evidence: words of the log left in the reply ("(in reply to RCPT
TO command)"), a DSN Status standing in for the reply's own code, a reply the
extractor does not see, an address inside the reply taken for another
recipient. The forms follow what these MTAs write: Postfix joins a multiline
reply's lines into one ("550-first 550 last") and folds its notice at 78
columns with a four-space indent; Exim keeps one reply line per line under
"SMTP error from remote mail server after RCPT TO:<...>:"; Sendmail names the
first line as the reason and shows the whole reply in its transcript under
">>> RCPT To:<...>"; qmail writes "does not like recipient. Remote host said:";
Exchange quotes it, "Remote Server returned '550 ...'" (2007), "mx.example.org
#550 ... ##" (2010 and later) or "<mx.example.org #5.0.0 smtp;550 ...>" (2003),
whatever codes the reply holds; Gmail prints it under
"The response from the remote server was:". Exchange's and Gmail's notices do
not say which command the reply answered, so there the bare reply is read
without a stage.
"""

from __future__ import annotations

import html
import json
import textwrap

import pytest

import knowledge
from knowledge.bounce import explain_input
from knowledge.enhanced_code import parse_enhanced

from .test_corpus import CORPUS, reply_text

RCPT = "bob@example.org"
FAILURES = [e for e in CORPUS if e["code"] // 100 in (4, 5)]


def _lines(entry: dict) -> tuple[int, list[str]]:
    return entry["code"], reply_text(entry["text"]).split("\n")


def _joined(code: int, lines: list[str]) -> str:
    """One line, as Postfix logs a multiline reply: "550-first 550-second 550 last"."""
    return " ".join([*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"])


def postfix_dsn(code: int, lines: list[str]) -> str:
    said = f"<{RCPT}>: host mx.example.org[192.0.2.7] said: {_joined(code, lines)} " \
           "(in reply to RCPT TO command)"
    paragraph = "\n".join(textwrap.wrap(said, 78, subsequent_indent="    ",
                                        break_long_words=False, break_on_hyphens=False))
    diagnostic = "\n".join(textwrap.wrap(f"Diagnostic-Code: smtp; {_joined(code, lines)}", 78,
                                         subsequent_indent="    ", break_long_words=False,
                                         break_on_hyphens=False))
    return f"""From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@example.com
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=utf-8

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

{paragraph}

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {RCPT}
Action: {"delayed" if code < 500 else "failed"}
Status: {code // 100}.0.0
Remote-MTA: dns; mx.example.org
{diagnostic}

--B1--
"""


def _exim_printing(text: str) -> str:
    """Text as Exim writes a remote reply into its notices and log: each byte
    of a non-ASCII character as an octal escape ("\\345\\244\\204"), as the
    Exim round trip shows."""
    return "".join(ch if ch.isascii() else "".join(f"\\{b:03o}" for b in ch.encode())
                   for ch in text)


def exim_notice(code: int, lines: list[str]) -> str:
    reply = _exim_printing("\n".join(
        [*(f"    {code}-{line}" for line in lines[:-1]), f"    {code} {lines[-1]}"]))
    return f"""From: Mail Delivery System <Mailer-Daemon@mx.example.com>
Subject: Mail delivery failed: returning message to sender
To: alice@example.com

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {RCPT}
    host mx.example.org [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<{RCPT}>:
{reply}
"""


def postfix_log(code: int, lines: list[str]) -> str:
    return (f"Dec  4 10:00:00 mx postfix/smtp[123]: 4ABCDEF123: to=<{RCPT}>, "
            "relay=mx.example.org[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, "
            f"dsn={code // 100}.0.0, status=bounced (host mx.example.org[192.0.2.7] said: "
            f"{_joined(code, lines)} (in reply to RCPT TO command))\n")


def sendmail_notice(code: int, lines: list[str]) -> str:
    transcript = "\n".join(
        [*(f"<<< {code}-{line}" for line in lines[:-1]), f"<<< {code} {lines[-1]}"])
    return f"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
Subject: Returned mail: see transcript for details
To: alice@example.com

The original message was received at Fri, 4 Dec 2026 10:00:00 GMT
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<{RCPT}>
    (reason: {code} {lines[0]})

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> RCPT To:<{RCPT}>
{transcript}
"""


def qmail_notice(code: int, lines: list[str]) -> str:
    return f"""From: MAILER-DAEMON@mx.example.com
Subject: failure notice
To: alice@example.com

Hi. This is the qmail-send program at mx.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{RCPT}>:
192.0.2.7 does not like recipient.
Remote host said: {_joined(code, lines)}
Giving up on 192.0.2.7.
"""


def exchange_ndr(code: int, lines: list[str]) -> str:
    return f"""From: postmaster@example.com
Subject: Undeliverable: hello
To: alice@example.com

Delivery has failed to these recipients or groups:

{RCPT}
The recipient's mailbox couldn't be reached.

Diagnostic information for administrators:

Generating server: mx.example.com

{RCPT}
mx.example.org
Remote Server returned '{_joined(code, lines)}'

Original message headers:
"""


def postfix_delay(code: int, lines: list[str]) -> str:
    """Postfix's delay warning: the reply folded under its banner of "#" lines."""
    said = f"<{RCPT}>: host mx.example.org[192.0.2.7] said: {_joined(code, lines)} " \
           "(in reply to RCPT TO command)"
    paragraph = "\n".join(textwrap.wrap(said, 78, subsequent_indent="    ",
                                        break_long_words=False, break_on_hyphens=False))
    banner = "#" * 68
    return f"""From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: alice@example.com

This is the mail system at host mx.example.com.

{banner}
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
{banner}

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

{paragraph}
"""


def exim_delay(code: int, lines: list[str]) -> str:
    """Exim's delay warning: the reply under "Delay reason:"."""
    reply = _exim_printing("\n".join([*(f"    {code}-{line}" for line in lines[:-1]),
                                      f"    {code} {lines[-1]}"]))
    return f"""From: Mail Delivery System <Mailer-Daemon@mx.example.com>
Subject: Warning: message 1abc-000001-AB delayed 24 hours
To: alice@example.com

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.com.

The address to which the message has not yet been delivered is:

  {RCPT}
    host mx.example.org [192.0.2.7]
    Delay reason: SMTP error from remote mail server after RCPT TO:<{RCPT}>:
{reply}

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""


def domino_notice(code: int, lines: list[str]) -> str:
    """Domino: the remote reply after "SMTP Protocol Returned a Permanent Error"."""
    reason = "Error transferring to mx.example.org; SMTP Protocol Returned a Permanent Error"
    return f"""From: Postmaster@example.com
Subject: DELIVERY FAILURE: Error transferring to mx.example.org
To: alice@example.com

Your message

  Subject: hello

was not delivered to:

  {RCPT}

because:

  {reason} {_joined(code, lines)}
"""


def yahoo_notice(code: int, lines: list[str]) -> str:
    """Yahoo: "Remote host said:" and the phase the reply answered, "[RCPT_TO]"."""
    return f"""From: MAILER-DAEMON@yahoo.com
Subject: Failure Notice
To: alice@example.com

Sorry, we were unable to deliver your message to the following address.

<{RCPT}>:
Remote host said: {_joined(code, lines)} [RCPT_TO]

--- Below this line is a copy of the message.
"""


def courier_notice(code: int, lines: list[str]) -> str:
    """Courier: the session's ">>> RCPT TO:" and "<<< 550 ..." lines."""
    transcript = "\n".join([*(f"<<< {code}-{line}" for line in lines[:-1]),
                            f"<<< {code} {lines[-1]}"])
    return f"""From: Courier mail server at mx.example.com <@>
Subject: NOTICE: mail delivery status.
To: alice@example.com

This is a delivery status notification from mx.example.com,
running the Courier mail server, version 1.1.

Your message to the following recipients cannot be delivered:

<{RCPT}>:
    mx.example.org [192.0.2.7]:
>>> RCPT TO:<{RCPT}>
{transcript}
"""


def mdaemon_notice(code: int, lines: list[str]) -> str:
    """MDaemon: a time-stamped session transcript, the server's lines behind "<--"."""
    stamp = " Fri 2026-12-04 10:00:01:"
    replies = "\n".join([*(f"{stamp} <-- {code}-{line}" for line in lines[:-1]),
                         f"{stamp} <-- {code} {lines[-1]}"])
    return f"""From: MDaemon@mx.example.com
Subject: Permanent Delivery Failure
To: alice@example.com

The attached message had PERMANENT fatal delivery errors!

--- Session Transcript ---
{stamp} --> RCPT To:<{RCPT}>
{replies}
--- End Transcript ---
"""


def sendmail_delay(code: int, lines: list[str]) -> str:
    """Sendmail's delay warning: the transcript and the "Deferred:" line."""
    transcript = "\n".join([*(f"<<< {code}-{line}" for line in lines[:-1]),
                            f"<<< {code} {lines[-1]}"])
    return f"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
Subject: Warning: could not send message for past 4 hours
To: alice@example.com

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> RCPT To:<{RCPT}>
{transcript}
<{RCPT}>... Deferred: {code} {lines[-1]}
Warning: message still undelivered after 4 hours
"""


def hmailserver_log(code: int, lines: list[str]) -> str:
    """hMailServer's SMTP client log: tab-separated, each field in double quotes."""
    head = '"SMTPC"\t3312\t1\t"2026-12-04 10:00:01.123"\t"192.0.2.7"\t'
    received = [*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"]
    return "\n".join([f'{head}"SENT: RCPT TO:<{RCPT}>"',
                      *(f'{head}"RECEIVED: {reply}"' for reply in received)]) + "\n"


def exchange_protocol_log(code: int, lines: list[str]) -> str:
    """Exchange's SMTP send protocol log: CSV, ">" the command sent, "<" each reply line."""
    head = "2026-12-04T10:00:01.234Z,Outbound to Internet,08D8A1B2C3D4E5F6,6,10.0.0.5:52000,"

    def field(data: str) -> str:  # CSV: a field with a comma or a quote is quoted
        return f'"{data}"' if "," in data or '"' in data else data

    received = [*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"]
    return "\n".join([f"{head}192.0.2.7:25,>,RCPT TO:<{RCPT}>,",
                      *(f"{head}192.0.2.7:25,<,{field(reply)}," for reply in received)]) + "\n"


def exchange_message_trace(code: int, lines: list[str]) -> str:
    """Exchange Online's message trace details: the last reply in its LED field."""
    return (f"Event: Fail\nDetail: Reason: [{{LED={_joined(code, lines)}}};{{MSG=}};"
            "{FQDN=mx.example.org};{IP=192.0.2.7};{LRT=}]\n")


def _event(document: object) -> str:
    return json.dumps(document, indent=2)  # non-ASCII as \\uXXXX, as the services send it


def sendgrid_event(code: int, lines: list[str]) -> str:
    """SendGrid's event webhook: the reply in "reason"."""
    return _event([{"email": RCPT, "event": "bounce", "reason": _joined(code, lines),
                    "status": f"{code // 100}.0.0", "type": "bounce"}])


def ses_notification(code: int, lines: list[str]) -> str:
    """Amazon SES's bounce notification: the reply in "diagnosticCode"."""
    return _event({"notificationType": "Bounce", "bounce": {
        "bounceType": "Permanent", "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
        "bouncedRecipients": [{"emailAddress": RCPT, "action": "failed", "status": "5.0.0",
                               "diagnosticCode": f"smtp; {_joined(code, lines)}"}]}})


def mailgun_event(code: int, lines: list[str]) -> str:
    """Mailgun's failed event: the reply split into "code" and "message", whose
    lines keep their enhanced code but not the basic one ("5.1.1 The email
    account ...\n5.1.1 double-checking ...", as its webhook sample shows)."""
    enhanced = lines[0].split(maxsplit=1)[0] if parse_enhanced(lines[0]) else None
    message = "\n".join([lines[0], *(f"{enhanced} {line}" if enhanced else line
                                     for line in lines[1:])])
    return _event({"event": "failed", "recipient": RCPT, "delivery-status": {
        "code": code, "message": message, "description": "", "attempt-no": 1}})


def sparkpost_event(code: int, lines: list[str]) -> str:
    """SparkPost's bounce event: the whole reply in "raw_reason", its start in "reason"."""
    return _event({"msys": {"message_event": {
        "type": "bounce", "rcpt_to": RCPT, "raw_reason": _joined(code, lines),
        "reason": _joined(code, lines)[:60].rsplit(" ", 1)[0], "error_code": str(code)}}})


def postfix_queue(code: int, lines: list[str]) -> str:
    """Postfix's queue listing (mailq, postqueue -p): the reason above the recipient."""
    return ("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
            "4F2A31234       1234 Fri Dec  4 10:00:01  alice@example.com\n"
            f"(host mx.example.org[192.0.2.7] said: {_joined(code, lines)} "
            "(in reply to RCPT TO command))\n"
            f"                                         {RCPT}\n\n-- 1 Kbytes in 1 Request.\n")


def sendmail_queue(code: int, lines: list[str]) -> str:
    """Sendmail's mailq: "(Deferred: 451 ...)" above the recipient."""
    return ("\t\t/var/spool/mqueue (1 request)\n"
            "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
            "1ABC012345     1234 Fri Dec  4 10:00 <alice@example.com>\n"
            f"                 (Deferred: {_joined(code, lines)})\n"
            f"                                         <{RCPT}>\n\t\tTotal requests: 1\n")


def exchange_hash_ndr(code: int, lines: list[str]) -> str:
    """Exchange 2010 and later: the remote reply between "#" and "##"."""
    return exchange_ndr(code, lines).replace(
        f"mx.example.org\nRemote Server returned '{_joined(code, lines)}'",
        f"mx.example.org #{_joined(code, lines)} ##")


def exchange_2003_ndr(code: int, lines: list[str]) -> str:
    """Exchange 2003: "<host #5.0.0 smtp;550 ...>" under the recipient's line."""
    return f"""From: System Administrator <postmaster@example.com>
Subject: Undeliverable: hello
To: alice@example.com

Your message did not reach some or all of the intended recipients.

The following recipient(s) could not be reached:

      {RCPT} on 12/4/2026 10:00 AM
            The e-mail system had a problem processing this message.
            <mx.example.org #{code // 100}.0.0 smtp;{_joined(code, lines)}>
"""


def gmail_notice(code: int, lines: list[str]) -> str:
    reply = "\n".join([*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"])
    return f"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
Subject: Delivery Status Notification (Failure)
To: alice@example.com

** Message not delivered **

Your message wasn't delivered to {RCPT} because the remote server refused it.

The response from the remote server was:
{reply}
"""


def exim_log(code: int, lines: list[str]) -> str:
    return (f"2026-12-04 10:00:00 1tAbCd-000123-AB ** {RCPT} R=dnslookup T=remote_smtp "
            f"H=mx.example.org [192.0.2.7]: SMTP error from remote mail server after "
            f"RCPT TO:<{RCPT}>: {_exim_printing(_joined(code, lines))}\n")


def postfix_reject(code: int, lines: list[str]) -> str:
    """A receiving admin's view: Postfix smtpd logs the reply it sent and the envelope."""
    return (f"Dec  4 10:00:00 mx postfix/smtpd[4242]: NOQUEUE: reject: RCPT from "
            f"unknown[192.0.2.9]: {_joined(code, lines)}; from=<alice@example.com> "
            f"to=<{RCPT}> proto=ESMTP helo=<client.example.com>\n")


def swaks_session(code: int, lines: list[str]) -> str:
    reply = [*(f"<** {code}-{line}" for line in lines[:-1]), f"<** {code} {lines[-1]}"]
    return "\n".join([f" -> RCPT TO:<{RCPT}>", *reply, " -> QUIT", "<-  221 2.0.0 Bye"]) + "\n"


def telnet_session(code: int, lines: list[str]) -> str:
    reply = [*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"]
    return "\n".join([f"RCPT TO:<{RCPT}>", *reply]) + "\n"


def _one_line(lines: list[str]) -> str:
    return " ".join(lines)


def python_smtplib(code: int, lines: list[str]) -> str:
    """What a developer pastes from a traceback: the reply as a bytes literal."""
    reply = "\n".join(lines).encode()
    return f"smtplib.SMTPRecipientsRefused: {{'{RCPT}': ({code}, {reply!r})}}\n"


def symfony_mailer(code: int, lines: list[str]) -> str:
    """Swift Mailer's and Symfony Mailer's exception, as Laravel apps log it."""
    return (f'Expected response code "250" but got code "{code}", with message '
            f'"{_joined(code, lines)}".\n')


def ndr_html_source(code: int, lines: list[str]) -> str:
    """An Exchange Online NDR's HTML as pasted from a saved file or a page's source."""
    reply = html.escape(_joined(code, lines))
    return ("<html><head><style>p {margin:0}</style></head><body><div>"
            f"<p><b>Your message to {RCPT} couldn&#39;t be delivered.</b></p>"
            "<p><b>Diagnostic information for administrators:</b></p>"
            "<p>Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com<br></p>"
            f"<p>{RCPT}<br>Remote Server returned &#39;{reply}&#39;<br></p>"
            "</div></body></html>\n")


def outlook_dialog(code: int, lines: list[str]) -> str:
    """Outlook's send error: the reply quoted among the dialog's other fields."""
    return ("The message could not be sent because one of the recipients was rejected by "
            f"the server. The rejected e-mail address was '{RCPT}'. Subject 'hello', Account: "
            "'alice', Server: 'smtp.example.com', Protocol: SMTP, Server Response: "
            f"'{code} {_one_line(lines)}', Port: 587, Secure(SSL): No, Server Error: {code}, "
            "Error Number: 0x800CCC79\n")


def nodemailer_error(code: int, lines: list[str]) -> str:
    return f"Error: Can't send mail - all recipients were rejected: {code} {_one_line(lines)}\n"


def phpmailer_debug(code: int, lines: list[str]) -> str:
    reply = [*(f"{code}-{line}" for line in lines[:-1]), f"{code} {lines[-1]}"]
    return "".join(f"2026-12-04 10:00:00 SERVER -> CLIENT: {line}\n" for line in reply)


def quoted_line(code: int, lines: list[str]) -> str:
    return f'"{code} {_one_line(lines)}"\n'


# form -> (wrapper, the command the form says the reply answered)
FORMS = {"postfix_dsn": (postfix_dsn, "rcpt"), "exim_notice": (exim_notice, "rcpt"),
         "postfix_log": (postfix_log, "rcpt"), "sendmail_notice": (sendmail_notice, "rcpt"),
         "qmail_notice": (qmail_notice, "rcpt"), "exchange_ndr": (exchange_ndr, None),
         "exchange_hash_ndr": (exchange_hash_ndr, None),
         "postfix_delay": (postfix_delay, "rcpt"), "exim_delay": (exim_delay, "rcpt"),
         "sendmail_delay": (sendmail_delay, "rcpt"), "domino_notice": (domino_notice, None),
         "yahoo_notice": (yahoo_notice, "rcpt"), "courier_notice": (courier_notice, "rcpt"),
         "mdaemon_notice": (mdaemon_notice, "rcpt"), "hmailserver_log": (hmailserver_log, "rcpt"),
         "exchange_protocol_log": (exchange_protocol_log, "rcpt"),
         "exchange_message_trace": (exchange_message_trace, None),
         "postfix_queue": (postfix_queue, "rcpt"), "sendmail_queue": (sendmail_queue, None),
         "sendgrid_event": (sendgrid_event, None), "ses_notification": (ses_notification, None),
         "mailgun_event": (mailgun_event, None), "sparkpost_event": (sparkpost_event, None),
         "exchange_2003_ndr": (exchange_2003_ndr, None),
         "gmail_notice": (gmail_notice, None), "exim_log": (exim_log, "rcpt"),
         "postfix_reject": (postfix_reject, "rcpt"), "swaks_session": (swaks_session, "rcpt"),
         "telnet_session": (telnet_session, "rcpt"), "python_smtplib": (python_smtplib, None),
         "outlook_dialog": (outlook_dialog, None), "nodemailer_error": (nodemailer_error, None),
         "symfony_mailer": (symfony_mailer, None), "ndr_html_source": (ndr_html_source, None),
         "phpmailer_debug": (phpmailer_debug, None),
         "quoted_line": (quoted_line, None)}
# A code outside RFC 5321 ("571 ...", "460 ...") is not taken for a reply at a
# line's start or after a lead-in that does not vouch for it ("rejected: 571"):
# a number there is too common for that.
NOT_VOUCHED = {"swaks_session", "telnet_session", "quoted_line", "python_smtplib",
               "nodemailer_error", "phpmailer_debug", "hmailserver_log", "sendgrid_event",
               "mailgun_event", "sparkpost_event"}
# After a lead-in that does not vouch for a reply ("rejected: ", "SERVER ->
# CLIENT: ", "RECEIVED: "), a code needs an enhanced code or two words to be
# one, so that "Size: 250 KB" stays none: a reply of one word ("554
# rejecting") is not found there.
PLAIN_LEADIN = {"nodemailer_error", "phpmailer_debug", "hmailserver_log"}
# A delay warning or a queue listing quotes temporary replies only.
DELAYS = {"postfix_delay", "exim_delay", "sendmail_delay", "postfix_queue", "sendmail_queue"}


def _categories(data: str) -> list[tuple[str, int | None]]:
    """(category, code) of each result; the session's closing 221 is left out by callers."""
    result = explain_input(data)
    items = result.failures or result.replies
    return [(item.annotation.category, item.code) for item in items]


@pytest.mark.skipif(not FAILURES, reason="no corpus")
@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_wrapped_reply_reads_as_the_bare_reply(form: str) -> None:
    wrap, stage = FORMS[form]
    differ = []
    for entry in FAILURES:
        code, lines = _lines(entry)
        if (form in NOT_VOUCHED and str(code)[1] > "5") or (form in DELAYS and code // 100 != 4) \
                or (form in PLAIN_LEADIN and len(" ".join(lines).split()) < 2):
            continue
        alone = knowledge.explain_reply(code, "\n".join(lines), stage).category
        got = [c for c, k in _categories(wrap(code, lines)) if k != 221]
        if got != [alone]:
            differ.append(f"{entry['file']}: {entry['text'][:70]!r}: alone {alone}, got {got}")
    assert not differ, f"{len(differ)} of {len(FAILURES)}:\n" + "\n".join(differ[:20])


def test_the_forms_hold_the_reply_as_written() -> None:
    """The wrappers themselves: a multiline reply keeps every line's words."""
    lines = ["5.1.1 The email account that you tried to reach does not exist.",
             "5.1.1 Please try double-checking the recipient's email address."]
    for wrap, _stage in FORMS.values():
        text = " ".join(wrap(550, lines).split())
        assert "does not exist." in text and "double-checking" in text


def test_a_logged_multiline_reply_keeps_its_lines_without_words() -> None:
    """A line of an open multiline reply continues it even when its words alone
    would not make a reply: Exim's callout failure has "550-Called:   <IP>", and
    read alone that line ended the reply, so "Sent: RCPT TO:..." began a second."""
    lines = ["Postmaster verification failed while checking <bob@example.com>",
             "Called:   192.0.2.1", "Sent:     RCPT TO:<postmaster@example.com>",
             "Response: 550 5.1.1 User unknown", "Sender verify failed"]
    for form in (hmailserver_log, phpmailer_debug):
        assert [c for c, _code in _categories(form(550, lines))] == ["sender_rejected"], form
