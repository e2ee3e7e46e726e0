//! Page handlers: sign-in, periods, a period's uploads, figures and exceptions, runs and
//! their downloads, the audit log. Writes go through the same service functions as the API.

use std::str::FromStr;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::i18n::Tr;
use super::session::{
    self, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Viewer, clear_cookie, cookie, cross_site_post,
    random_secret, safe_next, session_expiry, session_hash, set_cookie,
};
use super::views::{self, ExceptionsView, FiguresView};
use crate::app::AppState;
use crate::domain::access::Role;
use crate::domain::banks::BankId;
use crate::domain::period::PeriodCode;
use crate::report::Lang;
use crate::service::{self, Download, ExceptionQuery, ServiceError, UploadRequest};
use crate::store::{NewSession, Period, StoreError, Upload, UploadKind};

// ---------------------------------------------------------------------------------------
// Errors

#[derive(Debug)]
pub enum WebError {
    NotFound,
    Forbidden,
    Csrf,
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => WebError::NotFound,
            ServiceError::Store(s) => s.into(),
            ServiceError::Import(e) => WebError::BadRequest(e.to_string()),
            ServiceError::NoList(_) | ServiceError::NeedsConfirmation(_) => {
                WebError::BadRequest(e.to_string())
            }
            ServiceError::Internal(m) => WebError::Internal(m),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

impl WebError {
    pub fn into_page(self, lang: Lang) -> Response {
        let t = Tr { lang };
        let (status, message) = match &self {
            WebError::NotFound => (StatusCode::NOT_FOUND, t.s("error.not_found").to_owned()),
            WebError::Forbidden => (StatusCode::FORBIDDEN, t.s("error.forbidden").to_owned()),
            WebError::Csrf => (StatusCode::FORBIDDEN, t.s("error.csrf").to_owned()),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            WebError::Internal(cause) => {
                tracing::error!(%cause, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    t.s("error.internal").to_owned(),
                )
            }
        };
        let page = ErrorPage {
            t,
            l: Layout::anonymous(t, "/"),
            message,
        };
        (status, render(&page)).into_response()
    }
}

/// A handler's result: the page, or an error page in the viewer's language.
pub struct PageError(WebError, Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_page(self.1)
    }
}

type PageResult = Result<Response, PageError>;

trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(e.into(), lang))
    }
}

fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A page's query string; a value that cannot be read (`?page=abc`) gets the site's own
/// error page in the reader's language, not a plain-text 400.
pub struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for PageQuery<T>
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(q)) => Ok(PageQuery(q)),
            Err(e) => {
                let lang = super::session::lang_of(&parts.headers);
                let t = Tr { lang };
                let message = format!(
                    "{}: {}",
                    t.pick(
                        "Địa chỉ trang có giá trị không đọc được",
                        "The page address has a value that cannot be read"
                    ),
                    e.body_text().chars().take(200).collect::<String>()
                );
                Err(WebError::BadRequest(message).into_page(lang))
            }
        }
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------------------------------
// Layout

pub struct Nav {
    pub name: String,
    pub role: &'static str,
    pub can_audit: bool,
    pub csrf: String,
}

/// What the shared frame needs: the texts, who is signed in, where the language switch
/// comes back to.
pub struct Layout {
    pub nav: Option<Nav>,
    pub here: String,
}

impl Layout {
    fn anonymous(_t: Tr, here: &str) -> Self {
        Layout {
            nav: None,
            here: session::url_encode(here),
        }
    }

    fn of(v: &Viewer, here: &str) -> Self {
        let t = Tr { lang: v.lang };
        Layout {
            nav: Some(Nav {
                name: v.token().name.clone(),
                role: t.s(match v.role() {
                    Role::Admin => "role.admin",
                    Role::Accountant => "role.accountant",
                    Role::Auditor => "role.auditor",
                    Role::Bank => "role.bank",
                }),
                can_audit: v.can_audit(),
                csrf: v.csrf().to_owned(),
            }),
            here: session::url_encode(here),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    l: Layout,
    message: String,
}

// ---------------------------------------------------------------------------------------
// Sign-in, sign-out, language

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    l: Layout,
    error: Option<&'static str>,
    next: String,
    login_csrf: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn root(headers: HeaderMap) -> Response {
    if cookie(&headers, SESSION_COOKIE).is_some() {
        see_other("/periods")
    } else {
        see_other("/login")
    }
}

fn login_page(
    st: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&'static str>,
    next: String,
) -> Response {
    let lang = session::lang_of(headers);
    let t = Tr { lang };
    // Login CSRF: a random value in a cookie and in the form must match (double submit).
    let login_csrf = random_secret();
    let page = LoginPage {
        t,
        l: Layout::anonymous(t, "/login"),
        error,
        next,
        login_csrf: login_csrf.clone(),
    };
    let mut resp = (status, render(&page)).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(
        headers,
        st.config.secure_cookies,
        LOGIN_COOKIE,
        &login_csrf,
        3600,
    )) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

pub async fn login_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    PageQuery(q): PageQuery<NextQuery>,
) -> Response {
    login_page(
        &st,
        &headers,
        StatusCode::OK,
        None,
        safe_next(q.next.as_deref()),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: Option<String>,
    next: Option<String>,
}

pub async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let lang = session::lang_of(&headers);
    let Ok(Form(form)) = form else {
        return WebError::Csrf.into_page(lang);
    };
    let expected = cookie(&headers, LOGIN_COOKIE);
    let csrf_ok =
        matches!((&expected, &form.csrf), (Some(a), Some(b)) if session::same_secret(a, b));
    if !csrf_ok || cross_site_post(&headers) {
        return WebError::Csrf.into_page(lang);
    }
    let next = safe_next(form.next.as_deref());
    let token = match st
        .store
        .token_by_hash(&crate::tokens::hash(&form.token))
        .await
    {
        Ok(t) => t,
        Err(e) => return WebError::from(e).into_page(lang),
    };
    let Some(token) = token else {
        tracing::info!("web sign-in refused: unknown or revoked token");
        return login_page(
            &st,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("login.bad_token"),
            next,
        );
    };
    if !token.role.can_read() {
        return login_page(
            &st,
            &headers,
            StatusCode::FORBIDDEN,
            Some("login.bank_role"),
            next,
        );
    }
    let id = random_secret();
    let new = NewSession {
        token_id: token.id,
        session_hash: session_hash(&id),
        csrf_token: random_secret(),
        expires_at: session_expiry(Utc::now()),
    };
    if let Err(e) = st.store.create_session(new).await {
        return WebError::from(e).into_page(lang);
    }
    let mut resp = see_other(&next);
    let secure = st.config.secure_cookies;
    for c in [
        set_cookie(
            &headers,
            secure,
            SESSION_COOKIE,
            &id,
            session::SESSION_HOURS * 3600,
        ),
        clear_cookie(&headers, secure, LOGIN_COOKIE),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        st.store
            .delete_session(&session_hash(&id))
            .await
            .or_page(v.lang)?;
    }
    let mut resp = see_other("/login");
    if let Ok(c) = HeaderValue::from_str(&clear_cookie(
        &headers,
        st.config.secure_cookies,
        SESSION_COOKIE,
    )) {
        resp.headers_mut().append(SET_COOKIE, c);
    }
    Ok(resp)
}

/// `/lang/en?next=/periods/3`: remember the language for a year and go back.
pub async fn set_lang(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    PageQuery(q): PageQuery<NextQuery>,
) -> Response {
    let code = if code == "en" { "en" } else { "vi" };
    let mut resp = see_other(&safe_next(q.next.as_deref()));
    if let Ok(c) = HeaderValue::from_str(&set_cookie(
        &headers,
        st.config.secure_cookies,
        LANG_COOKIE,
        code,
        365 * 24 * 3600,
    )) {
        resp.headers_mut().append(SET_COOKIE, c);
    }
    resp
}

fn csrf_of(form: &Result<Form<CsrfForm>, FormRejection>) -> Option<&str> {
    form.as_ref().ok().and_then(|f| f.csrf.as_deref())
}

fn check_post(v: &Viewer, headers: &HeaderMap, csrf: Option<&str>) -> Result<(), PageError> {
    if !v.csrf_ok(csrf) || cross_site_post(headers) {
        return Err(PageError(WebError::Csrf, v.lang));
    }
    Ok(())
}

fn require_write(v: &Viewer) -> Result<(), PageError> {
    if v.can_write() {
        Ok(())
    } else {
        Err(PageError(WebError::Forbidden, v.lang))
    }
}

fn require_read(v: &Viewer) -> Result<(), PageError> {
    if v.role().can_read() {
        Ok(())
    } else {
        Err(PageError(WebError::Forbidden, v.lang))
    }
}

// ---------------------------------------------------------------------------------------
// Periods

pub struct PeriodRow {
    id: i64,
    code: String,
    label: String,
    programme: String,
    locality: String,
    target: String,
    created: String,
}

impl PeriodRow {
    fn new(p: &Period) -> Self {
        let label = PeriodCode::parse(&p.code).map_or_else(|_| p.code.clone(), |c| c.label_vi());
        PeriodRow {
            id: p.id,
            code: p.code.clone(),
            label,
            programme: p.programme.clone().unwrap_or_default(),
            locality: p.locality.clone().unwrap_or_default(),
            target: p
                .target_bp
                .map(|bp| views::pct(Some(Decimal::new(bp, 2))))
                .unwrap_or_default(),
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
}

async fn periods_page(
    st: &AppState,
    v: &Viewer,
    form: PeriodFormData,
    errors: Vec<String>,
) -> PageResult {
    let t = Tr { lang: v.lang };
    let periods = st.store.list_periods().await.or_page(v.lang)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PeriodsPage {
        t,
        l: Layout::of(v, "/periods"),
        periods: periods.iter().rev().map(PeriodRow::new).collect(),
        can_write: v.can_write(),
        csrf: v.csrf().to_owned(),
        form,
        errors,
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
    let t = Tr { lang: v.lang };
    let target_help = || {
        t.pick(
            "Chỉ tiêu phải là số từ 0 đến 100, tối đa 2 chữ số thập phân (ví dụ 80 hoặc 97,5).",
            "The target must be a number from 0 to 100 with at most 2 decimals (e.g. 80 or 97.5).",
        )
        .to_owned()
    };
    let Ok(target_pct) = parse_target(&form.target_pct) else {
        return periods_page(&st, &v, form, vec![target_help()]).await;
    };
    let req = service::PeriodRequest {
        code: form.code.clone(),
        programme: Some(form.programme.clone()),
        locality: Some(form.locality.clone()),
        target_pct,
    };
    match service::create_period(st.store.as_ref(), req, &v.actor()).await {
        Ok(p) => Ok(see_other(&format!("/periods/{}", p.id))),
        Err(service::CreatePeriodError::Fields(fields)) => {
            let errors = fields
                .iter()
                .map(|f| match f.field {
                    "target_pct" => target_help(),
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
        Err(service::CreatePeriodError::Exists(_)) => {
            let msg = t
                .pick(
                    "Mã kỳ này đã có. Mở kỳ đó trong danh sách bên dưới.",
                    "A period with this code exists; open it from the list below.",
                )
                .to_owned();
            periods_page(&st, &v, form, vec![msg]).await
        }
        Err(service::CreatePeriodError::Store(e)) => Err(PageError(e.into(), v.lang)),
    }
}

// ---------------------------------------------------------------------------------------
// A period: uploads, live figures, exceptions, runs

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

pub struct RunRow {
    id: i64,
    at: String,
    by: String,
    digest: String,
}

pub struct Message {
    ok: bool,
    text: String,
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
    filters: ExceptionQuery,
    uploaded: Option<String>,
}

async fn period_page(
    st: &AppState,
    v: &Viewer,
    id: i64,
    q: &PeriodQuery,
    messages: Vec<Message>,
    status: StatusCode,
) -> PageResult {
    let lang = v.lang;
    let t = Tr { lang };
    let period = st
        .store
        .get_period(id)
        .await
        .or_page(lang)?
        .ok_or(PageError(WebError::NotFound, lang))?;
    let uploads = st.store.list_uploads(id).await.or_page(lang)?;
    let runs = st.store.list_reconciliations(id).await.or_page(lang)?;
    let target = period.target_bp.map(|bp| Decimal::new(bp, 2));
    let (figures, chart, exc) = match service::live(st.store.as_ref(), id).await {
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
        runs: runs
            .iter()
            .rev()
            .map(|r| RunRow {
                id: r.id,
                at: views::date_time(r.created_at),
                by: r.created_by.clone(),
                digest: r.report_sha256.clone(),
            })
            .collect(),
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

struct UploadParts {
    bank: Option<String>,
    /// The accountant confirmed a list whose title names another period or place.
    confirm: bool,
    files: Vec<(String, Vec<u8>)>,
}

/// Read an upload form. Its first field must be the session's CSRF token (the forms put
/// it first): nothing after it, no file, is read into memory before the token checks out.
async fn read_upload_parts(
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
    v: &Viewer,
) -> Result<UploadParts, WebError> {
    let t = Tr { lang: v.lang };
    let too_large = || {
        WebError::BadRequest(format!(
            "{} {} MB.",
            t.pick(
                "Tệp quá lớn; mỗi tệp tối đa",
                "File too large; each file may be at most"
            ),
            limit / (1024 * 1024)
        ))
    };
    let bad = |e: String| WebError::BadRequest(e);
    let mut multipart = multipart.map_err(|_| WebError::Csrf)?;
    let mut parts = UploadParts {
        bank: None,
        confirm: false,
        files: Vec::new(),
    };
    let mut csrf_checked = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) if !csrf_checked => return Err(WebError::Csrf),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => return Err(bad(e.body_text())),
        };
        if !csrf_checked {
            // A token is a few dozen bytes: read at most a little of this field.
            let token = match field.name() {
                Some("csrf") => field.text().await.ok(),
                _ => None,
            };
            if !v.csrf_ok(token.as_deref().filter(|t| t.len() <= 256)) {
                return Err(WebError::Csrf);
            }
            csrf_checked = true;
            continue;
        }
        match field.name() {
            Some("bank") => {
                let text = field.text().await.map_err(|e| bad(e.body_text()))?;
                parts.bank = Some(text.trim().to_owned()).filter(|b| !b.is_empty());
            }
            Some("confirm") => {
                let text = field.text().await.map_err(|e| bad(e.body_text()))?;
                parts.confirm = matches!(text.trim(), "1" | "true" | "on");
            }
            Some("files") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(too_large());
                    }
                    Err(e) => return Err(bad(e.body_text())),
                };
                // A form submitted with no file chosen sends one empty, nameless part.
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if bytes.len() > limit {
                    return Err(too_large());
                }
                let base = name.rsplit(['/', '\\']).next().unwrap_or("upload");
                let base = if base.is_empty() { "upload" } else { base };
                parts.files.push((base.to_owned(), bytes.to_vec()));
            }
            _ => {}
        }
    }
    if !csrf_checked {
        return Err(WebError::Csrf);
    }
    Ok(parts)
}

async fn upload(
    st: AppState,
    headers: HeaderMap,
    v: Viewer,
    id: i64,
    kind: UploadKind,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let lang = v.lang;
    let t = Tr { lang };
    // Session (the Viewer), origin and role are checked before the body is read.
    if cross_site_post(&headers) {
        return Err(PageError(WebError::Csrf, lang));
    }
    require_write(&v)?;
    let parts = read_upload_parts(multipart, st.config.max_upload_bytes, &v)
        .await
        .map_err(|e| PageError(e, lang))?;
    let q = PeriodQuery::default();
    if parts.files.is_empty() {
        let msg = Message {
            ok: false,
            text: t.s("period.no_files").to_owned(),
        };
        return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // Each list replaces the current one: several at once would silently keep the last.
    if kind == UploadKind::Beneficiaries && parts.files.len() > 1 {
        let msg = Message {
            ok: false,
            text: t.s("period.one_list").to_owned(),
        };
        return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let bank = match parts.bank.as_deref() {
        None => None,
        Some(b) => match BankId::resolve(b) {
            Some(bank) => Some(bank),
            None => {
                let msg = Message {
                    ok: false,
                    text: format!(
                        "{}: '{b}'",
                        t.pick("Không nhận ra ngân hàng", "Unknown bank")
                    ),
                };
                return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY)
                    .await;
            }
        },
    };
    let mut messages = Vec::new();
    let mut stored = Vec::new();
    let mut failed = false;
    for (file_name, bytes) in parts.files {
        let req = UploadRequest {
            period_id: id,
            file_name: file_name.clone(),
            bytes,
            bank,
            actor: v.actor(),
            confirmed: parts.confirm,
        };
        match service::upload(st.store.as_ref(), kind, req, &st.imports).await {
            Ok(saved) => {
                stored.push(saved.value.id);
                let what = if saved.created {
                    t.s("period.uploaded_ok")
                } else {
                    t.s("period.upload_same")
                };
                messages.push(Message {
                    ok: true,
                    text: format!("{what}: {file_name}"),
                });
            }
            Err(ServiceError::Import(e)) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!("{} {file_name}: {e}", t.s("period.upload_failed")),
                });
            }
            Err(ServiceError::NeedsConfirmation(warnings)) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!(
                        "{file_name}: {} {}",
                        warnings.join("; "),
                        t.s("period.confirm_help")
                    ),
                });
            }
            Err(e) => return Err(PageError(e.into(), lang)),
        }
    }
    let ids = stored
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if failed {
        // Show what failed and why on the page itself; files that were read are stored.
        let q = PeriodQuery {
            uploaded: Some(ids),
            ..PeriodQuery::default()
        };
        return period_page(&st, &v, id, &q, messages, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    Ok(see_other(&format!("/periods/{id}?uploaded={ids}#uploads")))
}

pub async fn upload_list(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    upload(st, headers, v, id, UploadKind::Beneficiaries, multipart).await
}

pub async fn upload_payouts(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    upload(st, headers, v, id, UploadKind::Payouts, multipart).await
}

/// `POST /uploads/{id}/make-current`: this list becomes its period's current list again.
pub async fn make_current(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    require_write(&v)?;
    let u = st
        .store
        .make_current(id, &v.actor())
        .await
        .or_page(v.lang)?;
    Ok(see_other(&format!(
        "/periods/{}?uploaded={}#uploads",
        u.period_id, u.id
    )))
}

/// `POST /uploads/{id}/retire`: the upload's rows stop counting.
pub async fn retire(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    require_write(&v)?;
    let u = st
        .store
        .retire_upload(id, &v.actor())
        .await
        .or_page(v.lang)?;
    Ok(see_other(&format!("/periods/{}#uploads", u.period_id)))
}

pub async fn run(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    require_write(&v)?;
    match service::reconcile_period(st.store.as_ref(), id, &v.actor()).await {
        Ok((run, _)) => Ok(see_other(&format!("/runs/{}", run.id))),
        Err(ServiceError::NoList(_)) => {
            let msg = Message {
                ok: false,
                text: Tr { lang: v.lang }.s("period.no_list").to_owned(),
            };
            period_page(
                &st,
                &v,
                id,
                &PeriodQuery::default(),
                vec![msg],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError(e.into(), v.lang)),
    }
}

// ---------------------------------------------------------------------------------------
// Runs and downloads

pub struct InputView {
    role: &'static str,
    name: String,
    sha256: String,
    rows: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    t: Tr,
    l: Layout,
    p: PeriodRow,
    run: RunRow,
    figures: FiguresView,
    inputs: Vec<InputView>,
    exc: ExceptionsView,
}

pub async fn run_page(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<ExceptionQuery>,
) -> PageResult {
    require_read(&v)?;
    let lang = v.lang;
    let t = Tr { lang };
    let run = service::load_run(st.store.as_ref(), id)
        .await
        .or_page(lang)?;
    let info = &run.stored.info;
    let period = st
        .store
        .get_period(info.period_id)
        .await
        .or_page(lang)?
        .ok_or(PageError(WebError::NotFound, lang))?;
    let target = run.meta.target_pct;
    let page = RunPage {
        t,
        l: Layout::of(&v, &format!("/runs/{id}")),
        p: PeriodRow::new(&period),
        run: RunRow {
            id: info.id,
            at: views::date_time(info.created_at),
            by: info.created_by.clone(),
            digest: info.report_sha256.clone(),
        },
        figures: FiguresView::of_report(&run.report, target, t),
        inputs: run
            .meta
            .inputs
            .iter()
            .map(|i| InputView {
                role: t.s(if i.role == "beneficiaries" {
                    "upload.kind.beneficiaries"
                } else {
                    "upload.kind.payouts"
                }),
                name: i.name.clone(),
                sha256: i.sha256.clone(),
                rows: format!(
                    "{} / {}",
                    views::count(i.accepted_rows as u64),
                    views::count(i.data_rows as u64)
                ),
            })
            .collect(),
        exc: ExceptionsView::new(
            format!("/runs/{id}"),
            &run.exceptions,
            &run.report,
            &q,
            v.sees_full_ids(),
            t,
        ),
    };
    Ok(render(&page))
}

pub async fn download(
    State(st): State<AppState>,
    v: Viewer,
    Path((id, file)): Path<(i64, String)>,
) -> PageResult {
    require_read(&v)?;
    let what = match file.as_str() {
        "report.xlsx" => Download::Xlsx,
        "report.csv" => Download::Csv,
        "report.json" => Download::Json,
        "follow-up.xlsx" => Download::FollowUp,
        _ => return Err(PageError(WebError::NotFound, v.lang)),
    };
    let run = service::load_run(st.store.as_ref(), id)
        .await
        .or_page(v.lang)?;
    let bytes = service::render(&run, what, v.lang).await.or_page(v.lang)?;
    let disposition = format!("attachment; filename=\"{}\"", what.file_name(id));
    Ok((
        [
            (CONTENT_TYPE, what.content_type().to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Audit log

pub struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Tr,
    l: Layout,
    verified: bool,
    verified_entries: String,
    broken: Option<String>,
    rows: Vec<AuditRow>,
    older: Option<String>,
    newer: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Show entries with `seq` below this (older pages).
    before: Option<i64>,
}

const AUDIT_PAGE: usize = 100;

pub async fn audit(
    State(st): State<AppState>,
    v: Viewer,
    PageQuery(q): PageQuery<AuditQuery>,
) -> PageResult {
    if !v.can_audit() {
        return Err(PageError(WebError::Forbidden, v.lang));
    }
    let t = Tr { lang: v.lang };
    let all = service::audit_trail(st.store.as_ref())
        .await
        .or_page(v.lang)?;
    let (verified, verified_entries, broken) = match crate::audit::verify(&all) {
        Ok(n) => (true, views::count(n as u64), None),
        Err(b) => (
            false,
            views::count(all.len() as u64),
            Some(format!("{} {}: {}", t.s("audit.broken"), b.seq, b.reason)),
        ),
    };
    let before = q.before.unwrap_or(i64::MAX);
    let older_than: Vec<_> = all.iter().rev().filter(|e| e.seq < before).collect();
    let shown: Vec<_> = older_than.iter().take(AUDIT_PAGE).collect();
    let older = (older_than.len() > AUDIT_PAGE)
        .then(|| shown.last().map(|e| format!("/audit?before={}", e.seq)))
        .flatten();
    let newer = q.before.map(|b| {
        let newer_start = all
            .iter()
            .filter(|e| e.seq >= b)
            .nth(AUDIT_PAGE)
            .map(|e| e.seq);
        match newer_start {
            Some(s) => format!("/audit?before={s}"),
            None => "/audit".to_owned(),
        }
    });
    let page = AuditPage {
        t,
        l: Layout::of(&v, "/audit"),
        verified,
        verified_entries,
        broken,
        rows: shown
            .iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: views::date_time_text(&e.at),
                actor: e.actor.clone(),
                action: e.action.clone(),
                subject: e.subject.clone(),
                hash: e.hash.clone(),
            })
            .collect(),
        older,
        newer,
    };
    Ok(render(&page))
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
