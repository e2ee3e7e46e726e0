//! The audit log, newest first in pages of a hundred, with the hash chain's verification.

use askama::Template;
use axum::extract::State;
use serde::Deserialize;

use super::error::{OrPage, PageError, PageResult, WebError};
use super::layout::Layout;
use super::{PageQuery, render};
use crate::app::AppState;
use crate::service;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::views;

pub struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
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
    older: Option<String>,
    newer: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Show entries with `seq` below this (older pages).
    before: Option<i64>,
}

const AUDIT_PAGE: usize = 100;

pub async fn audit(
    State(st): State<AppState>,
    v: Viewer,
    PageQuery(q): PageQuery<AuditQuery>,
) -> PageResult {
    if !v.can_audit() {
        return Err(PageError(WebError::Forbidden, v.lang));
    }
    let t = Tr { lang: v.lang };
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
    let before = q.before.unwrap_or(i64::MAX);
    let older_than: Vec<_> = all.iter().rev().filter(|e| e.seq < before).collect();
    let shown: Vec<_> = older_than.iter().take(AUDIT_PAGE).collect();
    let older = (older_than.len() > AUDIT_PAGE)
        .then(|| shown.last().map(|e| format!("/audit?before={}", e.seq)))
        .flatten();
    let newer = q.before.map(|b| {
        let newer_start = all
            .iter()
            .filter(|e| e.seq >= b)
            .nth(AUDIT_PAGE)
            .map(|e| e.seq);
        match newer_start {
            Some(s) => format!("/audit?before={s}"),
            None => "/audit".to_owned(),
        }
    });
    let page = AuditPage {
        t,
        l: Layout::of(&v, "/audit"),
        verified,
        verified_entries,
        broken,
        rows: shown
            .iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: views::date_time_text(&e.at),
                actor: e.actor.clone(),
                action: e.action.clone(),
                subject: e.subject.clone(),
                hash: e.hash.clone(),
            })
            .collect(),
        older,
        newer,
    };
    Ok(render(&page))
}
