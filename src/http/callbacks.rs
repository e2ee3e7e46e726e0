//! `POST /api/v1/callbacks/payouts`: banks' signed, per-transaction payout results; and
//! `GET` of the same path: a bank reads back what doisoat holds from it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::auth::Auth;
use super::error::{ApiQuery, AppError};
use crate::app::AppState;
use crate::domain::access::Role;
use crate::domain::banks::BankId;
use crate::service::callbacks::{self, BankPayoutPage, CallbackStatus, ParseError, ReadBackError};
use crate::store::{CallbackAnswer, CallbackRequest, CallbackVerdict, PageStart};
use crate::webhook::{self, WebhookSecret};

// Describes the body only: the parser (`service::callbacks::parse`) reads raw JSON values
// so that a refused field is named; a test below holds these limits to its `FIELD_LIMITS`.
/// One payout result as a bank posts it. Text fields are trimmed, may not hold a control
/// character, and their lengths count characters; unknown or repeated fields are refused.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by utoipa only
pub struct PayoutItem {
    /// The bank's reference, unique within the bank: a replay of it is recognised by it.
    #[schema(min_length = 1, max_length = 100, example = "FT24264000001")]
    transaction_ref: String,
    /// The period: `2024-09`, `09/2024`, `Tháng 9/2024` (a month), `2024-Q3`, `Q3/2024`,
    /// `Quý III/2024` (a quarter), `2024`, `Năm 2024` (a year). It must exist in doisoat.
    #[schema(min_length = 1, max_length = 40, example = "2024-09")]
    period: String,
    /// The period's programme (case-insensitive); `TCXH` when absent.
    #[schema(max_length = 16, example = "TCXH")]
    programme: Option<String>,
    /// The beneficiary's 12-digit personal ID (or a 9-digit CMND); spaces are ignored.
    #[schema(max_length = 20, example = "025038000101")]
    population_id: Option<String>,
    /// The credited account; spaces are ignored.
    #[schema(min_length = 1, max_length = 34, example = "4200205123456")]
    account_number: String,
    #[schema(max_length = 200, example = "NGUYEN VAN AN")]
    beneficiary_name: Option<String>,
    #[schema(schema_with = amount_schema)]
    amount: String,
    #[schema(schema_with = currency_schema)]
    currency: String,
    status: CallbackStatus,
    /// `YYYY-MM-DD`.
    #[schema(example = "2024-09-20")]
    value_date: chrono::NaiveDate,
    /// Why (expected with `failed` and `returned`).
    #[schema(max_length = 500)]
    reason: Option<String>,
    /// When given: the token's own bank (its code, name or BIN), else 403.
    #[schema(max_length = 100, example = "VBA")]
    bank: Option<String>,
    /// The unit (`01`, `00004`, see `GET /api/v1/units`) the payout counts in when it
    /// links to nobody listed; the nation (`VN`) when absent.
    #[schema(max_length = 16)]
    unit: Option<String>,
}

/// Whole đồng, more than 0 and at most 999,999,999,999,999: a JSON integer, or a plain
/// decimal string whose fraction is zeros (the dot is the decimal point: `"1.000"` is 1).
fn amount_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(999_999_999_999_999_i64)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[0-9]{1,15}(\.0+)?$")),
        )
        .description(Some(
            "Whole đồng, more than 0: a JSON integer (1500000) or a plain decimal string whose fraction is zeros (\"1500000\", \"1500000.00\"); \"1.000\" is one đồng. No separators, signs, spaces or exponents.",
        ))
        .examples([serde_json::json!("1500000")])
        .build()
        .into()
}

fn currency_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["VND"]))
        .build()
        .into()
}

/// A request body: one payout, or a batch of 1 to 1,000 stored all or none.
pub struct CallbackBody;

impl PartialSchema for CallbackBody {
    fn schema() -> RefOr<Schema> {
        let item = || Ref::from_schema_name(PayoutItem::name());
        OneOfBuilder::new()
            .item(item())
            .item(
                ArrayBuilder::new()
                    .items(item())
                    .min_items(Some(1))
                    .max_items(Some(callbacks::MAX_ITEMS)),
            )
            .description(Some(
                "One payout, or a batch of 1 to 1,000 (all stored or none)",
            ))
            .into()
    }
}

impl ToSchema for CallbackBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((PayoutItem::name().into(), PayoutItem::schema()));
        PayoutItem::schemas(schemas);
    }
}

/// The answer to a batch: one answer per item, in order.
#[derive(ToSchema)]
#[allow(dead_code)] // read by utoipa only; the handler writes the same shape
pub struct CallbackAnswers {
    results: Vec<CallbackAnswer>,
}

/// The answer: one object for one payout, `{results: [...]}` for a batch (even of one).
pub struct CallbackReply;

impl PartialSchema for CallbackReply {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(CallbackAnswer::name()))
            .item(Ref::from_schema_name(CallbackAnswers::name()))
            .into()
    }
}

impl ToSchema for CallbackReply {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((CallbackAnswer::name().into(), CallbackAnswer::schema()));
        CallbackAnswer::schemas(schemas);
        schemas.push((CallbackAnswers::name().into(), CallbackAnswers::schema()));
        CallbackAnswers::schemas(schemas);
    }
}

/// A refused request (RFC 9457 problem document); a refused item is named.
#[derive(ToSchema)]
#[allow(dead_code)] // read by utoipa only; `AppError` writes the same shape
pub struct ItemProblem {
    /// `/problems/invalid-item`, `/problems/unknown-period`, `/problems/wrong-bank`,
    /// `/problems/conflict`…
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// What is wrong, in Vietnamese then English.
    detail: String,
    /// The refused item's 0-based position in the batch (0 for a single object).
    item: Option<usize>,
    /// Its `transaction_ref`, when it had a readable one.
    transaction_ref: Option<String>,
    /// The field refused (`item` when the item itself is not an object); absent for 409.
    field: Option<String>,
}

/// Post one payout result (a JSON object) or a batch (an array of ≤ 1,000), signed per
/// Standard Webhooks with the bank's `whsec_` secret (see docs/callbacks.md). Answers only
/// after the payouts are durably stored. The same transaction again gets the same answer;
/// different content for a stored transaction is 409 unless it is success → returned.
#[utoipa::path(post, path = "/api/v1/callbacks/payouts", tag = "callbacks",
    request_body(content = CallbackBody, description = "one payout or an array of 1 to 1,000 payouts (all stored or none)"),
    params(
        ("webhook-id" = String, Header, description = "unique message id"),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds, within ±5 minutes"),
        ("webhook-signature" = String, Header, description = "v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
    ),
    responses((status = 200, body = CallbackReply, description = "stored (or already stored): one answer, or {results: [...]} for a batch"),
        (status = 401, description = "bad token, signature or timestamp; nothing stored"),
        (status = 403, description = "not a bank token, or another bank's payout"),
        (status = 409, body = ItemProblem, content_type = "application/problem+json", description = "a transaction already stored with other content; nothing of the request stored"),
        (status = 413, description = "more than 1,000 items or 2 MB"),
        (status = 422, body = ItemProblem, content_type = "application/problem+json", description = "an invalid item (a missing, unknown, repeated or over-long field, a control character, an amount that is not whole đồng, a period that does not exist); nothing stored; names the item and field")),
    security(("bearer" = [])))]
pub async fn payouts(
    State(st): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let answered = receive(st, auth, headers, body).await;
    match &answered {
        Ok((_, payouts)) => crate::metrics::global().callback(true, *payouts),
        Err(_) => crate::metrics::global().callback(false, 0),
    }
    answered.map(|(response, _)| response)
}

/// The answer to a callback request, and how many payouts it acknowledged.
async fn receive(
    st: AppState,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Response, usize), AppError> {
    let forbidden = |why: &str| AppError::forbidden(why.to_owned());
    let bank = bank_of(
        &auth,
        "Chỉ token ngân hàng được gửi kết quả chi / only bank tokens may post payouts",
    )?;
    let secret_text = st
        .store
        .webhook_secret(auth.0.id)
        .await?
        .ok_or_else(|| forbidden("Token chưa có khoá ký / the token has no webhook secret"))?;
    let secret = WebhookSecret::parse(&secret_text).map_err(AppError::internal)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Yêu cầu quá lớn / Request too large",
                format!(
                    "Tối đa {} KB mỗi yêu cầu ({} mục) / at most {} KB per request ({} items)",
                    callbacks::MAX_BODY_BYTES / 1024,
                    callbacks::MAX_ITEMS,
                    callbacks::MAX_BODY_BYTES / 1024,
                    callbacks::MAX_ITEMS
                ),
            )
        } else {
            AppError::bad_request(r.body_text())
        }
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Before anything is parsed or stored: an unsigned body is not the bank's.
    webhook::verify(
        &secret,
        header(webhook::HEADER_ID),
        header(webhook::HEADER_TIMESTAMP),
        header(webhook::HEADER_SIGNATURE),
        &body,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "bad-signature",
            "Chữ ký không hợp lệ / Invalid signature",
            e.to_string(),
        )
    })?;

    let parsed = callbacks::parse(&body, bank).map_err(|e| match e {
        ParseError::NotJson(m) => {
            AppError::bad_request(format!("JSON không hợp lệ / invalid JSON: {m}"))
        }
        ParseError::Empty => AppError::bad_request("Lô rỗng / empty batch"),
        ParseError::TooMany(n) => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch-too-large",
            "Lô quá lớn / Batch too large",
            format!("{n} mục; tối đa / items; at most {}", callbacks::MAX_ITEMS),
        ),
        ParseError::Item(e) => item_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-item",
            "Mục không hợp lệ / Invalid item",
            e,
        ),
        ParseError::WrongBank(e) => item_error(
            StatusCode::FORBIDDEN,
            "wrong-bank",
            "Sai ngân hàng / Another bank's payout",
            e,
        ),
    })?;
    // A payout for a period nobody created would wait, unseen, for whichever period is
    // later created with that code: refused, naming the first such item.
    let mut known: Vec<(&str, &str)> = Vec::new();
    for (i, item) in parsed.items.iter().enumerate() {
        let key = (item.programme.as_str(), item.period.as_str());
        if known.contains(&key) || st.periods_seen.contains(key.0, key.1) {
            continue;
        }
        if st.store.period_by_code(key.0, key.1).await?.is_some() {
            st.periods_seen.insert(key.0, key.1);
        } else {
            return Err(item_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-period",
                "Kỳ chi trả không tồn tại / Unknown period",
                callbacks::ItemError {
                    item: i,
                    transaction_ref: Some(item.transaction_ref.clone()),
                    field: "period".to_owned(),
                    reason: format!(
                        "chưa có kỳ {} của chế độ {} trong hệ thống / no period {} of programme {} exists",
                        item.period, item.programme, item.period, item.programme
                    ),
                },
            ));
        }
        known.push(key);
    }
    let request = CallbackRequest {
        bank_code: bank.code().to_owned(),
        token_name: auth.0.name.clone(),
        webhook_id: header(webhook::HEADER_ID).unwrap_or_default().to_owned(),
        items: parsed.items,
    };
    match st
        .callbacks
        .submit(request)
        .await
        .map_err(AppError::internal)?
    {
        CallbackVerdict::Accepted(mut answers) => {
            let acknowledged = answers.len();
            let response = if parsed.batch {
                Json(json!({ "results": answers })).into_response()
            } else {
                match answers.pop() {
                    Some(a) => Json(a).into_response(),
                    None => return Err(AppError::internal("no answer for a one-item request")),
                }
            };
            Ok((response, acknowledged))
        }
        CallbackVerdict::Conflict {
            index,
            transaction_ref,
            reason,
        } => Err(AppError {
            extra: Some(json!({ "item": index, "transaction_ref": transaction_ref })),
            ..AppError::conflict(reason)
        }),
    }
}

fn item_error(
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    e: callbacks::ItemError,
) -> AppError {
    AppError {
        extra: Some(
            json!({ "item": e.item, "transaction_ref": e.transaction_ref, "field": e.field }),
        ),
        ..AppError::new(
            status,
            slug,
            title,
            format!("mục / item {}: {}: {}", e.item, e.field, e.reason),
        )
    }
}

/// What a bank asks to read back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadBackQuery {
    /// The period as a payout's `period` field names it (`2024-09`, `Tháng 9/2024`,
    /// `2024-Q3`…); at most 40 characters.
    #[param(required = true, example = "2024-09")]
    pub period: Option<String>,
    /// The period's programme as a payout's `programme` field names it; `TCXH` when absent.
    pub programme: Option<String>,
    /// Payouts per page: 100 when absent; 1 to 1,000 (0 reads as 1, more as 1,000).
    pub limit: Option<u64>,
    /// Keyset paging: the page starts after this `payout_id` (the `next_after` of the page
    /// before). Not with `offset`.
    pub after: Option<u64>,
    /// Skip this many payouts (numbered pages). Not with `after`.
    pub offset: Option<u64>,
}

/// Read back the token's bank's payouts of a period, with how each links now.
///
/// Every payout the bank posted (not rows of uploaded bank files), its current state, and how it links
/// to the period's current beneficiary lists now (`linked`, `linked_by_account`,
/// `unmatched`) with the link's flags; in `payout_id` order, a page at a time. A bank
/// token sees its own bank's payouts only; other roles read the period's figures and
/// exceptions instead (403 here). No signature: nothing is written.
#[utoipa::path(get, path = "/api/v1/callbacks/payouts", tag = "callbacks", params(ReadBackQuery),
    responses((status = 200, body = BankPayoutPage),
        (status = 400, description = "a parameter that is not a whole number, or both `after` and `offset`"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a bank token"),
        (status = 422, body = ItemProblem, content_type = "application/problem+json", description = "`period` missing or not a period (`invalid-query`), or no such period of the programme (`unknown-period`); names the `field`")),
    security(("bearer" = [])))]
pub async fn read_payouts(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReadBackQuery>,
) -> Result<Json<BankPayoutPage>, AppError> {
    let bank = bank_of(
        &auth,
        "Chỉ token ngân hàng được đọc lại kết quả chi / only bank tokens may read back payouts",
    )?;
    let wide = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let start = match (q.after, q.offset) {
        (Some(_), Some(_)) => {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "bad-query",
                "Tham số không hợp lệ / Invalid query parameter",
                "Dùng after hoặc offset, không dùng cả hai / use after or offset, not both",
            ));
        }
        (Some(after), None) => PageStart::After(wide(after)),
        (None, offset) => PageStart::Skip(wide(offset.unwrap_or(0))),
    };
    let limit = q.limit.map_or(callbacks::READ_BACK_DEFAULT, |n| {
        wide(n).min(callbacks::READ_BACK_MAX)
    });
    let asked = callbacks::ReadBack {
        period: q.period.as_deref(),
        programme: q.programme.as_deref(),
        start,
        limit,
    };
    match callbacks::read_back(st.store.as_ref(), bank, asked).await {
        Ok(page) => Ok(Json(page)),
        Err(ReadBackError::Field { field, reason }) => Err(AppError {
            extra: Some(json!({ "field": field })),
            ..AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-query",
                "Tham số không hợp lệ / Invalid query parameter",
                format!("{field}: {reason}"),
            )
        }),
        Err(ReadBackError::UnknownPeriod { programme, period }) => Err(AppError {
            extra: Some(json!({ "field": "period" })),
            ..AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-period",
                "Kỳ chi trả không tồn tại / Unknown period",
                format!(
                    "chưa có kỳ {period} của chế độ {programme} trong hệ thống / no period {period} of programme {programme} exists"
                ),
            )
        }),
        Err(ReadBackError::Service(e)) => Err(e.into()),
    }
}

/// The bank a bank token speaks for; 403 for any other token.
fn bank_of(auth: &Auth, not_a_bank: &str) -> Result<BankId, AppError> {
    if auth.role() != Role::Bank {
        return Err(AppError::forbidden(not_a_bank.to_owned()));
    }
    auth.0
        .bank_code
        .as_deref()
        .and_then(BankId::resolve)
        .ok_or_else(|| {
            AppError::forbidden(
                "Token không gắn với ngân hàng / the token names no bank".to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI description of an item says what the parser enforces: every field it
    /// reads, and each text field's longest length.
    #[test]
    fn item_schema_matches_the_parser_limits() {
        let schema = serde_json::to_value(PayoutItem::schema()).unwrap_or_default();
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut described: Vec<&str> = properties.keys().map(String::as_str).collect();
        let mut limited: Vec<&str> = callbacks::FIELD_LIMITS.iter().map(|(f, _)| *f).collect();
        described.sort_unstable();
        limited.sort_unstable();
        assert_eq!(described, limited);
        for (field, limit) in callbacks::FIELD_LIMITS {
            let max = properties[*field]["maxLength"].as_u64();
            match *field {
                // An enum, and a number rule of its own (`amount` is not a text field).
                "status" | "currency" | "value_date" | "amount" => {}
                _ => assert_eq!(max, Some(*limit as u64), "{field}"),
            }
        }
        let body = serde_json::to_value(CallbackBody::schema()).unwrap_or_default();
        assert_eq!(
            body["oneOf"][1]["maxItems"].as_u64(),
            Some(callbacks::MAX_ITEMS as u64)
        );
    }
}
