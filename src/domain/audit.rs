//! The audit trail's hash chain: pure rules, shared by the stores (which append) and
//! `doisoat audit verify` (which re-checks).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::Serialize;

use super::digest::sha256_hex;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339, milliseconds, UTC.
    pub at: String,
    pub actor: String,
    /// e.g. `period.create`, `upload.beneficiaries`, `reconciliation.create`, `token.create`.
    pub action: String,
    pub subject: String,
    /// JSON text (digests, counts).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The unit the change was for, where the entry names one (uploads, runs, targets,
    /// tokens); entries of the whole system (periods, programmes, sessions, callbacks) name
    /// none.
    pub fn unit(&self) -> Option<String> {
        let details: serde_json::Value = serde_json::from_str(&self.details).ok()?;
        details.get("unit")?.as_str().map(str::to_owned)
    }
}

/// Every kind of state change the trail records: one vocabulary, so a reader of the
/// trail (or a filter on it) can rely on the names. Stored as `as_str()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PeriodCreate,
    UploadBeneficiaries,
    UploadPayouts,
    UploadMakeCurrent,
    UploadRestore,
    UploadRetire,
    ReconciliationCreate,
    TokenCreate,
    TokenRevoke,
    SessionSignIn,
    SessionSignOut,
    CallbackPayouts,
    ProgrammeCreate,
    PeriodTarget,
    /// A run's file downloaded: personal data, unmasked, leaving the system.
    RunDownload,
    /// Maker-checker: a run submitted, approved (closing the period for its subtree),
    /// returned; a closed period reopened.
    RunSubmit,
    RunApprove,
    RunReturn,
    PeriodReopen,
    /// Something done about an exception of a run (a note, a state, a link, a payment in
    /// cash, a confirmation), with the state before and after.
    ExceptionResolve,
    /// An approved run's unpaid carried into a later period as arrears.
    PeriodCarryOver,
    /// Payment orders written for a bank (pain.001 or the xlsx bảng kê), new ones stored.
    PaymentOrders,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Action::PeriodCreate,
        Action::UploadBeneficiaries,
        Action::UploadPayouts,
        Action::UploadMakeCurrent,
        Action::UploadRestore,
        Action::UploadRetire,
        Action::ReconciliationCreate,
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::SessionSignIn,
        Action::SessionSignOut,
        Action::CallbackPayouts,
        Action::ProgrammeCreate,
        Action::PeriodTarget,
        Action::RunDownload,
        Action::RunSubmit,
        Action::RunApprove,
        Action::RunReturn,
        Action::PeriodReopen,
        Action::ExceptionResolve,
        Action::PeriodCarryOver,
        Action::PaymentOrders,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::PeriodCreate => "period.create",
            Action::ProgrammeCreate => "programme.create",
            Action::PeriodTarget => "period.target",
            Action::UploadBeneficiaries => "upload.beneficiaries",
            Action::UploadPayouts => "upload.payouts",
            Action::UploadMakeCurrent => "upload.make_current",
            Action::UploadRestore => "upload.restore",
            Action::UploadRetire => "upload.retire",
            Action::ReconciliationCreate => "reconciliation.create",
            Action::TokenCreate => "token.create",
            Action::TokenRevoke => "token.revoke",
            Action::SessionSignIn => "session.sign_in",
            Action::SessionSignOut => "session.sign_out",
            Action::CallbackPayouts => "callback.payouts",
            Action::RunDownload => "reconciliation.download",
            Action::RunSubmit => "reconciliation.submit",
            Action::RunApprove => "reconciliation.approve",
            Action::RunReturn => "reconciliation.return",
            Action::PeriodReopen => "period.reopen",
            Action::ExceptionResolve => "exception.resolve",
            Action::PeriodCarryOver => "period.carry_over",
            Action::PaymentOrders => "period.payment_orders",
        }
    }
}

impl Action {
    /// The stored name back; None for a name this version does not know.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What a reader of the trail calls it.
    pub fn label(self, vi: bool) -> &'static str {
        let (v, e) = match self {
            Action::PeriodCreate => ("Tạo kỳ chi trả", "Period created"),
            Action::ProgrammeCreate => ("Tạo chương trình", "Programme created"),
            Action::PeriodTarget => ("Đặt chỉ tiêu", "Target set"),
            Action::UploadBeneficiaries => ("Tải lên danh sách đối tượng", "List uploaded"),
            Action::UploadPayouts => (
                "Tải lên kết quả chi của ngân hàng",
                "Bank payout file uploaded",
            ),
            Action::UploadMakeCurrent => ("Đặt danh sách hiện hành", "List made current"),
            Action::UploadRestore => ("Dùng lại tệp đã loại bỏ", "Upload restored"),
            Action::UploadRetire => ("Loại bỏ tệp", "Upload retired"),
            Action::ReconciliationCreate => ("Chạy đối soát", "Reconciliation run"),
            Action::RunDownload => (
                "Tải về báo cáo (có dữ liệu cá nhân)",
                "Report downloaded (personal data)",
            ),
            Action::TokenCreate => ("Cấp mã truy cập", "Token issued"),
            Action::TokenRevoke => ("Thu hồi mã truy cập", "Token revoked"),
            Action::SessionSignIn => ("Đăng nhập", "Signed in"),
            Action::SessionSignOut => ("Đăng xuất", "Signed out"),
            Action::CallbackPayouts => ("Ngân hàng gửi kết quả chi", "Bank sent results"),
            Action::RunSubmit => ("Trình duyệt kết quả đối soát", "Run submitted for approval"),
            Action::RunApprove => (
                "Phê duyệt kết quả đối soát (khóa kỳ)",
                "Run approved (period closed)",
            ),
            Action::RunReturn => ("Trả lại kết quả đối soát", "Run returned"),
            Action::PeriodReopen => ("Mở lại kỳ đã khóa", "Closed period reopened"),
            Action::ExceptionResolve => ("Xử lý ngoại lệ", "Exception resolved"),
            Action::PeriodCarryOver => ("Chuyển truy lĩnh sang kỳ", "Arrears carried over"),
            Action::PaymentOrders => ("Lập lệnh chi gửi ngân hàng", "Payment orders written"),
        };
        if vi { v } else { e }
    }
}

/// What a state change records before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    pub fn new(
        actor: &str,
        action: Action,
        subject: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            actor: actor.to_owned(),
            action: action.as_str().to_owned(),
            subject: subject.into(),
            details,
        }
    }

    /// Chain this entry after `prev` (the last entry's seq and hash, or None for the first).
    pub fn chain(self, prev: Option<(i64, &str)>, now: DateTime<Utc>) -> AuditEntry {
        let (seq, prev_hash) = match prev {
            Some((s, h)) => (s + 1, h.to_owned()),
            None => (1, GENESIS.to_owned()),
        };
        let at = now
            .trunc_subsecs(3)
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let details = self.details.to_string();
        let hash = entry_hash(
            &prev_hash,
            seq,
            &at,
            &self.actor,
            &self.action,
            &self.subject,
            &details,
        );
        AuditEntry {
            seq,
            at,
            actor: self.actor,
            action: self.action,
            subject: self.subject,
            details,
            prev_hash,
            hash,
        }
    }
}

/// SHA-256 over the previous hash and every field, newline-separated (no field holds a
/// raw newline that could shift the boundaries: details is compact JSON).
pub fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> String {
    let text = format!("{prev}\n{seq}\n{at}\n{actor}\n{action}\n{subject}\n{details}");
    sha256_hex(text.as_bytes())
}

/// Where the chain breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// Re-check the chain in order. `Ok(n)` = n entries verified.
pub fn verify(entries: &[AuditEntry]) -> Result<usize, Broken> {
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_seq = 0;
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(Broken {
                seq: e.seq,
                reason: format!(
                    "thiếu mục / missing entry: expected seq {}, found {}",
                    prev_seq + 1,
                    e.seq
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Err(Broken {
                seq: e.seq,
                reason: "prev_hash không khớp mục trước / does not match the previous entry".into(),
            });
        }
        let h = entry_hash(
            &e.prev_hash,
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.details,
        );
        if h != e.hash {
            return Err(Broken {
                seq: e.seq,
                reason: "nội dung đã bị sửa / content altered: hash does not match".into(),
            });
        }
        prev_hash = e.hash.clone();
        prev_seq = e.seq;
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash.as_str()));
            let e = NewAuditEntry::new(
                "admin",
                Action::PeriodCreate,
                format!("period/{i}"),
                serde_json::json!({"i": i}),
            )
            .chain(prev, Utc::now());
            out.push(e);
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn the_first_broken_entry_is_named() {
        let mut c = chain(5);
        c[2].details = r#"{"i":99}"#.into();
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(3));
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(3));
        let mut c = chain(5);
        // Re-hashing an altered entry still breaks the next link.
        c[1].actor = "mallory".into();
        c[1].hash = entry_hash(
            &c[1].prev_hash,
            2,
            &c[1].at,
            "mallory",
            &c[1].action,
            &c[1].subject,
            &c[1].details,
        );
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(3));
    }
}
