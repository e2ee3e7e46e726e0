//! Finding the header row of an office spreadsheet and what each column holds.

use rust_decimal::Decimal;

use super::grid::{Cell, Grid};
use crate::domain::money::parse_unit;
use crate::domain::names::fold;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    PopulationId,
    Name,
    Amount,
    Account,
    Bank,
    BirthDate,
    Sex,
    Category,
    Commune,
    Address,
    Reference,
    Status,
    ValueDate,
    Reason,
    /// A bank statement's debit and credit columns (sao kê: Ghi nợ, Ghi có): money out
    /// of the paying account is a payout, money back a return.
    Debit,
    Credit,
    /// Row number (STT): recognised so it is not mistaken for data.
    Seq,
    /// Known columns the importers do not use (signatures, coefficients…).
    Ignore,
}

pub const FIELD_COUNT: usize = 18;

impl Field {
    fn index(self) -> usize {
        self as usize
    }

    /// The column name a user should add, in Vietnamese and English.
    pub fn label(self) -> &'static str {
        match self {
            Field::PopulationId => "Số định danh cá nhân (population_id)",
            Field::Name => "Họ và tên (name)",
            Field::Amount => "Số tiền (amount)",
            Field::Account => "Số tài khoản (account_number)",
            Field::Bank => "Ngân hàng (bank)",
            Field::BirthDate => "Ngày sinh (date_of_birth)",
            Field::Sex => "Giới tính (sex)",
            Field::Category => "Đối tượng (category)",
            Field::Commune => "Xã/phường (commune)",
            Field::Address => "Địa chỉ (address)",
            Field::Reference => "Số tham chiếu (transaction_ref)",
            Field::Status => "Trạng thái (status)",
            Field::ValueDate => "Ngày hạch toán (value_date)",
            Field::Reason => "Lý do (reason)",
            Field::Debit => "Ghi nợ (debit)",
            Field::Credit => "Ghi có (credit)",
            Field::Seq => "STT",
            Field::Ignore => "",
        }
    }
}

/// Header patterns: folded words that must appear contiguously in the header; a leading
/// `=` means the whole header must be exactly these words. The longest match wins, so
/// "Tên chủ tài khoản" is a name and "Số tài khoản ngân hàng" an account. Within a field,
/// earlier patterns are preferred when several columns match (Thành tiền over Mức trợ cấp).
const PATTERNS: &[(Field, &[&str])] = &[
    (
        Field::Seq,
        &["=stt", "=tt", "=so tt", "=so thu tu", "=no", "=#", "=order"],
    ),
    (
        Field::Reference,
        &[
            "so tham chieu",
            // Agribank's and VietinBank's exports: an empty DocumentNumber before it.
            "reference number",
            "ma tham chieu",
            "ma giao dich",
            "so but toan",
            "so giao dich",
            "ma gd",
            "so chung tu",
            "doc no",
            "document number",
            "transaction ref",
            "transaction reference",
            "transaction id",
            "reference",
            "=ref",
            "txn id",
            "trace",
        ],
    ),
    (
        Field::PopulationId,
        &[
            "so dinh danh",
            "dinh danh",
            "ddcn",
            "cccd",
            "can cuoc",
            "cmnd",
            "so cmt",
            "population id",
            "personal id",
            "national id",
            "citizen id",
            "id number",
            "id no",
            "=id",
        ],
    ),
    (
        Field::Name,
        &[
            "ho va ten",
            "ho ten",
            "ten nguoi thu huong",
            "ten nguoi huong",
            "nguoi thu huong",
            "ten doi tuong",
            "ten chu tai khoan",
            "chu tai khoan",
            "ten khach hang",
            "full name",
            "beneficiary name",
            "account name",
            "account holder",
            "payee name",
            "payee",
            "=beneficiary",
            "=name",
            "=ten",
        ],
    ),
    (
        Field::Account,
        &[
            // A statement's counterparty, before any other account column it has.
            "tai khoan doi ung",
            "tk doi ung",
            "so tai khoan",
            "=stk",
            "stk",
            "tai khoan",
            "so tk",
            "=tk",
            "account number",
            "account no",
            "=account",
        ],
    ),
    (
        Field::Amount,
        &[
            "thanh tien",
            "so tien duoc huong",
            "so tien",
            "tong tien",
            "muc tro cap",
            "muc huong",
            "kinh phi",
            "tien tro cap",
            "amount",
            "=tien",
        ],
    ),
    (
        Field::BirthDate,
        &[
            "ngay thang nam sinh",
            "ngay sinh",
            "nam sinh",
            "date of birth",
            "birth date",
            "=dob",
            "year of birth",
            "birth year",
            "birthday",
        ],
    ),
    (
        Field::ValueDate,
        &[
            "ngay hach toan",
            "ngay ghi co",
            "ngay ghi no",
            "ngay giao dich",
            "ngay chi tra",
            "ngay chi",
            "ngay chuyen",
            "ngay thanh toan",
            "value date",
            "transaction date",
            "posting date",
            "payment date",
            "tnx date",
            "=date",
            "=ngay",
        ],
    ),
    (
        Field::Status,
        &["trang thai", "ket qua", "status", "=result"],
    ),
    (
        Field::Reason,
        &[
            "ly do",
            "ghi chu",
            "reason",
            "=note",
            "=notes",
            "remark",
            "mo ta",
            "description",
            "noi dung",
            "dien giai",
            "chi tiet giao dich",
            "transaction details",
            "transactions in detail",
        ],
    ),
    (
        Field::Debit,
        &[
            "so tien ghi no",
            "ghi no",
            // Techcombank: "Nợ TKTT - Debit" (the current account's debit side).
            "no tktt",
            "=no debit",
            "phat sinh no",
            "debit amount",
            "=debit",
            "=debits",
        ],
    ),
    (
        Field::Credit,
        &[
            "so tien ghi co",
            "ghi co",
            "co tktt",
            "=co credit",
            "phat sinh co",
            "credit amount",
            "=credit",
            "=credits",
        ],
    ),
    (Field::Sex, &["gioi tinh", "=sex", "=gender", "=nam nu"]),
    (
        Field::Category,
        &[
            "loai doi tuong",
            "nhom doi tuong",
            "dien doi tuong",
            "doi tuong",
            "category",
            "beneficiary type",
            "=group",
        ],
    ),
    (
        Field::Commune,
        &[
            "xa phuong",
            "xa phuong thi tran",
            "ten xa",
            "=xa",
            "=phuong",
            "thi tran",
            "commune",
            "=ward",
        ],
    ),
    (
        Field::Address,
        &["dia chi", "address", "noi cu tru", "thuong tru", "noi o"],
    ),
    (
        Field::Bank,
        &[
            "ngan hang",
            "=bank",
            "bank name",
            "ten nh",
            "=nh",
            "ma ngan hang",
            "bank code",
        ],
    ),
    (
        Field::Ignore,
        &[
            "ma doi tuong",
            "ma ho so",
            "he so",
            "so thang",
            "ky nhan",
            "chu ky",
            "ky ten",
            "chi nhanh ngan hang",
            "ten chi nhanh",
            "=chi nhanh",
            "so dien thoai",
            "dien thoai",
            "phone",
            "so du",
            "so du tai khoan",
            "=balance",
            "page id",
            // VietinBank's export writes the counterparty's name there, not an account.
            "offset account",
            "=time",
            "thoi gian",
        ],
    ),
];

/// Folded words of a header, without any parenthesised part (a unit or a note); words
/// written together in a bank's export are split (`DebitAmount`, `TNXDate`).
fn header_words(text: &str) -> String {
    let mut plain = String::with_capacity(text.len() + 8);
    let mut depth = 0usize;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => {
                // camelCase, in ASCII only (banks' exports are; a legacy font's `SỐ ðỊNH`
                // is no camelCase): a capital after a small letter, or the last capital of
                // a run before a small letter (`TNXDate` → `TNX Date`).
                let next_lower = chars.peek().is_some_and(char::is_ascii_lowercase);
                if ch.is_ascii_uppercase()
                    && prev.is_some_and(|p| {
                        p.is_ascii_lowercase() || (p.is_ascii_uppercase() && next_lower)
                    })
                {
                    plain.push(' ');
                }
                plain.push(ch);
            }
            _ => {}
        }
        prev = Some(ch);
    }
    let folded = fold(&plain);
    folded
        .split(|c: char| !c.is_alphanumeric() && c != '#')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The field a header names, with its preference within that field (lower = better).
pub fn classify(text: &str) -> Option<(Field, usize)> {
    let words = header_words(text);
    if words.is_empty() {
        return None;
    }
    let padded = format!(" {words} ");
    let mut best: Option<(usize, Field, usize)> = None; // (matched words, field, preference)
    for (field, patterns) in PATTERNS {
        for (pref, pat) in patterns.iter().enumerate() {
            let (exact, pat) = match pat.strip_prefix('=') {
                Some(p) => (true, p),
                None => (false, *pat),
            };
            let hit = if exact {
                words == pat
            } else {
                padded.contains(&format!(" {pat} "))
            };
            if hit {
                let len = pat.split(' ').count();
                if best.is_none_or(|(l, _, _)| len > l) {
                    best = Some((len, *field, pref));
                }
            }
        }
    }
    best.map(|(_, f, p)| (f, p))
}

/// The recognised header: which column holds each field, and the amount unit.
#[derive(Debug, Clone)]
pub struct Header {
    /// Grid index of the last header row; data starts below it.
    pub last_row: usize,
    /// Spreadsheet row number of the (first) header row, for messages.
    pub row_number: u32,
    columns: [Option<usize>; FIELD_COUNT],
    /// Header text per column, for messages.
    pub names: Vec<String>,
    /// Multiplier for amounts (ĐVT: 1.000 đồng → 1000).
    pub unit: Decimal,
}

impl Header {
    pub fn column(&self, f: Field) -> Option<usize> {
        self.columns[f.index()]
    }
    pub fn has(&self, f: Field) -> bool {
        self.column(f).is_some()
    }
    pub fn name_of(&self, c: usize) -> &str {
        self.names.get(c).map_or("", String::as_str)
    }
}

/// Why no header was found: what was seen, for the user's error message.
#[derive(Debug, Clone)]
pub struct NotFound {
    pub found: Vec<String>,
    pub missing: Vec<String>,
}

/// How far down an office title block may push the header (a Techcombank statement
/// export puts its header on row 34, under the account's details).
pub const HEADER_SCAN_ROWS: usize = 60;

type RowFields = Vec<Option<(Field, usize)>>;

fn row_fields(grid: &Grid, r: usize) -> RowFields {
    (0..grid.width(r))
        .map(|c| match grid.cell(r, c) {
            Cell::Text(t) => classify(t),
            _ => None,
        })
        .collect()
}

fn score(fields: &RowFields) -> usize {
    let mut seen = [false; FIELD_COUNT];
    for (f, _) in fields.iter().flatten() {
        if !matches!(f, Field::Seq | Field::Ignore) {
            seen[f.index()] = true;
        }
    }
    seen.iter().filter(|s| **s).count()
}

/// Find the header among the first rows. `required` lists groups of alternatives: each
/// group needs one of its fields (e.g. `[[Amount], [PopulationId, Account]]`).
pub fn find(grid: &Grid, required: &[&[Field]]) -> Result<Header, NotFound> {
    let scan = grid.height().min(HEADER_SCAN_ROWS);
    let rows: Vec<RowFields> = (0..scan).map(|r| row_fields(grid, r)).collect();
    let best = (0..scan).max_by_key(|&r| (score(&rows[r]), std::cmp::Reverse(r)));
    let Some(best) = best.filter(|&r| score(&rows[r]) >= 2) else {
        return Err(NotFound {
            found: texts_of_first_nonblank_row(grid, scan),
            missing: required.iter().map(|g| group_label(g)).collect(),
        });
    };

    // Two-row headers ("Thông tin tài khoản" over "Số tài khoản | Ngân hàng"): take the
    // neighbour row that adds the most fields the best row lacks.
    let mut merged = rows[best].clone();
    let mut last_row = best;
    let mut best_gain = (0, best);
    for n in [best + 1, best.wrapping_sub(1)] {
        if n >= scan {
            continue;
        }
        let gain = (0..rows[n].len())
            .filter(|&c| {
                merged.get(c).copied().flatten().is_none()
                    && rows[n][c]
                        .is_some_and(|(f, _)| !merged.iter().flatten().any(|(g, _)| *g == f))
            })
            .count();
        if gain > best_gain.0 {
            best_gain = (gain, n);
        }
    }
    let (gain, n) = best_gain;
    if gain > 0 {
        if merged.len() < rows[n].len() {
            merged.resize(rows[n].len(), None);
        }
        for c in 0..rows[n].len() {
            if merged[c].is_none() {
                merged[c] = rows[n][c];
            }
        }
        last_row = best.max(n);
    }
    let first_row = best.min(if gain > 0 { n } else { best });

    let mut columns: [Option<(usize, usize)>; FIELD_COUNT] = [None; FIELD_COUNT];
    for (c, slot) in merged.iter().enumerate() {
        if let Some((f, pref)) = slot {
            let cur = &mut columns[f.index()];
            if cur.is_none_or(|(_, p)| *pref < p) {
                *cur = Some((c, *pref));
            }
        }
    }
    let width = merged.len();
    let names: Vec<String> = (0..width)
        .map(|c| {
            let lower = grid.cell(last_row, c);
            let upper = grid.cell(first_row, c);
            let cell = if merged[c].is_some()
                && !lower.is_empty()
                && rows[last_row].get(c).copied().flatten().is_some()
            {
                lower
            } else if !upper.is_empty() {
                upper
            } else {
                lower
            };
            cell.display().into_owned()
        })
        .collect();

    let header = Header {
        last_row,
        row_number: grid.row_number(first_row),
        columns: columns.map(|c| c.map(|(col, _)| col)),
        names,
        unit: Decimal::ONE,
    };
    let missing: Vec<String> = required
        .iter()
        .filter(|group| !group.iter().any(|f| header.has(*f)))
        .map(|group| group_label(group))
        .collect();
    if !missing.is_empty() {
        return Err(NotFound {
            found: header
                .names
                .iter()
                .filter(|n| !n.is_empty())
                .cloned()
                .collect(),
            missing,
        });
    }
    let unit = amount_unit(grid, &header, first_row);
    Ok(Header { unit, ..header })
}

fn group_label(group: &[Field]) -> String {
    group
        .iter()
        .map(|f| f.label())
        .collect::<Vec<_>>()
        .join(" hoặc/or ")
}

/// The amount unit: stated in the amount header's parentheses (a statement's debit or
/// credit header's), else in the title block.
fn amount_unit(grid: &Grid, header: &Header, first_row: usize) -> Decimal {
    for f in [Field::Amount, Field::Debit, Field::Credit] {
        if let Some(c) = header.column(f)
            && let Some(u) = parse_unit(header.name_of(c))
        {
            return u;
        }
    }
    for r in 0..first_row {
        for c in 0..grid.width(r) {
            if let Cell::Text(t) = grid.cell(r, c)
                && let Some(u) = parse_unit(t)
            {
                return u;
            }
        }
    }
    Decimal::ONE
}

fn texts_of_first_nonblank_row(grid: &Grid, scan: usize) -> Vec<String> {
    (0..scan)
        .find(|&r| !grid.is_blank_row(r))
        .map(|r| {
            (0..grid.width(r))
                .map(|c| grid.cell(r, c).display().into_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(text: &str) -> Option<Field> {
        classify(text).map(|(f, _)| f)
    }

    /// Statement exports' columns, and what they must not take from result sheets.
    #[test]
    fn statement_headers() {
        assert_eq!(f("DebitAmount"), Some(Field::Debit));
        assert_eq!(f("CreditAmount"), Some(Field::Credit));
        assert_eq!(f("Ghi nợ"), Some(Field::Debit));
        assert_eq!(f("Số tiền ghi có"), Some(Field::Credit));
        assert_eq!(f("Nợ TKTT - Debit"), Some(Field::Debit));
        assert_eq!(f("TNXDate"), Some(Field::ValueDate));
        assert_eq!(f("TransactionDetails"), Some(Field::Reason));
        assert_eq!(f("ReferenceNumber"), Some(Field::Reference));
        assert_eq!(f("Tài khoản đối ứng"), Some(Field::Account));
        // A result sheet's dates and balances are no debit, credit or account.
        assert_eq!(f("Ngày ghi có"), Some(Field::ValueDate));
        assert_eq!(f("Số dư tài khoản"), Some(Field::Ignore));
        assert_eq!(f("Số tiền gửi"), Some(Field::Amount));
        // Legacy fonts' capitals (`ð` for Đ) are not split as camelCase.
        assert_eq!(f("SỐ ðỊNH DANH"), Some(Field::PopulationId));
        assert_eq!(f("ðỊA CHỈ"), Some(Field::Address));
        // The counterparty column wins over the account a statement is of.
        let (_, counter) = classify("Tài khoản đối ứng").unwrap_or((Field::Ignore, 99));
        let (_, own) = classify("Số tài khoản").unwrap_or((Field::Ignore, 99));
        assert!(counter < own);
    }

    #[test]
    fn vietnamese_and_english_headers() {
        assert_eq!(f("Số định danh cá nhân"), Some(Field::PopulationId));
        assert_eq!(f("Số CCCD"), Some(Field::PopulationId));
        assert_eq!(f("CCCD/ĐDCN"), Some(Field::PopulationId));
        assert_eq!(f("population_id"), Some(Field::PopulationId));
        assert_eq!(f("Họ và tên"), Some(Field::Name));
        assert_eq!(f("HỌ TÊN"), Some(Field::Name));
        assert_eq!(f("Tên người thụ hưởng"), Some(Field::Name));
        assert_eq!(f("Tên chủ tài khoản"), Some(Field::Name));
        assert_eq!(f("Số tiền được hưởng (đồng)"), Some(Field::Amount));
        assert_eq!(f("Mức trợ cấp"), Some(Field::Amount));
        assert_eq!(f("Thành tiền"), Some(Field::Amount));
        assert_eq!(f("Số tiền"), Some(Field::Amount));
        assert_eq!(f("amount"), Some(Field::Amount));
        assert_eq!(f("Số tài khoản"), Some(Field::Account));
        assert_eq!(f("STK"), Some(Field::Account));
        assert_eq!(f("Số tài khoản ngân hàng"), Some(Field::Account));
        assert_eq!(f("Ngân hàng"), Some(Field::Bank));
        assert_eq!(f("Tên ngân hàng"), Some(Field::Bank));
        assert_eq!(f("Ngày sinh"), Some(Field::BirthDate));
        assert_eq!(f("Năm sinh"), Some(Field::BirthDate));
        assert_eq!(f("Ngày, tháng, năm sinh"), Some(Field::BirthDate));
        assert_eq!(f("Giới tính"), Some(Field::Sex));
        assert_eq!(f("Đối tượng"), Some(Field::Category));
        assert_eq!(f("Xã/phường"), Some(Field::Commune));
        assert_eq!(f("Địa chỉ"), Some(Field::Address));
        assert_eq!(f("Số tham chiếu"), Some(Field::Reference));
        assert_eq!(f("Mã giao dịch"), Some(Field::Reference));
        assert_eq!(f("Số bút toán"), Some(Field::Reference));
        assert_eq!(f("Trạng thái"), Some(Field::Status));
        assert_eq!(f("Ngày hạch toán"), Some(Field::ValueDate));
        assert_eq!(f("Lý do"), Some(Field::Reason));
        assert_eq!(f("Ghi chú"), Some(Field::Reason));
        assert_eq!(f("STT"), Some(Field::Seq));
        assert_eq!(f("transaction_ref"), Some(Field::Reference));
        assert_eq!(f("account_number"), Some(Field::Account));
        assert_eq!(f("beneficiary_name"), Some(Field::Name));
        assert_eq!(f("value_date"), Some(Field::ValueDate));
        assert_eq!(f("Mã đối tượng"), Some(Field::Ignore));
        assert_eq!(f("Chi nhánh ngân hàng"), Some(Field::Ignore));
    }

    #[test]
    fn titles_are_not_headers() {
        assert_eq!(f("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), None);
        assert_eq!(f("Độc lập - Tự do - Hạnh phúc"), None);
        assert_eq!(f(""), None);
    }

    #[test]
    fn preference_orders_amount_columns() {
        let thanh_tien = classify("Thành tiền").map(|(_, p)| p);
        let muc = classify("Mức trợ cấp/tháng").map(|(_, p)| p);
        assert!(thanh_tien < muc);
    }
}
