//! A period's page: its uploads with their row errors, the live figures and exceptions,
//! its runs.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult};
use super::layout::Layout;
use super::periods::PeriodRow;
use super::runs::RunRow;
use super::{PageQuery, find_period, render, require_read};
use crate::app::AppState;
use crate::domain::banks::BankId;
use crate::service::{self, ExceptionQuery, ServiceError};
use crate::store::{Upload, UploadKind};
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views::{self, ExceptionsView, FiguresView};

pub struct ErrorLine {
    row: String,
    column: String,
    value: String,
    reason: String,
}

pub struct UploadView {
    id: i64,
    kind: &'static str,
    kind_label: &'static str,
    file_name: String,
    version: String,
    bank: String,
    accepted: String,
    rejected: String,
    rejected_n: i64,
    by: String,
    at: String,
    sha256: String,
    notices: Vec<String>,
    control: Option<String>,
    errors: Vec<ErrorLine>,
    /// Row errors beyond those shown (all of them are in the API's upload).
    errors_more: usize,
    highlight: bool,
    /// The period's current list.
    current: bool,
    /// "retired by X at T", when retired.
    retired: Option<String>,
    is_list: bool,
}

/// Row errors listed per upload on the page; a file of a million bad rows stays readable.
const ERRORS_SHOWN: usize = 200;

impl UploadView {
    fn new(u: &Upload, t: Tr, highlight: bool) -> Self {
        let control = u.control_total.as_ref().filter(|c| c.mismatch()).map(|c| {
            format!(
                "{} ({} {}): {} ≠ {} — {}",
                t.s("upload.control_total"),
                t.s("upload.row"),
                c.row,
                crate::domain::money::format_vnd(c.stated),
                crate::domain::money::format_vnd(c.computed),
                t.s("upload.control_mismatch")
            )
        });
        let retired = u.retired_at.map(|at| {
            format!(
                "{} · {} · {}",
                t.s("upload.retired"),
                u.retired_by.as_deref().unwrap_or(""),
                views::date_time(at)
            )
        });
        UploadView {
            current: u.current,
            retired,
            is_list: u.kind == UploadKind::Beneficiaries,
            id: u.id,
            kind: u.kind.as_str(),
            kind_label: t.s(match u.kind {
                UploadKind::Beneficiaries => "upload.kind.beneficiaries",
                UploadKind::Payouts => "upload.kind.payouts",
            }),
            file_name: u.file_name.clone(),
            version: u
                .version
                .map(|v| format!("{} {v}", t.s("upload.version")))
                .unwrap_or_default(),
            bank: u
                .bank_code
                .as_deref()
                .and_then(BankId::resolve)
                .map(|b| b.short_name().to_owned())
                .unwrap_or_default(),
            accepted: views::count(u.accepted_rows.max(0) as u64),
            rejected: views::count(u.rejected_rows.max(0) as u64),
            rejected_n: u.rejected_rows,
            by: u.uploaded_by.clone(),
            at: views::date_time(u.created_at),
            sha256: u.sha256.clone(),
            notices: u.notices.clone(),
            control,
            errors_more: u.row_errors.len().saturating_sub(ERRORS_SHOWN),
            errors: u
                .row_errors
                .iter()
                .take(ERRORS_SHOWN)
                .map(|e| ErrorLine {
                    row: format!(
                        "{}{} {}",
                        e.sheet
                            .as_deref()
                            .map(|s| format!("{s}, "))
                            .unwrap_or_default(),
                        t.s("upload.row"),
                        e.row
                    ),
                    column: match (&e.column, &e.column_name) {
                        (Some(c), Some(n)) => format!("{} {c} ({n})", t.s("upload.column")),
                        (Some(c), None) => format!("{} {c}", t.s("upload.column")),
                        (None, Some(n)) => n.clone(),
                        (None, None) => String::new(),
                    },
                    value: e.value.clone(),
                    reason: t.pick(&e.reason_vi, &e.reason_en).to_owned(),
                })
                .collect(),
            highlight,
        }
    }
}

pub struct Message {
    pub(super) ok: bool,
    pub(super) text: String,
}

pub struct BankOpt {
    code: &'static str,
    name: &'static str,
}

#[derive(Template)]
#[template(path = "period.html")]
struct PeriodPage {
    t: Tr,
    l: Layout,
    p: PeriodRow,
    can_write: bool,
    csrf: String,
    messages: Vec<Message>,
    figures: Option<FiguresView>,
    chart: Option<String>,
    uploads: Vec<UploadView>,
    runs: Vec<RunRow>,
    exc: Option<ExceptionsView>,
    banks: Vec<BankOpt>,
    max_upload_mb: usize,
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    #[serde(flatten)]
    pub(super) filters: ExceptionQuery,
    pub(super) uploaded: Option<String>,
    /// The unit whose figures and exceptions to show; default: the viewer's.
    pub(super) unit: Option<String>,
}

pub(super) async fn period_page(
    st: &AppState,
    v: &Viewer,
    id: i64,
    q: &PeriodQuery,
    messages: Vec<Message>,
    status: StatusCode,
) -> PageResult {
    let lang = v.lang;
    let t = Tr { lang };
    let period = find_period(st, id, lang).await?;
    let unit = super::viewed_unit(v, q.unit.as_deref())?;
    let mut uploads = st.store.list_uploads(id).await.or_page(lang)?;
    uploads.retain(|u| v.token().sees(&u.unit));
    let mut runs = st.store.list_reconciliations(id).await.or_page(lang)?;
    runs.retain(|r| v.token().sees(&r.unit));
    let target = period.target_bp.map(|bp| Decimal::new(bp, 2));
    let (figures, chart, exc) = match service::live(st.store.as_ref(), id, &unit.code).await {
        Ok((report, exceptions)) => (
            Some(FiguresView::of_report(&report, target, t)),
            views::commune_chart(&report, target, t),
            Some(ExceptionsView::new(
                format!("/periods/{id}"),
                &exceptions,
                &report,
                &q.filters,
                v.sees_full_ids(),
                t,
            )),
        ),
        Err(ServiceError::NoList(_)) => (None, None, None),
        Err(e) => return Err(PageError(e.into(), lang)),
    };
    let highlighted: Vec<i64> = q
        .uploaded
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let page = PeriodPage {
        t,
        l: Layout::of(v, &format!("/periods/{id}")),
        p: PeriodRow::new(&period),
        can_write: v.can_write(),
        csrf: v.csrf().to_owned(),
        messages,
        figures,
        chart,
        uploads: uploads
            .iter()
            .rev()
            .map(|u| UploadView::new(u, t, highlighted.contains(&u.id)))
            .collect(),
        runs: runs.iter().rev().map(RunRow::new).collect(),
        exc,
        banks: BankId::all()
            .map(|b| BankOpt {
                code: b.code(),
                name: b.short_name(),
            })
            .collect(),
        max_upload_mb: st.config.max_upload_bytes / (1024 * 1024),
    };
    Ok((status, render(&page)).into_response())
}

pub async fn period(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<PeriodQuery>,
) -> PageResult {
    require_read(&v)?;
    period_page(&st, &v, id, &q, Vec::new(), StatusCode::OK).await
}
