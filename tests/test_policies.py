"""Policies: what each consent model allows before a choice, and what settings refuse."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from consent.policies import EEA, EU, PolicyBook, PolicySettings
from consent.runtime import ConsentRuntime
from consent.state import Consent
from tests.support import make_settings


def book(**overrides: object) -> tuple[ConsentRuntime, PolicyBook]:
    runtime = ConsentRuntime(make_settings(**overrides))
    return runtime, runtime.policies


def undecided(runtime: ConsentRuntime, *, gpc: bool = False) -> Consent:
    return runtime.codec.loads(None, gpc=gpc)


def test_unknown_and_unlisted_places_are_asked_first() -> None:
    _, policies = book()
    for code in ("", "JP", "IN", "ZA", "CA"):
        assert policies.for_jurisdiction(code).model == "opt_in", code


@pytest.mark.parametrize(
    ("code", "policy"),
    [
        ("DE", "opt_in"),
        ("FR", "opt_in"),
        ("RE", "opt_in"),  # Réunion: EU, under its own ISO code
        ("NO", "opt_in"),  # EEA
        ("CH", "opt_in"),
        ("BR", "opt_in"),
        ("GB", "uk"),
        ("US", "us"),
        ("US-CA", "us"),
        ("US-TX", "us"),
    ],
)
def test_default_table(code: str, policy: str) -> None:
    _, policies = book()
    assert policies.for_jurisdiction(code).name == policy


def test_a_subdivision_row_beats_its_country_and_a_country_beats_its_group() -> None:
    _, policies = book(jurisdictions={"US-CA": "notice", "DE": "notice"})
    assert policies.for_jurisdiction("US-CA").name == "notice"
    assert policies.for_jurisdiction("US-NY").name == "us"
    assert policies.for_jurisdiction("DE").name == "notice"
    assert policies.for_jurisdiction("AT").name == "opt_in"


def test_opt_in_allows_nothing_optional_before_a_choice() -> None:
    runtime, policies = book()
    consent = policies.apply(undecided(runtime), policies.for_jurisdiction("DE"), "DE")
    assert consent.granted == {"necessary"}
    assert consent.pending
    assert (consent.jurisdiction, consent.policy, consent.model) == ("DE", "opt_in", "opt_in")


def test_opt_out_runs_everything_until_the_visitor_says_no() -> None:
    runtime, policies = book()
    consent = policies.apply(undecided(runtime), policies.for_jurisdiction("US-CA"), "US-CA")
    assert consent.granted == {"necessary", "preferences", "analytics", "marketing"}
    assert consent.defaults == {"preferences", "analytics", "marketing"}
    assert consent.allows("marketing")
    assert consent.pending
    assert not consent.decided


def test_gpc_keeps_sale_and_sharing_off_under_opt_out() -> None:
    runtime, policies = book()
    us = policies.for_jurisdiction("US-CA")
    consent = policies.apply(undecided(runtime, gpc=True), us, "US-CA")
    assert consent.granted == {"necessary", "preferences", "analytics"}
    assert not consent.allows("marketing")
    assert policies.gpc_opt_out(consent) == {"marketing"}


def test_gpc_changes_nothing_to_store_under_opt_in() -> None:
    runtime, policies = book()
    consent = policies.apply(undecided(runtime, gpc=True), policies.default, "DE")
    assert policies.gpc_opt_out(consent) == frozenset()


def test_explicit_choices_stand_under_every_model() -> None:
    runtime, policies = book()
    stored = Consent(
        id="abc",
        revision=1,
        granted=frozenset({"necessary", "marketing"}),
        denied=frozenset({"analytics", "preferences"}),
        decided=True,
        names=runtime.purposes,
    )
    for code in ("DE", "US-CA", "GB"):
        consent = policies.apply(stored, policies.for_jurisdiction(code), code)
        assert consent.granted == {"necessary", "marketing"}, code
        assert consent.defaults == frozenset(), code


def test_an_exempt_category_runs_until_the_visitor_objects() -> None:
    runtime, policies = book(policies={"uk": {"exempt": ["statistics"]}})  # a purpose alias
    uk = policies.for_jurisdiction("GB")
    consent = policies.apply(undecided(runtime), uk, "GB")
    assert consent.granted == {"necessary", "analytics"}
    assert consent.pending  # the banner still asks about the rest
    objected = Consent(
        id="abc",
        revision=1,
        granted=frozenset({"necessary"}),
        denied=frozenset({"analytics"}),
        decided=False,
        names=runtime.purposes,
    )
    assert not policies.apply(objected, uk, "GB").allows("analytics")
    # Elsewhere in Europe the exemption does not apply.
    assert not policies.apply(undecided(runtime), policies.for_jurisdiction("DE"), "DE").allows(
        "analytics"
    )


def test_an_exempt_service_runs_alone_and_stops_with_its_category() -> None:
    runtime, policies = book(
        policies={"cnil": {"exempt": ["matomo"]}}, jurisdictions={"FR": "cnil"}
    )
    cnil = policies.for_jurisdiction("FR")
    consent = policies.apply(undecided(runtime), cnil, "FR")
    assert consent.allows("matomo")
    assert not consent.allows("analytics")  # Google Analytics is no exempt measurement
    assert not consent.allows("google-analytics")
    rejected = Consent(
        id="abc",
        revision=1,
        granted=frozenset({"necessary"}),
        denied=frozenset({"preferences", "analytics", "marketing"}),
        decided=True,
        names=runtime.purposes,
    )
    assert not policies.apply(rejected, cnil, "FR").allows("matomo")


def test_the_cookie_keeps_only_what_the_visitor_chose() -> None:
    runtime, policies = book()
    us = policies.for_jurisdiction("US-CA")
    consent = policies.apply(undecided(runtime), us, "US-CA")
    stored = Consent(
        id="abc",
        revision=1,
        granted=consent.granted,
        denied=consent.denied,
        decided=False,
        names=runtime.purposes,
        defaults=consent.defaults,
        acknowledged=True,
    )
    back = runtime.codec.loads(runtime.codec.dumps(stored))
    assert back.granted == {"necessary"}  # nothing the policy allowed became a grant
    assert back.acknowledged
    # The same visitor in Germany is asked, whatever they dismissed in California.
    assert policies.apply(back, policies.default, "DE").pending


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policies": {"uk": {"exempt": ["marketing"]}}}, "sale/sharing"),
        ({"policies": {"uk": {"exempt": ["advertising"]}}}, "sale/sharing"),
        ({"policies": {"uk": {"exempt": ["meta-pixel"]}}}, "sale/sharing"),
        ({"policies": {"uk": {"exempt": ["analytic"]}}}, "analytic"),
        ({"policies": {"us": {"model": "opt_out", "exempt": ["analytics"]}}}, "only an `opt_in`"),
    ],
)
def test_impossible_exemptions_fail_at_start_up(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(Exception, match=message):
        book(**overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"jurisdictions": {"US": "nope"}}, "no policy 'nope'"),
        ({"default_policy": "nope"}, "no policy 'nope'"),
        ({"jurisdictions": {"usa": "us"}}, "not a jurisdiction"),
        ({"jurisdictions": {"US-": "us"}}, "not a jurisdiction"),
        ({"policies": {"a b": {}}}, "policy name"),
        ({"policies": {"x": {"model": "maybe"}}}, "model"),
        ({"geolocation": {"source": "headers"}}, "country_header"),
        ({"geolocation": {"source": "akamai2"}}, "source"),
        ({"geolocation": {"country_header": "cf ipcountry"}}, "header name"),
        ({"geolocation": {"resolver": "os:sep"}}, "function"),
    ],
)
def test_bad_policy_settings_name_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(**overrides)


def test_settings_extend_the_builtin_tables() -> None:
    settings = make_settings(
        policies={"strict": {"model": "opt_in"}}, jurisdictions={"US-CA": "strict"}
    )
    assert set(settings.all_policies) == {"opt_in", "uk", "us", "notice", "strict"}
    assert settings.all_jurisdictions["US-CA"] == "strict"
    assert settings.all_jurisdictions["US"] == "us"
    assert settings.all_policies["uk"] == PolicySettings(model="opt_in")


def test_the_eu_and_eea_lists() -> None:
    assert len(EU - {"AX", "GF", "GP", "MQ", "RE", "YT", "MF"}) == 27
    assert {"IS", "LI", "NO"} == EEA - EU
    assert "GB" not in EEA
    assert "CH" not in EEA


@pytest.mark.parametrize(("age_days", "asked_again"), [(1, False), (183, False), (185, True)])
def test_a_refusal_is_not_asked_again_within_six_months(
    age_days: int, asked_again: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    runtime = ConsentRuntime(make_settings())
    refused = Consent(
        id="abc",
        revision=1,
        granted=frozenset({"necessary"}),
        denied=frozenset({"preferences", "analytics", "marketing"}),
        decided=True,
    )
    signed_at = int(time.time()) - age_days * 86_400
    monkeypatch.setattr(runtime.codec._signer, "get_timestamp", lambda: signed_at)
    value = runtime.codec.dumps(refused)
    monkeypatch.undo()
    assert runtime.codec.loads(value).pending is asked_again
    # A new policy revision asks again at once.
    bumped = ConsentRuntime(make_settings(revision=2))
    assert bumped.codec.loads(value).pending


def _save_in(runtime: ConsentRuntime, code: str, *categories: str) -> str:
    """The cookie value after saving ``categories`` on the choices page in ``code``."""
    from consent.decision import Choice, apply_choice

    policies = runtime.policies
    current = policies.apply(undecided(runtime), policies.for_jurisdiction(code), code)
    fields = {"action": ["save"], "categories": list(categories)}
    choice = Choice.from_fields(fields, runtime.settings)
    chosen, _ = apply_choice(runtime.settings, current, choice)
    return runtime.codec.dumps(chosen)


def test_boxes_left_ticked_in_california_are_no_consent_in_germany() -> None:
    runtime, policies = book()
    value = _save_in(runtime, "US-CA", "preferences", "analytics")  # marketing unticked
    stored = runtime.codec.loads(value)
    in_california = policies.apply(stored, policies.for_jurisdiction("US-CA"), "US-CA")
    assert in_california.allows("analytics")
    assert not in_california.allows("marketing")
    in_germany = policies.apply(stored, policies.default, "DE")
    assert in_germany.pending  # asked: the ticked boxes were ticked for them
    assert in_germany.granted == {"necessary"}
    assert "marketing" in in_germany.denied  # a refusal counts everywhere


def test_a_choice_made_under_opt_in_counts_everywhere() -> None:
    runtime, policies = book()
    value = _save_in(runtime, "DE", "analytics")
    stored = runtime.codec.loads(value)
    for code in ("DE", "US-CA", "GB"):
        consent = policies.apply(stored, policies.for_jurisdiction(code), code)
        assert consent.allows("analytics"), code
        assert not consent.allows("marketing"), code
        assert not consent.pending, code


def test_an_opt_out_outlasts_a_new_policy_revision() -> None:
    runtime = ConsentRuntime(make_settings())
    from consent.decision import gpc_opt_out

    us = runtime.policies.for_jurisdiction("US-CA")
    current = runtime.policies.apply(undecided(runtime, gpc=True), us, "US-CA")
    value = runtime.codec.dumps(gpc_opt_out(runtime.settings, current, frozenset({"marketing"})))
    bumped = ConsentRuntime(make_settings(revision=2))
    later = bumped.policies.apply(bumped.codec.loads(value), us, "US-CA")  # no GPC now
    assert not later.allows("marketing")
    assert later.allows("analytics")
