"""The consent logic: what each button means, GPC, withdrawal, safe `next`."""

from __future__ import annotations

import pytest

from consent.decision import Action, Choice, ChoiceError, Method, apply_choice, safe_next
from consent.state import Consent
from tests.support import make_settings

SETTINGS = make_settings()


def choose(action: str, *categories: str, next_path: str | None = None) -> Choice:
    fields: dict[str, list[str]] = {"action": [action], "categories": list(categories)}
    if next_path is not None:
        fields["next"] = [next_path]
    return Choice.from_fields(fields, SETTINGS)


def undecided(*, gpc: bool = False) -> Consent:
    return Consent.undecided("necessary", 1, gpc=gpc)


def test_accept_all_grants_every_optional_category() -> None:
    consent, method = apply_choice(SETTINGS, undecided(), choose("accept_all"))
    assert consent.granted == {"necessary", "preferences", "analytics", "marketing"}
    assert consent.denied == set()
    assert consent.decided
    assert consent.id
    assert method is Method.ACCEPT_ALL


def test_reject_all_denies_every_optional_category() -> None:
    consent, method = apply_choice(SETTINGS, undecided(), choose("reject_all"))
    assert consent.granted == {"necessary"}
    assert consent.denied == {"preferences", "analytics", "marketing"}
    assert method is Method.REJECT_ALL


def test_save_grants_exactly_the_chosen_set() -> None:
    consent, method = apply_choice(SETTINGS, undecided(), choose("save", "analytics"))
    assert consent.granted == {"necessary", "analytics"}
    assert consent.denied == {"preferences", "marketing"}
    assert method is Method.CUSTOM


def test_ticked_boxes_are_ignored_unless_saving() -> None:
    consent, _ = apply_choice(SETTINGS, undecided(), choose("reject_all", "analytics"))
    assert consent.granted == {"necessary"}


def test_necessary_in_a_saved_set_changes_nothing() -> None:
    consent, _ = apply_choice(SETTINGS, undecided(), choose("save", "necessary"))
    assert consent.granted == {"necessary"}


def test_withdrawal_is_recorded_as_such_and_keeps_the_id() -> None:
    first, _ = apply_choice(SETTINGS, undecided(), choose("accept_all"))
    second, method = apply_choice(SETTINGS, first, choose("save", "analytics"))
    assert method is Method.WITHDRAW
    assert second.id == first.id
    assert second.granted == {"necessary", "analytics"}


def test_gpc_keeps_sale_and_sharing_off_on_accept_all() -> None:
    consent, _ = apply_choice(SETTINGS, undecided(gpc=True), choose("accept_all"))
    assert not consent.allows("marketing")
    assert consent.allows("analytics")
    assert "marketing" in consent.denied


def test_gpc_yields_to_an_explicit_switch() -> None:
    consent, _ = apply_choice(SETTINGS, undecided(gpc=True), choose("save", "marketing"))
    assert consent.allows("marketing")


def test_gpc_ignored_when_switched_off() -> None:
    settings = make_settings(honour_gpc=False)
    consent, _ = apply_choice(
        settings, undecided(gpc=True), Choice(Action.ACCEPT_ALL, frozenset(), "/")
    )
    assert consent.allows("marketing")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one `action`"),
        ({"action": ["accept_all", "reject_all"]}, "exactly one `action`"),
        ({"action": ["yes"]}, "`action` must be"),
        ({"action": ["save"], "categories": ["cookies"]}, "unknown category: 'cookies'"),
        ({"action": ["save"], "next": ["/a", "/b"]}, "more than once"),
        ({"action": ["save"], "csrf": ["x"]}, "unknown field: csrf"),
    ],
)
def test_invalid_choices_are_named(fields: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ChoiceError, match=message):
        Choice.from_fields(fields, SETTINGS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/article/1?x=1#top", "/article/1?x=1#top"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/tab\there", "/"),
        ("relative/path", "/"),
        ("/" + "a" * 5000, "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def _runtime_consent(granted: set[str]) -> Consent:
    from consent.runtime import ConsentRuntime

    runtime = ConsentRuntime(SETTINGS)
    optional = set(SETTINGS.optional_keys)
    return Consent(
        id="abc",
        revision=1,
        granted=frozenset(granted | {"necessary"}),
        denied=frozenset(optional - granted),
        decided=True,
        names=runtime.purposes,
    )


def test_a_plain_form_switching_a_category_off_switches_its_services_off() -> None:
    # Without JavaScript nothing unticks the services shown ticked along with Marketing.
    current = _runtime_consent({"marketing", "analytics"})
    fields = {
        "action": ["save"],
        "categories": ["analytics"],
        "services": ["meta-pixel", "google-ads", "youtube"],
    }
    choice = Choice.from_fields(fields, SETTINGS, services=current.names.services)  # type: ignore[union-attr]
    consent, method = apply_choice(SETTINGS, current, choice)
    assert consent.services == {"youtube"}  # chosen one by one: Preferences was off
    assert not consent.allows("meta-pixel")
    assert method is Method.WITHDRAW


def test_acknowledging_a_notice_grants_and_denies_nothing() -> None:
    fields = {"action": ["acknowledge"], "variant": ["notice"]}
    choice = Choice.from_fields(fields, SETTINGS)
    consent, method = apply_choice(SETTINGS, undecided(), choice)
    assert (consent.granted, consent.denied) == ({"necessary"}, set())
    assert consent.acknowledged
    assert not consent.decided
    assert method is Method.ACKNOWLEDGE
    assert choice.variant == "notice"


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ChoiceError, match="variant"):
        Choice.from_fields({"action": ["save"], "variant": ["popup"]}, SETTINGS)
