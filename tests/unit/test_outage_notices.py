"""Who is told about a signing provider's outage, and how (issue 12, part 3)."""

from datetime import UTC, datetime

from hub.adapters.signing.base import HealthStatus
from hub.domain.enums import SigningProvider
from hub.signing.outages import (
    ProviderStatus,
    StatusChange,
    Telling,
    mails_for,
    notices_for,
    vietnam_time,
    worth_telling,
)
from hub.web.outage import banner_lines

SINCE = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)  # 08:05 in Việt Nam
BCY, MYSIGN, CSC = SigningProvider.BCY, SigningProvider.MYSIGN, SigningProvider.CSC


def status(provider: SigningProvider, health: HealthStatus) -> ProviderStatus:
    return ProviderStatus(provider, health, SINCE, "connection refused")


STATUSES = {
    BCY: status(BCY, HealthStatus.DOWN),
    MYSIGN: status(MYSIGN, HealthStatus.UP),
    CSC: status(CSC, HealthStatus.DEGRADED),
}


def test_a_person_is_told_only_of_their_own_providers_in_trouble() -> None:
    assert notices_for({BCY}, STATUSES) == [STATUSES[BCY]]
    assert notices_for({MYSIGN}, STATUSES) == []
    assert notices_for(set(), STATUSES) == []


def test_a_provider_never_recorded_is_up() -> None:
    assert notices_for({SigningProvider.SMARTCA}, STATUSES) == []


def test_down_comes_before_degraded() -> None:
    assert notices_for({CSC, BCY, MYSIGN}, STATUSES) == [STATUSES[BCY], STATUSES[CSC]]


def test_the_banner_says_what_since_when_and_that_nothing_is_signed_again() -> None:
    [line] = banner_lines("vi", [STATUSES[BCY]])
    assert line.startswith(f"Hệ thống ký số {BCY.label} đang gián đoạn từ 08:05 ngày 07/12/2026")
    assert "sẽ tự tiếp tục" in line and line.endswith("Không cần ký lại.")
    [english] = banner_lines("en", [STATUSES[CSC]])
    assert "slow or failing since 08:05 on 07/12/2026" in english


def test_mail_only_when_a_provider_goes_down_or_comes_back_from_down() -> None:
    up, slow, down = HealthStatus.UP, HealthStatus.DEGRADED, HealthStatus.DOWN
    assert worth_telling(up, down) is Telling.DOWN
    assert worth_telling(None, down) is Telling.DOWN
    assert worth_telling(slow, down) is Telling.DOWN
    assert worth_telling(down, up) is Telling.BACK
    assert worth_telling(down, slow) is Telling.BACK
    assert worth_telling(up, slow) is None
    assert worth_telling(slow, up) is None
    assert worth_telling(None, up) is None


def test_the_mails_are_vietnamese_and_name_the_person() -> None:
    down = StatusChange(BCY, HealthStatus.UP, HealthStatus.DOWN, SINCE, "refused")
    [mail] = mails_for(down, [("co.lan@truong.edu.vn", "Nguyễn Thị Lan")])
    assert mail.to == "co.lan@truong.edu.vn"
    assert mail.subject == f"[Học bạ số] Hệ thống ký số {BCY.label} đang gián đoạn"
    assert "Kính gửi thầy/cô Nguyễn Thị Lan" in mail.body
    assert "không cần ký lại" in mail.body
    assert vietnam_time(SINCE) in mail.body
    back = StatusChange(BCY, HealthStatus.DOWN, HealthStatus.UP, SINCE, None)
    assert "đã hoạt động lại" in mails_for(back, [("a@b.vn", "A")])[0].subject
    slow = StatusChange(BCY, HealthStatus.UP, HealthStatus.DEGRADED, SINCE, None)
    assert mails_for(slow, [("a@b.vn", "A")]) == []
