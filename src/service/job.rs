//! The whole reconciliation job on files: import, reconcile, assemble the report.
//! Shared by the CLI; callers decide how to show or store the result.

use std::path::PathBuf;

use anyhow::Context;
use rust_decimal::Decimal;

use crate::domain::banks::BankId;
use crate::domain::columns::{ListTable, PayoutTable};
use crate::domain::digest::Sha256Reader;
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::sha256_hex;
use crate::import::{
    ImportOptions, Imported, Rows, import_beneficiaries_from, import_payouts_from,
};
use crate::recon::{ExceptionRow, Options, Reconciliation};
use crate::report::{InputFile, Report, ReportMeta};

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
    pub target_pct: Option<Decimal>,
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

/// What the job tells whoever shows its progress.
pub trait Progress {
    /// A new step begins ("Đọc danh sách …").
    fn step(&self, what: &str);
    /// Bytes of the input files read so far, of `total`: the files are streamed, so this
    /// is how far the import is.
    fn read(&self, _bytes: u64, _total: u64) {}
}

impl<F: Fn(&str)> Progress for F {
    fn step(&self, what: &str) {
        self(what)
    }
}

/// A file as the job reads it: counted for the progress display.
struct Counted<'p> {
    file: std::fs::File,
    read: u64,
    reported: u64,
    total: u64,
    progress: &'p dyn Progress,
}

impl std::io::Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut self.file, buf)?;
        self.read += n as u64;
        if self.read - self.reported >= 1 << 20 || n == 0 {
            self.reported = self.read;
            self.progress.read(self.read, self.total);
        }
        Ok(n)
    }
}

type Input<'p> = Sha256Reader<Counted<'p>>;

/// Open a file to import it while hashing it: nothing holds it whole. `done` bytes of
/// `total` were read before it.
fn open<'p>(
    path: &std::path::Path,
    done: u64,
    total: u64,
    progress: &'p dyn Progress,
) -> anyhow::Result<Input<'p>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("không đọc được tệp / cannot read {}", path.display()))?;
    Ok(Sha256Reader::new(Counted {
        file,
        read: done,
        reported: done,
        total,
        progress,
    }))
}

fn digest(reader: Input<'_>, path: &std::path::Path) -> anyhow::Result<String> {
    reader
        .finish()
        .with_context(|| format!("không đọc được tệp / cannot read {}", path.display()))
}

/// Run the job. `step` is told what is happening (for a progress display).
pub fn run(input: &JobInput, progress: &dyn Progress) -> anyhow::Result<JobOutput> {
    let mut inputs = Vec::new();
    let path = &input.beneficiaries;
    // Sizes once, for the progress total and where each file starts in it.
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let list_size = size(path);
    let payout_sizes: Vec<u64> = input.payouts.iter().map(|p| size(&p.path)).collect();
    let total = list_size + payout_sizes.iter().sum::<u64>();
    let mut done = 0;
    progress.step(&format!("Đọc danh sách {}", path.display()));
    let mut reader = open(path, done, total, progress)?;
    let opts = ImportOptions {
        sheet: input.beneficiaries_sheet.clone(),
        ..ImportOptions::new(input.as_of_year)
    };
    let started = std::time::Instant::now();
    let list: Imported<BeneficiaryRow, ListTable> =
        import_beneficiaries_from(&path.display().to_string(), &mut reader, &opts)?;
    phase_done("list imported", list.rows.count(), started);
    inputs.push(input_file(
        "beneficiaries",
        &list,
        None,
        digest(reader, path)?,
    ));
    done += list_size;

    let mut payouts = Vec::new();
    let mut payout_rows = PayoutTable::default();
    for (src, src_size) in input.payouts.iter().zip(payout_sizes) {
        progress.step(&format!("Đọc kết quả chi {}", src.path.display()));
        let mut reader = open(&src.path, done, total, progress)?;
        let opts = ImportOptions {
            sheet: src.sheet.clone(),
            default_bank: src.bank,
            ..ImportOptions::new(input.as_of_year)
        };
        let started = std::time::Instant::now();
        let mut imported: Imported<PayoutRow, PayoutTable> =
            import_payouts_from(&src.path.display().to_string(), &mut reader, &opts)?;
        phase_done("payout file imported", imported.rows.count(), started);
        inputs.push(input_file(
            "payouts",
            &imported,
            src.bank,
            digest(reader, &src.path)?,
        ));
        done += src_size;
        payout_rows.append(std::mem::take(&mut imported.rows));
        payouts.push(imported);
    }

    progress.step("Đối soát");
    let options = Options {
        tolerance: input.tolerance,
        target_pct: input.target_pct,
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
        target_pct: input.target_pct,
        tolerance: input.tolerance,
        report_sha256: serde_json::to_vec(&report).ok().map(|b| sha256_hex(&b)),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
