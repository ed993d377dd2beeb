"""The Fleet's next expiry: the soonest of the licence's, maintenance's and certificate's ends
and the key's age limit, each read from the stored run (dates fixed: no test reads today)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.causes.licence import LicenceDetails
from app.domain.diagnosis import CheckId
from app.services.fleet.overview import Due, Expires, next_expiry
from tests.domain.fleet.test_facts import diagnosis, result

NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


def _run(licence_ends: datetime, maintenance_ends: datetime | None) -> object:
    details = LicenceDetails("20.0.10.1116", "Pro", licence_ends, (), maintenance_ends)
    return diagnosis(result(CheckId.LICENCE, **details.as_json()))


def test_maintenance_ending_first_is_the_next_expiry_and_due_soon() -> None:
    run = _run(NOW + timedelta(days=300), NOW + timedelta(days=12))
    expiry = next_expiry(run, NOW - timedelta(days=10), key_warning_days=180)  # type: ignore[arg-type]
    assert expiry is not None
    assert (expiry.what, expiry.at) == (Expires.MAINTENANCE, NOW + timedelta(days=12))
    assert expiry.due(NOW) is Due.SOON
    assert expiry.due(NOW + timedelta(days=13)) is Due.PASSED


def test_without_a_maintenance_date_the_licence_or_key_comes_first() -> None:
    run = _run(NOW + timedelta(days=100), None)
    expiry = next_expiry(run, NOW, key_warning_days=180)  # type: ignore[arg-type]
    assert expiry is not None and expiry.what is Expires.LICENCE
    assert expiry.due(NOW) is Due.LATER
