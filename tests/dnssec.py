"""DNSSEC-signed test zones, signed for real by dnspython, for the loopback DNS server.

`sign(text, zones)` cuts the records of `text` into zones at the given apexes
(the root is always one, and always signed), signs each zone the way its
mode says, and returns every record -- DNSKEY, RRSIG, NSEC and the DS
records in the parents included -- as `DnsServer` record tuples, with
the root's DNSKEY RRset as the trust anchor a validating resolver starts
from. Modes are the situations the `dnssec` check must tell apart:

* `signed`: signed, DS published in the parent (a full chain of trust);
* `unsigned`: an ordinary unsigned zone delegated from a signed parent;
* `no_ds`: signed, but the parent has no DS for it (an island of security);
* `expired`: signed with signatures that expired three days ago (bogus: the most
  common way DNSSEC breaks mail in practice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec

ZoneMode = Literal["signed", "unsigned", "no_ds", "expired"]
_TTL = 300
_ALGORITHM = dns.dnssec.Algorithm.ECDSAP256SHA256


@dataclass(frozen=True)
class Signed:
    records: list[tuple[str, str, str]]  # (owner, type, rdata): DnsServer's RecordSpec
    anchor: dns.rrset.RRset  # the root zone's DNSKEY RRset
    zones: dict[str, str]  # apex -> master-file text of that zone alone (for a real server)


def _apex_of(name: dns.name.Name, apexes: list[dns.name.Name]) -> dns.name.Name:
    """The deepest apex `name` is at or below."""
    return max((a for a in apexes if name.is_subdomain(a)), key=lambda a: len(a.labels))


def _under(label: str, apex: dns.name.Name) -> str:
    return dns.name.from_text(label, origin=apex).to_text()


def sign(text: str, zones: Mapping[str, ZoneMode]) -> Signed:
    """Cut `text` into zones, sign them as `zones` says, and add DS records to parents."""
    modes = {dns.name.from_text(apex): mode for apex, mode in zones.items()}
    modes.setdefault(dns.name.root, "signed")
    apexes = list(modes)
    source = dns.zone.from_text(f"$TTL {_TTL}\n" + "\n".join(
        line.strip() for line in text.splitlines()), origin=dns.name.root,
        relativize=False, check_origin=False)
    built: dict[dns.name.Name, dns.zone.Zone] = {}
    ds_for: dict[dns.name.Name, dns.rrset.RRset] = {}
    anchor: dns.rrset.RRset | None = None
    for apex in sorted(apexes, key=lambda a: len(a.labels), reverse=True):  # children first
        zone = dns.zone.Zone(apex, relativize=False)
        with zone.writer() as txn:
            txn.add(apex, _TTL, dns.rdata.from_text("IN", "SOA", (
                f"{_under('ns', apex)} {_under('hostmaster', apex)} 1 3600 600 86400 {_TTL}")))
            txn.add(apex, _TTL, dns.rdata.from_text("IN", "NS", _under("ns", apex)))
            for name, rdataset in source.iterate_rdatasets():
                if _apex_of(name, apexes) == apex:
                    txn.add(name, rdataset)
            for child in apexes:
                if child != dns.name.root and child != apex and \
                        _apex_of(child.parent(), apexes) == apex:
                    txn.add(child, _TTL, dns.rdata.from_text("IN", "NS", _under("ns", child)))
                    if child in ds_for:
                        txn.add(ds_for[child])
        mode = modes[apex]
        if mode != "unsigned":
            key = ec.generate_private_key(ec.SECP256R1())
            dnskey = dns.dnssec.make_dnskey(key.public_key(), _ALGORITHM, flags=257)
            now = dt.datetime.now(dt.UTC)
            # Three days past expiry: validators forgive up to a day of clock skew
            # (Unbound: val-sig-skew-max), so "yesterday" is not reliably bogus.
            start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=3)) \
                if mode == "expired" else (now - dt.timedelta(hours=1), now + dt.timedelta(days=7))
            dns.dnssec.sign_zone(zone, keys=[(key, dnskey)], inception=start, expiration=end)
            if mode != "no_ds":
                ds = dns.dnssec.make_ds(apex, dnskey, "SHA256")
                ds_for[apex] = dns.rrset.from_rdata(apex, _TTL, ds)
            if apex == dns.name.root:
                anchor = zone.find_rrset(apex, "DNSKEY")
        built[apex] = zone
    assert anchor is not None
    records = [(name.to_text(), dns.rdatatype.to_text(rdata.rdtype), rdata.to_text())
               for zone in built.values() for name, rdataset in zone.iterate_rdatasets()
               for rdata in rdataset]
    zones = {apex.to_text(): zone.to_text(relativize=False) for apex, zone in built.items()}
    return Signed(records, anchor, zones)
