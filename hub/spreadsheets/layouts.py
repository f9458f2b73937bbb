"""The columns of each kind of sheet, as data: the one home of each kind's columns.

A :class:`Layout` names its columns (Vietnamese headers as schools write them, what
each holds, the words allowed), the write that takes its rows (the vendor upserts'
functions, in chunks of their ``MAX_ROWS``) and how a row's values become that
write's input — the same input objects the GraphQL mutations take
(:mod:`hub.schema.writes`, :mod:`hub.schema.assessments`). The published templates
(:mod:`hub.spreadsheets.templates`) and the import read the same layouts.

Headers match whatever their case, diacritics or spacing (:func:`hub.domain.text.fold`;
«kỳ» and «kì» alike). A cell is only *read* here (a date, a number, a word of the
allowed set); whether the row is right is the write's to say.
"""

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar, get_type_hints

from hub.domain.enums import GuardianRelation, Sex, StaffRole
from hub.domain.grading.inputs import PrimaryPeriod
from hub.domain.grading.primary import Completion, Quality
from hub.domain.grading.secondary import Level, Rating
from hub.domain.problems import Code, HubError, Problem, problem
from hub.domain.traits import TRAITS
from hub.resolvers import assessments, upserts
from hub.resolvers.upserts import Upsert
from hub.schema import assessments as gradebook
from hub.schema import writes
from hub.spreadsheets import cells
from hub.spreadsheets.cells import CellError, key
from hub.spreadsheets.reading import HEADER_SEARCH_ROWS, Raw, Sheet

#: The column the result file adds (and an uploaded result file's, ignored on reading).
RESULT_HEADER = "Kết quả"
#: A write input type (hub.schema.writes, hub.schema.assessments).
Input = TypeVar("Input")


class Kind(StrEnum):
    """What a column holds."""

    TEXT = "TEXT"
    #: Digits Excel may have made a number of (a personal ID: 12 digits).
    PERSONAL_ID = "PERSONAL_ID"
    PHONE = "PHONE"
    DATE = "DATE"
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    #: Several numbers in one cell, separated by semicolons or spaces.
    DECIMALS = "DECIMALS"
    #: One word of the column's choices.
    WORD = "WORD"
    #: Several words of the column's choices, separated by semicolons or commas.
    WORDS = "WORDS"
    #: A word of the choices, or else the text itself for the write to judge (a code).
    CODE = "CODE"
    #: Có / Không.
    FLAG = "FLAG"


@dataclass(frozen=True)
class Choice:
    """A word a column allows, the value it stands for, and other ways of writing it."""

    label: str
    value: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """One column of a layout."""

    key: str
    header: str
    help: str
    kind: Kind = Kind.TEXT
    #: A value must be given (the write's input has no default for it).
    required: bool = False
    #: The column must be in the header row.
    needed: bool = False
    choices: tuple[Choice, ...] = ()
    example: str = ""
    aliases: tuple[str, ...] = ()
    help_en: str = ""

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(key(name) for name in (self.header, *self.aliases))

    @cached_property
    def words(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for choice in self.choices:
            for word in (choice.label, choice.value, *choice.aliases):
                found.setdefault(key(word), choice.value)
        return found

    @property
    def allowed(self) -> str:
        """The words the column allows, as the template lists them."""
        return ", ".join(choice.label for choice in self.choices)

    def canonical(self, raw: Raw) -> str | None:
        """The cell as text to keep with the job: dates as dd/mm/yyyy (an Excel date
        cell included), digits Excel made a number of given their leading zeros back."""
        if self.kind is Kind.PERSONAL_ID:
            return cells.digits(raw, 12)
        if self.kind is Kind.PHONE:
            return cells.digits(raw, 10)
        if self.kind is Kind.DATE and not isinstance(raw, str):
            try:
                found = cells.a_date(raw, self.header)
            except CellError:
                return cells.text(raw)
            return None if found is None else f"{found:%d/%m/%Y}"
        return cells.text(raw)

    def read(self, written: str | None) -> Any:
        """The value of a cell (kept as :meth:`canonical` made it); CellError if it
        cannot be read."""
        if written is None or not written.strip():
            if self.required:
                raise CellError(problem(Code.CELL_REQUIRED, column=self.header))
            return [] if self.kind is Kind.WORDS else False if self.kind is Kind.FLAG else None
        kind = self.kind
        if kind is Kind.DATE:
            return cells.a_date(written, self.header)
        if kind is Kind.INTEGER:
            if key(written) in self.words:
                return int(self.words[key(written)])
            return cells.an_integer(written, self.header)
        if kind is Kind.DECIMAL:
            return cells.a_decimal(written, self.header)
        if kind is Kind.DECIMALS:
            return [cells.a_decimal(part, self.header) for part in cells.items(written) or ()]
        if kind is Kind.WORD or kind is Kind.FLAG:
            found = cells.a_word(written, self.header, self.words, self.allowed)
            return found == "yes" if kind is Kind.FLAG else found
        if kind is Kind.WORDS:
            parts = [p.strip() for p in written.replace(",", ";").split(";") if p.strip()]
            return [cells.a_word(part, self.header, self.words, self.allowed) for part in parts]
        if kind is Kind.CODE:
            return self.words.get(key(written), written.strip())
        return written


@dataclass(frozen=True)
class Located:
    """Where a layout's columns are in a sheet: the header's row and each column's index."""

    header_row: int
    positions: dict[str, int]
    #: Where the sheet already has a result column (an earlier result file sent again).
    result_column: int | None


@dataclass(frozen=True)
class Extracted:
    """A sheet's data rows as a layout reads them, and the row of its header."""

    header_row: int
    rows: list[tuple[int, list[str | None]]]


@dataclass(frozen=True)
class Layout:
    """One kind of sheet: its columns, the write its rows go to, and how a row's values
    become that write's input."""

    kind: str
    title: str
    title_en: str
    intro: str
    columns: tuple[Column, ...]
    build: Callable[[dict[str, Any]], Any]
    upsert: Upsert
    #: The OAuth2 scope the write needs (checked before a job starts).
    scope: str
    intro_en: str = ""
    rows_per_write: int = field(default=upserts.MAX_ROWS)

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def locate(self, sheet: Sheet) -> Located:
        """The header row: of the first rows, the one naming most of the columns; it
        must name every needed column. SPREADSHEET_HEADER_UNKNOWN otherwise."""
        best: tuple[int, dict[str, int], int | None] = (0, {}, None)
        for number, row in sheet.rows[:HEADER_SEARCH_ROWS]:
            positions: dict[str, int] = {}
            result: int | None = None
            for index, cell in enumerate(row):
                name = key(cells.text(cell) or "")
                if not name:
                    continue
                if name == key(RESULT_HEADER):
                    result = index
                    continue
                for column in self.columns:
                    if name in column.names and column.key not in positions:
                        positions[column.key] = index
                        break
            if len(positions) > len(best[1]):
                best = (number, positions, result)
        number, positions, result = best
        missing = [c.header for c in self.columns if c.needed and c.key not in positions]
        if missing:
            raise HubError(
                Code.SPREADSHEET_HEADER_UNKNOWN,
                layout=self.title,
                columns=", ".join(missing),
                details_en={"layout": self.title_en},
            )
        return Located(number, positions, result)

    def extract(self, sheet: Sheet, *, max_rows: int) -> "Extracted":
        """The sheet's data rows as (row number, each column's cell as text, in the
        layout's order): what the job keeps and reads part by part."""
        located = self.locate(sheet)
        found: list[tuple[int, list[str | None]]] = []
        for number, row in sheet.rows:
            if number <= located.header_row:
                continue
            values = [
                column.canonical(_cell(row, located.positions.get(column.key)))
                for column in self.columns
            ]
            if all(value is None for value in values):
                continue
            found.append((number, values))
        if not found:
            raise HubError(Code.SPREADSHEET_EMPTY)
        if len(found) > max_rows:
            raise HubError(Code.SPREADSHEET_TOO_MANY_ROWS, limit=max_rows)
        return Extracted(located.header_row, found)

    def parse(self, written: list[str | None]) -> tuple[Any | None, list[Problem]]:
        """A row's input for the write, or the problems of the cells that cannot be read."""
        values: dict[str, Any] = {}
        found: list[Problem] = []
        for column, cell in zip(self.columns, written, strict=True):
            try:
                values[column.key] = column.read(cell)
            except CellError as error:
                found.append(error.problem)
        if found:
            return None, found
        return self.build(values), []


def _cell(row: list[Raw], index: int | None) -> Raw:
    return row[index] if index is not None and index < len(row) else None


# --- the words ----------------------------------------------------------------------------------

SEXES = (
    Choice("Nam", Sex.MALE, ("M", "trai")),
    Choice("Nữ", Sex.FEMALE, ("F", "gái")),
)
ROLES = (
    Choice("Giáo viên", StaffRole.TEACHER, ("Giáo viên bộ môn", "GV", "GVBM")),
    Choice("Giáo viên chủ nhiệm", StaffRole.HOMEROOM, ("GVCN", "Chủ nhiệm")),
    Choice("Hiệu trưởng", StaffRole.PRINCIPAL, ("HT",)),
    Choice("Phó hiệu trưởng", StaffRole.VICE_PRINCIPAL, ("PHT",)),
    Choice("Nhân viên", StaffRole.STAFF, ("NV",)),
)
RELATIONS = (
    Choice("Cha", GuardianRelation.FATHER, ("Bố", "Ba")),
    Choice("Mẹ", GuardianRelation.MOTHER, ("Má",)),
    Choice("Người giám hộ", GuardianRelation.GUARDIAN, ("Giám hộ",)),
    Choice("Khác", GuardianRelation.OTHER),
)
FLAGS = (
    Choice("Có", "yes", ("x", "1", "true", "yes")),
    Choice("Không", "no", ("0", "false", "no")),
)
RATINGS = (
    Choice(Rating.PASS.label, Rating.PASS, ("Đ",)),
    Choice(Rating.FAIL.label, Rating.FAIL, ("CĐ",)),
)
LEVELS = (
    Choice("Tốt", Level.GOOD, ("T",)),
    Choice("Khá", Level.FAIR, ("K",)),
    Choice("Đạt", Level.PASS, ("Đ",)),
    Choice("Chưa đạt", Level.FAIL, ("CĐ",)),
)
COMPLETIONS = (
    Choice(Completion.WELL.label, Completion.WELL, ("T",)),
    Choice(Completion.DONE.label, Completion.DONE, ("H",)),
    Choice(Completion.NOT_DONE.label, Completion.NOT_DONE, ("C",)),
)
QUALITIES = (
    Choice(Quality.GOOD.label, Quality.GOOD, ("T",)),
    Choice(Quality.PASS.label, Quality.PASS, ("Đ",)),
    Choice(Quality.NEEDS_EFFORT.label, Quality.NEEDS_EFFORT, ("C", "CCG")),
)
PERIODS = (
    Choice("Giữa học kì I", PrimaryPeriod.MID_1, ("Giữa học kì 1", "GKI", "GK1")),
    Choice("Cuối học kì I", PrimaryPeriod.END_1, ("Cuối học kì 1", "CKI", "CK1")),
    Choice("Giữa học kì II", PrimaryPeriod.MID_2, ("Giữa học kì 2", "GKII", "GK2")),
    Choice("Cuối năm", PrimaryPeriod.END_YEAR, ("Cuối năm học", "CN")),
)
SEMESTERS = (
    Choice("1", "1", ("I", "HK1", "HKI", "Học kì 1", "Học kì I")),
    Choice("2", "2", ("II", "HK2", "HKII", "Học kì 2", "Học kì II")),
)
TRAIT_NAMES = tuple(Choice(name, code) for code, name in TRAITS.items())


# --- the columns the layouts share --------------------------------------------------------------


def _flat(input_type: type[Input]) -> Callable[[Mapping[str, Any]], Input]:
    """The build of a layout whose columns are its write input's fields, by name: the
    value of each column the sheet has; a required text field left empty is "" (the
    write says what is missing, in its own words), an optional one None."""
    hints = get_type_hints(input_type)
    fields = dataclasses.fields(input_type)  # type: ignore[arg-type]
    required_text = {
        f.name
        for f in fields
        if hints[f.name] is str
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    }

    def build(values: Mapping[str, Any]) -> Input:
        given = {f.name: values[f.name] for f in fields if f.name in values}
        for name in required_text:
            given[name] = given.get(name) or ""
        return input_type(**given)

    return build


def _pupil(header: str = "Mã định danh học sinh") -> Column:
    return Column(
        "student_personal_id",
        header,
        "Mã định danh cá nhân của học sinh (12 chữ số, như trên căn cước/giấy khai sinh).",
        Kind.PERSONAL_ID,
        needed=True,
        example="001213004567",
        aliases=("Mã định danh", "Mã định danh cá nhân", "Số định danh cá nhân"),
        help_en="The pupil's personal ID (12 digits).",
    )


SCHOOL_YEAR = Column(
    "school_year",
    "Năm học",
    "Năm học của dữ liệu, ví dụ 2025-2026; để trống: năm học hiện tại.",
    example="2025-2026",
    help_en="The school year, e.g. 2025-2026; empty: the current one.",
)
SUBJECT = Column(
    "subject_code",
    "Mã môn",
    "Mã môn học/hoạt động giáo dục theo danh mục của Sở (ví dụ TOAN, NGU_VAN).",
    needed=True,
    example="TOAN",
    aliases=("Mã môn học",),
    help_en="The subject's code in the department's catalogue (e.g. TOAN).",
)
PERSONAL_ID_HELP = "Mã định danh cá nhân (12 chữ số)."


# --- students, staff, guardians -----------------------------------------------------------------


STUDENTS = Layout(
    kind="students",
    title="Học sinh",
    title_en="Students",
    intro="Mỗi dòng một học sinh; khóa: mã định danh cá nhân (hoặc mã học sinh của Bộ "
    "khi chưa có mã định danh). Dòng đã có thì được cập nhật.",
    intro_en="One pupil per row, keyed by personal ID (or the ministry's pupil code).",
    scope="students:write",
    upsert=upserts.upsert_students,
    build=_flat(writes.StudentInput),
    columns=(
        Column(
            "personal_id",
            "Mã định danh",
            PERSONAL_ID_HELP + " Để trống nếu học sinh chưa có (khi đó cần mã học sinh).",
            Kind.PERSONAL_ID,
            needed=True,
            example="001213004567",
            aliases=("Mã định danh cá nhân", "Số định danh cá nhân", "Số CCCD", "CCCD"),
            help_en="Personal ID (12 digits); empty if none yet (then the pupil code).",
        ),
        Column(
            "ministry_code",
            "Mã học sinh",
            "Mã học sinh trên CSDL ngành của Bộ GDĐT (không bắt buộc).",
            example="0112345678",
            aliases=("Mã HS", "Mã học sinh Bộ GDĐT"),
            help_en="The ministry's pupil code (optional).",
        ),
        Column(
            "full_name",
            "Họ và tên",
            "Họ và tên đầy đủ, có dấu.",
            needed=True,
            example="Nguyễn Thị Lan",
            aliases=("Họ tên",),
            help_en="Full name.",
        ),
        Column(
            "birth_date",
            "Ngày sinh",
            "Ngày/tháng/năm (dd/mm/yyyy), hoặc ô kiểu ngày của Excel.",
            Kind.DATE,
            required=True,
            needed=True,
            example="05/09/2013",
            help_en="Day/month/year (dd/mm/yyyy), or an Excel date cell.",
        ),
        Column(
            "sex",
            "Giới tính",
            "Nam hoặc Nữ.",
            Kind.WORD,
            required=True,
            needed=True,
            choices=SEXES,
            example="Nữ",
            help_en="Nam (male) or Nữ (female).",
        ),
        Column("ethnicity", "Dân tộc", "Dân tộc (không bắt buộc).", example="Kinh"),
        Column(
            "school_code",
            "Mã trường",
            "Mã trường của Bộ GDĐT (trường mà đơn vị được phép ghi).",
            needed=True,
            example="01000101",
            help_en="The school's ministry code.",
        ),
        Column(
            "class_name",
            "Lớp",
            "Tên lớp năm học hiện tại (phải có sẵn trong hệ thống), ví dụ 6A1; để trống nếu "
            "chưa xếp lớp.",
            example="6A1",
            aliases=("Tên lớp",),
            help_en="This year's class (it must exist), e.g. 6A1.",
        ),
    ),
)


def _staff(values: Mapping[str, Any]) -> writes.StaffInput:
    return writes.StaffInput(
        personal_id=values["personal_id"] or "",
        full_name=values["full_name"] or "",
        birth_date=values["birth_date"],
        sex=values["sex"],
        email=values["email"],
        phone=values["phone"],
        assignments=[
            writes.AssignmentInput(
                school_code=values["school_code"] or "",
                roles=[StaffRole(role) for role in values["roles"]],
            )
        ],
    )


STAFF = Layout(
    kind="staff",
    title="Cán bộ, giáo viên",
    title_en="Staff",
    intro="Mỗi dòng một cán bộ, giáo viên tại một trường; khóa: mã định danh cá nhân. Các "
    "vai trò ghi ở đây thay thế vai trò cũ của người đó tại trường này.",
    intro_en="One member of staff at one school per row, keyed by personal ID; the roles "
    "replace their earlier roles at that school.",
    scope="staff:write",
    upsert=upserts.upsert_staff,
    build=_staff,
    columns=(
        Column(
            "personal_id",
            "Mã định danh",
            PERSONAL_ID_HELP,
            Kind.PERSONAL_ID,
            needed=True,
            example="001085001234",
            aliases=("Mã định danh cá nhân", "Số định danh cá nhân", "Số CCCD", "CCCD"),
            help_en="Personal ID (12 digits).",
        ),
        Column(
            "full_name",
            "Họ và tên",
            "Họ và tên đầy đủ, có dấu.",
            needed=True,
            example="Trần Văn Minh",
            aliases=("Họ tên",),
        ),
        Column(
            "birth_date",
            "Ngày sinh",
            "Ngày/tháng/năm (dd/mm/yyyy), hoặc ô kiểu ngày của Excel (không bắt buộc).",
            Kind.DATE,
            example="12/03/1985",
        ),
        Column(
            "sex",
            "Giới tính",
            "Nam hoặc Nữ (không bắt buộc).",
            Kind.WORD,
            choices=SEXES,
            example="Nam",
        ),
        Column(
            "email", "Email", "Thư điện tử (không bắt buộc).", aliases=("Thư điện tử", "E-mail")
        ),
        Column(
            "phone",
            "Số điện thoại",
            "Số điện thoại (không bắt buộc).",
            Kind.PHONE,
            example="0912345678",
            aliases=("Điện thoại", "SĐT"),
        ),
        Column(
            "school_code",
            "Mã trường",
            "Mã trường của Bộ GDĐT nơi cán bộ được phân công.",
            needed=True,
            example="01000101",
        ),
        Column(
            "roles",
            "Vai trò",
            "Một hoặc nhiều vai trò tại trường, cách nhau bởi dấu chấm phẩy.",
            Kind.WORDS,
            needed=True,
            choices=ROLES,
            example="Giáo viên; Giáo viên chủ nhiệm",
            aliases=("Chức vụ",),
        ),
    ),
)


def _guardian_link(values: Mapping[str, Any]) -> writes.GuardianLinkInput:
    return writes.GuardianLinkInput(
        student_personal_id=values["student_personal_id"] or "",
        guardian=writes.GuardianInput(
            personal_id=values["guardian_personal_id"],
            full_name=values["guardian_full_name"] or "",
            phone=values["guardian_phone"],
        ),
        relation=values["relation"],
        remove=values["remove"],
    )


GUARDIANS = Layout(
    kind="guardians",
    title="Cha mẹ, người giám hộ",
    title_en="Guardians",
    intro="Mỗi dòng một liên kết giữa học sinh và cha, mẹ hoặc người giám hộ. Cần mã định "
    "danh hoặc số điện thoại của cha mẹ/người giám hộ.",
    intro_en="One link between a pupil and a parent or guardian per row.",
    scope="students:write",
    upsert=upserts.upsert_guardian_links,
    build=_guardian_link,
    columns=(
        _pupil(),
        Column(
            "guardian_full_name",
            "Họ và tên cha mẹ/người giám hộ",
            "Họ và tên đầy đủ, có dấu.",
            needed=True,
            example="Nguyễn Văn Hùng",
            aliases=(
                "Họ và tên phụ huynh",
                "Họ tên phụ huynh",
                "Họ tên cha mẹ/người giám hộ",
                "Họ và tên người giám hộ",
            ),
        ),
        Column(
            "guardian_personal_id",
            "Mã định danh cha mẹ/người giám hộ",
            PERSONAL_ID_HELP + " Để trống thì cần số điện thoại.",
            Kind.PERSONAL_ID,
            example="001080009876",
            aliases=("Mã định danh phụ huynh",),
        ),
        Column(
            "guardian_phone",
            "Số điện thoại",
            "Số điện thoại của cha mẹ/người giám hộ.",
            Kind.PHONE,
            example="0987654321",
            aliases=("Điện thoại", "SĐT", "Số điện thoại phụ huynh"),
        ),
        Column(
            "relation",
            "Quan hệ",
            "Quan hệ với học sinh.",
            Kind.WORD,
            required=True,
            needed=True,
            choices=RELATIONS,
            example="Cha",
            aliases=("Quan hệ với học sinh",),
        ),
        Column(
            "remove",
            "Xóa liên kết",
            "Có: xóa liên kết này; để trống: thêm hoặc cập nhật.",
            Kind.FLAG,
            choices=FLAGS,
            example="",
        ),
    ),
)


# --- the gradebook ------------------------------------------------------------------------------


def _secondary(values: Mapping[str, Any]) -> gradebook.SecondaryAssessmentInput:
    return gradebook.SecondaryAssessmentInput(
        student_personal_id=values["student_personal_id"] or "",
        subject_code=values["subject_code"] or "",
        semester=values["semester"],
        school_year=values["school_year"],
        regular=values["regular"],
        midterm=values["midterm"],
        final=values["final"],
        regular_ratings=[Rating(r) for r in values["regular_ratings"]] or None,
        midterm_rating=values["midterm_rating"],
        final_rating=values["final_rating"],
    )


SECONDARY = Layout(
    kind="secondary",
    title="Điểm THCS, THPT",
    title_en="Secondary assessments",
    intro="Mỗi dòng một học sinh, một môn, một học kì (Thông tư 22/2021). Môn tính điểm: "
    "ghi điểm; môn đánh giá bằng nhận xét: ghi Đạt/Chưa đạt.",
    intro_en="One pupil, subject and semester per row (Circular 22/2021).",
    scope="assessments:write",
    upsert=assessments.upsert_secondary_assessments,
    build=_secondary,
    columns=(
        _pupil(),
        SUBJECT,
        Column(
            "semester",
            "Học kì",
            "1 hoặc 2.",
            Kind.INTEGER,
            required=True,
            needed=True,
            choices=SEMESTERS,
            example="1",
        ),
        SCHOOL_YEAR,
        Column(
            "regular",
            "Điểm đánh giá thường xuyên",
            "Các điểm ĐĐGtx, đủ số lần theo số tiết của môn, cách nhau bởi dấu chấm phẩy "
            "(dấu phẩy là dấu thập phân: 8,5).",
            Kind.DECIMALS,
            example="8; 7,5; 9; 10",
            aliases=("ĐĐGtx", "Điểm thường xuyên"),
        ),
        Column(
            "midterm",
            "Điểm giữa kì",
            "Điểm ĐĐGgk (0–10, một chữ số thập phân).",
            Kind.DECIMAL,
            example="7,5",
            aliases=("ĐĐGgk",),
        ),
        Column(
            "final",
            "Điểm cuối kì",
            "Điểm ĐĐGck (0–10, một chữ số thập phân).",
            Kind.DECIMAL,
            example="8",
            aliases=("ĐĐGck",),
        ),
        Column(
            "regular_ratings",
            "Nhận xét thường xuyên",
            "Môn đánh giá bằng nhận xét: các lần thường xuyên, cách nhau bởi dấu chấm phẩy.",
            Kind.WORDS,
            choices=RATINGS,
            example="",
        ),
        Column(
            "midterm_rating",
            "Nhận xét giữa kì",
            "Môn đánh giá bằng nhận xét: giữa kì.",
            Kind.WORD,
            choices=RATINGS,
        ),
        Column(
            "final_rating",
            "Nhận xét cuối kì",
            "Môn đánh giá bằng nhận xét: cuối kì.",
            Kind.WORD,
            choices=RATINGS,
        ),
    ),
)


def _level(key_: str, header: str, help_: str, example: str = "") -> Column:
    return Column(key_, header, help_, Kind.WORD, choices=LEVELS, example=example)


YEAR_RECORDS = Layout(
    kind="year-records",
    title="Rèn luyện cả năm",
    title_en="Year records",
    intro="Mỗi dòng một học sinh, một năm học: kết quả rèn luyện, số buổi nghỉ, nhận xét.",
    intro_en="One pupil and school year per row: conduct, absences, comments.",
    scope="assessments:write",
    upsert=assessments.upsert_year_records,
    build=_flat(gradebook.YearRecordInput),
    columns=(
        _pupil(),
        SCHOOL_YEAR,
        _level("conduct_first", "Rèn luyện học kì I", "Kết quả rèn luyện học kì I.", "Tốt"),
        _level("conduct_second", "Rèn luyện học kì II", "Kết quả rèn luyện học kì II.", "Tốt"),
        _level("summer_training", "Rèn luyện trong hè", "Kết quả rèn luyện trong hè (nếu có)."),
        Column(
            "half_days_absent",
            "Số buổi nghỉ",
            "Số buổi nghỉ học cả năm (số nguyên).",
            Kind.INTEGER,
            example="2",
        ),
        Column(
            "homeroom_comment",
            "Nhận xét của giáo viên chủ nhiệm",
            "Nhận xét cả năm của giáo viên chủ nhiệm.",
            aliases=("Nhận xét của GVCN",),
        ),
        Column(
            "principal_approval",
            "Phê duyệt của hiệu trưởng",
            "Phê duyệt của hiệu trưởng in trong học bạ.",
        ),
    ),
)


RETESTS = Layout(
    kind="retests",
    title="Kiểm tra lại",
    title_en="Re-tests",
    intro="Mỗi dòng một học sinh, một môn kiểm tra lại: điểm (môn tính điểm) hoặc Đạt/Chưa "
    "đạt (môn đánh giá bằng nhận xét).",
    intro_en="One pupil and re-tested subject per row.",
    scope="assessments:write",
    upsert=assessments.upsert_retests,
    build=_flat(gradebook.RetestInput),
    columns=(
        _pupil(),
        SUBJECT,
        SCHOOL_YEAR,
        Column(
            "score",
            "Điểm kiểm tra lại",
            "Điểm (0–10) của môn tính điểm.",
            Kind.DECIMAL,
            example="5,5",
        ),
        Column(
            "rating",
            "Nhận xét kiểm tra lại",
            "Đạt/Chưa đạt của môn đánh giá bằng nhận xét.",
            Kind.WORD,
            choices=RATINGS,
        ),
    ),
)


PERIOD = Column(
    "period",
    "Kì đánh giá",
    "Thời điểm đánh giá.",
    Kind.WORD,
    required=True,
    needed=True,
    choices=PERIODS,
    example="Cuối học kì I",
    aliases=("Thời điểm đánh giá", "Kì"),
)

PRIMARY = Layout(
    kind="primary",
    title="Đánh giá tiểu học",
    title_en="Primary assessments",
    intro="Mỗi dòng một học sinh tiểu học, một môn học/hoạt động, một kì đánh giá (Thông tư "
    "27/2020).",
    intro_en="One primary pupil, subject and period per row (Circular 27/2020).",
    scope="assessments:write",
    upsert=assessments.upsert_primary_assessments,
    build=_flat(gradebook.PrimaryAssessmentInput),
    columns=(
        _pupil(),
        SUBJECT,
        PERIOD,
        SCHOOL_YEAR,
        Column(
            "completion",
            "Mức đạt được",
            "Mức đạt được của môn học/hoạt động.",
            Kind.WORD,
            choices=COMPLETIONS,
            example="Hoàn thành tốt",
        ),
        Column(
            "test_score",
            "Điểm kiểm tra định kì",
            "Điểm bài kiểm tra định kì (số nguyên 0–10), với môn và kì có kiểm tra.",
            Kind.INTEGER,
            example="9",
        ),
        Column("comment", "Nhận xét", "Nhận xét của giáo viên."),
    ),
)


TRAITS_LAYOUT = Layout(
    kind="traits",
    title="Phẩm chất, năng lực",
    title_en="Qualities and competencies",
    intro="Mỗi dòng một học sinh tiểu học, một phẩm chất hoặc năng lực, một kì (cuối học kì I "
    "hoặc cuối năm).",
    intro_en="One primary pupil, quality or competency and period per row.",
    scope="assessments:write",
    upsert=assessments.upsert_primary_traits,
    build=_flat(gradebook.PrimaryTraitInput),
    columns=(
        _pupil(),
        Column(
            "trait",
            "Phẩm chất/năng lực",
            "Tên hoặc mã phẩm chất/năng lực.",
            Kind.CODE,
            needed=True,
            choices=TRAIT_NAMES,
            example="Chăm chỉ",
            aliases=("Phẩm chất, năng lực", "Mã phẩm chất/năng lực", "Mã phẩm chất, năng lực"),
        ),
        PERIOD,
        Column(
            "level",
            "Mức",
            "Mức đánh giá.",
            Kind.WORD,
            required=True,
            needed=True,
            choices=QUALITIES,
            example="Tốt",
            aliases=("Mức đánh giá",),
        ),
        SCHOOL_YEAR,
    ),
)

#: Every layout, by the name in its addresses (``/imports/{kind}``).
LAYOUTS: dict[str, Layout] = {
    layout.kind: layout
    for layout in (
        STUDENTS,
        STAFF,
        GUARDIANS,
        SECONDARY,
        YEAR_RECORDS,
        RETESTS,
        PRIMARY,
        TRAITS_LAYOUT,
    )
}
