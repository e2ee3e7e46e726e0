//! A period's page: its uploads with their row errors, the live figures and exceptions,
//! its runs.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult};
use super::layout::Layout;
use super::periods::PeriodRow;
use super::runs::RunRow;
use super::{PageQuery, find_period, render, require_read};
use crate::app::AppState;
use crate::domain::banks::BankId;
use crate::domain::period::PeriodCode;
use crate::domain::units::Unit;
use crate::service::{self, ExceptionQuery, ServiceError};
use crate::store::{Upload, UploadKind};
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views::{self, ExceptionsView, FiguresView, UnitRowView};

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
    unit: String,
    unit_name: String,
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
    fn new(u: &Upload, t: Tr, highlight: bool, people: &super::People) -> Self {
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
        // Only the parts there are: no stray " · " for an unknown retirer.
        let retired = u.retired_at.map(|at| {
            let by = u.retired_by.as_deref().map(|b| people.name(b));
            [
                Some(t.s("upload.retired").to_owned()),
                by,
                Some(views::date_time(at)),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        });
        UploadView {
            current: u.current,
            retired,
            is_list: u.kind == UploadKind::Beneficiaries,
            id: u.id,
            unit: u.unit.clone(),
            unit_name: super::unit_name(&u.unit),
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
            by: people.name(&u.uploaded_by),
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
    /// The unit shown, from the viewer's own down to it.
    unit: UnitView,
    crumbs: Vec<UnitView>,
    /// The unit's children with data, when it has any.
    units: Option<UnitsView>,
    /// The units an upload may be for: the way down to the unit shown, and its children.
    unit_choices: Vec<views::Opt>,
    /// What each bank sent by callback, for the unit shown (`callback_rows`).
    callbacks: Vec<CallbackRow>,
    /// The period is closed for the unit shown: which approved run closed it, and since.
    closed: Option<ClosedView>,
    /// The unit's lists compared with the previous period's.
    cmp: ComparisonView,
    /// Arrears carried into the period, and the form that carries a run over.
    arrears: super::arrears::ArrearsView,
}

pub struct ClosedView {
    run_id: i64,
    text: String,
}

/// "Compared with the previous period": the previous period named, the four counts and
/// the first rows of each change, with a download of them all.
pub struct ComparisonView {
    /// The previous period's label and page, when there is one.
    previous: Option<(String, String)>,
    groups: Vec<ChangeGroup>,
    /// All rows as CSV.
    csv: String,
}

pub struct ChangeGroup {
    code: &'static str,
    label: &'static str,
    count: String,
    n: u64,
    rows: Vec<ChangeLine>,
    /// More rows than shown.
    more: bool,
    csv: String,
}

pub struct ChangeLine {
    id: String,
    name: String,
    place: String,
    before: String,
    after: String,
}

/// Rows of each change shown on the page.
const CHANGE_ROWS_SHOWN: usize = 10;

/// A person's standing in one period, as a cell says it: "1.500.000 ₫ · Agribank
/// ****1001" (the account masked unless the viewer sees whole IDs).
fn standing_text(s: &Option<crate::service::comparison::Standing>, full_ids: bool) -> String {
    let Some(s) = s else {
        return "—".to_owned();
    };
    let mut parts = vec![crate::domain::money::format_vnd(s.amount_due)];
    let account = s.account.as_deref().map(|a| {
        if full_ids {
            a.to_owned()
        } else {
            views::mask(a)
        }
    });
    let bank = s.bank.map(|b| b.short_name().to_owned());
    let held: Vec<String> = [bank, account].into_iter().flatten().collect();
    if !held.is_empty() {
        parts.push(held.join(" "));
    }
    parts.join(" · ")
}

async fn comparison_view(
    st: &AppState,
    v: &Viewer,
    period: i64,
    unit: &str,
    t: Tr,
) -> Result<ComparisonView, PageError> {
    use crate::recon::previous::Change;
    use crate::service::comparison::{self, ComparisonQuery};
    let lang = v.lang;
    let csv = format!("/periods/{period}/comparison.csv?unit={unit}");
    let mut groups = Vec::new();
    let mut previous = None;
    for change in Change::ALL {
        let q = ComparisonQuery {
            changes: vec![change],
            offset: 0,
            limit: Some(CHANGE_ROWS_SHOWN),
        };
        let c = comparison::compare(st.store.as_ref(), period, unit, &q)
            .await
            .or_page(lang)?;
        let Some(p) = &c.previous_period else {
            break;
        };
        let label = PeriodCode::words_of(&p.code, lang == crate::domain::Lang::Vi);
        previous = Some((label, format!("/periods/{}?unit={unit}", p.id)));
        let n = c.counts().get(change);
        groups.push(ChangeGroup {
            code: change.as_str(),
            label: t.pick(change.label_vi(), change.label_en()),
            count: views::count(n),
            n,
            more: n > c.rows.len() as u64,
            csv: format!("{csv}&change={}", change.as_str()),
            rows: c
                .rows
                .iter()
                .map(|r| ChangeLine {
                    id: if v.sees_full_ids() {
                        r.population_id.clone()
                    } else {
                        views::mask(&r.population_id)
                    },
                    name: r.name.clone(),
                    place: r
                        .commune
                        .clone()
                        .or_else(|| r.unit.as_deref().map(super::unit_name))
                        .unwrap_or_default(),
                    before: standing_text(&r.before, v.sees_full_ids()),
                    after: standing_text(&r.after, v.sees_full_ids()),
                })
                .collect(),
        });
    }
    Ok(ComparisonView {
        previous,
        groups,
        csv,
    })
}

/// Every row of the comparison of the unit shown with the previous period, as CSV
/// (`change=` one change; default all four).
pub async fn comparison_csv(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<crate::service::comparison::ComparisonParams>,
) -> PageResult {
    require_read(&v)?;
    let lang = v.lang;
    let unit = super::viewed_unit(&v, q.unit.as_deref())?;
    find_period(&st, id, lang).await?;
    let query = q
        .query()
        .map_err(|e| PageError(super::WebError::BadRequest(e), lang))?;
    let body = crate::service::comparison::csv_download(
        st.store.clone(),
        id,
        unit.code.clone(),
        query.changes,
        lang,
    );
    Ok(crate::app::download::comparison_response(
        id, &unit.code, body,
    ))
}

pub struct CallbackRow {
    bank: String,
    payouts: String,
    success: String,
    failed: String,
    returned: String,
    last_at: String,
}

/// The banks' callbacks counted on the page of unit `shown` (within the viewer's subtree):
/// those naming a unit within it; those naming none only on the nation's page (such payouts
/// count wherever they link, which this table does not follow).
fn callback_rows(tallies: &[crate::store::CallbackTally], shown: &str) -> Vec<CallbackRow> {
    let tree = crate::domain::units::shipped_tree();
    let mut by_bank: Vec<(String, [i64; 4], chrono::DateTime<chrono::Utc>)> = Vec::new();
    for c in tallies {
        let visible = match &c.unit {
            Some(u) => tree.is_within(u, shown),
            None => shown == crate::domain::units::NATION,
        };
        if !visible {
            continue;
        }
        let n = [c.payouts, c.success, c.failed, c.returned];
        match by_bank.iter_mut().find(|(b, ..)| *b == c.bank_code) {
            Some((_, sums, last)) => {
                for (s, x) in sums.iter_mut().zip(n) {
                    *s += x;
                }
                *last = (*last).max(c.last_at);
            }
            None => by_bank.push((c.bank_code.clone(), n, c.last_at)),
        }
    }
    by_bank
        .into_iter()
        .map(|(code, n, last)| {
            let c = |x: i64| views::count(x.max(0) as u64);
            CallbackRow {
                bank: BankId::resolve(&code).map_or(code.clone(), |b| b.short_name().to_owned()),
                payouts: c(n[0]),
                success: c(n[1]),
                failed: c(n[2]),
                returned: c(n[3]),
                last_at: views::date_time(last),
            }
        })
        .collect()
}

/// A unit as a page names and links it.
pub struct UnitView {
    code: String,
    name: String,
    link: String,
}

impl UnitView {
    fn new(u: &Unit, period: i64) -> Self {
        UnitView {
            code: u.code.clone(),
            name: super::unit_label(u),
            link: format!("/periods/{period}?unit={}", u.code),
        }
    }
}

/// The drill-down: the unit's children against their targets, sortable, with a chart.
pub struct UnitsView {
    rows: Vec<UnitRowView>,
    /// What counts at the unit itself (rows whose commune did not resolve, payouts to
    /// nobody of files uploaded there).
    own: Option<UnitRowView>,
    sorts: Vec<SortLink>,
    chart: Option<String>,
}

/// A column header that sorts the table.
pub struct SortLink {
    label: &'static str,
    link: String,
    /// "ascending" / "descending" when the table is sorted by it (aria-sort).
    sorted: &'static str,
    num: bool,
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    /// The exceptions' filters; `unit` is also the unit whose figures are shown (default:
    /// the viewer's).
    #[serde(flatten)]
    pub(super) filters: ExceptionQuery,
    pub(super) uploaded: Option<String>,
    /// What was just done to the `uploaded` ones, for the confirmation: `upload` (the
    /// default), `current`, `retired`.
    pub(super) done: Option<String>,
    /// The drill-down's column (`views::UNIT_SORTS`) and direction (`desc`).
    pub(super) sort: Option<String>,
    pub(super) dir: Option<String>,
}

/// "Đã tải lên danh sách: ds.xlsx (lần 2) — 26.794 dòng hợp lệ, 0 dòng lỗi".
fn confirmation(u: &Upload, done: Option<&str>, t: Tr) -> String {
    let what = match u.kind {
        UploadKind::Beneficiaries => t.s("upload.kind.beneficiaries").to_lowercase(),
        UploadKind::Payouts => {
            let bank = u
                .bank_code
                .as_deref()
                .and_then(BankId::resolve)
                .map(|b| format!(" ({})", b.short_name()))
                .unwrap_or_default();
            format!("{}{bank}", t.s("upload.kind.payouts").to_lowercase())
        }
    };
    let version = u
        .version
        .map(|n| format!(" ({} {n})", t.s("upload.version")))
        .unwrap_or_default();
    match done {
        Some("current") => format!(
            "{}: {}{version} {}",
            t.s("done.current"),
            u.file_name,
            t.s("done.current_tail")
        ),
        Some("retired") => format!(
            "{} {what}: {}{version} — {}",
            t.s("done.retired"),
            u.file_name,
            t.s("done.retired_tail")
        ),
        _ => format!(
            "{} {what}: {}{version} — {} {}, {} {}",
            t.s("done.uploaded"),
            u.file_name,
            views::count(u.accepted_rows.max(0) as u64),
            t.s("done.valid_rows"),
            views::count(u.rejected_rows.max(0) as u64),
            t.s("done.error_rows"),
        ),
    }
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
    let unit = super::viewed_unit(v, q.filters.unit.as_deref())?;
    let tree = crate::domain::units::shipped_tree();
    // From the viewer's own unit down to the one shown.
    let mut crumbs: Vec<UnitView> = std::iter::successors(Some(unit), |u| {
        (u.code != v.token().unit)
            .then(|| u.parent.as_deref().and_then(|p| tree.get(p)))
            .flatten()
    })
    .map(|u| UnitView::new(u, id))
    .collect();
    crumbs.reverse();
    let children = st.store.child_units(&unit.code).await.or_page(lang)?;
    let unit_choices = crumbs
        .iter()
        .map(|c| (c.code.clone(), c.name.clone()))
        .chain(
            children
                .iter()
                .map(|c| (c.code.clone(), super::unit_label(c))),
        )
        .map(|(code, name)| views::Opt {
            selected: code == unit.code,
            label: format!("{name} ({code})"),
            value: code,
        })
        .collect();
    let mut uploads = st.store.list_uploads(id).await.or_page(lang)?;
    uploads.retain(|u| v.token().sees(&u.unit));
    let highlighted: Vec<i64> = q
        .uploaded
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // After a redirect: say what was done, in the page's words and figures.
    let mut messages = messages;
    if messages.is_empty() {
        messages = highlighted
            .iter()
            .filter_map(|h| uploads.iter().find(|u| u.id == *h))
            .map(|u| Message {
                ok: true,
                text: confirmation(u, q.done.as_deref(), t),
            })
            .collect();
    }
    let mut runs = st.store.list_reconciliations(id).await.or_page(lang)?;
    runs.retain(|r| v.token().sees(&r.unit));
    let people = super::People::load(st, lang).await?;
    let (figures, chart, exc, units) = match service::live(st.store.as_ref(), id, &unit.code).await
    {
        Ok(live) => {
            let units = units_view(&live, id, unit, q, t);
            // A unit with children has their chart; a commune the communes as written.
            let chart = match &units {
                Some(_) => None,
                None => views::commune_chart(&live.report, live.target, t),
            };
            (
                Some(FiguresView::of_report(&live.report, live.target, t)),
                chart,
                Some(ExceptionsView::new(
                    format!("/periods/{id}"),
                    service::filter_exceptions(
                        &live.exceptions,
                        &ExceptionsView::query(&q.filters),
                    ),
                    &live.report,
                    &q.filters,
                    v.sees_full_ids(),
                    t,
                )),
                units,
            )
        }
        Err(ServiceError::NoList(_)) => (None, None, None, None),
        Err(e) => return Err(PageError(e.into(), lang)),
    };
    let closures = service::approval::closures(st.store.as_ref(), id)
        .await
        .or_page(lang)?;
    let closed = service::approval::closure_over(&closures, &unit.code).map(|c| ClosedView {
        run_id: c.run_id,
        text: t
            .s("approval.closed")
            .replace("{unit}", &super::unit_name(&c.unit))
            .replace("{at}", &views::date_time(c.closed_at)),
    });
    let callbacks = callback_rows(
        &st.callback_tallies
            .of(st.store.as_ref(), &period.programme, &period.code)
            .await
            .or_page(lang)?,
        &unit.code,
    );
    let cmp = comparison_view(st, v, id, &unit.code, t).await?;
    let arrears = super::arrears::arrears_view(st, v, &period, &unit.code, t).await?;
    if messages.is_empty() && q.done.as_deref() == Some("carry") {
        messages.push(Message {
            ok: true,
            text: t.s("arrears.done").to_owned(),
        });
    }
    let page = PeriodPage {
        cmp,
        arrears,
        callbacks,
        t,
        l: Layout::of(v, &format!("/periods/{id}?unit={}", unit.code)),
        p: PeriodRow::new(&period, t),
        can_write: v.can_write(),
        csrf: v.csrf().to_owned(),
        messages,
        figures,
        chart,
        uploads: uploads
            .iter()
            .rev()
            .map(|u| UploadView::new(u, t, highlighted.contains(&u.id), &people))
            .collect(),
        runs: runs
            .iter()
            .rev()
            .map(|r| RunRow::new(r, &people, lang))
            .collect(),
        closed,
        exc,
        banks: BankId::all()
            .map(|b| BankOpt {
                code: b.code(),
                name: b.short_name(),
            })
            .collect(),
        max_upload_mb: st.config.max_upload_bytes / (1024 * 1024),
        unit: UnitView::new(unit, id),
        crumbs,
        units,
        unit_choices,
    };
    Ok((status, render(&page)).into_response())
}

/// The drill-down table of `unit`'s children, sorted as the query asks.
fn units_view(
    live: &service::Live,
    period: i64,
    unit: &Unit,
    q: &PeriodQuery,
    t: Tr,
) -> Option<UnitsView> {
    if live.children.children.is_empty() {
        return None;
    }
    let mut rows: Vec<UnitRowView> = live
        .children
        .children
        .iter()
        .map(|c| {
            let name = super::unit_name(&c.unit.code);
            let link = format!("/periods/{period}?unit={}", c.unit.code);
            UnitRowView::new(c, Some(link), name, t)
        })
        .collect();
    let by = q
        .sort
        .as_deref()
        .filter(|s| views::UNIT_SORTS.contains(s))
        .unwrap_or("unit");
    let descending = q.dir.as_deref() == Some("desc");
    views::sort_units(&mut rows, by, descending);
    let own = live.children.own.as_ref().map(|o| {
        let label = format!("{} ({})", super::unit_label(unit), t.s("units.itself"));
        UnitRowView::new(o, None, label, t)
    });
    let labels = [
        ("unit", "units.unit", false),
        ("beneficiaries", "fig.beneficiaries", true),
        ("account", "fig.with_account", true),
        ("cashless", "fig.cashless", true),
        ("due", "fig.amount_due", true),
        ("paid", "fig.amount_paid", true),
    ];
    let sorts = labels
        .into_iter()
        .map(|(key, label, num)| {
            let current = key == by;
            // A click on the sorted column turns it round; numbers start from the highest.
            let next_desc = if current { !descending } else { num };
            SortLink {
                label: t.s(label),
                link: format!(
                    "/periods/{period}?unit={}&sort={key}{}#units",
                    unit.code,
                    if next_desc { "&dir=desc" } else { "" }
                ),
                sorted: match (current, descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
                num,
            }
        })
        .collect();
    let chart = views::unit_chart(&rows, live.target, t);
    Some(UnitsView {
        rows,
        own,
        sorts,
        chart,
    })
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
