"""The proof-of-consent record and the privacy-preserving reductions it is built from.

Nothing here touches a store: a `ConsentRecord` is made from a `Decision` in
memory, with the client address already cut to a network prefix, the user
agent truncated and the banner texts reduced to a hash. `check_storable` is the
one rule every store applies, so a record either fits them all or none.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from consent.endpoints import Decision

__all__ = [
    "EARLIEST",
    "IPV4_PREFIX",
    "IPV6_PREFIX",
    "JURISDICTION_LENGTH",
    "LATEST",
    "MAX_PATH_LENGTH",
    "POLICY_LENGTH",
    "USER_AGENT_LENGTH",
    "VARIANT_LENGTH",
    "ConsentRecord",
    "RecordDataError",
    "anonymise_ip",
    "canonical_texts",
    "check_storable",
    "format_time",
    "new_record_id",
    "parse_time",
    "record_from_decision",
    "texts_hash",
    "truncate_user_agent",
]

#: Client addresses are kept only as these network prefixes (the usual analytics
#: anonymisation: a /24 still names a provider and a region, not a household).
IPV4_PREFIX = 24
IPV6_PREFIX = 48
#: Enough to tell browsers and versions apart; the long tail is fingerprinting material.
USER_AGENT_LENGTH = 200
MAX_PATH_LENGTH = 512
#: Longest jurisdiction (``US-CA``), policy (``opt_in``) and variant (``preferences``) kept:
#: short codes, so anything longer is not one of them and is kept as unknown (``""``).
JURISDICTION_LENGTH = 16
POLICY_LENGTH = 64
VARIANT_LENGTH = 32
_CODE = re.compile(r"[A-Za-z0-9_-]+")

#: The time window stores search (open query ends become these bounds): a record outside
#: it could never be exported, counted or pruned, so none is made there.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 31, tzinfo=timezone.utc)
#: PostgreSQL ``integer``, the narrowest column ``revision`` is stored in.
_INT32_MAX = 2**31 - 1

#: IPv6 ranges whose low 32 bits are a client's IPv4 address (RFC 6052, RFC 4291 2.5.5.1).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80


class RecordDataError(ValueError):
    """A record holds data no store can keep (a NUL, a lone surrogate, a value out of range).

    Unlike an outage, retrying cannot help: such a record is neither stored nor
    spooled. The message names the field and the problem, never the value, so it
    can be logged without personal data.
    """


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One decision as proof of consent: what was chosen, when, how and on which wording.

    ``record_id`` is a sortable, unique id assigned when the record is made;
    stores ignore a record whose id they already hold, so redelivery is safe.
    ``services`` are the services granted one by one (sorted keys; a granted category
    covers its own services, which are not repeated here). ``jurisdiction`` (``US-CA``),
    ``policy`` (``opt_in``) and ``variant`` (``banner``, ``notice``, ...) say where the
    visitor was, which policy applied and what they answered; ``""`` when unknown (every
    record made before they existed).
    """

    record_id: str
    consent_id: str
    recorded_at: datetime  # UTC
    revision: int
    granted: tuple[str, ...]
    denied: tuple[str, ...]
    method: str  # consent.decision.Method value
    locale: str
    texts_hash: str  # SHA-256 of the canonical JSON of the texts shown
    path: str
    user_agent: str | None
    ip_prefix: str | None
    gpc: bool
    services: tuple[str, ...] = ()
    jurisdiction: str = ""
    policy: str = ""
    variant: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the spool format and the export's JSON Lines)."""
        return {
            "record_id": self.record_id,
            "consent_id": self.consent_id,
            "recorded_at": format_time(self.recorded_at),
            "revision": self.revision,
            "granted": list(self.granted),
            "denied": list(self.denied),
            "method": self.method,
            "locale": self.locale,
            "texts_hash": self.texts_hash,
            "path": self.path,
            "user_agent": self.user_agent,
            "ip_prefix": self.ip_prefix,
            "gpc": self.gpc,
            "services": list(self.services),
            "jurisdiction": self.jurisdiction,
            "policy": self.policy,
            "variant": self.variant,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentRecord:
        """The inverse of `to_dict` (``services``, ``jurisdiction``, ``policy`` and ``variant``
        may be missing: spooled by a release before they existed)."""
        return cls(
            record_id=str(data["record_id"]),
            consent_id=str(data["consent_id"]),
            recorded_at=parse_time(str(data["recorded_at"])),
            revision=int(data["revision"]),
            granted=tuple(data["granted"]),
            denied=tuple(data["denied"]),
            method=str(data["method"]),
            locale=str(data["locale"]),
            texts_hash=str(data["texts_hash"]),
            path=str(data["path"]),
            user_agent=data.get("user_agent"),
            ip_prefix=data.get("ip_prefix"),
            gpc=bool(data["gpc"]),
            services=tuple(data.get("services", ())),
            jurisdiction=str(data.get("jurisdiction") or ""),
            policy=str(data.get("policy") or ""),
            variant=str(data.get("variant") or ""),
        )


def format_time(moment: datetime) -> str:
    """UTC, fixed width, microseconds and ``Z``: sorts as text in the same order as in time."""
    if moment.tzinfo is None:
        raise ValueError("record times must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of `format_time` (also accepts any ISO 8601 time with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def anonymise_ip(address: str | None) -> str | None:
    """The network prefix of a client address (IPv4 /24, IPv6 /48); None if unparsable.

    IPv6 addresses that carry an IPv4 address count as that IPv4 address (its /24):
    IPv4-mapped (``::ffff:203.0.113.7``, dual-stack sockets), 6to4 (``2002::/16``),
    Teredo (``2001::/32``), IPv4-compatible (``::/96``) and NAT64 (``64:ff9b::/96``).
    A /48 does not fit them: the /48 of a 6to4 address is ``2002:`` plus the complete
    IPv4 address (nothing anonymised); a Teredo /48 holds half the Teredo server's
    address, not the client's, whose address sits in the low bits with its bits merely
    flipped; the /48 of the other two names no network at all. So they are cut like
    every IPv4 visitor: to the /24 of the IPv4 address they carry.
    """
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _carried_ipv4(ip) or ip
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition address stands for, or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client); ipaddress undoes the obfuscation
    # ``::`` and ``::1`` lie in ::/96 too, but they are IPv6's unspecified and loopback.
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def truncate_user_agent(user_agent: str | None, limit: int = USER_AGENT_LENGTH) -> str | None:
    """The first ``limit`` characters of a user agent, control characters removed."""
    if not user_agent:
        return None
    cleaned = "".join(ch for ch in user_agent[: limit * 2] if ch.isprintable())
    return cleaned[:limit] or None


def canonical_texts(texts: Mapping[str, str]) -> str:
    """The one JSON spelling of a set of texts (sorted keys, no spaces): what gets hashed."""
    return json.dumps(dict(texts), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def texts_hash(texts: Mapping[str, str] | str) -> str:
    """SHA-256 (hex) of the canonical JSON of ``texts`` (or of an already canonical string)."""
    canonical = texts if isinstance(texts, str) else canonical_texts(texts)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _RecordIds:
    """ULID-style ids: 48-bit milliseconds then 80 random bits, monotonic within a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_random = 0

    def next(self) -> str:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._last_random = secrets.randbits(_RANDOM_BITS)
            else:
                # Same millisecond (or the clock stepped back): count up so ids still sort.
                self._last_random += 1
                if self._last_random >> _RANDOM_BITS:
                    self._last_ms += 1
                    self._last_random = secrets.randbits(_RANDOM_BITS - 1)
            value = (self._last_ms << _RANDOM_BITS) | self._last_random
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


new_record_id = _RecordIds().next


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _client_host(scope: Mapping[str, Any]) -> str | None:
    client = scope.get("client")
    if isinstance(client, Sequence) and not isinstance(client, str) and client:
        host = client[0]
        return host if isinstance(host, str) else None
    return None


def _page_path(path: str) -> str:
    """The path alone, with control characters and lone surrogates percent-encoded.

    Query strings and fragments can carry personal data (emails, tokens). A real URL
    path never holds a raw control character (browsers send them percent-encoded),
    so encoding them keeps what the visitor's URL said in a form every store takes.
    """
    path = path.split("?", 1)[0].split("#", 1)[0][:MAX_PATH_LENGTH]
    if not all(_storable_char(ch) for ch in path):
        path = "".join(
            ch if _storable_char(ch) else quote(ch.encode("utf-8", "surrogatepass"), safe="")
            for ch in path
        )[:MAX_PATH_LENGTH]
        path = re.sub(r"%[0-9A-F]?\Z", "", path)  # an escape cut in half by the limit
    return path or "/"


def _storable_char(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cc", "Cs")


def _short_code(value: object, limit: int, *, upper: bool = False) -> str:
    """``value`` if it is a short code (ASCII letters, digits, ``-``, ``_``; at most ``limit``
    characters), else ``""``: unknown rather than an error, since a custom jurisdiction
    resolver supplies one and a decision must not fail over it. ``upper``: jurisdictions
    are ISO 3166 codes, kept in upper case so filters match however they were spelled.
    """
    if not isinstance(value, str) or len(value) > limit or not _CODE.fullmatch(value):
        return ""
    return value.upper() if upper else value


def _text_problem(value: object) -> str | None:
    """Why no store can keep ``value`` as text (without quoting it), or None."""
    if not isinstance(value, str):
        return f"expected text, not {type(value).__name__}"
    if "\x00" in value:
        return "NUL cannot be stored (PostgreSQL text refuses it)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"U+{ord(value[exc.start]):04X} is a lone surrogate, not valid UTF-8"
    return None


def check_storable(record: ConsentRecord) -> None:
    """Raise `RecordDataError` naming the first field no store could keep as it is.

    Every store runs this before writing, so SQLite and PostgreSQL accept the same
    records (a record SQLite took but PostgreSQL refuses would break a migration).
    """
    texts: list[tuple[str, object]] = [
        ("record_id", record.record_id),
        ("consent_id", record.consent_id),
        ("method", record.method),
        ("locale", record.locale),
        ("texts_hash", record.texts_hash),
        ("path", record.path),
        ("jurisdiction", record.jurisdiction),
        ("policy", record.policy),
        ("variant", record.variant),
        *(("granted", key) for key in record.granted),
        *(("denied", key) for key in record.denied),
        *(("services", key) for key in record.services),
    ]
    texts += [
        (name, value)
        for name, value in (("user_agent", record.user_agent), ("ip_prefix", record.ip_prefix))
        if value is not None
    ]
    for name, value in texts:
        problem = _text_problem(value)
        if problem is not None:
            raise RecordDataError(f"{name}: {problem}")
    revision = record.revision
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise RecordDataError(f"revision: expected a whole number, not {type(revision).__name__}")
    if not 0 <= revision <= _INT32_MAX:
        raise RecordDataError(f"revision: must lie between 0 and {_INT32_MAX}")
    moment = record.recorded_at
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise RecordDataError("recorded_at: expected a timezone-aware time")
    if not EARLIEST <= moment < LATEST:
        raise RecordDataError("recorded_at: outside 1970-01-01 .. 9999-12-30, where stores search")


def record_from_decision(
    decision: Decision,
    *,
    user_agent_length: int = USER_AGENT_LENGTH,
    now: datetime | None = None,
) -> tuple[ConsentRecord, str]:
    """The record for ``decision`` and the canonical JSON of the texts it was made on.

    The user agent and path are cleaned until every store can keep them, and a jurisdiction,
    policy or variant that is not a short code becomes ``""``; a field that cannot be made
    storable without changing what it means (the consent id, the texts) raises
    `RecordDataError`.
    """
    consent = decision.consent
    canonical = canonical_texts(decision.texts)
    problem = _text_problem(canonical)
    if problem is not None:
        raise RecordDataError(f"texts: {problem}")
    recorded_at = consent.given_at or now or datetime.now(timezone.utc)
    record = ConsentRecord(
        record_id=new_record_id(),
        consent_id=consent.id or "",
        recorded_at=recorded_at.astimezone(timezone.utc),
        revision=consent.revision,
        granted=tuple(sorted(consent.granted)),
        denied=tuple(sorted(consent.denied)),
        method=str(getattr(decision.method, "value", decision.method)),
        locale=decision.locale,
        texts_hash=texts_hash(canonical),
        path=_page_path(decision.path),
        user_agent=truncate_user_agent(_header(decision.scope, b"user-agent"), user_agent_length),
        ip_prefix=anonymise_ip(_client_host(decision.scope)),
        gpc=consent.gpc,
        services=tuple(sorted(consent.services)),
        jurisdiction=_short_code(decision.jurisdiction, JURISDICTION_LENGTH, upper=True),
        policy=_short_code(decision.policy, POLICY_LENGTH),
        variant=_short_code(decision.variant, VARIANT_LENGTH),
    )
    check_storable(record)
    return record, canonical
