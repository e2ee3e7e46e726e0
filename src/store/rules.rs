//! The store's rules, pure: which changes an upload's state allows, and what each write
//! records in the audit trail. The backends (shared.rs) load, call these, and write.
//!
//! Audit entries are readable by auditors: they name files, ids, digests and counts, never
//! a row's content, a token's hash or a session id.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{
    Closure, NewPeriod, NewRun, NewRunStep, NewToken, NewUpload, Programme, RunInfo, StoreError,
    StoreResult, TokenInfo, Upload, UploadKind,
};
use crate::domain::approval::{RunState, Step};
use crate::domain::audit::{Action, NewAuditEntry};
use crate::domain::period::TargetsBp;

/// Only a beneficiary list can be a period's current list.
pub(super) fn may_make_current(u: &Upload) -> StoreResult<()> {
    if u.kind == UploadKind::Beneficiaries {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "upload {} is a bank result file, not a list / tệp kết quả chi, không phải danh sách",
            u.id
        )))
    }
}

/// An upload is retired once.
pub(super) fn may_retire(u: &Upload) -> StoreResult<()> {
    if u.retired_at.is_none() {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "upload {} is already retired / tệp đã được loại bỏ",
            u.id
        )))
    }
}

/// The identical file already stored for another unit is not this unit's to reuse: each
/// unit's uploads are its own (a list stored twice would count its people twice).
pub(super) fn same_unit_as_stored(existing: &Upload, unit: &str) -> StoreResult<()> {
    if existing.unit == unit {
        return Ok(());
    }
    // The unit only: the uploader may not see that unit's files.
    Err(StoreError::Conflict(format!(
        "tệp này đã được tải lên cho đơn vị {unit}; mỗi tệp chỉ thuộc một đơn vị / this file is already stored for unit {unit}; a file belongs to one unit",
        unit = existing.unit
    )))
}

/// A list may become `unit`'s current list only while no ancestor or descendant unit has
/// a current list in the period (`current`: the period's current lists): a province's
/// list and its communes' lists would count the same people twice.
pub(super) fn no_overlap(unit: &str, current: &[Upload]) -> StoreResult<()> {
    let tree = crate::domain::units::shipped_tree();
    let clash = current.iter().find(|c| {
        c.unit != unit && (tree.is_within(&c.unit, unit) || tree.is_within(unit, &c.unit))
    });
    let Some(c) = clash else { return Ok(()) };
    let name = tree
        .get(&c.unit)
        .map_or_else(|| c.unit.clone(), |u| u.full_name.clone());
    let version = c.version.unwrap_or(0);
    Err(StoreError::Conflict(format!(
        "đơn vị {} ({name}) đã có danh sách hiện hành trong kỳ này: '{}' (tệp #{}, phiên bản {version}); danh sách của đơn vị cấp trên và cấp dưới không được chồng lên nhau — hãy loại bỏ danh sách đó trước / unit {} ({name}) already has a current list in this period: '{}' (upload {}, version {version}); a unit's list may not overlap its ancestors' or descendants' — retire that list first",
        c.unit, c.file_name, c.id, c.unit, c.file_name, c.id
    )))
}

/// Putting an upload back in use changes something: it is retired, or it is a list that
/// is not the current one. Otherwise nothing is written and nothing audited.
pub(super) fn reinstating_changes(u: &Upload) -> bool {
    u.retired_at.is_some() || (u.kind == UploadKind::Beneficiaries && !u.current)
}

pub(super) fn upload_saved(
    kind: UploadKind,
    period_id: i64,
    id: i64,
    u: &NewUpload,
    actor: &str,
) -> NewAuditEntry {
    let action = match kind {
        UploadKind::Beneficiaries => Action::UploadBeneficiaries,
        UploadKind::Payouts => Action::UploadPayouts,
    };
    NewAuditEntry::new(
        actor,
        action,
        format!("period/{period_id}"),
        json!({
            "upload_id": id,
            "unit": u.unit,
            "file_name": u.file_name,
            "sha256": u.sha256,
            "accepted_rows": u.accepted_rows,
            "rejected_rows": u.rejected_rows,
        }),
    )
}

/// A list made current (restored if retired), or a retired payout file counting again.
pub(super) fn upload_reinstated(existing: &Upload, actor: &str, why: &str) -> NewAuditEntry {
    let action = if existing.kind == UploadKind::Beneficiaries {
        Action::UploadMakeCurrent
    } else {
        Action::UploadRestore
    };
    NewAuditEntry::new(
        actor,
        action,
        format!("period/{}", existing.period_id),
        json!({
            "upload_id": existing.id,
            "unit": existing.unit,
            "version": existing.version,
            "file_name": existing.file_name,
            "was_retired": existing.retired_at.is_some(),
            "why": why,
        }),
    )
}

pub(super) fn upload_retired(existing: &Upload, actor: &str) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::UploadRetire,
        format!("period/{}", existing.period_id),
        json!({
            "upload_id": existing.id,
            "unit": existing.unit,
            "kind": existing.kind.as_str(),
            "version": existing.version,
            "file_name": existing.file_name,
            "was_current": existing.current,
        }),
    )
}

pub(super) fn period_created(id: i64, new: &NewPeriod, actor: &str) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::PeriodCreate,
        format!("period/{id}"),
        json!({
            "code": new.code,
            "programme": new.programme,
            "locality": new.locality,
            "target_bp": new.targets.all,
            "account_target_bp": new.targets.account_coverage,
            "cashless_target_bp": new.targets.cashless_rate,
        }),
    )
}

pub(super) fn programme_created(new: &Programme, actor: &str) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::ProgrammeCreate,
        format!("programme/{}", new.code),
        json!({ "code": new.code, "name": new.name }),
    )
}

pub(super) fn target_set(
    period_id: i64,
    unit: &str,
    before: TargetsBp,
    after: TargetsBp,
    actor: &str,
) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::PeriodTarget,
        format!("period/{period_id}"),
        json!({
            "unit": unit,
            "target_bp_before": before.all,
            "target_bp": after.all,
            "account_target_bp_before": before.account_coverage,
            "account_target_bp": after.account_coverage,
            "cashless_target_bp_before": before.cashless_rate,
            "cashless_target_bp": after.cashless_rate,
        }),
    )
}

/// The Conflict of a change to a closed period's inputs: which approved run closed it.
pub(super) fn closed_by(c: &Closure) -> StoreError {
    StoreError::Conflict(format!(
        "Kỳ đã khóa cho đơn vị {unit} và các đơn vị trực thuộc: kết quả đối soát #{run} đã được phê duyệt ({by}); cần người phê duyệt mở lại kỳ / the period is closed for unit {unit}'s subtree: reconciliation {run} was approved ({by}); an approver must reopen it first",
        unit = c.unit,
        run = c.run_id,
        by = c.closed_by,
    ))
}

/// Conflict when `unit` lies in the subtree of a closed unit.
pub(super) fn not_closed(unit: &str, closures: &[Closure]) -> StoreResult<()> {
    match closures.iter().find(|c| c.covers(unit)) {
        Some(c) => Err(closed_by(c)),
        None => Ok(()),
    }
}

/// A run's step (submit, approve, return, reopen): the state before and after, and why.
pub(super) fn run_step_taken(
    run: &RunInfo,
    step: &NewRunStep,
    before: RunState,
    after: RunState,
) -> NewAuditEntry {
    let action = match step.step {
        Step::Submit => Action::RunSubmit,
        Step::Approve => Action::RunApprove,
        Step::Return => Action::RunReturn,
        Step::Reopen => Action::PeriodReopen,
    };
    let subject = match step.step {
        Step::Reopen => format!("period/{}", run.period_id),
        _ => format!("reconciliation/{}", run.id),
    };
    NewAuditEntry::new(
        &step.actor,
        action,
        subject,
        json!({
            "reconciliation_id": run.id,
            "period_id": run.period_id,
            "unit": run.unit,
            "state_before": before.as_str(),
            "state": after.as_str(),
            "closes_period": step.step == Step::Approve,
            "reopens_period": step.step == Step::Reopen,
            "reason": step.reason,
            "report_sha256": run.report_sha256,
        }),
    )
}

pub(super) fn run_saved(id: i64, run: &NewRun, actor: &str) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::ReconciliationCreate,
        format!("period/{}", run.period_id),
        json!({
            "reconciliation_id": id,
            "unit": run.unit,
            "list_upload_id": run.list_upload_id,
            "report_sha256": run.report_sha256,
        }),
    )
}

/// Never the token's hash nor its webhook secret.
pub(super) fn token_created(id: i64, new: &NewToken, actor: &str) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::TokenCreate,
        format!("token/{}", new.name),
        json!({ "token_id": id, "name": new.name, "display_name": new.display_name, "role": new.role.as_str(), "bank_code": new.bank_code, "unit": new.unit }),
    )
}

pub(super) fn token_revoked(
    id: i64,
    name: &str,
    unit: &str,
    sessions: u64,
    actor: &str,
) -> NewAuditEntry {
    NewAuditEntry::new(
        actor,
        Action::TokenRevoke,
        format!("token/{name}"),
        json!({ "token_id": id, "name": name, "unit": unit, "sessions_deleted": sessions }),
    )
}

/// Never the session id or its hash.
pub(super) fn signed_in(token: &TokenInfo, expires_at: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry::new(
        &token.actor(),
        Action::SessionSignIn,
        format!("token/{}", token.name),
        json!({ "token_id": token.id, "unit": token.unit, "expires_at": expires_at }),
    )
}

pub(super) fn signed_out(token: &TokenInfo) -> NewAuditEntry {
    NewAuditEntry::new(
        &token.actor(),
        Action::SessionSignOut,
        format!("token/{}", token.name),
        json!({ "token_id": token.id, "unit": token.unit }),
    )
}

/// Something done about an exception of a run: the entry, the state before it, and the
/// adjustment of the period it made, if any.
pub(super) fn exception_resolved(
    unit: &str,
    entry: &crate::store::Resolution,
    before: crate::domain::resolution::ResolutionState,
    adjustment: Option<&crate::store::NewAdjustment>,
) -> NewAuditEntry {
    let mut details = json!({
        "unit": unit,
        "run": entry.run_id,
        "key": entry.key,
        "resolution": entry.id,
        "action": entry.action.as_str(),
        "state_before": before.as_str(),
        "state": entry.state.as_str(),
        "note": entry.note,
    });
    if let Some(b) = &entry.beneficiary {
        details["beneficiary"] = json!(b);
    }
    if let Some(a) = adjustment {
        details["adjustment"] = json!({
            "period": a.period_id,
            "payout": a.payout_key,
            "beneficiary": a.beneficiary_key,
            "list_upload": a.list_upload_id,
        });
    }
    NewAuditEntry::new(
        &entry.actor,
        Action::ExceptionResolve,
        format!("reconciliation/{}", entry.run_id),
        details,
    )
}

/// Conflict when `new` would carry people already carried from the same earlier period
/// (`earlier`: run, unit, target period of each carry-over from it): the same run, or a run
/// of a unit above or below it, into this period or another.
pub(super) fn carry_over_fits(
    new: &crate::store::NewCarryOver,
    earlier: &[(i64, String, i64)],
) -> StoreResult<()> {
    let tree = crate::domain::units::shipped_tree();
    for (run, unit, period) in earlier {
        if *run == new.from_run && *period == new.period_id {
            return Err(StoreError::Conflict(format!(
                "Lượt đối soát {run} đã được chuyển sang kỳ này / run {run} was carried over \
                 into this period already"
            )));
        }
        if *run == new.from_run
            || tree.is_within(unit, &new.unit)
            || tree.is_within(&new.unit, unit)
        {
            return Err(StoreError::Conflict(format!(
                "Kỳ {from} của đơn vị {unit} đã được chuyển truy lĩnh (lượt {run}, sang kỳ số \
                 {period}): chuyển thêm lượt {new_run} sẽ tính hai lần / {from} of unit {unit} \
                 was carried over already (run {run}, into period {period}): carrying run \
                 {new_run} would count people twice",
                from = new.from_period_code,
                new_run = new.from_run,
            )));
        }
    }
    Ok(())
}

/// Conflict when the period is closed for a unit within `unit` (the service names the
/// closure first; this is the check under the write lock).
pub(super) fn none_closed_below(unit: &str, closures: &[Closure]) -> StoreResult<()> {
    let tree = crate::domain::units::shipped_tree();
    match closures.iter().find(|c| tree.is_within(&c.unit, unit)) {
        Some(c) => Err(closed_by(c)),
        None => Ok(()),
    }
}

/// The audit entry of a carry-over.
pub(super) fn carried_over(c: &crate::store::CarryOver) -> NewAuditEntry {
    NewAuditEntry::new(
        &c.actor,
        Action::PeriodCarryOver,
        format!("period/{}", c.period_id),
        json!({
            "unit": c.unit,
            "carry_over": c.id,
            "from_run": c.from_run,
            "from_period": c.from_period_code,
            "people": c.people,
            "amount": c.amount.to_string(),
            "skipped": c.skipped,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_periods_people_are_carried_once() {
        let new = |run: i64, unit: &str| crate::store::NewCarryOver {
            period_id: 2,
            unit: unit.into(),
            from_run: run,
            from_period_code: "2024-08".into(),
            skipped: 0,
            actor: "a".into(),
            actor_name: "a".into(),
            items: Vec::new(),
        };
        let earlier = vec![(7, "01".to_owned(), 2)];
        assert!(
            carry_over_fits(&new(7, "01"), &earlier).is_err(),
            "the same run"
        );
        assert!(
            carry_over_fits(&new(8, "00004"), &earlier).is_err(),
            "a ward below"
        );
        assert!(
            carry_over_fits(&new(9, "VN"), &earlier).is_err(),
            "the nation above"
        );
        assert!(
            carry_over_fits(&new(10, "79"), &earlier).is_ok(),
            "another province"
        );
        assert!(carry_over_fits(&new(11, "01"), &[]).is_ok());
        let into_october = vec![(7, "01".to_owned(), 3)];
        assert!(
            carry_over_fits(&new(7, "01"), &into_october).is_err(),
            "the same run into another month"
        );
    }

    fn upload(kind: UploadKind, current: bool, retired: bool) -> Upload {
        Upload {
            id: 7,
            period_id: 3,
            kind,
            unit: "VN".into(),
            version: (kind == UploadKind::Beneficiaries).then_some(2),
            file_name: "danh_sach.xlsx".into(),
            format: "xlsx".into(),
            sheet: None,
            bank_code: None,
            sha256: "ab".repeat(32),
            size_bytes: 1,
            uploaded_by: "accountant:kt".into(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            header_row: 1,
            data_rows: 1,
            accepted_rows: 1,
            rejected_rows: 0,
            control_total: None,
            notices: Vec::new(),
            current,
            retired_at: retired.then_some(DateTime::<Utc>::UNIX_EPOCH),
            retired_by: retired.then(|| "accountant:kt".into()),
            row_errors: Vec::new(),
        }
    }

    #[test]
    fn only_lists_become_current_and_an_upload_retires_once() {
        use UploadKind::{Beneficiaries as L, Payouts as P};
        assert!(may_make_current(&upload(L, false, true)).is_ok());
        assert!(matches!(
            may_make_current(&upload(P, false, false)),
            Err(StoreError::Conflict(_))
        ));
        assert!(may_retire(&upload(P, false, false)).is_ok());
        assert!(matches!(
            may_retire(&upload(L, false, true)),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn reinstating_writes_only_when_something_changes() {
        use UploadKind::{Beneficiaries as L, Payouts as P};
        assert!(
            !reinstating_changes(&upload(L, true, false)),
            "already current"
        );
        assert!(
            !reinstating_changes(&upload(P, false, false)),
            "a payout file in use"
        );
        assert!(
            reinstating_changes(&upload(L, false, false)),
            "an older list"
        );
        assert!(
            reinstating_changes(&upload(L, false, true)),
            "a retired list"
        );
        assert!(
            reinstating_changes(&upload(P, false, true)),
            "a retired payout file"
        );
        let entry = upload_reinstated(&upload(P, false, true), "accountant:kt", "re-uploaded");
        assert_eq!(entry.action, "upload.restore");
        assert_eq!(entry.subject, "period/3");
        assert_eq!(entry.details["was_retired"], true);
        let entry = upload_reinstated(&upload(L, false, false), "accountant:kt", "chosen");
        assert_eq!(entry.action, "upload.make_current");
    }
}
