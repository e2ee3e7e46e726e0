//! What the templates show, already formatted the Vietnamese way (`1.234.567 ₫`,
//! `97,31%`, `dd/mm/yyyy`), so templates only place text.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::i18n::Tr;
use crate::domain::Lang;
use crate::domain::dates::vietnam_time;
use crate::domain::money::{
    format_pct, format_thousands, format_vnd, percent, target_margin, target_verdict,
};
use crate::domain::period::Targets;
use crate::recon::{Flag, Outcome};
use crate::report::{Figures, Report};
use crate::service::{ExceptionPage, ExceptionQuery};
use crate::store::SortColumn;

pub fn date_time(t: DateTime<Utc>) -> String {
    vietnam_time(t).format("%d/%m/%Y %H:%M").to_string()
}

/// Audit entries carry RFC 3339 text.
pub fn date_time_text(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| date_time(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| s.to_owned())
}

pub fn count(n: u64) -> String {
    format_thousands(i128::from(n))
}

pub fn pct(p: Option<Decimal>) -> String {
    p.map_or_else(|| "–".to_owned(), format_pct)
}

/// Keep the last four characters of an ID or account; hide the rest.
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i + 4 < n && c.is_alphanumeric() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

pub struct OutcomeCount {
    pub key: &'static str,
    pub label: &'static str,
    pub count: String,
    pub zero: bool,
}

pub struct FiguresView {
    pub beneficiaries: String,
    pub with_account: String,
    pub account_pct: String,
    pub paid_cashless: String,
    pub cashless_pct: String,
    /// Paid cashless as a share of all beneficiaries, not only of account holders.
    pub cashless_share_pct: String,
    pub amount_due: String,
    /// None for runs stored before the amount due was split.
    pub amount_due_cashless: Option<String>,
    pub amount_due_cash: Option<String>,
    pub amount_paid: String,
    /// Each rate's target, "30,00%".
    pub account_target: Option<String>,
    pub cashless_target: Option<String>,
    /// The targets in a table cell: one, or each rate's when they differ.
    pub target_cell: String,
    pub account_meets: Option<bool>,
    /// "vượt 33,16 điểm phần trăm".
    pub account_margin: Option<String>,
    /// "đạt 63,16%, vượt 33,16 điểm phần trăm so với chỉ tiêu".
    pub account_verdict: Option<String>,
    pub cashless_meets: Option<bool>,
    pub cashless_margin: Option<String>,
    pub cashless_verdict: Option<String>,
    pub outcomes: Vec<OutcomeCount>,
    pub unmatched_count: String,
    pub unmatched_amount: String,
    /// "Truy lĩnh: đã chi 1.000.000 ₫ / 1.500.000 ₫, còn nợ 500.000 ₫ (2 người)", where the
    /// period has arrears carried in.
    pub arrears: Option<String>,
}

impl FiguresView {
    pub fn new(f: &Figures, t: Tr) -> Self {
        let vi = t.lang == Lang::Vi;
        let outcomes = Outcome::ALL
            .iter()
            .map(|o| OutcomeCount {
                key: o.as_str(),
                label: t.pick(o.label_vi(), o.label_en()),
                count: count(f.outcomes.get(*o)),
                zero: f.outcomes.get(*o) == 0,
            })
            .collect();
        FiguresView {
            beneficiaries: count(f.beneficiaries),
            with_account: count(f.with_account),
            account_pct: pct(f.account_coverage_pct),
            paid_cashless: count(f.paid_cashless),
            cashless_pct: pct(f.cashless_rate_pct),
            cashless_share_pct: pct(percent(f.paid_cashless, f.beneficiaries)),
            amount_due: format_vnd(f.amount_due),
            amount_due_cashless: f.amount_due_cashless.map(format_vnd),
            amount_due_cash: f.amount_due_cash.map(format_vnd),
            amount_paid: format_vnd(f.amount_paid),
            account_target: f.account_coverage_target_pct.map(format_pct),
            cashless_target: f.cashless_rate_target_pct.map(format_pct),
            target_cell: targets_text(
                Targets {
                    account_coverage: f.account_coverage_target_pct,
                    cashless_rate: f.cashless_rate_target_pct,
                },
                t,
            ),
            account_meets: f.account_coverage_meets_target,
            account_margin: f
                .account_coverage_vs_target_points
                .map(|p| target_margin(p, vi)),
            account_verdict: f
                .account_coverage_target_pct
                .map(|target| target_verdict(f.account_coverage_pct, target, vi)),
            cashless_meets: f.cashless_rate_meets_target,
            cashless_margin: f
                .cashless_rate_vs_target_points
                .map(|p| target_margin(p, vi)),
            cashless_verdict: f
                .cashless_rate_target_pct
                .map(|target| target_verdict(f.cashless_rate_pct, target, vi)),
            outcomes,
            unmatched_count: count(f.unmatched_payouts.count),
            unmatched_amount: format_vnd(f.unmatched_payouts.amount),
            arrears: None,
        }
    }

    pub fn of_report(r: &Report, targets: Targets, t: Tr) -> Self {
        let mut f = Self::new(&r.totals(targets), t);
        f.arrears = r.arrears.as_ref().map(|a| {
            t.s("fig.arrears")
                .replace("{paid}", &format_vnd(a.amount_paid))
                .replace("{due}", &format_vnd(a.amount_due))
                .replace("{outstanding}", &format_vnd(a.amount_outstanding))
                .replace("{people}", &count(a.beneficiaries))
        });
        f
    }
}

/// "80,00%" when both rates share a target; else each rate's, named ("Mở TK 30,00% · Chi
/// qua TK 80,00%"); empty without any.
pub fn targets_text(targets: Targets, t: Tr) -> String {
    if let Some(common) = targets.common() {
        return format_pct(common);
    }
    [
        (targets.account_coverage, t.s("fig.target_account_short")),
        (targets.cashless_rate, t.s("fig.target_cashless_short")),
    ]
    .into_iter()
    .filter_map(|(target, name)| target.map(|p| format!("{name} {}", format_pct(p))))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// Distinct texts, in order, joined by "; ".
fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in items {
        if !s.trim().is_empty() && !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen.join("; ")
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Horizontal bars per commune (names as the list wrote them): share with an account and
/// share paid cashless, with the target as a dashed line.
pub fn commune_chart(r: &Report, target: Targets, t: Tr) -> Option<String> {
    let bars: Vec<Bar> = r
        .by_commune
        .iter()
        .map(|c| Bar {
            label: c.commune.clone().unwrap_or_else(|| "—".to_owned()),
            account: c.figures.account_coverage_pct,
            cashless: c.figures.cashless_rate_pct,
        })
        .collect();
    bar_chart("commune-chart", t.s("period.chart"), &bars, target, t)
}

/// The same bars per child unit of a drill-down.
pub fn unit_chart(rows: &[UnitRowView], target: Targets, t: Tr) -> Option<String> {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| Bar {
            label: r.name.clone(),
            account: r.account_pct_value,
            cashless: r.cashless_pct_value,
        })
        .collect();
    bar_chart("unit-chart", t.s("units.chart"), &bars, target, t)
}

/// One row of a bar chart.
pub struct Bar {
    pub label: String,
    pub account: Option<Decimal>,
    pub cashless: Option<Decimal>,
}

/// Horizontal bars: share with an account and share paid cashless, with the target as a
/// dashed line. Server-rendered SVG: no script, prints as it shows.
fn bar_chart(id: &str, title: &str, bars: &[Bar], targets: Targets, t: Tr) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    const LABEL_W: f64 = 210.0;
    const BAR_W: f64 = 560.0;
    const ROW_H: f64 = 34.0;
    const TOP: f64 = 30.0;
    let width = LABEL_W + BAR_W + 110.0;
    let height = TOP + ROW_H * bars.len() as f64 + 10.0;
    let to_f = |d: Option<Decimal>| -> f64 {
        d.and_then(|d| d.to_string().parse::<f64>().ok())
            .unwrap_or(0.0)
            .clamp(0.0, 100.0)
    };
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"bars\" role=\"img\" aria-labelledby=\"{id}-title\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-title\">{}</title>",
        escape(title)
    );
    svg.push_str(&format!(
        "<rect x=\"{LABEL_W}\" y=\"6\" width=\"12\" height=\"12\" class=\"key-account\"/>\
         <text x=\"{}\" y=\"16\" class=\"legend\">{}</text>\
         <rect x=\"{}\" y=\"6\" width=\"12\" height=\"12\" class=\"key-cashless\"/>\
         <text x=\"{}\" y=\"16\" class=\"legend\">{}</text>",
        LABEL_W + 16.0,
        escape(t.s("fig.with_account")),
        LABEL_W + 200.0,
        LABEL_W + 216.0,
        escape(t.s("fig.cashless")),
    ));
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let acc = to_f(b.account);
        let cash = to_f(b.cashless);
        svg.push_str(&format!(
            "<g class=\"commune\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect class=\"bar bar-account\" x=\"{LABEL_W}\" y=\"{}\" width=\"{:.1}\" height=\"13\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text>\
             <rect class=\"bar bar-cashless\" x=\"{LABEL_W}\" y=\"{}\" width=\"{:.1}\" height=\"13\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text></g>",
            LABEL_W - 8.0,
            y + 18.0,
            escape(&b.label),
            y + 2.0,
            BAR_W * acc / 100.0,
            escape(t.s("fig.with_account")),
            pct(b.account),
            LABEL_W + BAR_W * acc / 100.0 + 4.0,
            y + 13.0,
            pct(b.account),
            y + 16.0,
            BAR_W * cash / 100.0,
            escape(t.s("fig.cashless")),
            pct(b.cashless),
            LABEL_W + BAR_W * cash / 100.0 + 4.0,
            y + 27.0,
            pct(b.cashless),
        ));
    }
    // One dashed line for a target both rates share; else one per rate, in its bar's colour.
    let lines = match targets.common() {
        Some(common) => vec![("target", t.s("fig.target").to_owned(), common)],
        None => [
            (
                "target target-account",
                t.s("fig.with_account"),
                targets.account_coverage,
            ),
            (
                "target target-cashless",
                t.s("fig.cashless"),
                targets.cashless_rate,
            ),
        ]
        .into_iter()
        .filter_map(|(class, rate, target)| {
            Some((class, format!("{} ({rate})", t.s("fig.target")), target?))
        })
        .collect(),
    };
    for (class, name, target) in lines {
        let x = LABEL_W + BAR_W * to_f(Some(target)) / 100.0;
        svg.push_str(&format!(
            "<line class=\"{class}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\"><title>{}: {}</title></line>",
            TOP - 4.0,
            height - 6.0,
            escape(&name),
            format_pct(target)
        ));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// One unit's row in a drill-down table, formatted.
pub struct UnitRowView {
    pub code: String,
    pub name: String,
    /// Where its own figures are; None for what sits at the parent itself.
    pub link: Option<String>,
    pub f: FiguresView,
    account_pct_value: Option<Decimal>,
    cashless_pct_value: Option<Decimal>,
    sort_keys: (u64, Option<Decimal>, Option<Decimal>, Decimal, Decimal),
}

impl UnitRowView {
    pub fn new(u: &crate::report::UnitFigures, link: Option<String>, label: String, t: Tr) -> Self {
        let f = &u.figures;
        UnitRowView {
            code: u.unit.code.clone(),
            name: label,
            link,
            f: FiguresView::new(f, t),
            account_pct_value: f.account_coverage_pct,
            cashless_pct_value: f.cashless_rate_pct,
            sort_keys: (
                f.beneficiaries,
                f.account_coverage_pct,
                f.cashless_rate_pct,
                f.amount_due,
                f.amount_paid,
            ),
        }
    }
}

/// The columns a drill-down table sorts by (`?sort=`), with `unit` (code order) first.
pub const UNIT_SORTS: [&str; 6] = [
    "unit",
    "beneficiaries",
    "account",
    "cashless",
    "due",
    "paid",
];

/// Sort the rows by a column of `UNIT_SORTS` (unknown: by code), descending when asked.
pub fn sort_units(rows: &mut [UnitRowView], by: &str, descending: bool) {
    rows.sort_by(|a, b| {
        let (x, y) = (&a.sort_keys, &b.sort_keys);
        let o = match by {
            "beneficiaries" => x.0.cmp(&y.0),
            "account" => x.1.cmp(&y.1),
            "cashless" => x.2.cmp(&y.2),
            "due" => x.3.cmp(&y.3),
            "paid" => x.4.cmp(&y.4),
            _ => a.code.cmp(&b.code),
        };
        let o = o.then_with(|| a.code.cmp(&b.code));
        if descending { o.reverse() } else { o }
    });
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct ExcRow {
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub id: String,
    pub name: String,
    pub commune: String,
    pub bank: String,
    pub account: String,
    pub due: String,
    pub paid: String,
    /// Due minus paid: "thiếu 1.500.000 ₫" (a top-up to pay) or "thừa …" (to recover).
    pub difference: String,
    /// The bank's answers: reference, status reason, and the name it used where that
    /// differs from the list's.
    pub refs: String,
    pub reason: String,
    pub bank_name: String,
    /// The payouts' value dates (dd/mm/yyyy); empty where none was given or kept.
    pub value_date: String,
    pub flags: String,
    pub rows: String,
    /// A stored run's exception: its key, and its resolution state in words.
    pub key: String,
    pub state: String,
    pub state_code: &'static str,
}

/// A column head of the exceptions table; a sortable one links to the list sorted by it.
pub struct ExcHead {
    pub label: &'static str,
    /// `num` for amounts (right-aligned).
    pub class: &'static str,
    pub sort: Option<SortLink>,
}

pub struct SortLink {
    /// The list sorted by this column: ascending, or descending when it is sorted so now.
    pub href: String,
    /// `aria-sort` of the column sorted now (`ascending`, `descending`); empty otherwise.
    pub aria: &'static str,
    /// ▲ or ▼ on the column sorted now.
    pub arrow: &'static str,
}

pub struct ExceptionsView {
    /// The page these filters belong to (`/periods/3`, `/runs/7`).
    pub base: String,
    pub rows: Vec<ExcRow>,
    pub total: usize,
    pub total_text: String,
    pub page: usize,
    /// How many pages ("more than 20" where a search stopped counting).
    pub pages_text: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub outcomes: Vec<Opt>,
    pub flags: Vec<Opt>,
    pub communes: Vec<Opt>,
    pub banks: Vec<Opt>,
    pub q: String,
    /// The unit the list is filtered to, kept by the filter form.
    pub unit: String,
    pub masked: bool,
    /// "Everything but the people paid in cash" is on.
    pub no_cash: bool,
    pub per_page: usize,
    pub per_page_opts: Vec<Opt>,
    pub pages: usize,
    /// The filters as a query string (no page), for the downloads of this view.
    pub filters: String,
    /// Whether any filter is on (beyond the unit).
    pub filtered: bool,
    /// The filters as hidden fields, for the page-size and jump forms.
    pub hidden: Vec<(&'static str, String)>,
    /// The sort as hidden fields, for the filter form (a new filter keeps the order).
    pub sort_hidden: Vec<(&'static str, String)>,
    pub heads: Vec<ExcHead>,
    /// Whether the column heads sort the list (a stored run's).
    pub sortable: bool,
    /// A stored run's list: each row's resolution state, and (`resolve`) a form to act.
    pub resolutions: bool,
    pub resolve: bool,
    pub csrf: String,
    pub actions: Vec<Opt>,
    pub states: Vec<Opt>,
}

const PER_PAGE: usize = 50;
const PER_PAGE_CHOICES: [usize; 4] = [50, 100, 200, 500];

/// Whether `value` is among a comma-separated choice.
fn chosen(v: &Option<String>, value: &str) -> bool {
    v.as_deref()
        .is_some_and(|s| s.trim() == value || s.split(',').any(|x| x.trim() == value))
}

impl ExceptionsView {
    /// The query a page of the list reads: `q` with the page's size (one of the choices).
    pub fn query(q: &ExceptionQuery) -> ExceptionQuery {
        let per_page = q
            .per_page
            .filter(|n| PER_PAGE_CHOICES.contains(n))
            .unwrap_or(PER_PAGE);
        ExceptionQuery {
            per_page: Some(per_page),
            after: None,
            ..q.clone()
        }
    }

    /// The list around `found`, the page `Self::query(q)` read.
    pub fn new(
        base: String,
        found: ExceptionPage,
        report: &Report,
        q: &ExceptionQuery,
        full_ids: bool,
        t: Tr,
    ) -> Self {
        let ExceptionPage {
            total,
            total_exact,
            page,
            items,
            next_after,
            ..
        } = found;
        let per_page = Self::query(q).per_page.unwrap_or(PER_PAGE);
        // A search counted only up to its cap: the pages go on while they are full.
        let pages = total.div_ceil(per_page).max(1).max(page);
        let more = !total_exact && next_after.is_some();
        let shown = |n: usize| {
            if total_exact {
                count(n as u64)
            } else {
                format!("{} {}", t.s("exc.more_than"), count(n as u64))
            }
        };
        let sel = chosen;
        let mut outcomes: Vec<Opt> = Outcome::ALL
            .iter()
            .map(|o| Opt {
                value: o.as_str().to_owned(),
                label: t.pick(o.label_vi(), o.label_en()).to_owned(),
                selected: sel(&q.outcome, o.as_str()),
            })
            .collect();
        outcomes.push(Opt {
            value: "unmatched_payout".into(),
            label: t.s("exc.unmatched_payout").into(),
            selected: sel(&q.outcome, "unmatched_payout"),
        });
        let flags = Flag::ALL
            .iter()
            .map(|f| Opt {
                value: f.as_str().to_owned(),
                label: t.pick(f.label_vi(), f.label_en()).to_owned(),
                selected: sel(&q.flag, f.as_str()),
            })
            .collect();
        let communes = report
            .by_commune
            .iter()
            .filter_map(|c| c.commune.clone())
            .map(|c| Opt {
                selected: sel(&q.commune, &c),
                label: c.clone(),
                value: c,
            })
            .collect();
        let banks = report
            .by_bank
            .iter()
            .filter_map(|b| b.bank)
            .map(|b| Opt {
                value: b.code().to_owned(),
                label: b.short_name().to_owned(),
                selected: sel(&q.bank, b.code()),
            })
            .collect();
        let rows = items
            .iter()
            .map(|r| {
                let id = if full_ids {
                    r.population_id.clone()
                } else {
                    mask(&r.population_id)
                };
                let account = r.account.as_deref().map_or_else(String::new, |a| {
                    if full_ids { a.to_owned() } else { mask(a) }
                });
                ExcRow {
                    kind: r.kind.as_str(),
                    kind_label: t.pick(r.kind.label_vi(), r.kind.label_en()),
                    id,
                    name: r.name.clone(),
                    commune: r.commune.clone().unwrap_or_default(),
                    bank: r
                        .bank
                        .map(|b| b.short_name().to_owned())
                        .unwrap_or_default(),
                    account,
                    due: r.amount_due.map(format_vnd).unwrap_or_default(),
                    paid: format_vnd(r.amount_paid),
                    // Paid in cash at the post office: nothing owed here.
                    difference: r.difference().map_or_else(String::new, |d| {
                        match d.cmp(&Decimal::ZERO) {
                            std::cmp::Ordering::Greater => {
                                format!("{} {}", t.s("exc.short"), format_vnd(d))
                            }
                            std::cmp::Ordering::Less => {
                                format!("{} {}", t.s("exc.over"), format_vnd(-d))
                            }
                            std::cmp::Ordering::Equal => String::new(),
                        }
                    }),
                    refs: join(r.payouts.iter().filter_map(|p| p.reference.as_deref())),
                    reason: join(r.payouts.iter().filter_map(|p| p.reason.as_deref())),
                    bank_name: join(r.payouts.iter().filter_map(|p| p.name.as_deref())),
                    value_date: {
                        let dates: Vec<String> = r
                            .payouts
                            .iter()
                            .filter_map(|p| p.value_date)
                            .map(|d| d.format("%d/%m/%Y").to_string())
                            .collect();
                        join(dates.iter().map(String::as_str))
                    },
                    flags: r
                        .flags
                        .iter()
                        .map(|f| t.pick(f.label_vi(), f.label_en()))
                        .collect::<Vec<_>>()
                        .join("; "),
                    rows: r
                        .list_rows
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    key: r.key.clone().unwrap_or_default(),
                    state: r.resolution.as_ref().map_or_else(String::new, |res| {
                        let vi = t.lang == crate::domain::Lang::Vi;
                        match &res.last {
                            Some(last) if !last.note.is_empty() => {
                                format!("{}: {}", res.state.label(vi), last.note)
                            }
                            _ => res.state.label(vi).to_owned(),
                        }
                    }),
                    state_code: r.resolution.as_ref().map_or("", |res| res.state.as_str()),
                }
            })
            .collect();
        let mut filter_parts = vec![];
        let mut hidden = vec![];
        for (k, v) in [
            ("outcome", &q.outcome),
            ("exclude", &q.exclude),
            ("flag", &q.flag),
            ("commune", &q.commune),
            ("bank", &q.bank),
            ("q", &q.q),
            ("unit", &q.unit),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                filter_parts.push(format!("{k}={}", super::session::url_encode(v)));
                hidden.push((k, v.to_owned()));
            }
        }
        let filtered = filter_parts.iter().any(|p| !p.starts_with("unit="));
        // The sort (a known column only) rides along with the filters: pages, page size,
        // jump and downloads keep it. A run's list only: on the period page `sort` and
        // `dir` are the drill-down table's.
        let sortable = base.starts_with("/runs/");
        let sort = q.sort().filter(|_| sortable);
        let sort_hidden: Vec<(&'static str, String)> = sort
            .map(|s| {
                let mut h = vec![("sort", s.column.as_str().to_owned())];
                if s.descending {
                    h.push(("dir", "desc".to_owned()));
                }
                h
            })
            .unwrap_or_default();
        let sort_parts: Vec<String> = sort_hidden
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        hidden.extend(sort_hidden.iter().cloned());
        let filters = filter_parts
            .iter()
            .chain(&sort_parts)
            .cloned()
            .collect::<Vec<_>>()
            .join("&");
        let size_part = (per_page != PER_PAGE).then(|| format!("per_page={per_page}"));
        let link = |p: usize| {
            let mut parts = filter_parts.clone();
            parts.extend(sort_parts.iter().cloned());
            parts.extend(size_part.clone());
            parts.push(format!("page={p}"));
            format!("{base}?{}#exceptions", parts.join("&"))
        };
        // A head sorts by its column from the first page: ascending, or descending when
        // the list is sorted ascending by it now.
        let head = |label: &'static str, class: &'static str, column: Option<SortColumn>| {
            let sort = column.filter(|_| sortable).map(|c| {
                let now = sort.filter(|s| s.column == c);
                let descending = now.is_some_and(|s| !s.descending);
                let mut parts = filter_parts.clone();
                parts.push(format!("sort={}", c.as_str()));
                if descending {
                    parts.push("dir=desc".to_owned());
                }
                parts.extend(size_part.clone());
                SortLink {
                    href: format!("{base}?{}#exceptions", parts.join("&")),
                    aria: match now {
                        Some(s) if s.descending => "descending",
                        Some(_) => "ascending",
                        None => "",
                    },
                    arrow: match now {
                        Some(s) if s.descending => "▼",
                        Some(_) => "▲",
                        None => "",
                    },
                }
            });
            ExcHead { label, class, sort }
        };
        let heads = vec![
            head(t.s("exc.outcome"), "", Some(SortColumn::Outcome)),
            head(t.s("exc.id"), "", Some(SortColumn::Id)),
            head(t.s("exc.name"), "", Some(SortColumn::Name)),
            head(t.s("exc.commune"), "", Some(SortColumn::Commune)),
            head(t.s("exc.bank"), "", Some(SortColumn::Bank)),
            head(t.s("exc.account"), "", None),
            head(t.s("exc.due"), "num", Some(SortColumn::Due)),
            head(t.s("exc.paid"), "num", Some(SortColumn::Paid)),
            head(t.s("exc.difference"), "num", Some(SortColumn::Difference)),
            head(t.s("exc.bank_answer"), "", None),
            head(t.s("exc.value_date"), "", Some(SortColumn::ValueDate)),
            head(t.s("exc.flag"), "", None),
            head(t.s("exc.rows"), "", None),
        ];
        ExceptionsView {
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages || more).then(|| link(page + 1)),
            rows,
            total,
            total_text: shown(total),
            page,
            pages_text: shown(pages),
            outcomes,
            flags,
            communes,
            banks,
            q: q.q.clone().unwrap_or_default(),
            unit: q.unit.clone().unwrap_or_default(),
            masked: !full_ids,
            no_cash: chosen(&q.exclude, "no_account"),
            per_page,
            per_page_opts: PER_PAGE_CHOICES
                .iter()
                .map(|n| Opt {
                    value: n.to_string(),
                    label: n.to_string(),
                    selected: *n == per_page,
                })
                .collect(),
            pages,
            filters,
            filtered,
            hidden,
            sort_hidden,
            heads,
            sortable,
            base,
            resolutions: false,
            resolve: false,
            csrf: String::new(),
            actions: Vec::new(),
            states: Vec::new(),
        }
    }

    /// A stored run's list: a column with each exception's resolution state, and with
    /// `csrf` (a viewer who may act) a small form per exception.
    pub fn with_resolutions(mut self, csrf: Option<&str>, t: Tr) -> Self {
        use crate::domain::resolution::{ResolutionAction, ResolutionState};
        let vi = t.lang == crate::domain::Lang::Vi;
        self.resolutions = true;
        self.heads.push(ExcHead {
            label: t.s("res.head"),
            class: "",
            sort: None,
        });
        if let Some(csrf) = csrf {
            self.resolve = true;
            self.csrf = csrf.to_owned();
            self.actions = ResolutionAction::ALL
                .iter()
                .map(|a| Opt {
                    value: a.as_str().to_owned(),
                    label: a.label(vi).to_owned(),
                    selected: false,
                })
                .collect();
            self.states = std::iter::once(Opt {
                value: String::new(),
                label: t.s("res.state_default").to_owned(),
                selected: true,
            })
            .chain(ResolutionState::ALL.iter().map(|st| Opt {
                value: st.as_str().to_owned(),
                label: st.label(vi).to_owned(),
                selected: false,
            }))
            .collect();
        }
        self
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_last_four() {
        assert_eq!(mask("001089012345"), "********2345");
        assert_eq!(mask("123"), "123");
        assert_eq!(mask("0101-2345-6789"), "****-****-6789");
    }

    #[test]
    fn times_are_shown_in_vietnam() {
        let t = DateTime::parse_from_rfc3339("2024-09-30T17:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        assert_eq!(date_time(t), "01/10/2024 00:30");
        assert_eq!(
            date_time_text("2024-09-30T17:30:00.000Z"),
            "01/10/2024 00:30"
        );
        assert_eq!(pct(None), "–");
    }

    #[test]
    fn chart_text_is_escaped() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
