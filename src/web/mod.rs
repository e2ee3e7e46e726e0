//! Server-rendered pages for accountants and auditors (Vietnamese by default, English
//! on request): sign-in with an API token, periods, uploads with their row errors, the
//! live dashboard, runs and downloads, the audit log. Little script: forms work without it.

pub mod i18n;
pub mod pages;
pub mod session;
pub mod views;

use std::convert::Infallible;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::AppState;

/// How many files one upload form may carry at most, for the request size limit.
const FILES_PER_FORM: usize = 10;

/// Every page form but the uploads is small: a sign-in or a new period never needs more
/// (`server` applies a small form limit to the whole application).
pub fn router(
    max_upload_bytes: usize,
    uploads_at_once: tower::limit::GlobalConcurrencyLimitLayer,
) -> Router<AppState> {
    let form_limit = DefaultBodyLimit::max(max_upload_bytes * FILES_PER_FORM + 64 * 1024);
    Router::new()
        .route("/", get(pages::root))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang/{code}", get(pages::set_lang))
        .route("/periods", get(pages::periods).post(pages::create_period))
        .route("/periods/{id}", get(pages::period))
        .route(
            "/periods/{id}/uploads/list",
            post(pages::upload_list)
                .layer::<_, Infallible>(form_limit)
                .layer::<_, Infallible>(uploads_at_once.clone()),
        )
        .route(
            "/periods/{id}/uploads/payouts",
            post(pages::upload_payouts)
                .layer::<_, Infallible>(form_limit)
                .layer::<_, Infallible>(uploads_at_once),
        )
        .route("/periods/{id}/runs", post(pages::run))
        .route("/periods/{id}/comparison.csv", get(pages::comparison_csv))
        .route("/periods/{id}/payment-orders", post(pages::payment_orders))
        .route("/uploads/{id}/make-current", post(pages::make_current))
        .route("/uploads/{id}/retire", post(pages::retire))
        .route("/runs/{id}", get(pages::run_page))
        .route("/runs/{id}/submit", post(pages::submit))
        .route("/runs/{id}/approve", post(pages::approve))
        .route("/runs/{id}/return", post(pages::return_run))
        .route("/periods/{id}/reopen", post(pages::reopen))
        .route("/periods/{id}/carry-over", post(pages::carry_over))
        .route("/runs/{id}/compare", get(pages::compare_page))
        .route("/runs/{id}/resolutions", post(pages::resolve))
        .route("/runs/{id}/{file}", get(pages::download))
        .route("/audit", get(pages::audit))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(axum::middleware::map_response(page_headers))
}

/// Pages hold personal data: not cached, not framed, no foreign script.
async fn page_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", include_str!("static/app.css"))
}

async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
