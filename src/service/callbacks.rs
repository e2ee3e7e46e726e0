//! Bank callbacks: what a bank may post, validated into `CallbackPayout`s, and the
//! group-commit writer that stores them. Concurrent requests queue for one writer task,
//! which stores everything waiting in ONE transaction (one fsync) and answers each request
//! only after that transaction has committed: durable acknowledgements at a rate no
//! per-request commit could reach.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::domain::banks::BankId;
use crate::domain::period::PeriodCode;
pub use crate::domain::status::CallbackStatus;
use crate::domain::status::PayoutStatus;
use crate::store::{
    CallbackPayout, CallbackRequest, CallbackVerdict, PageStart, Store, StoreResult,
};

/// Items in one request.
pub const MAX_ITEMS: usize = 1_000;
/// A request body: a full batch of items at their longest fields, with room to spare.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Items the writer stores in one transaction (a few full batches, or many small requests).
const MAX_GROUP_ITEMS: usize = 4_000;

/// One item as posted. Every field is a raw JSON value here, so a missing one, or one of
/// the wrong type, gets a precise message naming it. Unknown fields (a typo such as
/// `populaton_id` would silently lose the ID) and duplicate keys (the last would win) are
/// refused by serde itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemIn {
    transaction_ref: Option<serde_json::Value>,
    period: Option<serde_json::Value>,
    /// Optional: the period's programme code, `TCXH` when not given.
    programme: Option<serde_json::Value>,
    population_id: Option<serde_json::Value>,
    account_number: Option<serde_json::Value>,
    beneficiary_name: Option<serde_json::Value>,
    amount: Option<serde_json::Value>,
    currency: Option<serde_json::Value>,
    status: Option<serde_json::Value>,
    value_date: Option<serde_json::Value>,
    reason: Option<serde_json::Value>,
    /// Optional; when given it must be the token's own bank.
    bank: Option<serde_json::Value>,
    /// Optional: the unit (`37`, `00004`) the payout counts in when it links to nobody on
    /// the period's lists; `VN` when not given.
    unit: Option<serde_json::Value>,
}

/// Longest text each field may carry (characters). A bank has no reason to send more, and
/// everything stored is read back by every dashboard view.
pub const FIELD_LIMITS: &[(&str, usize)] = &[
    ("transaction_ref", 100),
    ("period", 40),
    ("programme", 16),
    ("unit", 16),
    ("population_id", 20),
    ("account_number", 34),
    ("beneficiary_name", 200),
    ("amount", 30),
    ("currency", 3),
    ("status", 20),
    ("value_date", 10),
    ("reason", 500),
    ("bank", 100),
];

fn limit_of(field: &str) -> usize {
    FIELD_LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(100, |(_, n)| *n)
}

/// Why an item was refused; the whole request is refused with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// 0-based position in the batch (0 for a single object).
    pub item: usize,
    pub transaction_ref: Option<String>,
    pub field: String,
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

/// The body as items, read straight from the bytes (no intermediate tree, so duplicate
/// keys are seen), remembering which item was being read when something failed.
struct Body<'a> {
    /// Index of the item being read.
    at: &'a std::cell::Cell<usize>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Body<'_> {
    type Value = (Vec<ItemIn>, bool);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Body<'_> {
    type Value = (Vec<ItemIn>, bool);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a payout object or an array of them")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let item = ItemIn::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok((vec![item], false))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<ItemIn>()? {
            items.push(item);
            // Stop reading a batch that is already too long.
            if items.len() > MAX_ITEMS {
                return Ok((items, true));
            }
            self.at.set(items.len());
        }
        Ok((items, true))
    }
}

/// The field a serde message is about: "unknown field `x`…", "duplicate field `x`".
fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].chars().take(60).collect())
}

/// Parse and validate a body for the bank `bank`. All or nothing: the first bad item
/// refuses the request.
pub fn parse(body: &[u8], bank: BankId) -> Result<Parsed, ParseError> {
    let at = std::cell::Cell::new(0);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::de::DeserializeSeed::deserialize(Body { at: &at }, &mut de)
        .and_then(|v| de.end().map(|()| v));
    let (values, batch) = match parsed {
        Ok(v) => v,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            let message = e.to_string();
            let (field, reason) = if message.starts_with("unknown field") {
                (
                    field_in(&message),
                    "trường không xác định / unknown field".to_owned(),
                )
            } else if message.starts_with("duplicate field") {
                (
                    field_in(&message),
                    "trường xuất hiện hai lần / field given twice".to_owned(),
                )
            } else if message.contains("expected struct ItemIn") {
                (
                    None,
                    "mỗi mục phải là một đối tượng JSON / each item must be a JSON object"
                        .to_owned(),
                )
            } else {
                (None, message)
            };
            return Err(ParseError::Item(ItemError {
                item: at.get(),
                transaction_ref: None,
                field: field.unwrap_or_else(|| "item".to_owned()),
                reason,
            }));
        }
        Err(e) => return Err(ParseError::NotJson(e.to_string())),
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

/// A text field: a JSON string (or null/absent), trimmed, within its length, and free of
/// control characters (a NUL is refused by PostgreSQL and would fail everyone's group).
fn text_field(field: &'static str, v: Option<serde_json::Value>) -> Result<Option<String>, String> {
    let s = match v {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) => s,
        Some(other) => {
            return Err(format!(
                "phải là chuỗi / must be a string, not {}",
                json_kind(&other)
            ));
        }
    };
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "có ký tự điều khiển U+{:04X} / contains the control character U+{:04X}",
            c as u32, c as u32
        ));
    }
    let limit = limit_of(field);
    let s = s.trim();
    if s.chars().count() > limit {
        return Err(format!("tối đa {limit} ký tự / at most {limit} characters"));
    }
    Ok(Some(s.to_owned()).filter(|s| !s.is_empty()))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn item(index: usize, it: ItemIn, bank: BankId) -> Result<CallbackPayout, ParseError> {
    let bad = |tref: Option<&str>, field: &'static str, reason: String| {
        ParseError::Item(ItemError {
            item: index,
            transaction_ref: tref.map(str::to_owned),
            field: field.to_owned(),
            reason,
        })
    };
    let tref = text_field("transaction_ref", it.transaction_ref)
        .map_err(|r| bad(None, "transaction_ref", r))?
        .ok_or_else(|| {
            bad(
                None,
                "transaction_ref",
                "bắt buộc, tối đa 100 ký tự / required, at most 100 characters".into(),
            )
        })?;
    let t = Some(tref.as_str());
    let text = |field: &'static str, v: Option<serde_json::Value>| {
        text_field(field, v).map_err(|r| bad(t, field, r))
    };
    if let Some(b) = text("bank", it.bank)?
        && BankId::resolve(&b) != Some(bank)
    {
        return Err(ParseError::WrongBank(ItemError {
            item: index,
            transaction_ref: Some(tref.clone()),
            field: "bank".to_owned(),
            reason: format!(
                "token của {} không được gửi giao dịch của '{b}' / this token may only post {}'s payouts",
                bank.short_name(),
                bank.short_name()
            ),
        }));
    }
    let period = text("period", it.period)?
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
    let programme = text("programme", it.programme)?
        .map(|p| p.to_uppercase())
        .unwrap_or_else(|| crate::store::DEFAULT_PROGRAMME.to_owned());
    let unit = text("unit", it.unit)?
        .map(|u| {
            crate::domain::units::shipped_tree()
                .get(u.trim())
                .map(|unit| unit.code.clone())
                .ok_or_else(|| {
                    bad(
                        t,
                        "unit",
                        format!("không có đơn vị '{u}' (xem GET /api/v1/units) / no unit '{u}' (see GET /api/v1/units)"),
                    )
                })
        })
        .transpose()?
        // The nation is where a payout without a unit counts: the same content either way.
        .filter(|u| u != crate::domain::units::NATION);
    let population_id = text("population_id", it.population_id)?
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
    let account_number = text("account_number", it.account_number)?
        .map(|a| a.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .ok_or_else(|| bad(t, "account_number", "bắt buộc / required".into()))?;
    let amount = amount(it.amount).map_err(|reason| bad(t, "amount", reason))?;
    match text("currency", it.currency)?.as_deref() {
        Some("VND") => {}
        other => {
            return Err(bad(
                t,
                "currency",
                format!("phải là \"VND\" / must be \"VND\": {other:?}"),
            ));
        }
    }
    let status = match text("status", it.status)?.as_deref() {
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
    let value_date = text("value_date", it.value_date)?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            bad(
                t,
                "value_date",
                "ngày dạng YYYY-MM-DD / a YYYY-MM-DD date".into(),
            )
        })?;
    Ok(CallbackPayout {
        transaction_ref: tref.clone(),
        period: period.as_str().to_owned(),
        programme,
        population_id,
        account_number,
        beneficiary_name: text("beneficiary_name", it.beneficiary_name)?,
        amount,
        status,
        value_date,
        reason: text("reason", it.reason)?,
        unit,
    })
}

/// Whole đồng, more than zero, as a JSON integer or a plain decimal string whose fraction
/// is zeros: `1500000`, `"1500000"`, `"1500000.00"`. Nothing else: `"1.000"` is one đồng
/// written with three decimals (a bank printing decimals must not be paid 1,000× over),
/// never Vietnamese thousands; signs, separators, spaces and exponents are refused.
fn amount(v: Option<serde_json::Value>) -> Result<i64, String> {
    const RULE: &str = "số nguyên JSON hoặc chuỗi số thập phân có phần lẻ bằng 0, vd. 1500000, \"1500000\", \"1500000.00\" / a JSON integer or a plain decimal string with a zero fraction, e.g. 1500000, \"1500000\", \"1500000.00\"";
    let whole = match v {
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(n) => n,
            None => return Err(format!("{RULE}: {n}")),
        },
        Some(serde_json::Value::String(s)) => {
            let (int, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
            let plain = !int.is_empty()
                && int.len() <= 15
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b == b'0')
                && (frac.is_empty() != s.contains('.'));
            if !plain {
                return Err(format!(
                    "{RULE}: {:?}",
                    s.chars().take(40).collect::<String>()
                ));
            }
            int.parse::<u64>().map_err(|_| format!("{RULE}: {s:?}"))?
        }
        _ => return Err(format!("bắt buộc / required: {RULE}")),
    };
    if whole == 0 {
        return Err("phải lớn hơn 0 / must be more than 0".into());
    }
    i64::try_from(whole)
        .ok()
        .filter(|n| *n <= 999_999_999_999_999)
        .ok_or_else(|| format!("quá lớn / too large: {whole}"))
}

/// Rows a read-back page holds by default, and at most.
pub const READ_BACK_DEFAULT: i64 = 100;
pub const READ_BACK_MAX: i64 = 1_000;

/// What a bank asks to read back (`GET /api/v1/callbacks/payouts`): a period as a
/// payout's `period` and `programme` fields name it, and a page.
#[derive(Debug, Clone)]
pub struct ReadBack<'a> {
    pub period: Option<&'a str>,
    pub programme: Option<&'a str>,
    pub start: PageStart,
    /// 1 to `READ_BACK_MAX`.
    pub limit: i64,
}

/// Why a read-back was refused.
#[derive(Debug)]
pub enum ReadBackError {
    /// A parameter the POST would refuse in an item's field of that name.
    Field {
        field: &'static str,
        reason: String,
    },
    /// No such period of the programme (as the POST's 422 `unknown-period`).
    UnknownPeriod {
        programme: String,
        period: String,
    },
    Service(super::ServiceError),
}

impl From<super::ServiceError> for ReadBackError {
    fn from(e: super::ServiceError) -> Self {
        ReadBackError::Service(e)
    }
}

impl From<crate::store::StoreError> for ReadBackError {
    fn from(e: crate::store::StoreError) -> Self {
        ReadBackError::Service(e.into())
    }
}

/// A page of a bank's payouts of a period, as doisoat holds them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankPayoutPage {
    /// The programme's code (`TCXH` when the request named none).
    #[schema(example = "TCXH")]
    pub programme: String,
    /// The period's canonical code.
    #[schema(example = "2024-09")]
    pub period: String,
    /// The token's bank (its code).
    #[schema(example = "VBA")]
    pub bank: String,
    /// How many payouts of this bank the period holds in all.
    pub total: i64,
    /// The page size used (1 to 1,000).
    pub limit: i64,
    /// In `payout_id` order.
    pub items: Vec<BankPayout>,
    /// Pass as `after` for the next page; present when this page is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// One payout of the bank, its current state as stored and how it links now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankPayout {
    /// The `payout_id` of the POST's answer; the `after` cursor.
    pub payout_id: i64,
    pub transaction_ref: String,
    /// As the bank sent it (spaces removed).
    pub population_id: Option<String>,
    /// As the bank sent it (spaces removed).
    pub account_number: String,
    pub beneficiary_name: Option<String>,
    /// Whole đồng, as a decimal string.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "1500000")]
    pub amount: rust_decimal::Decimal,
    #[schema(value_type = CallbackStatus)]
    pub status: PayoutStatus,
    pub value_date: NaiveDate,
    pub reason: Option<String>,
    /// The unit the bank named, if any.
    pub unit: Option<String>,
    /// 1 for the first state, 2 after success → returned.
    pub version: i64,
    /// When the payout first arrived (UTC).
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// When its current state arrived (UTC; `received_at` at version 1).
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub link: LinkName,
    /// The linked beneficiary's outcome (`matched`, `underpaid`, `overpaid`, `duplicate`,
    /// `failed`, `returned`, …); absent when unmatched.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "matched")]
    pub outcome: Option<String>,
    pub flags: Vec<LinkFlag>,
}

/// How a payout links to the period's current lists: `linked` (to a listed beneficiary, by
/// personal ID), `linked_by_account` (by account number: no valid 12-digit ID sent), or
/// `unmatched` (to nobody listed, or refused as another bank's customer: flag `wrong_bank`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkName {
    Linked,
    LinkedByAccount,
    Unmatched,
}

/// What reconciliation says of a payout's link: the linked beneficiary's name or account
/// differs from the list's, it linked by account number, or it named another bank's customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkFlag {
    NameMismatch,
    AccountMismatch,
    LinkedByAccount,
    WrongBank,
}

impl LinkFlag {
    fn of(f: crate::recon::Flag) -> Option<LinkFlag> {
        use crate::recon::Flag;
        match f {
            Flag::NameMismatch => Some(LinkFlag::NameMismatch),
            Flag::AccountMismatch => Some(LinkFlag::AccountMismatch),
            Flag::LinkedByAccount => Some(LinkFlag::LinkedByAccount),
            Flag::WrongBank => Some(LinkFlag::WrongBank),
            _ => None,
        }
    }
}

/// The bank's payouts of a period, a page at a time, each with how it links now. The
/// period and programme are read as a posted item's are, so a bank reads back with the
/// very text it posts.
pub async fn read_back(
    store: &dyn Store,
    bank: BankId,
    q: ReadBack<'_>,
) -> Result<BankPayoutPage, ReadBackError> {
    let field = |field: &'static str, reason: String| ReadBackError::Field { field, reason };
    let text = |name: &'static str, v: Option<&str>| {
        text_field(name, v.map(|s| serde_json::Value::String(s.to_owned())))
            .map_err(|r| field(name, r))
    };
    let period =
        text("period", q.period)?.ok_or_else(|| field("period", "bắt buộc / required".into()))?;
    let code = PeriodCode::parse(&period)
        .map_err(|e| field("period", format!("{} / {}", e.message_vi(), e.message_en())))?;
    let programme = text("programme", q.programme)?
        .map(|p| p.to_uppercase())
        .unwrap_or_else(|| crate::store::DEFAULT_PROGRAMME.to_owned());
    let Some(found) = store.period_by_code(&programme, code.as_str()).await? else {
        return Err(ReadBackError::UnknownPeriod {
            programme,
            period: code.as_str().to_owned(),
        });
    };
    let limit = q.limit.clamp(1, READ_BACK_MAX);
    let page = store
        .bank_callbacks(bank.code(), &programme, code.as_str(), q.start, limit)
        .await?;
    let ids: Vec<i64> = page.items.iter().map(|c| c.stored.id).collect();
    let links = super::live::callback_links(store, found.id, &ids).await?;
    let next_after = (page.items.len() as i64 == limit)
        .then(|| ids.last().copied())
        .flatten();
    let items = page
        .items
        .into_iter()
        .map(|c| {
            let link = links.get(&c.stored.id);
            let p = c.stored.payout;
            BankPayout {
                payout_id: c.stored.id,
                transaction_ref: p.transaction_ref,
                population_id: p.population_id,
                account_number: p.account_number,
                beneficiary_name: p.beneficiary_name,
                amount: rust_decimal::Decimal::from(p.amount),
                status: p.status,
                value_date: p.value_date,
                reason: p.reason,
                unit: p.unit,
                version: c.version,
                received_at: c.received_at,
                updated_at: c.updated_at,
                link: match link.map(|l| l.link) {
                    Some(super::live::LinkState::Linked) => LinkName::Linked,
                    Some(super::live::LinkState::LinkedByAccount) => LinkName::LinkedByAccount,
                    Some(super::live::LinkState::Unmatched) | None => LinkName::Unmatched,
                },
                outcome: link.and_then(|l| l.outcome).map(|o| o.as_str().to_owned()),
                flags: link
                    .map(|l| l.flags.iter().filter_map(|f| LinkFlag::of(*f)).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(BankPayoutPage {
        programme,
        period: code.as_str().to_owned(),
        bank: bank.code().to_owned(),
        total: page.total,
        limit,
        items,
        next_after,
    })
}

struct Job {
    request: CallbackRequest,
    reply: oneshot::Sender<Result<CallbackVerdict, String>>,
}

/// Where the queue stores a group: the store, or a stand-in in tests.
#[async_trait::async_trait]
pub trait GroupWriter: Send + Sync {
    async fn save(&self, requests: &[CallbackRequest]) -> StoreResult<Vec<CallbackVerdict>>;
}

struct StoreWriter(Arc<dyn Store>);

#[async_trait::async_trait]
impl GroupWriter for StoreWriter {
    async fn save(&self, requests: &[CallbackRequest]) -> StoreResult<Vec<CallbackVerdict>> {
        self.0.save_callbacks(requests).await
    }
}

/// The handle requests submit to; clones share the one writer.
#[derive(Clone)]
pub struct CallbackQueue {
    tx: mpsc::Sender<Job>,
}

impl CallbackQueue {
    /// Start the writer task on the current Tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        Self::start_with(Arc::new(StoreWriter(store)))
    }

    /// The same, storing through `store`.
    pub fn start_with(store: Arc<dyn GroupWriter>) -> Self {
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
                match store.save(&requests).await {
                    Ok(verdicts) => {
                        for (reply, verdict) in replies.into_iter().zip(verdicts) {
                            let _ = reply.send(Ok(verdict));
                        }
                    }
                    // Nothing of the group was committed. Whatever the cause (one bad
                    // request, a lost connection), try each request on its own, so only
                    // the one that fails again gets an error and the others are stored.
                    Err(e) if requests.len() > 1 => {
                        tracing::warn!(error = %e, requests = requests.len(), "storing a callback group; retrying one by one");
                        for (request, reply) in requests.iter().zip(replies) {
                            let answer = match store.save(std::slice::from_ref(request)).await {
                                Ok(mut v) => v.pop().ok_or_else(|| "no verdict".to_owned()),
                                Err(e) => {
                                    tracing::error!(error = %e, bank = %request.bank_code, webhook_id = %request.webhook_id, "storing callbacks");
                                    Err(e.to_string())
                                }
                            };
                            let _ = reply.send(answer);
                        }
                    }
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
    use crate::store::StoreError;

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
            (serde_json::json!("1500000"), 1_500_000),
            (serde_json::json!("1500000.00"), 1_500_000),
            (serde_json::json!(1500000), 1_500_000),
            // A plain decimal: three decimals are not Vietnamese thousands.
            (serde_json::json!("1.000"), 1),
            (serde_json::json!("1.0"), 1),
        ] {
            assert_eq!(amount(Some(v.clone())), Ok(want), "{v}");
        }
        for v in [
            serde_json::json!("1500000.5"),
            serde_json::json!(1500000.0),
            serde_json::json!(1.5e6),
            serde_json::json!(0),
            serde_json::json!("0"),
            serde_json::json!("-5"),
            serde_json::json!(-5),
            serde_json::json!("1.500.000"),
            serde_json::json!("1,500,000"),
            serde_json::json!(" 1500000"),
            serde_json::json!("1500000."),
            serde_json::json!(".5"),
            serde_json::json!("1e6"),
            serde_json::json!("+15"),
            serde_json::json!(true),
            serde_json::json!("9999999999999999"),
        ] {
            assert!(amount(Some(v.clone())).is_err(), "{v}");
        }
        assert!(amount(None).is_err());
    }

    /// Fails any group holding the request with webhook id "poison", as PostgreSQL failed
    /// a whole group for one item's NUL byte.
    struct Poisoned(std::sync::Mutex<Vec<usize>>);

    #[async_trait::async_trait]
    impl GroupWriter for Poisoned {
        async fn save(&self, requests: &[CallbackRequest]) -> StoreResult<Vec<CallbackVerdict>> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(requests.len());
            if requests.iter().any(|r| r.webhook_id == "poison") {
                return Err(StoreError::Corrupt("invalid byte sequence 0x00".into()));
            }
            Ok(requests
                .iter()
                .map(|r| CallbackVerdict::Accepted(Vec::with_capacity(r.items.len())))
                .collect())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_bad_request_fails_alone_not_its_whole_group() {
        let writer = Arc::new(Poisoned(std::sync::Mutex::new(Vec::new())));
        let queue = CallbackQueue::start_with(writer.clone());
        let request = |id: &str| CallbackRequest {
            bank_code: "VBA".into(),
            token_name: "agribank".into(),
            webhook_id: id.into(),
            items: Vec::new(),
        };
        // Queued before the writer runs: they form one group.
        let tasks: Vec<_> = ["a", "b", "poison", "c", "d"]
            .into_iter()
            .map(|id| {
                let (q, r) = (queue.clone(), request(id));
                tokio::spawn(async move { (id, q.submit(r).await.is_ok()) })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap_or(("join", false)));
        }
        assert_eq!(
            answers,
            vec![
                ("a", true),
                ("b", true),
                ("poison", false),
                ("c", true),
                ("d", true)
            ]
        );
        let calls = writer.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            calls,
            vec![5, 1, 1, 1, 1, 1],
            "one group, then each on its own"
        );
    }

    fn item_error(body: &str) -> ItemError {
        match parse(body.as_bytes(), agribank()) {
            Err(ParseError::Item(e)) => e,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn unknown_and_duplicate_fields_are_refused() {
        let typo = ONE.replace("\"population_id\"", "\"populaton_id\"");
        let e = item_error(&typo);
        assert_eq!((e.item, e.field.as_str()), (0, "populaton_id"));
        let twice = ONE.replace("\"currency\"", "\"amount\":\"9500000\",\"currency\"");
        let e = item_error(&format!("[{ONE},{twice}]"));
        assert_eq!((e.item, e.field.as_str()), (1, "amount"), "{}", e.reason);
        let e = item_error(&format!("[{ONE},{ONE},5]"));
        assert_eq!((e.item, e.field.as_str()), (2, "item"));
    }

    #[test]
    fn control_characters_and_long_fields_are_refused_per_field() {
        for (field, body) in [
            (
                "beneficiary_name",
                ONE.replace("NGUYEN VAN AN", "NGUYEN\\u0000VAN"),
            ),
            ("transaction_ref", ONE.replace("FT1", "FT\\u0007")),
            (
                "reason",
                ONE.replace("\"currency\"", "\"reason\":\"a\\nb\",\"currency\""),
            ),
            (
                "beneficiary_name",
                ONE.replace("NGUYEN VAN AN", &"A".repeat(201)),
            ),
            (
                "account_number",
                ONE.replace("4200 205123456", &"1".repeat(35)),
            ),
            (
                "reason",
                ONE.replace(
                    "\"currency\"",
                    &format!("\"reason\":\"{}\",\"currency\"", "x".repeat(501)),
                ),
            ),
            ("amount", ONE.replace("\"1500000\"", "\"1.500.000\"")),
            ("period", ONE.replace("\"Tháng 9/2024\"", "7")),
        ] {
            let e = item_error(&body);
            assert_eq!(e.field, field, "{}", e.reason);
        }
        // Within the limits is fine.
        let long_ok = ONE.replace("NGUYEN VAN AN", &"A".repeat(200));
        assert!(parse(long_ok.as_bytes(), agribank()).is_ok());
    }

    #[test]
    fn a_bad_item_refuses_the_batch_and_says_which() {
        let bad = ONE.replace("\"VND\"", "\"USD\"").replace("FT1", "FT2");
        let body = format!("[{ONE},{bad}]");
        match parse(body.as_bytes(), agribank()) {
            Err(ParseError::Item(e)) => {
                assert_eq!(
                    (e.item, e.field.as_str(), e.transaction_ref.as_deref()),
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

/// What banks sent by callback for a period, recounted only when its callbacks changed:
/// the count reads every callback of the period (1–2 s for a national month on
/// PostgreSQL), the change an index (`Store::callbacks_changed_at`). Kept per server.
#[derive(Default)]
pub struct CallbackTallies {
    kept: std::sync::Mutex<HashMap<(String, String), KeptTallies>>,
}

struct KeptTallies {
    changed_at: Option<chrono::DateTime<chrono::Utc>>,
    tallies: Arc<Vec<crate::store::CallbackTally>>,
}

impl CallbackTallies {
    /// Periods kept at most; past it all are let go (each is one recount away).
    const KEPT: usize = 64;

    pub async fn of(
        &self,
        store: &dyn Store,
        programme: &str,
        period_code: &str,
    ) -> Result<Arc<Vec<crate::store::CallbackTally>>, crate::store::StoreError> {
        let changed_at = store.callbacks_changed_at(programme, period_code).await?;
        let key = (programme.to_owned(), period_code.to_owned());
        if let Ok(kept) = self.kept.lock()
            && let Some(k) = kept.get(&key)
            && k.changed_at == changed_at
        {
            return Ok(Arc::clone(&k.tallies));
        }
        let tallies = Arc::new(store.callback_tallies(programme, period_code).await?);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= Self::KEPT && !kept.contains_key(&key) {
                kept.clear();
            }
            kept.insert(
                key,
                KeptTallies {
                    changed_at,
                    tallies: Arc::clone(&tallies),
                },
            );
        }
        Ok(tallies)
    }
}
