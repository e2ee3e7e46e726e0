//! Resolving exceptions: what may be done about one, and the state it is left in.

use serde::{Deserialize, Serialize};

/// What an accountant does about an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionAction {
    /// A note, or a change of state.
    Note,
    /// An unmatched payout linked to a beneficiary of the period (a mistyped ID): it counts
    /// as theirs in the live figures and the next runs.
    Link,
    /// A beneficiary paid in cash after all (at the post office): paid, not cashless.
    PaidInCash,
    /// A fix made elsewhere (the list corrected in its next version, the bank's file
    /// resent), confirmed; no figure changes.
    Confirm,
}

impl ResolutionAction {
    pub const ALL: [ResolutionAction; 4] = [
        ResolutionAction::Note,
        ResolutionAction::Link,
        ResolutionAction::PaidInCash,
        ResolutionAction::Confirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionAction::Note => "note",
            ResolutionAction::Link => "link",
            ResolutionAction::PaidInCash => "paid_in_cash",
            ResolutionAction::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<ResolutionAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether it changes the figures of the live period and the next runs.
    pub fn adjusts(self) -> bool {
        matches!(self, ResolutionAction::Link | ResolutionAction::PaidInCash)
    }

    /// The state it leaves the exception in when none is asked: a link or a payment in
    /// cash settles it, a confirmation too; a note keeps the state it had.
    pub fn default_state(self, before: ResolutionState) -> ResolutionState {
        match self {
            ResolutionAction::Note => before,
            _ => ResolutionState::Resolved,
        }
    }

    pub fn label(self, vi: bool) -> &'static str {
        let (v, e) = match self {
            ResolutionAction::Note => ("Ghi chú / đổi trạng thái", "Note / state"),
            ResolutionAction::Link => ("Ghép với người hưởng", "Link to a beneficiary"),
            ResolutionAction::PaidInCash => ("Đã chi bằng tiền mặt", "Paid in cash"),
            ResolutionAction::Confirm => ("Xác nhận đã sửa", "Confirm a fix"),
        };
        if vi { v } else { e }
    }
}

/// Where an exception stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionState {
    /// Nothing recorded yet (the default).
    #[default]
    Open,
    InProgress,
    Resolved,
    /// Left as it is, on purpose (a reason in the note).
    WontFix,
}

impl ResolutionState {
    pub const ALL: [ResolutionState; 4] = [
        ResolutionState::Open,
        ResolutionState::InProgress,
        ResolutionState::Resolved,
        ResolutionState::WontFix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionState::Open => "open",
            ResolutionState::InProgress => "in_progress",
            ResolutionState::Resolved => "resolved",
            ResolutionState::WontFix => "wont_fix",
        }
    }

    pub fn parse(s: &str) -> Option<ResolutionState> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn label(self, vi: bool) -> &'static str {
        let (v, e) = match self {
            ResolutionState::Open => ("Chưa xử lý", "Open"),
            ResolutionState::InProgress => ("Đang xử lý", "In progress"),
            ResolutionState::Resolved => ("Đã xử lý", "Resolved"),
            ResolutionState::WontFix => ("Không xử lý", "Won't fix"),
        };
        if vi { v } else { e }
    }
}

/// The longest note kept, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for a in ResolutionAction::ALL {
            assert_eq!(ResolutionAction::parse(a.as_str()), Some(a));
        }
        for s in ResolutionState::ALL {
            assert_eq!(ResolutionState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ResolutionState::parse("closed"), None);
        assert_eq!(
            ResolutionAction::Note.default_state(ResolutionState::InProgress),
            ResolutionState::InProgress
        );
        assert_eq!(
            ResolutionAction::Link.default_state(ResolutionState::Open),
            ResolutionState::Resolved
        );
    }
}
