//! Maker-checker on the pages: a run's approval section (its state, its steps, what arrived
//! after its period closed) and the forms that submit, approve, return and reopen.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::error::{OrPage, PageResult};
use super::{check_post, see_other};
use crate::app::AppState;
use crate::domain::approval::{RunState, Step};
use crate::service::approval::RunView;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views;

/// A step's form: the CSRF token, the reason, and (reopen) the unit.
#[derive(Deserialize)]
pub struct StepForm {
    csrf: Option<String>,
    reason: Option<String>,
    unit: Option<String>,
}

fn form_of(form: &Result<Form<StepForm>, FormRejection>) -> Option<&StepForm> {
    form.as_ref().ok().map(|f| &f.0)
}

/// The run's approval as its page shows it.
pub struct ApprovalView {
    pub state: &'static str,
    pub state_label: &'static str,
    pub steps: Vec<StepRow>,
    /// "Đã khóa kỳ cho … từ …" while the run's approval holds the period closed.
    pub closed: Option<String>,
    /// What banks sent after the closure.
    pub post_close: Option<String>,
    pub can_submit: bool,
    pub can_decide: bool,
    pub can_reopen: bool,
    /// The viewer submitted it and may approve others': say why there is no form.
    pub own_submission: bool,
    /// The period and unit a reopen form posts for.
    pub period_id: i64,
    pub unit: String,
    pub csrf: String,
}

pub struct StepRow {
    pub label: &'static str,
    pub by: String,
    pub at: String,
    pub reason: String,
}

impl ApprovalView {
    pub fn of(view: &RunView, v: &Viewer, people: &super::People) -> Self {
        let t = Tr { lang: v.lang };
        let state = view.run.state;
        let role = v.role();
        let submitter = view.last(Step::Submit).map(|s| s.token_id);
        let sees = v.token().sees(&view.run.unit);
        ApprovalView {
            state: state.as_str(),
            state_label: state.label(v.lang),
            steps: view
                .steps
                .iter()
                .map(|s| StepRow {
                    label: s.step.label(v.lang),
                    by: if s.person.is_empty() {
                        people.name(&s.by)
                    } else {
                        s.person.clone()
                    },
                    at: views::date_time(s.at),
                    reason: s.reason.clone().unwrap_or_default(),
                })
                .collect(),
            closed: view.closure.as_ref().map(|c| {
                t.s("approval.closed")
                    .replace("{unit}", &super::unit_name(&c.unit))
                    .replace("{at}", &views::date_time(c.closed_at))
            }),
            post_close: view.post_close.as_ref().map(|p| {
                t.s(if p.count == 0 {
                    "approval.post_close_none"
                } else {
                    "approval.post_close"
                })
                .replace("{count}", &views::count(p.count))
                .replace("{amount}", &crate::domain::money::format_vnd(p.amount))
            }),
            can_submit: sees
                && role.can_write()
                && matches!(state, RunState::Draft | RunState::Returned),
            can_decide: sees
                && role.can_approve()
                && state == RunState::Submitted
                && submitter != Some(v.token().id),
            can_reopen: sees && role.can_approve() && view.closure.is_some(),
            own_submission: role.can_approve()
                && state == RunState::Submitted
                && submitter == Some(v.token().id),
            period_id: view.run.period_id,
            unit: view.run.unit.clone(),
            csrf: v.csrf().to_owned(),
        }
    }
}

async fn take(
    st: &AppState,
    headers: &HeaderMap,
    v: &Viewer,
    id: i64,
    step: Step,
    form: &Result<Form<StepForm>, FormRejection>,
) -> PageResult {
    let f = form_of(form);
    check_post(v, headers, f.and_then(|f| f.csrf.as_deref()))?;
    let lang = v.lang;
    crate::service::approval::take_step(
        st.store.as_ref(),
        id,
        step,
        v.token(),
        f.and_then(|f| f.reason.as_deref()),
    )
    .await
    .or_page(lang)?;
    Ok(see_other(&format!(
        "/runs/{id}?done={}#approval",
        step.as_str()
    )))
}

pub async fn submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<StepForm>, FormRejection>,
) -> PageResult {
    take(&st, &headers, &v, id, Step::Submit, &form).await
}

pub async fn approve(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<StepForm>, FormRejection>,
) -> PageResult {
    take(&st, &headers, &v, id, Step::Approve, &form).await
}

pub async fn return_run(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<StepForm>, FormRejection>,
) -> PageResult {
    take(&st, &headers, &v, id, Step::Return, &form).await
}

/// Reopen the period for the unit the form names (an approver's, with a reason); back to
/// the approved run's page.
pub async fn reopen(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<StepForm>, FormRejection>,
) -> PageResult {
    let f = form_of(&form);
    check_post(&v, &headers, f.and_then(|f| f.csrf.as_deref()))?;
    let lang = v.lang;
    let unit = super::viewed_unit(&v, f.and_then(|f| f.unit.as_deref()))?
        .code
        .clone();
    let closure = crate::service::approval::reopen(
        st.store.as_ref(),
        id,
        &unit,
        v.token(),
        f.and_then(|f| f.reason.as_deref()),
    )
    .await
    .or_page(lang)?;
    Ok(see_other(&format!(
        "/runs/{}?done=reopen#approval",
        closure.run_id
    )))
}
