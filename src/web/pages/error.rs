//! How a page fails: the error kinds, the error page in the viewer's language, and the
//! handlers' result type.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::Layout;
use super::render;
use crate::domain::Lang;
use crate::service::ServiceError;
use crate::store::StoreError;
use crate::web::i18n::Tr;

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
            StoreError::Conflict(m) => WebError::BadRequest(m),
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
            ServiceError::NoList(_)
            | ServiceError::NoListIn(..)
            | ServiceError::NeedsConfirmation(_) => WebError::BadRequest(e.to_string()),
            ServiceError::UnknownUnit(_) => WebError::NotFound,
            ServiceError::Forbidden(_) => WebError::Forbidden,
            ServiceError::Closed { .. } => WebError::BadRequest(e.to_string()),
            ServiceError::Invalid { detail, .. } | ServiceError::Refused { detail, .. } => {
                WebError::BadRequest(detail)
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
pub struct PageError(pub(super) WebError, pub(super) Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.into_page(self.1)
    }
}

pub(super) type PageResult = Result<Response, PageError>;

pub(super) trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(e.into(), lang))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    l: Layout,
    message: String,
}
