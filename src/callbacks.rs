//! Bank callbacks: what a bank may post, validated into `CallbackPayout`s, and the
//! group-commit writer that stores them. Concurrent requests queue for one writer task,
//! which stores everything waiting in ONE transaction (one fsync) and answers each request
//! only after that transaction has committed: durable acknowledgements at a rate no
//! per-request commit could reach.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::domain::banks::BankId;
use crate::domain::money;
use crate::domain::period::PeriodCode;
use crate::domain::status::PayoutStatus;
use crate::store::{CallbackPayout, CallbackRequest, CallbackVerdict, Store};

/// Items in one request.
pub const MAX_ITEMS: usize = 1_000;
/// A request body: a full batch of items at their longest fields, with room to spare.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Items the writer stores in one transaction (a few full batches, or many small requests).
const MAX_GROUP_ITEMS: usize = 4_000;

/// One item as posted. Every field optional here, so a missing one gets a precise message.
#[derive(Debug, Deserialize)]
struct ItemIn {
    transaction_ref: Option<String>,
    period: Option<String>,
    population_id: Option<String>,
    account_number: Option<String>,
    beneficiary_name: Option<String>,
    amount: Option<serde_json::Value>,
    currency: Option<String>,
    status: Option<String>,
    value_date: Option<String>,
    reason: Option<String>,
    /// Optional; when given it must be the token's own bank.
    bank: Option<String>,
}

/// Why an item was refused; the whole request is refused with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// 0-based position in the batch (0 for a single object).
    pub item: usize,
    pub transaction_ref: Option<String>,
    pub field: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    NotJson(String),
    Empty,
    TooMany(usize),
    Item(ItemError),
    /// An item names another bank than the token's.
    WrongBank(ItemError),
}

/// The validated body: its items, and whether it was a batch (array) or one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub items: Vec<CallbackPayout>,
    pub batch: bool,
}

/// Parse and validate a body for the bank `bank`. All or nothing: the first bad item
/// refuses the request.
pub fn parse(body: &[u8], bank: BankId) -> Result<Parsed, ParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let (values, batch) = match value {
        serde_json::Value::Array(v) => (v, true),
        other => (vec![other], false),
    };
    if values.is_empty() {
        return Err(ParseError::Empty);
    }
    if values.len() > MAX_ITEMS {
        return Err(ParseError::TooMany(values.len()));
    }
    let items = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| item(i, v, bank))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed { items, batch })
}

fn item(index: usize, v: serde_json::Value, bank: BankId) -> Result<CallbackPayout, ParseError> {
    let bad = |tref: Option<&str>, field: &'static str, reason: String| {
        ParseError::Item(ItemError {
            item: index,
            transaction_ref: tref.map(str::to_owned),
            field,
            reason,
        })
    };
    if !v.is_object() {
        return Err(bad(
            None,
            "item",
            "mỗi mục phải là một đối tượng JSON / each item must be a JSON object".into(),
        ));
    }
    let it: ItemIn = serde_json::from_value(v).map_err(|e| bad(None, "item", e.to_string()))?;
    let text = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let tref = text(it.transaction_ref)
        .filter(|r| r.len() <= 100)
        .ok_or_else(|| {
            bad(
                None,
                "transaction_ref",
                "bắt buộc, tối đa 100 ký tự / required, at most 100 characters".into(),
            )
        })?;
    let t = Some(tref.as_str());
    if let Some(b) = text(it.bank)
        && BankId::resolve(&b) != Some(bank)
    {
        return Err(ParseError::WrongBank(ItemError {
            item: index,
            transaction_ref: Some(tref),
            field: "bank",
            reason: format!(
                "token của {} không được gửi giao dịch của '{b}' / this token may only post {}'s payouts",
                bank.short_name(),
                bank.short_name()
            ),
        }));
    }
    let period = text(it.period)
        .ok_or_else(|| bad(t, "period", "bắt buộc / required".into()))
        .and_then(|p| {
            PeriodCode::parse(&p).map_err(|e| {
                bad(
                    t,
                    "period",
                    format!("{} / {}", e.message_vi(), e.message_en()),
                )
            })
        })?;
    let population_id = text(it.population_id)
        .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .map(|p| {
            if p.chars().all(|c| c.is_ascii_digit()) && (p.len() == 12 || p.len() == 9) {
                Ok(p)
            } else {
                Err(bad(
                    t,
                    "population_id",
                    format!(
                        "cần 12 chữ số (hoặc CMND 9 số) / 12 digits (or a 9-digit CMND): '{p}'"
                    ),
                ))
            }
        })
        .transpose()?;
    let account_number = text(it.account_number)
        .map(|a| a.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .ok_or_else(|| bad(t, "account_number", "bắt buộc / required".into()))?;
    let amount = amount(it.amount).map_err(|reason| bad(t, "amount", reason))?;
    match text(it.currency).as_deref() {
        Some("VND") => {}
        other => {
            return Err(bad(
                t,
                "currency",
                format!("phải là \"VND\" / must be \"VND\": {other:?}"),
            ));
        }
    }
    let status = match text(it.status).as_deref() {
        Some("success") => PayoutStatus::Success,
        Some("failed") => PayoutStatus::Failed,
        Some("returned") => PayoutStatus::Returned,
        other => {
            return Err(bad(
                t,
                "status",
                format!("success | failed | returned: {other:?}"),
            ));
        }
    };
    let value_date = text(it.value_date)
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            bad(
                t,
                "value_date",
                "ngày dạng YYYY-MM-DD / a YYYY-MM-DD date".into(),
            )
        })?;
    Ok(CallbackPayout {
        transaction_ref: tref,
        period: period.as_str().to_owned(),
        population_id,
        account_number,
        beneficiary_name: text(it.beneficiary_name),
        amount,
        status,
        value_date,
        reason: text(it.reason),
    })
}

/// A decimal string (or a JSON number, taken from its text, never through f64 math):
/// whole đồng, more than zero.
fn amount(v: Option<serde_json::Value>) -> Result<i64, String> {
    let text = match v {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err("bắt buộc: chuỗi số thập phân / required: a decimal string".into()),
    };
    let d: Decimal = money::parse_amount_text(&text)
        .and_then(|d| money::to_dong(d, Decimal::ONE))
        .map_err(|e| format!("{} / {}", e.message_vi(), e.message_en()))?;
    if d <= Decimal::ZERO {
        return Err(format!("phải lớn hơn 0 / must be more than 0: {text}"));
    }
    d.to_i64()
        .ok_or_else(|| format!("quá lớn / too large: {text}"))
}

struct Job {
    request: CallbackRequest,
    reply: oneshot::Sender<Result<CallbackVerdict, String>>,
}

/// The handle requests submit to; clones share the one writer.
#[derive(Clone)]
pub struct CallbackQueue {
    tx: mpsc::Sender<Job>,
}

impl CallbackQueue {
    /// Start the writer task on the current Tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(8_192);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut items = first.request.items.len();
                let mut jobs = vec![first];
                while items < MAX_GROUP_ITEMS {
                    match rx.try_recv() {
                        Ok(job) => {
                            items += job.request.items.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let (requests, replies): (Vec<_>, Vec<_>) =
                    jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
                match store.save_callbacks(requests).await {
                    Ok(verdicts) => {
                        for (reply, verdict) in replies.into_iter().zip(verdicts) {
                            let _ = reply.send(Ok(verdict));
                        }
                    }
                    // Nothing was committed: every waiting bank gets an error and retries.
                    Err(e) => {
                        tracing::error!(error = %e, "storing callbacks");
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        CallbackQueue { tx }
    }

    /// Store one request; returns after the transaction holding it has committed.
    pub async fn submit(&self, request: CallbackRequest) -> Result<CallbackVerdict, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { request, reply })
            .await
            .map_err(|_| "callback writer stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "callback writer stopped".to_owned())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agribank() -> BankId {
        BankId::resolve("Agribank").unwrap_or_else(|| panic!("Agribank"))
    }

    const ONE: &str = r#"{"transaction_ref":"FT1","period":"Tháng 9/2024","population_id":"025038000101","account_number":"4200 205123456","beneficiary_name":"NGUYEN VAN AN","amount":"1500000","currency":"VND","status":"success","value_date":"2024-09-20"}"#;

    #[test]
    fn one_object_normalised() {
        let p = parse(ONE.as_bytes(), agribank()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!p.batch);
        let it = &p.items[0];
        assert_eq!(it.period, "2024-09");
        assert_eq!(it.account_number, "4200205123456");
        assert_eq!(it.amount, 1_500_000);
        assert_eq!(it.status, PayoutStatus::Success);
    }

    #[test]
    fn amounts_are_exact() {
        for (v, want) in [
            (serde_json::json!("1500000"), Ok(1_500_000)),
            (serde_json::json!("1500000.00"), Ok(1_500_000)),
            (serde_json::json!(1500000), Ok(1_500_000)),
            (serde_json::json!(1500000.0), Ok(1_500_000)),
        ] {
            assert_eq!(amount(Some(v)), want);
        }
        assert!(amount(Some(serde_json::json!("1500000.5"))).is_err());
        assert!(amount(Some(serde_json::json!(0))).is_err());
        assert!(amount(Some(serde_json::json!("-5"))).is_err());
        assert!(amount(None).is_err());
    }

    #[test]
    fn a_bad_item_refuses_the_batch_and_says_which() {
        let bad = ONE.replace("\"VND\"", "\"USD\"").replace("FT1", "FT2");
        let body = format!("[{ONE},{bad}]");
        match parse(body.as_bytes(), agribank()) {
            Err(ParseError::Item(e)) => {
                assert_eq!(
                    (e.item, e.field, e.transaction_ref.as_deref()),
                    (1, "currency", Some("FT2"))
                );
            }
            other => panic!("{other:?}"),
        }
        let wrong = ONE.replace("\"currency\"", "\"bank\":\"Vietcombank\",\"currency\"");
        assert!(matches!(
            parse(wrong.as_bytes(), agribank()),
            Err(ParseError::WrongBank(_))
        ));
        let own = ONE.replace("\"currency\"", "\"bank\":\"VBA\",\"currency\"");
        assert!(parse(own.as_bytes(), agribank()).is_ok());
        assert!(matches!(parse(b"[]", agribank()), Err(ParseError::Empty)));
        assert!(matches!(
            parse(b"{nope", agribank()),
            Err(ParseError::NotJson(_))
        ));
        let many = format!("[{}]", vec![ONE; MAX_ITEMS + 1].join(","));
        assert!(matches!(
            parse(many.as_bytes(), agribank()),
            Err(ParseError::TooMany(_))
        ));
        for (field, body) in [
            ("status", ONE.replace("success", "pending")),
            ("value_date", ONE.replace("2024-09-20", "20/09/2024")),
            ("population_id", ONE.replace("025038000101", "2503800010")),
            ("period", ONE.replace("Tháng 9/2024", "sometime")),
        ] {
            match parse(body.as_bytes(), agribank()) {
                Err(ParseError::Item(e)) => assert_eq!(e.field, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
