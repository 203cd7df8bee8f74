"""The consent cookie codec: compact, signed, and undecided for anything that does not verify."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from consent.state import SALT, Consent, ConsentCodec

OPTIONAL = ("preferences", "analytics", "marketing")


def codec(*keys: str, revision: int = 1, max_age: int = 3600) -> ConsentCodec:
    return ConsentCodec(
        list(keys or ("k" * 32,)),
        max_age=max_age,
        revision=revision,
        required_key="necessary",
        optional_keys=OPTIONAL,
    )


def decided(granted: set[str], *, consent_id: str = "abc123def456ghi7") -> Consent:
    return Consent(
        id=consent_id,
        revision=1,
        granted=frozenset(granted | {"necessary"}),
        denied=frozenset(set(OPTIONAL) - granted),
        decided=True,
    )


def test_round_trip() -> None:
    value = codec().dumps(decided({"analytics"}))
    consent = codec().loads(value)
    assert consent.granted == {"necessary", "analytics"}
    assert consent.denied == {"preferences", "marketing"}
    assert consent.decided
    assert consent.allows("analytics")
    assert not consent.allows("marketing")
    assert consent.id == "abc123def456ghi7"
    assert consent.given_at is not None
    assert consent.given_at.tzinfo == timezone.utc


def test_cookie_is_compact() -> None:
    value = codec().dumps(decided({"preferences", "analytics", "marketing"}))
    header = f"consent={value}"
    assert len(header) < 200


def test_missing_cookie_is_undecided() -> None:
    consent = codec().loads(None)
    assert not consent.decided
    assert consent.granted == {"necessary"}
    assert consent.id is None


@pytest.mark.parametrize(
    "mutate",
    [
        # signature (not its last character, whose low bits base64 ignores)
        lambda v: v[:-10] + ("A" if v[-10] != "A" else "B") + v[-9:],
        lambda v: v.replace("analytics", "marketing", 1),  # payload
        lambda v: "",
        lambda v: "garbage",
        lambda v: v + "." + v,
        lambda v: "x" * 5000,  # oversized
        lambda v: v.split(".")[0],  # no signature
    ],
)
def test_tampered_cookie_is_undecided(mutate: object, caplog: pytest.LogCaptureFixture) -> None:
    value = codec().dumps(decided({"analytics"}))
    caplog.set_level(logging.DEBUG, logger="consent")
    consent = codec().loads(mutate(value))  # type: ignore[operator]
    assert not consent.decided
    assert consent.granted == {"necessary"}


def test_foreign_signature_and_other_purpose_are_rejected() -> None:
    value = codec("a" * 32).dumps(decided({"analytics"}))
    assert not codec("b" * 32).loads(value).decided
    payload = "1|someone|1|analytics+marketing+preferences|"
    other_salt = TimestampSigner("k" * 32, salt="session").sign(payload).decode()
    assert not codec().loads(other_salt).decided
    same_salt = TimestampSigner("k" * 32, salt=SALT, digest_method=__import__("hashlib").sha256)
    assert codec().loads(same_salt.sign(payload).decode()).decided


def test_key_rotation_signs_with_the_first_and_accepts_all() -> None:
    old = codec("old-key" * 5).dumps(decided({"analytics"}))
    rotated = codec("new-key" * 5, "old-key" * 5)
    assert rotated.loads(old).allows("analytics")
    fresh = rotated.dumps(decided({"marketing"}))
    assert codec("new-key" * 5).loads(fresh).allows("marketing")
    assert not codec("old-key" * 5).loads(fresh).decided


def test_expired_cookie_is_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    value = codec(max_age=60).dumps(decided({"analytics"}))
    fresh = codec(max_age=60)
    assert fresh.loads(value).decided
    import time

    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    # both the cache and a fresh verification must notice the expiry
    assert not fresh.loads(value).decided
    assert not codec(max_age=60).loads(value).decided


def test_older_revision_is_undecided_but_prefills() -> None:
    value = codec(revision=1).dumps(decided({"analytics"}))
    consent = codec(revision=2).loads(value)
    assert not consent.decided
    assert consent.granted == {"necessary"}
    assert consent.previous == {"analytics"}
    assert consent.id == "abc123def456ghi7"  # same visitor, asked again


def test_new_category_is_undecided_but_earlier_grants_stand() -> None:
    value = codec().dumps(decided({"analytics"}))
    wider = ConsentCodec(
        ["k" * 32],
        max_age=3600,
        revision=1,
        required_key="necessary",
        optional_keys=(*OPTIONAL, "social"),
    )
    consent = wider.loads(value)
    assert consent.allows("analytics")
    assert not consent.allows("social")
    assert not consent.decided


def test_gpc_flag_does_not_change_grants() -> None:
    value = codec().dumps(decided({"marketing"}))
    consent = codec().loads(value, gpc=True)
    assert consent.gpc
    assert consent.allows("marketing")


def test_dumps_needs_an_id() -> None:
    with pytest.raises(ValueError, match="id"):
        codec().dumps(Consent.undecided("necessary", 1))


@given(st.text(max_size=300))
def test_no_cookie_value_raises(value: str) -> None:
    consent = codec().loads(value)
    assert consent.granted == {"necessary"}


@given(st.binary(max_size=200))
def test_no_signed_payload_raises(payload: bytes) -> None:
    signer = TimestampSigner("k" * 32, salt=SALT, digest_method=__import__("hashlib").sha256)
    consent = codec().loads(signer.sign(payload).decode("latin-1"))
    assert "necessary" in consent.granted
    assert consent.granted <= {"necessary", *OPTIONAL}


def test_given_at_is_the_signing_time() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    consent = codec().loads(codec().dumps(decided(set())))
    assert consent.given_at is not None
    assert consent.given_at >= before
