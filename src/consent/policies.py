"""Consent policies: which model the law where the visitor is asks for, and what it allows
before anyone chooses.

Three models:

* ``opt_in``: nothing optional runs until the visitor agrees (GDPR and the ePrivacy
  Directive, UK PECR, ...). Categories or services named in ``exempt`` run from the start
  (a UK statistics setup under the Data (Use and Access) Act 2025, a CNIL-exempt audience
  measurement): the banner says so and one untick, or *Reject all*, switches them off.
* ``opt_out``: everything runs until the visitor opts out (US state laws). The first layer
  is a short notice with a "Your Privacy Choices" link, and Global Privacy Control
  (``Sec-GPC: 1``) opts the visitor out of sale and sharing on the very first response.
* ``notice``: inform only; the visitor may still switch things off.

A policy is a setting (`PolicySettings`); jurisdictions map to policy names
(`DEFAULT_JURISDICTIONS`, the README's table, with the law behind each row). The operator
remains responsible for the legal choice: the defaults encode the rules as they stood
when written and can be changed per jurisdiction.

`PolicyBook` is built once per middleware; per request it turns the consent the cookie
holds into the consent that applies (`PolicyBook.apply`), cached with the cookie state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from consent.categories import Category
from consent.purposes import PurposeMap
from consent.state import Consent

__all__ = [
    "BUILTIN_POLICIES",
    "DEFAULT_JURISDICTIONS",
    "EEA",
    "EU",
    "Policy",
    "PolicyBook",
    "PolicyModel",
    "PolicySettings",
    "check_jurisdiction_code",
]

logger = logging.getLogger("consent")

PolicyModel = Literal["opt_in", "opt_out", "notice"]

#: The 27 member states, and the territories CDNs report under their own ISO codes that
#: are part of the EU (Åland, the French outermost regions, Saint-Martin).
_MEMBER_STATES = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
_EU_TERRITORIES = "AX GF GP MQ RE YT MF"
EU = frozenset(f"{_MEMBER_STATES} {_EU_TERRITORIES}".split())
#: The European Economic Area: the EU plus Iceland, Liechtenstein and Norway.
EEA = EU | {"IS", "LI", "NO"}
GROUPS: Mapping[str, frozenset[str]] = {"EU": EU, "EEA": EEA}

_CODE = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")


def check_jurisdiction_code(code: str) -> str:
    """``code`` if it names a country (``US``), a subdivision (``US-CA``) or a group
    (``EU``, ``EEA``); else `ValueError`."""
    if code in GROUPS or _CODE.fullmatch(code):
        return code
    raise ValueError(
        f"{code!r} is not a jurisdiction: use an ISO 3166 country (`US`), a subdivision "
        "(`US-CA`), `EU` or `EEA`, in capitals"
    )


class PolicySettings(BaseModel):
    """One named consent policy (``[policies.<name>]`` in TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: PolicyModel = Field(
        default="opt_in",
        description="`opt_in` (asked before anything optional runs), `opt_out` (runs until "
        "the visitor opts out; Global Privacy Control opts out of sale/sharing) or `notice` "
        "(inform only).",
    )
    exempt: list[str] = Field(
        default_factory=list,
        description="Under `opt_in`: categories, purposes or services that run before a "
        "choice because the law exempts them (e.g. `analytics` for UK statistics or a "
        "CNIL-exempt audience measurement); the visitor can still switch them off. Never "
        "a sale/sharing category.",
    )


#: The policies every site has; ``[policies.<name>]`` adds one or replaces one of these.
BUILTIN_POLICIES: Mapping[str, PolicySettings] = {
    "opt_in": PolicySettings(model="opt_in"),
    # Its own name so a site can exempt statistics for UK visitors alone.
    "uk": PolicySettings(model="opt_in"),
    "us": PolicySettings(model="opt_out"),
    "notice": PolicySettings(model="notice"),
}

#: Jurisdiction to policy name. Anything not listed (and an unknown location) gets
#: ``default_policy``, ``opt_in`` unless changed: when unsure, ask first.
DEFAULT_JURISDICTIONS: Mapping[str, str] = {
    "EU": "opt_in",
    "EEA": "opt_in",
    "GB": "uk",
    "CH": "opt_in",
    "BR": "opt_in",
    "US": "us",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy ready for requests: exemptions resolved to category and service keys."""

    name: str
    model: PolicyModel
    exempt_categories: frozenset[str] = frozenset()
    exempt_services: frozenset[str] = frozenset()


class PolicyBook:
    """Every configured policy, the jurisdictions they apply to, and how each one shapes
    a visitor's consent. Built once; `apply` runs once per distinct cookie state."""

    def __init__(
        self,
        policies: Mapping[str, PolicySettings],
        jurisdictions: Mapping[str, str],
        default: str,
        *,
        categories: Iterable[Category],
        purposes: PurposeMap,
    ) -> None:
        categories = list(categories)
        self._required = next(c.key for c in categories if c.required)
        self._optional = frozenset(c.key for c in categories if not c.required)
        self._sale_or_sharing = frozenset(
            c.key for c in categories if not c.required and c.sale_or_sharing
        )
        self._service_category = dict(purposes.services)
        self.policies = {
            name: _resolve(name, spec, purposes, self._required, self._sale_or_sharing)
            for name, spec in policies.items()
        }
        missing = sorted({default, *jurisdictions.values()} - set(self.policies))
        if missing:
            raise ValueError(f"no policy named {', '.join(map(repr, missing))}")
        self.default = self.policies[default]
        self._by_code = {code: self.policies[name] for code, name in jurisdictions.items()}
        # A group's members, unless a member is listed itself (the more specific row wins).
        for group, members in GROUPS.items():
            if group in self._by_code:
                for member in members:
                    self._by_code.setdefault(member, self._by_code[group])

    def for_jurisdiction(self, code: str) -> Policy:
        """The policy for ``code`` (``US-CA``, then ``US``, then the default)."""
        policy = self._by_code.get(code)
        if policy is None and "-" in code:
            policy = self._by_code.get(code.partition("-")[0])
        return policy or self.default

    def apply(self, consent: Consent, policy: Policy, jurisdiction: str) -> Consent:
        """``consent`` as the cookie holds it, with what ``policy`` allows without a choice.

        Explicit choices always stand: a category the visitor denied stays off, one they
        granted stays on. Under ``opt_out`` and ``notice`` every other optional category
        runs, except a sale/sharing one while the browser sends Global Privacy Control.
        Under ``opt_in`` only the exempt ones run, until the visitor says no.
        """
        if policy.model == "opt_in" and consent.outside_opt_in:
            # Chosen where nobody had to ask: grants made there are no consent here (the
            # boxes stood ticked); refusals stand. The visitor is asked.
            consent = replace(
                consent,
                granted=frozenset((self._required,)),
                services=frozenset(),
                decided=False,
                previous=frozenset(),
            )
        undecided = self._optional - consent.granted - consent.denied
        if policy.model == "opt_in":
            default_categories = policy.exempt_categories & undecided
            default_services = frozenset(
                service
                for service in policy.exempt_services - consent.services
                if self._service_category.get(service) not in consent.denied
            )
        else:
            default_categories = undecided - (self._sale_or_sharing if consent.gpc else set())
            default_services = frozenset()
        defaults = default_categories | default_services
        return replace(
            consent,
            granted=consent.granted | default_categories,
            services=consent.services | default_services,
            defaults=defaults,
            jurisdiction=jurisdiction,
            policy=policy.name,
            model=policy.model,
        )

    def gpc_opt_out(self, consent: Consent) -> frozenset[str]:
        """The sale/sharing categories Global Privacy Control opts this visitor out of now
        (nothing under ``opt_in``, where nothing runs unasked anyway): they are then
        stored as denied, with a record saying the signal decided it."""
        if not consent.gpc or consent.model == "opt_in":
            return frozenset()
        return self._sale_or_sharing - consent.granted - consent.denied


def _resolve(
    name: str,
    spec: PolicySettings,
    purposes: PurposeMap,
    required: str,
    sale_or_sharing: frozenset[str],
) -> Policy:
    """``spec`` with its exemptions as keys; every mistake names the policy."""
    categories: set[str] = set()
    services: set[str] = set()
    for entry in spec.exempt:
        if entry in purposes.services:
            services.add(entry)
            category = purposes.services[entry]
        else:
            key = purposes.resolve(entry)
            if key is None or key.startswith("!"):
                raise ValueError(
                    f"policies.{name}.exempt: {entry!r} is no configured category, purpose "
                    "or service"
                )
            categories.add(key)
            category = key
        if category in sale_or_sharing:
            raise ValueError(
                f"policies.{name}.exempt: {entry!r} is a sale/sharing (advertising) "
                "purpose, which no law exempts from consent"
            )
    if spec.model != "opt_in" and (categories or services):
        raise ValueError(
            f"policies.{name}.exempt: only an `opt_in` policy has exemptions (under "
            f"{spec.model!r} everything runs until the visitor says no)"
        )
    categories.discard(required)
    return Policy(name, spec.model, frozenset(categories), frozenset(services))
