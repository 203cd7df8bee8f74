"""The proof-of-consent record and the privacy-preserving reductions it is built from.

Nothing here touches a store: a `ConsentRecord` is made from a `Decision` in
memory, with the client address already cut to a network prefix, the user
agent truncated and the banner texts reduced to a hash.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consent.endpoints import Decision

__all__ = [
    "IPV4_PREFIX",
    "IPV6_PREFIX",
    "MAX_PATH_LENGTH",
    "USER_AGENT_LENGTH",
    "ConsentRecord",
    "anonymise_ip",
    "canonical_texts",
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

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One decision as proof of consent: what was chosen, when, how and on which wording.

    ``record_id`` is a sortable, unique id assigned when the record is made;
    stores ignore a record whose id they already hold, so redelivery is safe.
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentRecord:
        """The inverse of `to_dict`."""
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

    IPv4-mapped IPv6 addresses (``::ffff:203.0.113.7``) count as IPv4, so a
    dual-stack socket does not leak a full IPv4 address inside a /48.
    """
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


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
    # Query strings and fragments can carry personal data (emails, tokens): keep the path only.
    return path.split("?", 1)[0].split("#", 1)[0][:MAX_PATH_LENGTH] or "/"


def record_from_decision(
    decision: Decision,
    *,
    user_agent_length: int = USER_AGENT_LENGTH,
    now: datetime | None = None,
) -> tuple[ConsentRecord, str]:
    """The record for ``decision`` and the canonical JSON of the texts it was made on."""
    consent = decision.consent
    canonical = canonical_texts(decision.texts)
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
    )
    return record, canonical
