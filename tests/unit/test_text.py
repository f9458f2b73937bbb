from hub.domain.text import fold, normalise_name


def test_fold_removes_vietnamese_diacritics_and_case():
    assert fold("Nguyễn Văn An") == "nguyen van an"
    assert fold("ĐẶNG  Thị   Ngọc Ánh") == "dang thi ngoc anh"
    assert fold("Hồ Hữu Lộc") == "ho huu loc"


def test_fold_is_the_same_for_composed_and_decomposed_input():
    composed = "Trần Thị Thuỷ"
    decomposed = __import__("unicodedata").normalize("NFD", composed)
    assert fold(composed) == fold(decomposed) == "tran thi thuy"


def test_normalise_name_stores_nfc_single_spaced():
    decomposed = __import__("unicodedata").normalize("NFD", "Lê Văn")
    assert normalise_name(decomposed) == "Lê Văn" and len(normalise_name(decomposed)) == 6
    assert normalise_name(" Lê   Văn  Tám ") == "Lê Văn Tám"
