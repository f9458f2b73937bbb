from hub.domain.text import clean_text, fold


def test_fold_removes_vietnamese_diacritics_and_case():
    assert fold("Nguyễn Văn An") == "nguyen van an"
    assert fold("ĐẶNG  Thị   Ngọc Ánh") == "dang thi ngoc anh"
    assert fold("Hồ Hữu Lộc") == "ho huu loc"


def test_fold_is_the_same_for_composed_and_decomposed_input():
    composed = "Trần Thị Thuỷ"
    decomposed = __import__("unicodedata").normalize("NFD", composed)
    assert fold(composed) == fold(decomposed) == "tran thi thuy"


def test_names_are_stored_nfc_single_spaced():
    decomposed = __import__("unicodedata").normalize("NFD", "Lê Văn")
    stored = clean_text(decomposed, field="fullName", limit=200).value
    assert stored == "Lê Văn" and stored is not None and len(stored) == 6
    assert clean_text(" Lê   Văn  Tám ", field="fullName", limit=200).value == "Lê Văn Tám"


def test_clean_text_is_the_one_gate_for_human_text():
    from hub.domain.problems import Code

    def codes(value: str, **kwargs: object) -> list[Code]:
        options = {"field": "fullName", "limit": 200} | kwargs
        return [p.code for p in clean_text(value, **options).problems]  # type: ignore[arg-type]

    decomposed = "Nguye\u0302\u0303n  Va\u0306n   A"
    assert clean_text(decomposed, field="f", limit=200).value == "Nguyễn Văn A"
    assert codes("A\x00B") == [Code.TEXT_CONTROL_CHARACTERS]
    assert codes("\x1b[31mA") == [Code.TEXT_CONTROL_CHARACTERS]
    assert codes("A\u202eB") == [Code.TEXT_CONTROL_CHARACTERS]
    assert codes("A\ufffe") == [Code.TEXT_CONTROL_CHARACTERS]
    assert codes("\u200b\u200c\ufeff") == [Code.TEXT_INVISIBLE]
    assert codes("x" * 201) == [Code.TEXT_TOO_LONG]
    assert codes("   ", required=True) == [Code.NAME_REQUIRED]
    assert clean_text("   ", field="f", limit=5).value is None
    kept = clean_text("Dòng 1\r\n\tDòng 2  \n", field="c", limit=100, multiline=True)
    assert kept.value == "Dòng 1\n\tDòng 2"
    assert codes("Dòng 1\nDòng 2") == []  # a newline in a name is folded to a space
