//! Who may do what. Roles are stored with API tokens.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including tokens.
    Admin,
    /// Periods, uploads, reconciliation runs; reads.
    Accountant,
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
            Role::Auditor => "auditor",
            Role::Bank => "bank",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "accountant" => Some(Role::Accountant),
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
        matches!(self, Role::Admin | Role::Accountant | Role::Auditor)
    }

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
            (Admin, true, true, true),
            (Accountant, true, true, false),
            (Auditor, false, true, true),
            (Bank, false, false, false),
        ];
        for (role, write, read, audit) in table {
            assert_eq!(role.can_write(), write, "{role:?} write");
            assert_eq!(role.can_read(), read, "{role:?} read");
            assert_eq!(role.can_audit(), audit, "{role:?} audit");
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
