"""The per-request `Consent` value and the signed cookie that carries it.

Cookie payload (before signing): ``1|<id>|<revision>|<granted>|<denied>`` where the
two sets are category keys joined by ``+``, then optionally ``|<services>`` (short codes
of services granted one by one) and ``|<flags>``: ``a`` (an opt-out notice was
acknowledged), ``o`` (chosen where the law does not ask for opt-in consent, see
`Consent.outside_opt_in`).
itsdangerous appends a timestamp and an HMAC-SHA256 signature salted for this purpose
only. Every value that does not verify reads as *undecided*: never an exception.

The cookie holds only what the visitor chose. What the law where they are allows
without a choice (an opt-out state's defaults, an exempt analytics service) is added
per request by `consent.policies`, and never written back: the same visitor in the EU
the next day is asked again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from itsdangerous import BadSignature, BadTimeSignature, SignatureExpired, TimestampSigner

from consent.cache import BoundedCache
from consent.purposes import PurposeMap
from consent.services import ServiceCatalogue

__all__ = ["Consent", "ConsentCodec", "new_consent_id"]

logger = logging.getLogger("consent")

#: Signing purpose: a signature made for anything else never verifies here.
SALT = "consent.cookie.v1"
FORMAT_VERSION = "1"
#: Values longer than this are not even verified (browsers cap a cookie at 4 KB).
MAX_COOKIE_VALUE_LENGTH = 1024
#: At most this many cookies of our name are read from one request (a flood costs nothing).
MAX_DUPLICATE_COOKIES = 4
#: Flags in the payload's last field: the visitor dismissed an opt-out notice; the choice
#: was made outside an opt-in policy.
ACKNOWLEDGED_FLAG = "a"
OUTSIDE_OPT_IN_FLAG = "o"

LOG_COOKIE_EXPIRED = "consent cookie expired (signed %s); visitor is undecided"
LOG_COOKIE_INVALID = "consent cookie rejected (%s); visitor is undecided"


def new_consent_id() -> str:
    """A fresh random consent id (96 bits, URL- and cookie-safe)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class Consent:
    """What one visitor has allowed, as read from their consent cookie for this request.

    ``granted`` always holds the required category. ``decided`` is true only
    when every configured optional category was decided under the current
    policy revision. ``previous`` keeps the optional grants of an older revision
    (for pre-filling the banner); they allow nothing.
    """

    id: str | None
    revision: int
    granted: frozenset[str]
    denied: frozenset[str]
    decided: bool
    given_at: datetime | None = None
    gpc: bool = False
    previous: frozenset[str] = field(default_factory=frozenset)
    #: Reads names other than configured keys (a purpose, ``statistics``); reports unknown ones.
    names: PurposeMap | None = field(default=None, compare=False, repr=False)
    #: Services granted one by one (their category is not granted as a whole).
    services: frozenset[str] = field(default_factory=frozenset)
    #: Where the visitor is (``"US-CA"``, ``"DE"``; ``""``: unknown), see `consent.jurisdictions`.
    jurisdiction: str = ""
    #: The policy applied there (a name from `ConsentSettings.policies`) and its model:
    #: ``opt_in`` (asked first), ``opt_out`` (running until they opt out) or ``notice``.
    policy: str = ""
    model: str = "opt_in"
    #: The category and service keys in ``granted``/``services`` that the policy allows
    #: without a choice (opt-out defaults, exempt analytics): shown, never stored.
    defaults: frozenset[str] = field(default_factory=frozenset)
    #: The visitor dismissed an opt-out notice ("OK"): it is not shown again.
    acknowledged: bool = False
    #: The choice was made under an opt-out or notice policy (boxes shown ticked because
    #: everything ran): its grants are no consent where the law asks for one (a pre-ticked
    #: box is none under the GDPR, CJEU C-673/17 Planet49); its refusals count everywhere.
    outside_opt_in: bool = False

    @property
    def pending(self) -> bool:
        """Whether this visitor still gets the banner (opt-in) or the notice (opt-out)."""
        if self.decided:
            return False
        return self.model == "opt_in" or not self.acknowledged

    @property
    def chosen(self) -> frozenset[str]:
        """The optional categories the visitor granted themselves (what the cookie keeps)."""
        return self.granted - self.defaults

    @property
    def chosen_services(self) -> frozenset[str]:
        """The services the visitor allowed one by one themselves."""
        return self.services - self.defaults

    @property
    def allowed(self) -> frozenset[str]:
        """Every category and service key this visitor allows: the granted categories, the
        services granted one by one, and each service of a granted category."""
        if self.names is None:
            return self.granted | self.services
        return self.names.allowed(self.granted, self.services)

    def allows(self, key: str) -> bool:
        """Whether category or service ``key`` is granted for this request.

        ``key`` may also be a purpose or a common name for one (``allows("analytics")``
        on a site whose category is ``statistics``). A name that means nothing here is
        logged once (raises `UnknownCategoryError` with ``strict_categories``): a typo
        such as ``"analytic"`` would otherwise read as "declined" forever.
        """
        if key in self.granted or key in self.services:
            return True
        if self.names is None:
            return False
        resolved = self.names.resolve(key)
        return resolved is not None and resolved in self.allowed

    @classmethod
    def undecided(
        cls,
        required_key: str,
        revision: int,
        *,
        gpc: bool = False,
        consent_id: str | None = None,
        previous: Iterable[str] = (),
        names: PurposeMap | None = None,
        services: Iterable[str] = (),
    ) -> Consent:
        """The state of a visitor who has not chosen (yet, or again); ``services`` are the
        ones they allowed one by one all the same ("Always allow YouTube")."""
        return cls(
            id=consent_id,
            revision=revision,
            granted=frozenset((required_key,)),
            denied=frozenset(),
            decided=False,
            gpc=gpc,
            previous=frozenset(previous),
            names=names,
            services=frozenset(services),
        )


@dataclass(frozen=True, slots=True)
class _Verified:
    """A cookie value that verified: decoded once, reused while the cache holds it."""

    consent: Consent
    consent_gpc: Consent
    expires_at: float


class ConsentCodec:
    """Signs and verifies consent cookies; caches verified values for the hot path."""

    _CACHE_LIMIT = 2048

    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: int,
        revision: int,
        required_key: str,
        optional_keys: Sequence[str],
        names: PurposeMap | None = None,
        services: ServiceCatalogue | None = None,
    ) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        # itsdangerous signs with the *last* key and verifies with all of them.
        self._signer = TimestampSigner(
            list(reversed(secret_keys)),
            salt=SALT,
            digest_method=hashlib.sha256,
        )
        self.max_age = max_age
        self._revision = revision
        self._required = required_key
        self._optional = frozenset(optional_keys)
        self._names = names
        self._services = services
        self._cache: BoundedCache[str, _Verified] = BoundedCache(self._CACHE_LIMIT)
        # A visitor without a valid cookie: immutable, so one value serves every such request.
        self._nobody = {
            gpc: Consent.undecided(required_key, revision, gpc=gpc, names=names)
            for gpc in (False, True)
        }

    def dumps(self, consent: Consent) -> str:
        """The signed cookie value for ``consent`` (which must carry an id)."""
        if consent.id is None:
            raise ValueError("a stored consent needs an id")
        optional_granted = sorted(consent.chosen & self._optional)
        payload = "|".join(
            (
                FORMAT_VERSION,
                consent.id,
                str(consent.revision),
                "+".join(optional_granted),
                "+".join(sorted(consent.denied & self._optional)),
            )
        )
        services = consent.chosen_services
        flags = (ACKNOWLEDGED_FLAG if consent.acknowledged else "") + (
            OUTSIDE_OPT_IN_FLAG if consent.outside_opt_in else ""
        )
        if (services and self._services is not None) or flags:
            # Only services granted one by one; a granted category covers its own.
            codes = self._services.codes(services) if self._services is not None else ()
            payload += "|" + "+".join(codes)
        if flags:
            payload += "|" + flags
        return self._signer.sign(payload).decode("ascii")

    def loads(self, value: str | None, *, gpc: bool = False) -> Consent:
        """The `Consent` a cookie value stands for; undecided for anything that does not verify."""
        if value:
            cached = self._cache.get(value)
            if cached is not None and cached.expires_at > time.time():
                return cached.consent_gpc if gpc else cached.consent
            verified = self._verify(value)
            if verified is not None:
                self._cache.set(value, verified)
                return verified.consent_gpc if gpc else verified.consent
        return self._nobody[gpc]

    def loads_many(self, values: Sequence[str], *, gpc: bool = False) -> Consent:
        """The `Consent` of several cookies of our name arriving at once: the least they grant.

        A sibling subdomain can plant a second cookie of the same name (cookie tossing),
        e.g. a valid one it obtained by accepting everything itself. The browser sends both
        and no server can tell which is the visitor's own, so the visitor gets only what
        every one of them grants, and is undecided unless every one of them is decided.
        """
        if len(values) <= 1:
            return self.loads(values[0] if values else None, gpc=gpc)
        if len(values) > MAX_DUPLICATE_COOKIES:
            return self._nobody[gpc]
        consents = [self.loads(value, gpc=gpc) for value in values]
        granted = frozenset.intersection(*(c.granted for c in consents))
        services = frozenset.intersection(*(c.services for c in consents))
        consent_id = next((c.id for c in consents if c.id is not None), None)
        if not all(c.decided for c in consents):
            previous = frozenset.intersection(*(c.granted | c.previous for c in consents))
            undecided = Consent.undecided(
                self._required,
                self._revision,
                gpc=gpc,
                consent_id=consent_id,
                previous=previous - {self._required},
                names=self._names,
                services=services,
            )
            # Dismissed only if every copy says so (each one could be planted).
            acknowledged = all(c.acknowledged for c in consents)
            outside = any(c.outside_opt_in for c in consents)
            return dataclasses.replace(undecided, acknowledged=acknowledged, outside_opt_in=outside)
        given = [c.given_at for c in consents if c.given_at is not None]
        return Consent(
            id=consent_id,
            revision=self._revision,
            granted=granted,
            denied=self._optional - granted,
            decided=True,
            given_at=min(given) if given else None,
            gpc=gpc,
            names=self._names,
            services=services,
            outside_opt_in=any(c.outside_opt_in for c in consents),
        )

    def _verify(self, value: str) -> _Verified | None:
        if len(value) > MAX_COOKIE_VALUE_LENGTH:
            logger.debug(LOG_COOKIE_INVALID, "oversized")
            return None
        try:
            raw, signed_at = self._signer.unsign(value, max_age=self.max_age, return_timestamp=True)
        except SignatureExpired as exc:
            logger.debug(LOG_COOKIE_EXPIRED, exc.date_signed)
            return None
        except BadTimeSignature:
            logger.debug(LOG_COOKIE_INVALID, "bad timestamp or signature")
            return None
        except BadSignature:
            logger.debug(LOG_COOKIE_INVALID, "bad signature")
            return None
        except Exception:
            logger.debug(LOG_COOKIE_INVALID, "unreadable", exc_info=True)
            return None
        parsed = self._parse(raw)
        if parsed is None:
            logger.debug(LOG_COOKIE_INVALID, "unparsable payload")
            return None
        consent_id, revision, granted, denied, services, flags = parsed
        given_at = signed_at.astimezone(timezone.utc)
        if revision != self._revision:
            consent = Consent.undecided(
                self._required,
                self._revision,
                consent_id=consent_id,
                previous=granted,
                names=self._names,
            )
            # A refusal outlasts a new revision (an opt-out holds until the visitor opts in).
            consent = dataclasses.replace(
                consent, denied=denied, outside_opt_in=OUTSIDE_OPT_IN_FLAG in flags
            )
        else:
            consent = Consent(
                id=consent_id,
                revision=revision,
                granted=granted | {self._required},
                denied=denied,
                decided=self._optional <= granted | denied,
                given_at=given_at,
                names=self._names,
                services=services,
                acknowledged=ACKNOWLEDGED_FLAG in flags,
                outside_opt_in=OUTSIDE_OPT_IN_FLAG in flags,
            )
        return _Verified(
            consent=consent,
            consent_gpc=_with_gpc(consent),
            expires_at=signed_at.timestamp() + self.max_age,
        )

    def _parse(
        self, raw: bytes
    ) -> tuple[str, int, frozenset[str], frozenset[str], frozenset[str], str] | None:
        try:
            text = raw.decode("ascii")
            fields = text.split("|")
            if len(fields) == 5:  # written before services existed, or none granted
                fields.append("")
            if len(fields) == 6:  # no flags
                fields.append("")
            version, consent_id, revision_text, granted_text, denied_text, codes, flags = fields
            revision = int(revision_text)
        except ValueError:
            return None
        if version != FORMAT_VERSION or not consent_id or not revision_text.isdigit():
            return None
        granted = frozenset(granted_text.split("+")) & self._optional if granted_text else None
        denied = frozenset(denied_text.split("+")) & self._optional if denied_text else None
        granted = granted or frozenset()
        denied = (denied or frozenset()) - granted
        services: frozenset[str] = frozenset()
        if codes and self._services is not None:
            services = self._services.keys_of_codes(codes.split("+"))
        return consent_id, revision, granted, denied, services, flags


def _with_gpc(consent: Consent) -> Consent:
    # Same choice, flagged as arriving with Sec-GPC (the flag alone changes no grant:
    # grants made explicitly stand; see decision.py for how GPC shapes new choices).
    return dataclasses.replace(consent, gpc=True)


def utcnow() -> datetime:
    """Now, in UTC (a function so tests can tell what time a decision got)."""
    return datetime.now(timezone.utc)
