"""The 12-digit personal identification number (mã định danh cá nhân).

Decree 137/2015 Art. 13 and Circular 07/2016/TT-BCA Art. 7: ``PPP G YY RRRRRR`` —
province of birth registration, century-and-sex digit, last two digits of the
birth year, six random digits. There is no check digit.
"""

from dataclasses import dataclass, field
from datetime import date

from hub.domain.enums import Sex
from hub.domain.problems import Code, Problem, problem

#: Province codes of the Circular 07/2016/TT-BCA annex (the 63 provinces).
PROVINCES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An",
    "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
    "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PersonalId:
    """A well-formed personal ID and what it says about its holder."""

    number: str
    province_code: str
    birth_year: int
    sex: Sex

    @property
    def province(self) -> str | None:
        return PROVINCES.get(self.province_code)


def is_well_formed(number: str) -> bool:
    """Exactly 12 ASCII digits (``str.isdigit`` alone would admit other scripts)."""
    return len(number) == 12 and number.isascii() and number.isdigit()


def parse(number: str) -> PersonalId | None:
    """Decode a personal ID, or ``None`` if it is not 12 ASCII digits.

    Birth year = 1900 + 100·⌊G/2⌋ + YY; an even G is male, an odd one female.
    """
    if not is_well_formed(number):
        return None
    century_sex = int(number[3])
    return PersonalId(
        number=number,
        province_code=number[:3],
        birth_year=1900 + 100 * (century_sex // 2) + int(number[4:6]),
        sex=Sex.MALE if century_sex % 2 == 0 else Sex.FEMALE,
    )


def compose(province_code: str, birth_year: int, sex: Sex, serial: int) -> str:
    """Build the personal ID a person born in ``birth_year`` would be given."""
    century, yy = divmod(birth_year - 1900, 100)
    digit = 2 * century + (1 if sex is Sex.FEMALE else 0)
    return f"{province_code}{digit}{yy:02d}{serial % 1_000_000:06d}"


@dataclass(slots=True)
class Check:
    """Outcome of checking a record against its personal ID.

    ``errors`` reject the record; ``warnings`` keep it and flag it for review.
    """

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_against_record(
    number: str, *, birth_date: date | None, sex: Sex | None, field_name: str = "personalId"
) -> Check:
    """Validate ``number`` and compare it with the record it is attached to (RULES.md §1).

    - not 12 ASCII digits → error;
    - unknown province prefix → warning (births registered abroad use country codes);
    - birth year disagrees → error: the record is never written over the number;
    - sex disagrees → warning: kept and flagged for review.
    """
    result = Check()
    decoded = parse(number)
    if decoded is None:
        result.errors.append(problem(Code.PERSONAL_ID_FORMAT, field=field_name))
        return result
    if decoded.province is None:
        result.warnings.append(
            problem(
                Code.PERSONAL_ID_PROVINCE_UNKNOWN, field=field_name, prefix=decoded.province_code
            )
        )
    if birth_date is not None and birth_date.year != decoded.birth_year:
        result.errors.append(
            problem(
                Code.PERSONAL_ID_BIRTH_YEAR_MISMATCH,
                field="birthDate",
                birth_year=birth_date.year,
                id_year=decoded.birth_year,
            )
        )
    if sex is not None and sex is not decoded.sex:
        result.warnings.append(problem(Code.PERSONAL_ID_SEX_MISMATCH, field="sex"))
    return result
