"""Stable problem codes with the Vietnamese message a teacher or vendor reads.

Vendor apps translate and act on ``code``; people read ``message``. A code, once
published, never changes meaning.
"""

from collections.abc import Mapping
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
    TRANSCRIPT_EMPTY = "TRANSCRIPT_EMPTY"
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
    SIGNATURE_PENDING = "SIGNATURE_PENDING"
    SIGNER_NOT_ROLE_HOLDER = "SIGNER_NOT_ROLE_HOLDER"
    TIMESTAMP_UNAVAILABLE = "TIMESTAMP_UNAVAILABLE"
    # Requests the hub refuses before or around execution (issue 9).
    INVALID_ID = "INVALID_ID"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    QUERY_TOO_MANY_ALIASES = "QUERY_TOO_MANY_ALIASES"
    QUERY_TOO_MANY_TOKENS = "QUERY_TOO_MANY_TOKENS"
    QUERY_TOO_MANY_DIRECTIVES = "QUERY_TOO_MANY_DIRECTIVES"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    QUERY_TIMEOUT = "QUERY_TIMEOUT"
    OPERATION_NOT_TRUSTED = "OPERATION_NOT_TRUSTED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    # Human text (one gate for every write) and identities shared between schools.
    TEXT_CONTROL_CHARACTERS = "TEXT_CONTROL_CHARACTERS"
    TEXT_INVISIBLE = "TEXT_INVISIBLE"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    IDENTITY_HELD_ELSEWHERE = "IDENTITY_HELD_ELSEWHERE"
    ASSIGNMENT_NOT_FOUND = "ASSIGNMENT_NOT_FOUND"
    # One student's transcript cannot be drafted; the rest of the class is.
    TRANSCRIPT_CONTENT_INVALID = "TRANSCRIPT_CONTENT_INVALID"
    TRANSCRIPT_LAYOUT_OVERFLOW = "TRANSCRIPT_LAYOUT_OVERFLOW"
    TRANSCRIPT_DRAFT_FAILED = "TRANSCRIPT_DRAFT_FAILED"
    # People sign in, act through apps, give consent (issue 11).
    IDENTITY_PROVIDER_UNAVAILABLE = "IDENTITY_PROVIDER_UNAVAILABLE"
    IDENTITY_ANSWER_INVALID = "IDENTITY_ANSWER_INVALID"
    LOGIN_EXPIRED = "LOGIN_EXPIRED"
    LOGIN_CANCELLED = "LOGIN_CANCELLED"
    PERSON_UNKNOWN = "PERSON_UNKNOWN"
    ACCOUNT_LEVEL_TOO_LOW = "ACCOUNT_LEVEL_TOO_LOW"
    SESSION_REQUIRED = "SESSION_REQUIRED"
    CSRF_FAILED = "CSRF_FAILED"
    PERSON_REQUIRED = "PERSON_REQUIRED"
    SIGNER_NOT_CALLER = "SIGNER_NOT_CALLER"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    CONSENT_INVALID = "CONSENT_INVALID"
    CONSENT_NOT_FOUND = "CONSENT_NOT_FOUND"
    GUARDIAN_NOT_VERIFIED = "GUARDIAN_NOT_VERIFIED"
    POPULATION_UNAVAILABLE = "POPULATION_UNAVAILABLE"
    GUARDIAN_LINK_NOT_FOUND = "GUARDIAN_LINK_NOT_FOUND"
    # An admission officer looks up a transcript shared under a consent (issue 12).
    ADMISSION_OFFICER_REQUIRED = "ADMISSION_OFFICER_REQUIRED"
    CONSENT_REVOKED = "CONSENT_REVOKED"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_PENDING = "CONSENT_PENDING"
    # A CSC server the hub cannot use as configured (issue 13).
    PROVIDER_AUTH_NOT_OFFERED = "PROVIDER_AUTH_NOT_OFFERED"
    CREDENTIAL_AUTHORIZATION_MISSING = "CREDENTIAL_AUTHORIZATION_MISSING"
    SIGNATURE_ALGORITHM_UNSUPPORTED = "SIGNATURE_ALGORITHM_UNSUPPORTED"
    SIGNER_OTP_WRONG = "SIGNER_OTP_WRONG"
    SIGNER_AUTHORIZATION_REFUSED = "SIGNER_AUTHORIZATION_REFUSED"
    # Lists and reports as files (issue 14).
    EXPORT_TOO_LARGE = "EXPORT_TOO_LARGE"
    # Spreadsheet import (issue 14): a file the hub cannot read, a cell it cannot parse.
    SPREADSHEET_UNREADABLE = "SPREADSHEET_UNREADABLE"
    SPREADSHEET_HEADER_UNKNOWN = "SPREADSHEET_HEADER_UNKNOWN"
    SPREADSHEET_EMPTY = "SPREADSHEET_EMPTY"
    SPREADSHEET_TOO_MANY_ROWS = "SPREADSHEET_TOO_MANY_ROWS"
    CELL_REQUIRED = "CELL_REQUIRED"
    CELL_DATE_INVALID = "CELL_DATE_INVALID"
    CELL_NUMBER_INVALID = "CELL_NUMBER_INVALID"
    CELL_VALUE_NOT_ALLOWED = "CELL_VALUE_NOT_ALLOWED"


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
    Code.TRANSCRIPT_EMPTY: (
        "Học bạ chưa có kết quả học tập, rèn luyện nào nên chưa thể khoá điểm để ký; "
        "cần nhập sổ điểm rồi lập lại bản nháp."
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
    Code.SIGNATURE_PENDING: (
        "{count} học bạ đang nằm trong một yêu cầu ký khác ({role}) chưa kết thúc; chưa gửi "
        "thêm yêu cầu nào. Hãy xác nhận yêu cầu đó trên điện thoại hoặc chờ nó kết thúc, rồi "
        "thử lại."
    ),
    Code.TIMESTAMP_UNAVAILABLE: (
        "Chữ ký đã được xác nhận nhưng chưa lấy được dấu thời gian ({detail}); học bạ chưa "
        "thay đổi. Hệ thống sẽ hoàn tất khi dịch vụ dấu thời gian hoạt động trở lại: "
        "hỏi lại kết quả sau ít phút, không cần ký lại."
    ),
    Code.SIGNER_NOT_ROLE_HOLDER: (
        "Người có mã định danh {person} không phải là {role} của các học bạ này "
        "theo hồ sơ của trường."
    ),
    Code.INVALID_ID: "Mã (ID) hoặc con trỏ trang (cursor) {field} không hợp lệ.",
    Code.INTERNAL_ERROR: (
        "Hệ thống gặp lỗi không mong muốn; vui lòng thử lại. Nếu lỗi lặp lại, báo bộ phận "
        "kỹ thuật của Sở kèm mã tra cứu {correlation_id}."
    ),
    Code.GRAPHQL_PARSE_FAILED: "Câu truy vấn GraphQL sai cú pháp: {detail}.",
    Code.GRAPHQL_VALIDATION_FAILED: "Câu truy vấn GraphQL không hợp lệ: {detail}.",
    Code.QUERY_TOO_DEEP: "Câu truy vấn lồng quá sâu ({depth} tầng; tối đa {limit}).",
    Code.QUERY_TOO_MANY_ALIASES: "Câu truy vấn dùng quá nhiều bí danh ({count}; tối đa {limit}).",
    Code.QUERY_TOO_MANY_TOKENS: "Câu truy vấn quá dài ({count} ký hiệu; tối đa {limit}).",
    Code.QUERY_TOO_MANY_DIRECTIVES: (
        "Câu truy vấn dùng quá nhiều chỉ thị ({count}; tối đa {limit})."
    ),
    Code.QUERY_TOO_COSTLY: (
        "Câu truy vấn đòi quá nhiều dữ liệu một lần (chi phí ước tính {cost}; tối đa {limit}); "
        "hãy giảm số bản ghi mỗi trang hoặc bớt trường lồng nhau."
    ),
    Code.QUERY_TIMEOUT: "Câu truy vấn chạy quá {seconds} giây và đã bị dừng; hãy thu hẹp truy vấn.",
    Code.OPERATION_NOT_TRUSTED: "Hệ thống chỉ nhận các câu truy vấn đã đăng ký trước.",
    Code.INTROSPECTION_DISABLED: (
        "Không được tra cứu cấu trúc API (introspection); tải tệp lược đồ tại {url}."
    ),
    Code.REQUEST_TOO_LARGE: "Yêu cầu lớn hơn giới hạn cho phép ({limit} byte).",
    Code.TOO_MANY_REQUESTS: "Quá nhiều lần thử; vui lòng thử lại sau {seconds} giây.",
    Code.TEXT_CONTROL_CHARACTERS: "Trường {field} chứa ký tự điều khiển không được phép.",
    Code.TEXT_INVISIBLE: "Trường {field} chỉ gồm ký tự không nhìn thấy được.",
    Code.TEXT_TOO_LONG: "Trường {field} dài {length} ký tự; tối đa {limit} ký tự.",
    Code.IDENTITY_MISMATCH: (
        "Thông tin nhận dạng (mã định danh, họ tên, ngày sinh) không khớp với hồ sơ đã có; "
        "bản ghi không được ghi. Vui lòng đối chiếu với căn cước."
    ),
    Code.IDENTITY_HELD_ELSEWHERE: (
        "Người này còn gắn với đơn vị khác nên ứng dụng không được sửa họ tên, ngày sinh, "
        "giới tính; đề nghị Sở GDĐT điều chỉnh."
    ),
    Code.ASSIGNMENT_NOT_FOUND: "Không có phân công hoặc liên kết này trong phạm vi được phép.",
    Code.TRANSCRIPT_CONTENT_INVALID: (
        "Dữ liệu của học sinh có giá trị không ghi được vào học bạ số (ký tự không hợp lệ "
        "hoặc kết quả sai định dạng); học bạ của học sinh này chưa được lập. Cần sửa hồ sơ "
        "hoặc sổ điểm rồi lập lại."
    ),
    Code.TRANSCRIPT_LAYOUT_OVERFLOW: (
        "Nội dung học bạ của học sinh (họ tên, nhận xét…) quá dài, không trình bày được trên "
        "trang học bạ; học bạ của học sinh này chưa được lập. Cần rút gọn rồi lập lại."
    ),
    Code.TRANSCRIPT_DRAFT_FAILED: (
        "Hệ thống gặp lỗi không mong muốn khi lập học bạ của học sinh này (các học sinh khác "
        "vẫn được lập). Vui lòng thử lại; nếu lỗi lặp lại, báo bộ phận kỹ thuật của Sở kèm "
        "mã tra cứu {reference}."
    ),
    Code.IDENTITY_PROVIDER_UNAVAILABLE: (
        "Hệ thống đăng nhập ({provider}) đang không phản hồi; bạn chưa được đăng nhập. Vui "
        "lòng thử lại sau ít phút."
    ),
    Code.IDENTITY_ANSWER_INVALID: (
        "Hệ thống đăng nhập ({provider}) trả lời không hợp lệ; bạn chưa được đăng nhập. Vui "
        "lòng đăng nhập lại."
    ),
    Code.LOGIN_EXPIRED: (
        "Lượt đăng nhập này đã hết hạn, đã được dùng hoặc không hợp lệ; vui lòng đăng nhập "
        "lại từ đầu."
    ),
    Code.LOGIN_CANCELLED: "Bạn chưa đồng ý đăng nhập ở hệ thống đăng nhập; chưa có gì thay đổi.",
    Code.PERSON_UNKNOWN: (
        "Mã định danh của bạn chưa có trong hồ sơ của ngành giáo dục tỉnh (cán bộ, giáo viên,"
        " học sinh hoặc cha mẹ học sinh đã được xác thực). Vui lòng liên hệ nhà trường."
    ),
    Code.ACCOUNT_LEVEL_TOO_LOW: (
        "Cán bộ, giáo viên cần đăng nhập bằng tài khoản định danh điện tử mức {level} trở lên."
    ),
    Code.SESSION_REQUIRED: "Bạn cần đăng nhập để tiếp tục.",
    Code.CSRF_FAILED: (
        "Yêu cầu không đến từ trang của hệ thống (thiếu hoặc sai mã chống giả mạo); chưa có "
        "gì thay đổi. Vui lòng tải lại trang."
    ),
    Code.PERSON_REQUIRED: (
        "Chữ ký của {role} phải do chính người ký yêu cầu qua ứng dụng đã được người đó đăng "
        "nhập và cho phép; ứng dụng không được tự ghi tên người ký."
    ),
    Code.SIGNER_NOT_CALLER: "Chỉ được yêu cầu chữ ký của chính người đang đăng nhập.",
    Code.CONSENT_REQUIRED: (
        "Chưa có sự đồng ý còn hiệu lực của học sinh và cha mẹ/người giám hộ cho đơn vị này "
        "đọc hồ sơ; không có thông tin nào được cung cấp."
    ),
    Code.CONSENT_INVALID: "Nội dung đồng ý không hợp lệ: {reason}.",
    Code.CONSENT_NOT_FOUND: "Không tìm thấy sự đồng ý này trong các sự đồng ý bạn đã cho.",
    Code.GUARDIAN_NOT_VERIFIED: (
        "Quan hệ cha mẹ/người giám hộ với học sinh chưa được xác thực (qua CSDL quốc gia về "
        "dân cư hoặc kiểm tra trực tiếp tại trường)."
    ),
    Code.POPULATION_UNAVAILABLE: (
        "CSDL quốc gia về dân cư đang không phản hồi; việc xác thực sẽ được thử lại sau."
    ),
    Code.GUARDIAN_LINK_NOT_FOUND: (
        "Không tìm thấy liên kết cha mẹ/người giám hộ này trong phạm vi được phép."
    ),
    Code.ADMISSION_OFFICER_REQUIRED: (
        "Trang này dành cho cán bộ tuyển sinh của một đơn vị tuyển sinh được Sở GDĐT cấp "
        "quyền; tài khoản của bạn chưa có quyền này."
    ),
    Code.CONSENT_REVOKED: (
        "Gia đình đã rút lại sự đồng ý số {consent} lúc {at}; không có thông tin nào được "
        "cung cấp. Nếu cần, đề nghị gia đình cho sự đồng ý mới."
    ),
    Code.CONSENT_EXPIRED: (
        "Sự đồng ý số {consent} đã hết thời hạn (hết ngày {last_day}); không có thông tin "
        "nào được cung cấp. Nếu cần, đề nghị gia đình cho sự đồng ý mới."
    ),
    Code.CONSENT_PENDING: (
        "Sự đồng ý số {consent} chưa có hiệu lực: {reason}; chưa có thông tin nào được cung cấp."
    ),
    Code.PROVIDER_AUTH_NOT_OFFERED: (
        "Máy chủ ký số {provider} không cho phép cách đăng nhập mà hệ thống được cấu hình "
        "({detail}); chưa có gì được ký. Báo quản trị hệ thống của Sở kiểm tra cấu hình."
    ),
    Code.CREDENTIAL_AUTHORIZATION_MISSING: (
        "Chứng thư số trên {provider} cần {detail} để ký mà hệ thống chưa được cung cấp; "
        "chưa có gì được ký. Báo quản trị hệ thống của Sở kiểm tra cấu hình."
    ),
    Code.SIGNATURE_ALGORITHM_UNSUPPORTED: (
        "Khóa ký trên {provider} chỉ ký được bằng thuật toán hệ thống không hỗ trợ "
        "({detail}); chưa có gì được ký. Hãy dùng chứng thư số RSA hoặc ECDSA."
    ),
    Code.SIGNER_OTP_WRONG: (
        "Mã OTP không đúng hoặc đã hết hạn ({provider}); chưa có gì được ký. Hãy ký lại "
        "để nhận mã mới."
    ),
    Code.SIGNER_AUTHORIZATION_REFUSED: (
        "Nhà cung cấp chữ ký số không chấp nhận xác nhận của người ký ({provider}): mã xác "
        "nhận sai, đã dùng hoặc đã hết hạn; chưa có gì được ký. Hãy ký lại và xác nhận "
        "tại nhà cung cấp."
    ),
    Code.SPREADSHEET_UNREADABLE: (
        "Tệp không phải bảng tính đọc được (XLSX, hoặc CSV mã UTF-8); không có dữ liệu nào "
        "được ghi."
    ),
    Code.SPREADSHEET_HEADER_UNKNOWN: (
        "Không tìm thấy dòng tiêu đề của mẫu «{layout}» (thiếu cột: {columns}); hãy dùng mẫu "
        "tải về từ hệ thống. Không có dữ liệu nào được ghi."
    ),
    Code.SPREADSHEET_EMPTY: "Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.",
    Code.SPREADSHEET_TOO_MANY_ROWS: (
        "Tệp có hơn {limit} dòng dữ liệu, quá giới hạn một lần nhập; hãy chia thành nhiều "
        "tệp. Không có dữ liệu nào được ghi."
    ),
    Code.CELL_REQUIRED: "Cột «{column}» không được để trống.",
    Code.CELL_DATE_INVALID: (
        "Cột «{column}»: «{value}» không phải ngày hợp lệ (ngày/tháng/năm, ví dụ 05/09/2013)."
    ),
    Code.CELL_NUMBER_INVALID: "Cột «{column}»: «{value}» không phải số hợp lệ.",
    Code.CELL_VALUE_NOT_ALLOWED: (
        "Cột «{column}»: «{value}» không thuộc các giá trị cho phép ({allowed})."
    ),
    Code.EXPORT_TOO_LARGE: (
        "Danh sách có {count} dòng, vượt quá {limit} dòng mỗi tệp; hãy lọc hẹp lại (theo "
        "trường, lớp…) rồi tải từng phần."
    ),
}


#: The same messages in English, for vendors' developers and logs (``extensions.messageEn``).
MESSAGES_EN: dict[Code, str] = {
    Code.PERSONAL_ID_FORMAT: "A personal ID number has exactly 12 digits.",
    Code.PERSONAL_ID_PROVINCE_UNKNOWN: (
        "The first three digits of the personal ID ({prefix}) are not a known province code; "
        "please check it."
    ),
    Code.PERSONAL_ID_BIRTH_YEAR_MISMATCH: (
        "Birth year {birth_year} does not match the personal ID (which encodes {id_year}); "
        "the record was not saved, please check it against the ID card."
    ),
    Code.PERSONAL_ID_SEX_MISMATCH: (
        "The sex does not match the personal ID; the record was saved and flagged for review."
    ),
    Code.PERSONAL_ID_TAKEN: "This personal ID already belongs to someone else in the system.",
    Code.MINISTRY_CODE_TAKEN: "Student code (Ministry of Education) {value} belongs to "
    "another student.",
    Code.NATURAL_KEY_MISSING: "A personal ID or the Ministry of Education student code is "
    "required.",
    Code.DUPLICATE_IN_BATCH: "The record is repeated in the same submission (row {first}).",
    Code.SCHOOL_NOT_FOUND: "No school with code {value} within the permitted scope.",
    Code.CLASS_NOT_FOUND: "No class {name} at school {school} in the current school year.",
    Code.STUDENT_NOT_FOUND: "No student with personal ID {key} within the permitted scope.",
    Code.STUDENT_ENROLLED_ELSEWHERE: (
        "The student with this personal ID is enrolled at another school; a change of school "
        "must go through the school transfer procedure."
    ),
    Code.WRITE_CONFLICT: (
        "This row conflicts with data written at the same time; please send this row again."
    ),
    Code.NAME_REQUIRED: "The full name must not be empty.",
    Code.BIRTH_DATE_INVALID: "The birth date is not valid (after today or before 1900).",
    Code.ROLE_REQUIRED: "At least one role is required for each assigned school.",
    Code.GUARDIAN_IDENTITY_REQUIRED: (
        "The parent's or guardian's personal ID or phone number is required."
    ),
    Code.BATCH_TOO_LARGE: "At most {limit} records per submission ({count} sent).",
    Code.SCORE_OUT_OF_RANGE: "Score {value} is outside the 0–10 scale.",
    Code.SCORE_PRECISION: "Score {value} may only be a whole number or have one decimal place.",
    Code.TEST_SCORE_INVALID: (
        "A periodic test score in primary school is a whole number from 0 to 10 ({value} sent)."
    ),
    Code.REGULAR_COUNT_MISMATCH: (
        "Subject {subject} has {periods} periods a year, so each semester needs exactly "
        "{expected} regular assessment scores ({count} sent)."
    ),
    Code.ASSESSMENT_KIND_MISMATCH: ("Subject {subject} is assessed by {expected}, not by {given}."),
    Code.ASSESSMENT_INCOMPLETE: "The {what} of subject {subject} is missing.",
    Code.SUBJECT_NOT_FOUND: "There is no subject with code {value} in the catalogue.",
    Code.SUBJECT_NOT_IN_CLASS: "Class {class_name} (grade {grade}) does not study {subject}.",
    Code.SUBJECT_NOT_TESTED: "Subject {subject} has no periodic test in grade {grade}.",
    Code.TRAIT_NOT_FOUND: "There is no quality/competence with code {value}.",
    Code.SCHOOL_YEAR_NOT_FOUND: "There is no school year {value}.",
    Code.NOT_ENROLLED: "The student is not assigned to a class in school year {year}.",
    Code.LEVEL_MISMATCH: "The student is in grade {grade}: {expected}.",
    Code.TRANSCRIPT_STATE: "The transcript is in state “{state}” and cannot be {action}.",
    Code.TRANSCRIPT_LOCKED: (
        "The transcript of school year {year} is locked or signed; changing scores needs "
        "a correction."
    ),
    Code.TRANSCRIPT_NOT_FOUND: "No transcript found within the permitted scope.",
    Code.PERSONAL_ID_MISSING: (
        "The student has no personal ID, so the transcript cannot be locked and signed; "
        "the personal ID must be recorded first."
    ),
    Code.TRANSCRIPT_EMPTY: (
        "The transcript holds no result at all, so it cannot be locked for signing; "
        "the gradebook must be entered and the draft generated again."
    ),
    Code.SIGNING_ORDER: "{role} cannot sign yet: the transcript is waiting for {expected}.",
    Code.CORRECTION_REASON_REQUIRED: "A transcript correction must state its reason.",
    Code.FORBIDDEN: "The application is not allowed to do this ({scope}).",
    Code.UNAUTHENTICATED: "The access token is missing or wrong.",
    Code.INVALID_ARGUMENT: "Invalid argument: {detail}.",
    Code.PROVIDER_UNAVAILABLE: (
        "The signing server {provider} cannot be reached; nothing has been signed. Please try "
        "again in a few minutes, or tell technical support if it persists."
    ),
    Code.PROVIDER_FAILURE: (
        "The signing server {provider} reported an internal error ({detail}); nothing has been "
        "signed. Please try again later."
    ),
    Code.SIGNER_NOT_CONFIRMED: (
        "The signing request was not confirmed in the {provider} app in time; please sign "
        "again and confirm on the phone."
    ),
    Code.SIGNER_REJECTED: (
        "The signer rejected the signing request in the {provider} app; the transcript is "
        "not signed."
    ),
    Code.CERTIFICATE_EXPIRED: (
        "The signer's {provider} certificate has expired; renew the certificate, then sign again."
    ),
    Code.CERTIFICATE_REVOKED: (
        "The signer's {provider} certificate is revoked or suspended; contact the provider "
        "to have it reissued."
    ),
    Code.QUOTA_EXHAUSTED: (
        "The {provider} signing plan has no signatures left; renew the plan, then sign again."
    ),
    Code.PROVIDER_BAD_CREDENTIALS: (
        "The system's connection details for {provider} are wrong or have expired; ask the "
        "department's system administrator to check the configuration."
    ),
    Code.PROVIDER_USER_UNKNOWN: (
        "The signing account {user} does not exist at {provider}; check the user name or "
        "register for the signing service."
    ),
    Code.CREDENTIAL_NOT_FOUND: (
        "The signer's certificate {credential} was not found at {provider}."
    ),
    Code.SIGNING_FAILED: "Signing failed at {provider}: {detail}.",
    Code.SIGNATURE_PENDING: (
        "{count} transcript(s) are in another signing request ({role}) that has not ended; "
        "nothing more was sent. Confirm that request on the phone or wait for it to end, then "
        "try again."
    ),
    Code.TIMESTAMP_UNAVAILABLE: (
        "The signature was confirmed but no timestamp could be obtained yet ({detail}); the "
        "transcript has not changed. The system finishes it when the timestamp service is "
        "back: ask for the result again in a few minutes, there is no need to sign again."
    ),
    Code.SIGNER_NOT_ROLE_HOLDER: (
        "The person with personal ID {person} is not the {role} of these transcripts "
        "according to the school's records."
    ),
    Code.INVALID_ID: "The ID or page cursor {field} is not valid.",
    Code.INTERNAL_ERROR: (
        "The system hit an unexpected error; please try again. If it happens again, tell "
        "the department's technical support and give reference {correlation_id}."
    ),
    Code.GRAPHQL_PARSE_FAILED: "The GraphQL query has a syntax error: {detail}.",
    Code.GRAPHQL_VALIDATION_FAILED: "The GraphQL query is not valid: {detail}.",
    Code.QUERY_TOO_DEEP: "The query is nested too deeply ({depth} levels; at most {limit}).",
    Code.QUERY_TOO_MANY_ALIASES: "The query uses too many aliases ({count}; at most {limit}).",
    Code.QUERY_TOO_MANY_TOKENS: "The query is too long ({count} tokens; at most {limit}).",
    Code.QUERY_TOO_MANY_DIRECTIVES: (
        "The query uses too many directives ({count}; at most {limit})."
    ),
    Code.QUERY_TOO_COSTLY: (
        "The query asks for too much data at once (estimated cost {cost}; at most {limit}); "
        "ask for fewer records per page or fewer nested fields."
    ),
    Code.QUERY_TIMEOUT: "The query ran longer than {seconds} seconds and was stopped; "
    "narrow the query.",
    Code.OPERATION_NOT_TRUSTED: "The system only accepts queries registered in advance.",
    Code.INTROSPECTION_DISABLED: (
        "Introspecting the API is not allowed; download the schema file from {url}."
    ),
    Code.REQUEST_TOO_LARGE: "The request is larger than the allowed limit ({limit} bytes).",
    Code.TOO_MANY_REQUESTS: "Too many attempts; please try again in {seconds} seconds.",
    Code.TEXT_CONTROL_CHARACTERS: "Field {field} contains control characters that are not allowed.",
    Code.TEXT_INVISIBLE: "Field {field} consists only of invisible characters.",
    Code.TEXT_TOO_LONG: "Field {field} is {length} characters long; at most {limit}.",
    Code.IDENTITY_MISMATCH: (
        "The identifying details (personal ID, full name, birth date) do not match the "
        "existing record; the record was not written. Please check them against the ID card."
    ),
    Code.IDENTITY_HELD_ELSEWHERE: (
        "This person is still linked to another unit, so the application may not change "
        "the full name, birth date or sex; ask the Department of Education to correct them."
    ),
    Code.ASSIGNMENT_NOT_FOUND: "There is no such assignment or link within the permitted scope.",
    Code.TRANSCRIPT_CONTENT_INVALID: (
        "The student's records hold a value that cannot be written into a digital transcript "
        "(invalid characters or a malformed result); this student's transcript was not "
        "drafted. Correct the records or the gradebook, then draft again."
    ),
    Code.TRANSCRIPT_LAYOUT_OVERFLOW: (
        "The student's transcript (full name, comments…) is too long to lay out on the "
        "transcript page; this student's transcript was not drafted. Shorten it, then draft "
        "again."
    ),
    Code.TRANSCRIPT_DRAFT_FAILED: (
        "An unexpected error stopped this student's transcript from being drafted (the other "
        "students' were). Please try again; if it happens again, contact the department's "
        "technical support and give reference {reference}."
    ),
    Code.IDENTITY_PROVIDER_UNAVAILABLE: (
        "The sign-in service ({provider}) is not answering; you are not signed in. Please try"
        " again in a few minutes."
    ),
    Code.IDENTITY_ANSWER_INVALID: (
        "The sign-in service ({provider}) gave an invalid answer; you are not signed in. "
        "Please sign in again."
    ),
    Code.LOGIN_EXPIRED: (
        "This sign-in has expired, was already used or is not valid; please start signing in again."
    ),
    Code.LOGIN_CANCELLED: "The sign-in was not approved at the sign-in service; nothing changed.",
    Code.PERSON_UNKNOWN: (
        "Your personal ID is not in the province's education records (staff, pupils or "
        "verified parents). Please contact the school."
    ),
    Code.ACCOUNT_LEVEL_TOO_LOW: (
        "Staff must sign in with an electronic identity account of level {level} or higher."
    ),
    Code.SESSION_REQUIRED: "You need to sign in to continue.",
    Code.CSRF_FAILED: (
        "The request did not come from the hub's own page (missing or wrong anti-forgery "
        "token); nothing changed. Please reload the page."
    ),
    Code.PERSON_REQUIRED: (
        "A {role} signature must be asked by the signer through an app they signed in to and "
        "approved; an app may not name the signer itself."
    ),
    Code.SIGNER_NOT_CALLER: "Only the signed-in person's own signature may be requested.",
    Code.CONSENT_REQUIRED: (
        "There is no valid consent of the pupil and their parent or guardian for this "
        "recipient; nothing is disclosed."
    ),
    Code.CONSENT_INVALID: "The consent is not valid: {reason}.",
    Code.CONSENT_NOT_FOUND: "No such consent among those you gave.",
    Code.GUARDIAN_NOT_VERIFIED: (
        "The guardian relationship has not been verified (by the population database or an "
        "in-person check at the school)."
    ),
    Code.POPULATION_UNAVAILABLE: (
        "The population database is not answering; the check will be tried again later."
    ),
    Code.GUARDIAN_LINK_NOT_FOUND: "No such guardian link within the permitted scope.",
    Code.ADMISSION_OFFICER_REQUIRED: (
        "This page is for the officers of an admission service the department has "
        "authorised; your account does not hold this role."
    ),
    Code.CONSENT_REVOKED: (
        "The family withdrew consent no. {consent} at {at}; nothing is disclosed. If "
        "needed, ask the family for a new consent."
    ),
    Code.CONSENT_EXPIRED: (
        "Consent no. {consent} has expired (its last day was {last_day}); nothing is "
        "disclosed. If needed, ask the family for a new consent."
    ),
    Code.CONSENT_PENDING: "Consent no. {consent} is not in force yet: {reason}; nothing is "
    "disclosed yet.",
    Code.PROVIDER_AUTH_NOT_OFFERED: (
        "The signing server {provider} does not offer the way of logging in the system is "
        "configured with ({detail}); nothing has been signed. Ask the department's system "
        "administrator to check the configuration."
    ),
    Code.CREDENTIAL_AUTHORIZATION_MISSING: (
        "The certificate at {provider} needs {detail} to sign, which the system has not been "
        "given; nothing has been signed. Ask the department's system administrator to check "
        "the configuration."
    ),
    Code.SIGNATURE_ALGORITHM_UNSUPPORTED: (
        "The signing key at {provider} only signs with algorithms the system does not support "
        "({detail}); nothing has been signed. Use an RSA or ECDSA certificate."
    ),
    Code.SIGNER_OTP_WRONG: (
        "The one-time code is wrong or has expired ({provider}); nothing has been signed. "
        "Sign again to receive a new code."
    ),
    Code.SIGNER_AUTHORIZATION_REFUSED: (
        "The signing provider did not accept the signer's authorization ({provider}): the "
        "code is wrong, used or expired; nothing has been signed. Sign again and confirm "
        "at the provider."
    ),
    Code.SPREADSHEET_UNREADABLE: (
        "The file is not a spreadsheet the hub can read (XLSX, or CSV in UTF-8); nothing was "
        "written."
    ),
    Code.SPREADSHEET_HEADER_UNKNOWN: (
        "The header row of the «{layout}» template was not found (missing columns: "
        "{columns}); please use the template downloaded from the hub. Nothing was written."
    ),
    Code.SPREADSHEET_EMPTY: "The file has no data rows below its header row.",
    Code.SPREADSHEET_TOO_MANY_ROWS: (
        "The file has more than {limit} data rows, over the limit of one import; please split "
        "it into several files. Nothing was written."
    ),
    Code.CELL_REQUIRED: "The column «{column}» must not be empty.",
    Code.CELL_DATE_INVALID: (
        "Column «{column}»: «{value}» is not a valid date (day/month/year, e.g. 05/09/2013)."
    ),
    Code.CELL_NUMBER_INVALID: "Column «{column}»: «{value}» is not a valid number.",
    Code.CELL_VALUE_NOT_ALLOWED: (
        "Column «{column}»: «{value}» is not one of the allowed values ({allowed})."
    ),
    Code.EXPORT_TOO_LARGE: (
        "The list has {count} rows, more than the {limit} a file holds; narrow it with "
        "filters (a school, a class…) and download it in parts."
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, in a form both a program and a person can use."""

    code: Code
    message: str
    field: str | None = None
    message_en: str = ""


def problem(
    code: Code,
    field: str | None = None,
    *,
    details_en: Mapping[str, object] | None = None,
    **details: object,
) -> Problem:
    """Build the problem for ``code`` with its Vietnamese and English messages filled in.

    ``details_en`` replaces those of ``details`` that are words rather than values (a
    Vietnamese ``detail``) in the English message.
    """
    vietnamese = {"field": field, **details}  # "{field}" in a message names the field
    english = vietnamese if details_en is None else {**vietnamese, **details_en}
    return Problem(
        code=code,
        message=MESSAGES[code].format(**vietnamese),
        field=field,
        message_en=MESSAGES_EN[code].format(**english),
    )


class HubError(Exception):
    """A request the hub refuses as a whole, carrying a stable code."""

    def __init__(
        self,
        code: Code,
        *,
        field: str | None = None,
        details_en: Mapping[str, object] | None = None,
        **details: object,
    ) -> None:
        self.problem = problem(code, field, details_en=details_en, **details)
        super().__init__(self.problem.message)

    @classmethod
    def of(cls, found: Problem) -> "HubError":
        """Refuse the whole request for a problem already built (by a shared check)."""
        error = cls.__new__(cls)
        error.problem = found
        Exception.__init__(error, found.message)
        return error
