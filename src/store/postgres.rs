//! PostgreSQL backend. Every write transaction first takes one transaction-scoped advisory
//! lock, so writers are serialized like SQLite's single writer: the audit chain head, the
//! next list version and the "same file already stored" check are read under the lock.
//! Writers use their own small pool: writers queued on the lock then hold at most that
//! many connections, and reads (and /readyz) never wait behind a burst of uploads.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::common::{Cell, CopyLines, Dialect, IdLookup, RefLookup, copy_fields, copy_line};
use super::records::{
    BeneficiaryRecord, LIST_ENTRY_COLUMNS, LIST_ROW_COLUMNS, PAYOUT_ROW_COLUMNS, PayoutRecord,
};
use super::{POSTGRES_MIGRATIONS, StoreResult};

/// Key of the write lock ("doisoat" in ASCII); advisory locks are per database.
const WRITE_LOCK: i64 = 0x0064_6f69_736f_6174;

/// Writes serialize on the lock anyway; two connections let the next writer be waiting
/// on the lock (not on connecting) when the current one commits.
const WRITE_CONNECTIONS: u32 = 2;
/// How long a writer may queue behind others; a 100,000-row upload takes a few seconds.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(120);

pub struct PgStore {
    reader: PgPool,
    writer: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let reader = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&reader).await?;
        let writer = PgPoolOptions::new()
            .max_connections(WRITE_CONNECTIONS)
            .acquire_timeout(WRITE_QUEUE_TIMEOUT)
            .connect(url)
            .await?;
        Ok(Self { reader, writer })
    }

    fn reader(&self) -> &PgPool {
        &self.reader
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.writer.begin().await?;
        Self::lock_writes(&mut tx).await?;
        Ok(tx)
    }

    /// A transaction for an upload's rows, written while its file is still being read:
    /// without the write lock (its rows are invisible until it commits), on a connection
    /// of the read pool so it holds none of the writers' two. `lock_writes` takes the lock
    /// for its final step.
    async fn begin_rows(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.reader.begin().await?)
    }

    async fn lock_writes(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// One index lookup per reference. An IN list, or a plain LATERAL join (which the planner
/// flattens into a hash join), may be planned as a scan of the bank's whole table while its
/// statistics lag behind a burst of callbacks; LIMIT 1 (the key is unique) keeps the
/// subquery a per-reference index probe whatever the statistics say, and OFFSET 0 is the
/// same planner fence for events (a payout has several).
const DIALECT: Dialect = Dialect {
    name: "postgres",
    snapshot: Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
    backup_into: None,
    after_exception_rows: &["VACUUM (ANALYZE) run_exceptions, run_exception_flags"],
    seq_probe: true,
    payouts_by_ref: RefLookup {
        open: "SELECT c.id, c.bank_code, c.transaction_ref, c.period_code, c.programme, c.population_id, \
               c.account_number, c.beneficiary_name, c.amount, c.status, c.value_date, c.reason, \
               c.unit_code, c.version FROM (VALUES ",
        before_bank: ") AS r (tref) CROSS JOIN LATERAL (SELECT * FROM callback_payouts \
                      WHERE bank_code = ",
        after_bank: " AND transaction_ref = r.tref LIMIT 1) AS c",
    },
    events_by_payout: IdLookup {
        open: "SELECT e.payout_id, e.version, e.content_sha256, e.answer_json FROM (VALUES ",
        close: ") AS r (id) CROSS JOIN LATERAL (SELECT * FROM callback_events \
                WHERE payout_id = r.id OFFSET 0) AS e ORDER BY e.payout_id, e.version",
    },
};

/// Bytes of COPY data sent per message.
const COPY_CHUNK: usize = 1 << 20;

/// Append `rows` to `table` with `COPY … FROM STDIN` (text format) in the caller's
/// transaction: PostgreSQL's own bulk path, a megabyte of lines per message.
async fn bulk_insert<'r, T>(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
    columns: &[&str],
    rows: &'r [T],
    cells: impl Fn(&'r T, &mut Vec<Cell<'r>>),
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut copy = (**tx).copy_in_raw(&sql).await?;
    let mut buf = Vec::with_capacity(COPY_CHUNK + 4096);
    let mut line = Vec::with_capacity(columns.len());
    for row in rows {
        line.clear();
        cells(row, &mut line);
        copy_line(&line, &mut buf);
        if buf.len() >= COPY_CHUNK {
            if let Err(e) = copy.send(std::mem::take(&mut buf)).await {
                let _ = copy.abort(e.to_string()).await;
                return Err(e.into());
            }
            buf.reserve(COPY_CHUNK + 4096);
        }
    }
    if !buf.is_empty()
        && let Err(e) = copy.send(buf).await
    {
        let _ = copy.abort(e.to_string()).await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

/// Every row `select` returns, read with `COPY (…) TO STDOUT` (text format): PostgreSQL's
/// bulk path out, without a decode per column; `row` gets each line's fields. COPY takes
/// no parameters: callers build `select` from integers only.
async fn bulk_select(
    pool: &PgPool,
    select: &str,
    mut row: impl FnMut(&mut Vec<Option<String>>) -> StoreResult<()>,
) -> StoreResult<()> {
    use futures_util::TryStreamExt;
    let mut conn = pool.acquire().await?;
    let read = async {
        let mut out = conn
            .copy_out_raw(&format!("COPY ({select}) TO STDOUT"))
            .await?;
        let mut lines = CopyLines::default();
        let mut fields = Vec::new();
        while let Some(chunk) = out.try_next().await? {
            lines.feed(&chunk, |l| {
                copy_fields(l, &mut fields)?;
                row(&mut fields)
            })?;
        }
        lines.finish()
    }
    .await;
    if read.is_err() {
        // Stopped mid-COPY: the connection may still have output queued; it is not reused.
        let _ = conn.close().await;
    }
    read
}

/// A list's rows in order.
async fn for_each_list_row(
    pool: &PgPool,
    upload_id: i64,
    mut f: impl FnMut(BeneficiaryRecord) -> StoreResult<()>,
) -> StoreResult<()> {
    let select = format!(
        "SELECT {LIST_ROW_COLUMNS} FROM beneficiary_rows WHERE upload_id = {upload_id} ORDER BY seq"
    );
    bulk_select(pool, &select, |fields| {
        f(BeneficiaryRecord::from_copy(fields)?)
    })
    .await
}

/// A list's rows in order, lean (one COPY).
async fn for_each_list_entry(
    pool: &PgPool,
    upload_id: i64,
    f: &mut (dyn FnMut(super::ListEntry) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    let select = format!(
        "SELECT {LIST_ENTRY_COLUMNS} FROM beneficiary_rows WHERE upload_id = {upload_id} ORDER BY seq"
    );
    bulk_select(pool, &select, |fields| {
        f(super::ListEntry::from_copy(fields)?)
    })
    .await
}

/// The rows of a period's payout files in use, by file and row.
async fn for_each_payout_row(
    pool: &PgPool,
    period_id: i64,
    mut f: impl FnMut(PayoutRecord) -> StoreResult<()>,
) -> StoreResult<()> {
    // The date as ISO text whatever the session's DateStyle.
    let columns = PAYOUT_ROW_COLUMNS.replace("r.value_date", "to_char(r.value_date, 'YYYY-MM-DD')");
    let select = format!(
        "SELECT {columns} FROM payout_rows r JOIN uploads u ON u.id = r.upload_id \
         WHERE u.period_id = {period_id} AND u.retired_at IS NULL ORDER BY r.upload_id, r.seq"
    );
    bulk_select(pool, &select, |fields| f(PayoutRecord::from_copy(fields)?)).await
}

/// The shared `Store` implementation (shared.rs), compiled for this backend.
type Backend = PgStore;
type Db = sqlx::Postgres;
// Loaded once per backend on purpose: each copy is compiled against this module's `Db`.
#[allow(clippy::duplicate_mod)]
#[path = "shared.rs"]
mod shared;
