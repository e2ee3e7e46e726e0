//! Who may do what. Roles are stored with API tokens.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including tokens.
    Admin,
    /// Periods, uploads, reconciliation runs; reads.
    Accountant,
    /// Kế toán trưởng / lãnh đạo đơn vị: approves or returns the runs accountants submit,
    /// reopens a closed period; reads like an accountant, uploads nothing.
    Approver,
    /// Reads everything, downloads, the audit log; changes nothing.
    Auditor,
    /// Its own bank's payouts only.
    Bank,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Accountant => "accountant",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Bank => "bank",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "accountant" => Some(Role::Accountant),
            "approver" => Some(Role::Approver),
            "auditor" => Some(Role::Auditor),
            "bank" => Some(Role::Bank),
            _ => None,
        }
    }

    /// Create periods, upload lists and payout files, run reconciliations.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::Accountant)
    }

    /// Read periods, uploads, runs and reports.
    pub fn can_read(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Accountant | Role::Approver | Role::Auditor
        )
    }

    /// Approve or return a submitted run; reopen a closed period (never the token that
    /// submitted the run: the service checks that).
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Admin | Role::Approver)
    }

    /// Every role, in the order pages list them.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Accountant,
        Role::Approver,
        Role::Auditor,
        Role::Bank,
    ];

    /// Read the audit trail.
    pub fn can_audit(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }

    /// See full personal IDs and account numbers on pages (others see the last 4 digits).
    /// Accountants follow people up; auditors check figures and samples and can still
    /// search by a full ID, and the downloaded reports they verify stay whole (their
    /// digests are on record).
    pub fn sees_full_ids(self) -> bool {
        matches!(self, Role::Admin | Role::Accountant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix() {
        use Role::*;
        let table = [
            (Admin, true, true, true, true),
            (Accountant, true, true, false, false),
            (Approver, false, true, false, true),
            (Auditor, false, true, true, false),
            (Bank, false, false, false, false),
        ];
        assert_eq!(table.map(|t| t.0), Role::ALL);
        for (role, write, read, audit, approve) in table {
            assert_eq!(role.can_write(), write, "{role:?} write");
            assert_eq!(role.can_read(), read, "{role:?} read");
            assert_eq!(role.can_audit(), audit, "{role:?} audit");
            assert_eq!(role.can_approve(), approve, "{role:?} approve");
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
