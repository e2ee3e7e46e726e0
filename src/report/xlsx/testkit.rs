//! Test fixtures shared by the sheets' tests: a small run through the real engine, and
//! helpers to reopen a written workbook and read its cells.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader};
use rust_decimal::Decimal;

use crate::domain::banks::BankId;
use crate::domain::population_id::IdCheck;
use crate::domain::records::{BeneficiaryRow, PayoutRow, RowRef};
use crate::domain::status::PayoutStatus;
use crate::import::{ControlTotal, RowError};
use crate::recon::{ExceptionRow, Options, exceptions, reconcile};
use crate::report::{Report, ReportMeta};

const YEAR: i32 = 2025;

fn dec(n: i64) -> Decimal {
    Decimal::from(n)
}

fn person(
    row: u32,
    id: &str,
    name: &str,
    account: Option<&str>,
    commune: Option<&str>,
) -> BeneficiaryRow {
    BeneficiaryRow {
        source: RowRef::new(Arc::from("danh_sach.xlsx"), row),
        id: IdCheck::from_text(id, YEAR),
        name: name.into(),
        amount_due: dec(1_500_000),
        account: account.map(str::to_owned),
        bank: account.and_then(|_| BankId::resolve("Agribank")),
        birth: None,
        sex: None,
        category: Some("Người cao tuổi".into()),
        commune: commune.map(str::to_owned),
    }
}

fn agribank() -> BankId {
    match BankId::resolve("Agribank") {
        Some(b) => b,
        None => panic!("Agribank is in the registry"),
    }
}

fn payout(
    row: u32,
    id: &str,
    account: &str,
    amount: i64,
    status: PayoutStatus,
    reason: Option<&str>,
) -> PayoutRow {
    PayoutRow {
        source: RowRef::new(Arc::from("agribank.xlsx"), row),
        bank: agribank(),
        reference: Some(format!("FT{row:06}")),
        id: IdCheck::from_text(id, YEAR),
        account: Some(account.into()),
        name: None,
        amount: dec(amount),
        status,
        value_date: None,
        reason: reason.map(str::to_owned),
        origin: crate::domain::records::PayoutOrigin::File,
    }
}

/// A small run through the real engine, so the exception rows (and their payout
/// summaries) are exactly what production produces.
pub(super) fn sample() -> (Report, Vec<ExceptionRow>, ReportMeta) {
    let list = [
        person(
            10,
            "001090012345",
            "Nguyễn Văn An",
            Some("0100200300"),
            Some("Xã Tân Lập"),
        ),
        person(
            11,
            "001190012346",
            "Trần Thị Bình",
            Some("0100200301"),
            Some("Xã Tân Lập"),
        ),
        person(12, "001090012347", "Lê Văn Cường", Some("0100200302"), None),
        person(
            13,
            "001190012348",
            "Phạm Thị Dung",
            Some("0100200303"),
            Some("Phường Hòa Bình"),
        ),
        person(
            14,
            "001090012349",
            "Hoàng Văn Em",
            None,
            Some("Phường Hòa Bình"),
        ),
        person(
            15,
            "001190012350",
            "Đỗ Thị Phương",
            Some("0100200305"),
            Some("Xã Tân Lập"),
        ),
    ];
    let payouts = [
        payout(
            5,
            "001090012345",
            "0100200300",
            1_500_000,
            PayoutStatus::Success,
            None,
        ),
        payout(
            6,
            "001190012346",
            "0100200301",
            1_500_000,
            PayoutStatus::Failed,
            Some("Sai số tài khoản"),
        ),
        payout(
            7,
            "001090012347",
            "0100200302",
            1_500_000,
            PayoutStatus::Returned,
            Some("Tài khoản đã đóng"),
        ),
        payout(
            8,
            "001190012350",
            "0100200305",
            1_000_000,
            PayoutStatus::Success,
            None,
        ),
        payout(
            9,
            "079090000001",
            "9999999999",
            700_000,
            PayoutStatus::Success,
            None,
        ),
    ];
    let options = Options {
        tolerance: Decimal::ZERO,
        // Each rate its own target, as a province sets them.
        targets: crate::domain::period::Targets {
            account_coverage: Some(dec(30)),
            cashless_rate: Some(dec(90)),
        },
        adjustments: Default::default(),
        arrears: Default::default(),
    };
    let recon = reconcile(&list[..], &payouts[..], &options);
    let row_errors = vec![RowError {
        file: "danh_sach.xlsx".into(),
        sheet: Some("DS".into()),
        row: 20,
        column: Some("E".into()),
        column_name: Some("Số tiền".into()),
        value: "1,5tr".into(),
        reason_vi: "Số tiền không hợp lệ: '1,5tr'".into(),
        reason_en: "not a number: '1,5tr'".into(),
    }];
    let report = Report::new(&recon, row_errors, 1);
    let exc = exceptions(&list[..], &payouts[..], &recon);
    let meta = ReportMeta {
        period: Some("Tháng 9/2025".into()),
        generated_at: "30/09/2025 10:15 (giờ Việt Nam, UTC+7)".into(),
        inputs: vec![super::super::InputFile {
            role: "beneficiaries".into(),
            name: "danh_sach.xlsx".into(),
            sheet: Some("DS".into()),
            bank: None,
            sha256: "ab".repeat(32),
            data_rows: 7,
            accepted_rows: 6,
            rejected_rows: 1,
            control_total: Some(ControlTotal {
                row: 30,
                stated: dec(10_000_000),
                computed: dec(9_000_000),
            }),
            notices: vec!["Không có cột trạng thái".into()],
            unit: None,
        }],
        target_pct: None,
        account_coverage_target_pct: Some(dec(30)),
        cashless_rate_target_pct: Some(dec(90)),
        tolerance: Decimal::ZERO,
        report_sha256: Some("cd".repeat(32)),
        unit: None,
        programme: None,
        signatures: None,
    };
    (report, exc, meta)
}

pub(super) type Book = calamine::Xlsx<Cursor<Vec<u8>>>;

pub(super) fn open(bytes: Vec<u8>) -> Book {
    match calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes)) {
        Ok(b) => b,
        Err(e) => panic!("cannot reopen the workbook: {e}"),
    }
}

pub(super) fn sheet(book: &mut Book, name: &str) -> calamine::Range<Data> {
    match book.worksheet_range(name) {
        Ok(r) => r,
        Err(e) => panic!("sheet {name}: {e}"),
    }
}

/// Rows as absolute positions (row 0 = spreadsheet row 1), whatever the used range.
pub(super) fn cell(range: &calamine::Range<Data>, r: u32, c: u32) -> Data {
    range.get_value((r, c)).cloned().unwrap_or(Data::Empty)
}

pub(super) fn find_row(range: &calamine::Range<Data>, col: u32, text: &str) -> Option<u32> {
    let (start, end) = (range.start()?, range.end()?);
    (start.0..=end.0).find(|&r| cell(range, r, col) == Data::String(text.into()))
}
