"""to_display: nothing a server sends can reach a terminal as a control sequence."""

from hypothesis import given
from hypothesis import strategies as st

from probe.sanitize import to_display


def test_escape_sequences_are_shown_escaped():
    shown = to_display(b"220 hi \x1b]0;PWNED\x07 \x1b[2J \x9b31m")
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b]0;PWNED\\x07" in shown
    assert "\\xc2\\x9b" not in shown  # \x9b alone is invalid UTF-8: shown as one byte
    assert "\\x9b" in shown


def test_c1_bidi_and_invisible_characters_are_escaped():
    shown = to_display("a\u0085b\u202ec\u200dd\ufeffe\u2066f\u00adg")
    for escaped in ("\\x85", "\\u202e", "\\u200d", "\\ufeff", "\\u2066", "\\xad"):
        assert escaped in shown


def test_printable_unicode_is_kept():
    assert to_display("bücher.example ✉") == "bücher.example ✉"


def test_surrogate_escaped_text_from_aiosmtplib_does_not_crash():
    text = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert to_display(text) == "caf\\xe9"


def test_markup_is_left_as_text():
    assert to_display("[bold]x[/] [@click=app.quit]") == "[bold]x[/] [@click=app.quit]"


def test_limit_marks_truncation():
    shown = to_display("x" * 50, limit=10)
    assert shown.startswith("x" * 10) and "truncated 40" in shown


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_output_is_always_printable(value):
    shown = to_display(value)
    assert all(ch == " " or ch.isprintable() for ch in shown)
    shown.encode("utf-8")  # never a lone surrogate
