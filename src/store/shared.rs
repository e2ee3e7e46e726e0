//! The one `Store` implementation both backends share, compiled once inside each backend's
//! module (`#[path = "shared.rs"] mod shared;` in sqlite.rs and postgres.rs), which supplies
//! `Backend` (its store type, with `reader()` and `begin_write()`), `Db` (its sqlx
//! database) and `DIALECT` (what its SQL spells differently). A module rather than generic
//! functions: sqlx's executor bounds over a generic database would outweigh the code they
//! share; a module rather than a macro so rustfmt, the compiler's spans and a reader see
//! ordinary code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::QueryBuilder;

use super::{Backend, DIALECT, Db};
use crate::domain::approval::{RunState, Step};
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::domain::columns::{InternedColumn, ListTable, PayoutTable};
use crate::domain::period::{TargetChange, TargetsBp};
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::units::Unit;
use crate::store::common::{
    AuditRecord, BATCH_ROWS, BankCallbackRecord, CallbackRecord, CallbackStateRecord, Cell,
    ClosureRecord, PeriodRecord, RunInfoRecord, RunRecord, RunStepRecord, STORE_CHUNK,
    SessionRecord, TargetColumns, TokenRecord, UnitRecord, UnitTargetRecord, UploadColumns,
    UploadRecord, callback_sql, closure_sql, is_unique_violation, now, period_sql, run_info_sql,
    run_sql, session_sql, token_sql, unit_sql, upload_sql,
};
use crate::store::decide::{CallbackSlot, Decided, PendingEvent, SlotAnswer, decide};
use crate::store::records::{LIST_ROW_COLUMNS, PAYOUT_ROW_COLUMNS, dong};
use crate::store::rules;
use crate::store::{
    BeneficiaryRecord, CallbackPayout, CallbackRequest, CallbackVerdict, ExceptionFilter,
    ExceptionRecord, ExceptionSort, ListInput, NewPeriod, NewRun, NewRunStep, NewSession, NewToken,
    NewUpload, PageStart, PayoutInput, PayoutRecord, Period, PeriodInputs, PoolUse, Programme,
    RunFeed, RunInfo, Saved, SortColumn, SortKey, SortKeyType, SortedRow, SortedStart, Store,
    StoreError, StoreResult, StoredCallback, StoredRun, Streamed, TokenInfo, UnitScope, UnitTarget,
    Upload, UploadFeed, UploadKind, WebSession,
};

type Tx = sqlx::Transaction<'static, Db>;

/// Chain `entry` after the last stored one. The caller's transaction holds the
/// write lock, so no other writer can read the same head; it may be a savepoint,
/// and entries appended earlier in the same transaction are the head it sees.
async fn append_in(
    tx: &mut sqlx::Transaction<'_, Db>,
    entry: NewAuditEntry,
    at: DateTime<Utc>,
) -> StoreResult<AuditEntry> {
    let prev: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let e = entry.chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), at);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.seq)
    .bind(&e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.details)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await?;
    Ok(e)
}

async fn period_exists(tx: &mut Tx, period_id: i64) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM periods WHERE id = $1")
        .bind(period_id)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("period {period_id}"))),
    }
}

async fn upload_in(tx: &mut Tx, id: i64) -> StoreResult<Upload> {
    let r: UploadRecord = sqlx::query_as(upload_sql!("WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    r.into_upload()
}

/// An upload back in use: a list becomes its period's current list (restored if
/// retired), a retired payout file counts again. Audited when anything changed.
async fn reinstate_in(
    tx: &mut Tx,
    existing: Upload,
    actor: &str,
    at: DateTime<Utc>,
    why: &str,
) -> StoreResult<Upload> {
    if !rules::reinstating_changes(&existing) {
        return Ok(existing);
    }
    sqlx::query(
        "UPDATE uploads SET current_since = CASE WHEN kind = 'beneficiaries' THEN $1 ELSE current_since END, \
         retired_at = NULL, retired_by = NULL WHERE id = $2",
    )
    .bind(at)
    .bind(existing.id)
    .execute(&mut **tx)
    .await?;
    let entry = rules::upload_reinstated(&existing, actor, why);
    append_in(tx, entry, at).await?;
    upload_in(tx, existing.id).await
}

async fn existing_upload(tx: &mut Tx, id: i64) -> StoreResult<Upload> {
    let r: Option<UploadRecord> = sqlx::query_as(upload_sql!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    r.ok_or_else(|| StoreError::NotFound(format!("upload {id}")))?
        .into_upload()
}

/// Refuse a list becoming `unit`'s current list while an ancestor or descendant unit has a
/// current list in the period (their rows would be counted twice).
async fn no_overlap(tx: &mut Tx, period_id: i64, unit: &str) -> StoreResult<()> {
    let rows: Vec<UploadRecord> = sqlx::query_as(upload_sql!(
        "WHERE period_id = $1 AND kind = 'beneficiaries' AND retired_at IS NULL"
    ))
    .bind(period_id)
    .fetch_all(&mut **tx)
    .await?;
    let current = rows
        .into_iter()
        .map(UploadRecord::into_upload)
        .filter(|u| u.as_ref().map_or(true, |u| u.current))
        .collect::<StoreResult<Vec<_>>>()?;
    rules::no_overlap(unit, &current)
}

/// Conflict when the period is closed for `unit` (its own or an ancestor's subtree was
/// approved): nothing may change the inputs the approved figures came from. Read under the
/// write lock, so an approval and an upload cannot cross.
async fn not_closed(tx: &mut Tx, period_id: i64, unit: &str) -> StoreResult<()> {
    rules::not_closed(unit, &closures_in(tx, period_id).await?)
}

/// The period's closures, read in the transaction.
async fn closures_in(tx: &mut Tx, period_id: i64) -> StoreResult<Vec<crate::store::Closure>> {
    let closures: Vec<ClosureRecord> =
        sqlx::query_as(closure_sql!("WHERE period_id = $1 ORDER BY unit_code"))
            .bind(period_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(closures.into_iter().map(Into::into).collect())
}

/// The closure of `unit`'s own subtree in the period, if any (read in the transaction).
async fn closure_of(
    tx: &mut Tx,
    period_id: i64,
    unit: &str,
) -> StoreResult<Option<crate::store::Closure>> {
    let row: Option<ClosureRecord> =
        sqlx::query_as(closure_sql!("WHERE period_id = $1 AND unit_code = $2"))
            .bind(period_id)
            .bind(unit)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(Into::into))
}

/// Append a step to a run's history (under the write lock: the next seq is read there).
async fn insert_run_step(
    tx: &mut Tx,
    run_id: i64,
    step: &NewRunStep,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM run_steps WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query(
        "INSERT INTO run_steps (run_id, seq, step, token_id, actor, person, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(run_id)
    .bind(seq)
    .bind(step.step.as_str())
    .bind(step.token_id)
    .bind(&step.actor)
    .bind(&step.person)
    .bind(&step.reason)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The first half of saving an upload: the period must exist; the identical
/// file already stored is returned as is; otherwise the upload row is inserted
/// (lists get the next version) and its id returned.
async fn insert_upload(
    tx: &mut Tx,
    period_id: i64,
    kind: UploadKind,
    u: &NewUpload,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<Result<i64, Upload>> {
    period_exists(tx, period_id).await?;
    not_closed(tx, period_id, &u.unit).await?;
    let existing: Option<UploadRecord> = sqlx::query_as(upload_sql!(
        "WHERE period_id = $1 AND kind = $2 AND sha256 = $3"
    ))
    .bind(period_id)
    .bind(kind.as_str())
    .bind(&u.sha256)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = existing {
        let existing = r.into_upload()?;
        rules::same_unit_as_stored(&existing, &u.unit)?;
        return Ok(Err(existing));
    }
    let version = match kind {
        UploadKind::Beneficiaries => Some(next_version(tx, period_id, &u.unit).await?),
        UploadKind::Payouts => None,
    };
    let current_since = (kind == UploadKind::Beneficiaries).then_some(at);
    let id = insert_upload_row(tx, period_id, kind, u, version, current_since, actor, at).await?;
    Ok(Ok(id))
}

/// A list's rows from `first` on as stored records; `units[i]` is the commune row i counts
/// in (missing or None: the list's unit, stored as no unit of its own).
fn list_records(
    first: usize,
    rows: &[BeneficiaryRow],
    units: &[Option<&str>],
    list_unit: &str,
) -> StoreResult<Vec<BeneficiaryRecord>> {
    // Sized up front: records are large, and a collected Result<Vec> grows from empty
    // (a list upload spent 5% of its time copying records as the vector grew).
    let mut records = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let mut rec = BeneficiaryRecord::from_row(first + i, r)?;
        rec.unit_code = units
            .get(i)
            .copied()
            .flatten()
            .filter(|u| *u != list_unit)
            .map(str::to_owned);
        records.push(rec);
    }
    Ok(records)
}

/// A bank file's rows from `first` on as stored records.
fn payout_records(
    upload_id: i64,
    first: usize,
    rows: &[PayoutRow],
) -> StoreResult<Vec<PayoutRecord>> {
    let mut records = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        records.push(PayoutRecord::from_row(upload_id, first + i, r)?);
    }
    Ok(records)
}

/// The next version of a unit's list in a period (read under the write lock).
async fn next_version(tx: &mut Tx, period_id: i64, unit: &str) -> StoreResult<i64> {
    let max: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM uploads \
         WHERE period_id = $1 AND kind = 'beneficiaries' AND unit_code = $2",
    )
    .bind(period_id)
    .bind(unit)
    .fetch_one(&mut **tx)
    .await?;
    Ok(max + 1)
}

/// Insert an upload's row as described; its id.
#[allow(clippy::too_many_arguments)]
async fn insert_upload_row(
    tx: &mut Tx,
    period_id: i64,
    kind: UploadKind,
    u: &NewUpload,
    version: Option<i64>,
    current_since: Option<DateTime<Utc>>,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let c = UploadColumns::new(u)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO uploads (period_id, kind, version, file_name, format, sheet, bank_code, \
         sha256, size_bytes, uploaded_by, created_at, header_row, data_rows, accepted_rows, \
         rejected_rows, control_total_row, control_total_stated, control_total_computed, \
         errors_json, notices_json, current_since, unit_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22) RETURNING id",
    )
    .bind(period_id)
    .bind(kind.as_str())
    .bind(version)
    .bind(&u.file_name)
    .bind(&u.format)
    .bind(&u.sheet)
    .bind(&u.bank_code)
    .bind(&u.sha256)
    .bind(u.size_bytes)
    .bind(actor)
    .bind(at)
    .bind(u.header_row)
    .bind(u.data_rows)
    .bind(u.accepted_rows)
    .bind(u.rejected_rows)
    .bind(c.control_total_row)
    .bind(c.control_total_stated)
    .bind(c.control_total_computed)
    .bind(&c.errors_json)
    .bind(&c.notices_json)
    .bind(current_since)
    .bind(&u.unit)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Complete a streamed upload's row with what its import found, as of `at` (when it
/// became stored, and current for a list).
async fn complete_upload_row(
    tx: &mut Tx,
    id: i64,
    u: &NewUpload,
    version: Option<i64>,
    current_since: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let c = UploadColumns::new(u)?;
    sqlx::query(
        "UPDATE uploads SET version = $1, format = $2, sheet = $3, created_at = $4, \
         header_row = $5, data_rows = $6, accepted_rows = $7, rejected_rows = $8, \
         control_total_row = $9, control_total_stated = $10, control_total_computed = $11, \
         errors_json = $12, notices_json = $13, current_since = $14 WHERE id = $15",
    )
    .bind(version)
    .bind(&u.format)
    .bind(&u.sheet)
    .bind(at)
    .bind(u.header_row)
    .bind(u.data_rows)
    .bind(u.accepted_rows)
    .bind(u.rejected_rows)
    .bind(c.control_total_row)
    .bind(c.control_total_stated)
    .bind(c.control_total_computed)
    .bind(&c.errors_json)
    .bind(&c.notices_json)
    .bind(current_since)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn json_text<T: serde::Serialize>(what: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Load the stored state of every (bank, reference) the group names, with the
/// states each passed through: one query per bank and per 1,000 references.
async fn load_callback_slots(
    tx: &mut Tx,
    requests: &[CallbackRequest],
) -> StoreResult<(Vec<CallbackSlot>, HashMap<String, HashMap<String, usize>>)> {
    let mut wanted: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    for req in requests {
        for item in &req.items {
            if seen.insert((req.bank_code.as_str(), item.transaction_ref.as_str())) {
                wanted
                    .entry(req.bank_code.as_str())
                    .or_default()
                    .push(item.transaction_ref.as_str());
            }
        }
    }
    let mut slots = Vec::new();
    let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut by_id: HashMap<i64, usize> = HashMap::new();
    for (bank, refs) in &wanted {
        for chunk in refs.chunks(BATCH_ROWS) {
            // Each dialect's lookup is one index probe per reference (see `Dialect`).
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(DIALECT.payouts_by_ref.open);
            let mut list = qb.separated(", ");
            for r in chunk {
                list.push("(");
                list.push_bind_unseparated(*r);
                list.push_unseparated(")");
            }
            qb.push(DIALECT.payouts_by_ref.before_bank);
            qb.push_bind(*bank);
            qb.push(DIALECT.payouts_by_ref.after_bank);
            let rows: Vec<CallbackStateRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
            for row in rows {
                let rec = row.record;
                let current = rec.payout().map_err(|_| (rec.id, rec.status.clone()));
                let i = slots.len();
                by_id.insert(rec.id, i);
                index
                    .entry(rec.bank_code.clone())
                    .or_default()
                    .insert(rec.transaction_ref.clone(), i);
                slots.push(CallbackSlot {
                    bank_code: rec.bank_code,
                    id: Some(rec.id),
                    current,
                    content_sha256: String::new(),
                    version: row.version,
                    received_at: DateTime::<Utc>::MIN_UTC,
                    updated_at: DateTime::<Utc>::MIN_UTC,
                    inserted: false,
                    updated: false,
                    events: Vec::new(),
                });
            }
        }
    }
    let ids: Vec<i64> = slots.iter().filter_map(|s| s.id).collect();
    for chunk in ids.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(DIALECT.events_by_payout.open);
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push("(");
            list.push_bind_unseparated(*id);
            list.push_unseparated(")");
        }
        qb.push(DIALECT.events_by_payout.close);
        let rows: Vec<(i64, i64, String, String)> =
            qb.build_query_as().fetch_all(&mut **tx).await?;
        for (payout_id, _version, sha, answer_json) in rows {
            if let Some(&i) = by_id.get(&payout_id) {
                slots[i].events.push((sha, SlotAnswer::Stored(answer_json)));
            }
        }
    }
    Ok((slots, index))
}

/// Write what `save_callbacks` decided: new payouts (their ids set in `slots`),
/// moved payouts, new events with their answers, in few statements.
async fn write_callback_slots(
    tx: &mut Tx,
    requests: &[CallbackRequest],
    slots: &mut [CallbackSlot],
    events: &mut [PendingEvent],
) -> StoreResult<()> {
    let new: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].inserted).collect();
    for chunk in new.chunks(BATCH_ROWS) {
        let mut by_key: HashMap<(&str, &str), usize> = HashMap::new();
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO callback_payouts (bank_code, transaction_ref, period_code, programme, population_id, \
             account_number, beneficiary_name, amount, status, value_date, reason, content_sha256, \
             version, received_at, updated_at, unit_code) ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let s = &slots[i];
            let Ok(p) = &s.current else {
                return Err(StoreError::Corrupt(
                    "callback payout: new state unreadable".into(),
                ));
            };
            by_key.insert((s.bank_code.as_str(), p.transaction_ref.as_str()), i);
            rows.push((s, p));
        }
        qb.push_values(rows, |mut b, (s, p)| {
            b.push_bind(&s.bank_code)
                .push_bind(&p.transaction_ref)
                .push_bind(&p.period)
                .push_bind(&p.programme)
                .push_bind(&p.population_id)
                .push_bind(&p.account_number)
                .push_bind(&p.beneficiary_name)
                .push_bind(p.amount)
                .push_bind(p.status.as_str())
                .push_bind(p.value_date)
                .push_bind(&p.reason)
                .push_bind(&s.content_sha256)
                .push_bind(s.version)
                .push_bind(s.received_at)
                .push_bind(s.updated_at)
                .push_bind(&p.unit);
        });
        qb.push(" RETURNING id, bank_code, transaction_ref");
        let returned: Vec<(i64, String, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        let mut ids = Vec::with_capacity(returned.len());
        for (id, bank, tref) in &returned {
            let i = by_key
                .get(&(bank.as_str(), tref.as_str()))
                .copied()
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "callback payout {id}: inserted row not in the group"
                    ))
                })?;
            ids.push((i, *id));
        }
        if ids.len() != chunk.len() {
            return Err(StoreError::Corrupt(
                "callback payouts: insert returned too few rows".into(),
            ));
        }
        for (i, id) in ids {
            slots[i].id = Some(id);
        }
    }
    for s in slots.iter().filter(|s| s.updated) {
        let Ok(p) = &s.current else {
            return Err(StoreError::Corrupt(
                "callback payout: new state unreadable".into(),
            ));
        };
        sqlx::query(
            "UPDATE callback_payouts SET status = $1, reason = $2, value_date = $3, content_sha256 = $4, \
             version = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(p.status.as_str())
        .bind(&p.reason)
        .bind(p.value_date)
        .bind(&s.content_sha256)
        .bind(s.version)
        .bind(s.updated_at)
        .bind(s.id)
        .execute(&mut **tx)
        .await?;
    }
    let mut rows = Vec::with_capacity(events.len());
    for e in events.iter_mut() {
        e.answer.payout_id = slots[e.slot]
            .id
            .ok_or_else(|| StoreError::Corrupt("callback payout without an id".into()))?;
        let req = &requests[e.request];
        rows.push((
            e.answer.payout_id,
            e.answer.version,
            e.content_sha256.as_str(),
            json_text("callback content", &req.items[e.item])?,
            json_text("callback answer", &e.answer)?,
            req.webhook_id.as_str(),
            req.token_name.as_str(),
            e.answer.received_at,
        ));
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO callback_events (payout_id, version, content_sha256, content_json, answer_json, \
             webhook_id, token_name, received_at) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(&r.3)
                .push_bind(&r.4)
                .push_bind(r.5)
                .push_bind(r.6)
                .push_bind(r.7);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Chain `entries` (in order) after the last stored audit entry, with one read
/// of the head and one INSERT per 1,000 entries.
async fn append_many_in(
    tx: &mut Tx,
    entries: Vec<(NewAuditEntry, DateTime<Utc>)>,
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut prev: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let mut chained = Vec::with_capacity(entries.len());
    for (entry, at) in entries {
        let e = entry.chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), at);
        prev = Some((e.seq, e.hash.clone()));
        chained.push(e);
    }
    for chunk in chained.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) ",
        );
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(&e.at)
                .push_bind(&e.actor)
                .push_bind(&e.action)
                .push_bind(&e.subject)
                .push_bind(&e.details)
                .push_bind(&e.prev_hash)
                .push_bind(&e.hash);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_beneficiaries(
    tx: &mut Tx,
    upload_id: i64,
    rows: &[BeneficiaryRecord],
) -> StoreResult<()> {
    super::bulk_insert(
        tx,
        "beneficiary_rows",
        &[
            "upload_id",
            "seq",
            "row_no",
            "id_status",
            "id_text",
            "id_problem",
            "name",
            "amount_due",
            "account",
            "bank_code",
            "birth",
            "sex",
            "category",
            "commune",
            "unit_code",
        ],
        rows,
        |r, c| {
            c.extend([
                Cell::Int(upload_id),
                Cell::Int(r.seq),
                Cell::Int(r.row_no),
                Cell::Text(&r.id_status),
                Cell::Text(&r.id_text),
                r.id_problem.as_deref().into(),
                Cell::Text(&r.name),
                Cell::Int(r.amount_due),
                r.account.as_deref().into(),
                r.bank_code.as_deref().into(),
                r.birth.as_deref().into(),
                r.sex.as_deref().into(),
                r.category.as_deref().into(),
                r.commune.as_deref().into(),
                r.unit_code.as_deref().into(),
            ]);
        },
    )
    .await
}

async fn insert_payouts(tx: &mut Tx, rows: &[PayoutRecord]) -> StoreResult<()> {
    super::bulk_insert(
        tx,
        "payout_rows",
        &[
            "upload_id",
            "seq",
            "row_no",
            "bank_code",
            "reference",
            "id_status",
            "id_text",
            "id_problem",
            "account",
            "name",
            "amount",
            "status",
            "value_date",
            "reason",
        ],
        rows,
        |r, c| {
            c.extend([
                Cell::Int(r.upload_id),
                Cell::Int(r.seq),
                Cell::Int(r.row_no),
                Cell::Text(&r.bank_code),
                r.reference.as_deref().into(),
                Cell::Text(&r.id_status),
                Cell::Text(&r.id_text),
                r.id_problem.as_deref().into(),
                r.account.as_deref().into(),
                r.name.as_deref().into(),
                Cell::Int(r.amount),
                Cell::Text(&r.status),
                r.value_date.map_or(Cell::Null, Cell::Date),
                r.reason.as_deref().into(),
            ]);
        },
    )
    .await
}

/// A batch of a run's exceptions as rows, in order (`seq` from `first_seq`), with one
/// flags row per flag.
async fn insert_exceptions(
    tx: &mut Tx,
    run_id: i64,
    first_seq: i64,
    rows: &[ExceptionRecord],
) -> StoreResult<()> {
    let numbered: Vec<(i64, &ExceptionRecord)> = (first_seq..).zip(rows).collect();
    super::bulk_insert(
        tx,
        "run_exceptions",
        &[
            "run_id",
            "seq",
            "kind",
            "unit_code",
            "province_code",
            "commune_key",
            "bank_code",
            "population_id",
            "name_key",
            "row_json",
            "account",
            "amount_due",
            "amount_paid",
            "difference",
            "value_date",
        ],
        &numbered,
        |(seq, r), c| {
            c.extend([
                Cell::Int(run_id),
                Cell::Int(*seq),
                Cell::Text(&r.kind),
                r.unit_code.as_deref().into(),
                r.province_code.as_deref().into(),
                r.commune_key.as_deref().into(),
                r.bank_code.as_deref().into(),
                Cell::Text(&r.population_id),
                Cell::Text(&r.name_key),
                Cell::Text(&r.row_json),
                r.account.as_deref().into(),
                r.amount_due.map_or(Cell::Null, Cell::Int),
                r.amount_paid.map_or(Cell::Null, Cell::Int),
                r.difference.map_or(Cell::Null, Cell::Int),
                r.value_date.map_or(Cell::Null, Cell::Date),
            ]);
        },
    )
    .await?;
    let flags: Vec<(i64, &str)> = numbered
        .iter()
        .flat_map(|(seq, r)| r.flags.iter().map(move |f| (*seq, f.as_str())))
        .collect();
    super::bulk_insert(
        tx,
        "run_exception_flags",
        &["run_id", "flag", "seq"],
        &flags,
        |(seq, flag), c| c.extend([Cell::Int(run_id), Cell::Text(flag), Cell::Int(*seq)]),
    )
    .await?;
    Ok(())
}

/// The run has its `n` exceptions as rows (and none left as JSON).
async fn exceptions_stored(tx: &mut Tx, run_id: i64, n: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE reconciliations SET exception_rows = $1, exceptions_json = '' WHERE id = $2",
    )
    .bind(n)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `FROM … WHERE …` of a run's exceptions matching `f`.
fn push_exception_filter(qb: &mut QueryBuilder<Db>, run_id: i64, f: &ExceptionFilter) {
    qb.push(" FROM run_exceptions e WHERE e.run_id = ");
    qb.push_bind(run_id);
    if !f.kinds.is_empty() {
        qb.push(" AND e.kind IN (");
        let mut kinds = qb.separated(", ");
        for kind in &f.kinds {
            kinds.push_bind(kind.clone());
        }
        qb.push(")");
    }
    if !f.flags.is_empty() {
        // The flags' rows drive: a rare flag is a short index range, not a scan of the run.
        qb.push(" AND e.seq IN (SELECT x.seq FROM run_exception_flags x WHERE x.run_id = ");
        qb.push_bind(run_id);
        qb.push(" AND x.flag IN (");
        let mut flags = qb.separated(", ");
        for flag in &f.flags {
            flags.push_bind(flag.clone());
        }
        qb.push("))");
    }
    for (column, values) in [
        (" AND e.commune_key IN (", &f.commune_keys),
        (" AND e.bank_code IN (", &f.bank_codes),
    ] {
        if !values.is_empty() {
            qb.push(column);
            let mut list = qb.separated(", ");
            for v in values {
                list.push_bind(v.clone());
            }
            qb.push(")");
        }
    }
    match &f.unit {
        None => {}
        Some(UnitScope::Nation) => {
            qb.push(" AND e.unit_code IS NOT NULL");
        }
        Some(UnitScope::Province(code)) => {
            qb.push(" AND e.province_code = ");
            qb.push_bind(code.clone());
        }
        Some(UnitScope::Unit(code)) => {
            qb.push(" AND e.unit_code = ");
            qb.push_bind(code.clone());
        }
    }
    if let Some(q) = &f.search {
        if f.searches_id_start() {
            // IDs or accounts with this start: index ranges (bytewise order on both
            // backends).
            qb.push(" AND ((e.population_id >= ");
            qb.push_bind(q.clone());
            qb.push(" AND e.population_id < ");
            qb.push_bind(format!("{q}{}", char::MAX));
            qb.push(") OR (e.account >= ");
            qb.push_bind(q.clone());
            qb.push(" AND e.account < ");
            qb.push_bind(format!("{q}{}", char::MAX));
            qb.push("))");
        } else {
            let pattern = format!("%{}%", like_escaped(q));
            qb.push(" AND (e.name_key LIKE ");
            qb.push_bind(pattern.clone());
            // lower(): a search is folded, an ID kept raw may not be (SQLite's LIKE ignores
            // ASCII case anyway; PostgreSQL's does not).
            qb.push(" ESCAPE '\\' OR (lower(e.population_id) LIKE ");
            qb.push_bind(pattern);
            qb.push(" ESCAPE '\\'))");
        }
    }
}

/// Which rows of a sorted read a query takes: those with a value in the sort column, or
/// (a nullable column's tail) those without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortPart {
    Valued,
    Unvalued,
}

/// `SELECT r.seq, r.<column>, r.row_json …` of one part of a sorted read: the page's keys
/// from the filter and the sort's index alone (an OFFSET skips index entries), then just
/// those rows, ordered again. Rows with a value order by (column, seq); those without, by
/// seq; both in the sort's direction. The column and the direction come from
/// `SortColumn::column` and a bool: no request text.
fn sorted_part_query(
    run_id: i64,
    filter: &ExceptionFilter,
    sort: ExceptionSort,
    part: SortPart,
    after: Option<(Option<&SortKey>, i64)>,
    limit: i64,
    skip: i64,
) -> QueryBuilder<Db> {
    let col = sort.column.column();
    let (dir, beyond) = if sort.descending {
        (" DESC", " < ")
    } else {
        (" ASC", " > ")
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT r.seq, r.{col}, r.row_json FROM run_exceptions r WHERE r.run_id = "
    ));
    qb.push_bind(run_id);
    qb.push(" AND r.seq IN (SELECT e.seq");
    push_exception_filter(&mut qb, run_id, filter);
    let order = |t: &str| match part {
        SortPart::Valued => format!("{t}.{col}{dir}, {t}.seq{dir}"),
        SortPart::Unvalued => format!("{t}.seq{dir}"),
    };
    match part {
        SortPart::Valued => {
            if sort.column.nullable() {
                qb.push(format!(" AND e.{col} IS NOT NULL"));
            }
            if let Some((Some(key), seq)) = after {
                // A row value: one index range on both backends.
                qb.push(format!(" AND (e.{col}, e.seq){beyond}("));
                push_key(&mut qb, key);
                qb.push(", ");
                qb.push_bind(seq);
                qb.push(")");
            }
        }
        SortPart::Unvalued => {
            qb.push(format!(" AND e.{col} IS NULL"));
            if let Some((None, seq)) = after {
                qb.push(format!(" AND e.seq{beyond}"));
                qb.push_bind(seq);
            }
        }
    }
    qb.push(format!(" ORDER BY {} LIMIT ", order("e")));
    qb.push_bind(limit.max(0));
    if skip > 0 {
        qb.push(" OFFSET ");
        qb.push_bind(skip);
    }
    qb.push(format!(") ORDER BY {}", order("r")));
    qb
}

/// A cursor's key as a bound value of the column's type.
fn push_key(qb: &mut QueryBuilder<Db>, key: &SortKey) {
    match key {
        SortKey::Int(n) => {
            qb.push_bind(*n);
        }
        SortKey::Text(t) => {
            qb.push_bind(t.clone());
        }
        SortKey::Date(d) => {
            qb.push_bind(*d);
        }
    }
}

/// A sorted read's rows with their keys, read as the column's type.
fn sorted_rows(
    rows: Vec<<Db as sqlx::Database>::Row>,
    column: SortColumn,
) -> StoreResult<Vec<SortedRow>> {
    use sqlx::Row;
    rows.into_iter()
        .map(|row| {
            let seq: i64 = row.try_get(0)?;
            let key = match column.key_type() {
                SortKeyType::Int => row.try_get::<Option<i64>, _>(1)?.map(SortKey::Int),
                SortKeyType::Text => row.try_get::<Option<String>, _>(1)?.map(SortKey::Text),
                SortKeyType::Date => row
                    .try_get::<Option<chrono::NaiveDate>, _>(1)?
                    .map(SortKey::Date),
            };
            let json: String = row.try_get(2)?;
            Ok((seq, key, json))
        })
        .collect()
}

/// `s` matched literally by LIKE (with `ESCAPE '\'`).
fn like_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Backend {
    /// `DIALECT.after_exception_rows`. The rows are committed whatever happens here: a
    /// failure is logged, and autovacuum does the same later.
    async fn after_exception_rows(&self) {
        for sql in DIALECT.after_exception_rows {
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(self.reader())
                .await
            {
                tracing::warn!(error = %e, sql, "maintenance after storing exception rows");
            }
        }
    }
}

#[async_trait]
impl Store for Backend {
    fn backend(&self) -> &'static str {
        DIALECT.name
    }

    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()> {
        let Some(sql) = DIALECT.backup_into else {
            return Err(StoreError::NotSupported(
                "PostgreSQL: sao lưu bằng pg_dump (xem README) / back up with pg_dump (see the README)",
            ));
        };
        let path = path.to_str().ok_or(StoreError::NotSupported(
            "đường dẫn phải là UTF-8 / the path must be UTF-8",
        ))?;
        sqlx::query(sql).bind(path).execute(self.reader()).await?;
        Ok(())
    }

    fn pools(&self) -> Vec<PoolUse> {
        let use_of = |name, pool: &sqlx::Pool<Db>| PoolUse {
            name,
            size: pool.size(),
            idle: pool.num_idle() as u32,
        };
        vec![
            use_of("reader", self.reader()),
            use_of("writer", &self.writer),
        ]
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    async fn child_units(&self, parent: &str) -> StoreResult<Vec<Unit>> {
        let rows: Vec<UnitRecord> = sqlx::query_as(unit_sql!("WHERE parent = $1 ORDER BY code"))
            .bind(parent)
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(UnitRecord::into_unit).collect()
    }

    async fn get_unit(&self, code: &str) -> StoreResult<Option<Unit>> {
        let row: Option<UnitRecord> = sqlx::query_as(unit_sql!("WHERE code = $1"))
            .bind(code)
            .fetch_optional(self.reader())
            .await?;
        row.map(UnitRecord::into_unit).transpose()
    }

    async fn list_programmes(&self) -> StoreResult<Vec<Programme>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT code, name FROM programmes ORDER BY code")
                .fetch_all(self.reader())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(code, name)| Programme { code, name })
            .collect())
    }

    async fn create_programme(&self, new: Programme, actor: &str) -> StoreResult<Programme> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let inserted = sqlx::query("INSERT INTO programmes (code, name) VALUES ($1, $2)")
            .bind(&new.code)
            .bind(&new.name)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "programme '{}' exists",
                    new.code
                )));
            }
            Err(e) => return Err(e.into()),
        }
        append_in(&mut tx, rules::programme_created(&new, actor), at).await?;
        tx.commit().await?;
        Ok(new)
    }

    async fn create_period(&self, new: NewPeriod, actor: &str) -> StoreResult<Period> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let programme_name: Option<String> =
            sqlx::query_scalar("SELECT name FROM programmes WHERE code = $1")
                .bind(&new.programme)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(programme_name) = programme_name else {
            return Err(StoreError::NotFound(format!(
                "programme '{}'",
                new.programme
            )));
        };
        let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO periods (code, programme, locality, target_bp, account_target_bp, \
             cashless_target_bp, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&new.code)
        .bind(&new.programme)
        .bind(&new.locality)
        .bind(new.targets.all)
        .bind(new.targets.account_coverage)
        .bind(new.targets.cashless_rate)
        .bind(at)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "period '{}' of programme {} exists",
                    new.code, new.programme
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let entry = rules::period_created(id, &new, actor);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(Period {
            id,
            code: new.code,
            programme: new.programme,
            programme_name,
            locality: new.locality,
            targets: new.targets,
            created_at: at,
            created_by: actor.to_owned(),
        })
    }

    async fn set_unit_target(
        &self,
        period_id: i64,
        unit: &str,
        change: TargetChange,
        actor: &str,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let at = now();
        period_exists(&mut tx, period_id).await?;
        let known: Option<String> = sqlx::query_scalar("SELECT code FROM units WHERE code = $1")
            .bind(unit)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("unit {unit}")));
        }
        let before: Option<TargetColumns> = sqlx::query_as(
            "SELECT target_bp, account_target_bp, cashless_target_bp FROM period_targets \
             WHERE period_id = $1 AND unit_code = $2",
        )
        .bind(period_id)
        .bind(unit)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.map_or_else(TargetsBp::default, TargetsBp::from);
        let after = before.apply(change);
        if before == after {
            return Ok(());
        }
        sqlx::query("DELETE FROM period_targets WHERE period_id = $1 AND unit_code = $2")
            .bind(period_id)
            .bind(unit)
            .execute(&mut *tx)
            .await?;
        if !after.is_empty() {
            sqlx::query(
                "INSERT INTO period_targets (period_id, unit_code, target_bp, account_target_bp, \
                 cashless_target_bp, set_at, set_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(period_id)
            .bind(unit)
            .bind(after.all)
            .bind(after.account_coverage)
            .bind(after.cashless_rate)
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await?;
        }
        let entry = rules::target_set(period_id, unit, before, after, actor);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn banks_of_accounts(
        &self,
        list_uploads: &[i64],
        accounts: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        if list_uploads.is_empty() || accounts.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT bank_code, COUNT(DISTINCT LTRIM(account, '0')) FROM beneficiary_rows \
             WHERE bank_code IS NOT NULL AND upload_id IN (",
        );
        let mut ids = qb.separated(", ");
        for id in list_uploads {
            ids.push_bind(*id);
        }
        qb.push(") AND LTRIM(account, '0') IN (");
        let mut keys = qb.separated(", ");
        for a in accounts {
            keys.push_bind(a.clone());
        }
        qb.push(") GROUP BY bank_code ORDER BY bank_code");
        Ok(qb.build_query_as().fetch_all(self.reader()).await?)
    }

    async fn unit_targets(&self, period_id: i64) -> StoreResult<Vec<UnitTarget>> {
        let rows: Vec<UnitTargetRecord> = sqlx::query_as(
            "SELECT unit_code, target_bp, account_target_bp, cashless_target_bp, set_at, set_by \
             FROM period_targets WHERE period_id = $1 ORDER BY unit_code",
        )
        .bind(period_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(UnitTarget::from).collect())
    }

    async fn list_periods(&self) -> StoreResult<Vec<Period>> {
        let rows: Vec<PeriodRecord> = sqlx::query_as(period_sql!("ORDER BY p.id"))
            .fetch_all(self.reader())
            .await?;
        Ok(rows.into_iter().map(Period::from).collect())
    }

    async fn period_by_code(&self, programme: &str, code: &str) -> StoreResult<Option<Period>> {
        let row: Option<PeriodRecord> =
            sqlx::query_as(period_sql!("WHERE p.programme = $1 AND p.code = $2"))
                .bind(programme)
                .bind(code)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.map(Period::from))
    }

    async fn get_period(&self, id: i64) -> StoreResult<Option<Period>> {
        let row: Option<PeriodRecord> = sqlx::query_as(period_sql!("WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(Period::from))
    }

    async fn save_beneficiary_list(
        &self,
        period_id: i64,
        upload: NewUpload,
        rows: &[BeneficiaryRow],
        units: &[Option<&str>],
        actor: &str,
    ) -> StoreResult<Saved<Upload>> {
        // Checked before the write lock is taken: a bad amount fails early and does not
        // hold up other writers. Rows are then converted a chunk at a time as they are
        // written: a national list converted at once would double the upload's memory.
        for r in rows {
            dong(r.amount_due)?;
        }
        let kind = UploadKind::Beneficiaries;
        let mut tx = self.begin_write().await?;
        let at = now();
        period_exists(&mut tx, period_id).await?;
        no_overlap(&mut tx, period_id, &upload.unit).await?;
        let id = match insert_upload(&mut tx, period_id, kind, &upload, actor, at).await? {
            Ok(id) => id,
            Err(existing) => {
                let value = reinstate_in(&mut tx, existing, actor, at, "uploaded again").await?;
                tx.commit().await?;
                return Ok(Saved {
                    value,
                    created: false,
                });
            }
        };
        for (n, chunk) in rows.chunks(STORE_CHUNK).enumerate() {
            let first = n * STORE_CHUNK;
            let units = units.get(first..).unwrap_or_default();
            let records = list_records(first, chunk, units, &upload.unit)?;
            insert_beneficiaries(&mut tx, id, &records).await?;
        }
        append_in(
            &mut tx,
            rules::upload_saved(kind, period_id, id, &upload, actor),
            at,
        )
        .await?;
        let value = upload_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Saved {
            value,
            created: true,
        })
    }

    async fn save_payout_file(
        &self,
        period_id: i64,
        upload: NewUpload,
        rows: &[PayoutRow],
        actor: &str,
    ) -> StoreResult<Saved<Upload>> {
        let kind = UploadKind::Payouts;
        // Checked before the lock, and converted a chunk at a time, like lists.
        for r in rows {
            dong(r.amount)?;
        }
        let mut tx = self.begin_write().await?;
        let at = now();
        let id = match insert_upload(&mut tx, period_id, kind, &upload, actor, at).await? {
            Ok(id) => id,
            Err(existing) => {
                let value = reinstate_in(&mut tx, existing, actor, at, "uploaded again").await?;
                tx.commit().await?;
                return Ok(Saved {
                    value,
                    created: false,
                });
            }
        };
        for (n, chunk) in rows.chunks(STORE_CHUNK).enumerate() {
            let records = payout_records(id, n * STORE_CHUNK, chunk)?;
            insert_payouts(&mut tx, &records).await?;
        }
        append_in(
            &mut tx,
            rules::upload_saved(kind, period_id, id, &upload, actor),
            at,
        )
        .await?;
        let value = upload_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Saved {
            value,
            created: true,
        })
    }

    async fn stream_upload(
        &self,
        period_id: i64,
        kind: UploadKind,
        start: &NewUpload,
        mut feed: tokio::sync::mpsc::Receiver<UploadFeed>,
        actor: &str,
    ) -> StoreResult<Streamed> {
        let mut tx = self.begin_rows().await?;
        period_exists(&mut tx, period_id).await?;
        not_closed(&mut tx, period_id, &start.unit).await?;
        if kind == UploadKind::Beneficiaries {
            no_overlap(&mut tx, period_id, &start.unit).await?;
        }
        // The upload's row first, for its id: no version, not current, until `Done`. The
        // (period, kind, sha256) key answers whether the identical file is stored; one sent
        // at the same time waits here until this one ends, then finds it.
        let id = match insert_upload_row(&mut tx, period_id, kind, start, None, None, actor, now())
            .await
        {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => {
                return Ok(Streamed::Duplicate);
            }
            other => other?,
        };
        let mut seq = 0usize;
        let done = loop {
            let Some(next) = feed.recv().await else {
                return Ok(Streamed::Abandoned);
            };
            match (kind, next) {
                (_, UploadFeed::Done(u)) => break *u,
                (UploadKind::Beneficiaries, UploadFeed::Beneficiaries(rows, units)) => {
                    let records = list_records(seq, &rows, &units, &start.unit)?;
                    insert_beneficiaries(&mut tx, id, &records).await?;
                    seq += rows.len();
                }
                (UploadKind::Payouts, UploadFeed::Payouts(rows)) => {
                    let records = payout_records(id, seq, &rows)?;
                    insert_payouts(&mut tx, &records).await?;
                    seq += rows.len();
                }
                (kind, _) => {
                    return Err(StoreError::Corrupt(format!(
                        "rows of another kind sent for a {} upload",
                        kind.as_str()
                    )));
                }
            }
        };
        // The final step under the write lock, as `save_*` take it: the overlap check again
        // (another unit's list may have become current meanwhile), the version, the audit.
        Backend::lock_writes(&mut tx).await?;
        not_closed(&mut tx, period_id, &done.unit).await?;
        let at = now();
        let (version, current_since) = match kind {
            UploadKind::Beneficiaries => {
                no_overlap(&mut tx, period_id, &done.unit).await?;
                (
                    Some(next_version(&mut tx, period_id, &done.unit).await?),
                    Some(at),
                )
            }
            UploadKind::Payouts => (None, None),
        };
        complete_upload_row(&mut tx, id, &done, version, current_since, at).await?;
        append_in(
            &mut tx,
            rules::upload_saved(kind, period_id, id, &done, actor),
            at,
        )
        .await?;
        let value = upload_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Streamed::Saved(Box::new(value)))
    }

    async fn list_uploads(&self, period_id: i64) -> StoreResult<Vec<Upload>> {
        let rows: Vec<UploadRecord> =
            sqlx::query_as(upload_sql!("WHERE period_id = $1 ORDER BY id"))
                .bind(period_id)
                .fetch_all(self.reader())
                .await?;
        rows.into_iter().map(UploadRecord::into_upload).collect()
    }

    async fn make_current(&self, upload_id: i64, actor: &str) -> StoreResult<Upload> {
        let mut tx = self.begin_write().await?;
        let existing = existing_upload(&mut tx, upload_id).await?;
        rules::may_make_current(&existing)?;
        not_closed(&mut tx, existing.period_id, &existing.unit).await?;
        no_overlap(&mut tx, existing.period_id, &existing.unit).await?;
        let value = reinstate_in(&mut tx, existing, actor, now(), "chosen").await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn retire_upload(&self, upload_id: i64, actor: &str) -> StoreResult<Upload> {
        let mut tx = self.begin_write().await?;
        let existing = existing_upload(&mut tx, upload_id).await?;
        rules::may_retire(&existing)?;
        not_closed(&mut tx, existing.period_id, &existing.unit).await?;
        let at = now();
        sqlx::query("UPDATE uploads SET retired_at = $1, retired_by = $2 WHERE id = $3")
            .bind(at)
            .bind(actor)
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
        let entry = rules::upload_retired(&existing, actor);
        append_in(&mut tx, entry, at).await?;
        let value = upload_in(&mut tx, upload_id).await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn get_upload(&self, id: i64) -> StoreResult<Option<Upload>> {
        let row: Option<UploadRecord> = sqlx::query_as(upload_sql!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(UploadRecord::into_upload).transpose()
    }

    async fn period_inputs(&self, period_id: i64) -> StoreResult<PeriodInputs> {
        let pool = self.reader();
        if self.get_period(period_id).await?.is_none() {
            return Err(StoreError::NotFound(format!("period {period_id}")));
        }
        let uploads: Vec<UploadRecord> = sqlx::query_as(upload_sql!(
            "WHERE period_id = $1 AND retired_at IS NULL ORDER BY unit_code, id"
        ))
        .bind(period_id)
        .fetch_all(pool)
        .await?;
        let uploads = uploads
            .into_iter()
            .map(UploadRecord::into_upload)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut files: Vec<Upload> = uploads
            .iter()
            .filter(|u| u.kind == UploadKind::Payouts)
            .cloned()
            .collect();
        files.sort_by_key(|u| u.id);
        let mut by_id: HashMap<i64, PayoutInput> = HashMap::new();
        for upload in &files {
            by_id.insert(
                upload.id,
                PayoutInput {
                    upload: upload.clone(),
                    rows: PayoutTable::default(),
                },
            );
        }
        // A file committed after `uploads` was read has rows but is not among `files`; its
        // rows are left out so the inputs stay consistent (a file and its rows commit
        // together, so every listed file is whole).
        let names: HashMap<i64, Arc<str>> = files
            .iter()
            .map(|u| (u.id, Arc::from(u.file_name.as_str())))
            .collect();
        // The payouts are read on another task while the lists are read here: two
        // connections, both cores.
        let payout_pool = pool.clone();
        let payouts = tokio::spawn(async move {
            super::for_each_payout_row(&payout_pool, period_id, |r| {
                if let (Some(file), Some(input)) =
                    (names.get(&r.upload_id), by_id.get_mut(&r.upload_id))
                {
                    let file = file.clone();
                    input.rows.push(r.into_row(&file)?);
                }
                Ok(())
            })
            .await
            .map(|()| by_id)
        });
        let lists = async {
            let mut lists = Vec::new();
            for upload in uploads
                .iter()
                .filter(|u| u.kind == UploadKind::Beneficiaries && u.current)
            {
                let file: Arc<str> = Arc::from(upload.file_name.as_str());
                let mut rows = ListTable::default();
                let mut units = InternedColumn::default();
                super::for_each_list_row(pool, upload.id, |r| {
                    units.push(r.unit_code.as_deref());
                    rows.push(r.into_row(&file)?);
                    Ok(())
                })
                .await?;
                lists.push(ListInput {
                    upload: upload.clone(),
                    rows,
                    units,
                });
            }
            Ok::<_, StoreError>(lists)
        }
        .await;
        let lists = match lists {
            Ok(lists) => lists,
            Err(e) => {
                payouts.abort();
                return Err(e);
            }
        };
        let mut by_id = payouts
            .await
            .map_err(|e| StoreError::Corrupt(format!("reading payout rows: {e}")))??;
        let payout_files = files.iter().filter_map(|u| by_id.remove(&u.id)).collect();
        Ok(PeriodInputs {
            lists,
            payout_files,
        })
    }

    async fn save_reconciliation(&self, mut run: NewRun, actor: &str) -> StoreResult<RunInfo> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let list: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM uploads WHERE id = $1 AND period_id = $2 AND kind = 'beneficiaries'",
        )
        .bind(run.list_upload_id)
        .bind(run.period_id)
        .fetch_optional(&mut *tx)
        .await?;
        if list.is_none() {
            return Err(StoreError::NotFound(format!(
                "beneficiary list {} of period {}",
                run.list_upload_id, run.period_id
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO reconciliations (period_id, list_upload_id, created_at, created_by, \
             meta_json, report_json, exceptions_json, report_sha256, unit_code) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(run.period_id)
        .bind(run.list_upload_id)
        .bind(at)
        .bind(actor)
        .bind(&run.meta_json)
        .bind(&run.report_json)
        .bind("")
        .bind(&run.report_sha256)
        .bind(&run.unit)
        .fetch_one(&mut *tx)
        .await?;
        let mut seq = 0;
        loop {
            match run.exceptions.recv().await {
                Some(RunFeed::Exceptions(rows)) => {
                    insert_exceptions(&mut tx, id, seq, &rows).await?;
                    seq += i64::try_from(rows.len())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                }
                Some(RunFeed::Done) => break,
                // Dropped by a maker that failed: the transaction rolls back.
                None => {
                    return Err(StoreError::Conflict(format!(
                        "reconciliation of period {}: its exceptions stopped before the end",
                        run.period_id
                    )));
                }
            }
        }
        exceptions_stored(&mut tx, id, seq).await?;
        let entry = rules::run_saved(id, &run, actor);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        self.after_exception_rows().await;
        Ok(RunInfo {
            id,
            period_id: run.period_id,
            unit: run.unit,
            list_upload_id: run.list_upload_id,
            created_at: at,
            created_by: actor.to_owned(),
            report_sha256: run.report_sha256,
            state: RunState::Draft,
        })
    }

    async fn take_run_step(&self, run_id: i64, step: NewRunStep) -> StoreResult<RunInfo> {
        if step.step == Step::Reopen {
            return Err(StoreError::Conflict(
                "a period is reopened with reopen_period".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let run: RunInfo = sqlx::query_as::<_, RunInfoRecord>(run_info_sql!("WHERE id = $1"))
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(RunInfo::from)
            .ok_or_else(|| StoreError::NotFound(format!("reconciliation {run_id}")))?;
        let after = step
            .step
            .from(run.state)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let at = now();
        if step.step == Step::Approve {
            if let Some(c) = closure_of(&mut tx, run.period_id, &run.unit).await? {
                return Err(rules::closed_by(&c));
            }
            sqlx::query(
                "INSERT INTO period_closures (period_id, unit_code, run_id, closed_at, closed_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(run.period_id)
            .bind(&run.unit)
            .bind(run.id)
            .bind(at)
            .bind(&step.actor)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE reconciliations SET state = $1 WHERE id = $2")
            .bind(after.as_str())
            .bind(run.id)
            .execute(&mut *tx)
            .await?;
        insert_run_step(&mut tx, run.id, &step, at).await?;
        append_in(
            &mut tx,
            rules::run_step_taken(&run, &step, run.state, after),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(RunInfo {
            state: after,
            ..run
        })
    }

    async fn run_info(&self, id: i64) -> StoreResult<Option<RunInfo>> {
        let row: Option<RunInfoRecord> = sqlx::query_as(run_info_sql!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(RunInfo::from))
    }

    async fn run_steps(&self, run_id: i64) -> StoreResult<Vec<crate::store::RunStep>> {
        let rows: Vec<RunStepRecord> = sqlx::query_as(
            "SELECT step, token_id, actor, person, reason, at FROM run_steps \
             WHERE run_id = $1 ORDER BY seq",
        )
        .bind(run_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(RunStepRecord::into_step).collect()
    }

    async fn period_closures(&self, period_id: i64) -> StoreResult<Vec<crate::store::Closure>> {
        let rows: Vec<ClosureRecord> =
            sqlx::query_as(closure_sql!("WHERE period_id = $1 ORDER BY unit_code"))
                .bind(period_id)
                .fetch_all(self.reader())
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn reopen_period(
        &self,
        period_id: i64,
        unit: &str,
        step: NewRunStep,
    ) -> StoreResult<crate::store::Closure> {
        let mut tx = self.begin_write().await?;
        period_exists(&mut tx, period_id).await?;
        let closure = closure_of(&mut tx, period_id, unit).await?.ok_or_else(|| {
            StoreError::Conflict(format!(
                "Kỳ chưa khóa cho đơn vị {unit} / the period is not closed for unit {unit}"
            ))
        })?;
        let run: RunInfo = sqlx::query_as::<_, RunInfoRecord>(run_info_sql!("WHERE id = $1"))
            .bind(closure.run_id)
            .fetch_one(&mut *tx)
            .await?
            .into();
        sqlx::query("DELETE FROM period_closures WHERE period_id = $1 AND unit_code = $2")
            .bind(period_id)
            .bind(unit)
            .execute(&mut *tx)
            .await?;
        let at = now();
        let step = NewRunStep {
            step: Step::Reopen,
            ..step
        };
        insert_run_step(&mut tx, run.id, &step, at).await?;
        append_in(
            &mut tx,
            rules::run_step_taken(&run, &step, run.state, run.state),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(closure)
    }

    async fn callbacks_since(
        &self,
        programme: &str,
        period_code: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<crate::store::LateCallback>> {
        Ok(sqlx::query_as(
            "SELECT population_id, unit_code, amount, status FROM callback_payouts \
             WHERE programme = $1 AND period_code = $2 AND updated_at > $3 \
             ORDER BY updated_at, id LIMIT $4",
        )
        .bind(programme)
        .bind(period_code)
        .bind(since)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    async fn ids_on_lists(&self, list_ids: &[i64], ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        if list_ids.is_empty() {
            return Ok(found);
        }
        for chunk in ids.chunks(1_000) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                "SELECT DISTINCT id_text FROM beneficiary_rows WHERE upload_id IN (",
            );
            let mut sep = qb.separated(", ");
            for id in list_ids {
                sep.push_bind(*id);
            }
            qb.push(") AND id_text IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            let rows: Vec<String> = qb.build_query_scalar().fetch_all(self.reader()).await?;
            found.extend(rows);
        }
        Ok(found)
    }

    async fn get_reconciliation(&self, id: i64) -> StoreResult<Option<StoredRun>> {
        let row: Option<RunRecord> = sqlx::query_as(run_sql!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(RunRecord::into_stored))
    }

    async fn exception_rows(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        start: PageStart,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        // Rows are numbered from 0 without gaps: an unfiltered numbered page is a range too.
        let start = match start {
            PageStart::Skip(n) if *filter == ExceptionFilter::default() => PageStart::After(n - 1),
            other => other,
        };
        // The page's keys first, from the filter's index alone (an OFFSET then skips index
        // entries, not rows), then just those rows.
        // (An IN, not a JOIN: SQLite may plan a join as a scan of the run probing the keys.)
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT r.seq, r.row_json FROM run_exceptions r WHERE r.run_id = ");
        qb.push_bind(run_id);
        qb.push(" AND r.seq IN (SELECT e.seq");
        push_exception_filter(&mut qb, run_id, filter);
        if let PageStart::After(seq) = start {
            qb.push(" AND e.seq > ");
            qb.push_bind(seq);
        }
        qb.push(" ORDER BY e.seq LIMIT ");
        qb.push_bind(limit.max(0));
        if let PageStart::Skip(n) = start {
            qb.push(" OFFSET ");
            qb.push_bind(n.max(0));
        }
        qb.push(") ORDER BY r.seq");
        Ok(qb.build_query_as().fetch_all(self.reader()).await?)
    }

    async fn sorted_exception_rows(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        sort: ExceptionSort,
        start: SortedStart,
        limit: i64,
    ) -> StoreResult<Vec<SortedRow>> {
        // Two index ranges rather than one ORDER BY with the rows without a value put last
        // by an expression (which no index serves, so every page would sort the run): the
        // rows with a value, then, where that part runs out, those without.
        let limit = limit.max(0);
        let (skip, after) = match &start {
            SortedStart::Skip(n) => ((*n).max(0), None),
            SortedStart::After(key, seq) => (0, Some((key.as_ref(), *seq))),
        };
        let mut out = Vec::new();
        // A cursor already past the rows with a value starts in the tail.
        if !matches!(after, Some((None, _))) {
            let mut qb =
                sorted_part_query(run_id, filter, sort, SortPart::Valued, after, limit, skip);
            let rows = qb.build().fetch_all(self.reader()).await?;
            out = sorted_rows(rows, sort.column)?;
        }
        let wanted = limit - i64::try_from(out.len()).unwrap_or(limit);
        if wanted <= 0 || !sort.column.nullable() {
            return Ok(out);
        }
        // How many of the tail to skip: none when this page began among the rows with a
        // value, else the skip past them.
        let tail_skip = if out.is_empty() && skip > 0 {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1");
            push_exception_filter(&mut qb, run_id, filter);
            qb.push(format!(" AND e.{} IS NOT NULL", sort.column.column()));
            qb.push(") AS n");
            let valued: i64 = qb.build_query_scalar().fetch_one(self.reader()).await?;
            (skip - valued).max(0)
        } else {
            0
        };
        let tail_after = match after {
            Some((None, seq)) => Some((None, seq)),
            _ => None,
        };
        let mut qb = sorted_part_query(
            run_id,
            filter,
            sort,
            SortPart::Unvalued,
            tail_after,
            wanted,
            tail_skip,
        );
        let rows = qb.build().fetch_all(self.reader()).await?;
        out.extend(sorted_rows(rows, sort.column)?);
        Ok(out)
    }

    async fn exceptions_at(&self, run_id: i64, seqs: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        let mut out = Vec::with_capacity(seqs.len());
        // A page is at most 500 rows; bind lists stay well within both backends' limits.
        for part in seqs.chunks(500) {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new("SELECT seq, row_json FROM run_exceptions WHERE run_id = ");
            qb.push_bind(run_id);
            qb.push(" AND seq IN (");
            let mut list = qb.separated(", ");
            for seq in part {
                list.push_bind(*seq);
            }
            qb.push(") ORDER BY seq");
            let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(self.reader()).await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn for_each_list_entry(
        &self,
        upload_id: i64,
        f: &mut (dyn FnMut(crate::store::ListEntry) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        super::for_each_list_entry(self.reader(), upload_id, f).await
    }

    async fn list_rows_at(
        &self,
        upload_id: i64,
        seqs: &[i64],
    ) -> StoreResult<Vec<crate::store::ListRowAt>> {
        let Some(upload) = self.get_upload(upload_id).await? else {
            return Ok(Vec::new());
        };
        let file: Arc<str> = Arc::from(upload.file_name.as_str());
        let mut out = Vec::with_capacity(seqs.len());
        // Bind lists of 500 stay well within both backends' limits.
        for part in seqs.chunks(500) {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
                "SELECT {LIST_ROW_COLUMNS} FROM beneficiary_rows WHERE upload_id = "
            ));
            qb.push_bind(upload_id);
            qb.push(" AND seq IN (");
            let mut list = qb.separated(", ");
            for seq in part {
                list.push_bind(*seq);
            }
            qb.push(") ORDER BY seq");
            let rows: Vec<BeneficiaryRecord> = qb.build_query_as().fetch_all(self.reader()).await?;
            for r in rows {
                let (seq, unit_code) = (r.seq, r.unit_code.clone());
                out.push(crate::store::ListRowAt {
                    seq,
                    row: r.into_row(&file)?,
                    unit_code,
                });
            }
        }
        Ok(out)
    }

    async fn for_each_exception_record(
        &self,
        run_id: i64,
        f: &mut (dyn FnMut(ExceptionRecord) + Send),
    ) -> StoreResult<()> {
        use futures_util::TryStreamExt;
        let flags: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, flag FROM run_exception_flags WHERE run_id = $1 ORDER BY seq, flag",
        )
        .bind(run_id)
        .fetch_all(self.reader())
        .await?;
        let mut flags = flags.into_iter().peekable();
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let mut rows = sqlx::query_as::<_, Row>(
            "SELECT seq, kind, unit_code, province_code, commune_key, bank_code, population_id, \
             name_key FROM run_exceptions WHERE run_id = $1 ORDER BY seq",
        )
        .bind(run_id)
        .fetch(self.reader());
        while let Some((seq, kind, unit_code, province_code, commune_key, bank_code, id, name)) =
            rows.try_next().await?
        {
            let mut mine = Vec::new();
            while let Some((_, flag)) = flags.next_if(|(s, _)| *s <= seq) {
                mine.push(flag);
            }
            f(ExceptionRecord {
                kind,
                flags: mine,
                unit_code,
                province_code,
                commune_key,
                bank_code,
                population_id: id,
                account: None,
                name_key: name,
                amount_due: None,
                amount_paid: None,
                difference: None,
                value_date: None,
                row_json: String::new(),
            });
        }
        Ok(())
    }

    async fn count_exceptions(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        up_to: Option<i64>,
    ) -> StoreResult<i64> {
        if *filter == ExceptionFilter::default() {
            let n: Option<Option<i64>> =
                sqlx::query_scalar("SELECT exception_rows FROM reconciliations WHERE id = $1")
                    .bind(run_id)
                    .fetch_optional(self.reader())
                    .await?;
            let n = n.flatten().unwrap_or(0);
            return Ok(up_to.map_or(n, |cap| n.min(cap.max(0))));
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1");
        push_exception_filter(&mut qb, run_id, filter);
        if let Some(n) = up_to {
            qb.push(" LIMIT ");
            qb.push_bind(n.max(0));
        }
        qb.push(") AS matching");
        Ok(qb.build_query_scalar().fetch_one(self.reader()).await?)
    }

    async fn move_exceptions_to_rows(
        &self,
        run_id: i64,
        rows: Vec<ExceptionRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let moved: Option<Option<i64>> =
            sqlx::query_scalar("SELECT exception_rows FROM reconciliations WHERE id = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
        match moved {
            None => return Err(StoreError::NotFound(format!("reconciliation {run_id}"))),
            Some(Some(_)) => return Ok(()),
            Some(None) => {}
        }
        insert_exceptions(&mut tx, run_id, 0, &rows).await?;
        let n = i64::try_from(rows.len()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        exceptions_stored(&mut tx, run_id, n).await?;
        tx.commit().await?;
        self.after_exception_rows().await;
        Ok(())
    }

    async fn list_reconciliations(&self, period_id: i64) -> StoreResult<Vec<RunInfo>> {
        let rows: Vec<RunInfoRecord> =
            sqlx::query_as(run_info_sql!("WHERE period_id = $1 ORDER BY id"))
                .bind(period_id)
                .fetch_all(self.reader())
                .await?;
        Ok(rows.into_iter().map(RunInfo::from).collect())
    }

    async fn record_download(
        &self,
        run_id: i64,
        d: crate::store::RunDownload,
    ) -> StoreResult<crate::store::RunDownload> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO run_downloads (run_id, file, lang, sha256, bytes, first_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, file, lang) DO NOTHING",
        )
        .bind(run_id)
        .bind(&d.file)
        .bind(&d.lang)
        .bind(&d.sha256)
        .bind(d.bytes)
        .bind(d.first_at)
        .execute(&mut *tx)
        .await?;
        let kept: crate::store::RunDownload = sqlx::query_as(
            "SELECT file, lang, sha256, bytes, first_at FROM run_downloads \
             WHERE run_id = $1 AND file = $2 AND lang = $3",
        )
        .bind(run_id)
        .bind(&d.file)
        .bind(&d.lang)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(kept)
    }

    async fn run_downloads(&self, run_id: i64) -> StoreResult<Vec<crate::store::RunDownload>> {
        Ok(sqlx::query_as(
            "SELECT file, lang, sha256, bytes, first_at FROM run_downloads \
             WHERE run_id = $1 ORDER BY file, lang",
        )
        .bind(run_id)
        .fetch_all(self.reader())
        .await?)
    }

    async fn add_resolution(
        &self,
        new: crate::store::NewResolution,
        adjustment: Option<crate::store::NewAdjustment>,
    ) -> StoreResult<crate::store::Resolution> {
        use crate::domain::resolution::ResolutionState;
        let mut tx = self.begin_write().await?;
        let at = now();
        let unit: Option<String> =
            sqlx::query_scalar("SELECT unit_code FROM reconciliations WHERE id = $1")
                .bind(new.run_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(unit) = unit else {
            return Err(StoreError::NotFound(format!(
                "reconciliation {}",
                new.run_id
            )));
        };
        // A closed period's inputs do not change: checked again under the write lock, so
        // an approval and an adjustment cannot cross (the service says it first).
        if let Some(a) = &adjustment {
            not_closed(&mut tx, a.period_id, &unit).await?;
        }
        let before: Option<String> = sqlx::query_scalar(
            "SELECT state FROM exception_resolutions WHERE run_id = $1 AND exception_key = $2 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(new.run_id)
        .bind(&new.key)
        .fetch_optional(&mut *tx)
        .await?;
        let before = match before {
            None => ResolutionState::Open,
            Some(s) => ResolutionState::parse(&s)
                .ok_or_else(|| StoreError::Corrupt(format!("resolution state '{s}'")))?,
        };
        let state = new
            .state
            .unwrap_or_else(|| new.action.default_state(before));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exception_resolutions (run_id, exception_key, action, state, note, \
             beneficiary, actor, actor_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(new.run_id)
        .bind(&new.key)
        .bind(new.action.as_str())
        .bind(state.as_str())
        .bind(&new.note)
        .bind(&new.beneficiary)
        .bind(&new.actor)
        .bind(&new.actor_name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(a) = &adjustment {
            sqlx::query(
                "INSERT INTO period_adjustments (period_id, unit_code, kind, payout_key, \
                 beneficiary_key, list_upload_id, resolution_id, at, actor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(a.period_id)
            .bind(&a.unit)
            .bind(a.action.as_str())
            .bind(&a.payout_key)
            .bind(&a.beneficiary_key)
            .bind(a.list_upload_id)
            .bind(id)
            .bind(at)
            .bind(&new.actor)
            .execute(&mut *tx)
            .await?;
        }
        let entry = crate::store::Resolution {
            id,
            run_id: new.run_id,
            key: new.key,
            action: new.action,
            state,
            note: new.note,
            beneficiary: new.beneficiary,
            actor: new.actor,
            actor_name: new.actor_name,
            at,
        };
        let audit = rules::exception_resolved(&unit, &entry, before, adjustment.as_ref());
        append_in(&mut tx, audit, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn resolutions(
        &self,
        run_id: i64,
        key: Option<&str>,
    ) -> StoreResult<Vec<crate::store::Resolution>> {
        use crate::store::common::{RESOLUTION_COLUMNS, ResolutionRecord};
        let rows: Vec<ResolutionRecord> = match key {
            Some(k) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {RESOLUTION_COLUMNS} FROM exception_resolutions \
                     WHERE run_id = $1 AND exception_key = $2 ORDER BY id"
                )))
                .bind(run_id)
                .bind(k)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {RESOLUTION_COLUMNS} FROM exception_resolutions \
                     WHERE run_id = $1 ORDER BY id"
                )))
                .bind(run_id)
                .fetch_all(self.reader())
                .await?
            }
        };
        rows.into_iter()
            .map(crate::store::common::ResolutionRecord::into_resolution)
            .collect()
    }

    async fn period_adjustments(
        &self,
        period_id: i64,
    ) -> StoreResult<Vec<crate::store::Adjustment>> {
        let rows: Vec<crate::store::common::AdjustmentRecord> = sqlx::query_as(
            "SELECT id, period_id, unit_code, kind, payout_key, beneficiary_key, list_upload_id, \
             resolution_id, at, actor FROM period_adjustments WHERE period_id = $1 ORDER BY id",
        )
        .bind(period_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(crate::store::common::AdjustmentRecord::into_adjustment)
            .collect()
    }

    async fn carry_over(
        &self,
        new: crate::store::NewCarryOver,
    ) -> StoreResult<crate::store::CarryOver> {
        use crate::store::common::{CARRY_OVER_COLUMNS, CarryOverRecord};
        let mut tx = self.begin_write().await?;
        period_exists(&mut tx, new.period_id).await?;
        // Checked again under the write lock, as uploads are (the service says it first):
        // closed for the run's unit, or for a unit below it (its approved figures would
        // change).
        let closures = closures_in(&mut tx, new.period_id).await?;
        rules::not_closed(&new.unit, &closures)?;
        rules::none_closed_below(&new.unit, &closures)?;
        // One period's people are carried once, into one later period: not by a province's
        // run and a ward's too, not into two months.
        let earlier: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT from_run, unit_code, period_id FROM carry_overs WHERE from_run IN \
             (SELECT id FROM reconciliations WHERE period_id = \
              (SELECT period_id FROM reconciliations WHERE id = $1))",
        )
        .bind(new.from_run)
        .fetch_all(&mut *tx)
        .await?;
        rules::carry_over_fits(&new, &earlier)?;
        let at = now();
        let amount: rust_decimal::Decimal = new.items.iter().map(|i| i.amount).sum();
        let inserted = sqlx::query_as::<_, CarryOverRecord>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO carry_overs (period_id, unit_code, from_run, from_period_code, people, \
             amount, skipped, at, actor, actor_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CARRY_OVER_COLUMNS}"
        )))
        .bind(new.period_id)
        .bind(&new.unit)
        .bind(new.from_run)
        .bind(&new.from_period_code)
        .bind(new.items.len() as i64)
        .bind(amount.to_string())
        .bind(new.skipped)
        .bind(at)
        .bind(&new.actor)
        .bind(&new.actor_name)
        .fetch_one(&mut *tx)
        .await;
        let carried = match inserted {
            Ok(r) => r.into_carry_over()?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "Lượt đối soát {run} đã được chuyển sang kỳ này / run {run} was carried \
                     over into this period already",
                    run = new.from_run
                )));
            }
            Err(e) => return Err(e.into()),
        };
        for chunk in new.items.chunks(BATCH_ROWS) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO arrears (carry_over_id, period_id, unit_code, population_id, name, \
                 kind, amount) ",
            );
            q.push_values(chunk, |mut b, item| {
                b.push_bind(carried.id)
                    .push_bind(new.period_id)
                    .push_bind(&item.unit)
                    .push_bind(&item.population_id)
                    .push_bind(&item.name)
                    .push_bind(&item.kind)
                    .push_bind(item.amount.to_string());
            });
            q.build().execute(&mut *tx).await?;
        }
        append_in(&mut tx, rules::carried_over(&carried), at).await?;
        tx.commit().await?;
        Ok(carried)
    }

    async fn carry_overs(&self, period_id: i64) -> StoreResult<Vec<crate::store::CarryOver>> {
        use crate::store::common::{CARRY_OVER_COLUMNS, CarryOverRecord};
        let rows: Vec<CarryOverRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CARRY_OVER_COLUMNS} FROM carry_overs WHERE period_id = $1 ORDER BY id"
        )))
        .bind(period_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(CarryOverRecord::into_carry_over)
            .collect()
    }

    async fn carry_overs_from(
        &self,
        from_period_id: i64,
    ) -> StoreResult<Vec<crate::store::CarryOver>> {
        use crate::store::common::{CARRY_OVER_COLUMNS, CarryOverRecord};
        let rows: Vec<CarryOverRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CARRY_OVER_COLUMNS} FROM carry_overs WHERE from_run IN \
             (SELECT id FROM reconciliations WHERE period_id = $1) ORDER BY id"
        )))
        .bind(from_period_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(CarryOverRecord::into_carry_over)
            .collect()
    }

    async fn period_arrears(&self, period_id: i64) -> StoreResult<Vec<crate::store::Arrear>> {
        let rows: Vec<crate::store::common::ArrearRecord> = sqlx::query_as(
            "SELECT a.id, a.carry_over_id, c.unit_code AS scope, c.from_run, \
             c.from_period_code, a.unit_code, \
             a.population_id, a.name, a.kind, a.amount \
             FROM arrears a JOIN carry_overs c ON c.id = a.carry_over_id \
             WHERE a.period_id = $1 ORDER BY a.id",
        )
        .bind(period_id)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(crate::store::common::ArrearRecord::into_arrear)
            .collect()
    }

    async fn save_payment_orders(&self, new: crate::store::NewPaymentOrders) -> StoreResult<u64> {
        use crate::domain::population_id::IdCheck;
        let mut tx = self.begin_write().await?;
        period_exists(&mut tx, new.period_id).await?;
        let at = now();
        let mut stored = 0u64;
        for chunk in new.orders.chunks(BATCH_ROWS) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO payment_orders (period_id, list_upload_id, unit_code, bank_code, \
                 payment_info_id, end_to_end_id, row_no, id_status, id_text, account, name, \
                 amount, at, actor) ",
            );
            q.push_values(chunk, |mut b, o| {
                let (status, text) = match &o.line.id {
                    IdCheck::Valid(id) => ("valid", id.to_string()),
                    IdCheck::Legacy(s) => ("legacy", s.clone()),
                    _ => ("missing", String::new()),
                };
                b.push_bind(new.period_id)
                    .push_bind(o.list_upload_id)
                    .push_bind(&o.unit)
                    .push_bind(o.line.bank.code())
                    .push_bind(o.line.payment_info.to_string())
                    .push_bind(&o.line.end_to_end)
                    .push_bind(i64::from(o.line.row))
                    .push_bind(status)
                    .push_bind(text)
                    .push_bind(&o.line.account)
                    .push_bind(&o.line.name)
                    .push_bind(o.line.amount.to_string())
                    .push_bind(at)
                    .push_bind(&new.actor);
            });
            q.push(" ON CONFLICT (period_id, end_to_end_id) DO NOTHING");
            stored += q.build().execute(&mut *tx).await?.rows_affected();
        }
        let mut blocks: Vec<&str> = new.orders.iter().map(|o| &*o.line.payment_info).collect();
        blocks.sort_unstable();
        blocks.dedup();
        for block in &blocks {
            sqlx::query(
                "INSERT INTO payment_order_messages (period_id, message_id, payment_info_id) \
                 VALUES ($1, $2, $3) ON CONFLICT (period_id, message_id, payment_info_id) DO NOTHING",
            )
            .bind(new.period_id)
            .bind(&new.message_id)
            .bind(*block)
            .execute(&mut *tx)
            .await?;
        }
        if stored > 0 {
            let amount: rust_decimal::Decimal = new.orders.iter().map(|o| o.line.amount).sum();
            let entry = crate::domain::audit::NewAuditEntry::new(
                &new.actor,
                crate::domain::audit::Action::PaymentOrders,
                format!("period/{}", new.period_id),
                serde_json::json!({
                    "bank": new.bank,
                    "message": new.message_id,
                    "orders": new.orders.len(),
                    "new": stored,
                    "amount": amount.to_string(),
                }),
            );
            append_in(&mut tx, entry, at).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn payment_orders(
        &self,
        period_id: i64,
        bank: Option<&str>,
        related: Option<&str>,
    ) -> StoreResult<crate::domain::payment_orders::PaymentOrders> {
        use crate::domain::payment_orders::{OrderLine, PaymentOrders};
        use crate::domain::population_id::{IdCheck, PersonalId};
        type OrderRecord = (
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            String,
            String,
            String,
        );
        let select = "SELECT unit_code, bank_code, payment_info_id, end_to_end_id, row_no, \
                      id_status, id_text, account, name, amount FROM payment_orders \
                      WHERE period_id = $1";
        let rows: Vec<OrderRecord> = match bank {
            Some(b) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{select} AND bank_code = $2 ORDER BY id"
                )))
                .bind(period_id)
                .bind(b)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{select} ORDER BY id")))
                    .bind(period_id)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        let tree = crate::domain::units::shipped_tree();
        let in_scope =
            |unit: &str| related.is_none_or(|r| tree.is_within(unit, r) || tree.is_within(r, unit));
        let mut lines = Vec::with_capacity(rows.len());
        for (unit, bank, block, end_to_end, row, status, text, account, name, amount) in rows {
            if !in_scope(&unit) {
                continue;
            }
            let Some(bank) = crate::domain::banks::BankId::resolve(&bank) else {
                continue;
            };
            let amount = amount.parse().map_err(|e| {
                StoreError::Corrupt(format!("payment order amount '{amount}': {e}"))
            })?;
            let block: Arc<str> = block.into();
            lines.push(OrderLine {
                end_to_end,
                message: Arc::clone(&block),
                payment_info: block,
                bank,
                row: u32::try_from(row).unwrap_or(0),
                id: match status.as_str() {
                    "valid" => text
                        .parse::<PersonalId>()
                        .map_or(IdCheck::Missing, IdCheck::Valid),
                    "legacy" => IdCheck::Legacy(text),
                    _ => IdCheck::Missing,
                },
                account,
                name,
                amount,
            });
        }
        let messages: Vec<(String, String)> = sqlx::query_as(
            "SELECT message_id, payment_info_id FROM payment_order_messages \
             WHERE period_id = $1 ORDER BY id",
        )
        .bind(period_id)
        .fetch_all(self.reader())
        .await?;
        Ok(PaymentOrders::new(lines).with_messages(messages))
    }

    async fn listed_rows(
        &self,
        period_id: i64,
        q: &crate::store::ListedQuery,
    ) -> StoreResult<Vec<crate::store::ListedRow>> {
        use crate::store::ListedQuery;
        let mut conn = self.reader().acquire().await?;
        let (lists, _) = live_inputs(&mut conn, period_id).await?;
        let mut out = Vec::new();
        for list in lists {
            let select = "SELECT r.upload_id, u.unit_code AS list_unit, r.unit_code, r.row_no, \
                          r.id_status, r.id_text, r.name FROM beneficiary_rows r \
                          JOIN uploads u ON u.id = r.upload_id WHERE r.upload_id = $1";
            let query = |sql: String| {
                sqlx::query_as::<_, crate::store::ListedRow>(sqlx::AssertSqlSafe(sql))
            };
            let rows = match q {
                ListedQuery::Id(id) => {
                    query(format!(
                        "{select} AND r.id_status IN ('valid', 'legacy') AND r.id_text = $2 \
                         ORDER BY r.seq"
                    ))
                    .bind(list.id)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?
                }
                ListedQuery::Row(row) => {
                    query(format!("{select} AND r.row_no = $2 ORDER BY r.seq"))
                        .bind(list.id)
                        .bind(*row)
                        .fetch_all(&mut *conn)
                        .await?
                }
            };
            out.extend(rows);
        }
        Ok(out)
    }

    async fn create_token(&self, new: NewToken, actor: &str) -> StoreResult<TokenInfo> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, role, bank_code, token_hash, created_at, created_by, \
             webhook_secret, unit_code, display_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.bank_code)
        .bind(&new.token_hash)
        .bind(at)
        .bind(actor)
        .bind(&new.webhook_secret)
        .bind(&new.unit)
        .bind(&new.display_name)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Name or hash: both are unique; the hash colliding means the same
            // secret was generated twice, which callers treat like a name clash.
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!("token '{}' exists", new.name)));
            }
            Err(e) => return Err(e.into()),
        };
        let entry = rules::token_created(id, &new, actor);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(TokenInfo {
            id,
            name: new.name,
            role: new.role,
            bank_code: new.bank_code,
            unit: new.unit,
            created_at: at,
            created_by: actor.to_owned(),
            revoked_at: None,
            display_name: new.display_name,
        })
    }

    async fn webhook_secret(&self, token_id: i64) -> StoreResult<Option<String>> {
        let secret: Option<Option<String>> = sqlx::query_scalar(
            "SELECT webhook_secret FROM api_tokens WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(token_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(secret.flatten())
    }

    async fn revoke_token(&self, name: &str, actor: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let revoked: Option<(i64, String)> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL \
             RETURNING id, unit_code",
        )
        .bind(at)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, unit)) = revoked else {
            tx.rollback().await?;
            return Ok(false);
        };
        // Its web sessions end with it (lookups also skip revoked tokens).
        let sessions = sqlx::query("DELETE FROM web_sessions WHERE token_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let entry = rules::token_revoked(id, name, &unit, sessions, actor);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenInfo>> {
        let row: Option<TokenRecord> =
            sqlx::query_as(token_sql!("WHERE token_hash = $1 AND revoked_at IS NULL"))
                .bind(token_hash)
                .fetch_optional(self.reader())
                .await?;
        row.map(TokenRecord::into_info).transpose()
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let rows: Vec<TokenRecord> = sqlx::query_as(token_sql!("ORDER BY id"))
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(TokenRecord::into_info).collect()
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        // Microseconds, like `now()`: what PostgreSQL keeps, so both backends read
        // back the same instant (and SQLite's text stays in time order).
        let expires_at = session.expires_at.trunc_subsecs(6);
        let mut tx = self.begin_write().await?;
        let at = now();
        let token: Option<TokenRecord> =
            sqlx::query_as(token_sql!("WHERE id = $1 AND revoked_at IS NULL"))
                .bind(session.token_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(token) = token else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("token {}", session.token_id)));
        };
        let token = token.into_info()?;
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO web_sessions (session_hash, token_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.session_hash)
        .bind(token.id)
        .bind(&session.csrf_token)
        .bind(at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Never the hash in the message: errors reach logs.
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict("web session exists".into()));
            }
            Err(e) => return Err(e.into()),
        }
        let entry = rules::signed_in(&token, expires_at);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_by_hash(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>> {
        let row: Option<SessionRecord> = sqlx::query_as(session_sql!("WHERE s.session_hash = $1"))
            .bind(session_hash)
            .fetch_optional(self.reader())
            .await?;
        match row {
            Some(r) => r.live_at(now),
            None => Ok(None),
        }
    }

    async fn delete_session(&self, session_hash: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let deleted: Option<i64> = sqlx::query_scalar(
            "DELETE FROM web_sessions WHERE session_hash = $1 RETURNING token_id",
        )
        .bind(session_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token_id) = deleted else {
            tx.rollback().await?;
            return Ok(false);
        };
        // The token as it is, revoked or not: signing out always works.
        let token: Option<TokenRecord> = sqlx::query_as(token_sql!("WHERE id = $1"))
            .bind(token_id)
            .fetch_optional(&mut *tx)
            .await?;
        let token = token
            .ok_or_else(|| StoreError::Corrupt(format!("web session of missing token {token_id}")))?
            .into_info()?;
        let entry = rules::signed_out(&token);
        append_in(&mut tx, entry, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn save_callbacks(
        &self,
        requests: &[CallbackRequest],
    ) -> StoreResult<Vec<CallbackVerdict>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // One transaction, one commit for the whole group. The state of every
        // payout the group names is loaded once; requests are decided in order in
        // memory, each against a copy of what it touches that replaces the working
        // state only when the request is accepted (so a conflict changes nothing);
        // then everything is written in a few multi-row statements.
        let mut tx = self.begin_write().await?;
        let (mut slots, mut index) = load_callback_slots(&mut tx, requests).await?;
        // What the live figures count each loaded payout as, until they take in its change.
        let loaded: HashMap<i64, crate::store::CallbackState> = slots
            .iter()
            .filter_map(|s| {
                let p = s.current.as_ref().ok()?;
                Some((
                    s.id?,
                    crate::store::CallbackState {
                        status: p.status,
                        reason: p.reason.clone(),
                        value_date: p.value_date,
                    },
                ))
            })
            .collect();
        let Decided {
            outcomes,
            mut events,
            audits,
        } = decide(requests, &mut slots, &mut index, now)?;
        write_callback_slots(&mut tx, requests, &mut slots, &mut events).await?;
        record_live_changes(&mut tx, &slots, &loaded).await?;
        append_many_in(&mut tx, audits).await?;
        tx.commit().await?;
        let mut verdicts = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome {
                Ok(drafts) => {
                    let mut answers = Vec::with_capacity(drafts.len());
                    for (slot, mut answer) in drafts {
                        if let Some(i) = slot {
                            answer.payout_id = slots[i].id.ok_or_else(|| {
                                StoreError::Corrupt("callback payout without an id".into())
                            })?;
                        }
                        answers.push(answer);
                    }
                    verdicts.push(CallbackVerdict::Accepted(answers));
                }
                Err(verdict) => verdicts.push(verdict),
            }
        }
        Ok(verdicts)
    }

    async fn callback_payouts(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Vec<StoredCallback>> {
        let rows: Vec<CallbackRecord> = sqlx::query_as(callback_sql!(
            "WHERE programme = $1 AND period_code = $2 ORDER BY id"
        ))
        .bind(programme)
        .bind(period_code)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(CallbackRecord::into_stored).collect()
    }

    async fn callback_history(
        &self,
        bank_code: &str,
        transaction_ref: &str,
    ) -> StoreResult<Vec<CallbackPayout>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT e.version, e.content_json FROM callback_events e \
             JOIN callback_payouts p ON p.id = e.payout_id \
             WHERE p.bank_code = $1 AND p.transaction_ref = $2 ORDER BY e.version",
        )
        .bind(bank_code)
        .bind(transaction_ref)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(version, text)| {
                serde_json::from_str(&text).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "callback {bank_code}/{transaction_ref} version {version}: content_json: {e}"
                    ))
                })
            })
            .collect()
    }

    async fn callbacks_changed_at(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(updated_at) FROM callback_payouts WHERE programme = $1 AND period_code = $2",
        )
        .bind(programme)
        .bind(period_code)
        .fetch_one(self.reader())
        .await?)
    }

    async fn callback_tallies(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Vec<crate::store::CallbackTally>> {
        Ok(sqlx::query_as(
            "SELECT bank_code, unit_code AS unit, COUNT(*) AS payouts, \
             SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS success, \
             SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, \
             SUM(CASE WHEN status = 'returned' THEN 1 ELSE 0 END) AS returned, \
             MAX(updated_at) AS last_at \
             FROM callback_payouts WHERE programme = $1 AND period_code = $2 \
             GROUP BY bank_code, unit_code ORDER BY bank_code, unit_code",
        )
        .bind(programme)
        .bind(period_code)
        .fetch_all(self.reader())
        .await?)
    }

    async fn bank_callbacks(
        &self,
        bank_code: &str,
        programme: &str,
        period_code: &str,
        start: PageStart,
        limit: i64,
    ) -> StoreResult<crate::store::BankCallbacks> {
        // The count and the page from one snapshot, so they agree.
        let mut read = self.reader().begin().await?;
        if let Some(snapshot) = DIALECT.snapshot {
            sqlx::query(snapshot).execute(&mut *read).await?;
        }
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM callback_payouts \
             WHERE bank_code = $1 AND programme = $2 AND period_code = $3",
        )
        .bind(bank_code)
        .bind(programme)
        .bind(period_code)
        .fetch_one(&mut *read)
        .await?;
        const SELECT: &str = "SELECT id, bank_code, transaction_ref, period_code, programme, \
             population_id, account_number, beneficiary_name, amount, status, value_date, reason, \
             unit_code, version, received_at, updated_at FROM callback_payouts \
             WHERE bank_code = $1 AND programme = $2 AND period_code = $3";
        let (sql, from) = match start {
            PageStart::After(id) => (format!("{SELECT} AND id > $4 ORDER BY id LIMIT $5"), id),
            PageStart::Skip(n) => (format!("{SELECT} ORDER BY id LIMIT $5 OFFSET $4"), n),
        };
        let rows: Vec<BankCallbackRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bank_code)
            .bind(programme)
            .bind(period_code)
            .bind(from.max(0))
            .bind(limit.max(0))
            .fetch_all(&mut *read)
            .await?;
        read.commit().await?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(crate::store::BankCallback {
                    stored: r.record.into_stored()?,
                    version: r.version,
                    received_at: r.received_at,
                    updated_at: r.updated_at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(crate::store::BankCallbacks { total, items })
    }

    async fn callback_components(
        &self,
        period_id: i64,
        callback_ids: &[i64],
        components: &dyn crate::store::LiveComponents,
    ) -> StoreResult<Option<crate::store::ComponentRows>> {
        components_in_snapshot(self, period_id, callback_ids, &[], components).await
    }

    async fn person_components(
        &self,
        period_id: i64,
        ids: &[String],
        components: &dyn crate::store::LiveComponents,
    ) -> StoreResult<Option<crate::store::ComponentRows>> {
        let keys: Vec<crate::domain::records::LinkKey> = ids
            .iter()
            .map(|id| crate::domain::records::LinkKey::Person(id.clone()))
            .collect();
        components_in_snapshot(self, period_id, &[], &keys, components).await
    }

    async fn live_status(&self, period_id: i64) -> StoreResult<crate::store::LiveStatus> {
        let mut conn = self.reader().acquire().await?;
        let (programme, code) = period_code(&mut conn, period_id).await?;
        let (lists, files) = live_inputs(&mut conn, period_id).await?;
        let cells = live_version(&mut conn, period_id).await?;
        let watermark: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM live_changes WHERE programme = $1 AND period_code = $2",
        )
        .bind(&programme)
        .bind(&code)
        .fetch_one(&mut *conn)
        .await?;
        let cells_version = cells.as_ref().map_or(0, |c| c.1);
        Ok(crate::store::LiveStatus {
            cells_key: cells.map(|c| c.0),
            cells_version,
            current_key: key_of(&mut conn, period_id, &lists, &files).await?,
            pending: watermark.is_some(),
            watermark: watermark.unwrap_or(0),
        })
    }

    async fn live_pending_periods(&self) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT s.period_id FROM live_state s JOIN periods p ON p.id = s.period_id \
             WHERE EXISTS (SELECT 1 FROM live_changes c \
                           WHERE c.programme = p.programme AND c.period_code = p.code) \
             ORDER BY s.period_id",
        )
        .fetch_all(self.reader())
        .await?)
    }

    async fn live_cells(
        &self,
        period_id: i64,
        scope: crate::store::CellScope<'_>,
    ) -> StoreResult<Vec<crate::store::LiveCellRow>> {
        use crate::store::CellScope;
        let select = format!("SELECT {LIVE_CELL_COLUMNS} FROM live_cells WHERE period_id = $1");
        let query = |sql: String| sqlx::query_as::<_, LiveCellRecord>(sqlx::AssertSqlSafe(sql));
        let rows: Vec<LiveCellRecord> = match scope {
            CellScope::Nation => {
                query(select)
                    .bind(period_id)
                    .fetch_all(self.reader())
                    .await?
            }
            CellScope::Province(p) => {
                query(format!("{select} AND province_code = $2"))
                    .bind(period_id)
                    .bind(p)
                    .fetch_all(self.reader())
                    .await?
            }
            CellScope::Unit(u) => {
                query(format!("{select} AND unit_code = $2"))
                    .bind(period_id)
                    .bind(u)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(crate::store::LiveCellRow::from)
            .collect())
    }

    async fn replace_live_cells(
        &self,
        period_id: i64,
        inputs_key: &str,
        cells: Vec<crate::store::LiveCellRow>,
        watermark: i64,
        gathered: HashMap<i64, crate::store::CallbackState>,
        components: &dyn crate::store::LiveComponents,
    ) -> StoreResult<crate::store::LiveRefresh> {
        let mut tx = self.begin_write().await?;
        let (programme, code) = period_code(&mut tx, period_id).await?;
        let (lists, files) = live_inputs(&mut tx, period_id).await?;
        if key_of(&mut tx, period_id, &lists, &files).await? != inputs_key {
            return Ok(crate::store::LiveRefresh::Stale);
        }
        sqlx::query("DELETE FROM live_cells WHERE period_id = $1")
            .bind(period_id)
            .execute(&mut *tx)
            .await?;
        insert_live_cells(&mut tx, period_id, &cells).await?;
        drop(cells);
        set_live_state(&mut tx, period_id, inputs_key).await?;
        // Changes after the watermark may or may not be in what was read: the cells count
        // each such payout as it was read (or not at all), so that is their old state.
        let changes = live_changes(&mut tx, &programme, &code).await?;
        let mut dirty = HashMap::new();
        for c in changes.iter().filter(|c| c.id > watermark) {
            dirty
                .entry(c.callback_id)
                .or_insert_with(|| gathered.get(&c.callback_id).cloned());
        }
        if !dirty.is_empty() {
            let Some((touched, cells)) = component_cells(
                &mut tx, period_id, &programme, &code, lists, files, &dirty, components,
            )
            .await?
            else {
                return Err(StoreError::Corrupt(
                    "live figures: a full recompute does not hold what it read".into(),
                ));
            };
            write_cells(&mut tx, period_id, &touched, &cells).await?;
        }
        if let Some(last) = changes.last() {
            delete_changes(&mut tx, &programme, &code, last.id).await?;
        }
        tx.commit().await?;
        Ok(crate::store::LiveRefresh::Applied(dirty.len()))
    }

    async fn apply_live_changes(
        &self,
        period_id: i64,
        components: &dyn crate::store::LiveComponents,
    ) -> StoreResult<crate::store::LiveRefresh> {
        use crate::store::LiveRefresh;
        let started = Instant::now();
        // Read everything in one snapshot, without the write lock (callbacks go on)...
        let mut read = self.reader().begin().await?;
        if let Some(snapshot) = DIALECT.snapshot {
            sqlx::query(snapshot).execute(&mut *read).await?;
        }
        let (programme, code) = period_code(&mut read, period_id).await?;
        let (lists, files) = live_inputs(&mut read, period_id).await?;
        let inputs_key = key_of(&mut read, period_id, &lists, &files).await?;
        let Some((cells_key, version)) = live_version(&mut read, period_id).await? else {
            return Ok(LiveRefresh::Stale);
        };
        if cells_key != inputs_key {
            return Ok(LiveRefresh::Stale);
        }
        let changes = live_changes(&mut read, &programme, &code).await?;
        let Some(last) = changes.last().map(|c| c.id) else {
            return Ok(LiveRefresh::Applied(0));
        };
        // The first change of each payout says what the cells count it as.
        let mut dirty = HashMap::new();
        for c in &changes {
            if let std::collections::hash_map::Entry::Vacant(e) = dirty.entry(c.callback_id) {
                e.insert(before_state(c)?);
            }
        }
        let read_at = Instant::now();
        let computed = component_cells(
            &mut read, period_id, &programme, &code, lists, files, &dirty, components,
        )
        .await?;
        read.commit().await?;
        let computed_at = Instant::now();
        let Some((touched, cells)) = computed else {
            return Ok(LiveRefresh::Stale);
        };
        // ...then write, under the lock, only if no other refresh wrote meanwhile (the
        // changes read are then still the oldest ones waiting: ids follow commits, as
        // writers take the lock in turn).
        let mut tx = self.begin_write().await?;
        if live_version(&mut tx, period_id).await? != Some((inputs_key.clone(), version)) {
            return Ok(LiveRefresh::Busy);
        }
        write_cells(&mut tx, period_id, &touched, &cells).await?;
        delete_changes(&mut tx, &programme, &code, last).await?;
        set_live_state(&mut tx, period_id, &inputs_key).await?;
        tx.commit().await?;
        let ms = |d: Duration| d.as_millis() as u64;
        tracing::debug!(
            period_id,
            changes = dirty.len(),
            read_ms = ms(read_at - started),
            components_ms = ms(computed_at - read_at),
            write_ms = ms(computed_at.elapsed()),
            "live figures: changes applied"
        );
        Ok(LiveRefresh::Applied(dirty.len()))
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRecord> = sqlx::query_as(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
        let mut tx = self.begin_write().await?;
        let e = append_in(&mut tx, entry, now()).await?;
        tx.commit().await?;
        Ok(e)
    }
}

// ---- Live figures: cells, changes, components (see migrations/*/0013_live_figures.sql).

type Conn = <Db as sqlx::Database>::Connection;

/// The period's inputs in the order a reconciliation reads them: current lists by unit
/// then id, payout files in use by id (as `period_inputs`).
async fn live_inputs(
    conn: &mut Conn,
    period_id: i64,
) -> StoreResult<(Vec<crate::store::InputRef>, Vec<crate::store::InputRef>)> {
    let uploads: Vec<UploadRecord> = sqlx::query_as(upload_sql!(
        "WHERE period_id = $1 AND retired_at IS NULL ORDER BY unit_code, id"
    ))
    .bind(period_id)
    .fetch_all(&mut *conn)
    .await?;
    let uploads = uploads
        .into_iter()
        .map(UploadRecord::into_upload)
        .collect::<StoreResult<Vec<_>>>()?;
    let input = |u: &Upload| crate::store::InputRef {
        id: u.id,
        sha256: u.sha256.clone(),
        unit: u.unit.clone(),
        file_name: u.file_name.clone(),
    };
    let lists = uploads
        .iter()
        .filter(|u| u.kind == UploadKind::Beneficiaries && u.current)
        .map(input)
        .collect();
    let mut files: Vec<_> = uploads
        .iter()
        .filter(|u| u.kind == UploadKind::Payouts)
        .map(input)
        .collect();
    files.sort_by_key(|f: &crate::store::InputRef| f.id);
    Ok((lists, files))
}

/// The name of the period's inputs now: its lists and files, and its adjustments.
async fn key_of(
    conn: &mut Conn,
    period_id: i64,
    lists: &[crate::store::InputRef],
    files: &[crate::store::InputRef],
) -> StoreResult<String> {
    fn ids(v: &[crate::store::InputRef]) -> Vec<(i64, &str)> {
        v.iter().map(|u| (u.id, u.sha256.as_str())).collect()
    }
    let adjustments: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM period_adjustments WHERE period_id = $1")
            .bind(period_id)
            .fetch_one(&mut *conn)
            .await?;
    let carry_overs: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM carry_overs WHERE period_id = $1")
            .bind(period_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(crate::store::inputs_key(
        &ids(lists),
        &ids(files),
        adjustments,
        carry_overs,
    ))
}

async fn period_code(conn: &mut Conn, period_id: i64) -> StoreResult<(String, String)> {
    let row: Option<(Option<String>, String)> =
        sqlx::query_as("SELECT programme, code FROM periods WHERE id = $1")
            .bind(period_id)
            .fetch_optional(&mut *conn)
            .await?;
    let (programme, code) =
        row.ok_or_else(|| StoreError::NotFound(format!("period {period_id}")))?;
    Ok((
        programme.unwrap_or_else(|| crate::store::DEFAULT_PROGRAMME.to_owned()),
        code,
    ))
}

#[derive(sqlx::FromRow)]
struct LiveCellRecord {
    cell_key: String,
    kind: String,
    unit_code: Option<String>,
    province_code: Option<String>,
    commune_key: Option<String>,
    category_key: Option<String>,
    bank_code: Option<String>,
    commune_text: Option<String>,
    category_text: Option<String>,
    first_pos: i64,
    figures: String,
}

const LIVE_CELL_COLUMNS: &str = "cell_key, kind, unit_code, province_code, commune_key, \
    category_key, bank_code, commune_text, category_text, first_pos, figures";

impl From<LiveCellRecord> for crate::store::LiveCellRow {
    fn from(r: LiveCellRecord) -> Self {
        crate::store::LiveCellRow {
            cell_key: r.cell_key,
            kind: r.kind,
            unit_code: r.unit_code,
            province_code: r.province_code,
            commune_key: r.commune_key,
            category_key: r.category_key,
            bank_code: r.bank_code,
            commune_text: r.commune_text,
            category_text: r.category_text,
            first_pos: r.first_pos,
            figures: r.figures,
        }
    }
}

/// Write cells (none of them stored yet) for the period.
async fn insert_live_cells(
    tx: &mut Tx,
    period_id: i64,
    cells: &[crate::store::LiveCellRow],
) -> StoreResult<()> {
    super::bulk_insert(
        tx,
        "live_cells",
        &[
            "period_id",
            "cell_key",
            "kind",
            "unit_code",
            "province_code",
            "commune_key",
            "category_key",
            "bank_code",
            "commune_text",
            "category_text",
            "first_pos",
            "figures",
        ],
        cells,
        |c, out| {
            out.extend([
                Cell::Int(period_id),
                Cell::Text(&c.cell_key),
                Cell::Text(&c.kind),
                c.unit_code.as_deref().into(),
                c.province_code.as_deref().into(),
                c.commune_key.as_deref().into(),
                c.category_key.as_deref().into(),
                c.bank_code.as_deref().into(),
                c.commune_text.as_deref().into(),
                c.category_text.as_deref().into(),
                Cell::Int(c.first_pos),
                Cell::Text(&c.figures),
            ]);
        },
    )
    .await
}

#[derive(sqlx::FromRow)]
struct LinkedListRecord {
    upload_id: i64,
    #[sqlx(flatten)]
    row: BeneficiaryRecord,
}

/// An account key as the index holds it: `ltrim(account, '0')` ('' where `account_key`
/// keeps one zero).
fn account_sql_key(k: &str) -> &str {
    if k == "0" { "" } else { k }
}

/// `select` (rows of one upload, aliased `r`) narrowed to the rows numbered `seqs`, as
/// `DIALECT.seq_probe` says. Integers only: nothing to bind.
fn by_seq(select: &str, seqs: &[i64]) -> String {
    let list = |f: fn(&i64) -> String| seqs.iter().map(f).collect::<Vec<_>>().join(", ");
    if DIALECT.seq_probe {
        format!(
            "SELECT p.* FROM (VALUES {}) AS s (seq) \
             CROSS JOIN LATERAL ({select} AND r.seq = s.seq LIMIT 1) AS p",
            list(|n| format!("({n})"))
        )
    } else {
        format!("{select} AND r.seq IN ({})", list(i64::to_string))
    }
}

/// Add to `rows` every row of the period's inputs linked through `keys` (not there yet):
/// list and payout rows at `addresses` (by their primary key), callbacks by their indexes.
#[allow(clippy::too_many_arguments)]
async fn fetch_linked(
    tx: &mut Tx,
    programme: &str,
    code: &str,
    keys: &[crate::domain::records::LinkKey],
    addresses: &[crate::store::RowAddress],
    rows: &mut crate::store::ComponentRows,
    seen: &mut LinkedSeen,
) -> StoreResult<()> {
    use crate::domain::records::LinkKey;
    let mut by_upload: std::collections::BTreeMap<(bool, i64), Vec<i64>> = Default::default();
    for a in addresses {
        let known = if a.payout {
            seen.payout.contains(&(a.upload_id, a.seq))
        } else {
            seen.list.contains(&(a.upload_id, a.seq))
        };
        if !known {
            by_upload
                .entry((a.payout, a.upload_id))
                .or_default()
                .push(a.seq);
        }
    }
    for ((payout, upload_id), seqs) in by_upload {
        for chunk in seqs.chunks(BATCH_ROWS) {
            if payout {
                let sql = by_seq(
                    &format!(
                        "SELECT {PAYOUT_ROW_COLUMNS} FROM payout_rows r \
                         WHERE r.upload_id = {upload_id}"
                    ),
                    chunk,
                );
                let found: Vec<PayoutRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut **tx)
                    .await?;
                for r in found {
                    if seen.payout.insert((r.upload_id, r.seq)) {
                        rows.payout_rows.push(r);
                    }
                }
            } else {
                let sql = by_seq(
                    &format!(
                        "SELECT upload_id, {LIST_ROW_COLUMNS} FROM beneficiary_rows r \
                         WHERE r.upload_id = {upload_id}"
                    ),
                    chunk,
                );
                let found: Vec<LinkedListRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut **tx)
                    .await?;
                for r in found {
                    if seen.list.insert((r.upload_id, r.row.seq)) {
                        rows.list_rows.push((r.upload_id, r.row));
                    }
                }
            }
        }
    }
    let mut ids: Vec<&str> = Vec::new();
    let mut accounts: Vec<&str> = Vec::new();
    let mut refs: HashMap<&str, Vec<&str>> = HashMap::new();
    for k in keys {
        match k {
            LinkKey::Person(id) => ids.push(id),
            LinkKey::Account(a) => accounts.push(account_sql_key(a)),
            LinkKey::Reference(bank, r) => refs.entry(bank).or_default().push(r),
        }
    }
    for (column, values) in [
        ("population_id", ids),
        ("ltrim(account_number, '0')", accounts),
    ] {
        for chunk in values.chunks(BATCH_ROWS) {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new(format!("{} WHERE {column} IN (", callback_sql!("")));
            push_list(&mut qb, chunk);
            let found: Vec<CallbackRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
            add_callbacks(found, programme, code, rows, seen)?;
        }
    }
    for (bank, values) in &refs {
        for chunk in values.chunks(BATCH_ROWS) {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new(format!("{} WHERE bank_code = ", callback_sql!("")));
            qb.push_bind(*bank);
            qb.push(" AND transaction_ref IN (");
            push_list(&mut qb, chunk);
            let found: Vec<CallbackRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
            add_callbacks(found, programme, code, rows, seen)?;
        }
    }
    Ok(())
}

/// The period's callbacks among `found` not in the component yet.
fn add_callbacks(
    found: Vec<CallbackRecord>,
    programme: &str,
    code: &str,
    rows: &mut crate::store::ComponentRows,
    seen: &mut LinkedSeen,
) -> StoreResult<()> {
    for r in found {
        if r.programme == programme && r.period_code == code && seen.callback.insert(r.id) {
            rows.callbacks.push(r.into_stored()?);
        }
    }
    Ok(())
}

/// `a, b, c)`: the values bound, the list closed.
fn push_list(qb: &mut QueryBuilder<Db>, values: &[&str]) {
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(*v);
    }
    qb.push(")");
}

/// Rows already in a component (by upload and seq; callbacks by id).
#[derive(Default)]
struct LinkedSeen {
    list: std::collections::HashSet<(i64, i64)>,
    payout: std::collections::HashSet<(i64, i64)>,
    callback: std::collections::HashSet<i64>,
}

/// How reading a component went, for the refresh's log.
struct ComponentRead {
    rows: crate::store::ComponentRows,
    rounds: usize,
    callbacks_time: Duration,
    keys_time: Duration,
    fetch_time: Duration,
}

/// The components of the callbacks `callback_ids` and of the link keys `keys`, read in one
/// snapshot of the period's current inputs (None: no link index of them at hand).
async fn components_in_snapshot(
    store: &Backend,
    period_id: i64,
    callback_ids: &[i64],
    keys: &[crate::domain::records::LinkKey],
    components: &dyn crate::store::LiveComponents,
) -> StoreResult<Option<crate::store::ComponentRows>> {
    let mut read = store.reader().begin().await?;
    if let Some(snapshot) = DIALECT.snapshot {
        sqlx::query(snapshot).execute(&mut *read).await?;
    }
    let (programme, code) = period_code(&mut read, period_id).await?;
    let (lists, files) = live_inputs(&mut read, period_id).await?;
    let found = read_components(
        &mut read,
        period_id,
        &programme,
        &code,
        lists,
        files,
        callback_ids,
        keys,
        components,
    )
    .await?;
    read.commit().await?;
    Ok(found.map(|r| r.rows))
}

/// The rows of the period's inputs linked, transitively, to the callbacks `seeds` (those
/// included): callbacks read, their link keys looked up, the rows found added, until no
/// new key turns up. None when the link index of these inputs is not at hand.
#[allow(clippy::too_many_arguments)]
async fn read_components(
    tx: &mut Tx,
    period_id: i64,
    programme: &str,
    code: &str,
    lists: Vec<crate::store::InputRef>,
    files: Vec<crate::store::InputRef>,
    seeds: &[i64],
    seed_keys: &[crate::domain::records::LinkKey],
    components: &dyn crate::store::LiveComponents,
) -> StoreResult<Option<ComponentRead>> {
    let started = Instant::now();
    let inputs_key = &key_of(&mut *tx, period_id, &lists, &files).await?;
    let mut rows = crate::store::ComponentRows {
        lists,
        files,
        ..Default::default()
    };
    let mut seen = LinkedSeen::default();
    for chunk in seeds.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("{} WHERE id IN (", callback_sql!("")));
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        qb.push(")");
        let found: Vec<CallbackRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
        for r in found {
            if seen.callback.insert(r.id) {
                rows.callbacks.push(r.into_stored()?);
            }
        }
    }
    let callbacks_time = started.elapsed();
    let mut known: std::collections::HashSet<crate::domain::records::LinkKey> = Default::default();
    let (mut rounds, mut keys_time, mut fetch_time) = (0, Duration::ZERO, Duration::ZERO);
    let mut seed_keys = seed_keys.to_vec();
    loop {
        let t = Instant::now();
        let new: Vec<_> = components
            .keys(&rows)
            .into_iter()
            .chain(seed_keys.drain(..))
            .filter(|k| known.insert(k.clone()))
            .collect();
        if new.is_empty() {
            break;
        }
        let Some(addresses) = components.addresses(period_id, inputs_key, &new) else {
            return Ok(None);
        };
        keys_time += t.elapsed();
        let t = Instant::now();
        fetch_linked(tx, programme, code, &new, &addresses, &mut rows, &mut seen).await?;
        fetch_time += t.elapsed();
        rounds += 1;
    }
    Ok(Some(ComponentRead {
        rows,
        rounds,
        callbacks_time,
        keys_time,
        fetch_time,
    }))
}

/// The changes of the callbacks in `dirty` (each with the state the cells counted) to the
/// period's cells: their components read, reconciled both ways; the cells they touch and
/// what those become. Reads only. None when the cells do not hold what the old state says
/// they count, or the link index is not at hand.
#[allow(clippy::too_many_arguments)]
async fn component_cells(
    tx: &mut Tx,
    period_id: i64,
    programme: &str,
    code: &str,
    lists: Vec<crate::store::InputRef>,
    files: Vec<crate::store::InputRef>,
    dirty: &HashMap<i64, Option<crate::store::CallbackState>>,
    components: &dyn crate::store::LiveComponents,
) -> StoreResult<Option<(Vec<String>, Vec<crate::store::LiveCellRow>)>> {
    let ids: Vec<i64> = dirty.keys().copied().collect();
    let Some(read) = read_components(
        tx,
        period_id,
        programme,
        code,
        lists,
        files,
        &ids,
        &[],
        components,
    )
    .await?
    else {
        return Ok(None);
    };
    let rows = read.rows;
    let t1 = Instant::now();
    let delta = components
        .delta(&rows, dirty)
        .map_err(|e| StoreError::Corrupt(format!("live figures: {e}")))?;
    let delta_time = t1.elapsed();
    let mut stored = Vec::new();
    for chunk in delta.touched.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT {LIVE_CELL_COLUMNS} FROM live_cells WHERE period_id = "
        ));
        qb.push_bind(period_id);
        qb.push(" AND cell_key IN (");
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        push_list(&mut qb, &refs);
        let found: Vec<LiveCellRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
        stored.extend(found.into_iter().map(crate::store::LiveCellRow::from));
    }
    let Some(cells) = (delta.apply)(stored) else {
        return Ok(None);
    };
    let ms = |d: Duration| d.as_millis() as u64;
    tracing::debug!(
        callbacks_ms = ms(read.callbacks_time),
        rounds = read.rounds,
        keys_ms = ms(read.keys_time),
        fetch_ms = ms(read.fetch_time),
        delta_ms = ms(delta_time),
        cells_ms = ms(t1.elapsed() - delta_time),
        list_rows = rows.list_rows.len(),
        payout_rows = rows.payout_rows.len(),
        callbacks = rows.callbacks.len(),
        touched = delta.touched.len(),
        "live figures: components read"
    );
    Ok(Some((delta.touched, cells)))
}

/// Replace the cells `touched` with `cells`.
async fn write_cells(
    tx: &mut Tx,
    period_id: i64,
    touched: &[String],
    cells: &[crate::store::LiveCellRow],
) -> StoreResult<()> {
    for chunk in touched.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("DELETE FROM live_cells WHERE period_id = ");
        qb.push_bind(period_id);
        qb.push(" AND cell_key IN (");
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        push_list(&mut qb, &refs);
        qb.build().execute(&mut **tx).await?;
    }
    insert_live_cells(tx, period_id, cells).await
}

#[derive(sqlx::FromRow)]
struct LiveChangeRecord {
    id: i64,
    callback_id: i64,
    before_status: Option<String>,
    before_reason: Option<String>,
    before_value_date: Option<chrono::NaiveDate>,
}

async fn live_changes(
    tx: &mut Tx,
    programme: &str,
    code: &str,
) -> StoreResult<Vec<LiveChangeRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, callback_id, before_status, before_reason, before_value_date \
         FROM live_changes WHERE programme = $1 AND period_code = $2 ORDER BY id",
    )
    .bind(programme)
    .bind(code)
    .fetch_all(&mut **tx)
    .await?)
}

/// The period's cells now stand for `inputs_key`, one version on.
async fn set_live_state(tx: &mut Tx, period_id: i64, inputs_key: &str) -> StoreResult<()> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT version FROM live_state WHERE period_id = $1")
            .bind(period_id)
            .fetch_optional(&mut **tx)
            .await?;
    sqlx::query("DELETE FROM live_state WHERE period_id = $1")
        .bind(period_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO live_state (period_id, inputs_key, version, refreshed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(period_id)
    .bind(inputs_key)
    .bind(version.unwrap_or(0) + 1)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// (inputs key, version) of the period's stored cells.
async fn live_version(conn: &mut Conn, period_id: i64) -> StoreResult<Option<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT inputs_key, version FROM live_state WHERE period_id = $1")
            .bind(period_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

async fn delete_changes(tx: &mut Tx, programme: &str, code: &str, up_to: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM live_changes WHERE programme = $1 AND period_code = $2 AND id <= $3")
        .bind(programme)
        .bind(code)
        .bind(up_to)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn before_state(c: &LiveChangeRecord) -> StoreResult<Option<crate::store::CallbackState>> {
    let Some(status) = c.before_status.as_deref() else {
        return Ok(None);
    };
    let status = crate::domain::status::PayoutStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("live change {}: status", c.id)))?;
    let value_date = c
        .before_value_date
        .ok_or_else(|| StoreError::Corrupt(format!("live change {}: value date", c.id)))?;
    Ok(Some(crate::store::CallbackState {
        status,
        reason: c.before_reason.clone(),
        value_date,
    }))
}

/// One live change per payout the group inserted or changed, with the state the live
/// figures count it as (none for a new one), in the callbacks' transaction.
async fn record_live_changes(
    tx: &mut Tx,
    slots: &[CallbackSlot],
    loaded: &HashMap<i64, crate::store::CallbackState>,
) -> StoreResult<()> {
    let mut rows = Vec::new();
    for s in slots.iter().filter(|s| s.inserted || s.updated) {
        let (Some(id), Ok(p)) = (s.id, &s.current) else {
            return Err(StoreError::Corrupt(
                "callback payout: changed without an id or a state".into(),
            ));
        };
        let before = if s.inserted { None } else { loaded.get(&id) };
        rows.push((p, id, before));
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO live_changes (programme, period_code, callback_id, before_status, \
             before_reason, before_value_date) ",
        );
        qb.push_values(chunk, |mut b, (p, id, before)| {
            b.push_bind(&p.programme)
                .push_bind(&p.period)
                .push_bind(*id)
                .push_bind(before.map(|b| b.status.as_str()))
                .push_bind(before.and_then(|b| b.reason.as_deref()))
                .push_bind(before.map(|b| b.value_date));
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
