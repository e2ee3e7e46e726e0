//! SQLite backend: one file, WAL journal. Writes go through a pool of exactly one
//! connection, so write transactions queue in the process instead of failing with
//! SQLITE_BUSY; reads use their own read-only pool and, under WAL, never wait for a writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::common::{BULK_PARAMS, Cell, Dialect, IdLookup, RefLookup};
use super::records::{
    BeneficiaryRecord, LIST_ENTRY_COLUMNS, LIST_ROW_COLUMNS, PAYOUT_ROW_COLUMNS, PayoutRecord,
};
use super::{SQLITE_MIGRATIONS, StoreError, StoreResult};

/// Another process (the CLI on the same file) may hold the write lock this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Writers queue for the one write connection; a 100,000-row upload takes about a second,
/// so this is generous without hanging a request forever.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(120);

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// `sqlite:path/to/file.db`, `sqlite://path` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // FULL: an acknowledged callback or upload survives power loss, not only a
            // killed process; group commit keeps it to one fsync per group.
            .synchronous(SqliteSynchronous::Full);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let folder = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = folder.filter(|_| !in_memory) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create the folder {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        let writer_options = if in_memory {
            options.clone()
        } else {
            options.clone().journal_mode(SqliteJournalMode::Wal)
        };
        // The write connection stays open: an in-memory database lives only as long as its
        // connection, and on a file it keeps the WAL and shared-memory files in place for
        // the read-only readers (which cannot create them where the folder is read-only).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(WRITE_QUEUE_TIMEOUT);
        let writer = writer.connect_with(writer_options).await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        // An in-memory database is private to its connection: reads share the writer.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self { reader, writer })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// IMMEDIATE takes SQLite's write lock at BEGIN, so a transaction that reads first
    /// (the audit head, the next version) cannot fail to upgrade if another process writes.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite has one writer: an upload's rows are written under the write lock.
    async fn begin_rows(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    async fn lock_writes(_tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }
}

/// SQLite plans an `IN` list as index probes on the (bank, ref) and payout keys.
const DIALECT: Dialect = Dialect {
    name: "sqlite",
    // A deferred transaction's reads see the snapshot of its first read (WAL mode).
    snapshot: None,
    // An online backup: one read transaction, so writers go on and the copy is consistent.
    backup_into: Some("VACUUM INTO $1"),
    // SQLite plans these queries well without statistics (its ANALYZE would scan them all).
    after_exception_rows: &[],
    seq_probe: false,
    payouts_by_ref: RefLookup {
        open: "SELECT id, bank_code, transaction_ref, period_code, programme, population_id, \
               account_number, beneficiary_name, amount, status, value_date, reason, unit_code, version \
               FROM callback_payouts \
               WHERE transaction_ref IN (",
        before_bank: ") AND bank_code = ",
        after_bank: "",
    },
    events_by_payout: IdLookup {
        open: "SELECT payout_id, version, content_sha256, answer_json FROM callback_events \
               WHERE payout_id IN (",
        close: ") ORDER BY payout_id, version",
    },
};

/// Append `rows` to `table` in the caller's transaction: multi-row INSERTs of as many
/// rows as SQLite's parameter limit allows, each full batch the same statement (prepared
/// once, cached by the connection).
async fn bulk_insert<'r, T>(
    tx: &mut Transaction<'static, Sqlite>,
    table: &str,
    columns: &[&str],
    rows: &'r [T],
    cells: impl Fn(&'r T, &mut Vec<Cell<'r>>),
) -> StoreResult<()> {
    let per_batch = (BULK_PARAMS / columns.len().max(1)).max(1);
    let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
    let mut line = Vec::with_capacity(columns.len());
    for chunk in rows.chunks(per_batch) {
        let mut qb: sqlx::QueryBuilder<Sqlite> = sqlx::QueryBuilder::new(head.clone());
        qb.push_values(chunk, |mut b, row| {
            line.clear();
            cells(row, &mut line);
            for cell in line.drain(..) {
                match cell {
                    Cell::Null => b.push_bind(None::<i64>),
                    Cell::Int(n) => b.push_bind(n),
                    Cell::Text(t) => b.push_bind(t),
                    Cell::Date(d) => b.push_bind(d),
                };
            }
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A list's rows in order, streamed from the query (never all held as records).
async fn for_each_list_row(
    pool: &SqlitePool,
    upload_id: i64,
    mut f: impl FnMut(BeneficiaryRecord) -> StoreResult<()>,
) -> StoreResult<()> {
    use futures_util::TryStreamExt;
    let sql = format!(
        "SELECT {LIST_ROW_COLUMNS} FROM beneficiary_rows WHERE upload_id = $1 ORDER BY seq"
    );
    let mut rows = sqlx::query_as::<_, BeneficiaryRecord>(sqlx::AssertSqlSafe(sql))
        .bind(upload_id)
        .fetch(pool);
    while let Some(r) = rows.try_next().await? {
        f(r)?;
    }
    Ok(())
}

/// A list's rows in order, lean, streamed.
async fn for_each_list_entry(
    pool: &SqlitePool,
    upload_id: i64,
    f: &mut (dyn FnMut(super::ListEntry) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    use futures_util::TryStreamExt;
    let sql = format!(
        "SELECT {LIST_ENTRY_COLUMNS} FROM beneficiary_rows WHERE upload_id = $1 ORDER BY seq"
    );
    let mut rows = sqlx::query_as::<_, super::ListEntry>(sqlx::AssertSqlSafe(sql))
        .bind(upload_id)
        .fetch(pool);
    while let Some(r) = rows.try_next().await? {
        f(r)?;
    }
    Ok(())
}

/// The rows of a period's payout files in use, by file and row, streamed.
async fn for_each_payout_row(
    pool: &SqlitePool,
    period_id: i64,
    mut f: impl FnMut(PayoutRecord) -> StoreResult<()>,
) -> StoreResult<()> {
    use futures_util::TryStreamExt;
    let sql = format!(
        "SELECT {PAYOUT_ROW_COLUMNS} FROM payout_rows r JOIN uploads u ON u.id = r.upload_id \
         WHERE u.period_id = $1 AND u.retired_at IS NULL ORDER BY r.upload_id, r.seq"
    );
    let mut rows = sqlx::query_as::<_, PayoutRecord>(sqlx::AssertSqlSafe(sql))
        .bind(period_id)
        .fetch(pool);
    while let Some(r) = rows.try_next().await? {
        f(r)?;
    }
    Ok(())
}

/// The shared `Store` implementation (shared.rs), compiled for this backend.
type Backend = SqliteStore;
type Db = sqlx::Sqlite;
// Loaded once per backend on purpose: each copy is compiled against this module's `Db`.
#[allow(clippy::duplicate_mod)]
#[path = "shared.rs"]
mod shared;
