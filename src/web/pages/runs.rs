//! Runs: reconciling a period, a run's page with its inputs and digest, its downloads.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use rust_decimal::Decimal;

use super::error::{OrPage, PageError, PageResult, WebError};
use super::layout::Layout;
use super::period::{Message, PeriodQuery, period_page};
use super::periods::PeriodRow;
use super::{
    CsrfForm, PageQuery, check_post, csrf_of, find_period, render, require_read, require_write,
    see_other,
};
use crate::app::AppState;
use crate::service::{self, Download, ExceptionQuery, ServiceError};
use crate::store::RunInfo;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views::{self, ExceptionsView, FiguresView};

/// An input's role as pages name it.
fn role_label(t: Tr, role: &str) -> &'static str {
    t.s(if role == "beneficiaries" {
        "upload.kind.beneficiaries"
    } else {
        "upload.kind.payouts"
    })
}

pub struct RunRow {
    pub(super) id: i64,
    pub(super) unit: String,
    pub(super) unit_name: String,
    pub(super) at: String,
    pub(super) by: String,
    pub(super) digest: String,
    pub(super) state: &'static str,
    pub(super) state_label: &'static str,
}

impl RunRow {
    pub(super) fn new(r: &RunInfo, people: &super::People, lang: crate::domain::Lang) -> Self {
        RunRow {
            state: r.state.as_str(),
            state_label: r.state.label(lang),
            id: r.id,
            unit: r.unit.clone(),
            unit_name: super::unit_name(&r.unit),
            at: views::date_time(r.created_at),
            by: people.name(&r.created_by),
            digest: r.report_sha256.clone(),
        }
    }
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
    // The unit the page showed, else the viewer's own; never one outside the viewer's.
    let asked = form.as_ref().ok().and_then(|f| f.unit.as_deref());
    let unit = super::viewed_unit(&v, asked)?.code.clone();
    match service::reconcile_period(st.store.as_ref(), &st.search, id, &unit, &v.actor()).await {
        Ok((run, _)) => Ok(see_other(&format!("/runs/{}?new=1", run.id))),
        Err(ServiceError::NoList(_) | ServiceError::NoListIn(..)) => {
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
    /// The digest of each file as first downloaded whole, in the page's language.
    digests: Vec<DigestView>,
    /// Just made: say so.
    new: bool,
    /// An exception's resolution just recorded: say so.
    resolved: bool,
    /// The lists the follow-up works from, by commune, each a filtered download.
    todo: TodoView,
    /// The period's other runs the viewer may compare this one with, newest first.
    others: Vec<i64>,
    /// Its state, steps and the forms the viewer may use.
    a: super::approval::ApprovalView,
    /// Just submitted, approved, returned or reopened: the confirmation.
    done: Option<&'static str>,
}

/// The follow-up's lists, each a filter of the run's exceptions: its name, the outcomes it
/// takes, and how many people it holds in all and in each commune.
struct TodoView {
    lists: Vec<(&'static str, &'static str)>,
    total: Vec<TodoCell>,
    communes: Vec<(String, Vec<TodoCell>)>,
}

struct TodoCell {
    count: String,
    /// The filtered workbook; None when the list is empty.
    href: Option<String>,
}

/// (label key, outcomes) of each to-do list.
const TODO_LISTS: [(&str, &str); 5] = [
    ("todo.topups", "underpaid"),
    ("todo.recover", "overpaid,duplicate"),
    ("todo.repay", "failed,returned,unpaid"),
    ("todo.accounts", "no_account"),
    ("todo.unmatched", "unmatched_payout"),
];

fn todo_view(id: i64, report: &crate::report::Report, t: Tr) -> TodoView {
    use crate::recon::Outcome;
    let of = |outcomes: &crate::recon::OutcomeCounts, kinds: &str, unmatched: u64| -> u64 {
        kinds
            .split(',')
            .map(|k| {
                Outcome::ALL.iter().find(|o| o.as_str() == k).map_or(
                    if k == "unmatched_payout" {
                        unmatched
                    } else {
                        0
                    },
                    |o| outcomes.get(*o),
                )
            })
            .sum()
    };
    let cell = |n: u64, kinds: &str, commune: Option<&str>| TodoCell {
        count: views::count(n),
        href: (n > 0).then(|| {
            let mut href = format!(
                "/runs/{id}/exceptions.xlsx?outcome={}",
                kinds.replace(',', "%2C")
            );
            if let Some(c) = commune {
                href.push_str("&commune=");
                href.push_str(&crate::web::session::url_encode(c));
            }
            href
        }),
    };
    let total = TODO_LISTS
        .iter()
        .map(|(_, kinds)| {
            cell(
                of(&report.outcomes, kinds, report.unmatched_payouts.count),
                kinds,
                None,
            )
        })
        .collect();
    let communes = report
        .by_commune
        .iter()
        .filter_map(|c| {
            let name = c.commune.as_deref()?;
            // Unmatched payouts name no commune: that column is the run's only.
            let cells = TODO_LISTS
                .iter()
                .map(|(_, kinds)| cell(of(&c.figures.outcomes, kinds, 0), kinds, Some(name)))
                .collect();
            Some((name.to_owned(), cells))
        })
        .collect();
    TodoView {
        lists: TODO_LISTS
            .iter()
            .map(|(k, kinds)| (t.s(k), *kinds))
            .collect(),
        total,
        communes,
    }
}

struct DigestView {
    label: &'static str,
    /// None until the file is first downloaded whole.
    sha256: Option<String>,
    bytes: String,
}

/// A download's query: the exception filters (for the filtered list) and the CSV's shape.
#[derive(serde::Deserialize, Default)]
pub struct DownloadQuery {
    #[serde(flatten)]
    filters: ExceptionQuery,
    sep: Option<String>,
    ids: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct RunQuery {
    #[serde(flatten)]
    filters: ExceptionQuery,
    /// `1` right after the run was made (the confirmation).
    new: Option<String>,
    /// The step just taken (`submit`, `approve`, `return`, `reopen`): its confirmation.
    done: Option<String>,
    /// `1` right after an exception's resolution was recorded.
    resolved: Option<String>,
}

pub async fn run_page(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    PageQuery(RunQuery {
        filters: q,
        new,
        done,
        resolved,
    }): PageQuery<RunQuery>,
) -> PageResult {
    require_read(&v)?;
    let lang = v.lang;
    let t = Tr { lang };
    let run = service::load_run(st.store.as_ref(), id)
        .await
        .or_page(lang)?;
    if !v.token().sees(&run.stored.info.unit) {
        return Err(PageError(WebError::NotFound, lang));
    }
    let info = &run.stored.info;
    let period = find_period(&st, info.period_id, lang).await?;
    let target = run.meta.targets();
    let kept = st.store.run_downloads(id).await.or_page(lang)?;
    let people = super::People::load(&st, lang).await?;
    let approval = service::approval::run_view(st.store.as_ref(), info.clone())
        .await
        .or_page(lang)?;
    // An approved run's workbooks are the signed documents: their digests are those shown.
    let signed = approval.run.state == crate::domain::approval::RunState::Approved;
    let digests = [
        (Download::Xlsx, "run.xlsx"),
        (Download::Csv, "run.csv"),
        (Download::FollowUp, "run.followup"),
    ]
    .into_iter()
    .map(|(d, label)| {
        let k = kept
            .iter()
            .find(|k| k.file == d.kept_name(signed) && k.lang == lang.code());
        DigestView {
            label: t.s(label),
            sha256: k.map(|k| k.sha256.clone()),
            bytes: k.map_or_else(String::new, |k| views::count(k.bytes.max(0) as u64)),
        }
    })
    .collect();
    let mut others: Vec<i64> = st
        .store
        .list_reconciliations(info.period_id)
        .await
        .or_page(lang)?
        .into_iter()
        .filter(|r| r.id != id && service::compare::comparable(r, info) && v.token().sees(&r.unit))
        .map(|r| r.id)
        .collect();
    others.reverse();
    let page = RunPage {
        a: super::approval::ApprovalView::of(&approval, &v, &people),
        done: match done.as_deref() {
            Some("submit") => Some(t.s("done.submit")),
            Some("approve") => Some(t.s("done.approve")),
            Some("return") => Some(t.s("done.return")),
            Some("reopen") => Some(t.s("done.reopen")),
            _ => None,
        },
        others,
        todo: todo_view(id, &run.report, t),
        new: new.as_deref() == Some("1"),
        resolved: resolved.as_deref() == Some("1"),
        digests,
        t,
        l: Layout::of(&v, &format!("/runs/{id}")),
        p: PeriodRow::new(&period, t),
        run: RunRow::new(info, &people, lang),
        figures: FiguresView::of_report(&run.report, target, t),
        inputs: run
            .meta
            .inputs
            .iter()
            .map(|i| InputView {
                role: role_label(t, &i.role),
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
            service::exception_page(
                st.store.as_ref(),
                &st.search,
                &run,
                &ExceptionsView::query(&q),
            )
            .await
            .or_page(lang)?,
            &run.report,
            &q,
            v.sees_full_ids(),
            t,
        )
        .with_resolutions(v.can_write().then(|| v.csrf()), t),
    };
    Ok(render(&page))
}

/// The form of one exception's resolution on the run page.
#[derive(serde::Deserialize)]
pub struct ResolveForm {
    csrf: Option<String>,
    key: String,
    action: String,
    state: Option<String>,
    note: Option<String>,
    beneficiary: Option<String>,
}

/// `POST /runs/{id}/resolutions`: record what was done about one exception of the run
/// (as the API's `…/exceptions/{key}/resolutions`), back to the run's list.
pub async fn resolve(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> PageResult {
    let lang = v.lang;
    check_post(
        &v,
        &headers,
        form.as_ref().ok().and_then(|f| f.csrf.as_deref()),
    )?;
    require_write(&v)?;
    let Ok(Form(f)) = form else {
        return Err(PageError(
            WebError::BadRequest(Tr { lang }.s("res.act").to_owned()),
            lang,
        ));
    };
    let run = service::load_run(st.store.as_ref(), id)
        .await
        .or_page(lang)?;
    if !v.token().sees(&run.stored.info.unit) {
        return Err(PageError(WebError::NotFound, lang));
    }
    let req = service::resolutions::ResolutionRequest {
        action: f.action,
        state: f.state,
        note: f.note,
        beneficiary: f.beneficiary,
    };
    service::resolutions::resolve(st.store.as_ref(), &run, &f.key, req, v.token())
        .await
        .or_page(lang)?;
    Ok(see_other(&format!("/runs/{id}?resolved=1#exceptions")))
}

pub async fn download(
    State(st): State<AppState>,
    v: Viewer,
    Path((id, file)): Path<(i64, String)>,
    PageQuery(DownloadQuery {
        filters: q,
        sep,
        ids,
    }): PageQuery<DownloadQuery>,
) -> PageResult {
    let csv = crate::report::csv::CsvStyle::from_query(sep.as_deref(), ids.as_deref());
    require_read(&v)?;
    // The list as the page filtered it.
    if let Some(xlsx) = match file.as_str() {
        "exceptions.xlsx" => Some(true),
        "exceptions.csv" => Some(false),
        _ => None,
    } {
        let run = service::load_run(st.store.as_ref(), id)
            .await
            .or_page(v.lang)?;
        if !v.token().sees(&run.stored.info.unit) {
            return Err(PageError(WebError::NotFound, v.lang));
        }
        let body = service::download_view(st.store.clone(), run, xlsx, &q, v.lang, csv, &v.actor())
            .await
            .or_page(v.lang)?;
        return Ok(crate::app::download::view_response(xlsx, id, body));
    }
    let what = [
        Download::Xlsx,
        Download::Csv,
        Download::Json,
        Download::FollowUp,
    ]
    .into_iter()
    .find(|d| d.name() == file)
    .ok_or(PageError(WebError::NotFound, v.lang))?;
    let run = service::load_run(st.store.as_ref(), id)
        .await
        .or_page(v.lang)?;
    if !v.token().sees(&run.stored.info.unit) {
        return Err(PageError(WebError::NotFound, v.lang));
    }
    let body = service::download(st.store.clone(), run, what, v.lang, csv, &v.actor())
        .await
        .or_page(v.lang)?;
    Ok(crate::app::download::response(what, id, body))
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    t: Tr,
    l: Layout,
    p: PeriodRow,
    a: RunRow,
    b: RunRow,
    figures: Vec<CompareRow>,
    inputs: Vec<InputChangeView>,
}

struct CompareRow {
    label: String,
    a: String,
    b: String,
    change: String,
    changed: bool,
}

struct InputChangeView {
    role: &'static str,
    name: String,
    sha256: String,
    change: &'static str,
    kind: String,
}

#[derive(serde::Deserialize, Default)]
pub struct CompareQuery {
    /// The other run.
    with: Option<i64>,
}

/// `GET /runs/{id}/compare?with={other}`: the two runs side by side.
pub async fn compare_page(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<CompareQuery>,
) -> PageResult {
    require_read(&v)?;
    let lang = v.lang;
    let t = Tr { lang };
    let other = q.with.ok_or(PageError(
        WebError::BadRequest(t.s("compare.pick").to_owned()),
        lang,
    ))?;
    let load = |id: i64| {
        let st = st.clone();
        async move { service::load_run(st.store.as_ref(), id).await }
    };
    let (a, b) = (
        load(id).await.or_page(lang)?,
        load(other).await.or_page(lang)?,
    );
    if !v.token().sees(&a.stored.info.unit) || !v.token().sees(&b.stored.info.unit) {
        return Err(PageError(WebError::NotFound, lang));
    }
    if !service::compare::comparable(&a.stored.info, &b.stored.info) {
        return Err(PageError(
            WebError::BadRequest(t.s("compare.other_period").to_owned()),
            lang,
        ));
    }
    let c = service::compare::compare(&a, &b);
    let period = find_period(&st, c.a.period_id, lang).await?;
    let people = super::People::load(&st, lang).await?;
    let label = |key: &str| -> String {
        if let Some(o) = key.strip_prefix("outcomes.") {
            return crate::recon::Outcome::ALL
                .iter()
                .find(|x| x.as_str() == o)
                .map_or(o.to_owned(), |x| {
                    t.pick(x.label_vi(), x.label_en()).to_owned()
                });
        }
        t.s(&format!("compare.{key}")).to_owned()
    };
    let show = |key: &str, d: Option<Decimal>| -> String {
        let Some(d) = d else {
            return "–".to_owned();
        };
        if key.ends_with("_pct") {
            views::pct(Some(d))
        } else if key.starts_with("amount") || key == "unmatched_payouts.amount" {
            crate::domain::money::format_vnd(d)
        } else {
            views::count(rust_decimal::prelude::ToPrimitive::to_u64(&d).unwrap_or(0))
        }
    };
    let signed = |key: &str, d: Option<Decimal>| -> String {
        match d {
            None => String::new(),
            Some(d) if d.is_zero() => "0".to_owned(),
            Some(d) => {
                let sign = if d.is_sign_negative() { "−" } else { "+" };
                let abs = show(key, Some(d.abs()));
                if key.ends_with("_pct") {
                    // Points, not percent.
                    format!(
                        "{sign}{} {}",
                        abs.trim_end_matches('%'),
                        t.s("compare.points")
                    )
                } else {
                    format!("{sign}{abs}")
                }
            }
        }
    };
    let page = ComparePage {
        t,
        l: Layout::of(&v, &format!("/runs/{id}/compare?with={other}")),
        p: PeriodRow::new(&period, t),
        a: RunRow::new(&c.a, &people, lang),
        b: RunRow::new(&c.b, &people, lang),
        figures: c
            .figures
            .iter()
            .map(|f| CompareRow {
                label: label(&f.key),
                a: show(&f.key, f.a),
                b: show(&f.key, f.b),
                change: signed(&f.key, f.change),
                changed: f.change.is_some_and(|d| !d.is_zero()),
            })
            .collect(),
        inputs: c
            .inputs
            .iter()
            .map(|i| InputChangeView {
                role: role_label(t, &i.role),
                name: i.name.clone(),
                sha256: i.sha256.clone(),
                change: t.s(&format!("compare.input_{}", i.change)),
                kind: i.change.clone(),
            })
            .collect(),
    };
    Ok(render(&page))
}
