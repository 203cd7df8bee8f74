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
    "parse_choice",
    "safe_next",
    "single_values",
]


class Action(str, enum.Enum):
    """The three buttons of the banner (the wire values of ``action``)."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    SAVE = "save"


class Method(str, enum.Enum):
    """How a decision was given, as recorded for proof of consent."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOM = "custom"
    WITHDRAW = "withdraw"


class ChoiceError(ValueError):
    """The request body does not describe a valid choice (answered with 400)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A validated ``POST /_consent`` body."""

    action: Action
    categories: frozenset[str]
    next: str

    @classmethod
    def from_fields(cls, fields: Mapping[str, Sequence[str]], settings: ConsentSettings) -> Choice:
        """Validate parsed fields (form or JSON alike: each a list of strings)."""
        return parse_choice(single_values(fields), {c.key for c in settings.categories})


_METHOD_OF_ACTION = {
    Action.ACCEPT_ALL: Method.ACCEPT_ALL,
    Action.REJECT_ALL: Method.REJECT_ALL,
    Action.SAVE: Method.CUSTOM,
}


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


_BAD_ACTION = "`action` must be accept_all, reject_all or save"
_NO_ACTION = "exactly one `action` is required: accept_all, reject_all or save"
_BAD_CATEGORIES = "`categories` must be a list of strings"
_ACTIONS = frozenset(action.value for action in Action)
#: The most fields a body may hold (a form posts a checkbox per category).
MAX_CATEGORIES = 64
#: Form fields that may repeat (a checkbox per category); every other one is single.
_LIST_FIELDS = frozenset({"categories"})
#: What a form that repeats a single field is told (a JSON object cannot repeat a key).
_REPEATED = {"action": _NO_ACTION, "next": "`next` given more than once"}


class ChoiceBody(BaseModel):
    """A ``POST /_consent`` body; a form and a JSON object decode onto the same fields.

    Validate with ``context={"categories": <the configured keys>}``; `problem` turns a
    `ValidationError` into the message the 400 answer carries.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: str
    categories: list[str] = Field(default_factory=list, max_length=MAX_CATEGORIES)
    next: str | None = None

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

    def choice(self) -> Choice:
        """The validated choice; ``next`` made safe (`safe_next`)."""
        action = Action(self.action)
        # A form posts its ticked boxes whichever button was pressed: only `save` reads them.
        chosen = frozenset(self.categories) if action is Action.SAVE else frozenset()
        return Choice(action=action, categories=chosen, next=safe_next(self.next))

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
        if field == "categories":
            return "too many categories" if kind == "too_long" else _BAD_CATEGORIES
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


def parse_choice(data: Mapping[str, Any], category_keys: Collection[str]) -> Choice:
    """The choice ``data`` (a decoded form or JSON body) describes, or `ChoiceError`."""
    try:
        return ChoiceBody.model_validate(data, context={"categories": category_keys}).choice()
    except ValidationError as exc:
        raise ChoiceError(ChoiceBody.problem(exc)) from None


def apply_choice(
    settings: ConsentSettings,
    current: Consent,
    choice: Choice,
    *,
    now: datetime | None = None,
) -> tuple[Consent, Method]:
    """The visitor's new consent after ``choice``, and how it was given.

    Under Global Privacy Control, *Accept all* leaves the `gpc` categories off:
    only ticking them one by one (action ``save``) switches them on.
    """
    optional = settings.optional_keys
    required = settings.required_category.key
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
    denied = frozenset(optional) - granted
    was_granted = current.granted - {required}
    method = Method.WITHDRAW if was_granted - granted else _METHOD_OF_ACTION[choice.action]
    consent = Consent(
        id=current.id or new_consent_id(),
        revision=settings.revision,
        granted=granted | {required},
        denied=denied,
        decided=True,
        given_at=now or utcnow(),
        gpc=current.gpc,
        names=current.names,
    )
    return consent, method
