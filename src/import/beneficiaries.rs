//! Beneficiary lists (danh sách chi trả) → `BeneficiaryRow`s.

use super::grid::Cell;
use super::header::Field;
use super::source::Input;
use super::{ImportError, ImportOptions, Imported, RowCtx, Rows, commune_in, finish, open_table};
use crate::domain::banks::BankId;
use crate::domain::dates::{self, DateOrYear};
use crate::domain::names;
use crate::domain::population_id::{IdCheck, IdProblem, Sex};
use crate::domain::records::{BeneficiaryDraft, BeneficiaryRow};
use std::borrow::Cow;

const REQUIRED: &[&[Field]] = &[&[Field::PopulationId], &[Field::Name], &[Field::Amount]];

/// Import a beneficiary list. `file` names it in messages.
pub fn import_beneficiaries(
    file: &str,
    bytes: Vec<u8>,
    opts: &ImportOptions,
) -> Result<Imported<BeneficiaryRow>, ImportError> {
    import(
        file,
        Input::<std::io::Empty>::Bytes(bytes),
        opts,
        Vec::new(),
    )
}

/// The same, from a reader, into any row store (`Vec`, or compact columns): a CSV file is
/// read batch by batch, never whole.
pub fn import_beneficiaries_from<R: Rows<BeneficiaryRow>>(
    file: &str,
    reader: impl std::io::Read,
    opts: &ImportOptions,
) -> Result<Imported<BeneficiaryRow, R>, ImportError> {
    import(file, Input::Reader(reader), opts, R::default())
}

/// The same, from bytes or a reader, into `rows` as given: a `RowFeed` hands the rows on
/// while the file is still being read.
pub fn import_beneficiaries_into<R: Rows<BeneficiaryRow>>(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<BeneficiaryRow, R>, ImportError> {
    import(file, input, opts, rows)
}

fn import<R: Rows<BeneficiaryRow>>(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<BeneficiaryRow, R>, ImportError> {
    let table = open_table(file, input, opts, REQUIRED)?;
    // A bank's result file has a transaction reference and a payment status: it goes in the
    // other slot, and read as a list it would replace the period's beneficiaries.
    if table.header.has(Field::Reference) && table.header.has(Field::Status) {
        return Err(ImportError::WrongSlot {
            file: file.into(),
            detail_vi: "tệp có cột Số tham chiếu và Trạng thái: đây là tệp kết quả chi của ngân hàng, không phải danh sách đối tượng; hãy tải lên ở mục \"Tải tệp kết quả chi của ngân hàng\" (POST …/payout-files)".into(),
            detail_en: "the file has a transaction reference and a payment status column: it is a bank result file, not a beneficiary list; upload it as a bank result file (POST …/payout-files)".into(),
        });
    }
    finish::<BeneficiaryRow, R>(
        file,
        table,
        |ctx| parse_row(ctx, opts),
        Vec::new(),
        opts.thread_count(),
        rows,
    )
}

fn parse_row<'a>(ctx: &mut RowCtx<'a>, opts: &ImportOptions) -> Option<BeneficiaryDraft<'a>> {
    let amount = ctx.amount();
    if let Some(a) = amount
        && a.is_zero()
    {
        ctx.reject(Field::Amount, "Số tiền bằng 0", "amount is zero");
    }
    let id = read_id(ctx.cell(Field::PopulationId), opts.as_of_year);
    let name = match ctx.text_ref(Field::Name) {
        Some(Cow::Borrowed(n)) => names::clean_display(n),
        Some(Cow::Owned(n)) => Cow::Owned(names::clean_display(&n).into_owned()),
        None => Cow::Borrowed(""),
    };
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
    let category = ctx.text_ref(Field::Category);
    let commune = ctx
        .text_ref(Field::Commune)
        .or_else(|| ctx.section().map(Cow::Borrowed))
        .or_else(|| {
            ctx.text_ref(Field::Address)
                .and_then(|a| commune_in(&a))
                .map(Cow::Owned)
        });
    Some(BeneficiaryDraft {
        file: ctx.file(),
        row: ctx.row_number(),
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
pub(crate) fn read_account(cell: Cell<'_>) -> Option<Cow<'_, str>> {
    let s = match cell {
        Cell::Empty => return None,
        Cell::Text(t) => {
            let t = t.trim_start_matches('\'');
            if t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                // Digits (and letters) only, the common case: nothing to remove.
                Cow::Borrowed(t)
            } else {
                Cow::Owned(t.chars().filter(|c| !c.is_whitespace()).collect())
            }
        }
        other => other.display(),
    };
    if s.is_empty() { None } else { Some(s) }
}

/// The bank cell resolved to a known bank; an unknown bank rejects the row.
pub(crate) fn read_bank(ctx: &mut RowCtx<'_>) -> Option<BankId> {
    let text = ctx.text_ref(Field::Bank)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{Table, finish, header, source};

    /// The list read the way it was before streaming: the whole file as one grid, walked
    /// in one pass.
    fn whole(file: &str, bytes: Vec<u8>, opts: &ImportOptions) -> Imported<BeneficiaryRow> {
        let loaded = source::load(file, bytes, None, opts.budget());
        let Ok((format, sheet, grid)) = loaded else {
            panic!("load")
        };
        let Ok(header) = header::find(&grid, REQUIRED) else {
            panic!("header")
        };
        let table = Table {
            format,
            sheet,
            grid,
            header,
            legacy: None,
            rest: None,
        };
        match finish::<BeneficiaryRow, Vec<BeneficiaryRow>>(
            file,
            table,
            |ctx| parse_row(ctx, opts),
            Vec::new(),
            1,
            Vec::new(),
        ) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    /// A list longer than a few batches, with what office files hold: a title, section
    /// rows (one inside a batch, so a batch walked before knowing it is walked again),
    /// blank lines, a quoted line break, bad rows, CRLF, a totals row and signatures with
    /// text after them.
    fn office_csv(rows: usize, crlf: bool) -> Vec<u8> {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut s = String::new();
        s.push_str("UBND TỈNH PHÚ THỌ,,,,");
        s.push_str(nl);
        s.push_str("STT,Họ và tên,Số định danh cá nhân,Số tiền được hưởng,Xã/phường");
        s.push_str(nl);
        let mut total = 0u64;
        for i in 0..rows {
            if i == 700 || i == 20_000 {
                s.push_str(&format!("I. Xã Tân Lập {i},,,,{nl}"));
            }
            if i % 997 == 0 {
                s.push_str(nl);
            }
            let amount = 1_000_000 + (i % 7) as u64 * 250_000;
            let commune = if i % 3 == 0 {
                ""
            } else {
                "Phường Hà Cầu"
            };
            match i % 1_500 {
                5 => s.push_str(&format!(
                    "{i},Nguyễn Văn {i},0250380{i:05},\"1,5tr\",{commune}{nl}"
                )),
                6 => s.push_str(&format!(
                    "{i},\"Trần\nThị {i}\",0251420{i:05},{amount},{commune}{nl}"
                )),
                _ => {
                    total += amount;
                    s.push_str(&format!(
                        "{i},Lê Thị {i},0250550{i:05},{amount},{commune}{nl}"
                    ));
                }
            }
            if i % 1_500 == 6 {
                total += 1_000_000 + (i % 7) as u64 * 250_000;
            }
        }
        s.push_str(&format!(
            "Tổng cộng,,,{total},{nl}Người lập biểu,,,,{nl}ghi chú,,,,{nl}"
        ));
        s.into_bytes()
    }

    #[test]
    fn streamed_lists_equal_whole_reads_for_any_thread_count() {
        for crlf in [false, true] {
            let bytes = office_csv(40_000, crlf);
            let opts = ImportOptions::new(2026);
            let want = whole("ds.csv", bytes.clone(), &opts);
            assert_eq!(want.data_rows, want.rows.len() + want.rejected_rows);
            assert!(want.rejected_rows > 0 && want.control_total.is_some());
            assert!(
                want.rows
                    .iter()
                    .any(|r| r.commune.as_deref() == Some("Xã Tân Lập 20000"))
            );
            for threads in [1, 2, 3, 8] {
                let opts = ImportOptions {
                    threads,
                    ..ImportOptions::new(2026)
                };
                let got = match import_beneficiaries("ds.csv", bytes.clone(), &opts) {
                    Ok(i) => i,
                    Err(e) => panic!("{e}"),
                };
                let ctx = format!("crlf {crlf}, {threads} threads");
                assert_eq!(got.rows, want.rows, "{ctx}");
                assert_eq!(got.errors, want.errors, "{ctx}");
                assert_eq!(
                    (got.data_rows, got.rejected_rows, got.header_row),
                    (want.data_rows, want.rejected_rows, want.header_row),
                    "{ctx}"
                );
                assert_eq!(got.control_total, want.control_total, "{ctx}");
                assert_eq!(got.title, want.title, "{ctx}");
            }
        }
    }

    /// A bad byte after the signatures still refuses the file, at its offset.
    #[test]
    fn bytes_after_the_table_are_still_checked() {
        let mut bytes = office_csv(3_000, false);
        let at = bytes.len();
        bytes.extend(b"\xE4 sau chu ky\n");
        match import_beneficiaries("ds.csv", bytes, &ImportOptions::new(2026)) {
            Err(ImportError::NotUtf8 { byte, .. }) => assert_eq!(byte, at),
            other => panic!("{:?}", other.map(|i| i.rows.len())),
        }
    }
}
