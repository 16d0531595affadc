"""The strict reply framer: what aiosmtplib accepts too loosely, we reject or flag."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge import parse_enhanced
from probe.core.reply import MalformedReply, frame


def test_single_line_reply_keeps_text_and_enhanced_code():
    framed = frame(b"550 5.1.1 <bob@x.test>: User unknown\r\n")
    (reply,) = framed.replies
    assert reply.code == 550
    assert reply.enhanced == "5.1.1"
    assert reply.lines == ("5.1.1 <bob@x.test>: User unknown",)
    assert reply.oddities == ()
    assert framed.rest == b""


def test_multiline_reply_is_one_reply_with_every_line():
    framed = frame(b"250-mx.test hi\r\n250-SIZE 100\r\n250 STARTTLS\r\n")
    (reply,) = framed.replies
    assert reply.lines == ("mx.test hi", "SIZE 100", "STARTTLS")
    assert reply.raw.count(b"\r\n") == 3


def test_two_replies_in_one_segment_are_both_seen():
    framed = frame(b"250 first\r\n250 EXTRA\r\n")
    assert [r.lines for r in framed.replies] == [("first",), ("EXTRA",)]


def test_unfinished_multiline_is_partial():
    framed = frame(b"250-a\r\n250-b\r\n")
    assert framed.replies == ()
    assert framed.partial == ("a", "b")


def test_bare_lf_accepted_but_flagged():
    (reply,) = frame(b"250-a\n250 b\n").replies
    assert any("bare LF" in o for o in reply.oddities)


def test_long_line_flagged_not_rejected():
    (reply,) = frame(b"250 " + b"x" * 600 + b"\r\n").replies
    assert any("512" in o for o in reply.oddities)


def test_mixed_codes_flagged():
    (reply,) = frame(b"250-a\r\n550-b\r\n250 c\r\n").replies
    assert any("codes differ" in o for o in reply.oddities)


def test_bare_code_is_accepted_with_a_note():
    for raw in (b"250\r\n", b"250 \r\n"):
        (reply,) = frame(raw).replies
        assert reply.code == 250
        assert any("no text" in o for o in reply.oddities)


@pytest.mark.parametrize("raw", [b"-12 x\r\n", b" 22 x\r\n", b"2_0 x\r\n", b"2500 x\r\n",
                                 b"-1 x\r\n", b"600 x\r\n", b"299 x\r\n", b"199 x\r\n"])
def test_codes_aiosmtplib_accepts_are_rejected(raw):
    with pytest.raises(MalformedReply):
        frame(raw)


@pytest.mark.parametrize(("raw", "hint"), [
    (b"HTTP/1.1 400 Bad Request\r\n", "HTTP"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "SSH"),
    (b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03", "TLS"),
])
def test_other_protocols_are_named(raw, hint):
    with pytest.raises(MalformedReply) as info:
        frame(raw)
    assert hint in info.value.message


def test_out_of_range_code_says_so():
    with pytest.raises(MalformedReply) as info:
        frame(b"600 nope\r\n")
    assert "out of range" in info.value.message


def test_invalid_utf8_is_kept_as_escapes():
    (reply,) = frame(b"250 caf\xe9\r\n").replies
    assert reply.lines == ("caf\\xe9",)
    assert reply.raw == b"250 caf\xe9\r\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("5.1.1 <bob@x>: unknown", "5.1.1"),
    ("4.7.0 Try again", "4.7.0"),
    ("5.7.606 Access denied", "5.7.606"),
    ("5.01.001 padded", "5.1.1"),
    ("Requested action 5.1.1", None),
    ("2.0.0", "2.0.0"),
    ("3.1.1 wrong class", None),
])
def test_parse_enhanced(text, expected):
    assert parse_enhanced(text) == expected


@given(st.binary(max_size=2000))
def test_frame_never_raises_anything_but_malformed(data):
    try:
        framed = frame(data)
    except MalformedReply as exc:
        assert exc.message
        return
    assert sum(len(r.raw) for r in framed.replies) + len(framed.rest) == len(data)
