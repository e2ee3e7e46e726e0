//! The commands of `doisoat`: parse the command line, set up logging, dispatch.

//! One module per command: `reconcile`, `serve` (and migrate, healthcheck, the store
//! setup), `token`, `audit`, `fixtures` (the test-data generator, which lives here rather
//! than in the library because only this command uses it).

mod audit;
mod fixtures;
mod orders;
mod reconcile;
mod serve;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use doisoat::config::LogFormat;

#[derive(Parser)]
#[command(
    name = "doisoat",
    version,
    about = "Đối soát chi trả an sinh xã hội không dùng tiền mặt / cashless welfare payment reconciliation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Đối soát danh sách chi trả với kết quả chi của ngân hàng / reconcile a list with bank results.
    Reconcile(reconcile::ReconcileArgs),
    /// Lập lệnh chi cho một ngân hàng (pain.001 hoặc bảng kê xlsx) / write one bank's
    /// payment orders (pain.001 XML, or the xlsx "bảng kê chi trả").
    PaymentOrders(orders::OrdersArgs),
    /// Chạy dịch vụ HTTP / run the HTTP service (DATABASE_URL, DOISOAT_BIND, …).
    Serve,
    /// Tạo/cập nhật lược đồ cơ sở dữ liệu / run the database migrations and exit.
    Migrate,
    /// Kiểm tra dịch vụ đang chạy (cho Docker HEALTHCHECK) / probe GET /healthz on DOISOAT_BIND's port.
    Healthcheck,
    /// Mã truy cập API / API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Nhật ký kiểm toán / audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Sao lưu cơ sở dữ liệu SQLite khi dịch vụ đang chạy / an online backup of the SQLite
    /// database into a new file (PostgreSQL: pg_dump, see the README).
    Backup {
        /// Tệp sao lưu (chưa tồn tại) / the backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sinh bộ dữ liệu mẫu cấp tỉnh (xác định) / write the deterministic province-size test case.
    Fixtures {
        /// Thư mục ghi tệp / output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Nhân số lượng / multiply every count (1 = the 26,794-beneficiary province).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Ghi bộ tệp mẫu nhỏ (như trong fixtures/) thay vì bộ cấp tỉnh / write the small samples instead.
        #[arg(long)]
        sample: bool,
        /// Ghi tháng chi trả toàn quốc (2 tệp CSV phẳng) / write the national month: two flat CSVs.
        #[arg(long, conflicts_with = "sample")]
        national: bool,
        /// Số người hưởng của bộ toàn quốc / beneficiaries in the national month.
        #[arg(long, requires = "national", default_value_t = fixtures::NATIONAL_PEOPLE)]
        people: u64,
    },
}

/// Parse the command line and run the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Reconcile(args) => {
            // The reader's own notes (calamine's, in English) are not the user's business:
            // what matters about a file is in our messages.
            doisoat::telemetry::init(LogFormat::Text, "warn,calamine=error");
            reconcile::run(args)
        }
        Command::PaymentOrders(args) => {
            doisoat::telemetry::init(LogFormat::Text, "warn,calamine=error");
            orders::run(args)
        }
        Command::Fixtures {
            out,
            scale,
            sample,
            national,
            people,
        } => {
            if national {
                fixtures::run_national(&out, people)
            } else {
                fixtures::run(&out, scale, sample)
            }
        }
        Command::Serve => serve::with_store(|config, store| async move {
            doisoat::server::serve(config, store)
                .await
                .context("serving HTTP")
        }),
        Command::Migrate => serve::with_store(|_, store| async move {
            println!(
                "Đã cập nhật lược đồ / migrations applied ({})",
                store.backend()
            );
            Ok(())
        }),
        Command::Healthcheck => serve::healthcheck(),
        Command::Token(cmd) => serve::with_store(|_, store| token::run(cmd, store)),
        Command::Audit(audit::AuditCommand::Verify) => {
            serve::with_store(|_, store| audit::verify(store))
        }
        Command::Backup { out } => serve::with_store(|_, store| async move {
            anyhow::ensure!(
                !out.exists(),
                "{} đã có; chọn tệp mới / already exists; choose a new file",
                out.display()
            );
            store
                .backup_to(&out)
                .await
                .with_context(|| format!("backing up to {}", out.display()))?;
            println!("Đã sao lưu / backed up to {}", out.display());
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Lỗi / error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
