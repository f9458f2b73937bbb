"""Vietnamese personal names and ethnicities, weighted like the real population.

A demo whose every pupil is called "Student 17" hides the problems the hub has
to solve: diacritic-insensitive search ("nguyen van an" must find "Nguyễn Văn
An"), a family name shared by four pupils in ten, namesakes in one class. So
names are drawn from the frequencies Vietnamese demographers report: Nguyễn
about 38 %, then Trần, Lê, Phạm, Hoàng/Huỳnh, Phan, Vũ/Võ, Đặng, Bùi, Đỗ, …;
a middle name that depends on sex and generation ("Văn" and "Thị" are common
for parents and teachers, rarer for children born after 2010); given names by sex.

Every string is NFC, as :func:`hub.domain.text.clean_text` stores names, and
carries its :func:`hub.domain.text.fold` beside it so the generator never has to
fold a full name per row (folding is the slowest step of making a name).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.domain.enums import Sex
from hub.domain.text import fold

T = TypeVar("T")


class WeightedTable(Generic[T]):
    """Constant-time weighted choice: each item repeated in proportion to its weight.

    ``random.choices`` costs a bisect and a list per call; at 2.3 million pupils
    with a dozen draws each, one multiplication and one index is worth having.
    The resolution is ``1/slots``, so a share below that rounds to at least one slot.
    """

    __slots__ = ("_items", "_size")

    def __init__(self, weighted: Sequence[tuple[T, float]], *, slots: int = 4000) -> None:
        total = sum(weight for _, weight in weighted)
        items: list[T] = []
        for item, weight in weighted:
            items.extend([item] * max(1, round(weight / total * slots)))
        self._items = items
        self._size = len(items)

    def pick(self, random: Callable[[], float]) -> T:
        """One item; ``random`` is a bound ``Random.random``."""
        return self._items[int(random() * self._size)]

    @property
    def distinct(self) -> list[T]:
        """Each item once, in first-seen order (for tests and documentation)."""
        return list(dict.fromkeys(self._items))


@dataclass(frozen=True, slots=True)
class Part:
    """One word (or two) of a name, with its diacritic-free lower-case form."""

    text: str
    folded: str


def _parts(weighted: Sequence[tuple[str, float]], *, slots: int = 4000) -> WeightedTable[Part]:
    return WeightedTable(
        [(Part(text, fold(text)), weight) for text, weight in weighted], slots=slots
    )


# Share in percent of the population (Lê Trung Hoa, "Họ và tên người Việt Nam",
# and the 2019 census summaries): Hoàng and Vũ dominate in the North, Huỳnh and Võ
# in the South, so a Hà Nội province leans to the northern spellings.
FAMILY_NAMES: WeightedTable[Part] = _parts(
    [
        ("Nguyễn", 38.4),
        ("Trần", 11.0),
        ("Lê", 9.5),
        ("Phạm", 7.1),
        ("Hoàng", 4.1),
        ("Huỳnh", 1.0),
        ("Phan", 4.5),
        ("Vũ", 3.0),
        ("Võ", 0.9),
        ("Đặng", 2.1),
        ("Bùi", 2.0),
        ("Đỗ", 1.4),
        ("Hồ", 1.3),
        ("Ngô", 1.3),
        ("Dương", 1.0),
        ("Lý", 0.5),
        ("Đào", 0.6),
        ("Đinh", 0.6),
        ("Trịnh", 0.5),
        ("Mai", 0.4),
        ("Lương", 0.4),
        ("Lưu", 0.3),
        ("Tạ", 0.3),
        ("Trương", 0.4),
        ("Hà", 0.4),
        ("Cao", 0.3),
        ("Kiều", 0.2),
        ("Chu", 0.3),
        ("Lại", 0.2),
        ("Tô", 0.2),
        ("Quách", 0.1),
        ("Phùng", 0.3),
        ("Lâm", 0.2),
        ("Khổng", 0.1),
        ("Nghiêm", 0.1),
        ("Thái", 0.1),
        ("Triệu", 0.2),
        ("Văn", 0.1),
        ("Doãn", 0.1),
        ("Khúc", 0.1),
    ]
)

# Middle names. Children born after 2005 are given "Văn"/"Thị" far less often
# than their parents; ``generation`` picks the table.
_MALE_MIDDLE_CHILD = [
    ("Văn", 8),
    ("Đức", 9),
    ("Minh", 12),
    ("Hoàng", 6),
    ("Gia", 9),
    ("Quang", 6),
    ("Ngọc", 2),
    ("Anh", 4),
    ("Tuấn", 3),
    ("Hữu", 4),
    ("Thành", 4),
    ("Công", 3),
    ("Xuân", 2),
    ("Trọng", 3),
    ("Bảo", 6),
    ("Đăng", 4),
    ("Duy", 4),
    ("Mạnh", 2),
    ("Việt", 3),
    ("Thế", 2),
    ("Trung", 2),
    ("Tiến", 2),
    ("Khánh", 2),
    ("Nhật", 3),
    ("Hải", 2),
    ("Phúc", 1),
]
_MALE_MIDDLE_ADULT = [
    ("Văn", 40),
    ("Đức", 8),
    ("Minh", 6),
    ("Hoàng", 3),
    ("Quang", 5),
    ("Ngọc", 3),
    ("Anh", 2),
    ("Hữu", 5),
    ("Thành", 3),
    ("Công", 4),
    ("Xuân", 4),
    ("Trọng", 3),
    ("Mạnh", 2),
    ("Việt", 2),
    ("Thế", 3),
    ("Trung", 2),
    ("Tiến", 2),
    ("Đình", 4),
    ("Kim", 1),
    ("Bá", 1),
]
_FEMALE_MIDDLE_CHILD = [
    ("Thị", 10),
    ("Ngọc", 9),
    ("Thu", 5),
    ("Minh", 7),
    ("Thanh", 6),
    ("Phương", 4),
    ("Bảo", 6),
    ("Khánh", 6),
    ("Hà", 3),
    ("Mai", 3),
    ("Thùy", 4),
    ("Hồng", 2),
    ("Kim", 2),
    ("Diệu", 2),
    ("Quỳnh", 2),
    ("Hoài", 2),
    ("Tuệ", 2),
    ("Gia", 4),
    ("Hải", 2),
    ("Như", 2),
    ("Tú", 2),
    ("Yến", 1),
    ("Linh", 2),
    ("Châu", 1),
]
_FEMALE_MIDDLE_ADULT = [
    ("Thị", 55),
    ("Ngọc", 6),
    ("Thu", 6),
    ("Minh", 3),
    ("Thanh", 6),
    ("Phương", 2),
    ("Hà", 2),
    ("Mai", 2),
    ("Thùy", 3),
    ("Hồng", 4),
    ("Kim", 3),
    ("Lan", 1),
    ("Hoài", 1),
    ("Hải", 1),
    ("Bích", 1),
    ("Quỳnh", 1),
    ("Diệu", 1),
    ("Tuyết", 1),
]

_MALE_GIVEN = [
    ("An", 4),
    ("Anh", 6),
    ("Bảo", 3),
    ("Bình", 2),
    ("Cường", 2),
    ("Dũng", 3),
    ("Đạt", 3),
    ("Đức", 3),
    ("Dương", 2),
    ("Duy", 3),
    ("Giang", 1),
    ("Hải", 3),
    ("Hiếu", 3),
    ("Hoàng", 3),
    ("Huy", 5),
    ("Hùng", 3),
    ("Hưng", 3),
    ("Khang", 3),
    ("Khánh", 2),
    ("Khoa", 3),
    ("Khôi", 3),
    ("Kiên", 2),
    ("Lâm", 2),
    ("Long", 4),
    ("Lộc", 2),
    ("Mạnh", 2),
    ("Minh", 6),
    ("Nam", 5),
    ("Nghĩa", 2),
    ("Nguyên", 2),
    ("Nhân", 2),
    ("Phong", 3),
    ("Phúc", 3),
    ("Quân", 4),
    ("Quang", 3),
    ("Sơn", 3),
    ("Tài", 2),
    ("Thắng", 2),
    ("Thành", 3),
    ("Thiện", 1),
    ("Tiến", 2),
    ("Toàn", 2),
    ("Trí", 2),
    ("Trung", 3),
    ("Tú", 2),
    ("Tuấn", 4),
    ("Tùng", 3),
    ("Việt", 2),
    ("Vinh", 2),
    ("Vũ", 2),
    ("Hậu", 1),
    ("Hòa", 1),
    ("Thịnh", 2),
    ("Phát", 2),
    ("Lực", 1),
    ("Chiến", 1),
    ("Hiển", 1),
    ("Kiệt", 2),
    ("Đăng", 2),
    ("Nhật", 2),
]
_FEMALE_GIVEN = [
    ("An", 3),
    ("Anh", 7),
    ("Ánh", 2),
    ("Bích", 1),
    ("Chi", 4),
    ("Diệp", 1),
    ("Dung", 2),
    ("Duyên", 2),
    ("Giang", 3),
    ("Hà", 4),
    ("Hạnh", 2),
    ("Hằng", 3),
    ("Hiền", 3),
    ("Hoa", 2),
    ("Huyền", 3),
    ("Hương", 4),
    ("Lan", 3),
    ("Linh", 7),
    ("Ly", 2),
    ("Mai", 4),
    ("My", 3),
    ("Nga", 2),
    ("Ngân", 3),
    ("Ngọc", 4),
    ("Nhi", 4),
    ("Nhung", 2),
    ("Oanh", 1),
    ("Phương", 4),
    ("Quyên", 1),
    ("Quỳnh", 3),
    ("Tâm", 2),
    ("Thảo", 4),
    ("Thư", 4),
    ("Thủy", 2),
    ("Trang", 5),
    ("Trâm", 2),
    ("Uyên", 2),
    ("Vân", 2),
    ("Vy", 3),
    ("Yến", 2),
    ("Hân", 3),
    ("Khuê", 1),
    ("Châu", 1),
    ("Loan", 1),
    ("Thơ", 1),
    ("Tuyết", 1),
    ("Xuân", 1),
    ("Diệu", 1),
    ("Hồng", 2),
    ("Lệ", 1),
    ("Minh", 2),
    ("Nhàn", 1),
    ("Thanh", 2),
    ("Vi", 1),
]

MIDDLE_NAMES: dict[tuple[Sex, bool], WeightedTable[Part]] = {
    (Sex.MALE, False): _parts(_MALE_MIDDLE_CHILD),
    (Sex.MALE, True): _parts(_MALE_MIDDLE_ADULT),
    (Sex.FEMALE, False): _parts(_FEMALE_MIDDLE_CHILD),
    (Sex.FEMALE, True): _parts(_FEMALE_MIDDLE_ADULT),
}
GIVEN_NAMES: dict[Sex, WeightedTable[Part]] = {
    Sex.MALE: _parts(_MALE_GIVEN),
    Sex.FEMALE: _parts(_FEMALE_GIVEN),
}

# Hà Nội's ethnic make-up (2019 census): Kinh about 97 %, then Mường, Tày, Thái,
# Dao, Nùng, Hoa; a national demo would weigh these very differently.
ETHNICITIES: WeightedTable[str] = WeightedTable(
    [
        ("Kinh", 96.6),
        ("Mường", 1.3),
        ("Tày", 0.6),
        ("Thái", 0.4),
        ("Nùng", 0.3),
        ("Dao", 0.2),
        ("Hoa", 0.2),
        ("H'Mông", 0.2),
        ("Khmer", 0.1),
        ("Sán Dìu", 0.1),
    ],
    slots=10_000,
)


def full_name(
    random: Callable[[], float], sex: Sex, *, adult: bool, family: Part | None = None
) -> tuple[str, str]:
    """A ``(full name, search name)`` pair, e.g. ``("Trần Thu Hà", "tran thu ha")``.

    ``family`` fixes the family name (a child usually carries the father's).
    """
    family = family or FAMILY_NAMES.pick(random)
    middle = MIDDLE_NAMES[sex, adult].pick(random)
    given = GIVEN_NAMES[sex].pick(random)
    if middle.text == given.text:  # "Nguyễn Minh Minh" is legal but odd; step aside
        middle = MIDDLE_NAMES[sex, adult].pick(random)
    return (
        f"{family.text} {middle.text} {given.text}",
        f"{family.folded} {middle.folded} {given.folded}",
    )


#: The pupil the demo search ("nguyen van an") is scripted to find.
DEMO_STUDENT_NAME = "Nguyễn Văn An"

#: Family names by their spelling, to impose one (a father's, the demo pupil's).
FAMILY_NAMES_BY_TEXT: dict[str, Part] = {part.text: part for part in FAMILY_NAMES.distinct}
