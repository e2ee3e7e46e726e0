//! A bank's payment orders from the period page: the pain.001 file (or the xlsx bảng kê)
//! written by the same service as `GET /api/v1/periods/{id}/payment-orders`. A form post
//! behind the session's CSRF token, not a link: the orders are stored and audited.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::error::{PageError, PageResult, WebError};
use super::period::{Message, PeriodQuery, period_page};
use super::{check_post, require_write, viewed_unit};
use crate::app::AppState;
use crate::domain::banks::BankId;
use crate::report::pain001::Pain001Version;
use crate::service::ServiceError;
use crate::service::orders::{OrdersFormat, OrdersRequest};
use crate::web::i18n::Tr;
use crate::web::session::Viewer;

#[derive(Debug, Default, Deserialize)]
pub struct OrdersForm {
    csrf: Option<String>,
    unit: Option<String>,
    bank: Option<String>,
    debtor_account: Option<String>,
    debtor_name: Option<String>,
    /// `pain.001` (version 10), `pain.001.09`, `xlsx`.
    format: Option<String>,
    ascii: Option<String>,
    /// `yyyy-mm-dd` from a date input, or `dd/mm/yyyy` typed.
    execution_date: Option<String>,
    resend: Option<String>,
}

pub async fn payment_orders(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<OrdersForm>, FormRejection>,
) -> PageResult {
    let f = form.ok().map(|f| f.0).unwrap_or_default();
    check_post(&v, &headers, f.csrf.as_deref())?;
    require_write(&v)?;
    let lang = v.lang;
    let t = Tr { lang };
    let unit = viewed_unit(&v, f.unit.as_deref())?.code.clone();
    let bank_text = f.bank.as_deref().map(str::trim).unwrap_or("");
    let Some(bank) = BankId::resolve(bank_text) else {
        let text = format!(
            "{}: '{}'",
            t.pick("Không nhận ra ngân hàng", "Unknown bank"),
            bank_text.chars().take(60).collect::<String>()
        );
        return said(&st, &v, id, text, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let format = match f.format.as_deref().map(str::trim) {
        None | Some("") | Some("pain.001") => OrdersFormat::Pain001(Pain001Version::V10),
        Some("pain.001.09") => OrdersFormat::Pain001(Pain001Version::V09),
        Some("xlsx") => OrdersFormat::Xlsx,
        Some(_) => return Err(PageError(WebError::BadRequest("format".into()), lang)),
    };
    let execution_date = match f.execution_date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .or_else(|_| chrono::NaiveDate::parse_from_str(d, "%d/%m/%Y"))
        {
            Ok(d) => Some(d),
            Err(_) => {
                let text = t
                    .pick(
                        "Ngày thực hiện phải là ngày/tháng/năm (dd/mm/yyyy)",
                        "The execution date must be a date (dd/mm/yyyy)",
                    )
                    .to_owned();
                return said(&st, &v, id, text, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
    };
    let req = OrdersRequest {
        period_id: id,
        bank,
        unit,
        debtor_account: f.debtor_account.unwrap_or_default(),
        debtor_name: f.debtor_name.unwrap_or_default(),
        format,
        ascii: f.ascii.is_some(),
        execution_date,
        resend: f.resend.is_some(),
    };
    match crate::service::orders::payment_orders(st.store.as_ref(), req, v.token()).await {
        Ok(file) => Ok((
            [
                (header::CONTENT_TYPE, file.content_type.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", file.file_name),
                ),
            ],
            file.body,
        )
            .into_response()),
        // No orders for that bank, orders sent already, a debtor field to fix: said on the
        // page, the form still there.
        Err(e @ (ServiceError::Refused { .. } | ServiceError::Invalid { .. })) => {
            let status = match e {
                ServiceError::Refused { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let text = format!("{}: {e}", t.s("orders.failed"));
            said(&st, &v, id, text, status).await
        }
        Err(e) => Err(PageError(e.into(), lang)),
    }
}

/// What cannot be used as sent, said on the period page, the form still there.
async fn said(st: &AppState, v: &Viewer, id: i64, text: String, status: StatusCode) -> PageResult {
    let msg = Message { ok: false, text };
    period_page(st, v, id, &PeriodQuery::default(), vec![msg], status).await
}
