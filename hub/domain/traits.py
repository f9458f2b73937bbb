"""Qualities and competencies assessed in primary school (Circular 27/2020, Art. 6–7).

Each is rated Tốt / Đạt / Cần cố gắng at the end of semester I and of the year.
"""

#: Phẩm chất chủ yếu (main qualities), by stable code.
QUALITIES: dict[str, str] = {
    "YEU_NUOC": "Yêu nước",
    "NHAN_AI": "Nhân ái",
    "CHAM_CHI": "Chăm chỉ",
    "TRUNG_THUC": "Trung thực",
    "TRACH_NHIEM": "Trách nhiệm",
}

#: Năng lực cốt lõi: general competencies, then specific ones.
COMPETENCIES: dict[str, str] = {
    "TU_CHU_TU_HOC": "Tự chủ và tự học",
    "GIAO_TIEP_HOP_TAC": "Giao tiếp và hợp tác",
    "GQVD_SANG_TAO": "Giải quyết vấn đề và sáng tạo",
    "NGON_NGU": "Ngôn ngữ",
    "TINH_TOAN": "Tính toán",
    "KHOA_HOC": "Khoa học",
    "CONG_NGHE": "Công nghệ",
    "TIN_HOC": "Tin học",
    "THAM_MI": "Thẩm mĩ",
    "THE_CHAT": "Thể chất",
}

TRAITS: dict[str, str] = QUALITIES | COMPETENCIES
