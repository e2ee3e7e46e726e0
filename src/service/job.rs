//! The whole reconciliation job on files: import, reconcile, assemble the report.
//! Shared by the CLI; callers decide how to show or store the result.

use std::path::PathBuf;

use anyhow::Context;
use rust_decimal::Decimal;

use crate::domain::banks::BankId;
use crate::domain::columns::{ListTable, PayoutTable};
use crate::domain::period::Targets;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::digest::Sha256Reader;
use crate::domain::payment_orders::PaymentOrders;
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::sha256_hex;
use crate::import::{
    ImportError, ImportOptions, Imported, Rows, import_beneficiaries_from, import_payouts_from,
};
use crate::recon::{ExceptionRow, Options, Reconciliation};
use crate::report::{InputFile, Report, ReportMeta};
use std::sync::Arc;

/// A payout file and the bank it belongs to when it has no bank column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutSource {
    pub bank: Option<BankId>,
    pub path: PathBuf,
    pub sheet: Option<String>,
}

impl PayoutSource {
    /// `[BANK=]FILE[#SHEET]`, as on the command line (`Agribank=ket_qua.xlsx`).
    pub fn parse(arg: &str) -> Result<Self, String> {
        let is_file = std::path::Path::new(split_sheet(arg).0).exists();
        let (bank, rest) = match arg.split_once('=') {
            Some((b, rest)) if !is_file => match BankId::resolve(b) {
                Some(bank) => (Some(bank), rest),
                None => {
                    return Err(format!(
                        "ngân hàng không xác định / unknown bank: '{b}' (vd./e.g. Agribank=ket_qua.xlsx)"
                    ));
                }
            },
            _ => (None, arg),
        };
        let (path, sheet) = split_sheet(rest);
        Ok(Self {
            bank,
            path: PathBuf::from(path),
            sheet,
        })
    }
}

/// `FILE#SHEET` → (FILE, Some(SHEET)).
pub fn split_sheet(arg: &str) -> (&str, Option<String>) {
    match arg.rsplit_once('#') {
        Some((p, s)) if !p.is_empty() && !s.is_empty() => (p, Some(s.to_owned())),
        _ => (arg, None),
    }
}

#[derive(Debug, Clone)]
pub struct JobInput {
    pub beneficiaries: PathBuf,
    pub beneficiaries_sheet: Option<String>,
    pub payouts: Vec<PayoutSource>,
    pub period: Option<String>,
    pub tolerance: Decimal,
    /// The targets the rates are compared with.
    pub targets: Targets,
    pub as_of_year: i32,
}

/// The job's result. Rows are kept as compact columns: a national month is millions of
/// rows.
pub struct JobOutput {
    pub list: Imported<BeneficiaryRow, ListTable>,
    /// The payout files as imported; their rows moved, in order, into `payout_rows`.
    pub payouts: Vec<Imported<PayoutRow, PayoutTable>>,
    pub payout_rows: PayoutTable,
    pub recon: Reconciliation,
    pub report: Report,
    pub meta: ReportMeta,
}

impl JobOutput {
    /// The exception list, made on demand (the JSON figures need none).
    pub fn exceptions(&self) -> Vec<ExceptionRow> {
        self.exception_rows().collect()
    }

    /// The exceptions one by one, for writers of any size.
    pub fn exception_rows(&self) -> impl Iterator<Item = ExceptionRow> + '_ {
        crate::recon::exception_rows(&self.list.rows, &self.payout_rows, &self.recon)
    }

    pub fn exception_count(&self) -> usize {
        crate::recon::exception_count(&self.recon)
    }
}

/// What the job tells whoever shows its progress (from the threads reading the files).
pub trait Progress: Sync {
    /// A new step begins ("Đọc danh sách …").
    fn step(&self, what: &str);
    /// Bytes of the input files read so far, of `total`: the files are streamed, so this
    /// is how far the import is.
    fn read(&self, _bytes: u64, _total: u64) {}
}

impl<F: Fn(&str) + Sync> Progress for F {
    fn step(&self, what: &str) {
        self(what)
    }
}

/// A file as the job reads it: counted for the progress display, with the other files
/// read at the same time (`read`: bytes of all the job's files so far).
struct Counted<'p> {
    file: std::fs::File,
    read: &'p AtomicU64,
    unreported: u64,
    total: u64,
    progress: &'p dyn Progress,
}

impl std::io::Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut self.file, buf)?;
        let read = self.read.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        self.unreported += n as u64;
        if self.unreported >= 1 << 20 || n == 0 {
            self.unreported = 0;
            self.progress.read(read, self.total);
        }
        Ok(n)
    }
}

type Input<'p> = Sha256Reader<Counted<'p>>;

/// Open a file to import it while hashing it: nothing holds it whole.
fn open<'p>(
    path: &std::path::Path,
    read: &'p AtomicU64,
    total: u64,
    progress: &'p dyn Progress,
) -> anyhow::Result<Input<'p>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("không đọc được tệp / cannot read {}", path.display()))?;
    Ok(Sha256Reader::new(Counted {
        file,
        read,
        unreported: 0,
        total,
        progress,
    }))
}

/// The payment orders `payment-orders` writes for this list and period, every bank's.
pub fn orders_of(
    period: &str,
    list: &ListTable,
    list_sha256: &str,
    sheet: Option<&str>,
) -> PaymentOrders {
    use crate::domain::payment_orders::{banks_of, list_key, period_key, plan};
    let (p, l) = (period_key(period), list_key(list_sha256, sheet));
    PaymentOrders::new(
        banks_of(list)
            .into_iter()
            .flat_map(|bank| plan(list, &p, &l, bank))
            .collect(),
    )
}

/// Whether the file is in a bank's own format doisoat reads (by its first bytes).
fn is_bank_format(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    let read = std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    read.is_ok()
        && crate::import::bank_format::recognise(&head)
            .is_some_and(|f| crate::import::bank::readable(&f))
}

/// Whether the file is an xlsx, xls or ods workbook (by its first bytes, as the importer
/// tells formats).
fn is_workbook(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    let read = std::fs::File::open(path).and_then(|f| f.take(512).read_to_end(&mut head));
    read.is_ok()
        && crate::import::source::sniff("", &head).is_ok_and(|f| f != crate::import::Format::Csv)
}

fn digest(reader: Input<'_>, path: &std::path::Path) -> anyhow::Result<String> {
    reader
        .finish()
        .with_context(|| format!("không đọc được tệp / cannot read {}", path.display()))
}

/// Run the job. `step` is told what is happening (for a progress display).
pub fn run(input: &JobInput, progress: &dyn Progress) -> anyhow::Result<JobOutput> {
    let path = &input.beneficiaries;
    // Sizes once, for the progress total.
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let total = size(path) + input.payouts.iter().map(|p| size(&p.path)).sum::<u64>();
    let read = AtomicU64::new(0);
    progress.step(&match input.payouts.len() {
        0 => format!("Đọc danh sách {}", path.display()),
        n => format!("Đọc danh sách {} và {n} tệp kết quả chi", path.display()),
    });
    // The list and the bank files are independent until they are reconciled. A workbook
    // list is read on one core: the bank files are then read meanwhile on a thread of
    // their own (one after another, in order). A CSV list is read on every core already,
    // and reading both at once only holds more at a time.
    let read_list = || -> anyhow::Result<(Imported<BeneficiaryRow, ListTable>, InputFile)> {
        let mut reader = open(path, &read, total, progress)?;
        let opts = ImportOptions {
            sheet: input.beneficiaries_sheet.clone(),
            ..ImportOptions::new(input.as_of_year)
        };
        let started = std::time::Instant::now();
        let list: Imported<BeneficiaryRow, ListTable> =
            import_beneficiaries_from(&path.display().to_string(), &mut reader, &opts)?;
        phase_done("list imported", list.rows.count(), started);
        let file = input_file("beneficiaries", &list, None, digest(reader, path)?);
        Ok((list, file))
    };
    let read_payouts = |orders: Option<Arc<PaymentOrders>>| -> anyhow::Result<Vec<BankRead<'_>>> {
        let mut out = Vec::new();
        for src in &input.payouts {
            let mut reader = open(&src.path, &read, total, progress)?;
            let opts = ImportOptions {
                sheet: src.sheet.clone(),
                default_bank: src.bank,
                orders: orders.clone(),
                ..ImportOptions::new(input.as_of_year)
            };
            let started = std::time::Instant::now();
            let imported: Imported<PayoutRow, PayoutTable> =
                match import_payouts_from(&src.path.display().to_string(), &mut reader, &opts) {
                    // Read again once the list has said whose accounts it pays.
                    Err(ImportError::NoBank { .. }) if src.bank.is_none() => {
                        out.push(BankRead::NeedsBank(src));
                        continue;
                    }
                    read => read?,
                };
            phase_done("payout file imported", imported.rows.count(), started);
            let file = input_file("payouts", &imported, src.bank, digest(reader, &src.path)?);
            out.push(BankRead::Read(Box::new((imported, file))));
        }
        Ok(out)
    };
    // A bank's answer in its own format (pain.002, camt, MT940) names the orders doisoat
    // wrote for the period (`payment-orders`) by their end-to-end references: those are
    // made from the period and the list, which is then read first.
    let with_orders = input
        .period
        .as_deref()
        .filter(|_| input.payouts.iter().any(|p| is_bank_format(&p.path)));
    let mut orders = None;
    let (list, bank_files) = if with_orders.is_none() && is_workbook(path) {
        std::thread::scope(|s| {
            let payouts = s.spawn(|| read_payouts(None));
            let list = read_list();
            let bank_files = payouts
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("bank files: the reading thread stopped")));
            (list, bank_files)
        })
    } else {
        match read_list() {
            Ok(list) => {
                if let Some(period) = with_orders {
                    orders = Some(Arc::new(orders_of(
                        period,
                        &list.0.rows,
                        &list.1.sha256,
                        list.0.sheet.as_deref(),
                    )));
                }
                let bank_files = read_payouts(orders.clone());
                (Ok(list), bank_files)
            }
            Err(e) => (Err(e), Ok(Vec::new())),
        }
    };
    // The list's error first, as when the files were read one after another.
    let (list, list_file) = list?;
    let mut inputs = vec![list_file];
    let mut payouts = Vec::new();
    let mut payout_rows = PayoutTable::default();
    for bank_file in bank_files? {
        let (mut imported, file) = match bank_file {
            BankRead::Read(done) => *done,
            BankRead::NeedsBank(src) => {
                let opts = ImportOptions {
                    sheet: src.sheet.clone(),
                    orders: orders.clone(),
                    ..ImportOptions::new(input.as_of_year)
                };
                let name = src.path.display().to_string();
                let file = std::fs::File::open(&src.path)
                    .with_context(|| format!("không đọc được tệp / cannot read {name}"))?;
                let sample = crate::import::sample_accounts(
                    &name,
                    crate::import::Input::Reader(std::io::BufReader::new(file)),
                    &opts,
                    super::ACCOUNTS_SAMPLED,
                )?;
                let (sampled, found) = banks_in_list(&list.rows, &sample.accounts);
                let Some(found) = crate::domain::banks::bank_by_accounts(sampled, &found) else {
                    return Err(ImportError::NoBank { file: name }.into());
                };
                let opts = ImportOptions {
                    default_bank: Some(found.bank),
                    ..opts
                };
                let mut reader = open(&src.path, &read, total, progress)?;
                let mut imported: Imported<PayoutRow, PayoutTable> =
                    import_payouts_from(&name, &mut reader, &opts)?;
                imported.notices.push(super::bank_inferred(&found));
                let file = input_file(
                    "payouts",
                    &imported,
                    Some(found.bank),
                    digest(reader, &src.path)?,
                );
                (imported, file)
            }
        };
        inputs.push(file);
        payout_rows.append(std::mem::take(&mut imported.rows));
        payouts.push(imported);
    }

    progress.step("Đối soát");
    let options = Options {
        tolerance: input.tolerance,
        targets: input.targets,
        adjustments: Default::default(),
        arrears: Default::default(),
    };
    let row_errors: Vec<_> = std::iter::once(&list.errors)
        .chain(payouts.iter().map(|p| &p.errors))
        .flatten()
        .cloned()
        .collect();
    let started = std::time::Instant::now();
    let (recon, report) =
        crate::report::figures(&list.rows, &payout_rows, &options, &inputs, row_errors);
    phase_done("reconciled", list.rows.count(), started);
    let meta = ReportMeta {
        period: input.period.clone(),
        generated_at: crate::domain::dates::report_time(chrono::Utc::now()),
        inputs,
        target_pct: input.targets.common(),
        account_coverage_target_pct: input.targets.account_coverage,
        cashless_rate_target_pct: input.targets.cashless_rate,
        tolerance: input.tolerance,
        report_sha256: serde_json::to_vec(&report).ok().map(|b| sha256_hex(&b)),
        unit: None,
        programme: None,
        signatures: None,
    };
    Ok(JobOutput {
        list,
        payouts,
        payout_rows,
        recon,
        report,
        meta,
    })
}

/// The debug log of a phase: rows, time, and the process's peak memory so far.
fn phase_done(what: &str, rows: usize, started: std::time::Instant) {
    // The readings are files under /proc: read them only for a log that is kept.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let (cpu_ms, faults) = cpu_and_faults();
    tracing::debug!(
        rows,
        ms = started.elapsed().as_millis() as u64,
        cpu_ms,
        faults,
        peak_mb = peak_mb(),
        "{what}"
    );
}

/// The process's CPU time so far (user + system, ms) and its page faults (each a fresh page
/// the kernel had to find and zero), for the debug log (Linux; 0 elsewhere): against the
/// wall time, how well a phase used the cores and how much fresh memory it touched.
fn cpu_and_faults() -> (u64, u64) {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command's closing parenthesis: minflt is field 10, utime and
            // stime 14 and 15 (in ticks of 10 ms).
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            Some(((n(11)? + n(12)?) * 10, n(7)?))
        })
        .unwrap_or((0, 0))
}

/// The process's peak resident memory so far, in MB, for the debug log (Linux; 0 elsewhere).
fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// A bank file read, or one naming no bank to read once the list has said whose accounts
/// it pays.
enum BankRead<'a> {
    Read(Box<(Imported<PayoutRow, PayoutTable>, InputFile)>),
    NeedsBank(&'a PayoutSource),
}

/// The banks the list gives these accounts (distinct, compared without leading zeros):
/// how many accounts were looked at, and per bank how many of them it holds.
fn banks_in_list(list: &ListTable, accounts: &[String]) -> (u64, Vec<(BankId, u64)>) {
    use crate::domain::records::ListRows;
    use std::collections::{HashMap, HashSet};
    let keys: HashSet<&str> = accounts
        .iter()
        .map(|a| crate::recon::account_key(a))
        .collect();
    let mut at: HashMap<BankId, HashSet<&str>> = HashMap::new();
    for i in 0..list.len() {
        if let (Some(a), Some(bank)) = (list.account(i), list.bank(i)) {
            let key = crate::recon::account_key(a);
            if let Some(k) = keys.get(key) {
                at.entry(bank).or_default().insert(k);
            }
        }
    }
    let mut found: Vec<(BankId, u64)> = at
        .into_iter()
        .map(|(bank, accounts)| (bank, accounts.len() as u64))
        .collect();
    found.sort_by_key(|&(bank, n)| (std::cmp::Reverse(n), bank.code()));
    (keys.len() as u64, found)
}

fn input_file<T: crate::import::Drafted, R: Rows<T>>(
    role: &str,
    imp: &Imported<T, R>,
    bank: Option<BankId>,
    sha256: String,
) -> InputFile {
    InputFile {
        role: role.to_owned(),
        name: imp.file.to_string(),
        sheet: imp.sheet.clone(),
        bank,
        sha256,
        data_rows: imp.data_rows,
        accepted_rows: imp.rows.count(),
        rejected_rows: imp.rejected_rows,
        control_total: imp.control_total.clone(),
        notices: imp.notices.clone(),
        unit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the files are read together (a workbook list) or one after another (CSV),
    /// a broken list is the error reported, as it always was, whatever the bank files.
    #[test]
    fn the_list_error_comes_first_whichever_way_files_are_read() {
        let dir = std::env::temp_dir().join(format!("doisoat-job-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let workbook = dir.join("danh_sach_hong.xlsx");
        let text = dir.join("danh_sach_rong.csv");
        let written = std::fs::write(&workbook, b"PK\x03\x04 not a zip at all")
            .and_then(|()| std::fs::write(&text, b""));
        assert!(written.is_ok(), "{written:?}");
        assert!(is_workbook(&workbook) && !is_workbook(&text));
        for list in [&workbook, &text] {
            let input = JobInput {
                beneficiaries: list.clone(),
                beneficiaries_sheet: None,
                payouts: vec![PayoutSource {
                    bank: None,
                    path: dir.join("khong_co.csv"),
                    sheet: None,
                }],
                period: None,
                tolerance: Decimal::ZERO,
                targets: Targets::default(),
                as_of_year: 2026,
            };
            let err = run(&input, &|_: &str| {}).err().map(|e| format!("{e:#}"));
            let name = list.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            assert!(err.as_deref().is_some_and(|e| e.contains(name)), "{err:?}");
            assert!(
                !err.as_deref().is_some_and(|e| e.contains("khong_co")),
                "{err:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn payout_argument_forms() {
        let p = PayoutSource::parse("Agribank=ket_qua.xlsx").ok();
        assert_eq!(
            p.as_ref().and_then(|p| p.bank).map(|b| b.code()),
            Some("VBA")
        );
        assert_eq!(p.map(|p| p.path), Some(PathBuf::from("ket_qua.xlsx")));
        let p = PayoutSource::parse("data/kq.xlsx#Sheet2").ok();
        assert_eq!(p.as_ref().and_then(|p| p.bank), None);
        assert_eq!(p.and_then(|p| p.sheet).as_deref(), Some("Sheet2"));
        assert!(PayoutSource::parse("NoSuchBank=x.xlsx").is_err());
        // An existing file whose name has '=' is a file, not BANK=FILE.
        let dir = tempfile::tempdir().ok();
        let odd = dir
            .as_ref()
            .map(|d| d.path().join("ky=9.csv"))
            .unwrap_or_default();
        assert!(std::fs::write(&odd, "x").is_ok());
        let p = PayoutSource::parse(&odd.display().to_string()).ok();
        assert_eq!(p.map(|p| p.path), Some(odd));
    }
}
