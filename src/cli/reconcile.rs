//! `doisoat reconcile`: a list and bank files in, the report out (terminal, JSON, xlsx, csv).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use doisoat::domain::Lang;
use doisoat::domain::period::Targets;
use doisoat::report;
use doisoat::service::job::{self, JobInput, PayoutSource};

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
}

#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// Danh sách đối tượng (xlsx, xls, ods, csv); FILE#SHEET chọn trang tính.
    #[arg(long, value_name = "FILE")]
    beneficiaries: String,
    /// Kết quả chi của ngân hàng: [BANK=]FILE[#SHEET]; BANK khi tệp không có cột Ngân hàng.
    #[arg(long, value_name = "[BANK=]FILE", required = true)]
    payouts: Vec<String>,
    /// Kỳ chi trả, vd. 2024-Q3.
    #[arg(long, value_name = "LABEL")]
    period: Option<String>,
    /// In báo cáo dạng JSON / print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Ghi báo cáo: .xlsx (tổng hợp, theo xã, ngoại lệ, lỗi) hoặc .csv (ngoại lệ).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Sai lệch cho phép, đồng / absolute tolerance in đồng.
    #[arg(long, default_value = "0")]
    tolerance: Decimal,
    /// Chỉ tiêu % chung cho tỷ lệ có tài khoản và tỷ lệ chi không dùng tiền mặt (chỉ tiêu
    /// riêng của từng tỷ lệ bên dưới được ưu tiên) / a target for both rates.
    #[arg(long, value_name = "PCT")]
    target_pct: Option<Decimal>,
    /// Chỉ tiêu % tỷ lệ đối tượng có tài khoản / the account coverage's target.
    #[arg(long, value_name = "PCT")]
    account_coverage_target_pct: Option<Decimal>,
    /// Chỉ tiêu % tỷ lệ chi không dùng tiền mặt / the cashless rate's target.
    #[arg(long, value_name = "PCT")]
    cashless_rate_target_pct: Option<Decimal>,
    #[arg(long, value_enum, default_value = "vi")]
    lang: LangArg,
}

pub fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    if args.tolerance.is_sign_negative() {
        anyhow::bail!("--tolerance phải ≥ 0 / must be ≥ 0");
    }
    for (flag, target) in [
        ("--target-pct", args.target_pct),
        (
            "--account-coverage-target-pct",
            args.account_coverage_target_pct,
        ),
        ("--cashless-rate-target-pct", args.cashless_rate_target_pct),
    ] {
        if target.is_some_and(|t| doisoat::domain::period::target_bp(t).is_none()) {
            anyhow::bail!(
                "{flag}: {} / {}",
                doisoat::domain::period::TARGET_RULE_VI,
                doisoat::domain::period::TARGET_RULE_EN
            );
        }
    }
    let (list, list_sheet) = job::split_sheet(&args.beneficiaries);
    let payouts = args
        .payouts
        .iter()
        .map(|p| PayoutSource::parse(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let input = JobInput {
        beneficiaries: PathBuf::from(list),
        beneficiaries_sheet: list_sheet,
        payouts,
        period: args.period,
        tolerance: args.tolerance,
        targets: Targets {
            account_coverage: args.account_coverage_target_pct.or(args.target_pct),
            cashless_rate: args.cashless_rate_target_pct.or(args.target_pct),
        },
        as_of_year: doisoat::domain::dates::this_year(),
    };
    let lang = match args.lang {
        LangArg::Vi => Lang::Vi,
        LangArg::En => Lang::En,
    };

    // Hidden automatically when stderr is not a terminal. The files are streamed: the bar
    // follows the bytes read, then says what it is doing with them.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed}] {bar:30} {bytes}/{total_bytes} ({binary_bytes_per_sec}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let out = job::run(&input, &Bar(&bar));
    bar.finish_and_clear();
    let out = out?;

    if let Some(path) = &args.out {
        write_out(path, &out, lang)?;
    }
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &out.report).context("writing JSON")?;
        writeln!(stdout)?;
    } else {
        write!(
            stdout,
            "{}",
            report::text::summary(&out.report, &out.meta, lang)
        )?;
        if let Some(path) = &args.out {
            writeln!(
                stdout,
                "\nĐã ghi báo cáo / report written: {}",
                path.display()
            )?;
        }
    }
    Ok(())
}

/// The job's progress on the terminal.
struct Bar<'a>(&'a ProgressBar);

impl job::Progress for Bar<'_> {
    fn step(&self, what: &str) {
        self.0.set_message(what.to_owned());
    }
    fn read(&self, bytes: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(bytes);
    }
}

fn write_out(path: &std::path::Path, out: &job::JobOutput, lang: Lang) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let cannot_write = || format!("không ghi được / cannot write {}", path.display());
    match ext.as_str() {
        // Written as the exceptions are made: a national report is never held whole.
        "xlsx" => report::xlsx::write_report_file(
            path,
            &out.report,
            out.exception_rows(),
            out.exception_count(),
            &out.meta,
            lang,
            report::xlsx::ExceptionLayout::default(),
        )?,
        "csv" => {
            let file = std::fs::File::create(path).with_context(cannot_write)?;
            let mut w = std::io::BufWriter::new(file);
            report::csv::write_exceptions(&mut w, out.exception_rows(), lang)
                .and_then(|()| w.flush())
                .with_context(cannot_write)?;
        }
        "json" => {
            let bytes = serde_json::to_vec_pretty(&out.report)?;
            std::fs::write(path, bytes).with_context(cannot_write)?;
        }
        _ => anyhow::bail!(
            "--out phải là .xlsx, .csv hoặc .json / --out must end in .xlsx, .csv or .json"
        ),
    }
    Ok(())
}
