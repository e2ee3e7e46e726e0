//! Bank callbacks through the `Store` trait: versions and replays, allowed transitions,
//! all-or-nothing requests and groups, and their audit entries; each test on a fresh store
//! on every backend (`for_each_store`).

use super::*;

const VCB: &str = "VCB";
const BIDV: &str = "BIDV";
/// A personal ID that must never reach the audit log.
const POPULATION_ID: &str = "001234567890";

fn cb(reference: &str, period: &str, amount: i64, status: PayoutStatus) -> CallbackPayout {
    CallbackPayout {
        transaction_ref: reference.to_owned(),
        period: period.to_owned(),
        programme: "TCXH".to_owned(),
        population_id: Some(POPULATION_ID.to_owned()),
        account_number: "0011001234567".to_owned(),
        beneficiary_name: Some("Nguyễn Văn An".to_owned()),
        amount,
        status,
        value_date: NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"),
        reason: None,
        unit: None,
    }
}

fn paid(reference: &str) -> CallbackPayout {
    cb(reference, "2026-03", 540_000, PayoutStatus::Success)
}

fn returned(earlier: &CallbackPayout) -> CallbackPayout {
    CallbackPayout {
        status: PayoutStatus::Returned,
        value_date: NaiveDate::from_ymd_opt(2026, 3, 14).expect("date"),
        reason: Some("Tài khoản đã đóng".to_owned()),
        ..earlier.clone()
    }
}

fn req(bank: &str, webhook_id: &str, items: Vec<CallbackPayout>) -> CallbackRequest {
    CallbackRequest {
        bank_code: bank.to_owned(),
        token_name: format!("{}-api", bank.to_lowercase()),
        webhook_id: webhook_id.to_owned(),
        items,
    }
}

async fn save(store: &dyn Store, requests: Vec<CallbackRequest>) -> Vec<CallbackVerdict> {
    let n = requests.len();
    let verdicts = store
        .save_callbacks(&requests)
        .await
        .expect("save_callbacks");
    assert_eq!(verdicts.len(), n);
    verdicts
}

/// The answers of a request that must be accepted.
async fn accepted(store: &dyn Store, request: CallbackRequest) -> Vec<CallbackAnswer> {
    match save(store, vec![request]).await.remove(0) {
        CallbackVerdict::Accepted(answers) => answers,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// (index, ref, reason) of a request that must conflict.
async fn conflict(store: &dyn Store, request: CallbackRequest) -> (usize, String, String) {
    match save(store, vec![request]).await.remove(0) {
        CallbackVerdict::Conflict {
            index,
            transaction_ref,
            reason,
        } => (index, transaction_ref, reason),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn history(store: &dyn Store, bank: &str, reference: &str) -> Vec<CallbackPayout> {
    store
        .callback_history(bank, reference)
        .await
        .expect("callback_history")
}

/// Period 2026-03, and VCB's first post (`wh_1`): FT26001 paid (`a1`), FT26002 failed (`a2`).
/// Two audit entries.
struct FirstPost {
    a1: CallbackPayout,
    a2: CallbackPayout,
    first: Vec<CallbackAnswer>,
}

async fn first_post(s: &dyn Store) -> FirstPost {
    s.create_period(period("2026-03"), ACTOR)
        .await
        .expect("create_period");
    let (a1, a2) = (
        paid("FT26001"),
        cb("FT26002", "2026-03", 540_000, PayoutStatus::Failed),
    );
    let first = accepted(s, req(VCB, "wh_1", vec![a1.clone(), a2.clone()])).await;
    FirstPost { a1, a2, first }
}

/// FT26001 returned after it was paid (`wh_4`): its second state, `a1r`. A third audit entry.
async fn returned_after_paid(
    s: &dyn Store,
    f: &FirstPost,
) -> (CallbackPayout, Vec<CallbackAnswer>) {
    let a1r = returned(&f.a1);
    let back = accepted(s, req(VCB, "wh_4", vec![a1r.clone()])).await;
    (a1r, back)
}

/// The same FT26001 paid at VCB's and BIDV's.
fn another_bank() -> CallbackRequest {
    req(BIDV, "wh_11", vec![paid("FT26001")])
}

/// Four requests in one call: `wh_g2` conflicts (its FT26002 is VCB's failed `a2`, now a
/// success), the others are stored and see what earlier ones wrote.
struct Group {
    d1: CallbackPayout,
    d2_other: CallbackPayout,
    d3: CallbackPayout,
    verdicts: Vec<CallbackVerdict>,
}

async fn group(s: &dyn Store, f: &FirstPost) -> Group {
    let (d1, d2, d3) = (paid("FT26006"), paid("FT26007"), paid("FT26008"));
    let mut d2_other = d2.clone();
    d2_other.amount = 270_000;
    let mut a2_paid = f.a2.clone();
    a2_paid.status = PayoutStatus::Success;
    let verdicts = save(
        s,
        vec![
            req(VCB, "wh_g1", vec![d1.clone()]),
            req(VCB, "wh_g2", vec![d2.clone(), a2_paid]),
            req(VCB, "wh_g3", vec![d2_other.clone()]),
            req(VCB, "wh_g4", vec![d1.clone(), d3.clone(), d3.clone()]),
        ],
    )
    .await;
    Group {
        d1,
        d2_other,
        d3,
        verdicts,
    }
}

/// A payout of 2027-01, a period with no row yet.
fn early() -> CallbackPayout {
    cb("FT27001", "2027-01", 600_000, PayoutStatus::Success)
}

/// Every request of the tests below in one go, refused ones included; 9 audit entries
/// (the period and 8 callback entries: `wh_1`, `wh_4`, `wh_8`, `wh_11`, three of the group
/// and `wh_12`).
struct AllCallbacks {
    f: FirstPost,
    a1r: CallbackPayout,
    g: Group,
}

async fn all_callbacks(s: &dyn Store) -> AllCallbacks {
    let f = first_post(s).await;
    accepted(s, req(VCB, "wh_1_again", vec![f.a1.clone(), f.a2.clone()])).await;
    let mut a1_more = f.a1.clone();
    a1_more.amount += 1_000;
    conflict(
        s,
        req(VCB, "wh_3", vec![paid("FT26003"), paid("FT26004"), a1_more]),
    )
    .await;
    let (a1r, _) = returned_after_paid(s, &f).await;
    accepted(s, req(VCB, "wh_5", vec![f.a1.clone()])).await;
    accepted(s, req(VCB, "wh_6", vec![a1r.clone()])).await;
    let mut a1_again = f.a1.clone();
    a1_again.value_date = NaiveDate::from_ymd_opt(2026, 3, 20).expect("date");
    conflict(s, req(VCB, "wh_7", vec![a1_again])).await;
    accepted(s, req(VCB, "wh_8", vec![returned(&paid("FT26005"))])).await;
    conflict(s, req(VCB, "wh_9", vec![paid("FT26005")])).await;
    let mut a2_paid = f.a2.clone();
    a2_paid.status = PayoutStatus::Success;
    conflict(s, req(VCB, "wh_10", vec![a2_paid])).await;
    accepted(s, another_bank()).await;
    let g = group(s, &f).await;
    accepted(s, req(VCB, "wh_12", vec![early()])).await;
    AllCallbacks { f, a1r, g }
}

#[tokio::test]
async fn a_first_post_is_stored_as_version_1() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let FirstPost { a1, first, .. } = first_post(s).await;
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].transaction_ref, "FT26001");
        assert_eq!(first[0].status, PayoutStatus::Success);
        assert_eq!(first[1].status, PayoutStatus::Failed);
        assert!(first.iter().all(|a| a.version == 1));
        assert_ne!(first[0].payout_id, first[1].payout_id);
        assert_eq!(history(s, VCB, "FT26001").await, vec![a1]);
        assert_eq!(history(s, VCB, "FT-UNKNOWN").await, vec![]);
    })
    .await;
}

#[tokio::test]
async fn the_audit_entry_has_the_banks_token_counts_and_a_digest_never_personal_ids() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        first_post(s).await;
        let log = all_audit(s).await;
        let last = log.last().expect("an audit entry");
        assert_eq!(last.action, "callback.payouts");
        assert_eq!(last.actor, "bank:vcb-api");
        assert_eq!(last.subject, "bank/VCB");
        let details: serde_json::Value =
            serde_json::from_str(&last.details).expect("audit details");
        assert_eq!(details["webhook_id"], "wh_1");
        assert_eq!(details["items"], 2);
        assert_eq!(details["refs_sha256"], sha256_hex(b"FT26001\nFT26002"));
        assert!(!last.details.contains(POPULATION_ID));
        assert!(!last.details.contains("FT26001"));
    })
    .await;
}

#[tokio::test]
async fn an_exact_replay_gets_the_same_answers_and_writes_nothing() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let FirstPost { a1, a2, first } = first_post(s).await;
        let replay = accepted(s, req(VCB, "wh_1_again", vec![a1, a2])).await;
        assert_eq!(replay, first);
        assert_chain(&all_audit(s).await, 2);
    })
    .await;
}

#[tokio::test]
async fn a_request_with_a_conflicting_item_stores_none_of_its_items() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let FirstPost { a1, .. } = first_post(s).await;
        // A 3-item request whose 3rd item conflicts.
        let mut a1_more = a1.clone();
        a1_more.amount += 1_000;
        let (index, reference, reason) = conflict(
            s,
            req(VCB, "wh_3", vec![paid("FT26003"), paid("FT26004"), a1_more]),
        )
        .await;
        assert_eq!((index, reference.as_str()), (2, "FT26001"));
        assert!(
            reason.contains("amount") && reason.contains("already received"),
            "{reason}"
        );
        assert!(!reason.contains(POPULATION_ID), "{reason}");
        assert_eq!(history(s, VCB, "FT26003").await, vec![]);
        assert_eq!(history(s, VCB, "FT26004").await, vec![]);
        assert_eq!(history(s, VCB, "FT26001").await, vec![a1]);
        assert_chain(&all_audit(s).await, 2);
    })
    .await;
}

#[tokio::test]
async fn success_then_returned_is_version_2_of_the_same_payout() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = first_post(s).await;
        let (a1r, back) = returned_after_paid(s, &f).await;
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].payout_id, f.first[0].payout_id);
        assert_eq!(back[0].version, 2);
        assert_eq!(back[0].status, PayoutStatus::Returned);
        assert_eq!(history(s, VCB, "FT26001").await, vec![f.a1, a1r]);
    })
    .await;
}

#[tokio::test]
async fn replays_of_either_state_get_the_answer_given_for_it() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = first_post(s).await;
        let (a1r, back) = returned_after_paid(s, &f).await;
        assert_eq!(
            accepted(s, req(VCB, "wh_5", vec![f.a1.clone()])).await,
            vec![f.first[0].clone()]
        );
        assert_eq!(accepted(s, req(VCB, "wh_6", vec![a1r])).await, back);
        assert_chain(&all_audit(s).await, 3);
    })
    .await;
}

#[tokio::test]
async fn returned_to_success_is_refused() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = first_post(s).await;
        returned_after_paid(s, &f).await;
        // A success with other content than the first.
        let mut a1_again = f.a1.clone();
        a1_again.value_date = NaiveDate::from_ymd_opt(2026, 3, 20).expect("date");
        let (index, _, reason) = conflict(s, req(VCB, "wh_7", vec![a1_again])).await;
        assert_eq!(index, 0);
        assert!(reason.contains("returned → success"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn a_payout_first_posted_as_returned_cannot_become_a_success() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        first_post(s).await;
        accepted(s, req(VCB, "wh_8", vec![returned(&paid("FT26005"))])).await;
        let (_, _, reason) = conflict(s, req(VCB, "wh_9", vec![paid("FT26005")])).await;
        assert!(reason.contains("returned → success"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn failed_to_success_is_refused() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let FirstPost { a2, .. } = first_post(s).await;
        let mut a2_paid = a2.clone();
        a2_paid.status = PayoutStatus::Success;
        let (index, reference, reason) = conflict(s, req(VCB, "wh_10", vec![a2_paid])).await;
        assert_eq!((index, reference.as_str()), (0, "FT26002"));
        assert!(reason.contains("failed → success"), "{reason}");
        assert_eq!(history(s, VCB, "FT26002").await, vec![a2]);
    })
    .await;
}

#[tokio::test]
async fn the_same_reference_at_another_bank_is_another_payout() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = first_post(s).await;
        returned_after_paid(s, &f).await;
        let other = accepted(s, another_bank()).await;
        assert_eq!(other[0].version, 1);
        assert_ne!(other[0].payout_id, f.first[0].payout_id);
        assert_eq!(history(s, BIDV, "FT26001").await, vec![f.a1]);
        assert_eq!(history(s, VCB, "FT26001").await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn in_a_group_a_conflicting_request_leaves_the_others_stored() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let f = first_post(s).await;
        // Later requests see what earlier ones wrote, and nothing of the conflicting one
        // (its new FT26007 included).
        let g = group(s, &f).await;
        let answers = |v: &CallbackVerdict| match v {
            CallbackVerdict::Accepted(a) => a.clone(),
            other => panic!("expected Accepted, got {other:?}"),
        };
        let g1 = answers(&g.verdicts[0]);
        assert!(
            matches!(&g.verdicts[1], CallbackVerdict::Conflict { index: 1, transaction_ref, .. } if transaction_ref == "FT26002"),
            "{:?}",
            g.verdicts[1]
        );
        let g3 = answers(&g.verdicts[2]);
        assert_eq!(g3[0].version, 1);
        let g4 = answers(&g.verdicts[3]);
        assert_eq!(g4[0], g1[0]);
        assert_eq!(g4[1], g4[2]);
        assert_eq!(history(s, VCB, "FT26007").await, vec![g.d2_other]);
        assert_eq!(history(s, VCB, "FT26008").await, vec![g.d3]);
    })
    .await;
}

#[tokio::test]
async fn a_callback_for_a_period_with_no_row_yet_is_kept() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        first_post(s).await;
        accepted(s, req(VCB, "wh_12", vec![early()])).await;
        let listed = s
            .callback_payouts("TCXH", "2027-01")
            .await
            .expect("callback_payouts");
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].bank_code.as_str(), &listed[0].payout),
            (VCB, &early())
        );
    })
    .await;
}

#[tokio::test]
async fn a_periods_current_states_are_listed_in_id_order() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let AllCallbacks { f, a1r, g } = all_callbacks(s).await;
        let listed = s
            .callback_payouts("TCXH", "2026-03")
            .await
            .expect("callback_payouts");
        let got: Vec<(String, CallbackPayout)> = listed
            .iter()
            .map(|c| (c.bank_code.clone(), c.payout.clone()))
            .collect();
        let want = vec![
            (VCB.to_owned(), a1r),
            (VCB.to_owned(), f.a2.clone()),
            (VCB.to_owned(), returned(&paid("FT26005"))),
            (BIDV.to_owned(), f.a1.clone()),
            (VCB.to_owned(), g.d1),
            (VCB.to_owned(), g.d2_other),
            (VCB.to_owned(), g.d3),
        ];
        assert_eq!(got, want);
        assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(listed[0].id, f.first[0].payout_id);
        assert_eq!(
            s.callback_payouts("TCXH", "2025-01")
                .await
                .expect("callback_payouts"),
            vec![]
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_callbacks_all_land_and_the_chain_stays_whole() {
    for_each_store(|t| async move {
        let store = t.store.clone();
        all_callbacks(store.as_ref()).await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let request = req(
                        BIDV,
                        &format!("wh_c{i}"),
                        vec![paid(&format!("FT28{i:03}"))],
                    );
                    store.save_callbacks(std::slice::from_ref(&request)).await
                })
            })
            .collect();
        for t in tasks {
            let r = t.await.expect("task");
            let verdicts = r.expect("concurrent save_callbacks");
            assert!(matches!(verdicts.as_slice(), [CallbackVerdict::Accepted(a)] if a.len() == 1));
        }
        // `all_callbacks` left the period and 8 callback entries; 8 more concurrent ones.
        let (entries, callback_entries) = (9 + 8, 8 + 8);
        let log = all_audit(store.as_ref()).await;
        assert_chain(&log, entries);
        assert_eq!(count_action(&log, "callback.payouts"), callback_entries);
        assert!(log.iter().all(|e| !e.details.contains(POPULATION_ID)));
    })
    .await;
}
