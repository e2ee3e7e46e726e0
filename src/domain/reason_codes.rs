//! ISO 20022 external status and return reason codes (ExternalStatusReason1Code,
//! ExternalReturnReason1Code) a bank gives when it refuses or returns a transfer, with
//! what they mean for a beneficiary, in Vietnamese and English.

/// (code, Vietnamese, English). The codes banks use for credit transfers to people.
const CODES: &[(&str, &str, &str)] = &[
    (
        "AC01",
        "Số tài khoản không đúng",
        "incorrect account number",
    ),
    (
        "AC02",
        "Số tài khoản bên trả không hợp lệ",
        "invalid debtor account number",
    ),
    (
        "AC03",
        "Số tài khoản người nhận không hợp lệ",
        "invalid creditor account number",
    ),
    ("AC04", "Tài khoản đã đóng", "closed account"),
    ("AC06", "Tài khoản bị phong tỏa", "blocked account"),
    (
        "AC13",
        "Loại tài khoản không hợp lệ",
        "invalid account type",
    ),
    (
        "AG01",
        "Giao dịch bị cấm với tài khoản này",
        "transaction forbidden on this account",
    ),
    (
        "AG02",
        "Mã nghiệp vụ không hợp lệ",
        "invalid bank operation code",
    ),
    ("AM01", "Số tiền bằng 0", "zero amount"),
    ("AM02", "Số tiền vượt mức cho phép", "amount not allowed"),
    ("AM04", "Không đủ số dư", "insufficient funds"),
    ("AM05", "Giao dịch trùng", "duplication"),
    ("AM09", "Số tiền sai", "wrong amount"),
    (
        "BE01",
        "Tên người nhận không khớp với tài khoản",
        "name inconsistent with the account holder",
    ),
    (
        "BE04",
        "Thiếu địa chỉ người nhận",
        "missing creditor address",
    ),
    (
        "BE05",
        "Bên khởi tạo không được nhận diện",
        "unrecognised initiating party",
    ),
    (
        "CNOR",
        "Ngân hàng người nhận chưa đăng ký",
        "creditor bank is not registered",
    ),
    ("CUST", "Khách hàng yêu cầu", "requested by the customer"),
    (
        "DNOR",
        "Ngân hàng bên trả chưa đăng ký",
        "debtor bank is not registered",
    ),
    ("DUPL", "Thanh toán trùng", "duplicate payment"),
    ("FF01", "Tệp sai định dạng", "invalid file format"),
    (
        "FOCR",
        "Hoàn trả theo yêu cầu hủy",
        "following a cancellation request",
    ),
    (
        "MD06",
        "Khách hàng yêu cầu hoàn tiền",
        "refund requested by the end customer",
    ),
    ("MD07", "Người nhận đã qua đời", "end customer deceased"),
    (
        "MS02",
        "Lý do không xác định (từ khách hàng)",
        "reason not specified (customer)",
    ),
    (
        "MS03",
        "Lý do không xác định (từ ngân hàng)",
        "reason not specified (bank)",
    ),
    ("NARR", "Xem diễn giải", "see the narrative"),
    (
        "RC01",
        "Mã ngân hàng không đúng",
        "incorrect bank identifier",
    ),
    (
        "RR01",
        "Thiếu thông tin tài khoản hoặc định danh bên trả",
        "missing debtor account or identification",
    ),
    (
        "RR02",
        "Thiếu tên hoặc địa chỉ bên trả",
        "missing debtor name or address",
    ),
    (
        "RR03",
        "Thiếu tên hoặc địa chỉ người nhận",
        "missing creditor name or address",
    ),
    ("RR04", "Lý do pháp lý", "regulatory reason"),
    (
        "TM01",
        "Quá giờ nhận lệnh",
        "received after the cut-off time",
    ),
];

/// What a reason code means: (Vietnamese, English), for the codes banks use.
pub fn label(code: &str) -> Option<(&'static str, &'static str)> {
    let code = code.trim();
    CODES
        .iter()
        .find(|c| c.0.eq_ignore_ascii_case(code))
        .map(|c| (c.1, c.2))
}

/// A reason as a row shows it: "AC01 Số tài khoản không đúng / incorrect account number —
/// the bank's own text", from whatever the bank gave.
pub fn describe(code: Option<&str>, text: Option<&str>) -> Option<String> {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let coded = code.map(|c| match label(c) {
        Some((vi, en)) => format!("{} {vi} / {en}", c.to_ascii_uppercase()),
        None => c.to_owned(),
    });
    match (coded, text) {
        (Some(c), Some(t)) => Some(format!("{c} — {t}")),
        (Some(c), None) => Some(c),
        (None, Some(t)) => Some(t.to_owned()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_in_both_languages() {
        assert_eq!(
            describe(Some("ac01"), Some("Kontonummer falsch")).as_deref(),
            Some("AC01 Số tài khoản không đúng / incorrect account number — Kontonummer falsch")
        );
        assert_eq!(
            describe(Some("MD07"), None).as_deref(),
            Some("MD07 Người nhận đã qua đời / end customer deceased")
        );
        assert_eq!(describe(Some("X999"), None).as_deref(), Some("X999"));
        assert_eq!(describe(None, Some(" ")), None);
    }
}
