//! The periods: the list, and a new period from the form.

use std::str::FromStr;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult, WebError};
use super::layout::Layout;
use super::{check_post, render, require_read, require_write, see_other};
use crate::app::AppState;
use crate::domain::period::PeriodCode;
use crate::service;
use crate::store::{DEFAULT_PROGRAMME, Period, Programme};
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views;

pub struct PeriodRow {
    pub(super) id: i64,
    code: String,
    pub(super) label: String,
    pub(super) programme: String,
    pub(super) locality: String,
    pub(super) target: String,
    created: String,
}

impl PeriodRow {
    pub(super) fn new(p: &Period, t: Tr) -> Self {
        let label = PeriodCode::parse(&p.code).map_or_else(|_| p.code.clone(), |c| c.label_vi());
        PeriodRow {
            id: p.id,
            code: p.code.clone(),
            label,
            programme: p.programme_name.clone(),
            locality: p.locality.clone().unwrap_or_default(),
            target: views::targets_text(p.targets.pct(), t),
            created: views::date_time(p.created_at),
        }
    }
}

#[derive(Default, Deserialize)]
pub struct PeriodFormData {
    csrf: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    programme: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    target_pct: String,
    #[serde(default)]
    account_coverage_target_pct: String,
    #[serde(default)]
    cashless_rate_target_pct: String,
}

#[derive(Template)]
#[template(path = "periods.html")]
struct PeriodsPage {
    t: Tr,
    l: Layout,
    periods: Vec<PeriodRow>,
    can_write: bool,
    csrf: String,
    form: PeriodFormData,
    errors: Vec<String>,
    programmes: Vec<Programme>,
}

impl PeriodsPage {
    /// The programme the form shows chosen: what was posted, else the default.
    fn chosen(&self, code: &str) -> bool {
        let posted = self.form.programme.trim();
        if posted.is_empty() {
            code == DEFAULT_PROGRAMME
        } else {
            posted.eq_ignore_ascii_case(code)
        }
    }
}

async fn periods_page(
    st: &AppState,
    v: &Viewer,
    form: PeriodFormData,
    errors: Vec<String>,
) -> PageResult {
    let t = Tr { lang: v.lang };
    let periods = st.store.list_periods().await.or_page(v.lang)?;
    let programmes = st.store.list_programmes().await.or_page(v.lang)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PeriodsPage {
        t,
        l: Layout::of(v, "/periods"),
        periods: periods.iter().rev().map(|p| PeriodRow::new(p, t)).collect(),
        // Periods are shared by every unit: the country makes them.
        can_write: v.can_write() && v.token().is_national(),
        csrf: v.csrf().to_owned(),
        form,
        errors,
        programmes,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn periods(State(st): State<AppState>, v: Viewer) -> PageResult {
    require_read(&v)?;
    periods_page(&st, &v, PeriodFormData::default(), Vec::new()).await
}

/// "80", "80,5", "97.31" → basis points; None when empty.
/// The target as typed: `80`, `97,5`, `97.5%`; its range is the service's to check.
fn parse_target(text: &str) -> Result<Option<Decimal>, ()> {
    let s = text.trim().trim_end_matches('%').trim();
    if s.is_empty() {
        return Ok(None);
    }
    Decimal::from_str(&s.replace(',', "."))
        .map(Some)
        .map_err(|_| ())
}

pub async fn create_period(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    form: Result<Form<PeriodFormData>, FormRejection>,
) -> PageResult {
    // A post that is not a form carries no CSRF token: refused the same way.
    let Ok(Form(form)) = form else {
        return Err(PageError(WebError::Csrf, v.lang));
    };
    check_post(&v, &headers, form.csrf.as_deref())?;
    require_write(&v)?;
    if !v.token().is_national() {
        return Err(PageError(WebError::Forbidden, v.lang));
    }
    let t = Tr { lang: v.lang };
    let target_help = || {
        t.pick(
            "Chỉ tiêu phải là số từ 0 đến 100, tối đa 2 chữ số thập phân (ví dụ 80 hoặc 97,5).",
            "The target must be a number from 0 to 100 with at most 2 decimals (e.g. 80 or 97.5).",
        )
        .to_owned()
    };
    let (Ok(target_pct), Ok(account), Ok(cashless)) = (
        parse_target(&form.target_pct),
        parse_target(&form.account_coverage_target_pct),
        parse_target(&form.cashless_rate_target_pct),
    ) else {
        return periods_page(&st, &v, form, vec![target_help()]).await;
    };
    let req = service::PeriodRequest {
        code: form.code.clone(),
        programme: Some(form.programme.clone()),
        locality: Some(form.locality.clone()),
        target_pct,
        account_coverage_target_pct: account,
        cashless_rate_target_pct: cashless,
    };
    match service::create_period(st.store.as_ref(), req, &v.actor()).await {
        Ok(p) => Ok(see_other(&format!("/periods/{}", p.id))),
        Err(service::CreatePeriodError::Fields(fields)) => {
            let errors = fields
                .iter()
                .map(|f| match f.field {
                    "target_pct" | "account_coverage_target_pct" | "cashless_rate_target_pct" => {
                        target_help()
                    }
                    "code" => format!(
                        "{}: {}",
                        t.s("periods.code"),
                        t.pick(&f.message_vi, &f.message_en)
                    ),
                    other => format!("{other}: {}", t.pick(&f.message_vi, &f.message_en)),
                })
                .collect();
            periods_page(&st, &v, form, errors).await
        }
        Err(service::CreatePeriodError::Exists(_, programme)) => {
            let (vi, en) = (
                format!("Kỳ này của chế độ {programme} đã có. Mở kỳ đó trong danh sách bên dưới."),
                format!(
                    "This period of programme {programme} exists; open it from the list below."
                ),
            );
            let msg = t.pick(&vi, &en).to_owned();
            periods_page(&st, &v, form, vec![msg]).await
        }
        Err(service::CreatePeriodError::Store(e)) => Err(PageError(e.into(), v.lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_in_vietnamese_and_english_notation() {
        // As typed on the page, then the service's range rule (domain::period::target_bp).
        let bp = |s: &str| parse_target(s).map(|d| d.map(crate::domain::period::target_bp));
        assert_eq!(bp("80"), Ok(Some(Some(8000))));
        assert_eq!(bp("97,31"), Ok(Some(Some(9731))));
        assert_eq!(bp("97.5%"), Ok(Some(Some(9750))));
        assert_eq!(bp("  "), Ok(None));
        assert_eq!(bp("101"), Ok(Some(None)));
        assert_eq!(bp("97,315"), Ok(Some(None)));
        assert!(parse_target("abc").is_err());
    }
}
