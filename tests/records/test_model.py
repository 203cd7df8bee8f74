"""The record model: what is kept about a visitor, and what is not."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.decision import Method
from consent.records import (
    ConsentRecord,
    anonymise_ip,
    canonical_texts,
    record_from_decision,
    texts_hash,
    truncate_user_agent,
)
from consent.records.model import format_time, new_record_id, parse_time
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
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("::FFFF:192.0.2.200", "192.0.2.0/24"),
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


@given(st.ip_addresses())
def test_prefix_is_the_network_of_the_address(address: IPv4Address | IPv6Address) -> None:
    prefix = anonymise_ip(str(address))
    assert prefix is not None
    network = ip_network(prefix)
    mapped = getattr(address, "ipv4_mapped", None)
    assert (mapped or address) in network
    assert network.prefixlen == (24 if network.version == 4 else 48)
