"""RULES.md §1: the 12-digit personal identification number."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.enums import Sex
from hub.domain.personal_data import mask_personal_id as mask
from hub.domain.personal_id import PROVINCES, check_against_record, compose, parse
from hub.domain.problems import Code


@pytest.mark.parametrize(
    ("number", "year", "sex"),
    [
        ("001099012345", 1999, Sex.MALE),  # G=0: 1900s male
        ("001199012345", 1999, Sex.FEMALE),  # G=1: 1900s female
        ("079212000001", 2012, Sex.MALE),  # G=2: 2000s male
        ("031300000001", 2000, Sex.FEMALE),  # G=3: 2000s female
        ("074405000001", 2105, Sex.MALE),  # G=4: 2100s
        ("001999000001", 2399, Sex.FEMALE),  # G=9: 2300s female
    ],
)
def test_century_and_sex_digit(number, year, sex):
    decoded = parse(number)
    assert decoded is not None
    assert (decoded.birth_year, decoded.sex) == (year, sex)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "00120012345",
        "0012001234567",
        "00120012345a",
        "００１２００１２３４５６",
        "001 00123456",
    ],
)
def test_only_twelve_ascii_digits_are_well_formed(number):
    assert parse(number) is None
    assert [p.code for p in check_against_record(number, birth_date=None, sex=None).errors] == [
        Code.PERSONAL_ID_FORMAT
    ]


def test_unknown_province_warns_but_does_not_reject():
    check = check_against_record("999212000001", birth_date=date(2012, 1, 1), sex=Sex.MALE)
    assert check.ok
    assert [p.code for p in check.warnings] == [Code.PERSONAL_ID_PROVINCE_UNKNOWN]


def test_birth_year_disagreement_rejects_and_sex_disagreement_flags():
    wrong_year = check_against_record("001212000001", birth_date=date(2011, 5, 5), sex=Sex.MALE)
    assert [p.code for p in wrong_year.errors] == [Code.PERSONAL_ID_BIRTH_YEAR_MISMATCH]
    assert "2011" in wrong_year.errors[0].message and "2012" in wrong_year.errors[0].message
    wrong_sex = check_against_record("001212000001", birth_date=date(2012, 5, 5), sex=Sex.FEMALE)
    assert wrong_sex.ok
    assert [p.code for p in wrong_sex.warnings] == [Code.PERSONAL_ID_SEX_MISMATCH]


def test_the_annex_lists_63_provinces():
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội" and PROVINCES["079"] == "Hồ Chí Minh"


@given(
    province=st.sampled_from(sorted(PROVINCES)),
    year=st.integers(min_value=1900, max_value=2399),
    sex=st.sampled_from(list(Sex)),
    serial=st.integers(min_value=0, max_value=999_999),
)
def test_compose_and_parse_agree(province, year, sex, serial):
    number = compose(province, year, sex, serial)
    decoded = parse(number)
    assert decoded is not None
    assert (decoded.province_code, decoded.birth_year, decoded.sex) == (province, year, sex)


def test_mask_keeps_the_last_four_digits():
    assert mask("001212345678") == "••••••••5678"
