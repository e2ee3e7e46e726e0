//! `doisoat payment-orders`: a list in, one bank's payment orders out, as the pain.001
//! file the bank executes (`.xml`) or the "bảng kê chi trả" for banks that take
//! spreadsheets (`.xlsx`).

use std::path::PathBuf;

use anyhow::Context;
use rust_decimal::Decimal;

use doisoat::domain::banks::BankId;
use doisoat::domain::money::format_vnd;
use doisoat::domain::payment_orders::{list_key, message_id, period_key, plan};
use doisoat::domain::period::PeriodCode;
use doisoat::import::{ImportOptions, import_beneficiaries};
use doisoat::report::pain001::{self, OrderHeader, Pain001Version};
use doisoat::service::job;

#[derive(clap::Args)]
pub struct OrdersArgs {
    /// Kỳ chi trả, vd. 2026-10 (nằm trong mã tham chiếu EndToEndId) / the period.
    #[arg(long, value_name = "LABEL")]
    period: String,
    /// Danh sách đối tượng (xlsx, xls, ods, csv); FILE#SHEET chọn trang tính.
    #[arg(long, value_name = "FILE")]
    beneficiaries: String,
    /// Ngân hàng nhận lệnh (mã, tên hoặc BIN), vd. VBA, Agribank, 970405.
    #[arg(long, value_name = "CODE")]
    bank: String,
    /// Tài khoản chi của đơn vị / the paying account.
    #[arg(long, value_name = "ACCT")]
    debtor_account: String,
    /// Tên đơn vị chi trả / the paying office's name.
    #[arg(long, value_name = "NAME")]
    debtor_name: String,
    /// Tệp ghi ra: .xml (pain.001) hoặc .xlsx (bảng kê chi trả).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Phiên bản pain.001: 10 (mặc định) hoặc 09.
    #[arg(long, value_name = "VERSION", default_value = "10")]
    pain_version: String,
    /// Tên và nội dung không dấu, cho ngân hàng chỉ nhận ASCII / names without diacritics.
    #[arg(long)]
    ascii: bool,
    /// Ngày thực hiện (dd/mm/yyyy; mặc định hôm nay) / the requested execution date.
    #[arg(long, value_name = "DATE")]
    execution_date: Option<String>,
}

pub fn run(args: OrdersArgs) -> anyhow::Result<()> {
    let Some(bank) = BankId::resolve(&args.bank) else {
        anyhow::bail!(
            "ngân hàng không xác định / unknown bank: '{}' (vd./e.g. VBA, Agribank, 970405)",
            args.bank
        );
    };
    let Some(version) = Pain001Version::parse(&args.pain_version) else {
        anyhow::bail!("--pain-version: 10 hoặc/or 09");
    };
    let code = PeriodCode::parse(&args.period)
        .map_err(|e| anyhow::anyhow!("--period: {} / {}", e.message_vi(), e.message_en()))?;
    let (file, sheet) = job::split_sheet(&args.beneficiaries);
    let bytes =
        std::fs::read(file).with_context(|| format!("không đọc được / cannot read {file}"))?;
    let digest = doisoat::domain::sha256_hex(&bytes);
    let opts = ImportOptions {
        sheet,
        ..ImportOptions::new(doisoat::domain::dates::this_year())
    };
    let list = import_beneficiaries(file, bytes, &opts)?;
    let (p, l) = (
        period_key(&args.period),
        list_key(&digest, list.sheet.as_deref()),
    );
    let orders = plan(&list.rows[..], &p, &l, bank);
    let at_bank = list.rows.iter().filter(|r| r.bank == Some(bank)).count();
    anyhow::ensure!(
        !orders.is_empty(),
        "không có đối tượng nào nhận qua tài khoản {bank} trong danh sách ({at_bank} dòng ghi ngân hàng này) / nobody on the list is paid into a {bank} account",
        bank = bank.short_name()
    );
    let now = doisoat::domain::dates::vietnam_time(chrono::Utc::now());
    let execution_date = match &args.execution_date {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%d/%m/%Y")
            .with_context(|| format!("--execution-date: dd/mm/yyyy, not '{d}'"))?,
        None => now.date_naive(),
    };
    let header = OrderHeader {
        bank,
        debtor_name: args.debtor_name.clone(),
        debtor_account: args.debtor_account.split_whitespace().collect(),
        message_id: message_id(&p, &l, bank),
        created: now,
        execution_date,
        remittance: format!("Chi trả trợ cấp {}", code.words(true).to_lowercase()),
        ascii: args.ascii,
        version,
    };
    let xlsx = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        let book = doisoat::report::xlsx::orders::write(&header, &orders, &code.words(true))?;
        std::fs::write(&args.out, book)
    } else {
        std::fs::write(&args.out, pain001::write(&header, &orders))
    }
    .with_context(|| format!("không ghi được / cannot write {}", args.out.display()))?;
    let total: Decimal = orders.iter().map(|o| o.amount).sum();
    println!(
        "{} lệnh chi / orders, {} → {} ({})",
        orders.len(),
        format_vnd(total),
        args.out.display(),
        header.message_id
    );
    if at_bank > orders.len() {
        println!(
            "{} dòng của {} không lập lệnh (không có số tài khoản, hoặc số tiền không phải số đồng dương) / rows of this bank not ordered (no account, or not a positive whole amount)",
            at_bank - orders.len(),
            bank.short_name()
        );
    }
    Ok(())
}
