//! The audit log, newest first in pages of a hundred, with the hash chain's verification;
//! filtered by action, person and dates; actions, people and subjects in words.

use askama::Template;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult, WebError};
use super::layout::Layout;
use super::{PageQuery, render};
use crate::app::AppState;
use crate::domain::Lang;
use crate::domain::audit::{Action, AuditEntry};
use crate::domain::dates::vietnam_time;
use crate::service;
use crate::web::i18n::Tr;
use crate::web::session::{self, Viewer};
use crate::web::views;

pub struct AuditRow {
    seq: i64,
    at: String,
    /// The person, as pages name them; the stored actor beside it for the record.
    person: String,
    actor: String,
    /// The action in words; the stored name beside it.
    action_label: String,
    action: String,
    subject: String,
    /// Where the subject's page is, when it has one.
    subject_href: Option<String>,
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
    /// Entries the filters keep, and the page's place among them.
    matching: String,
    actions: Vec<views::Opt>,
    people: Vec<views::Opt>,
    from: String,
    to: String,
    filtered: bool,
    older: Option<String>,
    newer: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    /// Show entries with `seq` below this (older pages).
    before: Option<i64>,
    /// A stored action name (`upload.beneficiaries`).
    action: Option<String>,
    /// A stored actor (`accountant:ke-toan`).
    actor: Option<String>,
    /// Vietnam dates, `yyyy-mm-dd` (a date input) or `dd/mm/yyyy`, both ends included.
    from: Option<String>,
    to: Option<String>,
}

const AUDIT_PAGE: usize = 100;

fn day(s: Option<&str>) -> Option<NaiveDate> {
    let s = s?.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// The entry's day in Vietnam.
fn entry_day(e: &AuditEntry) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(&e.at)
        .ok()
        .map(|t| vietnam_time(t.with_timezone(&chrono::Utc)).date_naive())
}

pub async fn audit(
    State(st): State<AppState>,
    v: Viewer,
    PageQuery(q): PageQuery<AuditQuery>,
) -> PageResult {
    if !v.can_audit() {
        return Err(PageError(WebError::Forbidden, v.lang));
    }
    let t = Tr { lang: v.lang };
    let vi = v.lang == Lang::Vi;
    let all = service::audit_trail(st.store.as_ref())
        .await
        .or_page(v.lang)?;
    let (verified, verified_entries, broken) = match crate::domain::audit::verify(&all) {
        Ok(n) => (true, views::count(n as u64), None),
        Err(b) => (
            false,
            views::count(all.len() as u64),
            Some(format!("{} {}: {}", t.s("audit.broken"), b.seq, b.reason)),
        ),
    };
    // The chain is verified whole; a unit's auditor sees its subtree's entries.
    let all: Vec<_> = all
        .into_iter()
        .filter(|e| v.token().reads_audit_entry(e))
        .collect();
    let people = super::People::load(&st, v.lang).await?;
    let periods = st.store.list_periods().await.or_page(v.lang)?;

    // The choices come from the entries the viewer may read, before filtering.
    let mut actors: Vec<&str> = all.iter().map(|e| e.actor.as_str()).collect();
    actors.sort_unstable();
    actors.dedup();
    let people_opts = actors
        .iter()
        .map(|a| views::Opt {
            value: (*a).to_owned(),
            label: format!("{} ({a})", people.name(a)),
            selected: q.actor.as_deref() == Some(*a),
        })
        .collect();
    let action_opts = Action::ALL
        .iter()
        .map(|a| views::Opt {
            value: a.as_str().to_owned(),
            label: a.label(vi).to_owned(),
            selected: q.action.as_deref() == Some(a.as_str()),
        })
        .collect();

    let (from, to) = (day(q.from.as_deref()), day(q.to.as_deref()));
    let action = q.action.as_deref().filter(|a| !a.is_empty());
    let actor = q.actor.as_deref().filter(|a| !a.is_empty());
    let kept: Vec<&AuditEntry> = all
        .iter()
        .filter(|e| action.is_none_or(|a| e.action == a))
        .filter(|e| actor.is_none_or(|a| e.actor == a))
        .filter(|e| {
            let d = entry_day(e);
            from.is_none_or(|f| d.is_some_and(|d| d >= f))
                && to.is_none_or(|l| d.is_some_and(|d| d <= l))
        })
        .collect();
    let filtered = action.is_some() || actor.is_some() || from.is_some() || to.is_some();

    // Paging keeps the filters.
    let filters = {
        let mut parts = Vec::new();
        for (k, val) in [
            ("action", action),
            ("actor", actor),
            ("from", q.from.as_deref()),
            ("to", q.to.as_deref()),
        ] {
            if let Some(val) = val.map(str::trim).filter(|x| !x.is_empty()) {
                parts.push(format!("{k}={}", session::url_encode(val)));
            }
        }
        parts.join("&")
    };
    let link = |before: Option<i64>| {
        let mut parts: Vec<String> = before.map(|b| format!("before={b}")).into_iter().collect();
        if !filters.is_empty() {
            parts.push(filters.clone());
        }
        if parts.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{}", parts.join("&"))
        }
    };
    let before = q.before.unwrap_or(i64::MAX);
    let older_than: Vec<_> = kept.iter().rev().filter(|e| e.seq < before).collect();
    let shown: Vec<_> = older_than.iter().take(AUDIT_PAGE).collect();
    let older = (older_than.len() > AUDIT_PAGE)
        .then(|| shown.last().map(|e| link(Some(e.seq))))
        .flatten();
    let newer = q.before.map(|b| {
        let newer_start = kept
            .iter()
            .filter(|e| e.seq >= b)
            .nth(AUDIT_PAGE)
            .map(|e| e.seq);
        link(newer_start)
    });
    let first_shown = kept.len() - older_than.len() + 1;
    let matching = if shown.is_empty() {
        format!("0 {}", t.s("audit.entries"))
    } else {
        format!(
            "{}–{} / {} {}",
            views::count(first_shown as u64),
            views::count((first_shown + shown.len() - 1) as u64),
            views::count(kept.len() as u64),
            t.s("audit.entries")
        )
    };
    let subject = |s: &str| -> (String, Option<String>) {
        let Some((kind, id)) = s.split_once('/') else {
            return (s.to_owned(), None);
        };
        match kind {
            "period" => {
                let p = id
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| periods.iter().find(|p| p.id == n));
                match p {
                    Some(p) => (
                        format!(
                            "{} {} · {}",
                            t.s("audit.period"),
                            crate::domain::period::PeriodCode::parse(&p.code)
                                .map_or_else(|_| p.code.clone(), |c| c.label_vi()),
                            p.programme_name
                        ),
                        Some(format!("/periods/{}", p.id)),
                    ),
                    None => (format!("{} #{id}", t.s("audit.period")), None),
                }
            }
            "reconciliation" => (
                format!("{} #{id}", t.s("run.title")),
                Some(format!("/runs/{id}")),
            ),
            "programme" => (format!("{} {id}", t.s("audit.programme")), None),
            "token" => (
                format!("{} {}", t.s("audit.token"), people.of_token(id)),
                None,
            ),
            "bank" => (
                format!(
                    "{} {}",
                    t.s("audit.bank"),
                    crate::domain::banks::BankId::resolve(id).map_or(id, |b| b.short_name())
                ),
                None,
            ),
            _ => (s.to_owned(), None),
        }
    };
    let page = AuditPage {
        t,
        l: Layout::of(&v, "/audit"),
        verified,
        verified_entries,
        broken,
        rows: shown
            .iter()
            .map(|e| {
                let (subject, subject_href) = subject(&e.subject);
                AuditRow {
                    seq: e.seq,
                    at: views::date_time_text(&e.at),
                    person: people.name(&e.actor),
                    actor: e.actor.clone(),
                    action_label: Action::parse(&e.action)
                        .map_or_else(|| e.action.clone(), |a| a.label(vi).to_owned()),
                    action: e.action.clone(),
                    subject,
                    subject_href,
                    hash: e.hash.clone(),
                }
            })
            .collect(),
        matching,
        actions: action_opts,
        people: people_opts,
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        filtered,
        older,
        newer,
    };
    Ok(render(&page))
}
