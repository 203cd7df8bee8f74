"""The record model: what is kept about a visitor, and what is not."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.decision import Method
from consent.endpoints import Decision
from consent.records import (
    ConsentRecord,
    RecordDataError,
    anonymise_ip,
    canonical_texts,
    check_storable,
    record_from_decision,
    texts_hash,
    truncate_user_agent,
)
from consent.records.model import (
    JURISDICTION_LENGTH,
    MAX_PATH_LENGTH,
    POLICY_LENGTH,
    VARIANT_LENGTH,
    format_time,
    new_record_id,
    parse_time,
)
from tests.records.helpers import TEXTS, make_decision, make_record


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("203.0.113.0", "203.0.113.0/24"),
        ("10.1.2.255", "10.1.2.0/24"),
        ("127.0.0.1", "127.0.0.0/24"),
        (" 198.51.100.7 ", "198.51.100.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("2001:DB8:ABCD:FFFF::1", "2001:db8:abcd::/48"),
        ("[2001:db8:1::1]", "2001:db8:1::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("::1", "::/48"),
        ("::", "::/48"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("::FFFF:192.0.2.200", "192.0.2.0/24"),
        # 6to4: the /48 would be 2002:cb00:714d::/48, i.e. all of 203.0.113.77.
        ("2002:cb00:714d::1", "203.0.113.0/24"),
        ("2002:c000:02c8:1234:5678::9", "192.0.2.0/24"),
        # Teredo: server 65.54.227.120, client 192.0.2.45 stored with its bits flipped.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.0/24"),
        ("2001::34ff:8eb2", "203.0.113.0/24"),  # ~0x34ff8eb2 is 203.0.113.77
        # IPv4-compatible (deprecated, still parsed) and NAT64 well-known prefix.
        ("::203.0.113.77", "203.0.113.0/24"),
        ("::cb00:714d", "203.0.113.0/24"),
        ("64:ff9b::203.0.113.77", "203.0.113.0/24"),
        ("64:FF9B::C000:2C8", "192.0.2.0/24"),
        ("[64:ff9b::198.51.100.9]", "198.51.100.0/24"),
        # Neighbours of those ranges stay IPv6.
        ("2003:cb00:714d::1", "2003:cb00:714d::/48"),
        ("2001:1::1", "2001:1::/48"),
        ("64:ff9b:1::203.0.113.77", "64:ff9b:1::/48"),
        ("testclient", None),
        ("999.1.1.1", None),
        ("203.0.113", None),
        ("unix:/run/app.sock", None),
        ("", None),
        (None, None),
    ],
)
def test_anonymise_ip(address: str | None, expected: str | None) -> None:
    assert anonymise_ip(address) == expected


def test_user_agent_is_truncated_and_cleaned() -> None:
    assert truncate_user_agent("a" * 500) == "a" * 200
    assert truncate_user_agent("a" * 500, 50) == "a" * 50
    assert truncate_user_agent("Mozilla\r\n/5.0\x00") == "Mozilla/5.0"
    assert truncate_user_agent("") is None
    assert truncate_user_agent(None) is None
    assert truncate_user_agent("\x00\x01") is None


def test_texts_hash_is_canonical() -> None:
    a = {"b": "zwei", "a": "eins", "ü": "ä"}
    b = {"ü": "ä", "a": "eins", "b": "zwei"}
    assert canonical_texts(a) == '{"a":"eins","b":"zwei","ü":"ä"}'
    assert texts_hash(a) == texts_hash(b) == texts_hash(canonical_texts(a))
    expected = hashlib.sha256('{"a":"eins","b":"zwei","ü":"ä"}'.encode()).hexdigest()
    assert texts_hash(a) == expected
    assert texts_hash({"a": "eins"}) != texts_hash({"a": "eins "})


def test_record_ids_are_unique_sortable_and_url_safe() -> None:
    ids = [new_record_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 and i.isalnum() and i.isupper() for i in ids)


def test_record_from_decision() -> None:
    when = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)
    decision = make_decision(
        method=Method.WITHDRAW,
        granted=("necessary", "preferences"),
        denied=("marketing", "analytics"),
        client=("203.0.113.77", 4242),
        user_agent="UA/" + "x" * 400,
        path="/shop/cart?email=me@example.com#top",
        gpc=True,
        when=when,
    )
    record, canonical = record_from_decision(decision)
    assert record.consent_id == "visitor-1"
    assert record.recorded_at == when
    assert record.revision == 1
    assert record.granted == ("necessary", "preferences")
    assert record.denied == ("analytics", "marketing")
    assert record.method == "withdraw"
    assert record.locale == "en"
    assert record.path == "/shop/cart"  # query strings can hold personal data
    assert record.user_agent == ("UA/" + "x" * 400)[:200]
    assert record.ip_prefix == "203.0.113.0/24"
    assert record.gpc is True
    assert canonical == canonical_texts(TEXTS)
    assert record.texts_hash == texts_hash(TEXTS)
    assert "203.0.113.77" not in json.dumps(record.to_dict())


def test_a_record_keeps_the_services_granted_one_by_one() -> None:
    decision = make_decision(
        method=Method.ALLOW_SERVICE, granted=("necessary",), services=("youtube", "vimeo")
    )
    record, _ = record_from_decision(decision)
    assert record.services == ("vimeo", "youtube")
    assert record.method == "allow_service"
    assert record.to_dict()["services"] == ["vimeo", "youtube"]
    assert ConsentRecord.from_dict(record.to_dict()) == record
    # None granted one by one (the default, and every record made before services).
    assert record_from_decision(make_decision())[0].services == ()
    old = {k: v for k, v in make_record(2).to_dict().items() if k != "services"}
    assert ConsentRecord.from_dict(old).services == ()


def test_a_record_keeps_where_which_policy_and_what_was_answered() -> None:
    decision = make_decision(
        method=Method.ACKNOWLEDGE,
        granted=("necessary",),
        denied=(),
        jurisdiction="US-CA",
        policy="us",
        variant="notice",
    )
    record, _ = record_from_decision(decision)
    assert (record.jurisdiction, record.policy, record.variant) == ("US-CA", "us", "notice")
    assert record.method == "acknowledge"
    data = record.to_dict()
    assert (data["jurisdiction"], data["policy"], data["variant"]) == ("US-CA", "us", "notice")
    assert ConsentRecord.from_dict(json.loads(json.dumps(data))) == record
    gpc, _ = record_from_decision(make_decision(method=Method.GPC, variant="gpc", gpc=True))
    assert (gpc.method, gpc.variant) == ("gpc", "gpc")
    # Unknown: the default, and every record spooled by a release before these fields.
    unknown, _ = record_from_decision(make_decision())
    assert (unknown.jurisdiction, unknown.policy, unknown.variant) == ("", "", "")
    new_fields = ("jurisdiction", "policy", "variant")
    old = {k: v for k, v in record.to_dict().items() if k not in new_fields}
    assert ConsentRecord.from_dict(old) == dataclasses.replace(
        record, jurisdiction="", policy="", variant=""
    )


@pytest.mark.parametrize(
    ("field", "given", "kept"),
    [
        ("jurisdiction", "de", "DE"),  # ISO codes are kept in upper case
        ("jurisdiction", "us-ca", "US-CA"),
        ("jurisdiction", "X" * JURISDICTION_LENGTH, "X" * JURISDICTION_LENGTH),
        ("jurisdiction", "X" * (JURISDICTION_LENGTH + 1), ""),  # too long: not a code
        ("jurisdiction", "US CA", ""),
        ("jurisdiction", "US-CA\n", ""),
        ("jurisdiction", "D\u00c9", ""),  # not ASCII
        ("jurisdiction", "\u00df", ""),  # would upper-case to "SS"
        ("jurisdiction", "US\x00", ""),
        ("jurisdiction", "\ud800", ""),
        ("jurisdiction", None, ""),  # a custom resolver returning nothing
        ("policy", "opt_in", "opt_in"),
        ("policy", "p" * POLICY_LENGTH, "p" * POLICY_LENGTH),
        ("policy", "p" * (POLICY_LENGTH + 1), ""),
        ("policy", "opt in", ""),
        ("policy", "us;drop", ""),
        ("variant", "preferences", "preferences"),
        ("variant", "v" * (VARIANT_LENGTH + 1), ""),
        ("variant", "banner\x00", ""),
        ("variant", 7, ""),
    ],
)
def test_codes_that_are_not_short_codes_are_kept_as_unknown(
    field: str, given: object, kept: str
) -> None:
    decision = make_decision()
    setattr(decision, field, given)
    record, _ = record_from_decision(decision)  # never raises: the decision goes through
    assert getattr(record, field) == kept
    check_storable(record)


def test_record_without_client_or_user_agent() -> None:
    decision = make_decision(client=None, user_agent="")
    record, _ = record_from_decision(decision)
    assert record.ip_prefix is None
    assert record.user_agent is None


def test_record_round_trips_through_json() -> None:
    record = make_record(3)
    again = ConsentRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record


def test_times_sort_as_text() -> None:
    early = datetime(2025, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)
    late = datetime(2025, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert format_time(early) == "2025-01-01T00:00:00.000005Z"
    assert format_time(early) < format_time(late)
    assert parse_time(format_time(early)) == early
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2025, 1, 1))


def carried_ipv4(address: IPv4Address | IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries, straight from the RFCs' bit layouts."""
    if address.version == 4:
        return None
    value = int(address)
    low32 = value & 0xFFFFFFFF
    if value >> 32 == 0xFFFF:  # ::ffff:0:0/96, IPv4-mapped
        return IPv4Address(low32)
    if value >> 112 == 0x2002:  # 2002::/16, 6to4: bits 16-47
        return IPv4Address((value >> 80) & 0xFFFFFFFF)
    if value >> 96 == 0x20010000:  # 2001::/32, Teredo: the client's bits flipped
        return IPv4Address(low32 ^ 0xFFFFFFFF)
    if value >> 32 == 0x64FF9B << 64:  # 64:ff9b::/96, NAT64
        return IPv4Address(low32)
    if value >> 32 == 0 and value > 1:  # ::/96 without :: and ::1, IPv4-compatible
        return IPv4Address(low32)
    return None


@given(st.ip_addresses())
def test_prefix_is_the_network_of_the_address(address: IPv4Address | IPv6Address) -> None:
    prefix = anonymise_ip(str(address))
    assert prefix is not None
    network = ip_network(prefix)
    assert (carried_ipv4(address) or address) in network
    assert network.prefixlen == (24 if network.version == 4 else 48)


@given(st.ip_addresses(v=4), st.sampled_from(["::ffff:{}", "::{}", "64:ff9b::{}", "2002", "2001"]))
def test_an_ipv4_address_inside_ipv6_is_cut_like_ipv4(address: IPv4Address, form: str) -> None:
    packed = int(address)
    if form == "2002":
        wrapped = IPv6Address((0x2002 << 112) | (packed << 80) | 1)
    elif form == "2001":
        wrapped = IPv6Address((0x20010000 << 96) | (packed ^ 0xFFFFFFFF))
    else:
        wrapped = IPv6Address(form.format(address))
    if int(wrapped) <= 1:
        return  # ::0.0.0.0 and ::0.0.0.1 are IPv6's unspecified and loopback addresses
    assert anonymise_ip(str(wrapped)) == anonymise_ip(str(address))


def test_times_outside_the_searched_window_are_no_record() -> None:
    late = datetime(9999, 12, 31, 12, tzinfo=timezone.utc)  # after LATEST: never exported
    with pytest.raises(RecordDataError, match="recorded_at"):
        record_from_decision(make_decision(when=late))


def assert_storable(text: str) -> None:
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogates


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/a\x00b", "/a%00b"),
        ("/caf\u00e9\n", "/caf\u00e9%0A"),
        ("/\ud800x", "/%ED%A0%80x"),
        ("/x\x7f\x85", "/x%7F%C2%85"),
        ("/\u2028ok\x00?q=\x00", "/\u2028ok%00"),  # U+2028 is storable text; the query goes
        ("\x00", "%00"),
    ],
)
def test_the_path_is_made_storable(path: str, stored: str) -> None:
    record, _ = record_from_decision(make_decision(path=path))
    assert record.path == stored
    check_storable(record)


def test_a_long_unstorable_path_stays_within_the_limit() -> None:
    record, _ = record_from_decision(make_decision(path="/" + "\x00" * 600))
    assert len(record.path) <= MAX_PATH_LENGTH
    assert record.path == "/" + "%00" * 170  # no escape cut in half at the end
    assert_storable(record.path)


def test_the_user_agent_is_made_storable() -> None:
    decision = make_decision(path="/\x00")
    decision.scope["headers"] = [(b"user-agent", b"Mozilla\x00/5.0 \x85(X11)\x1b[0m")]
    record, _ = record_from_decision(decision)
    assert record.user_agent == "Mozilla/5.0 (X11)[0m"
    assert_storable(record.user_agent)
    assert record.path == "/%00"


def _with_consent(**changes: Any) -> Decision:
    decision = make_decision()
    decision.consent = dataclasses.replace(decision.consent, **changes)
    return decision


def _with_locale(locale: str) -> Decision:
    decision = make_decision()
    decision.locale = locale
    return decision


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (make_decision(consent_id="abc\x00"), "consent_id"),
        (make_decision(consent_id="\ud800"), "consent_id"),
        (make_decision(texts={"banner.title": "Cookies\ud800"}), "texts"),
        (_with_locale("en\x00"), "locale"),
        (_with_consent(granted=frozenset({"necessary", "x\udcff"})), "granted"),
        (_with_consent(services=frozenset({"you\x00tube"})), "services"),
        (_with_consent(revision=2**31), "revision"),
        (_with_consent(revision=-1), "revision"),
    ],
)
def test_fields_that_cannot_be_made_storable_raise(decision: Decision, field: str) -> None:
    with pytest.raises(RecordDataError, match=f"^{field}") as info:
        record_from_decision(decision)
    # The message names the field, never the value (it is logged).
    assert "abc" not in str(info.value)
    assert "\x00" not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"path": "/a\x00"}, "path"),
        ({"user_agent": "UA\ud800"}, "user_agent"),
        ({"record_id": 7}, "record_id"),
        ({"denied": ("marketing", "\x00")}, "denied"),
        ({"services": ("youtube", "\ud800")}, "services"),
        ({"jurisdiction": "US\x00"}, "jurisdiction"),
        ({"policy": "\udcff"}, "policy"),
        ({"variant": None}, "variant"),
        ({"ip_prefix": "\udcff"}, "ip_prefix"),
        ({"revision": True}, "revision"),
        ({"recorded_at": datetime(1969, 12, 31, tzinfo=timezone.utc)}, "recorded_at"),
        ({"recorded_at": datetime(2025, 1, 1)}, "recorded_at"),
    ],
)
def test_check_storable_names_the_field(changes: dict[str, Any], field: str) -> None:
    record = dataclasses.replace(make_record(1), **changes)
    with pytest.raises(RecordDataError, match=f"^{field}: "):
        check_storable(record)
    check_storable(make_record(1))  # the unchanged record passes
