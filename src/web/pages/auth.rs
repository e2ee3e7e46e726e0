//! Sign-in with a token (login CSRF by double submit), sign-out, the language switch.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use super::error::{OrPage, PageResult, WebError};
use super::layout::Layout;
use super::{CsrfForm, PageQuery, check_post, csrf_of, render, see_other};
use crate::app::AppState;
use crate::store::NewSession;
use crate::web::i18n::Tr;
use crate::web::session::{
    self, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Viewer, clear_cookie, cookie, cross_site_post,
    random_secret, safe_next, session_expiry, session_hash, set_cookie,
};

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
