"""How a signature's stamp text is set in its field: 8 pt when it fits, 7 pt and
wrapped when not, never smaller, and never taller than the field (issue 13, part 3)."""

from datetime import UTC, datetime

import pytest

from hub.documents.pdf import layout
from hub.documents.pdf.stamp_font import stamp_face, width_runs
from hub.signing.pades import _stamp_text

WIDTH, HEIGHT = layout.SignatureRow.FIELD_WIDTH, layout.SignatureRow.FIELD_HEIGHT
SIGNED_AT = datetime(2026, 5, 31, 9, 30, tzinfo=UTC)


def stamp(signer: str, *, width: float = WIDTH, height: float = HEIGHT) -> tuple[int, list[str]]:
    text = _stamp_text(
        signer=signer, role="Hiệu trưởng", signed_at=SIGNED_AT, width=width, height=height
    )
    for line in text.lines:
        assert stamp_face().width(line, text.font_size) <= width - 6, line
    assert len(text.lines) * (text.font_size + 2) - 2 <= height - 6
    return text.font_size, list(text.lines)


def test_a_short_name_is_three_lines_at_8_pt_in_vietnam_time() -> None:
    assert stamp("Trần Văn Minh") == (
        8,
        ["Ký bởi: Trần Văn Minh", "Vai trò: Hiệu trưởng", "Ngày ký: 31/05/2026 16:30:00 (GMT+7)"],
    )


def test_a_name_slightly_too_long_for_8_pt_is_set_at_7() -> None:
    name = "Trường Tiểu học Nguyễn Bỉnh Khiêm"
    assert stamp_face().width(f"Ký bởi: {name}", 8) > WIDTH - 6
    assert stamp_face().width(f"Ký bởi: {name}", 7) <= WIDTH - 6
    assert stamp(name) == (7, [f"Ký bởi: {name}", *stamp("Trần Văn Minh")[1][1:]])


def test_a_long_name_wraps_at_word_boundaries_at_7_pt() -> None:
    name = "Trường Tiểu học và THCS Nguyễn Bỉnh Khiêm, quận Ba Đình"
    size, lines = stamp(name)
    assert size == 7 and len(lines) == 4
    assert lines[0].startswith("Ký bởi: Trường") and lines[1].startswith("   ")
    assert " ".join(line.strip() for line in lines[:2]) == f"Ký bởi: {name}"


@pytest.mark.parametrize("height", [HEIGHT, 15 * 2.834645669])  # today's fields, 15 mm ones
def test_a_name_too_long_for_the_field_is_cut_but_role_and_time_stay(height: float) -> None:
    size, lines = stamp("Nguyễn " * 40, height=height)
    assert size == 7
    assert lines[-2:] == ["Vai trò: Hiệu trưởng", "Ngày ký: 31/05/2026 16:30:00 (GMT+7)"]
    assert lines[-3].endswith("…")


def test_width_runs_group_consecutive_glyphs() -> None:
    assert width_runs({3: 500, 4: 600, 5: 700, 9: 250, 1: 10}) == [
        1,
        [10],
        3,
        [500, 600, 700],
        9,
        [250],
    ]
