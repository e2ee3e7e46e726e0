//! Maker-checker and closing: an accountant submits a run, an approver (never the
//! submitter's token) approves or returns it; approving closes the period for the run's
//! subtree (uploads refused, callbacks kept and counted apart) until an approver reopens it.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::domain::approval::{self, RunState, Step};
use crate::report::{Signatures, Signer};
use crate::store::{
    Closure, NewRunStep, Period, RunInfo, RunStep, Store, StoreError, TokenInfo, UploadKind,
};

/// Late callbacks counted per closure, at most (a closed period gets few; beyond this the
/// count says "at least").
const LATE_CALLBACKS_READ: i64 = 100_000;

pub use crate::report::PostClose;

/// A run with where it stands: its state, every step, and (while it closes its period)
/// what arrived after.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    #[serde(flatten)]
    pub run: RunInfo,
    pub steps: Vec<RunStep>,
    /// The closure this run holds (its approval closed the period for its subtree and no
    /// one has reopened it).
    pub closure: Option<Closure>,
    /// Callbacks after the closure (absent unless the run closes its period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_close: Option<PostClose>,
}

impl RunView {
    /// The last step of a kind (the submitter, the approver).
    pub fn last(&self, step: Step) -> Option<&RunStep> {
        self.steps.iter().rev().find(|s| s.step == step)
    }
}

/// A 400 about the step's body (its reason).
fn invalid(detail: String) -> ServiceError {
    ServiceError::Invalid {
        slug: "invalid",
        detail,
    }
}

/// The run's view: its state, steps, closure and post-close callbacks.
pub async fn run_view(store: &dyn Store, run: RunInfo) -> ServiceResult<RunView> {
    let steps = store.run_steps(run.id).await?;
    let closure = store
        .period_closures(run.period_id)
        .await?
        .into_iter()
        .find(|c| c.run_id == run.id);
    let post_close = match (&closure, store.get_period(run.period_id).await?) {
        (Some(c), Some(period)) => Some(post_close(store, &period, c).await?),
        _ => None,
    };
    Ok(RunView {
        run,
        steps,
        closure,
        post_close,
    })
}

/// Take `step` on run `run_id` as `by`: 404 for no such run or one outside `by`'s subtree
/// (not theirs to know of), 403 for a role that may not (or the submitter's own token
/// approving or returning), 409 when the run's state does not allow it or its unit is
/// closed already, 400 for a missing or too long reason.
pub async fn take_step(
    store: &dyn Store,
    run_id: i64,
    step: Step,
    by: &TokenInfo,
    reason: Option<&str>,
) -> ServiceResult<RunView> {
    let run = store
        .run_info(run_id)
        .await?
        .filter(|r| by.sees(&r.unit))
        .ok_or_else(|| ServiceError::NotFound(format!("reconciliation {run_id}")))?;
    let allowed = match step {
        Step::Submit => by.role.can_write(),
        Step::Approve | Step::Return | Step::Reopen => by.role.can_approve(),
    };
    if !allowed {
        return Err(ServiceError::Forbidden(format!(
            "Vai trò '{role}' không được {what} / role '{role}' may not {en} a run",
            role = by.role.as_str(),
            what = step.label_vi().to_lowercase(),
            en = step.as_str(),
        )));
    }
    let reason = approval::reason(reason).map_err(invalid)?;
    if step.needs_reason() && reason.is_none() {
        return Err(invalid(
            "Cần ghi lý do (reason) / a reason is required".into(),
        ));
    }
    // The state first: a step the run cannot take is a 409 whoever asks.
    step.from(run.state)
        .map_err(|e| ServiceError::Store(StoreError::Conflict(e.to_string())))?;
    if matches!(step, Step::Approve | Step::Return) {
        let steps = store.run_steps(run.id).await?;
        let submitter = steps.iter().rev().find(|s| s.step == Step::Submit);
        if submitter.is_some_and(|s| s.token_id == by.id) {
            return Err(ServiceError::Forbidden(
                "Người trình không tự duyệt hay trả lại kết quả mình đã trình: cần mã của một người phê duyệt khác / the token that submitted a run may not approve or return it".into(),
            ));
        }
    }
    let updated = store
        .take_run_step(
            run.id,
            NewRunStep {
                step,
                token_id: by.id,
                actor: by.actor(),
                person: by.person().to_owned(),
                reason,
            },
        )
        .await?;
    run_view(store, updated).await
}

/// Reopen the period for `unit`'s subtree (an approver, within its subtree, with a reason):
/// uploads are taken again; the approved run stays approved, its history says reopened.
pub async fn reopen(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
    by: &TokenInfo,
    reason: Option<&str>,
) -> ServiceResult<Closure> {
    if !by.role.can_approve() {
        return Err(ServiceError::Forbidden(format!(
            "Vai trò '{role}' không được mở lại kỳ đã khóa / role '{role}' may not reopen a closed period",
            role = by.role.as_str()
        )));
    }
    if !by.sees(unit) {
        return Err(ServiceError::Forbidden(format!(
            "Mã của đơn vị {own} không mở lại được kỳ của đơn vị {unit} / a token of unit {own} may not reopen unit {unit}'s period",
            own = by.unit
        )));
    }
    let reason = approval::reason(reason)
        .map_err(invalid)?
        .ok_or_else(|| invalid("Cần ghi lý do (reason) / a reason is required".into()))?;
    Ok(store
        .reopen_period(
            period_id,
            unit,
            NewRunStep {
                step: Step::Reopen,
                token_id: by.id,
                actor: by.actor(),
                person: by.person().to_owned(),
                reason: Some(reason),
            },
        )
        .await?)
}

/// The closure a change to `unit`'s inputs in the period would break, if any: the period
/// is closed for `unit`'s own subtree or an ancestor's.
pub fn closure_over<'a>(closures: &'a [Closure], unit: &str) -> Option<&'a Closure> {
    closures.iter().find(|c| c.covers(unit))
}

/// What a closed period refuses: anything that would change the approved figures' inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedChange {
    List,
    PayoutFile,
    /// A link or a payment in cash recorded against an exception.
    Adjustment,
    /// Arrears carried in from an earlier period.
    CarryOver,
}

impl ClosedChange {
    pub fn label_vi(self) -> &'static str {
        match self {
            ClosedChange::List => "danh sách",
            ClosedChange::PayoutFile => "tệp kết quả chi",
            ClosedChange::Adjustment => "điều chỉnh (ghép khoản chi, chi tiền mặt)",
            ClosedChange::CarryOver => "truy lĩnh chuyển sang",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ClosedChange::List => "lists",
            ClosedChange::PayoutFile => "payout files",
            ClosedChange::Adjustment => "adjustments (links, payments in cash)",
            ClosedChange::CarryOver => "arrears carried over",
        }
    }
}

impl From<UploadKind> for ClosedChange {
    fn from(k: UploadKind) -> Self {
        match k {
            UploadKind::Beneficiaries => ClosedChange::List,
            UploadKind::Payouts => ClosedChange::PayoutFile,
        }
    }
}

/// 409 naming the approved run when the period is closed for `unit`: checked before an
/// upload is read, so the uploader learns it at once (the store checks again as it writes).
pub async fn ensure_open(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
    what: ClosedChange,
) -> ServiceResult<()> {
    let closures = store.period_closures(period_id).await?;
    match closure_over(&closures, unit) {
        None => Ok(()),
        Some(c) => Err(ServiceError::Closed {
            unit: c.unit.clone(),
            run_id: c.run_id,
            closed_at: c.closed_at,
            what,
        }),
    }
}

/// The callbacks that arrived (or changed state) for a closed subtree after its closure:
/// those naming a unit of the subtree, or paying a person on the approved run's lists.
pub async fn post_close(
    store: &dyn Store,
    period: &Period,
    closure: &Closure,
) -> ServiceResult<PostClose> {
    let mut out = PostClose {
        approved_run: closure.run_id,
        unit: closure.unit.clone(),
        closed_at: closure.closed_at,
        count: 0,
        amount: Decimal::ZERO,
    };
    let late = store
        .callbacks_since(
            &period.programme,
            &period.code,
            closure.closed_at,
            LATE_CALLBACKS_READ,
        )
        .await?;
    let everything = closure.unit == crate::domain::units::NATION;
    let in_subtree = |unit: &Option<String>| unit.as_deref().is_some_and(|u| closure.covers(u));
    // People the approved run's lists name, among those the late callbacks pay (the run's
    // lists are looked up only when some late callback needs it).
    let asked: Vec<String> = if everything {
        Vec::new()
    } else {
        late.iter()
            .filter(|c| !in_subtree(&c.unit_code))
            .filter_map(|c| c.population_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    };
    let on_lists: HashSet<String> = if asked.is_empty() {
        HashSet::new()
    } else {
        let lists = run_lists(store, period, closure.run_id).await?;
        store
            .ids_on_lists(&lists, &asked)
            .await?
            .into_iter()
            .collect()
    };
    for c in late {
        let counts = everything
            || in_subtree(&c.unit_code)
            || c.population_id
                .as_ref()
                .is_some_and(|p| on_lists.contains(p));
        if !counts {
            continue;
        }
        out.count += 1;
        match c.status.as_str() {
            "success" => out.amount += Decimal::from(c.amount),
            "returned" => out.amount -= Decimal::from(c.amount),
            _ => {}
        }
    }
    Ok(out)
}

/// The beneficiary lists a stored run used (by their digests in its meta).
async fn run_lists(store: &dyn Store, period: &Period, run_id: i64) -> ServiceResult<Vec<i64>> {
    let Some(run) = store.get_reconciliation(run_id).await? else {
        return Ok(Vec::new());
    };
    let meta: crate::report::ReportMeta = serde_json::from_str(&run.meta_json)
        .map_err(|e| StoreError::Corrupt(format!("run {run_id}: {e}")))?;
    let digests: HashSet<&str> = meta
        .inputs
        .iter()
        .filter(|i| i.role == "beneficiaries")
        .map(|i| i.sha256.as_str())
        .collect();
    Ok(store
        .list_uploads(period.id)
        .await?
        .into_iter()
        .filter(|u| u.kind == UploadKind::Beneficiaries && digests.contains(u.sha256.as_str()))
        .map(|u| u.id)
        .collect())
}

/// The period's state for a unit: the closure over it, if any.
pub async fn closures(store: &dyn Store, period_id: i64) -> ServiceResult<Vec<Closure>> {
    Ok(store.period_closures(period_id).await?)
}

/// An approved run with its signers in its meta: its workbooks are the documents to sign
/// and file (the signature block names who submitted and who approved it, and when; the
/// footer carries the report's digest). Other runs as they are.
pub async fn with_signatures(
    store: &dyn Store,
    mut run: super::LoadedRun,
) -> ServiceResult<super::LoadedRun> {
    if run.stored.info.state != RunState::Approved {
        return Ok(run);
    }
    let steps = store.run_steps(run.stored.info.id).await?;
    let last = |step: Step| steps.iter().rev().find(|s| s.step == step);
    if let (Some(submit), Some(approve)) = (last(Step::Submit), last(Step::Approve)) {
        run.meta.signatures = Some(Signatures {
            prepared_by: Signer {
                person: submit.person.clone(),
                at: submit.at,
            },
            approved_by: Signer {
                person: approve.person.clone(),
                at: approve.at,
            },
        });
    }
    Ok(run)
}
