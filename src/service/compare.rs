//! Two stored runs of a period side by side: what changed in the figures, and which
//! inputs changed to make it so (files added, dropped, or kept as they were).

use rust_decimal::Decimal;
use serde::Serialize;

use super::LoadedRun;
use crate::recon::Outcome;
use crate::report::{InputFile, Report};
use crate::store::RunInfo;

/// One figure in both runs; `change` is `b - a` (counts, amounts, percentage points).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FigureChange {
    /// The report's key (`beneficiaries`, `amount_paid`, `outcomes.underpaid`, …).
    pub key: String,
    #[schema(value_type = String)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub a: Option<Decimal>,
    #[schema(value_type = String)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub b: Option<Decimal>,
    #[schema(value_type = String)]
    #[serde(with = "rust_decimal::serde::str_option")]
    pub change: Option<Decimal>,
}

/// An input file of one run or both, by role, name and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InputChange {
    pub role: String,
    pub name: String,
    pub sha256: String,
    /// `kept` (the same bytes in both), `added` (in the later run only), `dropped` (in
    /// the earlier run only).
    pub change: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunComparison {
    pub a: RunInfo,
    pub b: RunInfo,
    pub figures: Vec<FigureChange>,
    pub inputs: Vec<InputChange>,
}

/// The figures a comparison shows, in order, from a report.
fn figures_of(r: &Report) -> Vec<(String, Option<Decimal>)> {
    let n = |x: u64| Some(Decimal::from(x));
    let mut out = vec![
        ("beneficiaries".to_owned(), n(r.beneficiaries)),
        ("with_account".to_owned(), n(r.with_account)),
        ("account_coverage_pct".to_owned(), r.account_coverage_pct),
        ("paid_cashless".to_owned(), n(r.paid_cashless)),
        ("cashless_rate_pct".to_owned(), r.cashless_rate_pct),
        ("amount_due".to_owned(), Some(r.amount_due)),
        ("amount_due_cashless".to_owned(), r.amount_due_cashless),
        ("amount_due_cash".to_owned(), r.amount_due_cash),
        ("amount_paid".to_owned(), Some(r.amount_paid)),
    ];
    for o in Outcome::ALL {
        out.push((format!("outcomes.{}", o.as_str()), n(r.outcomes.get(o))));
    }
    out.push((
        "unmatched_payouts.count".to_owned(),
        n(r.unmatched_payouts.count),
    ));
    out.push((
        "unmatched_payouts.amount".to_owned(),
        Some(r.unmatched_payouts.amount),
    ));
    out
}

/// Inputs compared by role and content: the same bytes under another name are kept.
fn inputs_of(a: &[InputFile], b: &[InputFile]) -> Vec<InputChange> {
    let same = |x: &InputFile, y: &InputFile| x.role == y.role && x.sha256 == y.sha256;
    let change = |f: &InputFile, what: &str| InputChange {
        role: f.role.clone(),
        name: f.name.clone(),
        sha256: f.sha256.clone(),
        change: what.to_owned(),
    };
    let mut out: Vec<InputChange> = b
        .iter()
        .map(|f| {
            change(
                f,
                if a.iter().any(|x| same(x, f)) {
                    "kept"
                } else {
                    "added"
                },
            )
        })
        .collect();
    out.extend(
        a.iter()
            .filter(|f| !b.iter().any(|y| same(f, y)))
            .map(|f| change(f, "dropped")),
    );
    out
}

/// Whether two runs compare: the same period and unit (another unit's run differs in whom
/// it counts, not in what changed).
pub fn comparable(a: &RunInfo, b: &RunInfo) -> bool {
    (a.period_id, &a.unit) == (b.period_id, &b.unit)
}

/// `b` against `a` (the earlier run first, whichever order they were asked in).
pub fn compare(a: &LoadedRun, b: &LoadedRun) -> RunComparison {
    let (a, b) = if a.stored.info.id <= b.stored.info.id {
        (a, b)
    } else {
        (b, a)
    };
    let figures = figures_of(&a.report)
        .into_iter()
        .zip(figures_of(&b.report))
        .map(|((key, x), (_, y))| FigureChange {
            change: x.zip(y).map(|(x, y)| y - x),
            key,
            a: x,
            b: y,
        })
        .collect();
    RunComparison {
        a: a.stored.info.clone(),
        b: b.stored.info.clone(),
        figures,
        inputs: inputs_of(&a.meta.inputs, &b.meta.inputs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(role: &str, name: &str, sha: &str) -> InputFile {
        InputFile {
            role: role.into(),
            name: name.into(),
            sheet: None,
            bank: None,
            sha256: sha.into(),
            data_rows: 1,
            accepted_rows: 1,
            rejected_rows: 0,
            control_total: None,
            notices: Vec::new(),
            unit: None,
        }
    }

    #[test]
    fn inputs_are_kept_added_or_dropped_by_content() {
        let a = [
            input("beneficiaries", "ds.xlsx", "1"),
            input("payouts", "agribank.xlsx", "2"),
        ];
        let b = [
            input("beneficiaries", "ds (2).xlsx", "1"),
            input("payouts", "agribank.xlsx", "3"),
            input("payouts", "vcb.csv", "4"),
        ];
        let got: Vec<(String, String)> = inputs_of(&a, &b)
            .into_iter()
            .map(|c| (c.name, c.change))
            .collect();
        let want = [
            ("ds (2).xlsx", "kept"),
            ("agribank.xlsx", "added"),
            ("vcb.csv", "added"),
            ("agribank.xlsx", "dropped"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want);
    }
}
