//! Resolving exceptions: each exception of a run (by its key, `recon::adjust`) keeps a
//! history of what was done about it and the state it is in. A link or a payment in cash
//! is also an adjustment of the period for the run's unit: the live figures and the next
//! runs apply it (the inputs' name, `store::inputs_key`, includes the newest adjustment,
//! so live cells are recomputed with it), the stored run never changes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{LoadedRun, ServiceError, ServiceResult};
use crate::domain::resolution::{MAX_NOTE_CHARS, ResolutionAction, ResolutionState};
use crate::domain::units::shipped_tree;
use crate::recon::adjust::{Adjustments, ExceptionKey, MAX_KEY_CHARS, PayoutRef, PersonRef};
use crate::recon::{ExceptionKind, ExceptionRow, Outcome};
use crate::report::InputFile;
use crate::store::{
    Adjustment, ExceptionFilter, ListedQuery, ListedRow, NewAdjustment, NewResolution, PageStart,
    Resolution, Store, TokenInfo, UploadKind,
};

/// What a caller asks to record; the values are checked here (each refusal names the
/// field), so a typo is a 400 that says so, not a parser's message.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionRequest {
    /// `note`, `link`, `paid_in_cash` or `confirm`.
    pub action: String,
    /// `open`, `in_progress`, `resolved` or `wont_fix`; default: a note keeps the state,
    /// the other actions resolve.
    #[serde(default)]
    pub state: Option<String>,
    /// At most 2,000 characters; required for `link` and `paid_in_cash` (the reason).
    #[serde(default)]
    pub note: Option<String>,
    /// For `link`: the beneficiary's key (`b:<ID>`, `b:row:<list row>`).
    #[serde(default)]
    pub beneficiary: Option<String>,
}

/// An exception's history, oldest first, and the state it is in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct History {
    pub key: String,
    pub state: ResolutionState,
    pub entries: Vec<Resolution>,
}

/// Where an exception stands, as each row of a run's exception list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResolutionSummary {
    pub state: ResolutionState,
    /// How many entries its history has.
    pub entries: usize,
    /// The latest entry, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Resolution>,
}

impl ResolutionSummary {
    fn open() -> Self {
        ResolutionSummary {
            state: ResolutionState::Open,
            entries: 0,
            last: None,
        }
    }
}

/// Outcomes a payment in cash may settle: the person was owed money the bank did not pay.
const PAYABLE_IN_CASH: [Outcome; 5] = [
    Outcome::Unpaid,
    Outcome::Failed,
    Outcome::Returned,
    Outcome::Pending,
    Outcome::Underpaid,
];

/// Whether the run covers more than one list (then a `b:row:` key names its row's unit).
pub fn several_lists(run: &LoadedRun) -> bool {
    let tree = shipped_tree();
    let unit = run.stored.info.unit.as_str();
    run.meta
        .inputs
        .iter()
        .filter(|i| i.role == UploadKind::Beneficiaries.as_str())
        .filter(|i| {
            i.unit
                .as_deref()
                .is_none_or(|u| tree.is_within(u, unit) || tree.is_within(unit, u))
        })
        .count()
        > 1
}

/// Each exception's state in a run, by key (those with a history only).
pub async fn summaries(
    store: &dyn Store,
    run_id: i64,
) -> ServiceResult<HashMap<String, ResolutionSummary>> {
    let mut out: HashMap<String, ResolutionSummary> = HashMap::new();
    for r in store.resolutions(run_id, None).await? {
        let s = out
            .entry(r.key.clone())
            .or_insert_with(ResolutionSummary::open);
        s.entries += 1;
        s.state = r.state;
        s.last = Some(r);
    }
    Ok(out)
}

/// The summary of `key` in `map`: open where nothing was recorded.
pub fn summary_of(map: &HashMap<String, ResolutionSummary>, key: &str) -> ResolutionSummary {
    map.get(key)
        .cloned()
        .unwrap_or_else(ResolutionSummary::open)
}

fn bad_key(e: crate::recon::adjust::BadKey) -> ServiceError {
    ServiceError::invalid(
        "invalid-key",
        format!("Khoá ngoại lệ không hợp lệ / invalid exception key: {e}"),
    )
}

/// The exception of `run` with `key`: 404 when the run has none.
async fn exception_of(
    store: &dyn Store,
    run: &LoadedRun,
    key: &ExceptionKey,
) -> ServiceResult<ExceptionRow> {
    let run_id = run.stored.info.id;
    let filter = match key {
        ExceptionKey::Beneficiary(PersonRef::Id { id, .. }) => ExceptionFilter {
            search: Some(id.clone()),
            ..ExceptionFilter::default()
        },
        ExceptionKey::Beneficiary(PersonRef::Row { .. }) => ExceptionFilter {
            flags: vec![crate::recon::Flag::InvalidId.as_str().to_owned()],
            ..ExceptionFilter::default()
        },
        ExceptionKey::Payout(p) => {
            let bank = match p {
                PayoutRef::Reference { bank, .. } | PayoutRef::Row { bank, .. } => bank,
            };
            ExceptionFilter {
                kinds: vec![ExceptionKind::UnmatchedPayout.as_str().to_owned()],
                bank_codes: vec![bank.code().to_owned()],
                ..ExceptionFilter::default()
            }
        }
    };
    let several = several_lists(run);
    let wanted = key.to_string();
    // Pages of the candidates (an ID's rows, the invalid IDs, a bank's unmatched payouts),
    // each row's key compared.
    const PAGE: i64 = 5_000;
    let mut after: Option<i64> = None;
    loop {
        let start = after.map_or(PageStart::Skip(0), PageStart::After);
        let rows = store.exception_rows(run_id, &filter, start, PAGE).await?;
        for (_, json) in &rows {
            let row = super::exceptions::parse_row(run_id, json)?;
            if row.key(several).is_some_and(|k| k.to_string() == wanted) {
                return Ok(row);
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
        after = rows.last().map(|(seq, _)| *seq);
    }
    Err(ServiceError::NotFound(format!(
        "reconciliation {run_id}: exception {}",
        wanted.chars().take(MAX_KEY_CHARS).collect::<String>()
    )))
}

/// The history of `key` in `run`, oldest first. 404 for a key the run does not have.
pub async fn history(store: &dyn Store, run: &LoadedRun, key: &str) -> ServiceResult<History> {
    let parsed = ExceptionKey::parse(key).map_err(bad_key)?;
    let row = exception_of(store, run, &parsed).await?;
    let key = row
        .key(several_lists(run))
        .map_or_else(|| parsed.to_string(), |k| k.to_string());
    let entries = store.resolutions(run.stored.info.id, Some(&key)).await?;
    Ok(History {
        state: entries.last().map_or(ResolutionState::Open, |e| e.state),
        key,
        entries,
    })
}

/// The row of the period's current lists a beneficiary key names, as the adjustment keeps
/// it: the key qualified with the unit the row counts in where the row or a second listing
/// needs it, and the list version for a row.
struct Listed {
    key: PersonRef,
    row: ListedRow,
}

async fn listed(store: &dyn Store, period_id: i64, person: &PersonRef) -> ServiceResult<Listed> {
    let q = match person {
        PersonRef::Id { id, .. } => ListedQuery::Id(id.clone()),
        PersonRef::Row { row, .. } => ListedQuery::Row(i64::from(*row)),
    };
    let mut rows = store.listed_rows(period_id, &q).await?;
    if let PersonRef::Row { .. } = person {
        // A row key names an invalid ID's row only: a valid one is named by its ID.
        rows.retain(|r| r.id_status == "invalid" || r.id_status == "missing");
    }
    if let Some(u) = person.unit() {
        rows.retain(|r| r.unit() == u);
    }
    // Rows of one list with the same ID are one person.
    let mut lists: Vec<i64> = rows.iter().map(|r| r.upload_id).collect();
    lists.dedup();
    let not_listed = || {
        ServiceError::refused(
            "not-on-list",
            format!(
                "{person} không có trong danh sách hiện hành của kỳ / is not on the period's current lists"
            ),
        )
    };
    match (lists.len(), rows.into_iter().next()) {
        (0, _) | (_, None) => Err(not_listed()),
        (1, Some(row)) => {
            let unit = row.unit().to_owned();
            let key = match person {
                PersonRef::Row { .. } => person.clone().with_unit(Some(unit)),
                PersonRef::Id { .. } => {
                    // Qualified where another unit's list has them too.
                    let all = store.listed_rows(period_id, &q).await?;
                    let more = all.iter().any(|r| r.upload_id != row.upload_id);
                    person.clone().with_unit(more.then_some(unit))
                }
            };
            Ok(Listed { key, row })
        }
        _ => Err(ServiceError::refused(
            "ambiguous-beneficiary",
            format!(
                "{person} có trong danh sách của nhiều đơn vị; ghi rõ đơn vị (…@<mã đơn vị>) / is on several units' lists: name the unit (…@<unit code>)"
            ),
        )),
    }
}

/// Record `req` about the exception `key` of `run`, as `token`: 201's entry. Refused, with
/// nothing stored: a malformed request (400), a key the run does not have (404), an action
/// that does not fit the exception or a beneficiary not on the period's current lists
/// (409).
pub async fn resolve(
    store: &dyn Store,
    run: &LoadedRun,
    key: &str,
    req: ResolutionRequest,
    token: &TokenInfo,
) -> ServiceResult<Resolution> {
    let action = ResolutionAction::parse(req.action.trim()).ok_or_else(|| {
        ServiceError::invalid(
            "invalid-action",
            format!(
                "action phải là note, link, paid_in_cash hoặc confirm / action must be note, link, paid_in_cash or confirm, not '{}'",
                req.action.chars().take(40).collect::<String>()
            ),
        )
    })?;
    let state = match req.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ResolutionState::parse(s).ok_or_else(|| {
            ServiceError::invalid(
                "invalid-state",
                format!(
                    "state phải là open, in_progress, resolved hoặc wont_fix / state must be open, in_progress, resolved or wont_fix, not '{}'",
                    s.chars().take(40).collect::<String>()
                ),
            )
        })?),
    };
    let note = req.note.as_deref().map(str::trim).unwrap_or("").to_owned();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ServiceError::invalid(
            "note-too-long",
            format!(
                "Ghi chú dài quá {MAX_NOTE_CHARS} ký tự / the note is longer than {MAX_NOTE_CHARS} characters"
            ),
        ));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ServiceError::invalid(
            "invalid-note",
            "Ghi chú có ký tự điều khiển / the note holds control characters",
        ));
    }
    if note.is_empty() && action.adjusts() {
        return Err(ServiceError::invalid(
            "note-required",
            "Cần ghi lý do (note) / a reason (note) is required",
        ));
    }
    if note.is_empty() && action == ResolutionAction::Note && state.is_none() {
        return Err(ServiceError::invalid(
            "nothing-to-record",
            "Cần ghi chú hoặc trạng thái / a note or a state is required",
        ));
    }
    let beneficiary = req
        .beneficiary
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    if beneficiary.is_some() && action != ResolutionAction::Link {
        return Err(ServiceError::invalid(
            "unexpected-beneficiary",
            "Chỉ thao tác link mới ghi người hưởng / only a link names a beneficiary",
        ));
    }
    let parsed = ExceptionKey::parse(key).map_err(bad_key)?;
    let row = exception_of(store, run, &parsed).await?;
    let info = &run.stored.info;
    // A closed period's figures are approved: nothing may change what they came from.
    if action.adjusts() {
        super::approval::ensure_open(
            store,
            info.period_id,
            &info.unit,
            super::approval::ClosedChange::Adjustment,
        )
        .await?;
    }
    let key = row
        .key(several_lists(run))
        .map_or_else(|| parsed.to_string(), |k| k.to_string());
    let adjustment = match action {
        ResolutionAction::Note | ResolutionAction::Confirm => None,
        ResolutionAction::Link => {
            let ExceptionKey::Payout(_) = parsed else {
                return Err(ServiceError::refused(
                    "not-a-payout",
                    "Chỉ ghép được khoản chi không có trong danh sách (khoá p:…) / only a payout to nobody (a p: key) can be linked",
                ));
            };
            let Some(b) = beneficiary else {
                return Err(ServiceError::invalid(
                    "beneficiary-required",
                    "Cần ghi người hưởng (beneficiary: b:<số định danh>) / link needs a beneficiary (b:<ID>)",
                ));
            };
            let person = match ExceptionKey::parse(b).map_err(bad_key)? {
                ExceptionKey::Beneficiary(p) => p,
                ExceptionKey::Payout(_) => {
                    return Err(ServiceError::invalid(
                        "invalid-beneficiary",
                        "beneficiary phải là khoá b:… / beneficiary must be a b: key",
                    ));
                }
            };
            let found = listed(store, info.period_id, &person).await?;
            within_run(info, &found)?;
            Some(NewAdjustment {
                period_id: info.period_id,
                unit: info.unit.clone(),
                action,
                payout_key: Some(key.clone()),
                beneficiary_key: found.key.to_string(),
                list_upload_id: matches!(found.key, PersonRef::Row { .. })
                    .then_some(found.row.upload_id),
            })
        }
        ResolutionAction::PaidInCash => {
            let ExceptionKey::Beneficiary(_) = parsed else {
                return Err(ServiceError::refused(
                    "not-a-beneficiary",
                    "Chỉ người hưởng (khoá b:…) mới được ghi đã chi tiền mặt / only a beneficiary (a b: key) can be paid in cash",
                ));
            };
            let ExceptionKind::Beneficiary(outcome) = row.kind else {
                return Err(ServiceError::refused(
                    "not-a-beneficiary",
                    "not a beneficiary",
                ));
            };
            if !PAYABLE_IN_CASH.contains(&outcome) {
                return Err(ServiceError::refused(
                    "not-payable-in-cash",
                    format!(
                        "Người hưởng có kết quả '{}' không còn khoản phải chi / a beneficiary '{}' is owed nothing to pay in cash",
                        outcome.label_vi(),
                        outcome.as_str()
                    ),
                ));
            }
            // The person as the run names them, on the lists as they are now.
            let person = match row.key(false) {
                Some(ExceptionKey::Beneficiary(p)) => p.with_unit(row.unit.clone()),
                _ => return Err(ServiceError::Internal("a beneficiary without a key".into())),
            };
            let found = listed(store, info.period_id, &person).await?;
            Some(NewAdjustment {
                period_id: info.period_id,
                unit: info.unit.clone(),
                action,
                payout_key: None,
                beneficiary_key: found.key.to_string(),
                list_upload_id: matches!(found.key, PersonRef::Row { .. })
                    .then_some(found.row.upload_id),
            })
        }
    };
    let entry = store
        .add_resolution(
            NewResolution {
                run_id: info.id,
                key,
                action,
                state,
                note,
                beneficiary: adjustment
                    .as_ref()
                    .filter(|a| a.action == ResolutionAction::Link)
                    .map(|a| a.beneficiary_key.clone()),
                actor: token.actor(),
                actor_name: token.person().to_owned(),
            },
            adjustment,
        )
        .await?;
    if entry.action.adjusts() {
        // The live figures count the period's adjustments: recomputed from the next read.
        tracing::info!(
            run = info.id,
            period = info.period_id,
            action = entry.action.as_str(),
            "exception resolved: the live figures take it in"
        );
    }
    Ok(entry)
}

/// A beneficiary linked from a run must count within the run's unit.
fn within_run(info: &crate::store::RunInfo, found: &Listed) -> ServiceResult<()> {
    if shipped_tree().is_within(found.row.unit(), &info.unit) {
        Ok(())
    } else {
        Err(ServiceError::refused(
            "outside-run",
            format!(
                "Người hưởng thuộc đơn vị {}, ngoài đơn vị {} của lần đối soát / the beneficiary counts in {}, outside the run's unit {}",
                found.row.unit(),
                info.unit,
                found.row.unit(),
                info.unit
            ),
        ))
    }
}

/// The stored adjustments as the engine applies them to a reconciliation whose current
/// lists are `current_lists` (upload ids): a row's adjustment holds for its list version
/// only; keys that no longer read are left out.
pub fn bind(stored: &[Adjustment], current_lists: &[i64]) -> Adjustments {
    let mut out = Adjustments::default();
    for a in stored {
        if a.list_upload_id
            .is_some_and(|l| !current_lists.contains(&l))
        {
            continue;
        }
        let Ok(ExceptionKey::Beneficiary(person)) = ExceptionKey::parse(&a.beneficiary_key) else {
            continue;
        };
        match a.action {
            ResolutionAction::Link => {
                if let Some(Ok(ExceptionKey::Payout(p))) =
                    a.payout_key.as_deref().map(ExceptionKey::parse)
                {
                    out.links.push((p, person));
                }
            }
            ResolutionAction::PaidInCash => out.paid_in_cash.push(person),
            _ => {}
        }
    }
    out
}

/// The newest adjustment's id (what names the adjustments in the live inputs' key).
pub fn mark(stored: &[Adjustment]) -> Option<i64> {
    stored.iter().map(|a| a.id).max()
}

/// The adjustments as an input of a run (its digest covers each one), when there are any.
pub fn adjustments_input(stored: &[Adjustment]) -> Option<InputFile> {
    if stored.is_empty() {
        return None;
    }
    let lines: Vec<String> = stored
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {} {}",
                a.id,
                a.action.as_str(),
                a.unit,
                a.payout_key.as_deref().unwrap_or("-"),
                a.beneficiary_key,
                a.list_upload_id.map_or("-".to_owned(), |l| l.to_string())
            )
        })
        .collect();
    Some(InputFile::records("adjustments", &lines))
}
