"""Stable problem codes with the Vietnamese message a teacher or vendor reads.

Vendor apps translate and act on ``code``; people read ``message``. A code, once
published, never changes meaning.
"""

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    PERSONAL_ID_FORMAT = "PERSONAL_ID_FORMAT"
    PERSONAL_ID_PROVINCE_UNKNOWN = "PERSONAL_ID_PROVINCE_UNKNOWN"
    PERSONAL_ID_BIRTH_YEAR_MISMATCH = "PERSONAL_ID_BIRTH_YEAR_MISMATCH"
    PERSONAL_ID_SEX_MISMATCH = "PERSONAL_ID_SEX_MISMATCH"
    PERSONAL_ID_TAKEN = "PERSONAL_ID_TAKEN"
    MINISTRY_CODE_TAKEN = "MINISTRY_CODE_TAKEN"
    NATURAL_KEY_MISSING = "NATURAL_KEY_MISSING"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    SCHOOL_NOT_FOUND = "SCHOOL_NOT_FOUND"
    CLASS_NOT_FOUND = "CLASS_NOT_FOUND"
    STUDENT_NOT_FOUND = "STUDENT_NOT_FOUND"
    STUDENT_ENROLLED_ELSEWHERE = "STUDENT_ENROLLED_ELSEWHERE"
    WRITE_CONFLICT = "WRITE_CONFLICT"
    NAME_REQUIRED = "NAME_REQUIRED"
    BIRTH_DATE_INVALID = "BIRTH_DATE_INVALID"
    ROLE_REQUIRED = "ROLE_REQUIRED"
    GUARDIAN_IDENTITY_REQUIRED = "GUARDIAN_IDENTITY_REQUIRED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    SCORE_OUT_OF_RANGE = "SCORE_OUT_OF_RANGE"
    SCORE_PRECISION = "SCORE_PRECISION"
    TEST_SCORE_INVALID = "TEST_SCORE_INVALID"
    REGULAR_COUNT_MISMATCH = "REGULAR_COUNT_MISMATCH"
    ASSESSMENT_KIND_MISMATCH = "ASSESSMENT_KIND_MISMATCH"
    ASSESSMENT_INCOMPLETE = "ASSESSMENT_INCOMPLETE"
    SUBJECT_NOT_FOUND = "SUBJECT_NOT_FOUND"
    SUBJECT_NOT_IN_CLASS = "SUBJECT_NOT_IN_CLASS"
    SUBJECT_NOT_TESTED = "SUBJECT_NOT_TESTED"
    TRAIT_NOT_FOUND = "TRAIT_NOT_FOUND"
    SCHOOL_YEAR_NOT_FOUND = "SCHOOL_YEAR_NOT_FOUND"
    NOT_ENROLLED = "NOT_ENROLLED"
    LEVEL_MISMATCH = "LEVEL_MISMATCH"
    TRANSCRIPT_STATE = "TRANSCRIPT_STATE"
    TRANSCRIPT_LOCKED = "TRANSCRIPT_LOCKED"
    TRANSCRIPT_NOT_FOUND = "TRANSCRIPT_NOT_FOUND"
    PERSONAL_ID_MISSING = "PERSONAL_ID_MISSING"
    SIGNING_ORDER = "SIGNING_ORDER"
    CORRECTION_REASON_REQUIRED = "CORRECTION_REASON_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    # Signing providers (RULES.md §4, PROVIDERS.md): what went wrong and what to do.
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    PROVIDER_FAILURE = "PROVIDER_FAILURE"
    SIGNER_NOT_CONFIRMED = "SIGNER_NOT_CONFIRMED"
    SIGNER_REJECTED = "SIGNER_REJECTED"
    CERTIFICATE_EXPIRED = "CERTIFICATE_EXPIRED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
    PROVIDER_BAD_CREDENTIALS = "PROVIDER_BAD_CREDENTIALS"
    PROVIDER_USER_UNKNOWN = "PROVIDER_USER_UNKNOWN"
    CREDENTIAL_NOT_FOUND = "CREDENTIAL_NOT_FOUND"
    SIGNING_FAILED = "SIGNING_FAILED"
    SIGNER_NOT_ROLE_HOLDER = "SIGNER_NOT_ROLE_HOLDER"
    TIMESTAMP_UNAVAILABLE = "TIMESTAMP_UNAVAILABLE"


MESSAGES: dict[Code, str] = {
    Code.PERSONAL_ID_FORMAT: "Mã định danh cá nhân phải gồm đúng 12 chữ số.",
    Code.PERSONAL_ID_PROVINCE_UNKNOWN: (
        "Ba số đầu của mã định danh ({prefix}) không phải mã tỉnh/thành đã biết; "
        "vui lòng kiểm tra lại."
    ),
    Code.PERSONAL_ID_BIRTH_YEAR_MISMATCH: (
        "Năm sinh {birth_year} không khớp với mã định danh (mã cho năm {id_year}); "
        "bản ghi không được lưu, vui lòng đối chiếu với căn cước."
    ),
    Code.PERSONAL_ID_SEX_MISMATCH: (
        "Giới tính không khớp với mã định danh; bản ghi được lưu và đánh dấu cần rà soát."
    ),
    Code.PERSONAL_ID_TAKEN: "Mã định danh này đã thuộc về một người khác trong hệ thống.",
    Code.MINISTRY_CODE_TAKEN: "Mã học sinh (Bộ GDĐT) {value} đã thuộc về một học sinh khác.",
    Code.NATURAL_KEY_MISSING: "Cần có mã định danh cá nhân hoặc mã học sinh của Bộ GDĐT.",
    Code.DUPLICATE_IN_BATCH: "Bản ghi bị lặp trong cùng một lần gửi (dòng {first}).",
    Code.SCHOOL_NOT_FOUND: "Không tìm thấy trường có mã {value} trong phạm vi được phép.",
    Code.CLASS_NOT_FOUND: "Không tìm thấy lớp {name} của trường {school} trong năm học hiện tại.",
    Code.STUDENT_NOT_FOUND: (
        "Không tìm thấy học sinh có mã định danh {key} trong phạm vi được phép."
    ),
    Code.STUDENT_ENROLLED_ELSEWHERE: (
        "Học sinh có mã định danh này đang học tại trường khác; việc chuyển trường "
        "cần được thực hiện qua thủ tục chuyển trường."
    ),
    Code.WRITE_CONFLICT: (
        "Dòng này xung đột với dữ liệu vừa được ghi đồng thời; vui lòng gửi lại dòng này."
    ),
    Code.NAME_REQUIRED: "Họ và tên không được để trống.",
    Code.BIRTH_DATE_INVALID: "Ngày sinh không hợp lệ (sau hôm nay hoặc trước năm 1900).",
    Code.ROLE_REQUIRED: "Cần ít nhất một vai trò cho mỗi trường được phân công.",
    Code.GUARDIAN_IDENTITY_REQUIRED: (
        "Cần mã định danh hoặc số điện thoại của cha mẹ/người giám hộ."
    ),
    Code.BATCH_TOO_LARGE: "Mỗi lần gửi tối đa {limit} bản ghi (đã gửi {count}).",
    Code.SCORE_OUT_OF_RANGE: "Điểm {value} nằm ngoài thang điểm 0–10.",
    Code.SCORE_PRECISION: "Điểm {value} chỉ được là số nguyên hoặc có một chữ số thập phân.",
    Code.TEST_SCORE_INVALID: (
        "Điểm bài kiểm tra định kì ở tiểu học là số nguyên từ 0 đến 10 (đã gửi {value})."
    ),
    Code.REGULAR_COUNT_MISMATCH: (
        "Môn {subject} có {periods} tiết/năm nên mỗi học kì cần đúng {expected} điểm "
        "đánh giá thường xuyên (đã gửi {count})."
    ),
    Code.ASSESSMENT_KIND_MISMATCH: (
        "Môn {subject} được đánh giá bằng {expected}, không nhận {given}."
    ),
    Code.ASSESSMENT_INCOMPLETE: "Thiếu {what} của môn {subject}.",
    Code.SUBJECT_NOT_FOUND: "Không có môn học mã {value} trong danh mục.",
    Code.SUBJECT_NOT_IN_CLASS: "Lớp {class_name} (khối {grade}) không học môn {subject}.",
    Code.SUBJECT_NOT_TESTED: "Môn {subject} không có bài kiểm tra định kì ở khối {grade}.",
    Code.TRAIT_NOT_FOUND: "Không có phẩm chất/năng lực mã {value}.",
    Code.SCHOOL_YEAR_NOT_FOUND: "Không có năm học {value}.",
    Code.NOT_ENROLLED: "Học sinh chưa được xếp lớp trong năm học {year}.",
    Code.LEVEL_MISMATCH: ("Học sinh học khối {grade}: {expected}."),
    Code.TRANSCRIPT_STATE: "Học bạ đang ở trạng thái “{state}”, không thể {action}.",
    Code.TRANSCRIPT_LOCKED: (
        "Học bạ năm học {year} đã khoá hoặc đã ký; muốn thay đổi điểm cần lập bản điều chỉnh."
    ),
    Code.TRANSCRIPT_NOT_FOUND: "Không tìm thấy học bạ trong phạm vi được phép.",
    Code.PERSONAL_ID_MISSING: (
        "Học sinh chưa có mã định danh cá nhân nên học bạ không thể khoá điểm và ký số; "
        "cần cập nhật mã định danh trước."
    ),
    Code.SIGNING_ORDER: "{role} chưa thể ký: học bạ đang chờ {expected} ký.",
    Code.CORRECTION_REASON_REQUIRED: "Bản điều chỉnh học bạ phải ghi rõ lý do điều chỉnh.",
    Code.FORBIDDEN: "Ứng dụng không có quyền thực hiện thao tác này ({scope}).",
    Code.UNAUTHENTICATED: "Thiếu hoặc sai mã truy cập (access token).",
    Code.INVALID_ARGUMENT: "Tham số không hợp lệ: {detail}.",
    Code.PROVIDER_UNAVAILABLE: (
        "Không kết nối được máy chủ ký số {provider}; chưa có gì được ký. Vui lòng thử lại "
        "sau ít phút, hoặc báo bộ phận kỹ thuật nếu lỗi kéo dài."
    ),
    Code.PROVIDER_FAILURE: (
        "Máy chủ ký số {provider} báo lỗi nội bộ ({detail}); chưa có gì được ký. "
        "Vui lòng thử lại sau."
    ),
    Code.SIGNER_NOT_CONFIRMED: (
        "Yêu cầu ký chưa được xác nhận trên ứng dụng {provider} trong thời gian cho phép; "
        "vui lòng ký lại và xác nhận trên điện thoại."
    ),
    Code.SIGNER_REJECTED: (
        "Người ký đã từ chối yêu cầu ký trên ứng dụng {provider}; học bạ chưa được ký."
    ),
    Code.CERTIFICATE_EXPIRED: (
        "Chứng thư số {provider} của người ký đã hết hạn; cần gia hạn chứng thư số rồi ký lại."
    ),
    Code.CERTIFICATE_REVOKED: (
        "Chứng thư số {provider} của người ký đã bị thu hồi hoặc tạm dừng; cần liên hệ "
        "nhà cung cấp để cấp lại."
    ),
    Code.QUOTA_EXHAUSTED: (
        "Gói dịch vụ ký số {provider} đã hết lượt ký; cần gia hạn gói dịch vụ rồi ký lại."
    ),
    Code.PROVIDER_BAD_CREDENTIALS: (
        "Thông tin kết nối của hệ thống với {provider} không đúng hoặc đã hết hạn; "
        "báo quản trị hệ thống của Sở kiểm tra cấu hình."
    ),
    Code.PROVIDER_USER_UNKNOWN: (
        "Tài khoản ký số {user} không tồn tại ở {provider}; kiểm tra lại tên đăng nhập "
        "hoặc đăng ký dịch vụ ký số."
    ),
    Code.CREDENTIAL_NOT_FOUND: (
        "Không tìm thấy chứng thư số {credential} của người ký ở {provider}."
    ),
    Code.SIGNING_FAILED: "Ký số không thành công ở {provider}: {detail}.",
    Code.TIMESTAMP_UNAVAILABLE: (
        "Chữ ký đã được xác nhận nhưng chưa lấy được dấu thời gian ({detail}); học bạ chưa "
        "thay đổi. Hệ thống sẽ hoàn tất khi dịch vụ dấu thời gian hoạt động trở lại: "
        "hỏi lại kết quả sau ít phút, không cần ký lại."
    ),
    Code.SIGNER_NOT_ROLE_HOLDER: (
        "Người có mã định danh {person} không phải là {role} của các học bạ này "
        "theo hồ sơ của trường."
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, in a form both a program and a person can use."""

    code: Code
    message: str
    field: str | None = None


def problem(code: Code, field: str | None = None, **details: object) -> Problem:
    """Build the problem for ``code`` with its Vietnamese message filled in."""
    return Problem(code=code, message=MESSAGES[code].format(**details), field=field)


class HubError(Exception):
    """A request the hub refuses as a whole, carrying a stable code."""

    def __init__(self, code: Code, **details: object) -> None:
        self.problem = problem(code, **details)
        super().__init__(self.problem.message)
