//! Periods, uploads, runs and tokens through the `Store` trait, and the audit trail they
//! leave: each test on a fresh store on every backend (`for_each_store`).

use doisoat::domain::records::{BeneficiaryRow, ListRows, PayoutRow, PayoutRows};
use doisoat::store::{
    ExceptionFilter, ExceptionRecord, ExceptionSort, PageStart, Period, RunFeed, Saved, SortColumn,
    SortKey, SortedStart, UnitScope,
};

use super::*;

/// The sample's files, imported as the service imports them.
struct SampleFiles {
    list: Imported<BeneficiaryRow>,
    list_bytes: Vec<u8>,
    /// The same people as an ODS file: another list.
    list2: Imported<BeneficiaryRow>,
    list2_bytes: Vec<u8>,
    agri: Imported<PayoutRow>,
    agri_bytes: Vec<u8>,
    csv: Imported<PayoutRow>,
    csv_bytes: Vec<u8>,
}

fn sample_files() -> SampleFiles {
    let list_bytes = fixture("danh_sach_xa_tan_lap.xlsx");
    let list = import::import_beneficiaries(
        "danh_sach_xa_tan_lap.xlsx",
        list_bytes.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import list");
    let list2_bytes = fixture("danh_sach_xa_tan_lap.ods");
    let list2 = import::import_beneficiaries(
        "danh_sach_xa_tan_lap.ods",
        list2_bytes.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import ods list");
    let agri_bytes = fixture("ket_qua_agribank.xlsx");
    let mut opts = ImportOptions::new(2026);
    opts.default_bank = BankId::resolve("Agribank");
    let agri = import::import_payouts("ket_qua_agribank.xlsx", agri_bytes.clone(), &opts)
        .expect("import agribank");
    let csv_bytes = fixture("ket_qua_ngan_hang.csv");
    let csv = import::import_payouts(
        "ket_qua_ngan_hang.csv",
        csv_bytes.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import csv");
    SampleFiles {
        list,
        list_bytes,
        list2,
        list2_bytes,
        agri,
        agri_bytes,
        csv,
        csv_bytes,
    }
}

impl SampleFiles {
    fn list_upload(&self) -> NewUpload {
        new_upload(&self.list, &self.list_bytes, None)
    }

    /// The ODS list's upload, with a notice the first list does not have.
    fn list2_upload(&self) -> NewUpload {
        let mut up = new_upload(&self.list2, &self.list2_bytes, None);
        up.notices
            .push("Không có cột trạng thái / no status column".into());
        up
    }

    fn agri_upload(&self) -> NewUpload {
        new_upload(&self.agri, &self.agri_bytes, Some("AGRIBANK"))
    }

    fn csv_upload(&self) -> NewUpload {
        new_upload(&self.csv, &self.csv_bytes, None)
    }
}

async fn create_2026_03(s: &dyn Store) -> Period {
    s.create_period(period("2026-03"), ACTOR)
        .await
        .expect("create_period")
}

/// Period 2026-03 with the sample stored: the xlsx list (v1), the ODS list (v2, current),
/// then the Agribank and the CSV payout files.
struct StoredSample {
    p: Period,
    v1: Saved<Upload>,
    v2: Saved<Upload>,
    agri: Saved<Upload>,
    csv: Saved<Upload>,
}

async fn store_sample(s: &dyn Store, f: &SampleFiles) -> StoredSample {
    let p = create_2026_03(s).await;
    let v1 = s
        .save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
        .await
        .expect("save list");
    let v2 = s
        .save_beneficiary_list(p.id, f.list2_upload(), &f.list2.rows, &[], ACTOR)
        .await
        .expect("save list 2");
    let agri = s
        .save_payout_file(p.id, f.agri_upload(), &f.agri.rows, ACTOR)
        .await
        .expect("save agribank");
    let csv = s
        .save_payout_file(p.id, f.csv_upload(), &f.csv.rows, ACTOR)
        .await
        .expect("save csv");
    StoredSample {
        p,
        v1,
        v2,
        agri,
        csv,
    }
}

fn sample_run(period_id: i64, list_upload_id: i64) -> NewRun {
    NewRun {
        period_id,
        unit: "VN".into(),
        list_upload_id,
        meta_json: r#"{"as_of_year":2026}"#.into(),
        report_json: r#"{"coverage":"97.31"}"#.into(),
        exceptions: RunFeed::of((0..7).map(exception).collect()),
        report_sha256: sha256_hex(br#"{"coverage":"97.31"}"#),
    }
}

fn accountant_token() -> NewToken {
    NewToken {
        name: "ketoan".into(),
        role: Role::Accountant,
        bank_code: None,
        unit: "VN".into(),
        token_hash: sha256_hex(b"secret-token"),
        webhook_secret: None,
        display_name: None,
    }
}

const BANK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn bank_token() -> NewToken {
    NewToken {
        name: "agribank".into(),
        role: Role::Bank,
        bank_code: Some("VBA".into()),
        unit: "VN".into(),
        token_hash: sha256_hex(b"bank-token"),
        webhook_secret: Some(BANK_SECRET.into()),
        display_name: None,
    }
}

/// Every change of the tests below in one go, with the idempotent repeats and the refusals
/// between them: what the audit trail is checked against.
async fn whole_story(s: &dyn Store) {
    let f = sample_files();
    let p = create_2026_03(s).await;
    s.create_period(period("2026-03"), ACTOR)
        .await
        .expect_err("a second 2026-03");
    s.save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
        .await
        .expect("save list");
    s.save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
        .await
        .expect("save list again");
    s.save_beneficiary_list(p.id + 100, f.list_upload(), &f.list.rows, &[], ACTOR)
        .await
        .expect_err("a list for an unknown period");
    let v2 = s
        .save_beneficiary_list(p.id, f.list2_upload(), &f.list2.rows, &[], ACTOR)
        .await
        .expect("save list 2");
    let agri = s
        .save_payout_file(p.id, f.agri_upload(), &f.agri.rows, ACTOR)
        .await
        .expect("save agribank");
    s.save_payout_file(p.id, f.csv_upload(), &f.csv.rows, ACTOR)
        .await
        .expect("save csv");
    s.save_payout_file(p.id, f.csv_upload(), &f.csv.rows, ACTOR)
        .await
        .expect("save csv again");
    s.save_reconciliation(sample_run(p.id, v2.value.id), ACTOR)
        .await
        .expect("save_reconciliation");
    s.save_reconciliation(sample_run(p.id, agri.value.id), ACTOR)
        .await
        .expect_err("a run of a payout file");
    s.create_token(accountant_token(), ACTOR)
        .await
        .expect("create_token");
    s.create_token(accountant_token(), ACTOR)
        .await
        .expect_err("the same token twice");
    s.revoke_token("ketoan", ACTOR).await.expect("revoke");
    s.revoke_token("ketoan", ACTOR).await.expect("revoke again");
    s.revoke_token("nobody", ACTOR)
        .await
        .expect("revoke unknown");
    s.create_token(bank_token(), ACTOR)
        .await
        .expect("create bank token");
    s.revoke_token("agribank", ACTOR)
        .await
        .expect("revoke bank");
    s.append_audit(NewAuditEntry::new(
        ACTOR,
        Action::TokenRevoke,
        "token/none",
        serde_json::json!({"ok": true}),
    ))
    .await
    .expect("append_audit");
}

// ---- Periods -----------------------------------------------------------------------------

#[tokio::test]
async fn a_period_is_created_found_and_listed() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        s.ping().await.expect("ping");
        let p = create_2026_03(s).await;
        assert_eq!(
            s.get_period(p.id).await.expect("get_period"),
            Some(p.clone())
        );
        assert_eq!(
            (p.targets.account(), p.targets.cashless()),
            (Some(3000), Some(9731))
        );
        assert_eq!(
            s.list_periods().await.expect("list_periods"),
            vec![p.clone()]
        );
        assert_eq!(s.get_period(p.id + 100).await.expect("get_period"), None);
    })
    .await;
}

#[tokio::test]
async fn a_period_code_is_taken_once() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let p = create_2026_03(s).await;
        assert!(matches!(
            s.create_period(period("2026-03"), ACTOR).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.list_periods().await.expect("list_periods"), vec![p]);
    })
    .await;
}

// ---- Uploads -----------------------------------------------------------------------------

#[tokio::test]
async fn a_list_is_stored_with_its_row_errors_notices_and_totals() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let list = &f.list;
        // The sample has rejected rows and a totals row that disagrees: both must survive storage.
        assert!(!list.rows.is_empty() && !list.errors.is_empty() && list.control_total.is_some());
        let p = create_2026_03(s).await;
        let v1 = s
            .save_beneficiary_list(p.id, f.list_upload(), &list.rows, &[], ACTOR)
            .await
            .expect("save list");
        assert!(v1.created);
        assert_eq!(v1.value.version, Some(1));
        assert_eq!(v1.value.kind, UploadKind::Beneficiaries);
        assert_eq!(v1.value.row_errors, list.errors);
        assert_eq!(v1.value.notices, list.notices);
        assert_eq!(v1.value.control_total, list.control_total);
        assert_eq!(v1.value.accepted_rows, list.rows.len() as i64);
        assert_eq!(
            s.get_upload(v1.value.id).await.expect("get_upload"),
            Some(v1.value.clone())
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_list_twice_is_stored_once() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let p = create_2026_03(s).await;
        let v1 = s
            .save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
            .await
            .expect("save list");
        let again = s
            .save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
            .await
            .expect("save list again");
        assert!(!again.created);
        assert_eq!(again.value, v1.value);
    })
    .await;
}

#[tokio::test]
async fn a_list_for_an_unknown_period_is_refused() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let p = create_2026_03(s).await;
        assert!(matches!(
            s.save_beneficiary_list(p.id + 100, f.list_upload(), &f.list.rows, &[], ACTOR)
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_second_different_list_is_version_2_with_its_notices() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let p = create_2026_03(s).await;
        s.save_beneficiary_list(p.id, f.list_upload(), &f.list.rows, &[], ACTOR)
            .await
            .expect("save list");
        let up2 = f.list2_upload();
        let v2 = s
            .save_beneficiary_list(p.id, up2.clone(), &f.list2.rows, &[], ACTOR)
            .await
            .expect("save list 2");
        assert!(v2.created);
        assert_eq!(v2.value.version, Some(2));
        assert_eq!(v2.value.notices, up2.notices);
    })
    .await;
}

#[tokio::test]
async fn payout_files_are_stored_once_each_without_a_version() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let p = create_2026_03(s).await;
        let agri = s
            .save_payout_file(p.id, f.agri_upload(), &f.agri.rows, ACTOR)
            .await
            .expect("save agribank");
        assert!(agri.created);
        assert_eq!(agri.value.version, None);
        assert_eq!(agri.value.kind, UploadKind::Payouts);
        let csv = s
            .save_payout_file(p.id, f.csv_upload(), &f.csv.rows, ACTOR)
            .await
            .expect("save csv");
        assert!(csv.created);
        let csv_again = s
            .save_payout_file(p.id, f.csv_upload(), &f.csv.rows, ACTOR)
            .await
            .expect("save csv again");
        assert_eq!(
            (csv_again.created, csv_again.value.id),
            (false, csv.value.id)
        );
    })
    .await;
}

#[tokio::test]
async fn a_reconciliation_reads_back_what_was_imported() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let stored = store_sample(s, &f).await;
        let inputs = s.period_inputs(stored.p.id).await.expect("period_inputs");
        assert_eq!(inputs.lists.len(), 1, "one unit, one current list");
        let current = &inputs.lists[0];
        assert_eq!(current.upload, stored.v2.value);
        same_list(&current.rows, &f.list2.rows);
        assert!((0..f.list2.rows.len()).all(|i| current.units.get(i).is_none()));
        let files: Vec<_> = inputs
            .payout_files
            .iter()
            .map(|p| p.upload.clone())
            .collect();
        assert_eq!(
            files,
            vec![stored.agri.value.clone(), stored.csv.value.clone()]
        );
        let expected: Vec<_> = f
            .agri
            .rows
            .iter()
            .chain(f.csv.rows.iter())
            .cloned()
            .collect();
        let mut payouts = doisoat::domain::columns::PayoutTable::default();
        for p in inputs.payout_files {
            payouts.append(p.rows);
        }
        same_payouts(&payouts, &expected);
    })
    .await;
}

#[tokio::test]
async fn the_list_saved_last_is_current_and_the_earlier_one_is_not() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        let stored = store_sample(s, &f).await;
        // v1 was current when it was saved; v2 is now.
        let v1_now = Upload {
            current: false,
            ..stored.v1.value.clone()
        };
        assert_eq!(
            s.list_uploads(stored.p.id).await.expect("list_uploads"),
            vec![
                v1_now,
                stored.v2.value.clone(),
                stored.agri.value.clone(),
                stored.csv.value.clone()
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_inputs_of_an_unknown_period_are_not_found() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let p = create_2026_03(s).await;
        assert!(matches!(
            s.period_inputs(p.id + 100).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

// ---- Reconciliation runs -----------------------------------------------------------------

#[tokio::test]
async fn a_run_is_stored_as_given_and_listed() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let stored = store_sample(s, &sample_files()).await;
        let run = sample_run(stored.p.id, stored.v2.value.id);
        let (meta_json, report_json) = (run.meta_json.clone(), run.report_json.clone());
        let info = s
            .save_reconciliation(run, ACTOR)
            .await
            .expect("save_reconciliation");
        let got = s
            .get_reconciliation(info.id)
            .await
            .expect("get_reconciliation")
            .expect("the saved run is found");
        assert_eq!(got.info, info);
        assert_eq!(
            (got.meta_json, got.report_json, got.exception_rows),
            (meta_json, report_json, Some(7))
        );
        let rows = s
            .exception_rows(
                info.id,
                &ExceptionFilter::default(),
                PageStart::After(-1),
                100,
            )
            .await
            .expect("exception_rows");
        assert_eq!(
            rows,
            (0..7)
                .map(|i| (i as i64, exception(i).row_json))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            s.list_reconciliations(stored.p.id)
                .await
                .expect("list_reconciliations"),
            vec![info]
        );
    })
    .await;
}

#[tokio::test]
async fn a_run_must_be_of_a_beneficiary_list() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let stored = store_sample(s, &sample_files()).await;
        let wrong_list = sample_run(stored.p.id, stored.agri.value.id);
        assert!(matches!(
            s.save_reconciliation(wrong_list, ACTOR).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_run_whose_exceptions_stop_short_stores_nothing() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let stored = store_sample(s, &sample_files()).await;
        let audit_before = s.audit_entries(0, 1000).await.expect("audit").len();
        // A batch, then the maker is gone without `Done` (it failed).
        let (feed, exceptions) = tokio::sync::mpsc::channel(2);
        feed.send(RunFeed::Exceptions((0..3).map(exception).collect()))
            .await
            .expect("send");
        drop(feed);
        let run = NewRun {
            exceptions,
            ..sample_run(stored.p.id, stored.v2.value.id)
        };
        assert!(matches!(
            s.save_reconciliation(run, ACTOR).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.list_reconciliations(stored.p.id).await.expect("runs"),
            vec![]
        );
        assert_eq!(
            s.audit_entries(0, 1000).await.expect("audit").len(),
            audit_before
        );
    })
    .await;
}

// ---- Tokens ------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_is_unique_and_found_by_its_hash() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let new_token = accountant_token();
        let token = s
            .create_token(new_token.clone(), ACTOR)
            .await
            .expect("create_token");
        assert!(matches!(
            s.create_token(new_token.clone(), ACTOR).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.token_by_hash(&new_token.token_hash)
                .await
                .expect("token_by_hash"),
            Some(token.clone())
        );
        assert_eq!(s.list_tokens().await.expect("list_tokens"), vec![token]);
    })
    .await;
}

#[tokio::test]
async fn a_token_is_revoked_once_and_then_finds_nothing() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let new_token = accountant_token();
        let token = s
            .create_token(new_token.clone(), ACTOR)
            .await
            .expect("create_token");
        assert!(s.revoke_token("ketoan", ACTOR).await.expect("revoke"));
        assert!(!s.revoke_token("ketoan", ACTOR).await.expect("revoke again"));
        assert!(
            !s.revoke_token("nobody", ACTOR)
                .await
                .expect("revoke unknown")
        );
        assert_eq!(
            s.token_by_hash(&new_token.token_hash)
                .await
                .expect("token_by_hash after revoke"),
            None
        );
        let listed = s.list_tokens().await.expect("list_tokens");
        assert!(listed.len() == 1 && listed[0].revoked_at.is_some());
        assert_eq!(
            s.webhook_secret(token.id)
                .await
                .expect("secret of a revoked token"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn a_bank_token_keeps_its_webhook_secret_until_revoked() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let bank = s
            .create_token(bank_token(), ACTOR)
            .await
            .expect("create bank token");
        assert_eq!(
            s.webhook_secret(bank.id)
                .await
                .expect("webhook_secret")
                .as_deref(),
            Some(BANK_SECRET)
        );
        assert!(
            s.revoke_token("agribank", ACTOR)
                .await
                .expect("revoke bank")
        );
        assert_eq!(
            s.webhook_secret(bank.id)
                .await
                .expect("secret after revoke"),
            None
        );
    })
    .await;
}

// ---- The audit trail ---------------------------------------------------------------------

#[tokio::test]
async fn the_trail_has_one_entry_per_change_and_none_for_repeats_or_refusals() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        whole_story(s).await;
        let entries = all_audit(s).await;
        assert_chain(&entries, 11);
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "period.create",
                "upload.beneficiaries",
                "upload.beneficiaries",
                "upload.payouts",
                "upload.payouts",
                "reconciliation.create",
                "token.create",
                "token.revoke",
                "token.create",
                "token.revoke",
                "token.revoke",
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_trail_never_holds_a_token_hash() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        whole_story(s).await;
        let entries = all_audit(s).await;
        assert!(
            entries
                .iter()
                .all(|e| !e.details.contains(&accountant_token().token_hash))
        );
    })
    .await;
}

#[tokio::test]
async fn the_trail_is_read_in_pages_after_a_sequence_number() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        whole_story(s).await;
        let page = s.audit_entries(3, 2).await.expect("audit page");
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_all_succeed_and_the_chain_stays_whole() {
    for_each_store(|t| async move {
        let store = t.store.clone();
        whole_story(store.as_ref()).await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_period(period(&format!("2026-C{i}")), ACTOR)
                        .await
                })
            })
            .collect();
        for t in tasks {
            let r = t.await.expect("task");
            r.expect("concurrent create_period");
        }
        // The same file uploaded by several people at once is stored once.
        let qid = store
            .create_period(period("2026-Q"), ACTOR)
            .await
            .expect("create_period")
            .id;
        let f = sample_files();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (store, up, rows) = (store.clone(), f.csv_upload(), f.csv.rows.clone());
                tokio::spawn(async move { store.save_payout_file(qid, up, &rows, ACTOR).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            let r = t.await.expect("task");
            created += usize::from(r.expect("concurrent save_payout_file").created);
        }
        assert_eq!(created, 1);
        assert_eq!(store.list_periods().await.expect("list_periods").len(), 10);
        assert_chain(&all_audit(store.as_ref()).await, 11 + 8 + 1 + 1);
    })
    .await;
}

/// The `i`th of a run's exceptions, varied so each filter picks a different part: kinds in
/// turn, a flag on every third, communes of two provinces (00004 in 01; 26734 in 79) and
/// one province-level row in four, a commune name on every fifth, a bank on every fourth.
fn exception(i: usize) -> ExceptionRecord {
    let kinds = ["unpaid", "no_account", "underpaid", "unmatched_payout"];
    let (unit, province) = match i % 4 {
        0 | 1 => ("00004", "01"),
        2 => ("26734", "79"),
        _ => ("79", "79"),
    };
    ExceptionRecord {
        kind: kinds[i % kinds.len()].into(),
        flags: if i.is_multiple_of(3) {
            vec!["name_mismatch".into(), "missing_account".into()]
        } else {
            vec![]
        },
        unit_code: Some(unit.into()),
        province_code: Some(province.into()),
        commune_key: match i % 5 {
            0 => Some("phuc xa".into()),
            2 => Some("ba dinh".into()),
            _ => None,
        },
        bank_code: i.is_multiple_of(4).then(|| "VBA".into()),
        // Now and then an ID as written when it is not one (kept raw, any case).
        population_id: if i % 97 == 5 {
            format!("CMND-Cu {i}")
        } else {
            format!("0011{i:08}")
        },
        // An account on every other row, its start shared with some IDs' digits.
        account: (i % 2 == 1).then(|| format!("42{i:06}")),
        // Names shared by many (ties), and punctuation a locale's collation would skip
        // but a bytewise comparison does not (`-` < digits < `_` < letters).
        name_key: match i % 5 {
            0 | 4 => format!("nguyen van {i}"),
            1 => "nguyen van".into(),
            2 => "nguyen-van".into(),
            _ => "nguyen_van b".into(),
        },
        // Due: none for an unmatched payout, else one of seven (ties); paid: one of five;
        // the difference where something is owed; a value date on two rows in three.
        amount_due: (i % 4 != 3).then(|| 1_000_000 + (i as i64 % 7) * 250_000),
        amount_paid: Some((i as i64 * 37 % 5) * 500_000),
        difference: i
            .is_multiple_of(2)
            .then(|| 1_000_000 + (i as i64 % 7) * 250_000 - (i as i64 * 37 % 5) * 500_000),
        value_date: (!i.is_multiple_of(3))
            .then(|| chrono::NaiveDate::from_ymd_opt(2024, 9, 1 + (i % 5) as u32))
            .flatten(),
        row_json: format!(r#"{{"i":{i},"ten":"Nguyễn Văn {i}"}}"#),
    }
}

/// `expected(n, f)` in `sort`'s order: by key, then by `seq`, both in its direction; rows
/// without a key last either way; texts bytewise (Rust's `String` order).
fn expected_sorted(n: usize, f: &ExceptionFilter, sort: ExceptionSort) -> Vec<i64> {
    let mut rows: Vec<(Option<SortKey>, i64)> = expected(n, f)
        .into_iter()
        .map(|seq| (exception(seq as usize).sort_key(sort.column), seq))
        .collect();
    rows.sort_by(|(a, i), (b, j)| match (a, b) {
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => {
            let o = a.cmp(b).then(i.cmp(j));
            if sort.descending { o.reverse() } else { o }
        }
    });
    rows.into_iter().map(|(_, seq)| seq).collect()
}

/// Every sort, both ways, under several filters: keyset chunks walk the whole match in
/// order (past the rows without a value), and a numbered page at any depth, the boundary
/// between rows with a value and without included, is the same window, on both backends.
#[tokio::test]
async fn exceptions_are_sorted_by_the_store() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let stored = store_sample(s, &sample_files()).await;
        const N: usize = 613;
        let run = NewRun {
            exceptions: RunFeed::of((0..N).map(exception).collect()),
            ..sample_run(stored.p.id, stored.v2.value.id)
        };
        let info = s.save_reconciliation(run, ACTOR).await.expect("save run");
        // Another run's rows never show in this one's.
        s.save_reconciliation(sample_run(stored.p.id, stored.v2.value.id), ACTOR)
            .await
            .expect("save another run");
        let filters = [
            ExceptionFilter::default(),
            ExceptionFilter {
                kinds: vec!["unpaid".into(), "underpaid".into()],
                ..ExceptionFilter::default()
            },
            ExceptionFilter {
                bank_codes: vec!["VBA".into()],
                ..ExceptionFilter::default()
            },
            ExceptionFilter {
                search: Some("van".into()),
                ..ExceptionFilter::default()
            },
            ExceptionFilter {
                search: Some("00110000".into()),
                flags: vec!["name_mismatch".into()],
                ..ExceptionFilter::default()
            },
        ];
        for column in SortColumn::ALL {
            for descending in [false, true] {
                let sort = ExceptionSort { column, descending };
                for filter in &filters {
                    let want = expected_sorted(N, filter, sort);
                    let what = format!("{sort:?} of {filter:?}");
                    // Keyset chunks of 50.
                    let mut got = Vec::new();
                    let mut start = SortedStart::Skip(0);
                    loop {
                        let chunk = s
                            .sorted_exception_rows(info.id, filter, sort, start.clone(), 50)
                            .await
                            .expect("sorted chunk");
                        for (seq, key, json) in &chunk {
                            let r = exception(*seq as usize);
                            assert_eq!(key, &r.sort_key(column), "key of {seq}: {what}");
                            assert_eq!(json, &r.row_json);
                        }
                        got.extend(chunk.iter().map(|(seq, _, _)| *seq));
                        match chunk.last() {
                            Some((seq, key, _)) if chunk.len() == 50 => {
                                start = SortedStart::After(key.clone(), *seq);
                            }
                            _ => break,
                        }
                    }
                    assert_eq!(got, want, "keyset: {what}");
                    // Numbered pages: the start, a third in, across the last rows with a
                    // value, the end, past it.
                    let valued = want
                        .iter()
                        .filter(|seq| exception(**seq as usize).sort_key(column).is_some())
                        .count();
                    for skip in [0, want.len() / 3, valued.saturating_sub(5), valued, want.len().saturating_sub(3), want.len() + 10] {
                        let page = s
                            .sorted_exception_rows(
                                info.id,
                                filter,
                                sort,
                                SortedStart::Skip(skip as i64),
                                17,
                            )
                            .await
                            .expect("sorted page");
                        let seqs: Vec<i64> = page.iter().map(|(seq, _, _)| *seq).collect();
                        let window: Vec<i64> = want.iter().skip(skip).take(17).copied().collect();
                        assert_eq!(seqs, window, "page from {skip}: {what}");
                    }
                }
            }
        }
        // PostgreSQL compares the texts a page sorts by bytewise, as SQLite does, whatever
        // the database's locale (the test databases' own is C, so the data above cannot
        // tell): the columns are COLLATE "C".
        if !t.url.starts_with("sqlite:") {
            let bytewise = raw(
                &t.url,
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'run_exceptions' \
                 AND column_name IN ('kind', 'commune_key', 'bank_code', 'name_key', 'population_id') \
                 AND collation_name = 'C'",
                None,
            )
            .await;
            assert_eq!(bytewise, 5, "run_exceptions' sorted texts are COLLATE \"C\"");
        }
    })
    .await;
}

/// What a filter must pick from `exception(0..n)`, worked out here row by row.
fn expected(n: usize, f: &ExceptionFilter) -> Vec<i64> {
    (0..n)
        .filter(|&i| {
            let r = exception(i);
            (f.kinds.is_empty() || f.kinds.contains(&r.kind))
                && (f.flags.is_empty() || f.flags.iter().any(|fl| r.flags.contains(fl)))
                && (f.commune_keys.is_empty()
                    || r.commune_key
                        .as_ref()
                        .is_some_and(|c| f.commune_keys.contains(c)))
                && (f.bank_codes.is_empty()
                    || r.bank_code
                        .as_ref()
                        .is_some_and(|b| f.bank_codes.contains(b)))
                && match &f.unit {
                    None => true,
                    Some(UnitScope::Nation) => r.unit_code.is_some(),
                    Some(UnitScope::Province(p)) => r.province_code.as_ref() == Some(p),
                    Some(UnitScope::Unit(u)) => r.unit_code.as_ref() == Some(u),
                }
                && f.search.as_ref().is_none_or(|q| {
                    if q.bytes().all(|b| b.is_ascii_digit()) {
                        r.population_id.starts_with(q.as_str())
                            || r.account
                                .as_deref()
                                .is_some_and(|a| a.starts_with(q.as_str()))
                    } else {
                        r.name_key.contains(q.as_str())
                            || r.population_id.to_lowercase().contains(q.as_str())
                    }
                })
        })
        .map(|i| i as i64)
        .collect()
}

#[tokio::test]
async fn exceptions_are_rows_filtered_and_paged_by_the_store() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let stored = store_sample(s, &sample_files()).await;
        const N: usize = 1_234;
        // Sent in batches of several sizes, as a run is stored while it is made.
        let (feed, exceptions) = tokio::sync::mpsc::channel(4);
        let sender = tokio::spawn(async move {
            let mut all = (0..N).map(exception);
            for size in [1, 500, 0, 700, usize::MAX] {
                let batch: Vec<_> = all.by_ref().take(size).collect();
                feed.send(RunFeed::Exceptions(batch)).await.expect("send");
            }
            feed.send(RunFeed::Done).await.expect("send done");
        });
        let run = NewRun {
            exceptions,
            ..sample_run(stored.p.id, stored.v2.value.id)
        };
        let info = s.save_reconciliation(run, ACTOR).await.expect("save run");
        sender.await.expect("sender");
        // Another run's rows never show in this one's.
        let other = s
            .save_reconciliation(sample_run(stored.p.id, stored.v2.value.id), ACTOR)
            .await
            .expect("save another run");
        let f = |g: fn(&mut ExceptionFilter)| {
            let mut f = ExceptionFilter::default();
            g(&mut f);
            f
        };
        let filters = [
            ExceptionFilter::default(),
            f(|f| f.kinds = vec!["unpaid".into()]),
            f(|f| f.kinds = vec!["unpaid".into(), "underpaid".into()]),
            f(|f| f.kinds = vec!["paid_in_full_nowhere".into()]),
            f(|f| f.flags = vec!["name_mismatch".into()]),
            f(|f| f.flags = vec!["name_mismatch".into(), "other_flag".into()]),
            f(|f| f.commune_keys = vec!["phuc xa".into()]),
            f(|f| f.commune_keys = vec!["phuc xa".into(), "ba dinh".into()]),
            f(|f| f.bank_codes = vec!["VBA".into()]),
            f(|f| f.bank_codes = vec!["VBA".into(), "VCB".into()]),
            // Digits: the start of an ID or of an account.
            f(|f| f.search = Some("420000".into())),
            f(|f| f.search = Some("4200011".into())),
            f(|f| f.unit = Some(UnitScope::Nation)),
            f(|f| f.unit = Some(UnitScope::Province("79".into()))),
            f(|f| f.unit = Some(UnitScope::Unit("00004".into()))),
            f(|f| f.search = Some("0011000001".into())),
            f(|f| f.search = Some("00110000012".into())),
            f(|f| f.search = Some("van 12".into())),
            f(|f| f.search = Some("%".into())),
            f(|f| f.search = Some("_".into())),
            // Part of an ID that is not all digits, as a search is folded (lower case).
            f(|f| f.search = Some("cmnd-cu 1".into())),
            f(|f| f.search = Some("nd-c".into())),
            f(|f| {
                f.kinds = vec!["unpaid".into()];
                f.flags = vec!["name_mismatch".into()];
                f.unit = Some(UnitScope::Province("01".into()));
            }),
        ];
        // A large run's search (with any other filter) is answered in memory: the same rows.
        let in_memory = doisoat::service::search::SearchCache::new(0, usize::MAX);
        let kept = in_memory
            .get(s, info.id)
            .await
            .expect("read the run's rows")
            .expect("kept");
        for q in ["van 12", "%", "_", "cmnd-cu 1", "nd-c", "nguyen", "zzz", " "] {
            for other in &filters {
                let filter = ExceptionFilter {
                    search: Some(q.into()),
                    ..other.clone()
                };
                assert_eq!(
                    kept.matching(&filter),
                    Some(expected(N, &filter)),
                    "in memory: {filter:?}"
                );
            }
        }
        let digits = ExceptionFilter {
            search: Some("12".into()),
            ..ExceptionFilter::default()
        };
        assert_eq!(kept.matching(&digits), None, "digits are the store's");
        for filter in &filters {
            let want = expected(N, filter);
            assert_eq!(
                s.count_exceptions(info.id, filter, None)
                    .await
                    .expect("count"),
                want.len() as i64,
                "count of {filter:?}"
            );
            // A capped count stops at its cap.
            assert_eq!(
                s.count_exceptions(info.id, filter, Some(7))
                    .await
                    .expect("capped count"),
                want.len().min(7) as i64,
                "capped count of {filter:?}"
            );
            // Keyset pages of 100 walk the whole match, in order.
            let mut got = Vec::new();
            let mut after = -1;
            loop {
                let page = s
                    .exception_rows(info.id, filter, PageStart::After(after), 100)
                    .await
                    .expect("keyset page");
                got.extend(page.iter().map(|(seq, _)| *seq));
                match page.last() {
                    Some((seq, _)) if page.len() == 100 => after = *seq,
                    _ => break,
                }
            }
            assert_eq!(got, want, "keyset pages of {filter:?}");
            // A numbered page is the same window.
            let skip = want.len() / 3;
            let page = s
                .exception_rows(info.id, filter, PageStart::Skip(skip as i64), 17)
                .await
                .expect("numbered page");
            let seqs: Vec<i64> = page.iter().map(|(seq, _)| *seq).collect();
            let window: Vec<i64> = want.iter().skip(skip).take(17).copied().collect();
            assert_eq!(seqs, window, "page from {skip} of {filter:?}");
            for (seq, json) in &page {
                assert_eq!(json, &exception(*seq as usize).row_json);
            }
        }
        assert_eq!(
            s.count_exceptions(other.id, &ExceptionFilter::default(), None)
                .await
                .expect("count other"),
            7
        );

        // A run stored before exceptions were rows: its list moves into rows once.
        raw(
            &t.url,
            "UPDATE reconciliations SET exception_rows = NULL, exceptions_json = '[]' WHERE id = $1",
            Some(other.id),
        )
        .await;
        raw(&t.url, "DELETE FROM run_exception_flags WHERE run_id = $1", Some(other.id)).await;
        raw(&t.url, "DELETE FROM run_exceptions WHERE run_id = $1", Some(other.id)).await;
        let legacy = s
            .get_reconciliation(other.id)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(
            (legacy.exception_rows, legacy.legacy_exceptions_json.as_str()),
            (None, "[]")
        );
        s.move_exceptions_to_rows(other.id, (0..3).map(exception).collect())
            .await
            .expect("move");
        s.move_exceptions_to_rows(other.id, (0..5).map(exception).collect())
            .await
            .expect("a second move changes nothing");
        let moved = s
            .get_reconciliation(other.id)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(
            (moved.exception_rows, moved.legacy_exceptions_json.as_str()),
            (Some(3), "")
        );
        let flagged = ExceptionFilter {
            flags: vec!["name_mismatch".into()],
            ..ExceptionFilter::default()
        };
        assert_eq!(s.count_exceptions(other.id, &flagged, None).await.expect("count"), 1);
        assert!(matches!(
            s.move_exceptions_to_rows(9_999, vec![]).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

/// Text COPY reads specially (a backslash, `\N`, a tab, a line break inside a quoted cell)
/// is stored and read back as imported, on both backends.
#[tokio::test]
async fn rows_with_copy_specials_read_back_as_imported() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let list_csv = "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\r\n\
            001190000001,\"Nguyễn \\N Văn\\tA\",1960,\"Xã\tTân\\Lập\",\"Người cao tuổi\r\ntừ 80\",2250000,\\N,\r\n\
            001190000002,Trần Thị B\\\\,1961,Xã Tân Lập,,2250000,1080000000002,VietinBank\r\n";
        let list = import::import_beneficiaries(
            "ds.csv",
            list_csv.as_bytes().to_vec(),
            &ImportOptions::new(2026),
        )
        .expect("import list");
        assert_eq!(list.rows.len(), 2, "{:?}", list.errors);
        let payout_csv = "transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank,reason\r\n\
            R\\1,001190000002,1080000000002,TRAN THI B,2250000,failed,15/09/2024,VietinBank,\"sai\tso\\tai khoan\r\n\\N\"\r\n";
        let payouts = import::import_payouts(
            "kq.csv",
            payout_csv.as_bytes().to_vec(),
            &ImportOptions::new(2026),
        )
        .expect("import payouts");
        assert_eq!(payouts.rows.len(), 1, "{:?}", payouts.errors);
        // The specials reach the store (else this test could not fail).
        let texts = format!("{:?}{:?}", list.rows, payouts.rows);
        for special in ["\\\\N", "\\\\", "\\t", "\\n"] {
            assert!(texts.contains(special), "{special} in {texts}");
        }
        let p = create_2026_03(s).await;
        s.save_beneficiary_list(
            p.id,
            new_upload(&list, list_csv.as_bytes(), None),
            &list.rows,
            &[],
            ACTOR,
        )
        .await
        .expect("save list");
        s.save_payout_file(
            p.id,
            new_upload(&payouts, payout_csv.as_bytes(), None),
            &payouts.rows,
            ACTOR,
        )
        .await
        .expect("save payouts");
        let inputs = s.period_inputs(p.id).await.expect("period_inputs");
        same_list(&inputs.lists[0].rows, &list.rows);
        same_payouts(&inputs.payout_files[0].rows, &payouts.rows);
    })
    .await;
}

/// A period's list as read back holds every value the engine and reports read of `rows`.
fn same_list(t: &dyn ListRows, s: &[BeneficiaryRow]) {
    assert_eq!(t.len(), s.len(), "rows read back");
    for i in 0..s.len() {
        let at = format!("row {i}");
        assert_eq!(t.id(i), s.id(i), "{at}");
        assert_eq!(t.name(i), s.name(i), "{at}");
        assert_eq!(t.amount_due(i), s.amount_due(i), "{at}");
        assert_eq!(t.account(i), s.account(i), "{at}");
        assert_eq!(t.bank(i), s.bank(i), "{at}");
        assert_eq!(t.birth_year(i), s.birth_year(i), "{at}");
        assert_eq!(t.sex(i), s.sex(i), "{at}");
        assert_eq!(t.category(i), s.category(i), "{at}");
        assert_eq!(t.commune(i), s.commune(i), "{at}");
        assert_eq!(t.file(i), s.file(i), "{at}");
        assert_eq!(t.row_number(i), s.row_number(i), "{at}");
    }
}

/// The same for payouts.
fn same_payouts(t: &dyn PayoutRows, s: &[PayoutRow]) {
    assert_eq!(t.len(), s.len(), "payouts read back");
    for i in 0..s.len() {
        let at = format!("payout {i}");
        assert_eq!(t.id(i), s.id(i), "{at}");
        assert_eq!(t.bank(i), s.bank(i), "{at}");
        assert_eq!(t.reference(i), s.reference(i), "{at}");
        assert_eq!(t.account(i), s.account(i), "{at}");
        assert_eq!(t.name(i), s.name(i), "{at}");
        assert_eq!(t.amount(i), s.amount(i), "{at}");
        assert_eq!(t.status(i), s.status(i), "{at}");
        assert_eq!(t.reason(i), s.reason(i), "{at}");
        assert_eq!(t.origin(i), s.origin(i), "{at}");
        assert_eq!(t.file(i), s.file(i), "{at}");
        assert_eq!(t.row_number(i), s.row_number(i), "{at}");
    }
}

/// Send `rows` in batches of two, then `done` (unless None: the feed just ends).
async fn stream(
    s: &dyn Store,
    period_id: i64,
    kind: UploadKind,
    start: &NewUpload,
    batches: Vec<doisoat::store::UploadFeed>,
    done: Option<NewUpload>,
) -> doisoat::store::Streamed {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let send = async move {
        for b in batches {
            tx.send(b).await.expect("the store takes the rows");
        }
        if let Some(d) = done {
            let _ = tx.send(doisoat::store::UploadFeed::Done(Box::new(d))).await;
        }
    };
    let (stored, ()) = tokio::join!(s.stream_upload(period_id, kind, start, rx, ACTOR), send);
    stored.expect("stream_upload")
}

fn list_batches(rows: &[BeneficiaryRow]) -> Vec<doisoat::store::UploadFeed> {
    rows.chunks(2)
        .map(|c| doisoat::store::UploadFeed::Beneficiaries(c.to_vec(), vec![None; c.len()]))
        .collect()
}

fn payout_batches(rows: &[PayoutRow]) -> Vec<doisoat::store::UploadFeed> {
    rows.chunks(2)
        .map(|c| doisoat::store::UploadFeed::Payouts(c.to_vec()))
        .collect()
}

/// An upload streamed in batches is stored as `save_*` stores it: the same upload, rows and
/// audit entry; a feed that stops stores nothing; the identical file again writes nothing.
#[tokio::test]
async fn a_streamed_upload_is_stored_as_a_saved_one_and_an_abandoned_one_not_at_all() {
    use doisoat::store::Streamed;
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = sample_files();
        // The reference: the sample saved whole in one period.
        let saved = store_sample(s, &f).await;
        let p = s
            .create_period(period("2026-04"), ACTOR)
            .await
            .expect("create_period");
        let before = all_audit(s).await.len();
        // Started with the file only (no counts), completed by `Done`.
        let start = |u: NewUpload| NewUpload {
            data_rows: 0,
            accepted_rows: 0,
            errors: Vec::new(),
            format: String::new(),
            ..u
        };
        // Stopped half-way: nothing stored, nothing audited.
        let half = list_batches(&f.list2.rows[..3]);
        let stopped = stream(
            s,
            p.id,
            UploadKind::Beneficiaries,
            &start(f.list2_upload()),
            half,
            None,
        )
        .await;
        assert!(matches!(stopped, Streamed::Abandoned), "{stopped:?}");
        assert_eq!(s.list_uploads(p.id).await.expect("list_uploads"), vec![]);
        assert_eq!(all_audit(s).await.len(), before);
        let list = stream(
            s,
            p.id,
            UploadKind::Beneficiaries,
            &start(f.list2_upload()),
            list_batches(&f.list2.rows),
            Some(f.list2_upload()),
        )
        .await;
        let Streamed::Saved(list) = list else {
            panic!("{list:?}")
        };
        let like_saved = |u: &Upload, reference: &Upload| Upload {
            id: u.id,
            period_id: u.period_id,
            created_at: u.created_at,
            version: u.version,
            ..reference.clone()
        };
        let list = *list;
        assert_eq!(list, like_saved(&list, &saved.v2.value));
        assert_eq!(list.version, Some(1));
        assert!(list.current);
        let agri = stream(
            s,
            p.id,
            UploadKind::Payouts,
            &start(f.agri_upload()),
            payout_batches(&f.agri.rows),
            Some(f.agri_upload()),
        )
        .await;
        let Streamed::Saved(agri) = agri else {
            panic!("{agri:?}")
        };
        let agri = *agri;
        assert_eq!(agri, like_saved(&agri, &saved.agri.value));
        // The identical file again: nothing written.
        let again = stream(
            s,
            p.id,
            UploadKind::Payouts,
            &start(f.agri_upload()),
            vec![],
            None,
        )
        .await;
        assert!(matches!(again, Streamed::Duplicate), "{again:?}");
        let inputs = s.period_inputs(p.id).await.expect("period_inputs");
        same_list(&inputs.lists[0].rows, &f.list2.rows);
        let mut payouts = doisoat::domain::columns::PayoutTable::default();
        for file in inputs.payout_files {
            payouts.append(file.rows);
        }
        same_payouts(&payouts, &f.agri.rows);
        let audit = all_audit(s).await;
        assert_eq!(audit.len(), before + 2);
        assert_eq!(audit::verify(&audit), Ok(audit.len()));
    })
    .await;
}

/// On PostgreSQL, an upload's rows are written without the write lock: other writers go on
/// while a long file is still being read. (SQLite has one writer: they wait.)
#[tokio::test]
async fn other_writers_go_on_while_an_upload_streams_on_postgres() {
    for_each_store(|t| async move {
        if t.backend.name() != "postgres" {
            return;
        }
        let s = std::sync::Arc::clone(&t.store);
        let f = sample_files();
        let p = s
            .create_period(period("2026-05"), ACTOR)
            .await
            .expect("create_period");
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let start = f.list_upload();
        let streaming = {
            let s = std::sync::Arc::clone(&s);
            tokio::spawn(async move {
                s.stream_upload(p.id, UploadKind::Beneficiaries, &start, rx, ACTOR)
                    .await
            })
        };
        for b in list_batches(&f.list.rows[..4]) {
            tx.send(b).await.expect("rows taken");
        }
        // Mid-upload, another writer stores a period at once.
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            s.create_period(period("2026-06"), ACTOR),
        )
        .await;
        assert!(matches!(other, Ok(Ok(_))), "{other:?}");
        for b in list_batches(&f.list.rows[4..]) {
            tx.send(b).await.expect("rows taken");
        }
        tx.send(doisoat::store::UploadFeed::Done(Box::new(f.list_upload())))
            .await
            .expect("done taken");
        let stored = streaming.await.expect("join").expect("stream_upload");
        assert!(
            matches!(stored, doisoat::store::Streamed::Saved(_)),
            "{stored:?}"
        );
        let audit = all_audit(s.as_ref()).await;
        assert_eq!(audit::verify(&audit), Ok(audit.len()));
    })
    .await;
}
