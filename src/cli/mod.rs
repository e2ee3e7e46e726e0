//! The commands of `doisoat`: parse the command line, set up logging, dispatch.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use std::sync::Arc;

use doisoat::config::{Config, LogFormat};
use doisoat::domain::access::Role;
use doisoat::domain::banks::BankId;
use doisoat::job::{self, JobInput, PayoutSource};
use doisoat::report::{self, Lang};
use doisoat::store::{NewToken, Store};

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
    Reconcile(ReconcileArgs),
    /// Chạy dịch vụ HTTP / run the HTTP service (DATABASE_URL, DOISOAT_BIND, …).
    Serve,
    /// Tạo/cập nhật lược đồ cơ sở dữ liệu / run the database migrations and exit.
    Migrate,
    /// Kiểm tra dịch vụ đang chạy (cho Docker HEALTHCHECK) / probe GET /healthz on DOISOAT_BIND's port.
    Healthcheck,
    /// Mã truy cập API / API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Nhật ký kiểm toán / audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
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
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Tạo mã (in ra một lần) / create a token (printed once, as `token: …`).
    Create {
        #[arg(long)]
        role: String,
        /// Ngân hàng của mã vai trò bank / the bank of a `bank` token.
        #[arg(long)]
        bank: Option<String>,
        #[arg(long)]
        name: String,
    },
    /// Thu hồi mã theo tên / revoke a token by name.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// Liệt kê mã / list tokens (never their secrets).
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Kiểm tra chuỗi băm / re-check the hash chain; names the first broken entry.
    Verify,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
}

#[derive(clap::Args)]
struct ReconcileArgs {
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
    /// Chỉ tiêu %, so với tỷ lệ có tài khoản và tỷ lệ chi không dùng tiền mặt.
    #[arg(long, value_name = "PCT")]
    target_pct: Option<Decimal>,
    #[arg(long, value_enum, default_value = "vi")]
    lang: LangArg,
}

/// Parse the command line and run the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Reconcile(args) => {
            // The reader's own notes (calamine's, in English) are not the user's business:
            // what matters about a file is in our messages.
            doisoat::telemetry::init(LogFormat::Text, "warn,calamine=error");
            reconcile(args)
        }
        Command::Fixtures { out, scale, sample } => fixtures(&out, scale, sample),
        Command::Serve => service(|config, store| async move {
            doisoat::server::serve(config, store)
                .await
                .context("serving HTTP")
        }),
        Command::Migrate => service(|_, store| async move {
            println!(
                "Đã cập nhật lược đồ / migrations applied ({})",
                store.backend()
            );
            Ok(())
        }),
        Command::Healthcheck => healthcheck(),
        Command::Token(cmd) => service(|_, store| token(cmd, store)),
        Command::Audit(AuditCommand::Verify) => service(|_, store| audit_verify(store)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Lỗi / error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Commands that need the configured store: config, logging, runtime, connect (which
/// migrates), then the command.
fn service<F, Fut>(run: F) -> anyhow::Result<()>
where
    F: FnOnce(Config, Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::from_env()?;
    doisoat::telemetry::init(config.log_format, "info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = doisoat::store::connect(&config.database_url)
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    doisoat::config::redacted_url(&config.database_url)
                )
            })?;
        run(config, store).await
    })
}

/// A raw HTTP/1.1 GET on loopback: the runtime image needs no curl.
fn healthcheck() -> anyhow::Result<()> {
    use std::io::{Read, Write as _};
    let config = Config::from_env()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], config.bind.port()));
    let mut conn = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    conn.set_read_timeout(Some(Duration::from_secs(3)))?;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head)?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("healthz: {}", String::from_utf8_lossy(&head))
    }
}

async fn token(cmd: TokenCommand, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "admin".into())
    );
    match cmd {
        TokenCommand::Create { role, bank, name } => {
            let role = Role::parse(&role)
                .with_context(|| format!("vai trò không hợp lệ / unknown role '{role}' (admin, accountant, auditor, bank)"))?;
            let bank_code = match (role, bank) {
                (Role::Bank, Some(b)) => Some(
                    BankId::resolve(&b)
                        .with_context(|| format!("ngân hàng không xác định / unknown bank '{b}'"))?
                        .code()
                        .to_owned(),
                ),
                (Role::Bank, None) => {
                    anyhow::bail!("vai trò bank cần --bank / a bank token needs --bank")
                }
                (_, Some(_)) => anyhow::bail!(
                    "--bank chỉ dùng cho vai trò bank / --bank is for bank tokens only"
                ),
                (_, None) => None,
            };
            let secret = doisoat::tokens::generate();
            // Banks sign their callbacks with a secret issued alongside their token.
            let webhook = (role == Role::Bank).then(doisoat::webhook::WebhookSecret::generate);
            let new = NewToken {
                name: name.trim().to_owned(),
                role,
                bank_code,
                token_hash: doisoat::tokens::hash(&secret),
                webhook_secret: webhook.as_ref().map(|(_, text)| text.clone()),
            };
            let info = store.create_token(new, &actor).await?;
            println!("token: {secret}");
            if let Some((_, text)) = &webhook {
                println!("webhook_secret: {text}");
            }
            eprintln!(
                "Đã tạo mã '{}' (vai trò {}); chỉ hiện một lần / created; shown once.",
                info.name,
                info.role.as_str()
            );
        }
        TokenCommand::Revoke { name } => {
            if !store.revoke_token(&name, &actor).await? {
                anyhow::bail!(
                    "không có mã đang hoạt động tên '{name}' / no active token named '{name}'"
                );
            }
            println!("Đã thu hồi / revoked: {name}");
        }
        TokenCommand::List => {
            for t in store.list_tokens().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.role.as_str(),
                    t.bank_code.as_deref().unwrap_or("-"),
                    t.created_at.format("%d/%m/%Y %H:%M"),
                    t.revoked_at.map_or("active".to_owned(), |r| format!(
                        "revoked {}",
                        r.format("%d/%m/%Y %H:%M")
                    ))
                );
            }
        }
    }
    Ok(())
}

async fn audit_verify(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let entries = doisoat::service::audit_trail(store.as_ref()).await?;
    match doisoat::audit::verify(&entries) {
        Ok(n) => {
            println!("Chuỗi nhật ký hợp lệ / audit chain intact: {n} mục / entries");
            Ok(())
        }
        Err(b) => anyhow::bail!(
            "chuỗi nhật ký bị phá tại mục / audit chain broken at entry {}: {}",
            b.seq,
            b.reason
        ),
    }
}

fn reconcile(args: ReconcileArgs) -> anyhow::Result<()> {
    if args.tolerance.is_sign_negative() {
        anyhow::bail!("--tolerance phải ≥ 0 / must be ≥ 0");
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
        target_pct: args.target_pct,
        as_of_year: doisoat::domain::dates::this_year(),
    };
    let lang = match args.lang {
        LangArg::Vi => Lang::Vi,
        LangArg::En => Lang::En,
    };

    // Hidden automatically when stderr is not a terminal.
    let bar = ProgressBar::new(input.payouts.len() as u64 + 2);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let out = job::run(&input, &|msg| {
        bar.set_message(msg.to_owned());
        bar.inc(1);
    });
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

fn write_out(path: &std::path::Path, out: &job::JobOutput, lang: Lang) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "xlsx" => report::xlsx::write_report(&out.report, &out.exceptions, &out.meta, lang)?,
        "csv" => {
            let mut buf = Vec::new();
            report::csv::write_exceptions(&mut buf, &out.exceptions, lang)?;
            buf
        }
        "json" => serde_json::to_vec_pretty(&out.report)?,
        _ => anyhow::bail!(
            "--out phải là .xlsx, .csv hoặc .json / --out must end in .xlsx, .csv or .json"
        ),
    };
    std::fs::write(path, bytes)
        .with_context(|| format!("không ghi được / cannot write {}", path.display()))
}

fn fixtures(out: &std::path::Path, scale: u32, sample: bool) -> anyhow::Result<()> {
    let files = if sample {
        doisoat::fixtures::write_sample_files(out)?
    } else {
        let case = doisoat::fixtures::province_case(scale.max(1));
        doisoat::fixtures::write_province_files(&case, out)?
    };
    println!("Đã ghi / written to {}:", out.display());
    for f in &files {
        println!("  {}", f.display());
    }
    if !sample {
        println!("\n{}", doisoat::fixtures::reconcile_command(out));
    }
    Ok(())
}
