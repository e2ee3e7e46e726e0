//! Arrears on the period page: what was carried into the period from earlier approved runs
//! (its figures, its carry-overs, the first people), and the form that carries an approved
//! run over.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult};
use super::{check_post, see_other};
use crate::app::AppState;
use crate::domain::approval::RunState;
use crate::domain::money::format_vnd;
use crate::domain::period::PeriodCode;
use crate::store::Period;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views;

/// People shown on the page (the API pages through all of them).
const ROWS_SHOWN: usize = 50;

pub struct ArrearsView {
    /// People, due, paid, outstanding, as the page writes them; None: nothing carried in.
    pub(super) figures: Option<[String; 4]>,
    pub(super) carry_overs: Vec<CarryRow>,
    pub(super) rows: Vec<ArrearLine>,
    /// More people than shown.
    pub(super) more: bool,
    /// Approved runs of earlier periods of the programme that may be carried in.
    pub(super) candidates: Vec<views::Opt>,
}

pub struct CarryRow {
    pub(super) run_id: i64,
    pub(super) from: String,
    pub(super) people: String,
    pub(super) amount: String,
    pub(super) skipped: String,
    pub(super) by: String,
    pub(super) at: String,
}

pub struct ArrearLine {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) unit: String,
    pub(super) from: String,
    pub(super) due: String,
    pub(super) paid: String,
    pub(super) outstanding: String,
    pub(super) state: &'static str,
    pub(super) settled: bool,
}

fn period_words(code: &str, t: Tr) -> String {
    PeriodCode::words_of(code, t.lang == crate::domain::Lang::Vi)
}

pub(super) async fn arrears_view(
    st: &AppState,
    v: &Viewer,
    period: &Period,
    unit: &str,
    t: Tr,
) -> Result<ArrearsView, PageError> {
    let lang = v.lang;
    let a =
        crate::service::arrears::period_arrears(st.store.as_ref(), period.id, unit, 0, ROWS_SHOWN)
            .await
            .or_page(lang)?;
    let figures = (!a.carry_overs.is_empty() || a.total > 0).then(|| {
        [
            views::count(a.arrears.beneficiaries),
            format_vnd(a.arrears.amount_due),
            format_vnd(a.arrears.amount_paid),
            format_vnd(a.arrears.amount_outstanding),
        ]
    });
    let carry_overs = a
        .carry_overs
        .iter()
        .map(|c| CarryRow {
            run_id: c.from_run,
            from: period_words(&c.from_period_code, t),
            people: views::count(c.people.max(0) as u64),
            amount: format_vnd(c.amount),
            skipped: views::count(c.skipped.max(0) as u64),
            by: c.actor_name.clone(),
            at: views::date_time(c.at),
        })
        .collect();
    let rows = a
        .rows
        .iter()
        .map(|p| ArrearLine {
            id: if v.sees_full_ids() {
                p.population_id.clone()
            } else {
                views::mask(&p.population_id)
            },
            name: p.name.clone(),
            unit: super::unit_name(&p.unit),
            from: p
                .from_periods
                .iter()
                .map(|c| period_words(c, t))
                .collect::<Vec<_>>()
                .join(", "),
            due: format_vnd(p.amount_due),
            paid: format_vnd(p.amount_paid),
            outstanding: format_vnd(p.amount_outstanding),
            settled: p.amount_outstanding.is_zero(),
            state: if p.amount_outstanding.is_zero() {
                t.s("arrears.settled")
            } else if !p.listed {
                t.s("arrears.not_listed")
            } else {
                t.s("arrears.owed")
            },
        })
        .collect();
    // What may be carried in: approved runs within the viewer's subtree, of earlier periods
    // of this programme and kind, not carried in yet.
    let mut candidates = Vec::new();
    if v.can_write()
        && let Ok(here) = PeriodCode::parse(&period.code)
    {
        let tree = crate::domain::units::shipped_tree();
        let mut earlier: Vec<Period> = st
            .store
            .list_periods()
            .await
            .or_page(lang)?
            .into_iter()
            .filter(|p| p.programme == period.programme)
            .filter(|p| PeriodCode::parse(&p.code).is_ok_and(|c| c.precedes(&here)))
            .collect();
        earlier.sort_by(|a, b| b.code.cmp(&a.code));
        for p in earlier.iter().take(12) {
            // A period's people are carried once: not a run whose unit overlaps one carried.
            let carried = st.store.carry_overs_from(p.id).await.or_page(lang)?;
            let overlaps = |unit: &str| {
                carried
                    .iter()
                    .any(|c| tree.is_within(&c.unit, unit) || tree.is_within(unit, &c.unit))
            };
            for r in st.store.list_reconciliations(p.id).await.or_page(lang)? {
                if r.state == RunState::Approved && v.token().sees(&r.unit) && !overlaps(&r.unit) {
                    candidates.push(views::Opt {
                        value: r.id.to_string(),
                        label: format!(
                            "#{} · {} · {}",
                            r.id,
                            period_words(&p.code, t),
                            super::unit_name(&r.unit)
                        ),
                        selected: candidates.is_empty(),
                    });
                }
            }
        }
    }
    Ok(ArrearsView {
        figures,
        carry_overs,
        more: a.total > a.rows.len(),
        rows,
        candidates,
    })
}

/// The carry-over form: the CSRF token, the run, and the unit shown.
#[derive(Deserialize)]
pub struct CarryForm {
    csrf: Option<String>,
    from_run: Option<String>,
    unit: Option<String>,
}

/// Carry an approved run over into the period, back to the period page's arrears.
pub async fn carry_over(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CarryForm>, FormRejection>,
) -> PageResult {
    let f = form.as_ref().ok().map(|f| &f.0);
    check_post(&v, &headers, f.and_then(|f| f.csrf.as_deref()))?;
    let lang = v.lang;
    let unit = super::viewed_unit(&v, f.and_then(|f| f.unit.as_deref()))?
        .code
        .clone();
    let from_run = f
        .and_then(|f| f.from_run.as_deref())
        .and_then(|r| r.trim().trim_start_matches('#').parse::<i64>().ok())
        .ok_or_else(|| {
            PageError(
                crate::service::ServiceError::invalid(
                    "invalid",
                    "Chọn lượt đối soát đã duyệt để chuyển / choose an approved run to carry over",
                )
                .into(),
                lang,
            )
        })?;
    crate::service::arrears::carry_over(st.store.as_ref(), id, from_run, v.token())
        .await
        .or_page(lang)?;
    Ok(see_other(&format!(
        "/periods/{id}?unit={unit}&done=carry#arrears"
    )))
}
