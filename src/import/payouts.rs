//! Bank result files (kết quả chi) → `PayoutRow`s.

use super::bank_format::recognise;
use super::beneficiaries::{read_account, read_bank, read_date, read_id};
use super::header::Field;
use super::source::Input;
use super::{ImportError, ImportOptions, Imported, RowCtx, RowFeed, Rows, cut, finish, open_table};
use crate::domain::dates::DateOrYear;
use crate::domain::population_id::IdCheck;
use crate::domain::records::{PayoutDraft, PayoutOrigin, PayoutRow};
use crate::domain::status::PayoutStatus;
use rust_decimal::Decimal;

/// An amount (or a statement's debit and credit columns), and whom: an ID, an account, or
/// a statement's narrative (where banks put the counterparty and the reference).
const REQUIRED: &[&[Field]] = &[
    &[Field::Amount, Field::Debit, Field::Credit],
    &[Field::PopulationId, Field::Account, Field::Reason],
];

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
    let statement = is_statement(|f| header.has(f));
    if !statement && !header.has(Field::PopulationId) && !header.has(Field::Account) {
        // Only a statement's narrative may stand for whom a payout went to.
        return Err(ImportError::NoHeader {
            file: file.into(),
            sheet: table.sheet.clone(),
            found: header.names.iter().map(|n| cut(n).into_owned()).collect(),
            missing: vec!["Số định danh (population_id) hoặc/or Số tài khoản (account)".to_owned()],
        });
    }
    // The account the statement is of (its title: "Số tài khoản: …"): never the payee's.
    let own_account = if statement {
        own_account_in_title(&table.title())
    } else {
        None
    };
    if statement {
        notices.push(
            "Sao kê tài khoản: khoản ghi nợ là khoản chi; khoản ghi có là tiền hoàn trả được tính là khoản chi bị hoàn trả; khoản ghi có khác bị loại / an account statement: debits are payouts, credits that are returns are returned payouts, other credits are refused"
                .to_owned(),
        );
    } else if !header.has(Field::Status) {
        notices.push(
            "Tệp không có cột Trạng thái: mọi dòng được coi là chi thành công / no status column: every row is taken as paid"
                .to_owned(),
        );
    }
    finish::<PayoutRow, R>(
        file,
        table,
        |ctx| parse_row(ctx, opts, own_account.as_deref()),
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

/// A statement: debit or credit columns, and neither an amount nor a status column (a
/// result sheet's "Số tiền ghi có" is the amount credited, its status says the outcome).
fn is_statement(has: impl Fn(Field) -> bool) -> bool {
    (has(Field::Debit) || has(Field::Credit)) && !has(Field::Amount) && !has(Field::Status)
}

/// The account a statement's title says it is of ("Số tài khoản: 1234567890").
fn own_account_in_title(title: &[String]) -> Option<String> {
    title.iter().find_map(|line| {
        let folded = crate::domain::names::fold(line);
        if !(folded.contains("tai khoan") || folded.contains("account")) {
            return None;
        }
        folded
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() >= 6)
            .map(str::to_owned)
    })
}

fn parse_row<'a>(
    ctx: &mut RowCtx<'a>,
    opts: &ImportOptions,
    own_account: Option<&str>,
) -> Option<PayoutDraft<'a>> {
    if is_statement(|f| ctx.has(f)) {
        return statement_row(ctx, opts, own_account);
    }
    // A result sheet's amount, else its only money column ("Số tiền ghi có").
    let amount_field = [Field::Amount, Field::Credit, Field::Debit]
        .into_iter()
        .find(|f| ctx.has(*f))
        .unwrap_or(Field::Amount);
    let amount = ctx.amount_in(amount_field);
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
            amount_field,
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
    let bank = row_bank(ctx, opts);
    let value_date = row_value_date(ctx);
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

/// The row's bank: its bank column, else the file's (given, or named by its title); a row
/// with neither is rejected.
fn row_bank(ctx: &mut RowCtx<'_>, opts: &ImportOptions) -> Option<crate::domain::banks::BankId> {
    let bank = read_bank(ctx).or(if !ctx.has_text(Field::Bank) {
        opts.default_bank
    } else {
        None
    });
    if bank.is_none() && !ctx.has_text(Field::Bank) {
        ctx.reject(Field::Bank, "Thiếu ngân hàng", "missing bank");
    }
    bank
}

/// The booking date, when the cell holds a whole date.
fn row_value_date(ctx: &RowCtx<'_>) -> Option<chrono::NaiveDate> {
    match read_date(ctx.cell(Field::ValueDate)) {
        Some(DateOrYear::Date(d)) => Some(d),
        _ => None,
    }
}

/// A row of a bank's statement export (sao kê): a debit is money paid out, a credit that
/// says it is a return is money back; the counterparty's account and name, and doisoat's
/// order reference, are taken from the narrative where the bank put them there.
fn statement_row<'a>(
    ctx: &mut RowCtx<'a>,
    opts: &ImportOptions,
    own_account: Option<&str>,
) -> Option<PayoutDraft<'a>> {
    let positive = |ctx: &mut RowCtx<'a>, f: Field| -> Option<Decimal> {
        if !ctx.has_text(f) {
            return None;
        }
        // The column says the side: a debit written "-1.500.000" is still money out.
        ctx.amount_unsigned_in(f).filter(|a| !a.is_zero())
    };
    let debit = if ctx.has(Field::Debit) {
        positive(ctx, Field::Debit)
    } else {
        None
    };
    let credit = if ctx.has(Field::Credit) {
        positive(ctx, Field::Credit)
    } else {
        None
    };
    let narrative = ctx.text_ref(Field::Reason);
    let folded = narrative
        .as_deref()
        .map(crate::domain::names::fold)
        .unwrap_or_default();
    let (status, amount) = match (debit, credit) {
        (Some(a), None) => (PayoutStatus::Success, a),
        (None, Some(a)) if is_return(&folded) => (PayoutStatus::Returned, a),
        (None, Some(_)) => {
            ctx.reject(
                Field::Credit,
                "Khoản ghi có không phải tiền hoàn trả: không phải một khoản chi",
                "a credit that is not a return: not a payout",
            );
            return None;
        }
        (Some(_), Some(_)) => {
            ctx.reject(
                Field::Debit,
                "Dòng có cả ghi nợ và ghi có",
                "both a debit and a credit on one row",
            );
            return None;
        }
        // An amount that could not be read has said why already.
        (None, None) if ctx.rejected() => return None,
        (None, None) => {
            let f = if ctx.has(Field::Debit) {
                Field::Debit
            } else {
                Field::Credit
            };
            ctx.reject(
                f,
                "Thiếu số tiền ghi nợ/ghi có",
                "neither a debit nor a credit amount",
            );
            return None;
        }
    };
    let text = narrative.as_deref().unwrap_or("");
    let column_account =
        read_account(ctx.cell(Field::Account)).filter(|a| a.bytes().any(|b| b.is_ascii_digit()));
    let column_name = ctx.text_ref(Field::Name);
    // doisoat's own reference (in the remittance text the bank shows), else the bank's.
    let reference = super::bank::order_reference(text)
        .map(std::borrow::Cow::Owned)
        .or_else(|| ctx.text_ref(Field::Reference));
    let mut id = read_id(ctx.cell(Field::PopulationId), opts.as_of_year);
    let bank = row_bank(ctx, opts);
    // An answer to doisoat's own order (at its bank): whom it paid is known from it.
    let order = match (&opts.orders, reference.as_deref()) {
        (Some(orders), Some(r)) => orders
            .get(r)
            .filter(|o| bank.is_none_or(|b| b == o.bank))
            .cloned(),
        _ => None,
    };
    // Whom it paid: the file's own columns, else the order it answers, else the narrative.
    let (mut account, mut name) = (column_account, column_name);
    if let Some(o) = &order {
        id = o.id.clone();
        account.get_or_insert(std::borrow::Cow::Owned(o.account.clone()));
        name.get_or_insert(std::borrow::Cow::Owned(o.name.clone()));
    } else if account.is_none() {
        let (from_text, name_in_text) =
            counterparty(text, status == PayoutStatus::Success, own_account);
        account = from_text.map(std::borrow::Cow::Owned);
        if name.is_none() {
            name = name_in_text.map(std::borrow::Cow::Owned);
        }
    }
    if order.is_none() && account.is_none() && matches!(id, IdCheck::Missing) {
        // A fee, a transfer between own accounts: nobody to link it to.
        ctx.reject(
            Field::Reason,
            "Không có mã lệnh chi (EndToEndId) của doisoat hay số tài khoản người nhận trong diễn giải: không ghép được với người hưởng",
            "neither a doisoat order reference (EndToEndId) nor the payee's account in the narrative: the payout cannot be linked",
        );
        return None;
    }
    let value_date = row_value_date(ctx);
    let reason = (status == PayoutStatus::Returned)
        .then(|| narrative.clone())
        .flatten();
    Some(PayoutDraft {
        file: ctx.file(),
        row: ctx.row_number(),
        bank: bank?,
        reference,
        id,
        account,
        name,
        amount,
        status,
        value_date,
        reason,
        origin: PayoutOrigin::File,
    })
}

/// Whether a credit's narrative says it is money coming back (folded text): what banks
/// write on a returned transfer, not any "trả lại" (a donor's "trả lại cuộc sống bình
/// thường" is no return).
fn is_return(folded: &str) -> bool {
    const WORDS: [&str; 9] = [
        "hoan tra",
        "hoan tien",
        "tra lai tien",
        "bi tra lai",
        "tra lai giao dich",
        "tra lai gd",
        "refund",
        "returned",
        "rtrn",
    ];
    // Whole words: "Hoàn Trang" (a name) is no "hoàn trả".
    let words: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let padded = format!(
        " {} ",
        words.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    WORDS.iter().any(|w| padded.contains(&format!(" {w} ")))
}

/// The counterparty a narrative names: Vietnamese banks write `… tu <account> <NAME> toi
/// <account> <NAME>` (from, to). A payout's payee is after `toi`; a return comes `tu` the
/// payee (else, quoting the transfer it returns, the payee is after `toi`). The statement's
/// own account is never the counterparty.
fn counterparty(
    text: &str,
    payout: bool,
    own_account: Option<&str>,
) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let folded: Vec<String> = words
        .iter()
        .map(|w| crate::domain::names::fold(w))
        .collect();
    // (is `toi`, account, name) for each `tu`/`toi` followed by an account.
    let mut found: Vec<(bool, &str, Option<String>)> = Vec::new();
    for i in 0..words.len().saturating_sub(1) {
        let to = match folded[i].as_str() {
            "toi" => true,
            "tu" => false,
            _ => continue,
        };
        let account = words[i + 1].trim_end_matches([',', '.', ';', ':']);
        if account.len() < 6 || !account.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if own_account == Some(account) {
            continue;
        }
        found.push((to, account, name_after(&words[i + 2..], &folded[i + 2..])));
    }
    let pick = found
        .iter()
        .find(|(to, _, _)| *to == payout)
        .or_else(|| found.first());
    match pick {
        Some((_, account, name)) => (Some((*account).to_owned()), name.clone()),
        None => (None, None),
    }
}

/// The name at the start of `words`: words in capitals (banks write names so), until the
/// payment's own words begin. 2 to 5 words, else none: a wrong name would flag a mismatch
/// that is not there.
fn name_after(words: &[&str], folded: &[String]) -> Option<String> {
    // Words and pairs that begin what the payment is for ("HO TRO" after "NGUYEN VAN AN":
    // Hồ is a surname, "hỗ trợ" is support).
    const NOT_NAME: [&str; 14] = [
        "toi", "tu", "chuyen", "ct", "noi", "ung", "chi", "tra", "cap", "thang", "ck", "tt",
        "hoan", "nop",
    ];
    const PHRASES: [(&str, &str); 6] = [
        ("ho", "tro"),
        ("nhan", "tien"),
        ("thanh", "toan"),
        ("tro", "cap"),
        ("chuyen", "tien"),
        ("chi", "tra"),
    ];
    let mut name = Vec::new();
    for (i, (w, f)) in words.iter().zip(folded).enumerate() {
        let capitals = w.chars().all(|c| c.is_alphabetic() && !c.is_lowercase());
        let phrase = folded
            .get(i + 1)
            .is_some_and(|next| PHRASES.contains(&(f.as_str(), next.as_str())));
        if !capitals || NOT_NAME.contains(&f.as_str()) || phrase || f.starts_with("ds-") {
            break;
        }
        name.push(*w);
        if name.len() > 5 {
            return None;
        }
    }
    (2..=5).contains(&name.len()).then(|| name.join(" "))
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

#[cfg(test)]
mod statement_tests {
    use super::*;
    use crate::domain::banks::BankId;

    /// A statement export as a bank's internet banking writes it: the account's details
    /// above the table, debit and credit columns, the counterparty in the narrative.
    #[test]
    fn a_statement_export_in_debit_and_credit_columns() {
        let csv = "SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT\n\
            Số tài khoản: 1234567890\n\
            Từ ngày 01/10/2026 đến ngày 31/10/2026\n\n\
            Ngày giao dịch,Số bút toán,Ghi nợ,Ghi có,Số dư,Diễn giải\n\
            05/10/2026,FT1,\"1.500.000\",,\"98.500.000\",CT tu 1234567890 PHONG VHXH toi 4200205123456 NGUYEN VAN AN Chi tra tro cap thang 10 nam 2026 DS-202610-78F56852-10\n\
            05/10/2026,FT2,\"1,000,000\",,\"97,500,000\",CT tu 1234567890 PHONG VHXH toi 4200205123457 TRAN THI BINH HO TRO THANG 10\n\
            06/10/2026,RT1,,1.500.000,99.000.000,Hoan tra giao dich FT1 tu 4200205123456 NGUYEN VAN AN tai khoan da dong\n\
            06/10/2026,RT2,,1.000.000,100.000.000,HOAN TRA GD FT2 CT tu 1234567890 PHONG VHXH toi 4200205123457 TRAN THI BINH\n\
            07/10/2026,KB1,,50.000.000,149.000.000,Kho bac cap kinh phi\n\
            07/10/2026,FEE,11.000,,148.989.000,Phi dich vu\n";
        let opts = ImportOptions {
            default_bank: BankId::resolve("VBA"),
            ..ImportOptions::new(2026)
        };
        let imp = import_payouts("sao_ke.csv", csv.as_bytes().to_vec(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imp.header_row, 5);
        assert_eq!(imp.rows.len() + imp.rejected_rows, imp.data_rows);
        let got: Vec<_> = imp
            .rows
            .iter()
            .map(|r| (r.status, r.amount, r.account.clone(), r.reference.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    PayoutStatus::Success,
                    Decimal::from(1_500_000),
                    Some("4200205123456".into()),
                    Some("DS-202610-78F56852-10".into())
                ),
                (
                    PayoutStatus::Success,
                    Decimal::from(1_000_000),
                    Some("4200205123457".into()),
                    Some("FT2".into())
                ),
                (
                    PayoutStatus::Returned,
                    Decimal::from(1_500_000),
                    Some("4200205123456".into()),
                    Some("RT1".into())
                ),
                // Quoting the transfer it returns: the payee, not the statement's account.
                (
                    PayoutStatus::Returned,
                    Decimal::from(1_000_000),
                    Some("4200205123457".into()),
                    Some("RT2".into())
                ),
            ]
        );
        assert_eq!(imp.rows[0].name.as_deref(), Some("NGUYEN VAN AN"));
        // "HO TRO" (support) is not part of the name.
        assert_eq!(imp.rows[1].name.as_deref(), Some("TRAN THI BINH"));
        assert_eq!(imp.rows[3].name.as_deref(), Some("TRAN THI BINH"));
        assert_eq!(imp.rejected_rows, 2, "{:?}", imp.errors);
        assert!(
            imp.errors[0]
                .reason_en
                .contains("credit that is not a return")
        );
        assert_eq!(imp.errors[0].row, 10);
        // A fee names nobody: refused, saying why.
        assert!(
            imp.errors[1]
                .reason_en
                .starts_with("neither a doisoat order reference")
        );
    }

    /// Techcombank's export puts the account's details, the period and the balances above
    /// its table: the header is on row 34.
    #[test]
    fn a_title_block_deeper_than_thirty_rows() {
        let mut csv = String::from("TECHCOMBANK\nSAO KÊ TÀI KHOẢN\n");
        for i in 3..34 {
            csv.push_str(&format!("Thông tin {i},giá trị {i}\n"));
        }
        csv.push_str("Ngày giao dịch,Đối tác,Diễn giải,Nợ TKTT - Debit,Có TKTT - Credit,Số dư\n");
        csv.push_str("02/10/2026,NGUYEN VAN AN,CT toi 190333444555 NGUYEN VAN AN tro cap,\"2,000,000\",,\"8,000,000\"\n");
        let opts = ImportOptions {
            default_bank: BankId::resolve("TCB"),
            ..ImportOptions::new(2026)
        };
        let imp =
            import_payouts("tcb.csv", csv.into_bytes(), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imp.header_row, 34);
        assert_eq!(imp.rows.len(), 1, "{:?}", imp.errors);
        assert_eq!(imp.rows[0].amount, Decimal::from(2_000_000));
        assert_eq!(imp.rows[0].account.as_deref(), Some("190333444555"));
        assert_eq!(imp.rows[0].status, PayoutStatus::Success);
    }

    #[test]
    fn export_headers_written_together_are_read() {
        let csv = "TNXDate,DocNo,Debit,Credit,Balance,Transactions in Detail\n\
            01/09/2024,5213.45946,,50.000,,292976.010924.013647.xin cam on\n\
            02/09/2024,5213.50001,-200.000,,,CT tu 0011001932418 MAT TRAN toi 0481000755821 LE VAN CUONG ho tro\n";
        let opts = ImportOptions {
            default_bank: BankId::resolve("VCB"),
            ..ImportOptions::new(2026)
        };
        let imp = import_payouts("vcb.csv", csv.as_bytes().to_vec(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (imp.data_rows, imp.rejected_rows),
            (2, 1),
            "{:?}",
            imp.errors
        );
        assert!(
            imp.errors[0]
                .reason_en
                .contains("credit that is not a return")
        );
        // TNXDate a date, DocNo the reference, a debit written negative still money out.
        let r = &imp.rows[0];
        assert_eq!(r.reference.as_deref(), Some("5213.50001"));
        assert_eq!(r.value_date, chrono::NaiveDate::from_ymd_opt(2024, 9, 2));
        assert_eq!(r.amount, Decimal::from(200_000));
        assert_eq!(r.account.as_deref(), Some("0481000755821"));
        assert_eq!(r.name.as_deref(), Some("LE VAN CUONG"));
    }

    /// Amounts in thousands, as the debit header says: scaled like a list's amounts.
    #[test]
    fn a_statement_in_thousands() {
        let csv = "Ngày giao dịch,Ghi nợ (nghìn đồng),Ghi có (nghìn đồng),Diễn giải\n\
            05/10/2026,1.500,,CT toi 4200205123456 NGUYEN VAN AN tro cap\n";
        let opts = ImportOptions {
            default_bank: BankId::resolve("VBA"),
            ..ImportOptions::new(2026)
        };
        let imp = import_payouts("sk.csv", csv.as_bytes().to_vec(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imp.rows.len(), 1, "{:?}", imp.errors);
        assert_eq!(imp.rows[0].amount, Decimal::from(1_500_000));
    }

    /// A result sheet with a credited-amount column and a status is no statement: its
    /// status says the outcome; a sheet naming nobody (no ID, no account) is refused whole.
    #[test]
    fn result_sheets_with_credit_columns_stay_result_sheets() {
        let csv = "Số tài khoản,Họ tên,Số tiền ghi có,Ngày ghi có,Trạng thái\n\
            4200205123456,NGUYEN VAN AN,1.500.000,05/10/2026,Không thành công\n\
            4200205123457,TRAN THI BINH,1.000.000,05/10/2026,Thành công\n";
        let opts = ImportOptions {
            default_bank: BankId::resolve("VBA"),
            ..ImportOptions::new(2026)
        };
        let imp = import_payouts("kq.csv", csv.as_bytes().to_vec(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imp.rejected_rows, 0, "{:?}", imp.errors);
        let got: Vec<_> = imp.rows.iter().map(|r| (r.status, r.amount)).collect();
        assert_eq!(
            got,
            vec![
                (PayoutStatus::Failed, Decimal::from(1_500_000)),
                (PayoutStatus::Success, Decimal::from(1_000_000)),
            ]
        );
        assert_eq!(
            imp.rows[0].value_date,
            chrono::NaiveDate::from_ymd_opt(2026, 10, 5)
        );

        let nobody = "Họ tên,Số tiền,Ghi chú\nNGUYEN VAN AN,1.500.000,đã chi\n";
        let err = import_payouts("kq2.csv", nobody.as_bytes().to_vec(), &opts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("Số tài khoản (account)"), "{err}");
        assert!(!err.contains("Lý do"), "{err}");
    }
}
