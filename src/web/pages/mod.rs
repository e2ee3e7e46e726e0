//! Page handlers: sign-in, periods, a period's uploads, figures and exceptions, runs and
//! their downloads, the audit log. Writes go through the same service functions as the API.
//!
//! By concern: `error` (the error page and how handlers fail), `layout` (the shared frame),
//! `auth` (sign-in, sign-out, language), `periods` (the list and a new period), `period` (a
//! period's page), `uploads` (files in, made current, retired), `runs` (reconciling, a run's
//! page, its downloads), `audit` (the log and its verification). Here: what they share —
//! rendering, the query-string extractor and the checks on posts.

mod approval;
mod arrears;
mod audit;
mod auth;
mod error;
mod layout;
mod orders;
mod period;
mod periods;
mod runs;
mod uploads;

use askama::Template;
use axum::extract::Form;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::{Viewer, cross_site_post};
use crate::app::AppState;
use crate::domain::Lang;
use crate::store::Period;

pub use approval::{approve, reopen, return_run, submit};
pub use arrears::carry_over;
pub use audit::audit;
pub use auth::{login, login_form, logout, root, set_lang};
pub use error::{PageError, WebError};
pub use orders::payment_orders;
pub use period::{comparison_csv, period};
pub use periods::{create_period, periods};
pub use runs::{compare_page, download, resolve, run, run_page};
pub use uploads::{make_current, retire, upload_list, upload_payouts};

use error::OrPage;

/// How pages name the people behind stored actors (`accountant:ke-toan`): the token's
/// display name, else its name; actors of no token (`cli:root`) by their name part.
pub(crate) struct People(std::collections::HashMap<String, String>);

impl People {
    async fn load(st: &AppState, lang: Lang) -> Result<Self, PageError> {
        let tokens = st.store.list_tokens().await.or_page(lang)?;
        Ok(People(
            tokens
                .iter()
                .map(|t| (t.actor(), t.person().to_owned()))
                .collect(),
        ))
    }

    /// The holder of the token named `name`, whatever its role.
    fn of_token(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(actor, _)| actor.split_once(':').is_some_and(|(_, n)| n == name))
            .map_or_else(|| name.to_owned(), |(_, p)| p.clone())
    }

    fn name(&self, actor: &str) -> String {
        match self.0.get(actor) {
            Some(p) => p.clone(),
            None => actor
                .split_once(':')
                .map_or(actor, |(_, name)| name)
                .to_owned(),
        }
    }
}

/// A unit's full name ("Phường Ba Đình"), or its code when unknown.
fn unit_name(code: &str) -> String {
    crate::domain::units::shipped_tree()
        .get(code)
        .map_or_else(|| code.to_owned(), unit_label)
}

/// How a page names a unit: "Phường Ba Đình", "Thành phố Hà Nội"; the nation as "Việt Nam"
/// (its full name is the state's).
fn unit_label(u: &crate::domain::units::Unit) -> String {
    if u.level == crate::domain::units::UnitLevel::Nation {
        u.name.clone()
    } else {
        u.full_name.clone()
    }
}

/// The unit a page shows (`asked`, else the viewer's own): not found unless it lies within
/// the viewer's subtree.
fn viewed_unit(
    v: &Viewer,
    asked: Option<&str>,
) -> Result<&'static crate::domain::units::Unit, PageError> {
    crate::service::unit_or(asked, &v.token().unit)
        .ok()
        .filter(|u| v.token().sees(&u.code))
        .ok_or(PageError(WebError::NotFound, v.lang))
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
        match crate::app::query::merged(parts.uri.query().unwrap_or("")) {
            Ok(q) => Ok(PageQuery(q)),
            Err(e) => {
                let lang = super::session::lang_of(&parts.headers);
                let t = Tr { lang };
                let message = format!(
                    "{}: {}",
                    t.pick(
                        "Địa chỉ trang có giá trị không đọc được",
                        "The page address has a value that cannot be read"
                    ),
                    e.chars().take(200).collect::<String>()
                );
                Err(WebError::BadRequest(message).into_page(lang))
            }
        }
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
    /// The unit a form acts for (the run button's), where it names one.
    unit: Option<String>,
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

/// The period, or the not-found page.
async fn find_period(st: &AppState, id: i64, lang: Lang) -> Result<Period, PageError> {
    st.store
        .get_period(id)
        .await
        .or_page(lang)?
        .ok_or(PageError(WebError::NotFound, lang))
}
