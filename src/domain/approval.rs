//! Maker-checker: an accountant submits a run, an approver (never the submitter's token)
//! approves or returns it. Approving closes the period for the run's subtree until an
//! approver reopens it. The one place that says which step may follow which.

use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Made, not yet sent for approval.
    Draft,
    Submitted,
    /// Signed off: its figures are the period's for the subtree.
    Approved,
    /// Sent back with a reason; it may be submitted again.
    Returned,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Draft => "draft",
            RunState::Submitted => "submitted",
            RunState::Approved => "approved",
            RunState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        [
            RunState::Draft,
            RunState::Submitted,
            RunState::Approved,
            RunState::Returned,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            RunState::Draft => "Bản nháp",
            RunState::Submitted => "Chờ duyệt",
            RunState::Approved => "Đã duyệt",
            RunState::Returned => "Trả lại",
        }
    }

    /// What a reader in `lang` calls it.
    pub fn label(self, lang: crate::domain::Lang) -> &'static str {
        match lang {
            crate::domain::Lang::Vi => self.label_vi(),
            crate::domain::Lang::En => self.label_en(),
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RunState::Draft => "Draft",
            RunState::Submitted => "Awaiting approval",
            RunState::Approved => "Approved",
            RunState::Returned => "Returned",
        }
    }
}

/// A step in a run's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Submit,
    Approve,
    Return,
    /// The period reopened for the run's subtree (the run stays approved: it was signed).
    Reopen,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Approve => "approve",
            Step::Return => "return",
            Step::Reopen => "reopen",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        [Step::Submit, Step::Approve, Step::Return, Step::Reopen]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// The states it may be taken from, and the state it leaves.
    pub fn transition(self) -> (&'static [RunState], RunState) {
        match self {
            Step::Submit => (&[RunState::Draft, RunState::Returned], RunState::Submitted),
            Step::Approve => (&[RunState::Submitted], RunState::Approved),
            Step::Return => (&[RunState::Submitted], RunState::Returned),
            Step::Reopen => (&[RunState::Approved], RunState::Approved),
        }
    }

    /// The state after this step from `from`; Err names the states it needs.
    pub fn from(self, from: RunState) -> Result<RunState, WrongState> {
        let (allowed, to) = self.transition();
        if allowed.contains(&from) {
            Ok(to)
        } else {
            Err(WrongState {
                step: self,
                state: from,
            })
        }
    }

    /// Whether a reason must be given: a run sent back, a closed period reopened.
    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Return | Step::Reopen)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Step::Submit => "Trình duyệt",
            Step::Approve => "Phê duyệt",
            Step::Return => "Trả lại",
            Step::Reopen => "Mở lại kỳ",
        }
    }

    /// What a reader in `lang` calls it.
    pub fn label(self, lang: crate::domain::Lang) -> &'static str {
        match lang {
            crate::domain::Lang::Vi => self.label_vi(),
            crate::domain::Lang::En => self.label_en(),
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Step::Submit => "Submitted",
            Step::Approve => "Approved",
            Step::Return => "Returned",
            Step::Reopen => "Period reopened",
        }
    }
}

/// A step not allowed from the run's state (the API's 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongState {
    pub step: Step,
    pub state: RunState,
}

impl std::fmt::Display for WrongState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let needs: Vec<&str> = self
            .step
            .transition()
            .0
            .iter()
            .map(|s| s.as_str())
            .collect();
        write!(
            f,
            "Không thể {} khi đối soát đang ở trạng thái «{}» / cannot {} a run that is {} (needs {})",
            self.step.label_vi().to_lowercase(),
            self.state.label_vi(),
            self.step.as_str(),
            self.state.as_str(),
            needs.join(" or ")
        )
    }
}

/// The longest reason kept (characters): a sentence or two, as on a paper form.
pub const MAX_REASON_CHARS: usize = 1000;

/// The reason as kept: trimmed, None when empty; Err when too long.
pub fn reason(text: Option<&str>) -> Result<Option<String>, String> {
    let t = text.map(str::trim).filter(|t| !t.is_empty());
    match t {
        Some(t) if t.chars().count() > MAX_REASON_CHARS => Err(format!(
            "Lý do dài quá {MAX_REASON_CHARS} ký tự / the reason is longer than {MAX_REASON_CHARS} characters"
        )),
        t => Ok(t.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine() {
        use RunState::*;
        let all = [Draft, Submitted, Approved, Returned];
        let steps = [Step::Submit, Step::Approve, Step::Return, Step::Reopen];
        let allowed = |step: Step, from: RunState| match (step, from) {
            (Step::Submit, Draft | Returned) => Some(Submitted),
            (Step::Approve, Submitted) => Some(Approved),
            (Step::Return, Submitted) => Some(Returned),
            (Step::Reopen, Approved) => Some(Approved),
            _ => None,
        };
        for step in steps {
            for from in all {
                assert_eq!(
                    step.from(from).ok(),
                    allowed(step, from),
                    "{step:?} {from:?}"
                );
            }
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        for s in all {
            assert_eq!(RunState::parse(s.as_str()), Some(s));
        }
        let why = Step::Approve.from(Returned).err().map(|e| e.to_string());
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("returned") && w.contains("needs submitted")),
            "{why:?}"
        );
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(reason(Some("  ")), Ok(None));
        assert_eq!(reason(None), Ok(None));
        assert_eq!(reason(Some(" sai số ")), Ok(Some("sai số".into())));
        assert!(reason(Some(&"đ".repeat(MAX_REASON_CHARS))).is_ok());
        assert!(reason(Some(&"đ".repeat(MAX_REASON_CHARS + 1))).is_err());
    }
}
