//! The shipped sample files' report, worked out by hand (see `fixtures::write_sample_files`):
//! one check shared by the CLI and API tests, so the contract is pinned in one place.
#![allow(dead_code)] // Each includer uses a different part.

use serde_json::Value;

/// The report's keys: the contract of `doisoat reconcile --json` and the API.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "beneficiaries",
    "with_account",
    "account_coverage_pct",
    "paid_cashless",
    "cashless_rate_pct",
    "amount_due",
    "amount_due_cashless",
    "amount_due_cash",
    "amount_paid",
    "outcomes",
    "outcome_amounts",
    "unmatched_payouts",
    "flags",
    "row_errors",
    "by_commune",
    "by_category",
    "by_bank",
];

/// Every figure of the sample report, the key set, the row errors, communes and banks.
pub fn check_sample_report(r: &Value) {
    let mut keys: Vec<&str> = r
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let mut want = TOP_LEVEL_KEYS.to_vec();
    // A run the service makes also compares its period with the previous one (the sample's
    // period has none); the CLI's report, given no previous list, does not.
    if r.get("comparison").is_some() {
        want.push("comparison");
        assert_eq!(
            r["comparison"],
            serde_json::json!({"previous_period": null, "added": 0, "removed": 0,
                               "amount_changed": 0, "account_changed": 0})
        );
    }
    want.sort_unstable();
    assert_eq!(keys, want, "the JSON keys are a contract");

    // Worked out by hand from the sample files (see fixtures::write_sample_files).
    assert_eq!(r["beneficiaries"], 11);
    assert_eq!(r["with_account"], 10);
    assert_eq!(r["account_coverage_pct"], 90.91);
    assert_eq!(r["paid_cashless"], 7);
    assert_eq!(r["cashless_rate_pct"], 70.0);
    assert_eq!(r["amount_due"], "21000000", "ĐVT: 1.000 đồng applied");
    // Đỗ Thị Hoa, the one without an account, is paid 1.500.000 in cash; the rest is due
    // to account holders.
    assert_eq!(r["amount_due_cashless"], "19500000");
    assert_eq!(r["amount_due_cash"], "1500000");
    assert_eq!(r["amount_paid"], "12750000");
    // By outcome, what its people were due and were paid: the one underpaid is owed
    // 1.500.000 more; the failed, returned and unpaid are paid nothing.
    let a = &r["outcome_amounts"];
    for (k, due, paid) in [
        ("matched", "11250000", "11250000"),
        ("underpaid", "3000000", "1500000"),
        ("overpaid", "0", "0"),
        ("duplicate", "0", "0"),
        ("failed", "1500000", "0"),
        ("returned", "2250000", "0"),
        ("pending", "0", "0"),
        ("unpaid", "1500000", "0"),
        ("no_account", "1500000", "0"),
    ] {
        assert_eq!(a[k]["due"], due, "{k} due");
        assert_eq!(a[k]["paid"], paid, "{k} paid");
    }
    let o = &r["outcomes"];
    for (k, v) in [
        ("matched", 6),
        ("underpaid", 1),
        ("overpaid", 0),
        ("duplicate", 0),
        ("failed", 1),
        ("returned", 1),
        ("unpaid", 1),
        ("no_account", 1),
    ] {
        assert_eq!(o[k], v, "outcome {k}");
    }
    assert_eq!(r["unmatched_payouts"]["count"], 1);
    assert_eq!(r["unmatched_payouts"]["amount"], "1500000");
    let f = &r["flags"];
    for (k, v) in [
        ("name_mismatch", 1),
        ("account_mismatch", 1),
        ("linked_by_account", 2),
        ("id_dob_mismatch", 1),
        ("invalid_id", 1),
        ("legacy_id", 1),
        ("duplicate_row", 1),
        ("control_total_mismatch", 1),
    ] {
        assert_eq!(f[k], v, "flag {k}");
    }

    // Row errors name file, sheet, row as Excel shows it, column and reason.
    let errors = r["row_errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["sheet"], "Thang 9");
    assert_eq!(errors[0]["row"], 19);
    assert_eq!(errors[0]["column"], "I");
    assert_eq!(errors[0]["value"], "1.5OO");
    assert_eq!(errors[1]["row"], 25);
    assert_eq!(errors[1]["column"], "H");
    assert!(
        errors[1]["reason_vi"]
            .as_str()
            .unwrap_or("")
            .contains("Ngân hàng ABC")
    );

    // Section rows "I. Xã Tân Lập" / "II. Xã Tân Phú" give the commune.
    let communes: Vec<(String, u64)> = r["by_commune"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["commune"].as_str().unwrap_or("-").to_owned(),
                        c["beneficiaries"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        communes,
        vec![("Xã Tân Lập".to_owned(), 8), ("Xã Tân Phú".to_owned(), 3)]
    );
    let banks: Vec<&str> = r["by_bank"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b["bank"].as_str().unwrap_or("(none)"))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(banks, vec!["Agribank", "VBSP", "VietinBank", "(none)"]);
}
