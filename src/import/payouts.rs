//! Bank result files (kết quả chi) → `PayoutRow`s.

use super::bank_format::recognise;
use super::beneficiaries::{read_account, read_bank, read_date, read_id};
use super::header::Field;
use super::source::Input;
use super::{ImportError, ImportOptions, Imported, RowCtx, RowFeed, Rows, finish, open_table};
use crate::domain::dates::DateOrYear;
use crate::domain::population_id::IdCheck;
use crate::domain::records::{PayoutDraft, PayoutOrigin, PayoutRow};
use crate::domain::status::PayoutStatus;

const REQUIRED: &[&[Field]] = &[&[Field::Amount], &[Field::PopulationId, Field::Account]];

/// Import a bank's payout results. The bank comes from a bank column, else from
/// `opts.default_bank`; a file with neither is refused.
pub fn import_payouts(
    file: &str,
    bytes: Vec<u8>,
    opts: &ImportOptions,
) -> Result<Imported<PayoutRow>, ImportError> {
    import(
        file,
        Input::<std::io::Empty>::Bytes(bytes),
        opts,
        Vec::new(),
    )
}

/// The same, from a reader, into any row store (`Vec`, or compact columns): a CSV file is
/// read batch by batch, never whole.
pub fn import_payouts_from<R: Rows<PayoutRow>>(
    file: &str,
    reader: impl std::io::Read,
    opts: &ImportOptions,
) -> Result<Imported<PayoutRow, R>, ImportError> {
    import(file, Input::Reader(reader), opts, R::default())
}

/// The same, from bytes or a reader, into `rows` as given: a `RowFeed` hands the rows on
/// while the file is still being read.
pub fn import_payouts_into<R: Rows<PayoutRow>>(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<PayoutRow, R>, ImportError> {
    import(file, input, opts, rows)
}

/// The account numbers of a bank file that names no bank (no bank column, none in its
/// title): up to `limit` distinct ones, in file order, as the importer reads them (spaces
/// removed), with how many rows carry one. Whose accounts they are says which bank the
/// file is from (`domain::banks::bank_by_accounts`). The rest of the file is read and
/// counted, not kept.
pub fn sample_accounts(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    limit: usize,
) -> Result<AccountSample, ImportError> {
    use std::sync::{Arc, Mutex};
    // Any bank stands in while reading: the rows are looked at for their accounts only.
    let Some(stand_in) = crate::domain::banks::BankId::all().next() else {
        return Ok(AccountSample::default());
    };
    let opts = ImportOptions {
        default_bank: Some(stand_in),
        ..opts.clone()
    };
    let sample = Arc::new(Mutex::new(AccountSample::default()));
    let into = Arc::clone(&sample);
    let mut seen = std::collections::HashSet::new();
    let feed = RowFeed::in_batches_of(4_096, move |rows: Vec<PayoutRow>| {
        let Ok(mut s) = into.lock() else {
            return false;
        };
        for account in rows.into_iter().filter_map(|r| r.account) {
            s.rows_with_account += 1;
            if s.accounts.len() < limit && seen.insert(account.clone()) {
                s.accounts.push(account);
            }
        }
        true
    });
    let mut imp = import(file, input, &opts, feed)?;
    imp.rows.flush();
    // The feed, and with it the other handle on the sample, goes with the import.
    drop(imp);
    Ok(Arc::try_unwrap(sample)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_default())
}

/// What `sample_accounts` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSample {
    /// Distinct accounts, in file order, at most the limit asked.
    pub accounts: Vec<String>,
    /// Rows with an account (all of them, past the limit too).
    pub rows_with_account: u64,
}

/// A bank's own format (a statement, a status report) is read as what it is; anything else
/// as a table.
fn import<R: Rows<PayoutRow>>(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<PayoutRow, R>, ImportError> {
    use std::io::Read;
    let readable = |head: &[u8]| recognise(head).filter(super::bank::readable);
    match input {
        Input::Bytes(bytes) => match readable(&bytes) {
            Some(f) => super::bank::read(file, &f, &bytes[..], opts, rows),
            None => import_table(file, Input::<std::io::Empty>::Bytes(bytes), opts, rows),
        },
        Input::Reader(mut raw) => {
            let mut head = Vec::new();
            (&mut raw)
                .take(BANK_HEAD)
                .read_to_end(&mut head)
                .map_err(|e| ImportError::Corrupt {
                    file: file.into(),
                    detail: e.to_string(),
                })?;
            let found = readable(&head);
            let whole = std::io::Cursor::new(head).chain(raw);
            match found {
                Some(f) => super::bank::read(
                    file,
                    &f,
                    std::io::BufReader::with_capacity(64 * 1024, whole),
                    opts,
                    rows,
                ),
                None => import_table(file, Input::Reader(whole), opts, rows),
            }
        }
    }
}

/// How much of a streamed file is looked at for a bank's format (`recognise` reads this).
const BANK_HEAD: u64 = 64 * 1024;

fn import_table<R: Rows<PayoutRow>>(
    file: &str,
    input: Input<impl std::io::Read>,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<PayoutRow, R>, ImportError> {
    let table = open_table(file, input, opts, REQUIRED)?;
    let header = &table.header;
    // A beneficiary list has no status and no reference, but list-only columns: taken as a
    // bank file, every row would count as paid.
    if !header.has(Field::Status)
        && !header.has(Field::Reference)
        && (header.has(Field::Category)
            || header.has(Field::BirthDate)
            || header.has(Field::Commune))
    {
        return Err(ImportError::WrongSlot {
            file: file.into(),
            detail_vi: "tệp không có cột Trạng thái hay Số tham chiếu mà có cột của danh sách đối tượng (đối tượng, ngày sinh, xã): đây là danh sách đối tượng, không phải kết quả chi; hãy tải lên ở mục \"Tải danh sách đối tượng\" (POST …/beneficiary-lists)".into(),
            detail_en: "the file has no status or reference column but a beneficiary list's columns (category, birth date, commune): it is a beneficiary list, not bank results; upload it as the list (POST …/beneficiary-lists)".into(),
        });
    }
    let mut notices = Vec::new();
    // No bank column and none given: the title block often names the bank
    // ("NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN VIỆT NAM - CHI NHÁNH …").
    let from_title = (!header.has(Field::Bank) && opts.default_bank.is_none())
        .then(|| bank_in_title(&table.title()))
        .flatten();
    let opts = &match from_title {
        Some(bank) => {
            notices.push(format!(
                "Ngân hàng lấy từ tiêu đề của tệp: {} / the bank is taken from the file's title: {}",
                bank.short_name(),
                bank.short_name()
            ));
            ImportOptions {
                default_bank: Some(bank),
                ..opts.clone()
            }
        }
        None => opts.clone(),
    };
    if !header.has(Field::Bank) && opts.default_bank.is_none() {
        return Err(ImportError::NoBank { file: file.into() });
    }
    if !header.has(Field::Status) {
        notices.push(
            "Tệp không có cột Trạng thái: mọi dòng được coi là chi thành công / no status column: every row is taken as paid"
                .to_owned(),
        );
    }
    finish::<PayoutRow, R>(
        file,
        table,
        |ctx| parse_row(ctx, opts),
        notices,
        opts.thread_count(),
        rows,
    )
}

/// The one bank a title block names, line by line; None when no line names one, or lines
/// name different banks.
fn bank_in_title(title: &[String]) -> Option<crate::domain::banks::BankId> {
    let mut found = None;
    for line in title {
        if let Some(b) = crate::domain::banks::BankId::resolve(line) {
            match found {
                Some(f) if f != b => return None,
                _ => found = Some(b),
            }
        }
    }
    found
}

fn parse_row<'a>(ctx: &mut RowCtx<'a>, opts: &ImportOptions) -> Option<PayoutDraft<'a>> {
    let amount = ctx.amount();
    let status = if ctx.has(Field::Status) {
        match ctx.text_ref(Field::Status) {
            None => {
                ctx.reject(
                    Field::Status,
                    "Thiếu trạng thái giao dịch",
                    "missing status",
                );
                None
            }
            Some(s) => {
                let st = ctx.resolve_status(&s);
                if st.is_none() {
                    ctx.reject(
                        Field::Status,
                        format!("Trạng thái không rõ: '{s}' (cần Thành công / Không thành công / Hoàn trả)"),
                        format!("unknown status: '{s}' (expected success / failed / returned)"),
                    );
                }
                st
            }
        }
    } else {
        Some(PayoutStatus::Success)
    };
    if let (Some(a), Some(PayoutStatus::Success)) = (amount, status)
        && a.is_zero()
    {
        ctx.reject(
            Field::Amount,
            "Khoản chi thành công có số tiền bằng 0",
            "successful payout of zero",
        );
    }
    let id = read_id(ctx.cell(Field::PopulationId), opts.as_of_year);
    let account = read_account(ctx.cell(Field::Account));
    if matches!(id, IdCheck::Missing) && account.is_none() {
        let f = if ctx.has(Field::PopulationId) {
            Field::PopulationId
        } else {
            Field::Account
        };
        ctx.reject(
            f,
            "Không có số định danh và số tài khoản: không ghép được với người hưởng",
            "no personal ID and no account number: the payout cannot be linked",
        );
    }
    let bank = read_bank(ctx).or(if !ctx.has_text(Field::Bank) {
        opts.default_bank
    } else {
        None
    });
    if bank.is_none() && !ctx.has_text(Field::Bank) {
        ctx.reject(Field::Bank, "Thiếu ngân hàng", "missing bank");
    }
    let value_date = match read_date(ctx.cell(Field::ValueDate)) {
        Some(DateOrYear::Date(d)) => Some(d),
        _ => None,
    };
    Some(PayoutDraft {
        file: ctx.file(),
        row: ctx.row_number(),
        bank: bank?,
        reference: ctx.text_ref(Field::Reference),
        id,
        account,
        name: ctx.text_ref(Field::Name),
        amount: amount?,
        status: status?,
        value_date,
        reason: ctx.text_ref(Field::Reason),
        origin: PayoutOrigin::File,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::banks::BankId;

    const ROWS: &str = "Số tham chiếu,Số định danh,Số tài khoản,Số tiền,Trạng thái\n\
                        FT1,025038000101,4200205123456,1500000,Thành công\n";

    /// A bank file without a bank column takes the bank its title names, and says so.
    #[test]
    fn the_title_names_the_bank_when_no_column_does() {
        let titled = format!(
            "NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN VIỆT NAM\n\
             KẾT QUẢ CHI TRẢ TRỢ CẤP THÁNG 9/2024\n\n{ROWS}"
        );
        let opts = ImportOptions::new(2024);
        let got = import_payouts("kq.csv", titled.into_bytes(), &opts);
        let got = got.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.rows.len(), 1);
        assert_eq!(got.rows[0].bank, BankId::resolve("Agribank").expect("bank"));
        assert!(
            got.notices.iter().any(|n| n.contains("tiêu đề")),
            "{:?}",
            got.notices
        );
        // No title and no column: refused, as before.
        let bare = import_payouts("kq.csv", ROWS.as_bytes().to_vec(), &opts);
        assert!(matches!(bare, Err(ImportError::NoBank { .. })));
        // Two banks named: not guessed.
        let two = format!(
            "NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN VIỆT NAM\nVietcombank\n\n{ROWS}"
        );
        let two = import_payouts("kq.csv", two.into_bytes(), &opts);
        assert!(matches!(two, Err(ImportError::NoBank { .. })));
    }
}
