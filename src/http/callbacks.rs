//! `POST /api/v1/callbacks/payouts`: banks' signed, per-transaction payout results.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::Auth;
use super::error::AppError;
use crate::app::AppState;
use crate::domain::access::Role;
use crate::domain::banks::BankId;
use crate::service::callbacks::{self, ParseError};
use crate::store::{CallbackAnswer, CallbackRequest, CallbackVerdict};
use crate::webhook::{self, WebhookSecret};

/// Post one payout result (a JSON object) or a batch (an array of ≤ 1,000), signed per
/// Standard Webhooks with the bank's `whsec_` secret (see docs/callbacks.md). Answers only
/// after the payouts are durably stored. The same transaction again gets the same answer;
/// different content for a stored transaction is 409 unless it is success → returned.
#[utoipa::path(post, path = "/api/v1/callbacks/payouts", tag = "callbacks",
    request_body(content = Object, description = "one payout or an array of payouts"),
    params(
        ("webhook-id" = String, Header, description = "unique message id"),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds, within ±5 minutes"),
        ("webhook-signature" = String, Header, description = "v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
    ),
    responses((status = 200, body = CallbackAnswer, description = "stored (or already stored): one answer, or {results: [...]} for a batch"),
        (status = 401, description = "bad token, signature or timestamp; nothing stored"),
        (status = 403, description = "not a bank token, or another bank's payout"),
        (status = 409, description = "a transaction already stored with other content; nothing of the request stored"),
        (status = 413, description = "more than 1,000 items or 2 MB"),
        (status = 422, description = "an invalid item (a missing, unknown, repeated or over-long field, a control character, an amount that is not whole đồng, a period that does not exist); nothing stored; names the item and field")),
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
    if auth.role() != Role::Bank {
        return Err(forbidden(
            "Chỉ token ngân hàng được gửi kết quả chi / only bank tokens may post payouts",
        ));
    }
    let bank = auth
        .0
        .bank_code
        .as_deref()
        .and_then(BankId::resolve)
        .ok_or_else(|| forbidden("Token không gắn với ngân hàng / the token names no bank"))?;
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
