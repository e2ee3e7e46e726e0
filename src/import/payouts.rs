//! Bank result files (kết quả chi) → `PayoutRow`s.

use super::beneficiaries::{read_account, read_bank, read_date, read_id};
use super::header::Field;
use super::source::Input;
use super::{ImportError, ImportOptions, Imported, RowCtx, Rows, finish, open_table};
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

fn import<R: Rows<PayoutRow>>(
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
    if !header.has(Field::Bank) && opts.default_bank.is_none() {
        return Err(ImportError::NoBank { file: file.into() });
    }
    let mut notices = Vec::new();
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
