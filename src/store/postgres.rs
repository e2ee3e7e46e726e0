//! PostgreSQL backend. Every write transaction first takes one transaction-scoped advisory
//! lock, so writers are serialized like SQLite's single writer: the audit chain head, the
//! next list version and the "same file already stored" check are read under the lock.
//! Writers use their own small pool: writers queued on the lock then hold at most that
//! many connections, and reads (and /readyz) never wait behind a burst of uploads.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::common::{Cell, Dialect, IdLookup, RefLookup, copy_line};
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
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// One index lookup per reference. An IN list, or a plain LATERAL join (which the planner
/// flattens into a hash join), may be planned as a scan of the bank's whole table while its
/// statistics lag behind a burst of callbacks; LIMIT 1 (the key is unique) keeps the
/// subquery a per-reference index probe whatever the statistics say, and OFFSET 0 is the
/// same planner fence for events (a payout has several).
const DIALECT: Dialect = Dialect {
    name: "postgres",
    backup_into: None,
    after_exception_rows: &["VACUUM (ANALYZE) run_exceptions, run_exception_flags"],
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

/// The shared `Store` implementation (shared.rs), compiled for this backend.
type Backend = PgStore;
type Db = sqlx::Postgres;
// Loaded once per backend on purpose: each copy is compiled against this module's `Db`.
#[allow(clippy::duplicate_mod)]
#[path = "shared.rs"]
mod shared;
