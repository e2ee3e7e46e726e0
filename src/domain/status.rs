//! Outcome of one bank payout line, as banks write it in their result files.

use serde::{Deserialize, Serialize};

use super::names::fold;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Success,
    Failed,
    Returned,
    /// The bank has not finished the transfer: neither paid nor failed yet.
    Pending,
}

/// The states a bank may post in a callback (the OpenAPI document's enum; a payout's
/// `status` is a `PayoutStatus` with one of these values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    Success,
    Failed,
    Returned,
}

/// Folded phrases. Negative forms come first: "khong thanh cong" contains
/// "thanh cong", and a failure read as a success would overstate coverage.
const PHRASES: &[(PayoutStatus, &[&str])] = &[
    (
        PayoutStatus::Failed,
        &[
            "khong thanh cong",
            "giao dich khong thanh cong",
            "chuyen khoan khong thanh cong",
            "that bai",
            "loi",
            "failed",
            "fail",
            "failure",
            "error",
            "rejected",
            "tu choi",
            "bi tu choi",
            "chua chi",
            "chua chi tra",
            "unpaid",
            "declined",
        ],
    ),
    (
        PayoutStatus::Returned,
        &[
            "hoan tra",
            "da hoan tra",
            "tra lai",
            "bi tra lai",
            "da tra lai",
            "hoan tien",
            "returned",
            "reversed",
            "reversal",
            "refunded",
            "refund",
            "chargeback",
        ],
    ),
    (
        PayoutStatus::Pending,
        &[
            "dang xu ly",
            "cho xu ly",
            "dang cho xu ly",
            "dang cho",
            "cho duyet",
            "cho phe duyet",
            "dang chuyen",
            "cho chuyen",
            "pending",
            "processing",
            "in progress",
            "queued",
            "on hold",
        ],
    ),
    (
        PayoutStatus::Success,
        &[
            "thanh cong",
            "giao dich thanh cong",
            "chuyen khoan thanh cong",
            "success",
            "successful",
            "succeeded",
            "paid",
            "da chi",
            "da chi tra",
            "da chuyen",
            "da thanh toan",
            "completed",
            "complete",
            "ok",
            "done",
            "settled",
        ],
    ),
];

impl PayoutStatus {
    /// Case/diacritics-insensitive; a known phrase may be followed by more words
    /// ("Thất bại - sai số tài khoản"), but must start the text on a word boundary.
    /// A success phrase followed by a failure or return phrase ("Đã chuyển - bị trả
    /// lại") is contradictory and gives None, so a person looks at it.
    pub fn parse(s: &str) -> Option<PayoutStatus> {
        let folded = fold(s);
        let words: Vec<&str> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let starts_with = |ws: &[&str], phrase: &str| {
            let mut ws = ws.iter();
            phrase.split(' ').all(|p| ws.next() == Some(&p))
        };
        let (status, _) = PHRASES
            .iter()
            .find(|(_, phrases)| phrases.iter().any(|p| starts_with(&words, p)))?;
        if *status == PayoutStatus::Success {
            let negative = PHRASES
                .iter()
                .filter(|(st, _)| *st != PayoutStatus::Success)
                .flat_map(|(_, phrases)| phrases.iter());
            for phrase in negative {
                if (1..words.len()).any(|i| starts_with(&words[i..], phrase)) {
                    return None;
                }
            }
        }
        Some(*status)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Success => "success",
            PayoutStatus::Failed => "failed",
            PayoutStatus::Returned => "returned",
            PayoutStatus::Pending => "pending",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            PayoutStatus::Success => "Thành công",
            PayoutStatus::Failed => "Không thành công",
            PayoutStatus::Returned => "Hoàn trả",
            PayoutStatus::Pending => "Đang xử lý",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_parse_to(status: PayoutStatus, inputs: &[&str]) {
        for s in inputs {
            assert_eq!(PayoutStatus::parse(s), Some(status), "{s}");
        }
    }

    #[test]
    fn pending_forms() {
        all_parse_to(
            PayoutStatus::Pending,
            &[
                "Đang xử lý",
                "đang xử lý",
                "Chờ xử lý",
                "Đang chờ",
                "Chờ duyệt",
                "pending",
                "PENDING",
                "Processing",
                "In progress",
            ],
        );
        // Contradictory: a success said to be still in progress goes to a person.
        assert_eq!(PayoutStatus::parse("Thành công - đang xử lý"), None);
    }

    #[test]
    fn success_forms() {
        all_parse_to(
            PayoutStatus::Success,
            &[
                "Thành công",
                "thanh cong",
                "THÀNH CÔNG",
                " Thành  công ",
                "success",
                "Successful",
                "succeeded",
                "PAID",
                "Đã chi",
                "Đã chi trả",
                "Đã chuyển",
                "Đã thanh toán",
                "completed",
                "complete",
                "OK",
                "done",
                "settled",
                "Giao dịch thành công",
            ],
        );
    }

    #[test]
    fn failed_forms() {
        all_parse_to(
            PayoutStatus::Failed,
            &[
                "Không thành công",
                "KHONG THANH CONG",
                "Thất bại",
                "Lỗi",
                "failed",
                "fail",
                "failure",
                "error",
                "rejected",
                "Từ chối",
                "Chưa chi",
                "unpaid",
                "declined",
                "Giao dịch không thành công",
            ],
        );
    }

    #[test]
    fn returned_forms() {
        all_parse_to(
            PayoutStatus::Returned,
            &[
                "Hoàn trả",
                "Trả lại",
                "Bị trả lại",
                "Hoàn tiền",
                "returned",
                "reversed",
                "reversal",
                "refunded",
                "refund",
                "chargeback",
            ],
        );
    }

    #[test]
    fn trailing_words_allowed() {
        assert_eq!(
            PayoutStatus::parse("Thất bại - sai số tài khoản"),
            Some(PayoutStatus::Failed)
        );
        assert_eq!(
            PayoutStatus::parse("Lỗi: tài khoản đã đóng"),
            Some(PayoutStatus::Failed)
        );
        assert_eq!(
            PayoutStatus::parse("Thành công (đã ghi có)"),
            Some(PayoutStatus::Success)
        );
        assert_eq!(
            PayoutStatus::parse("Hoàn trả do sai tên"),
            Some(PayoutStatus::Returned)
        );
        assert_eq!(
            PayoutStatus::parse("Failed: account closed"),
            Some(PayoutStatus::Failed)
        );
    }

    #[test]
    fn whole_words_only() {
        for s in [
            "",
            "  ",
            "okay",
            "failing",
            "paidx",
            "Loitien",
            "pendingx",
            "chưa rõ",
            "xyz thành công",
        ] {
            assert_eq!(PayoutStatus::parse(s), None, "{s}");
        }
    }

    #[test]
    fn contradictions_are_unknown() {
        assert_eq!(PayoutStatus::parse("Đã chuyển - bị trả lại"), None);
        assert_eq!(PayoutStatus::parse("Thành công / lỗi 05"), None);
        assert_eq!(
            PayoutStatus::parse("Đã chi trả thành công"),
            Some(PayoutStatus::Success)
        );
        // Negative first words win outright.
        assert_eq!(
            PayoutStatus::parse("Thất bại - đã hoàn tiền"),
            Some(PayoutStatus::Failed)
        );
    }

    #[test]
    fn labels_and_codes() {
        for st in [
            PayoutStatus::Success,
            PayoutStatus::Failed,
            PayoutStatus::Returned,
        ] {
            assert_eq!(PayoutStatus::parse(st.label_vi()), Some(st));
            assert_eq!(PayoutStatus::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = PayoutStatus::parse(&s);
        }
    }
}
