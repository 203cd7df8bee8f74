"""A visitor's choice: validated from a request body, then turned into a new `Consent`.

This is the consent logic proper, kept free of HTTP so it can be tested alone.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from consent.settings import ConsentSettings
from consent.state import Consent, new_consent_id, utcnow

__all__ = ["Action", "Choice", "ChoiceError", "Method", "apply_choice", "safe_next"]


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
        unknown = sorted(set(fields) - {"action", "categories", "next"})
        if unknown:
            raise ChoiceError(f"unknown field: {', '.join(unknown)}")
        actions = fields.get("action", [])
        if len(actions) != 1:
            raise ChoiceError("exactly one `action` is required: accept_all, reject_all or save")
        try:
            action = Action(actions[0])
        except ValueError:
            raise ChoiceError("`action` must be accept_all, reject_all or save") from None
        chosen = fields.get("categories", [])
        known = {c.key for c in settings.categories}
        unknown_keys = sorted({key for key in chosen if key not in known})
        if unknown_keys:
            shown = ", ".join(repr(k[:40]) for k in unknown_keys[:5])
            raise ChoiceError(f"unknown category: {shown}")
        # A form posts its ticked boxes whichever button was pressed: only `save` reads them.
        if action is not Action.SAVE:
            chosen = []
        nexts = fields.get("next", [])
        if len(nexts) > 1:
            raise ChoiceError("`next` given more than once")
        return cls(
            action=action,
            categories=frozenset(chosen),
            next=safe_next(nexts[0] if nexts else None),
        )


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
            {c.key for c in settings.categories if c.gpc}
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
    )
    return consent, method
