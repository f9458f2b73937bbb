"""Certificate validity has one home (issue 10): retirement included, everywhere."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.certificates import is_valid_at, signing_certificate
from hub.domain.enums import CertificateStatus

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Cert:
    id: int = 1
    status: CertificateStatus = CertificateStatus.ACTIVE
    valid_from: datetime = NOW - 30 * DAY
    valid_to: datetime = NOW + 300 * DAY
    retired_at: datetime | None = None
    preferred: bool = False


@pytest.mark.parametrize(
    ("certificate", "valid"),
    [
        (Cert(), True),
        (Cert(status=CertificateStatus.REVOKED), False),
        (Cert(status=CertificateStatus.SUSPENDED), False),
        (Cert(valid_from=NOW + DAY), False),
        (Cert(valid_from=NOW), True),
        (Cert(valid_to=NOW), False),
        (Cert(valid_to=NOW - DAY), False),
        (Cert(retired_at=NOW - DAY), False),
        (Cert(retired_at=NOW), False),
        (Cert(retired_at=NOW + DAY), True),
        # SQLite hands datetimes back naive: they are UTC.
        (Cert(valid_from=(NOW - DAY).replace(tzinfo=None)), True),
        (Cert(retired_at=(NOW - DAY).replace(tzinfo=None)), False),
    ],
)
def test_validity(certificate, valid):
    assert is_valid_at(certificate, NOW) is valid


def test_a_retired_certificate_is_invalid_even_while_the_ca_still_honours_it():
    retired = Cert(retired_at=NOW - DAY, preferred=True)
    assert not is_valid_at(retired, NOW)
    assert signing_certificate([retired], NOW) is None


def test_the_signing_certificate_is_the_preferred_then_the_longest_then_the_latest():
    old = Cert(id=1, valid_to=NOW + 900 * DAY)
    preferred = Cert(id=2, valid_to=NOW + 100 * DAY, preferred=True)
    retired_preferred = Cert(id=3, preferred=True, retired_at=NOW - DAY)
    assert signing_certificate([old, preferred, retired_preferred], NOW) is preferred
    assert signing_certificate([old, Cert(id=4)], NOW) is old
    twin_a, twin_b = Cert(id=5), Cert(id=6)
    assert signing_certificate([twin_b, twin_a], NOW) is twin_b
    assert signing_certificate([twin_a, twin_b], NOW) is twin_b
    assert signing_certificate([], NOW) is None
