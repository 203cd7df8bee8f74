"""A visitor's choice: validated from a request body, then turned into a new `Consent`.

This is the consent logic proper, kept free of HTTP so it can be tested alone.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from consent.settings import ConsentSettings
from consent.state import Consent, new_consent_id, utcnow

__all__ = [
    "Action",
    "Choice",
    "ChoiceBody",
    "ChoiceError",
    "Method",
    "apply_choice",
    "gpc_opt_out",
    "parse_choice",
    "safe_next",
    "single_values",
]


class Action(str, enum.Enum):
    """The banner's three buttons, and a placeholder's *Always allow <service>* (the wire
    values of ``action``)."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    SAVE = "save"
    ALLOW_SERVICE = "allow_service"
    #: The opt-out notice's "OK": seen, nothing granted or denied.
    ACKNOWLEDGE = "acknowledge"


class Method(str, enum.Enum):
    """How a decision was given, as recorded for proof of consent."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOM = "custom"
    WITHDRAW = "withdraw"
    ALLOW_SERVICE = "allow_service"
    #: The opt-out notice read and dismissed ("OK"): nothing granted, nothing denied.
    ACKNOWLEDGE = "acknowledge"
    #: Global Privacy Control alone opted the visitor out of sale/sharing (no click).
    GPC = "gpc"


class ChoiceError(ValueError):
    """The request body does not describe a valid choice (answered with 400)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A validated ``POST /_consent`` body."""

    action: Action
    categories: frozenset[str]
    next: str
    services: frozenset[str] = frozenset()
    #: What the visitor answered (`VARIANTS`), as the form says; ``""`` for a script.
    variant: str = ""

    @classmethod
    def from_fields(
        cls,
        fields: Mapping[str, Sequence[str]],
        settings: ConsentSettings,
        services: Collection[str] = (),
    ) -> Choice:
        """Validate parsed fields (form or JSON alike: each a list of strings)."""
        return parse_choice(single_values(fields), {c.key for c in settings.categories}, services)


_METHOD_OF_ACTION = {
    Action.ACCEPT_ALL: Method.ACCEPT_ALL,
    Action.REJECT_ALL: Method.REJECT_ALL,
    Action.SAVE: Method.CUSTOM,
    Action.ALLOW_SERVICE: Method.ALLOW_SERVICE,
    Action.ACKNOWLEDGE: Method.ACKNOWLEDGE,
}
#: The forms that post choices, each naming itself in a hidden ``variant`` field.
VARIANTS = frozenset({"banner", "notice", "preferences", "placeholder"})


#: Backslashes (read as "/" by browsers: "/\\evil.example") and control characters.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(value: str | None) -> str:
    """``value`` if it is a same-site path, else ``/`` (never an open redirect)."""
    if not value or len(value) > 2048 or not value.startswith("/"):
        return "/"
    if value.startswith("//") or _UNSAFE_IN_NEXT.search(value):
        return "/"
    try:
        value.encode("utf-8")  # a lone surrogate (from JSON) can be stored nowhere
    except UnicodeEncodeError:
        return "/"
    return value


_BAD_ACTION = "`action` must be accept_all, reject_all, save, allow_service or acknowledge"
_NO_ACTION = (
    "exactly one `action` is required: accept_all, reject_all, save, allow_service or acknowledge"
)
_BAD_CATEGORIES = "`categories` must be a list of strings"
_ACTIONS = frozenset(action.value for action in Action)
#: The most fields a body may hold (a form posts a checkbox per category).
MAX_CATEGORIES = 64
#: Form fields that may repeat (a checkbox per category or service); the rest are single.
_LIST_FIELDS = frozenset({"categories", "services"})
#: What a form that repeats a single field is told (a JSON object cannot repeat a key).
_REPEATED = {"action": _NO_ACTION, "next": "`next` given more than once"}
_BAD_VARIANT = f"`variant` must be one of {', '.join(sorted(VARIANTS))}"


class ChoiceBody(BaseModel):
    """A ``POST /_consent`` body; a form and a JSON object decode onto the same fields.

    Validate with ``context={"categories": <the configured keys>}``; `problem` turns a
    `ValidationError` into the message the 400 answer carries.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: str
    categories: list[str] = Field(default_factory=list, max_length=MAX_CATEGORIES)
    services: list[str] = Field(default_factory=list, max_length=MAX_CATEGORIES)
    service: str | None = None
    next: str | None = None
    variant: str | None = None

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, value: str | None) -> str | None:
        if value is not None and value not in VARIANTS:
            raise ValueError(_BAD_VARIANT)
        return value

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in _ACTIONS:
            raise ValueError(_BAD_ACTION)
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known: Collection[str] = (info.context or {}).get("categories", ())
        unknown = sorted({key for key in value if key not in known})
        if unknown:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5])
            raise ValueError(f"unknown category: {shown}")
        return value

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known: Collection[str] = (info.context or {}).get("services", ())
        unknown = sorted({key for key in value if key not in known})
        if unknown:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5])
            raise ValueError(f"unknown service: {shown}")
        return value

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in (info.context or {}).get("services", ()):
            raise ValueError(f"unknown service: {value[:40]!r}")
        return value

    def choice(self) -> Choice:
        """The validated choice; ``next`` made safe (`safe_next`)."""
        action = Action(self.action)
        # A form posts its ticked boxes whichever button was pressed: only `save` reads them.
        chosen = frozenset(self.categories) if action is Action.SAVE else frozenset()
        services = frozenset(self.services) if action is Action.SAVE else frozenset()
        if action is Action.ALLOW_SERVICE:
            if self.service is None:
                raise ChoiceError("`allow_service` needs one `service`")
            services = frozenset((self.service,))
        return Choice(
            action=action,
            categories=chosen,
            next=safe_next(self.next),
            services=services,
            variant=self.variant or "",
        )

    @staticmethod
    def problem(error: ValidationError) -> str:
        """What a 400 answer says about ``error`` (its first problem, unknown fields first)."""
        problems = error.errors(include_url=False)
        extra = sorted(str(p["loc"][0])[:40] for p in problems if p["type"] == "extra_forbidden")
        if extra:
            return f"unknown field: {', '.join(extra)}"
        first = problems[0]
        if not first["loc"]:
            return "JSON body must be an object"
        field, kind = first["loc"][0], first["type"]
        if kind == "value_error":
            return str(first["ctx"]["error"])
        if kind == "missing":
            return _NO_ACTION
        if field in ("categories", "services"):
            too_many = f"too many {field}"
            return too_many if kind == "too_long" else f"`{field}` must be a list of strings"
        return f"`{field}` must be a string"


def single_values(fields: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Form fields (each a list of values) as `ChoiceBody` input: one value per single field."""
    data: dict[str, Any] = {}
    for key, values in fields.items():
        if key in _LIST_FIELDS or key not in ChoiceBody.model_fields:
            data[key] = list(values)
        elif len(values) == 1:
            data[key] = values[0]
        else:
            raise ChoiceError(_REPEATED.get(key, f"`{key}` given more than once"))
    return data


def parse_choice(
    data: Mapping[str, Any], category_keys: Collection[str], service_keys: Collection[str] = ()
) -> Choice:
    """The choice ``data`` (a decoded form or JSON body) describes, or `ChoiceError`."""
    context = {"categories": category_keys, "services": service_keys}
    try:
        return ChoiceBody.model_validate(data, context=context).choice()
    except ValidationError as exc:
        raise ChoiceError(ChoiceBody.problem(exc)) from None


def apply_choice(
    settings: ConsentSettings,
    current: Consent,
    choice: Choice,
    *,
    now: datetime | None = None,
) -> tuple[Consent, Method]:
    """The visitor's new consent after ``choice`` (as the cookie keeps it: what the policy
    allows without a choice is added per request), and how it was given.

    Under Global Privacy Control, *Accept all* leaves the `gpc` categories off:
    only ticking them one by one (action ``save``) switches them on.

    *Always allow <service>* (``allow_service``) grants that one service and keeps
    everything else as it was, undecided categories included (the banner still asks);
    the opt-out notice's *OK* (``acknowledge``) changes nothing but that it was seen.

    A withdrawal is judged against what ran before (``current.granted``, defaults of an
    opt-out policy included): switching off what ran reloads the page.
    """
    optional = settings.optional_keys
    required = settings.required_category.key
    given_at = now or utcnow()
    consent_id = current.id or new_consent_id()
    if choice.action in (Action.ALLOW_SERVICE, Action.ACKNOWLEDGE):
        acknowledged = current.acknowledged or choice.action is Action.ACKNOWLEDGE
        outside = current.outside_opt_in or current.model != "opt_in"
        consent = Consent(
            id=consent_id,
            revision=settings.revision,
            granted=current.chosen | {required},
            denied=current.denied,
            decided=current.decided,
            given_at=given_at,
            gpc=current.gpc,
            names=current.names,
            services=current.chosen_services | choice.services,
            acknowledged=acknowledged,
            outside_opt_in=outside,
        )
        return consent, _METHOD_OF_ACTION[choice.action]
    services = choice.services  # one by one, with `save`; none with accept/reject all
    if choice.action is Action.ACCEPT_ALL:
        gpc_off = (
            {c.key for c in settings.categories if c.sale_or_sharing}
            if current.gpc and settings.honour_gpc
            else set()
        )
        granted = frozenset(k for k in optional if k not in gpc_off)
    elif choice.action is Action.REJECT_ALL:
        granted = frozenset()
    else:
        granted = frozenset(k for k in optional if k in choice.categories)
        services -= _ticked_along(current, granted)
    denied = frozenset(optional) - granted
    was_granted = current.granted - {required}
    withdrawn = was_granted - granted or current.services - services - _covered(granted, current)
    method = Method.WITHDRAW if withdrawn else _METHOD_OF_ACTION[choice.action]
    consent = Consent(
        id=consent_id,
        revision=settings.revision,
        granted=granted | {required},
        denied=denied,
        decided=True,
        given_at=given_at,
        gpc=current.gpc,
        names=current.names,
        services=services - _covered(granted, current),
        acknowledged=current.acknowledged,
        # Where nothing had to be asked, the boxes stood ticked: no consent elsewhere.
        outside_opt_in=current.model != "opt_in",
    )
    return consent, method


def gpc_opt_out(
    settings: ConsentSettings,
    current: Consent,
    categories: frozenset[str],
    *,
    now: datetime | None = None,
) -> Consent:
    """The consent to store when Global Privacy Control opts the visitor out of the
    sale/sharing ``categories`` under an opt-out policy (`consent.policies`).

    Stored as denied, so the opt-out holds when the signal is gone (CCPA: a business
    honours an opt-out until the consumer opts in again). Everything else stays as the
    visitor left it: undecided categories stay undecided.
    """
    optional = frozenset(settings.optional_keys)
    denied = current.denied | categories
    granted = current.chosen - categories
    return Consent(
        id=current.id or new_consent_id(),
        revision=settings.revision,
        granted=granted | {settings.required_category.key},
        denied=denied,
        decided=optional <= granted | denied,
        given_at=now or utcnow(),
        gpc=True,
        names=current.names,
        services=current.chosen_services,
        acknowledged=current.acknowledged,
        outside_opt_in=True,
    )


def _ticked_along(current: Consent, granted: frozenset[str]) -> frozenset[str]:
    """Services of a category that ran and is now switched off: the form showed them ticked
    along with it, so a plain form (no JavaScript to untick them) still posts them. They
    carry no choice of their own: switching the category off switches them off too."""
    names = current.names
    if names is None:
        return frozenset()
    return frozenset(
        service
        for service, category in names.services.items()
        if category in current.granted and category not in granted
    )


def _covered(granted: frozenset[str], current: Consent) -> frozenset[str]:
    """The services that categories in ``granted`` cover (kept once, as the category)."""
    names = current.names
    if names is None:
        return frozenset()
    return frozenset(s for s, category in names.services.items() if category in granted)
