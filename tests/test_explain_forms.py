"""probe explain finds the reply inside the wrappers bounces and logs put around it."""

import pytest

from knowledge import explain_text


@pytest.mark.parametrize(("pasted", "code", "category"), [
    ("Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
     550, "user_unknown"),
    ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", 550, "user_unknown"),
    ("host mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address "
     "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
     550, "user_unknown"),
    ("SMTP error from remote mail server after RCPT TO:<bob@example.com>:\n"
     "    550 5.1.1 <bob@example.com>... User unknown", 550, "user_unknown"),
    ("Diagnostic-Code: smtp; 550 5.7.1 Service unavailable; client [192.0.2.1] blocked "
     "using zen.spamhaus.org", 550, "blocklisted_ip"),
    ("Oct 10 10:10:10 mx postfix/smtpd[1234]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: "
     "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]; from=<a@b.test> "
     "to=<c@d.test> proto=ESMTP helo=<x>", 450, "ptr_rdns_required"),
    ("smtp;550 5.2.1 The email account that you tried to reach is disabled.",
     550, "mailbox_disabled"),
])
def test_reply_found_inside_its_wrapper(pasted, code, category):
    (found,) = explain_text(pasted)
    assert found.code == code
    assert found.annotation.category == category


@pytest.mark.parametrize(("pasted", "code"), [
    ("SMTP error 550: mailbox frobnicated by policy", 550),
    ("host 'mx.example.org' rejected command 'RCPT TO:<bob@example.org>' with code 550 "
     "(5.1.2) 'User does not exist'", 550),  # Stalwart's DSN text
    ("Delivery failed: status code 554 - message refused here", 554),
    ("The server answered (552) mailbox over quota", 552),
    ("Delivery failed with error code 421 service closing now", 421),
    ('The remote server responded with "550 mailbox frobnicated here"', 550),
    ("Error: [554] message frobnicated by the gateway", 554),
    # Session transcripts in MTA logs put a time stamp and an arrow before the reply.
    ("Tue 2020-03-10 10:19:17.789: <-- 550 mailbox frobnicated here", 550),
    ("12:00:01 [1234] RCPT TO:<bob@example.org> -> 452 frobnicated for now", 452),
    ("RCPT TO:<bob@example.org> => 550 frobnicated for good", 550),
    # Exchange's NDR quotes the remote reply after the host and a "#".
    ("mx.example.org #550 5.1.1 RESOLVER.ADR.Frobnicated; not here ##", 550),
    # Japanese and Chinese put no spaces between words.
    ("エラー: 550 宛先のユーザーが存在しません", 550),
    ("错误: 554 邮件被拒绝", 554),
    # The word for "error" or "code" in the notice's own language, no colon.
    ("エラーコード 550 ユーザーが存在しません", 550),
    ("오류 코드 550 사용자가 존재하지 않습니다", 550),
    ("错误代码 553 发件人被拒绝", 553),
    ("Fehler 550 Benutzer unbekannt", 550),
    ("Código de error 552 buzón lleno", 552),
    ("Hata kodu 550 kullan\u0131c\u0131 bulunamad\u0131", 550),
    ("Kod błędu 550 użytkownik nieznany", 550),
    ("Код ошибки 550 пользователь не найден", 550),
    # ... and "the server answered".
    ("Сервер ответил 550 пользователь не найден", 550),
    ("Serwer odpowiedział 550 nieznany użytkownik", 550),
    ("Sunucu yan\u0131t\u0131 550 kullan\u0131c\u0131 yok", 550),
    ("De server antwoordde 550 onbekende gebruiker", 550),
    ("O servidor respondeu 550 usuário desconhecido", 550),
    ("服务器返回 550 用户不存在", 550),
    # Full-width brackets and colon, the words right after them.
    ("配信エラー\uff08550\uff09宛先不明", 550),
    ("错误\uff1a550用户不存在", 550),
])
def test_a_code_after_the_words_notices_put_before_it(pasted, code):
    """Notices name the code in words ("error 550:", "with code 550"); none may go unanswered."""
    (found,) = explain_text(pasted)
    assert found.code == code


@pytest.mark.parametrize("pasted", [
    "HTTP error 404 not found on the web server",  # no SMTP code
    "Fehler 404 Seite nicht gefunden",  # nor in another language
    "エラー 404 ページが見つかりません",
    "Размер 250 KB",
    "Der Server antwortete mit 404 Seite fehlt",
    "Content-Length: 250",
    "Size: 250 KB",
    "error 552: x",  # a code with nothing readable after it
    "page [404] not found on this site",  # a mark before a number that is no SMTP code
    "Order #500 has shipped to your address",  # "#" quotes a reply only with an enhanced code
    "サイズ: 250 KB",  # one kana run is not a reply's words
])
def test_numbers_that_are_no_reply(pasted):
    assert explain_text(pasted) == []


POSTFIX_LOG = (
    "Dec  4 10:00:01 mx postfix/smtp[123]: 4F1A: to=<bob@example.com>, "
    "relay=mx.example.com[192.0.2.1]:25, delay=1, dsn=5.1.1, status=bounced (host "
    "mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address "
    "rejected: User unknown (in reply to RCPT TO command))\n"
    "Dec  4 10:00:02 mx postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: "
    "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]; "
    "from=<a@example.org> to=<carol@example.net> proto=ESMTP helo=<x>\n"
)
EXIM_LOG = (
    "2024-01-01 00:00:00 1abc-000 ** dave@example.org R=dnslookup T=remote_smtp "
    "H=mx.example.org [192.0.2.3]: SMTP error from remote mail server after "
    "RCPT TO:<dave@example.org>: 552 5.2.2 Mailbox full\n"
    "2024-01-01 00:00:01 1abd-000 == erin@example.org R=dnslookup T=remote_smtp defer (-44) "
    "H=mx.example.org [192.0.2.3]: SMTP error from remote mail server after "
    "MAIL FROM:<a@example.com> SIZE=1234: 451 4.7.1 Greylisted, try again later\n"
)


def test_a_log_names_whom_each_reply_was_for():
    """A pasted log is explained per recipient too: Postfix's to=<...> (before the
    reply in a delivery line, after it in a smtpd reject), Exim's ** and == flags."""
    found = explain_text(POSTFIX_LOG + EXIM_LOG)
    assert [(f.code, f.recipient) for f in found] == [
        (550, "bob@example.com"), (450, "carol@example.net"),
        (552, "dave@example.org"), (451, "erin@example.org")]


def test_the_log_s_closing_paren_is_not_part_of_the_reply():
    # Nor is Postfix's "(in reply to RCPT TO command)": it became the stage.
    first, *_ = explain_text(POSTFIX_LOG)
    assert first.text.endswith("Recipient address rejected: User unknown")
    assert first.stage == "rcpt"
    (reason,) = explain_text("Failed (reason: 550 5.1.1 <bob@example.org>... User unknown)")
    assert reason.text.endswith("User unknown")


def test_a_log_line_does_not_borrow_the_stage_of_the_line_before():
    *_, rcpt, mail = explain_text(EXIM_LOG)
    assert (rcpt.stage, mail.stage) == ("rcpt", "mail")


def test_a_reply_with_no_log_around_it_names_no_recipient():
    (found,) = explain_text("550 5.1.1 <bob@example.com>: Recipient address rejected")
    assert found.recipient is None


def test_a_reply_cut_after_its_codes_continues_on_an_unindented_line():
    """Postfix indents the folded rest of a reply; a paste from a web page may lose
    the indent, and "said: 550 5.7.1" alone says nothing."""
    (found,) = explain_text(
        "<bob@example.org>: host mx.example.org[192.0.2.1] said: 550 5.7.1\n"
        "<bob@example.org>: Recipient address rejected: Unknown user (in reply to RCPT TO"
        " command)\n")
    assert found.code == 550 and "Unknown user" in found.text
    assert found.annotation.category == "user_unknown"
    # A reply that already has words does not swallow the next, unindented line.
    (found,) = explain_text("said: 550 5.1.1 No such user\nThanks for your message.\n")
    assert "Thanks" not in found.text


def test_a_postfix_quoted_reply_runs_to_its_in_reply_to_when_the_indent_is_lost():
    text = ("<bob@example.org>: host mx.example.org[192.0.2.1] said:\n"
            "550 5.7.23 <bob@example.org>: Recipient address rejected:\n"
            "Message rejected due to: SPF fail - not authorized. Please see\n"
            "http://www.openspf.net/Why?s=mfrom;ip=192.0.2.20\n"
            "(in reply to RCPT TO command)\n"
            "Thanks for flying with us.\n")
    (found,) = explain_text(text)
    assert "SPF fail" in found.text and found.text.endswith("ip=192.0.2.20")
    assert "Thanks" not in found.text and found.stage == "rcpt"
    assert found.annotation.category == "spf_dkim_dmarc_auth"


def test_exchange_s_quoted_reply_runs_to_its_double_hash() -> None:
    """Exchange closes the remote reply it quotes with "##"; a paste may break it
    over lines without an indent, and the "##" is no part of the reply."""
    text = ("Generating server: server.example.local\n"
            "bob@example.org\n"
            "mx.example.org #550 5.7.1 <bob@example.org>:\n"
            "Recipient address rejected: Invalid recipient ##\n"
            "\nOriginal message headers:\n")
    (found,) = explain_text(text)
    assert found.text.endswith("Recipient address rejected: Invalid recipient")
    assert found.annotation.category == "user_unknown"


def test_exchange_s_folded_multiline_reply_runs_to_its_double_hash() -> None:
    """Exchange 2010 flattens a remote multiline reply ("550-a" / "550 b") into
    "host #550-a 550 b ##", which a paste may break before its "##": the host
    name before the "#" vouches for the code, and the reply runs to the "##"."""
    text = ("Generating server: svr01.example.local\n"
            "smtp04.example.com #550-The domain in the email address\n"
            "\u2018bob@example.co.ik\u2019 does not 550 exist. Sorry. ##\n"
            "Original message headers:\n")
    (found,) = explain_text(text)
    assert found.code == 550
    assert found.text == ("The domain in the email address \u2018bob@example.co.ik\u2019 "
                          "does not exist. Sorry.")
    assert found.annotation.category == "user_unknown"
    # Without a host name before it, "#550-" followed by words stays a number.
    assert explain_text("Ticket #550-The printer on floor 2\nis jammed ##\n") == []


def test_gmail_s_lead_in_vouches_for_a_code_outside_rfc_5321() -> None:
    """Gmail's notice puts "The response from the remote server was:" above
    the reply: like "said:", it makes a 571 on the next line a reply."""
    text = ("Your message wasn't delivered to bob@example.org because the remote server "
            "refused it.\n\nThe response from the remote server was:\n"
            "571 Remote sending only allowed with authentication!\n")
    (found,) = explain_text(text)
    assert (found.code, found.text) == (571, "Remote sending only allowed with authentication!")
    # The same code after an ordinary line stays no reply.
    assert explain_text("The order was:\n571 Remote sending only allowed with authentication!\n"
                        ) == []


def test_the_last_line_s_code_of_a_joined_multiline_reply_is_dropped() -> None:
    """Postfix joins "550-a" / "550 b" into "550-a 550 b": the second "550" opens
    the last line, not a word of the reply; a lone "550" in a one-line reply is one."""
    (joined,) = explain_text("host mx.example.org[192.0.2.1] said: 550-bob@example.org is not "
                             "an active address (invalid 550 username) (in reply to RCPT TO "
                             "command)")
    assert joined.text == "bob@example.org is not an active address (invalid username)"
    (single,) = explain_text("host mx.example.org[192.0.2.1] said: 554 relay said 550 to us")
    assert single.text == "relay said 550 to us"


def test_thunderbird_s_error_keeps_the_reply_whose_basic_code_it_dropped() -> None:
    """Thunderbird shows the reply without its basic code, then its own advice."""
    pasted = ("An error occurred while sending mail. The mail server responded: 5.7.1 "
              "<bob@example.org>: Relay access denied. Please check the message recipient "
              '"bob@example.org" and try again.')
    [reply] = explain_text(pasted)
    assert (reply.code, reply.enhanced) == (None, "5.7.1")
    assert reply.text == "5.7.1 <bob@example.org>: Relay access denied"
    assert reply.annotation.category == "relay_denied"


def test_dot_net_s_smtp_exception_keeps_the_reply_without_its_basic_code() -> None:
    pasted = ("System.Net.Mail.SmtpFailedRecipientException: Mailbox unavailable. The server "
              "response was: 5.7.1 <bob@example.org>... Relaying denied")
    [reply] = explain_text(pasted)
    assert (reply.code, reply.text) == (None, "5.7.1 <bob@example.org>... Relaying denied")
    assert reply.annotation.category == "relay_denied"
    # A number that only looks like the start of an enhanced code is no reply.
    assert explain_text("The rating was 4.5 stars") == []


def test_exceptions_quote_the_reply_and_nothing_after_it() -> None:
    """Java's nested exception and a .NET stack frame are no folds of the reply."""
    java = ("com.sun.mail.smtp.SMTPSendFailedException: 554 5.7.1 Message rejected as spam;\n"
            "  nested exception is:\n\tcom.sun.mail.smtp.SMTPSenderFailedException: 554 5.7.1 "
            "Message rejected as spam\n")
    [reply] = explain_text(java)
    assert (reply.code, reply.text) == (554, "5.7.1 Message rejected as spam;")
    mailkit = ("MailKit.Net.Smtp.SmtpCommandException: 5.7.60 SMTP; Client does not have "
               "permissions to send as this sender\n"
               "   at MailKit.Net.Smtp.SmtpClient.SendAsync(MimeMessage message)\n")
    [reply] = explain_text(mailkit)
    assert reply.text == ("5.7.60 SMTP; Client does not have permissions to send as this "
                          "sender")
    assert reply.annotation.category == "sender_rejected"


def test_a_laravel_log_line_keeps_its_context_out_of_the_reply() -> None:
    line = ('[2026-12-04 10:00:01] production.ERROR: Expected response code "250" but got '
            'code "550", with message "550 5.7.1 Relaying denied". {"exception":"[object] '
            '(Symfony\\\\Component\\\\Mailer\\\\Exception\\\\UnexpectedResponseException'
            '(code: 550): Expected response code \\"250\\" but got code \\"550\\", with '
            'message \\"550 5.7.1 Relaying denied\\". at /var/www/SmtpTransport.php:342)"}')
    [reply] = explain_text(line)
    assert (reply.code, reply.text) == (550, "5.7.1 Relaying denied")
    assert reply.annotation.category == "relay_denied"
