//! Payment orders for a bank, from a period's current lists: the pain.001 file the bank
//! executes, or the xlsx "bảng kê chi trả". The orders are stored, so the bank's answers
//! (pain.002, camt, MT940), which name only the end-to-end reference, link back to the
//! list rows they pay, also after a list is replaced.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{ServiceError, ServiceResult};
use crate::domain::banks::BankId;
use crate::domain::payment_orders::{list_key, message_id, period_key, plan};
use crate::domain::period::PeriodCode;
use crate::report::pain001::{self, OrderHeader, Pain001Version};
use crate::store::{NewPaymentOrder, NewPaymentOrders, Store, TokenInfo};

/// What the orders are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdersFormat {
    Pain001(Pain001Version),
    Xlsx,
}

/// A request for one bank's orders.
#[derive(Debug, Clone)]
pub struct OrdersRequest {
    pub period_id: i64,
    pub bank: BankId,
    /// The unit whose subtree's lists are ordered (checked by the caller to be visible).
    pub unit: String,
    pub debtor_account: String,
    pub debtor_name: String,
    pub format: OrdersFormat,
    pub ascii: bool,
    /// Vietnam's today when not given.
    pub execution_date: Option<NaiveDate>,
    /// Write orders again that were sent already in another message (a bank lost the
    /// file); otherwise refused, so the same transfers are not executed twice.
    pub resend: bool,
}

/// The file, and what it holds.
#[derive(Debug, Clone)]
pub struct OrdersFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub message_id: String,
    /// NbOfTxs and CtrlSum.
    pub orders: usize,
    pub amount: Decimal,
    /// Of them, stored for the first time.
    pub new: u64,
    /// Rows of those lists naming the bank that are not ordered (no usable account or
    /// name, not a positive whole amount).
    pub not_ordered: usize,
}

/// Longest debtor name (ISO 20022 `Max140Text`) and account (`Max34Text`).
const MAX_NAME: usize = 140;
const MAX_ACCOUNT: usize = 34;

/// One bank's orders from the period's current lists within `req.unit`'s subtree, one
/// payment information block per list. Writers make them; a bank's token only its own
/// bank's. Refused (409 `no-orders`) when no row of those lists is paid through that bank.
pub async fn payment_orders(
    store: &dyn Store,
    req: OrdersRequest,
    by: &TokenInfo,
) -> ServiceResult<OrdersFile> {
    let own_bank = by.bank_code.as_deref() == Some(req.bank.code());
    if !by.role.can_write() && !own_bank {
        return Err(ServiceError::Forbidden(format!(
            "Vai trò '{role}' không được lập lệnh chi cho {bank} / role '{role}' may not write {bank}'s payment orders",
            role = by.role.as_str(),
            bank = req.bank.short_name()
        )));
    }
    let debtor_account: String = req.debtor_account.split_whitespace().collect();
    let debtor_name = req
        .debtor_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if debtor_account.is_empty()
        || debtor_account.chars().count() > MAX_ACCOUNT
        || !debtor_account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ServiceError::invalid(
            "debtor-account",
            format!(
                "debtor_account: tài khoản chi của đơn vị, tối đa {MAX_ACCOUNT} chữ và số / the paying account, at most {MAX_ACCOUNT} letters and digits"
            ),
        ));
    }
    if debtor_name.is_empty() || debtor_name.chars().count() > MAX_NAME {
        return Err(ServiceError::invalid(
            "debtor-name",
            format!(
                "debtor_name: tên đơn vị chi trả, tối đa {MAX_NAME} ký tự / the paying office's name, at most {MAX_NAME} characters"
            ),
        ));
    }
    let period = store
        .get_period(req.period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {}", req.period_id)))?;
    let inputs = store.period_inputs(req.period_id).await?;
    let tree = crate::domain::units::shipped_tree();
    let pk = period_key(&period.code);
    let mut lists: Vec<_> = inputs
        .lists
        .iter()
        .filter(|l| tree.is_within(&l.upload.unit, &req.unit))
        .collect();
    lists.sort_by(|a, b| a.upload.unit.cmp(&b.upload.unit));
    let mut orders = Vec::new();
    let mut keys = Vec::new();
    let mut at_bank = 0;
    for list in &lists {
        use crate::domain::records::ListRows;
        at_bank += (0..list.rows.len())
            .filter(|&i| list.rows.bank(i) == Some(req.bank))
            .count();
        let lk = list_key(&list.upload.sha256, list.upload.sheet.as_deref());
        let planned = plan(&list.rows, &pk, &lk, req.bank);
        if planned.is_empty() {
            continue;
        }
        keys.push(lk);
        orders.extend(planned.into_iter().map(|line| NewPaymentOrder {
            list_upload_id: list.upload.id,
            unit: list.upload.unit.clone(),
            line,
        }));
    }
    if orders.is_empty() {
        return Err(ServiceError::refused(
            "no-orders",
            format!(
                "Không có đối tượng nào nhận qua tài khoản {bank} trong danh sách hiện hành của {unit} / no beneficiary on {unit}'s current lists is paid into a {bank} account",
                bank = req.bank.short_name(),
                unit = req.unit
            ),
        ));
    }
    // One list: the message the command line writes for it. Several: one message naming
    // the lists it sends (the same lists, the same id).
    let message = match keys.as_slice() {
        [one] => message_id(&pk, one, req.bank),
        many => {
            let digest = crate::domain::sha256_hex(many.join(",").as_bytes());
            format!("DS-{pk}-{}-{}", req.bank.code(), list_key(&digest, None))
        }
    };
    // Orders sent already in another message would be executed twice.
    let stored = store
        .payment_orders(req.period_id, Some(req.bank.code()), None)
        .await?;
    let mut blocks: Vec<&str> = orders.iter().map(|o| &*o.line.payment_info).collect();
    blocks.dedup();
    let sent: Vec<&str> = blocks
        .iter()
        .flat_map(|b| stored.messages_of(b))
        .filter(|m| *m != message)
        .collect();
    if !sent.is_empty() && !req.resend {
        return Err(ServiceError::refused(
            "orders-sent",
            format!(
                "Các lệnh này đã được lập trong lệnh {sent}: gửi lại sẽ chi hai lần. Nếu ngân hàng chưa nhận được tệp đó, hãy tải lại đúng tệp đó (cùng đơn vị), hoặc gửi lại với resend=true / these orders were sent already in message {sent}: sending them again would pay twice. If the bank never got that file, fetch it again (the same unit), or ask with resend=true",
                sent = sent.join(", ")
            ),
        ));
    }
    let amount: Decimal = orders.iter().map(|o| o.line.amount).sum();
    let count = orders.len();
    let now = crate::domain::dates::vietnam_time(chrono::Utc::now());
    let words = PeriodCode::words_of(&period.code, true);
    let header = OrderHeader {
        bank: req.bank,
        debtor_name,
        debtor_account,
        message_id: message.clone(),
        created: now,
        execution_date: req.execution_date.unwrap_or(now.date_naive()),
        remittance: format!(
            "Chi trả {} {}",
            period.programme_name.to_lowercase(),
            words.to_lowercase()
        ),
        ascii: req.ascii,
        version: match req.format {
            OrdersFormat::Pain001(v) => v,
            OrdersFormat::Xlsx => Pain001Version::V10,
        },
    };
    let lines: Vec<_> = orders.iter().map(|o| o.line.clone()).collect();
    let (body, content_type, ext) = match req.format {
        OrdersFormat::Pain001(_) => (
            pain001::write(&header, &lines).into_bytes(),
            "application/xml",
            "xml",
        ),
        OrdersFormat::Xlsx => (
            crate::report::xlsx::orders::write(&header, &lines, &words)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let new = store
        .save_payment_orders(NewPaymentOrders {
            period_id: req.period_id,
            message_id: message.clone(),
            bank: req.bank.code().to_owned(),
            orders,
            actor: by.actor(),
        })
        .await?;
    let unit: String = req
        .unit
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    Ok(OrdersFile {
        file_name: format!("lenh-chi-{}-{pk}-{unit}.{ext}", req.bank.code()),
        content_type,
        body,
        message_id: message,
        orders: count,
        amount,
        new,
        not_ordered: at_bank.saturating_sub(count),
    })
}
