//! The summary a person reads in the terminal, Vietnamese by default.

use std::fmt::Write;

use super::{Report, ReportMeta};
use crate::domain::Lang;
use crate::domain::money::{format_pct, format_thousands, format_vnd};
use crate::recon::{Flag, Outcome};

/// How many row errors the terminal shows before pointing at `--out`.
const MAX_ERRORS_SHOWN: usize = 30;

fn pct(p: Option<rust_decimal::Decimal>) -> String {
    p.map(format_pct).unwrap_or_else(|| "—".into())
}

fn n(v: u64) -> String {
    format_thousands(v as i128)
}

pub fn summary(report: &Report, meta: &ReportMeta, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let t = |a: &'static str, b: &'static str| if vi { a } else { b };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}{}",
        t(
            "ĐỐI SOÁT CHI TRẢ KHÔNG DÙNG TIỀN MẶT",
            "CASHLESS PAYMENT RECONCILIATION"
        ),
        meta.period
            .as_deref()
            .map(|p| format!(" — {p}"))
            .unwrap_or_default()
    );
    for f in &meta.inputs {
        let role = if f.role == "beneficiaries" {
            t("Danh sách", "List")
        } else {
            t("Kết quả chi", "Payouts")
        };
        let _ = writeln!(
            s,
            "  {role}: {}{}{} — {} {}: {} {}, {} {}",
            f.name,
            f.sheet
                .as_deref()
                .map(|x| format!(" [{x}]"))
                .unwrap_or_default(),
            f.bank
                .map(|b| format!(" ({})", b.short_name()))
                .unwrap_or_default(),
            n(f.data_rows as u64),
            t("dòng dữ liệu", "data rows"),
            n(f.accepted_rows as u64),
            t("nhận", "accepted"),
            n(f.rejected_rows as u64),
            t("bị loại", "rejected"),
        );
        if let Some(c) = f.control_total.as_ref().filter(|c| c.mismatch()) {
            let _ = writeln!(
                s,
                "    {} {}: {} ≠ {} {}",
                t("Dòng tổng cộng", "Totals row"),
                c.row,
                format_vnd(c.stated),
                format_vnd(c.computed),
                t("(tổng các dòng)", "(sum of rows)")
            );
        }
        for notice in &f.notices {
            let _ = writeln!(s, "    {notice}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{}: {}",
        t("Tổng số đối tượng", "Beneficiaries"),
        n(report.beneficiaries)
    );
    let _ = writeln!(
        s,
        "{}: {}/{} ({})",
        t("Có tài khoản", "With an account"),
        n(report.with_account),
        n(report.beneficiaries),
        pct(report.account_coverage_pct)
    );
    let _ = writeln!(
        s,
        "{}: {}/{} ({})",
        t("Đã chi trả không dùng tiền mặt", "Paid cashless"),
        n(report.paid_cashless),
        n(report.with_account),
        pct(report.cashless_rate_pct)
    );
    let _ = writeln!(
        s,
        "{}: {}",
        t("Tổng số tiền phải chi", "Total amount due"),
        format_vnd(report.amount_due)
    );
    if let (Some(cashless), Some(cash)) = (report.amount_due_cashless, report.amount_due_cash) {
        let _ = writeln!(
            s,
            "  {}: {}",
            t("phải chi qua tài khoản", "due to account holders"),
            format_vnd(cashless)
        );
        let _ = writeln!(
            s,
            "  {}: {}",
            t(
                "phải chi bằng tiền mặt (bưu điện)",
                "due in cash (post office)"
            ),
            format_vnd(cash)
        );
    }
    let _ = writeln!(
        s,
        "{}: {}",
        t("Số tiền đã chi qua tài khoản", "Amount paid to accounts"),
        format_vnd(report.amount_paid)
    );
    // Each rate against its own target, as a province reports it.
    let targets = meta.targets();
    for (target, rate, what) in [
        (
            targets.account_coverage,
            report.account_coverage_pct,
            t("Chỉ tiêu tỷ lệ có tài khoản", "Account coverage target"),
        ),
        (
            targets.cashless_rate,
            report.cashless_rate_pct,
            t("Chỉ tiêu chi không dùng tiền mặt", "Cashless rate target"),
        ),
    ] {
        if let Some(target) = target {
            let _ = writeln!(
                s,
                "{what} {}: {}",
                format_pct(target),
                crate::domain::money::target_verdict(rate, target, vi)
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{}:", t("Kết quả theo đối tượng", "Outcomes"));
    for o in Outcome::ALL {
        let label = if vi { o.label_vi() } else { o.label_en() };
        let _ = writeln!(s, "  {label}: {}", n(report.outcomes.get(o)));
    }
    let _ = writeln!(
        s,
        "  {}: {} ({})",
        t(
            "Khoản chi không có trong danh sách",
            "Payouts to nobody on the list"
        ),
        n(report.unmatched_payouts.count),
        format_vnd(report.unmatched_payouts.amount)
    );
    let _ = writeln!(s, "{}:", t("Cảnh báo dữ liệu", "Data flags"));
    for f in Flag::ALL {
        let count = report.flags.get(f);
        if count > 0 {
            let label = if vi { f.label_vi() } else { f.label_en() };
            let _ = writeln!(s, "  {label}: {}", n(count));
        }
    }
    if report.flags.control_total_mismatch > 0 {
        let _ = writeln!(
            s,
            "  {}: {}",
            t(
                "Tệp có dòng tổng cộng lệch",
                "Files whose totals row disagrees"
            ),
            n(report.flags.control_total_mismatch)
        );
    }
    if !report.row_errors.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{} ({}):",
            t("Lỗi dữ liệu", "Row errors"),
            n(report.row_errors.len() as u64)
        );
        for e in report.row_errors.iter().take(MAX_ERRORS_SHOWN) {
            let _ = writeln!(
                s,
                "  {}{}, {} {}{}: '{}' — {}",
                e.file,
                e.sheet
                    .as_deref()
                    .map(|x| format!(" [{x}]"))
                    .unwrap_or_default(),
                t("dòng", "row"),
                e.row,
                match (&e.column, &e.column_name) {
                    (Some(c), Some(name)) => format!(", {} {c} ({name})", t("cột", "column")),
                    (None, Some(name)) => format!(", {name}"),
                    _ => String::new(),
                },
                e.value,
                if vi { &e.reason_vi } else { &e.reason_en }
            );
        }
        if report.row_errors.len() > MAX_ERRORS_SHOWN {
            let _ = writeln!(
                s,
                "  … {} {}",
                n((report.row_errors.len() - MAX_ERRORS_SHOWN) as u64),
                t("lỗi khác: xem báo cáo --out", "more: see the --out report")
            );
        }
    }
    s
}
