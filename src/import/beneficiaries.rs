//! Beneficiary lists (danh sách chi trả) → `BeneficiaryRow`s.

use super::grid::Cell;
use super::header::Field;
use super::{ImportError, ImportOptions, Imported, RowCtx, commune_in, finish, open_table};
use crate::domain::banks::BankId;
use crate::domain::dates::{self, DateOrYear};
use crate::domain::names;
use crate::domain::population_id::{IdCheck, IdProblem, Sex};
use crate::domain::records::BeneficiaryRow;

const REQUIRED: &[&[Field]] = &[&[Field::PopulationId], &[Field::Name], &[Field::Amount]];

/// Import a beneficiary list. `file` names it in messages.
pub fn import_beneficiaries(
    file: &str,
    bytes: Vec<u8>,
    opts: &ImportOptions,
) -> Result<Imported<BeneficiaryRow>, ImportError> {
    let table = open_table(file, bytes, opts, REQUIRED)?;
    // A bank's result file has a transaction reference and a payment status: it goes in the
    // other slot, and read as a list it would replace the period's beneficiaries.
    if table.header.has(Field::Reference) && table.header.has(Field::Status) {
        return Err(ImportError::WrongSlot {
            file: file.into(),
            detail_vi: "tệp có cột Số tham chiếu và Trạng thái: đây là tệp kết quả chi của ngân hàng, không phải danh sách đối tượng; hãy tải lên ở mục \"Tải tệp kết quả chi của ngân hàng\" (POST …/payout-files)".into(),
            detail_en: "the file has a transaction reference and a payment status column: it is a bank result file, not a beneficiary list; upload it as a bank result file (POST …/payout-files)".into(),
        });
    }
    Ok(finish(
        file,
        table,
        |ctx| parse_row(ctx, opts),
        |r| r.amount_due,
        Vec::new(),
    ))
}

fn parse_row(ctx: &mut RowCtx<'_>, opts: &ImportOptions) -> Option<BeneficiaryRow> {
    let amount = ctx.amount();
    if let Some(a) = amount
        && a.is_zero()
    {
        ctx.reject(Field::Amount, "Số tiền bằng 0", "amount is zero");
    }
    let id = read_id(ctx.cell(Field::PopulationId), opts.as_of_year);
    let name = ctx
        .text(Field::Name)
        .map(|n| names::clean_display(&n))
        .unwrap_or_default();
    if matches!(id, IdCheck::Missing) && name.is_empty() {
        ctx.reject(
            Field::Name,
            "Không có họ tên và số định danh: không xác định được người hưởng",
            "no name and no personal ID: the person cannot be identified",
        );
    }
    let account = read_account(ctx.cell(Field::Account));
    let bank = read_bank(ctx);
    let birth = read_date(ctx.cell(Field::BirthDate));
    let sex = match ctx.cell(Field::Sex) {
        // The spellings nearly every list uses, without folding.
        Cell::Text("Nam") => Some(Sex::Male),
        Cell::Text("Nữ") => Some(Sex::Female),
        c => c.as_text().and_then(Sex::parse),
    };
    let category = ctx.text(Field::Category);
    let commune = ctx
        .text(Field::Commune)
        .or_else(|| ctx.section().map(str::to_owned))
        .or_else(|| ctx.text(Field::Address).and_then(|a| commune_in(&a)));
    Some(BeneficiaryRow {
        source: ctx.source(),
        id,
        name,
        amount_due: amount?,
        account,
        bank,
        birth,
        sex,
        category,
        commune,
    })
}

/// An ID cell: numbers lost their leading zeros and are padded; text is taken as typed.
pub(crate) fn read_id(cell: Cell<'_>, year: i32) -> IdCheck {
    match cell {
        Cell::Empty => IdCheck::Missing,
        Cell::Text(t) => IdCheck::from_text(t, year),
        Cell::Number(f) => IdCheck::from_number(f, year),
        Cell::Int(i) => IdCheck::from_number(i as f64, year),
        other => IdCheck::Invalid {
            raw: other.display().into_owned(),
            reason: IdProblem::NotDigits,
        },
    }
}

/// Account numbers: a numeric cell as its integer digits, text as typed without spaces.
pub(crate) fn read_account(cell: Cell<'_>) -> Option<String> {
    let s = match cell {
        Cell::Empty => return None,
        Cell::Text(t) => t
            .trim_start_matches('\'')
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
        other => other.display().into_owned(),
    };
    if s.is_empty() { None } else { Some(s) }
}

/// The bank cell resolved to a known bank; an unknown bank rejects the row.
pub(crate) fn read_bank(ctx: &mut RowCtx<'_>) -> Option<BankId> {
    let text = ctx.text(Field::Bank)?;
    let bank = ctx.resolve_bank(&text);
    if bank.is_none() {
        ctx.reject(
            Field::Bank,
            format!("Ngân hàng không xác định: '{text}'"),
            format!("unknown bank: '{text}'"),
        );
    }
    bank
}

pub(crate) fn read_date(cell: Cell<'_>) -> Option<DateOrYear> {
    match cell {
        Cell::Date(d) => Some(DateOrYear::Date(d)),
        Cell::Number(f) => dates::from_excel_number(f),
        Cell::Int(i) => dates::from_excel_number(i as f64),
        Cell::Text(t) => dates::parse_date_text(t),
        _ => None,
    }
}
