//! Reports: the JSON figures (a contract: keys are relied on by auditors' tools), the
//! exceptions CSV and the xlsx workbook. Nothing here knows about HTTP or storage.

pub mod csv;
pub mod pain001;
pub mod text;
pub mod xlsx;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::banks::BankId;
use crate::domain::period::Targets;
use crate::import::{ControlTotal, RowError};
use crate::recon::{Coverage, FlagCounts, OutcomeCounts, Reconciliation, Slice, UnmatchedPayouts};

/// The report, exactly the keys of `doisoat reconcile --json` and `GET /reconciliations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub beneficiaries: u64,
    pub with_account: u64,
    #[serde(with = "pct")]
    pub account_coverage_pct: Option<Decimal>,
    pub paid_cashless: u64,
    #[serde(with = "pct")]
    pub cashless_rate_pct: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_due: Decimal,
    /// The amount due split: to account holders (what cashless payment can reach) and the
    /// rest, paid in cash at the post office. Absent from reports stored before the split.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount_due_cashless: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount_due_cash: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_paid: Decimal,
    pub outcomes: OutcomeCounts,
    /// By outcome, what its people were due and were paid: the top-ups owed to the
    /// underpaid, the overpayments to recover. Absent from live figures (summed cells keep
    /// counts only) and from runs stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_amounts: Option<OutcomeAmounts>,
    pub unmatched_payouts: UnmatchedPayouts,
    pub flags: FlagCounts,
    pub row_errors: Vec<RowError>,
    pub by_commune: Vec<CommuneFigures>,
    pub by_category: Vec<CategoryFigures>,
    pub by_bank: Vec<BankFigures>,
    /// Live figures of a subtree whose period is closed: what banks sent after the
    /// approval closed it (never in the approved run's figures). Absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_close: Option<PostClose>,
    /// Compared with the previous period of the programme (same kind of code), for the
    /// run's unit: counts only (the rows: `GET /api/v1/periods/{id}/comparison`). In runs
    /// the service makes (`previous_period` null when there is none), and in the CLI's
    /// report when given the previous list; absent from live figures and from runs stored
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparisonCounts>,
    /// Arrears (truy lĩnh) carried over into the period from earlier approved runs, apart
    /// from the month's own amounts (which count only the month's part of a payment): in
    /// runs and live figures of a period that has a carry-over; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrears: Option<ArrearsFigures>,
}

/// Arrears owed in a period, for a unit's subtree: people owed, what they are owed, what
/// their payments put towards it (after the month's own amount), what is still owed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArrearsFigures {
    pub beneficiaries: u64,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_due: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_paid: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_outstanding: Decimal,
}

/// What banks sent for a closed subtree after it was closed: stored (nothing a bank sends
/// is lost), counted apart, never in the approved figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostClose {
    /// The approved run that closed the period for `unit`'s subtree.
    pub approved_run: i64,
    pub unit: String,
    pub closed_at: chrono::DateTime<chrono::Utc>,
    /// Payouts stored or changed (a new state) after the closure.
    pub count: u64,
    /// Their net effect, whole đồng: paid (success) minus returned; failed and pending
    /// count 0.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// How a period's lists differ from the previous period's, in people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparisonCounts {
    /// The previous period's code (`2024-08`; the CLI: the previous list's file name);
    /// null when there is none (then every count is 0).
    pub previous_period: Option<String>,
    /// On this period's lists, not the previous period's.
    pub added: u64,
    /// On the previous period's lists, not this one's.
    pub removed: u64,
    /// On both, due another amount.
    pub amount_changed: u64,
    /// On both, listed with another account or bank.
    pub account_changed: u64,
}

impl ComparisonCounts {
    pub fn get(&self, c: crate::recon::previous::Change) -> u64 {
        use crate::recon::previous::Change::*;
        match c {
            Added => self.added,
            Removed => self.removed,
            AmountChanged => self.amount_changed,
            AccountChanged => self.account_changed,
        }
    }

    /// The previous period in words ("Tháng 8 năm 2024"), or that there is none.
    pub fn previous_in_words(&self, lang: crate::domain::Lang) -> String {
        let vi = lang == crate::domain::Lang::Vi;
        match &self.previous_period {
            Some(code) => crate::domain::period::PeriodCode::words_of(code, vi),
            None if vi => "không có kỳ trước cùng chế độ".to_owned(),
            None => "no earlier period of the programme".to_owned(),
        }
    }

    pub fn new(previous_period: Option<String>, c: crate::recon::previous::ChangeCounts) -> Self {
        ComparisonCounts {
            previous_period,
            added: c.added,
            removed: c.removed,
            amount_changed: c.amount_changed,
            account_changed: c.account_changed,
        }
    }
}

/// What the people of one outcome were due and were paid, exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeAmount {
    #[serde(with = "rust_decimal::serde::str")]
    pub due: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub paid: Decimal,
}

impl OutcomeAmount {
    /// Paid − due: negative for a shortfall (a top-up to pay), positive for an excess
    /// (an overpayment to recover).
    pub fn difference(&self) -> Decimal {
        self.paid - self.due
    }
}

/// [`OutcomeAmount`] by outcome, keyed as `outcomes` is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeAmounts {
    pub matched: OutcomeAmount,
    pub underpaid: OutcomeAmount,
    pub overpaid: OutcomeAmount,
    pub duplicate: OutcomeAmount,
    pub failed: OutcomeAmount,
    pub returned: OutcomeAmount,
    pub pending: OutcomeAmount,
    pub unpaid: OutcomeAmount,
    pub no_account: OutcomeAmount,
}

impl OutcomeAmounts {
    pub fn get(&self, o: crate::recon::Outcome) -> OutcomeAmount {
        *self.slot(o)
    }

    fn slot(&self, o: crate::recon::Outcome) -> &OutcomeAmount {
        use crate::recon::Outcome::*;
        match o {
            Matched => &self.matched,
            Underpaid => &self.underpaid,
            Overpaid => &self.overpaid,
            Duplicate => &self.duplicate,
            Failed => &self.failed,
            Returned => &self.returned,
            Pending => &self.pending,
            Unpaid => &self.unpaid,
            NoAccount => &self.no_account,
        }
    }

    fn slot_mut(&mut self, o: crate::recon::Outcome) -> &mut OutcomeAmount {
        use crate::recon::Outcome::*;
        match o {
            Matched => &mut self.matched,
            Underpaid => &mut self.underpaid,
            Overpaid => &mut self.overpaid,
            Duplicate => &mut self.duplicate,
            Failed => &mut self.failed,
            Returned => &mut self.returned,
            Pending => &mut self.pending,
            Unpaid => &mut self.unpaid,
            NoAccount => &mut self.no_account,
        }
    }

    /// Each person's amounts added to their outcome's (the same per-person amounts the
    /// engine's totals sum, so the outcomes add up to `amount_due` and `amount_paid`).
    pub fn of(recon: &Reconciliation) -> Self {
        let mut sums = OutcomeAmounts::default();
        for (i, b) in recon.beneficiaries.iter().enumerate() {
            let slot = sums.slot_mut(b.outcome);
            slot.due += recon.amount_due(i);
            slot.paid += recon.amount_paid(i);
        }
        sums
    }

    /// The top-ups to pay: what the underpaid are still owed.
    pub fn top_ups(&self) -> Decimal {
        self.underpaid.due - self.underpaid.paid
    }

    /// The overpayments to recover: what the overpaid and the paid-twice got beyond
    /// their due.
    pub fn to_recover(&self) -> Decimal {
        self.overpaid.difference() + self.duplicate.difference()
    }
}

/// Figures of one slice (a commune, a category, a bank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub beneficiaries: u64,
    pub with_account: u64,
    #[serde(with = "pct")]
    pub account_coverage_pct: Option<Decimal>,
    pub paid_cashless: u64,
    #[serde(with = "pct")]
    pub cashless_rate_pct: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_due: Decimal,
    /// The amount due split: to account holders (what cashless payment can reach) and the
    /// rest, paid in cash at the post office. Absent from reports stored before the split.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount_due_cashless: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount_due_cash: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_paid: Decimal,
    pub outcomes: OutcomeCounts,
    pub flags: FlagCounts,
    pub unmatched_payouts: UnmatchedPayouts,
    /// The target both rates are compared with, when they share one (each rate's own is
    /// in `account_coverage_target_pct` / `cashless_rate_target_pct`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub target_pct: Option<Decimal>,
    /// The target the account coverage is compared with, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub account_coverage_target_pct: Option<Decimal>,
    /// The target the cashless rate is compared with, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub cashless_rate_target_pct: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_coverage_meets_target: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashless_rate_meets_target: Option<bool>,
    /// Rate − target in percentage points (63,16% against 30%: 33.16; below: negative).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub account_coverage_vs_target_points: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub cashless_rate_vs_target_points: Option<Decimal>,
}

impl Figures {
    pub fn new(c: &Coverage, targets: Targets) -> Self {
        let acc = c.account_coverage_pct();
        let cash = c.cashless_rate_pct();
        let meets =
            |p: Option<Decimal>, target: Option<Decimal>| target.map(|t| p.is_some_and(|p| p >= t));
        let points = |p: Option<Decimal>, target: Option<Decimal>| Some(p? - target?);
        let (acc_target, cash_target) = (targets.account_coverage, targets.cashless_rate);
        Figures {
            beneficiaries: c.beneficiaries,
            with_account: c.with_account,
            account_coverage_pct: acc,
            paid_cashless: c.paid_cashless,
            cashless_rate_pct: cash,
            amount_due: c.amount_due,
            amount_due_cashless: Some(c.amount_due_cashless),
            amount_due_cash: Some(c.amount_due_cash()),
            amount_paid: c.amount_paid,
            outcomes: c.outcomes,
            flags: c.flags,
            unmatched_payouts: c.unmatched_payouts,
            target_pct: targets.common(),
            account_coverage_target_pct: acc_target,
            cashless_rate_target_pct: cash_target,
            account_coverage_meets_target: meets(acc, acc_target),
            cashless_rate_meets_target: meets(cash, cash_target),
            account_coverage_vs_target_points: points(acc, acc_target),
            cashless_rate_vs_target_points: points(cash, cash_target),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommuneFigures {
    pub commune: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryFigures {
    pub category: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BankFigures {
    /// Short name ("Agribank"); `null` for beneficiaries with no bank (cash).
    pub bank: Option<BankId>,
    pub bank_code: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

impl Report {
    /// Assemble the report from the engine's result and the importers' findings.
    pub fn new(
        recon: &Reconciliation,
        row_errors: Vec<RowError>,
        control_total_mismatches: u64,
    ) -> Self {
        let mut report = Self::of(
            &recon.totals,
            &recon.by_commune,
            &recon.by_category,
            &recon.by_bank,
            recon.options.targets,
            row_errors,
            control_total_mismatches,
        );
        report.outcome_amounts = Some(OutcomeAmounts::of(recon));
        report
    }

    /// The report of summed cells (`recon::cells::sum`): the same as `new` makes from a
    /// reconciliation of the same rows.
    pub fn from_sums(
        sums: &crate::recon::cells::Summed,
        targets: Targets,
        row_errors: Vec<RowError>,
        control_total_mismatches: u64,
    ) -> Self {
        Self::of(
            &sums.totals,
            &sums.by_commune,
            &sums.by_category,
            &sums.by_bank,
            targets,
            row_errors,
            control_total_mismatches,
        )
    }

    fn of(
        t: &Coverage,
        by_commune: &[Slice<String>],
        by_category: &[Slice<String>],
        by_bank: &[Slice<BankId>],
        targets: Targets,
        row_errors: Vec<RowError>,
        control_total_mismatches: u64,
    ) -> Self {
        let text_slices = |s: &[Slice<String>]| -> Vec<(Option<String>, Figures)> {
            s.iter()
                .map(|s| (s.key.clone(), Figures::new(&s.coverage, targets)))
                .collect()
        };
        let mut flags = t.flags;
        flags.control_total_mismatch = control_total_mismatches;
        Report {
            beneficiaries: t.beneficiaries,
            with_account: t.with_account,
            account_coverage_pct: t.account_coverage_pct(),
            paid_cashless: t.paid_cashless,
            cashless_rate_pct: t.cashless_rate_pct(),
            amount_due: t.amount_due,
            amount_due_cashless: Some(t.amount_due_cashless),
            amount_due_cash: Some(t.amount_due_cash()),
            amount_paid: t.amount_paid,
            outcomes: t.outcomes,
            outcome_amounts: None,
            unmatched_payouts: t.unmatched_payouts,
            flags,
            row_errors,
            by_commune: text_slices(by_commune)
                .into_iter()
                .map(|(commune, figures)| CommuneFigures { commune, figures })
                .collect(),
            by_category: text_slices(by_category)
                .into_iter()
                .map(|(category, figures)| CategoryFigures { category, figures })
                .collect(),
            by_bank: by_bank
                .iter()
                .map(|s| BankFigures {
                    bank: s.key,
                    bank_code: s.key.map(|b| b.code().to_owned()),
                    figures: Figures::new(&s.coverage, targets),
                })
                .collect(),
            post_close: None,
            comparison: None,
            arrears: None,
        }
    }

    /// The totals as a slice, for summary tables.
    pub fn totals(&self, targets: Targets) -> Figures {
        let c = Coverage {
            beneficiaries: self.beneficiaries,
            with_account: self.with_account,
            paid_cashless: self.paid_cashless,
            amount_due: self.amount_due,
            amount_due_cashless: self.amount_due_cashless.unwrap_or_default(),
            amount_paid: self.amount_paid,
            outcomes: self.outcomes,
            flags: self.flags,
            unmatched_payouts: self.unmatched_payouts,
        };
        let mut f = Figures::new(&c, targets);
        if self.amount_due_cashless.is_none() {
            // Stored before the split: unknown, not zero.
            (f.amount_due_cashless, f.amount_due_cash) = (None, None);
        }
        f
    }
}

/// A reconciliation with everything a report is made of.
pub struct Assembled {
    pub recon: Reconciliation,
    pub report: Report,
    pub exceptions: Vec<crate::recon::ExceptionRow>,
}

/// The one way a report is made, for the CLI's job and the service's runs alike: run the
/// engine, list the exceptions, and add what the importers found (row errors, and files
/// whose totals row disagrees with their rows).
pub fn assemble<L, P>(
    list: &L,
    payouts: &P,
    options: &crate::recon::Options,
    inputs: &[InputFile],
    row_errors: Vec<RowError>,
) -> Assembled
where
    L: crate::domain::records::ListRows + ?Sized,
    P: crate::domain::records::PayoutRows + ?Sized,
{
    assemble_within(list, payouts, options, inputs, row_errors, None, None)
}

/// `assemble`, with figures and exceptions only of the people and unmatched payouts whose
/// unit `keep` lets through (all when None), everything linked as the whole input links
/// it. `inputs` and `row_errors` are those of the units kept.
pub fn assemble_within<L, P>(
    list: &L,
    payouts: &P,
    options: &crate::recon::Options,
    inputs: &[InputFile],
    row_errors: Vec<RowError>,
    keep: Option<&crate::recon::Keep<'_>>,
    previous: Option<&crate::recon::previous::Previous>,
) -> Assembled
where
    L: crate::domain::records::ListRows + ?Sized,
    P: crate::domain::records::PayoutRows + ?Sized,
{
    let mut recon = crate::recon::reconcile_against(list, payouts, options, previous);
    if let Some(keep) = keep {
        recon = recon.scoped(list, payouts, keep);
    }
    let report = Report::new(&recon, row_errors, control_total_mismatches(inputs));
    let exceptions = crate::recon::exception_rows(list, payouts, &recon)
        .filter(|e| keep.is_none_or(|keep| keep(e.unit.as_deref())))
        .map(|mut e| {
            // Another unit's listing of the same person: its unit, not its file.
            if let Some(keep) = keep {
                for o in e
                    .other_lists
                    .iter_mut()
                    .filter(|o| !keep(o.unit.as_deref()))
                {
                    o.file.clear();
                    o.rows.clear();
                }
            }
            e
        })
        .collect();
    Assembled {
        recon,
        report,
        exceptions,
    }
}

fn control_total_mismatches(inputs: &[InputFile]) -> u64 {
    inputs
        .iter()
        .filter(|i| i.control_total.as_ref().is_some_and(|c| c.mismatch()))
        .count() as u64
}

/// The engine's result and the report, without the exception list (made when a writer
/// asks for it: `--json` needs none).
pub fn figures<L, P>(
    list: &L,
    payouts: &P,
    options: &crate::recon::Options,
    inputs: &[InputFile],
    row_errors: Vec<RowError>,
) -> (Reconciliation, Report)
where
    L: crate::domain::records::ListRows + ?Sized,
    P: crate::domain::records::PayoutRows + ?Sized,
{
    let recon = crate::recon::reconcile(list, payouts, options);
    let report = Report::new(&recon, row_errors, control_total_mismatches(inputs));
    (recon, report)
}

/// One input file, for the summary sheet and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// "beneficiaries" or "payouts".
    pub role: String,
    pub name: String,
    pub sheet: Option<String>,
    pub bank: Option<BankId>,
    pub sha256: String,
    pub data_rows: usize,
    pub accepted_rows: usize,
    pub rejected_rows: usize,
    pub control_total: Option<ControlTotal>,
    pub notices: Vec<String>,
    /// The unit the upload is for (the service's runs; a file read alone has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl InputFile {
    /// Inputs that are records rather than a file (bank callbacks, adjustments recorded by
    /// hand): `role`, how many, and a digest over one line per record.
    pub fn records(role: &str, lines: &[String]) -> Self {
        InputFile {
            role: role.to_owned(),
            name: format!("{role} ({})", lines.len()),
            sheet: None,
            bank: None,
            sha256: crate::domain::sha256_hex(lines.join("\n").as_bytes()),
            data_rows: lines.len(),
            accepted_rows: lines.len(),
            rejected_rows: 0,
            control_total: None,
            notices: Vec::new(),
            unit: None,
        }
    }
}

/// What a written report says about where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    pub period: Option<String>,
    /// Local time the run was made, as shown to readers.
    pub generated_at: String,
    pub inputs: Vec<InputFile>,
    /// The target both rates are compared with, when they share one; null otherwise.
    #[serde(with = "pct")]
    pub target_pct: Option<Decimal>,
    /// Each rate's target, when it has one (absent in runs stored before the split, whose
    /// `target_pct` was both rates' target).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub account_coverage_target_pct: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pct")]
    pub cashless_rate_target_pct: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub tolerance: Decimal,
    /// SHA-256 of the report JSON, when the caller has it (stored runs do).
    pub report_sha256: Option<String>,
    /// The unit whose subtree the figures cover, with its name (stored runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitRef>,
    /// The period's programme: code and name (stored runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<ProgrammeRef>,
    /// Who submitted and who approved the run: given to the downloads of an approved run
    /// (its workbooks become the document to sign and file), never stored with the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Signatures>,
}

/// The people of an approved run, as its signature block names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatures {
    /// Người lập biểu: who submitted it.
    pub prepared_by: Signer,
    /// Kế toán trưởng: who approved it.
    pub approved_by: Signer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    pub person: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl ReportMeta {
    /// The targets the run's rates were compared with.
    pub fn targets(&self) -> Targets {
        Targets {
            account_coverage: self.account_coverage_target_pct.or(self.target_pct),
            cashless_rate: self.cashless_rate_target_pct.or(self.target_pct),
        }
    }
}

/// A unit as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitRef {
    pub code: String,
    pub name: String,
    pub full_name: String,
    #[schema(value_type = String)]
    pub level: crate::domain::units::UnitLevel,
}

impl From<&crate::domain::units::Unit> for UnitRef {
    fn from(u: &crate::domain::units::Unit) -> Self {
        UnitRef {
            code: u.code.clone(),
            name: u.name.clone(),
            full_name: u.full_name.clone(),
            level: u.level,
        }
    }
}

/// A programme as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeRef {
    pub code: String,
    pub name: String,
}

/// One unit's figures in a roll-up (`GET …/coverage/units`): the unit, then the same
/// figures as a report's slices, against the target that applies to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitFigures {
    pub unit: UnitRef,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Percentages as JSON numbers (already exact 2-place values). Reading goes through
/// `Option<Decimal>`, which also accepts the `null` a flattened struct hands over as unit
/// (rust_decimal's own `float_option` refuses it).
mod pct {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        rust_decimal::serde::float_option::serialize(v, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<Decimal>::deserialize(d)
    }
}

#[cfg(test)]
mod stored_before {
    use super::*;
    use crate::domain::records::{BeneficiaryRow, PayoutRow};

    /// A run stored before the comparison and its two flags reads: no `comparison`, the
    /// flags' counts 0.
    #[test]
    fn a_report_without_the_comparison_reads() {
        let (list, payouts): (Vec<BeneficiaryRow>, Vec<PayoutRow>) = (Vec::new(), Vec::new());
        let recon = crate::recon::reconcile(&list[..], &payouts[..], &Default::default());
        let mut report = Report::new(&recon, Vec::new(), 0);
        let Ok(mut old) = serde_json::to_value(&report) else {
            panic!("report as JSON")
        };
        if let Some(flags) = old["flags"].as_object_mut() {
            flags.remove("account_changed");
            flags.remove("paid_after_removal");
        }
        assert!(old.get("comparison").is_none());
        let back: Report = serde_json::from_value(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
        // And a new one keeps its counts.
        report.comparison = Some(ComparisonCounts {
            previous_period: Some("2024-08".into()),
            added: 1,
            removed: 2,
            amount_changed: 3,
            account_changed: 4,
        });
        let text = serde_json::to_string(&report).unwrap_or_default();
        let back: Report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
    }
}
