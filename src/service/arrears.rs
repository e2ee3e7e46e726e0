//! Carrying over (truy lĩnh): an approved run's follow-up (its unpaid, failed and returned
//! people, and the rest of each underpayment) becomes arrears owed in a later period of
//! the same programme, for the run's unit. The later period's runs and live figures then
//! count a payment first to the month, then to the arrears (`recon::arrears`), and show the
//! arrears due, paid and outstanding apart from the month's own amounts.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rust_decimal::Decimal;
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::domain::approval::RunState;
use crate::domain::period::PeriodCode;
use crate::domain::records::ListRows;
use crate::domain::resolution::ResolutionState;
use crate::recon::arrears::{Arrears, settled};
use crate::recon::{ExceptionRow, Flag, Outcome, Reconciliation};
use crate::report::ArrearsFigures;
use crate::store::{
    Arrear, CarryOver, ExceptionFilter, NewArrear, NewCarryOver, PageStart, Store, TokenInfo,
};

/// The outcomes a carry-over takes: the follow-up list's (failed, returned, unpaid), and
/// the rest of an underpayment.
pub const CARRIED: [Outcome; 4] = [
    Outcome::Unpaid,
    Outcome::Failed,
    Outcome::Returned,
    Outcome::Underpaid,
];

/// The kind of an arrears row carried on again: arrears its period still owed.
pub const ARREARS_KIND: &str = "arrears";

/// Exception rows read from the store at a time.
const CHUNK: i64 = 5_000;

/// Late callbacks read to find who was paid after the run was made (more: refused, the
/// period is to be reconciled again first).
const LATE_READ: i64 = 200_000;

/// The arrears owed in a period, by person, as the engine applies them. Only 12-digit IDs
/// are carried, so each parses.
pub fn owed(stored: &[Arrear]) -> Arrears {
    let mut out = Arrears::default();
    for a in stored {
        if let Ok(key) = a.population_id.parse::<u64>() {
            out.add(key, &a.scope, a.amount);
        }
    }
    out
}

/// The arrears as an input of a run (its digest covers each row), when there are any.
pub fn arrears_input(stored: &[Arrear]) -> Option<crate::report::InputFile> {
    if stored.is_empty() {
        return None;
    }
    let lines: Vec<String> = stored
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {} {}",
                a.id, a.from_run, a.unit, a.population_id, a.kind, a.amount
            )
        })
        .collect();
    Some(crate::report::InputFile::records("arrears", &lines))
}

/// What a carry-over takes from one exception row of the approved run: its amount still
/// owed, or None (not owed, or not carried: see `skip`).
fn owed_by(row: &ExceptionRow) -> Option<Decimal> {
    let due = row.amount_due?;
    let rest = due - row.amount_paid;
    (rest > Decimal::ZERO).then_some(rest)
}

/// Whether a row's person cannot be carried: no valid 12-digit ID to find them by next
/// month (a legacy CMND or a typo), or paid in cash after all.
fn skip(row: &ExceptionRow) -> bool {
    row.flags.contains(Flag::InvalidId)
        || row.flags.contains(Flag::LegacyId)
        || row.flags.contains(Flag::PaidInCash)
        || row.population_id.len() != 12
        || !row.population_id.bytes().all(|b| b.is_ascii_digit())
}

/// Carry the follow-up of approved run `from_run` into period `period_id` (201). The run
/// must be approved (409 `not-approved`), of the same programme and an earlier period of
/// the same kind (400 `wrong-period`), within the token's subtree (404); the period must be
/// open for the run's unit and every unit below it (409 `period-closed`); a period's people
/// are carried once (409).
pub async fn carry_over(
    store: &dyn Store,
    period_id: i64,
    from_run: i64,
    by: &TokenInfo,
) -> ServiceResult<CarryOver> {
    if !by.role.can_write() {
        return Err(ServiceError::Forbidden(format!(
            "Vai trò '{role}' không được chuyển truy lĩnh / role '{role}' may not carry arrears over",
            role = by.role.as_str()
        )));
    }
    let period = store
        .get_period(period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {period_id}")))?;
    let run = store
        .run_info(from_run)
        .await?
        .filter(|r| by.sees(&r.unit))
        .ok_or_else(|| ServiceError::NotFound(format!("reconciliation {from_run}")))?;
    if run.state != RunState::Approved {
        return Err(ServiceError::refused(
            "not-approved",
            format!(
                "Chỉ chuyển được kết quả đã duyệt; lượt {from_run} đang ở trạng thái '{state}' / only an approved run is carried over; run {from_run} is '{state}'",
                state = run.state.as_str()
            ),
        ));
    }
    let from = store
        .get_period(run.period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {}", run.period_id)))?;
    let earlier = match (
        PeriodCode::parse(&from.code),
        PeriodCode::parse(&period.code),
    ) {
        (Ok(a), Ok(b)) => a.precedes(&b),
        _ => false,
    };
    if from.programme != period.programme || !earlier {
        return Err(ServiceError::invalid(
            "wrong-period",
            format!(
                "Truy lĩnh chuyển sang một kỳ sau của cùng chế độ: lượt {from_run} thuộc kỳ {fc} ({fp}), kỳ này là {pc} ({pp}) / arrears go to a later period of the same programme: run {from_run} is of {fc} ({fp}), this period is {pc} ({pp})",
                fc = from.code,
                fp = from.programme,
                pc = period.code,
                pp = period.programme,
            ),
        ));
    }
    // Closed for the run's unit, or for a unit below it: its approved figures would change.
    let closures = store.period_closures(period_id).await?;
    let tree = crate::domain::units::shipped_tree();
    if let Some(c) = super::approval::closure_over(&closures, &run.unit)
        .or_else(|| closures.iter().find(|c| tree.is_within(&c.unit, &run.unit)))
    {
        return Err(ServiceError::Closed {
            unit: c.unit.clone(),
            run_id: c.run_id,
            closed_at: c.closed_at,
            what: super::approval::ClosedChange::CarryOver,
        });
    }
    // What banks sent after the run was made (late callbacks, counted apart in the closed
    // period), by person: paid less returned. It is taken off what is owed.
    let late = store
        .callbacks_since(&from.programme, &from.code, run.created_at, LATE_READ)
        .await?;
    if late.len() as i64 >= LATE_READ {
        return Err(ServiceError::refused(
            "too-many-late-callbacks",
            format!(
                "Hơn {LATE_READ} kết quả chi đến sau lượt {from_run}: hãy đối soát lại kỳ {code} trước / more than {LATE_READ} payouts arrived after run {from_run}: reconcile {code} again first",
                code = from.code
            ),
        ));
    }
    let mut paid_late: HashMap<String, Decimal> = HashMap::new();
    for c in late {
        let Some(id) = c.population_id else { continue };
        let sign = match c.status.as_str() {
            "success" => Decimal::ONE,
            "returned" => Decimal::NEGATIVE_ONE,
            _ => continue,
        };
        *paid_late.entry(id).or_default() += sign * Decimal::from(c.amount);
    }
    // Exceptions the accountants closed as not owed (wont_fix: died, no longer eligible…).
    let mut latest: HashMap<String, ResolutionState> = HashMap::new();
    for r in store.resolutions(run.id, None).await? {
        latest.insert(r.key, r.state);
    }
    // A person's row is keyed `b:<ID>` (qualified `@<unit>` when on two units' lists),
    // whatever the run covers: the key the resolutions were stored under.
    let not_owed = |row: &ExceptionRow| {
        row.key(false)
            .is_some_and(|k| latest.get(&k.to_string()) == Some(&ResolutionState::WontFix))
    };
    let filter = ExceptionFilter {
        kinds: CARRIED.map(|o| o.as_str().to_owned()).to_vec(),
        ..ExceptionFilter::default()
    };
    let mut items = Vec::new();
    let mut skipped = 0i64;
    let mut after = -1;
    loop {
        let rows = store
            .exception_rows(run.id, &filter, PageStart::After(after), CHUNK)
            .await?;
        let Some(&(last, _)) = rows.last() else {
            break;
        };
        after = last;
        for (seq, json) in rows {
            let row: ExceptionRow = serde_json::from_str(&json).map_err(|e| {
                ServiceError::Internal(format!("run {from_run}, exception {seq}: {e}"))
            })?;
            let Some(owed) = owed_by(&row) else {
                continue;
            };
            let late = paid_late
                .get(&row.population_id)
                .copied()
                .unwrap_or_default();
            let amount = owed - late.max(Decimal::ZERO);
            if skip(&row) || not_owed(&row) || amount <= Decimal::ZERO {
                skipped += 1;
                continue;
            }
            items.push(NewArrear {
                population_id: row.population_id,
                name: row.name,
                unit: row.unit.unwrap_or_else(|| run.unit.clone()),
                kind: match row.kind {
                    crate::recon::ExceptionKind::Beneficiary(o) => o.as_str().to_owned(),
                    crate::recon::ExceptionKind::UnmatchedPayout => continue,
                },
                amount,
            });
        }
    }
    // Arrears the run's own period still owes (carried into it and not paid in full, as
    // its figures stand now, late callbacks included) go on too.
    let carried_into_from = store.carry_overs(from.id).await?;
    for p in live_people(store, from.id, &carried_into_from)
        .await?
        .iter()
    {
        if p.amount_outstanding > Decimal::ZERO && tree.is_within(&p.unit, &run.unit) {
            items.push(NewArrear {
                population_id: p.population_id.clone(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                kind: ARREARS_KIND.to_owned(),
                amount: p.amount_outstanding,
            });
        }
    }
    Ok(store
        .carry_over(NewCarryOver {
            period_id,
            unit: run.unit.clone(),
            from_run: run.id,
            from_period_code: from.code.clone(),
            skipped,
            actor: by.actor(),
            actor_name: by.person().to_owned(),
            items,
        })
        .await?)
}

/// One person's arrears in a period, as its figures stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PersonArrears {
    pub population_id: String,
    pub name: String,
    /// The unit they count in: where the period's lists have them, else where the run
    /// carried them from.
    pub unit: String,
    /// The periods (and runs) the arrears come from.
    pub from_periods: Vec<String>,
    pub from_runs: Vec<i64>,
    /// Why: the earlier run's outcomes (`unpaid`, `failed`, `returned`, `underpaid`), or
    /// `arrears` still owed in that period and carried on.
    pub kinds: Vec<String>,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_due: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_paid: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_outstanding: Decimal,
    /// Whether a current list of the period has them (arrears are paid with the month: a
    /// person no list has is owed them still).
    pub listed: bool,
    /// Their outcome this period (the month and the arrears together), when listed.
    pub outcome: Option<String>,
}

/// Where a person owed arrears stands in a reconciliation of the period.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// What their payments put towards the arrears.
    pub paid: Decimal,
    /// Their outcome and unit, when a current list has them.
    pub listed: Option<(Outcome, Option<String>)>,
}

/// Where each person with arrears in `stored` stands in reconciliation `recon` of `list`.
pub fn standings<L: ListRows + ?Sized>(
    list: &L,
    recon: &Reconciliation,
    stored: &[Arrear],
) -> HashMap<u64, Standing> {
    let keys: Vec<u64> = stored
        .iter()
        .filter_map(|a| a.population_id.parse().ok())
        .collect();
    settled(list, recon, &keys)
        .into_iter()
        .map(|(k, s)| {
            let listed = s
                .beneficiary
                .and_then(|b| recon.beneficiaries.get(b as usize))
                .map(|p| (p.outcome, list.unit(p.row as usize).map(str::to_owned)));
            (
                k,
                Standing {
                    paid: s.paid,
                    listed,
                },
            )
        })
        .collect()
}

/// Each person's arrears (grouped by ID, in the order carried), as `standings` settle them
/// (a person without a standing: nothing paid, not listed).
pub fn per_person(stored: &[Arrear], standings: &HashMap<u64, Standing>) -> Vec<PersonArrears> {
    let mut order: Vec<u64> = Vec::new();
    let mut people: HashMap<u64, PersonArrears> = HashMap::new();
    for a in stored {
        let Ok(key) = a.population_id.parse::<u64>() else {
            continue;
        };
        let p = people.entry(key).or_insert_with(|| {
            order.push(key);
            PersonArrears {
                population_id: a.population_id.clone(),
                name: a.name.clone(),
                unit: a.unit.clone(),
                from_periods: Vec::new(),
                from_runs: Vec::new(),
                kinds: Vec::new(),
                amount_due: Decimal::ZERO,
                amount_paid: Decimal::ZERO,
                amount_outstanding: Decimal::ZERO,
                listed: false,
                outcome: None,
            }
        });
        p.amount_due += a.amount;
        if !p.from_periods.contains(&a.from_period_code) {
            p.from_periods.push(a.from_period_code.clone());
        }
        if !p.from_runs.contains(&a.from_run) {
            p.from_runs.push(a.from_run);
        }
        if !p.kinds.contains(&a.kind) {
            p.kinds.push(a.kind.clone());
        }
    }
    order
        .into_iter()
        .filter_map(|key| {
            let mut p = people.remove(&key)?;
            if let Some(s) = standings.get(&key) {
                p.amount_paid = s.paid.min(p.amount_due);
                if let Some((outcome, unit)) = &s.listed {
                    p.listed = true;
                    p.outcome = Some(outcome.as_str().to_owned());
                    if let Some(u) = unit {
                        p.unit = u.clone();
                    }
                }
            }
            p.amount_outstanding = p.amount_due - p.amount_paid;
            Some(p)
        })
        .collect()
}

/// The figures of the people `keep` lets through.
pub fn figures<'a>(
    people: impl IntoIterator<Item = &'a PersonArrears>,
    keep: impl Fn(&str) -> bool,
) -> ArrearsFigures {
    let mut f = ArrearsFigures::default();
    for p in people.into_iter().filter(|p| keep(&p.unit)) {
        f.beneficiaries += 1;
        f.amount_due += p.amount_due;
        f.amount_paid += p.amount_paid;
        f.amount_outstanding += p.amount_outstanding;
    }
    f
}

/// A period's arrears for a unit's subtree, as the period stands now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PeriodArrears {
    pub period_id: i64,
    pub unit: String,
    pub arrears: ArrearsFigures,
    /// The period's carry-overs into the subtree, oldest first.
    pub carry_overs: Vec<CarryOver>,
    /// People, in the order they were carried; `offset`/`limit` page them.
    pub total: usize,
    pub rows: Vec<PersonArrears>,
}

/// Each period's people, as last worked out, by (store, period, inputs now): a live read
/// reconciles the components of the people owed (not the whole period) once per change.
type Cached = HashMap<(usize, i64), (String, Arc<Vec<PersonArrears>>)>;
static CACHE: LazyLock<Mutex<Cached>> = LazyLock::new(Default::default);

/// Arrears rows up to which live figures read the people's components; beyond, reading
/// the whole period once is cheaper than following that many components.
const COMPONENTS_UP_TO: usize = 20_000;

/// Where each person owed stands, from a reconciliation of the whole period (None: it has
/// no list).
async fn whole_period_standings(
    store: &dyn Store,
    period_id: i64,
    stored: &[Arrear],
) -> ServiceResult<Option<HashMap<u64, Standing>>> {
    let g = match super::gather(store, period_id).await {
        Ok(g) => g,
        Err(ServiceError::NoList(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let stored = stored.to_vec();
    super::blocking(move || {
        let recon = crate::recon::reconcile(&g.list, &g.payouts, &g.options());
        Some(standings(&g.list, &recon, &stored))
    })
    .await
}

/// Every person's arrears in the period now, given its `carry_overs` (empty when nothing
/// was carried in).
pub async fn live_people(
    store: &dyn Store,
    period_id: i64,
    carry_overs: &[CarryOver],
) -> ServiceResult<Arc<Vec<PersonArrears>>> {
    if carry_overs.is_empty() {
        return Ok(Arc::new(Vec::new()));
    }
    // The newest carry-over is part of the inputs' key: a new one is a new version.
    let status = store.live_status(period_id).await?;
    // The figures as they stand: their inputs, the cells' writes, the changes waiting.
    let version = format!(
        "{}#{:?}#{}#{}",
        status.current_key, status.cells_key, status.cells_version, status.watermark
    );
    let slot = (store as *const dyn Store as *const () as usize, period_id);
    if let Some((v, people)) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&slot)
        && *v == version
    {
        return Ok(people.clone());
    }
    // Read only on a change: a national period's arrears may be many rows.
    let stored = store.period_arrears(period_id).await?;
    let standings = if stored.len() <= COMPONENTS_UP_TO {
        super::live::arrears_standings(store, period_id, &stored).await?
    } else {
        whole_period_standings(store, period_id, &stored).await?
    };
    // Without a list nobody is listed: everything is still owed.
    let people = per_person(&stored, &standings.unwrap_or_default());
    let people = Arc::new(people);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    // Few periods are worked on at once: keep the last few.
    if cache.len() >= 8 {
        cache.clear();
    }
    cache.insert(slot, (version, people.clone()));
    Ok(people)
}

/// The period's arrears for `unit`'s subtree: figures, carry-overs and a page of people.
pub async fn period_arrears(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
    offset: usize,
    limit: usize,
) -> ServiceResult<PeriodArrears> {
    if store.get_period(period_id).await?.is_none() {
        return Err(ServiceError::NotFound(format!("period {period_id}")));
    }
    let tree = crate::domain::units::shipped_tree();
    let within = |u: &str| tree.is_within(u, unit);
    // Those carried into the subtree (one into a unit above it speaks of other units' people
    // too: its people here are in the rows and figures).
    let mut carry_overs = store.carry_overs(period_id).await?;
    let people = live_people(store, period_id, &carry_overs).await?;
    carry_overs.retain(|c| within(&c.unit));
    let mine: Vec<&PersonArrears> = people.iter().filter(|p| within(&p.unit)).collect();
    Ok(PeriodArrears {
        period_id,
        unit: unit.to_owned(),
        arrears: figures(mine.iter().copied(), |_| true),
        carry_overs,
        total: mine.len(),
        rows: mine.into_iter().skip(offset).take(limit).cloned().collect(),
    })
}

/// The arrears figures of `unit`'s subtree now, when the period has any carried in.
pub async fn live_figures(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
) -> ServiceResult<Option<ArrearsFigures>> {
    let carry_overs = store.carry_overs(period_id).await?;
    if carry_overs.is_empty() {
        return Ok(None);
    }
    let people = live_people(store, period_id, &carry_overs).await?;
    let tree = crate::domain::units::shipped_tree();
    Ok(Some(figures(people.iter(), |u| tree.is_within(u, unit))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, due: &str, paid: &str, flags: &[&str]) -> ExceptionRow {
        serde_json::from_value(serde_json::json!({
            "kind": kind, "population_id": "001090000001", "name": "A",
            "commune": null, "category": null, "bank": null, "account": null,
            "amount_due": due, "amount_paid": paid, "flags": flags, "list_file": "ds.csv",
            "list_rows": [7], "payouts": [], "unit": "00004"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn what_is_carried() {
        assert_eq!(
            owed_by(&row("unpaid", "1500000", "0", &[])),
            Some(Decimal::from(1_500_000))
        );
        assert_eq!(
            owed_by(&row("underpaid", "1500000", "1000000", &[])),
            Some(Decimal::from(500_000)),
            "the rest of an underpayment"
        );
        assert_eq!(owed_by(&row("unpaid", "0", "0", &[])), None);
        assert!(skip(&row("unpaid", "1", "0", &["paid_in_cash"])));
        assert!(skip(&row("unpaid", "1", "0", &["invalid_id"])));
        assert!(!skip(&row("failed", "1", "0", &["name_mismatch"])));
    }
}
