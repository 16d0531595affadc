"""User input is validated before anything is sent: specific messages, no rewriting."""

import pytest

from probe.core.plan import InputError, build_plan


def test_idn_domain_and_trailing_dot_are_normalised():
    plan = build_plan("BÜCHER.example.")
    assert plan.domain == "xn--bcher-kva.example"
    assert plan.domain_unicode == "bücher.example"
    assert plan.rcpts == ("postmaster@xn--bcher-kva.example",)


def test_address_target_probes_its_domain_with_that_recipient():
    plan = build_plan("alice@Example.COM", rcpts=["bob@example.com"])
    assert plan.domain == "example.com"
    assert plan.rcpts == ("alice@example.com", "bob@example.com")


def test_defaults_follow_the_contract():
    plan = build_plan("example.com", helo="probe.example")
    assert plan.mail_from == ""
    assert plan.port == 25
    assert plan.quit_after == "rcpt"
    assert plan.timeouts.step == 30
    assert plan.starttls


def test_mx_override_with_ip_uses_bare_postmaster():
    plan = build_plan("", mx=["127.0.0.1:2525"])
    assert plan.mx_override == (("127.0.0.1", 2525),)
    assert plan.rcpts == ("postmaster",)


def test_ipv6_mx_override_with_port():
    plan = build_plan("x.test", mx=["[::1]:2525"])
    assert plan.mx_override == (("::1", 2525),)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"target": "ex ample.com"}, "spaces"),
    ({"target": "a..b"}, "empty label"),
    ({"target": "under_score.example"}, "invalid"),
    ({"target": "x" * 64 + ".example"}, "63"),
    ({"target": "1.2.3.4"}, "--mx"),
    ({"target": "[192.0.2.1]"}, "--mx"),
    ({"target": ""}, "no target"),
    ({"target": "x.test", "rcpts": ["bob@x.test\r\nDATA"]}, "control"),
    ({"target": "x.test", "rcpts": ["x@y.test SIZE=1"]}, "spaces"),
    ({"target": "x.test", "rcpts": ["Alice <bob@evil.test>"]}, "spaces"),
    ({"target": "x.test", "rcpts": ["a@b.test,c@d.test"]}, "bare address"),
    ({"target": "x.test", "rcpts": ["alice@x.test)<bob@evil.test>"]}, "bare address"),
    ({"target": "x.test", "rcpts": ["üser@x.test"]}, "SMTPUTF8"),
    ({"target": "x.test", "rcpts": ["a" * 65 + "@x.test"]}, "64"),
    ({"target": "x.test", "mail_from": "<>x"}, "bare address"),
    ({"target": "x.test", "helo": "bad\nname"}, "control"),
    ({"target": "x.test", "helo": "[999.1.1.1]"}, "address literal"),
    ({"target": "x.test", "port": "0"}, "out of range"),
    ({"target": "x.test", "port": "smtp"}, "not a number"),
    ({"target": "x.test", "nameservers": ["999.1.1.1"]}, "IP address"),
    ({"target": "x.test", "nameservers": ["ns.example"]}, "IP address"),
    ({"target": "x.test", "nameservers": ["127.0.0.1:99999"]}, "out of range"),
    ({"target": "x.test", "timeout": "-1"}, "more than 0"),
    ({"target": "x.test", "quit_after": "data"}, "must be one of"),
    ({"target": "x.test", "mx": ["bad host:25"]}, "spaces"),
    ({"target": "x.test", "tls_ca_file": "/nonexistent/ca.pem"}, "--tls-ca-file"),
])
def test_bad_input_is_one_specific_error(kwargs, fragment):
    target = kwargs.pop("target")
    with pytest.raises(InputError) as info:
        build_plan(target, **kwargs)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_null_sender_forms():
    assert build_plan("x.test", mail_from="<>").mail_from == ""
    assert build_plan("x.test", mail_from="bounce@x.test").mail_from == "bounce@x.test"


def test_quit_after_ordering():
    plan = build_plan("x.test", quit_after="mail")
    assert plan.stops_after("mail") and plan.stops_after("rcpt")
    assert not plan.stops_after("starttls")


def test_rfc_timeouts_wait_like_an_mta():
    plan = build_plan("x.test", rfc_timeouts=True)
    assert plan.timeouts.step == 300 and plan.timeouts.connect == 30
    assert plan.timeouts.host_budget >= 900
    explicit = build_plan("x.test", rfc_timeouts=True, timeout="60")
    assert explicit.timeouts.step == 60 and explicit.timeouts.rfc
    assert build_plan("x.test").timeouts.connect == 10
