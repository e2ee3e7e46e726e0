//! Web sessions through the `Store` trait: found by the hash of their id until they expire,
//! purged when someone signs in, ended by sign-out and by revoking their token, and what the
//! audit trail says of them; each test on a fresh store on every backend (`for_each_store`).

use super::*;

/// A session as the web layer makes one: the cookie holds `id`, the store its SHA-256.
fn new_session(token_id: i64, id: &str, expires_at: DateTime<Utc>) -> NewSession {
    NewSession {
        token_id,
        session_hash: sha256_hex(id.as_bytes()),
        csrf_token: format!("csrf-{id}"),
        expires_at,
    }
}

async fn make_token(store: &dyn Store, name: &str, role: Role) -> TokenInfo {
    let new = NewToken {
        name: name.to_owned(),
        role,
        bank_code: None,
        unit: "VN".into(),
        token_hash: sha256_hex(format!("token of {name}").as_bytes()),
        webhook_secret: None,
        display_name: None,
    };
    store.create_token(new, ACTOR).await.expect("create_token")
}

async fn lookup(store: &dyn Store, id: &str, now: DateTime<Utc>) -> Option<store::WebSession> {
    store
        .session_by_hash(&sha256_hex(id.as_bytes()), now)
        .await
        .expect("session_by_hash")
}

async fn delete(store: &dyn Store, id: &str, what: &str) -> bool {
    store
        .delete_session(&sha256_hex(id.as_bytes()))
        .await
        .expect(what)
}

async fn session_rows(url: &str) -> i64 {
    raw(url, "SELECT COUNT(*) FROM web_sessions", None).await
}

/// Two tokens (an accountant, `ketoan`; an auditor, `kiemtoan`) and ketoan's session
/// `phien-1`, expiring in 8 hours and some nanoseconds. Three audit entries.
struct SignedIn {
    ketoan: TokenInfo,
    kiemtoan: TokenInfo,
    /// Just before and just after phien-1 was made.
    before: DateTime<Utc>,
    after: DateTime<Utc>,
    /// What phien-1 was made with, and what is stored: nanoseconds in, microseconds stored
    /// (what PostgreSQL keeps).
    expires: DateTime<Utc>,
    stored_expiry: DateTime<Utc>,
}

async fn signed_in(s: &dyn Store) -> SignedIn {
    let ketoan = make_token(s, "ketoan", Role::Accountant).await;
    let kiemtoan = make_token(s, "kiemtoan", Role::Auditor).await;
    let before = Utc::now().trunc_subsecs(6);
    let expires = before + Duration::hours(8) + Duration::nanoseconds(123_456_789);
    s.create_session(new_session(ketoan.id, "phien-1", expires))
        .await
        .expect("create_session");
    SignedIn {
        ketoan,
        kiemtoan,
        before,
        after: Utc::now(),
        expires,
        stored_expiry: expires.trunc_subsecs(6),
    }
}

/// Three more of kiemtoan's sessions: `da-het-han` ended a second ago, `giay-chan` expires
/// on a whole second, `vi-giay` a few microseconds past one. Returns giay-chan's expiry.
async fn three_more(s: &dyn Store, x: &SignedIn) -> DateTime<Utc> {
    let now = Utc::now().trunc_subsecs(6);
    s.create_session(new_session(
        x.kiemtoan.id,
        "da-het-han",
        now - Duration::seconds(1),
    ))
    .await
    .expect("create expired");
    let whole_second = Utc
        .timestamp_opt((now + Duration::hours(1)).timestamp(), 0)
        .single()
        .expect("a whole second");
    s.create_session(new_session(x.kiemtoan.id, "giay-chan", whole_second))
        .await
        .expect("create whole second");
    s.create_session(new_session(
        x.kiemtoan.id,
        "vi-giay",
        now + Duration::hours(1) + Duration::microseconds(7),
    ))
    .await
    .expect("create microseconds");
    whole_second
}

/// Up to ketoan signing out of phien-1 (after `three_more`): 7 audit entries.
async fn signed_out(s: &dyn Store) -> SignedIn {
    let x = signed_in(s).await;
    three_more(s, &x).await;
    delete(s, "phien-1", "delete_session").await;
    x
}

/// ketoan's second session, `phien-2`, then kiemtoan revoked (after `signed_out`).
async fn kiemtoan_revoked(s: &dyn Store) -> SignedIn {
    let x = signed_out(s).await;
    s.create_session(new_session(x.ketoan.id, "phien-2", x.expires))
        .await
        .expect("create_session");
    s.revoke_token("kiemtoan", ACTOR).await.expect("revoke");
    x
}

/// ketoan's `phien-4`, then ketoan revoked straight in the database, past the store (by
/// hand, or by an older binary): its sessions are not deleted. Returns the rows updated.
async fn ketoan_revoked_by_hand(s: &dyn Store, url: &str, x: &SignedIn) -> i64 {
    s.create_session(new_session(x.ketoan.id, "phien-4", x.expires))
        .await
        .expect("create_session");
    raw(
        url,
        "UPDATE api_tokens SET revoked_at = created_at WHERE id = $1",
        Some(x.ketoan.id),
    )
    .await
}

/// The id of every session `all_sessions` makes.
const SESSION_IDS: [&str; 6] = [
    "phien-1",
    "da-het-han",
    "giay-chan",
    "vi-giay",
    "phien-2",
    "phien-4",
];

/// Every step of the tests below in one go, refusals included: 11 audit entries (2 tokens,
/// 6 sign-ins, 2 sign-outs, 1 revoke).
async fn all_sessions(s: &dyn Store, url: &str) -> SignedIn {
    let x = signed_in(s).await;
    s.create_session(new_session(x.kiemtoan.id, "phien-1", x.expires))
        .await
        .expect_err("the same hash twice");
    s.create_session(new_session(999_999, "phien-x", x.expires))
        .await
        .expect_err("an unknown token");
    three_more(s, &x).await;
    delete(s, "phien-1", "delete_session").await;
    delete(s, "phien-1", "delete again").await;
    delete(s, "khong-co", "delete unknown").await;
    s.create_session(new_session(x.ketoan.id, "phien-2", x.expires))
        .await
        .expect("create_session");
    s.revoke_token("kiemtoan", ACTOR).await.expect("revoke");
    s.create_session(new_session(x.kiemtoan.id, "phien-3", x.expires))
        .await
        .expect_err("a revoked token");
    delete(s, "vi-giay", "deleted by the revoke").await;
    ketoan_revoked_by_hand(s, url, &x).await;
    delete(s, "phien-4", "sign out of a revoked token's session").await;
    x
}

#[tokio::test]
async fn a_new_session_is_found_by_the_hash_of_its_id_only() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        let live = lookup(s, "phien-1", x.after)
            .await
            .expect("the new session is live");
        assert_eq!(live.token, x.ketoan);
        assert_eq!(live.csrf_token, "csrf-phien-1");
        assert_eq!(live.expires_at, x.stored_expiry);
        assert!(
            x.before <= live.created_at && live.created_at <= x.after,
            "created_at {} not in [{}, {}]",
            live.created_at,
            x.before,
            x.after
        );
        assert!(
            lookup(s, "phien-khac", x.after).await.is_none(),
            "unknown id"
        );
        // The cookie's id itself is not a key.
        assert!(
            s.session_by_hash("phien-1", x.after)
                .await
                .expect("by raw id")
                .is_none(),
            "only the hash finds a session"
        );
    })
    .await;
}

#[tokio::test]
async fn a_session_is_live_until_the_microsecond_before_it_expires() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        let last = x.stored_expiry - Duration::microseconds(1);
        assert!(lookup(s, "phien-1", last).await.is_some(), "just before");
        assert!(lookup(s, "phien-1", x.stored_expiry).await.is_none(), "at");
        assert!(
            lookup(s, "phien-1", x.stored_expiry + Duration::seconds(1))
                .await
                .is_none(),
            "after"
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_session_hash_twice_is_a_conflict_and_writes_nothing() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        assert!(matches!(
            s.create_session(new_session(x.kiemtoan.id, "phien-1", x.expires))
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            lookup(s, "phien-1", x.after).await.map(|w| w.token),
            Some(x.ketoan.clone())
        );
        assert_chain(&all_audit(s).await, 3);
        assert_eq!(session_rows(&t.url).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_session_of_an_unknown_token_is_not_found_and_writes_nothing() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        assert!(matches!(
            s.create_session(new_session(999_999, "phien-x", x.expires))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(lookup(s, "phien-x", x.after).await.is_none());
        assert_chain(&all_audit(s).await, 3);
        assert_eq!(session_rows(&t.url).await, 1);
    })
    .await;
}

#[tokio::test]
async fn signing_in_deletes_the_expired_sessions_and_only_those() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        let whole_second = three_more(s, &x).await;
        assert_eq!(session_rows(&t.url).await, 3, "the expired one was deleted");
        assert!(lookup(s, "da-het-han", Utc::now()).await.is_none());
        let whole = lookup(s, "giay-chan", Utc::now())
            .await
            .expect("whole-second session is live");
        assert_eq!(whole.expires_at, whole_second);
        assert_eq!(whole.token, x.kiemtoan);
    })
    .await;
}

#[tokio::test]
async fn signing_out_deletes_the_session_once() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_in(s).await;
        three_more(s, &x).await;
        assert!(delete(s, "phien-1", "delete_session").await);
        assert!(lookup(s, "phien-1", x.after).await.is_none());
        assert!(!delete(s, "phien-1", "delete again").await);
        assert!(!delete(s, "khong-co", "delete unknown").await);
        assert_eq!(session_rows(&t.url).await, 2);
    })
    .await;
}

#[tokio::test]
async fn revoking_a_token_ends_its_sessions_and_no_others() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = signed_out(s).await;
        s.create_session(new_session(x.ketoan.id, "phien-2", x.expires))
            .await
            .expect("create_session");
        assert!(lookup(s, "phien-2", Utc::now()).await.is_some());
        assert!(s.revoke_token("kiemtoan", ACTOR).await.expect("revoke"));
        assert!(lookup(s, "giay-chan", Utc::now()).await.is_none());
        assert!(lookup(s, "vi-giay", Utc::now()).await.is_none());
        assert!(
            lookup(s, "phien-2", Utc::now()).await.is_some(),
            "other token's"
        );
        assert_eq!(session_rows(&t.url).await, 1);
        assert!(!delete(s, "vi-giay", "deleted by the revoke").await);
    })
    .await;
}

#[tokio::test]
async fn a_revoked_token_cannot_sign_in_again() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = kiemtoan_revoked(s).await;
        assert!(matches!(
            s.create_session(new_session(x.kiemtoan.id, "phien-3", x.expires))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(lookup(s, "phien-3", Utc::now()).await.is_none());
        assert_eq!(session_rows(&t.url).await, 1);
    })
    .await;
}

#[tokio::test]
async fn sessions_of_a_token_revoked_past_the_store_are_refused_yet_can_sign_out() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = kiemtoan_revoked(s).await;
        let revoked = ketoan_revoked_by_hand(s, &t.url, &x).await;
        assert_eq!(revoked, 1);
        assert_eq!(session_rows(&t.url).await, 2);
        // The lookup only joins active tokens.
        assert!(lookup(s, "phien-4", Utc::now()).await.is_none());
        assert!(lookup(s, "phien-2", Utc::now()).await.is_none());
        assert!(delete(s, "phien-4", "sign out of a revoked token's session").await);
    })
    .await;
}

#[tokio::test]
async fn the_trail_has_a_sign_in_per_session_and_a_sign_out_per_deletion() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        all_sessions(s, &t.url).await;
        let log = all_audit(s).await;
        assert_chain(&log, 11);
        assert_eq!(count_action(&log, "session.sign_in"), 6);
        assert_eq!(count_action(&log, "session.sign_out"), 2);
    })
    .await;
}

#[tokio::test]
async fn the_trail_names_the_token_as_role_and_name_with_the_expiry_stored() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        let x = all_sessions(s, &t.url).await;
        let log = all_audit(s).await;
        let first = log
            .iter()
            .find(|e| e.action == "session.sign_in")
            .expect("a sign-in entry");
        assert_eq!(first.actor, "accountant:ketoan");
        assert_eq!(first.subject, "token/ketoan");
        let details: serde_json::Value =
            serde_json::from_str(&first.details).expect("sign-in details are JSON");
        assert_eq!(details["token_id"], x.ketoan.id);
        let logged_expiry = details["expires_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .expect("an RFC 3339 expires_at in the sign-in details");
        assert_eq!(logged_expiry, x.stored_expiry);
        let out = log
            .iter()
            .find(|e| e.action == "session.sign_out")
            .expect("a sign-out entry");
        assert_eq!(
            (out.actor.as_str(), out.subject.as_str()),
            ("accountant:ketoan", "token/ketoan")
        );
        let revoke = log
            .iter()
            .rfind(|e| e.action == "token.revoke")
            .expect("a revoke entry");
        assert!(
            revoke.details.contains("\"sessions_deleted\":2"),
            "{}",
            revoke.details
        );
    })
    .await;
}

#[tokio::test]
async fn no_session_id_hash_or_csrf_token_reaches_the_trail() {
    for_each_store(|t| async move {
        let s = t.store.as_ref();
        all_sessions(s, &t.url).await;
        let log = all_audit(s).await;
        for id in SESSION_IDS {
            let hash = sha256_hex(id.as_bytes());
            for e in &log {
                let text = format!("{} {} {}", e.actor, e.subject, e.details);
                assert!(
                    !text.contains(&hash) && !text.contains(&format!("csrf-{id}")),
                    "session secret in the audit log: {e:?}"
                );
            }
        }
    })
    .await;
}

/// Tokens and their sessions stored before the approver role (migration 0021 rebuilds the
/// SQLite token table to widen its CHECK): every token, its sessions and their link survive,
/// and an approver token can be made afterwards.
#[tokio::test]
async fn tokens_and_sessions_survive_the_approver_migration() {
    use crate::support::{Backend, for_each_empty_database};
    use std::str::FromStr;
    for_each_empty_database(|backend, url| async move {
        let before = 20;
        let at = Utc::now().trunc_subsecs(6);
        let hash = sha256_hex(b"ds_old_token");
        let seed = [
            "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by, unit_code, display_name) \
             VALUES ('ke-toan', 'accountant', $1, $2, 'admin', '01', 'Nguyễn Thị Hoa')",
            "INSERT INTO web_sessions (session_hash, token_id, csrf_token, created_at, expires_at) \
             SELECT 'sess', id, 'csrf', $2, $2 FROM api_tokens WHERE token_hash = $1",
        ];
        match backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .create_if_missing(true)
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.expect("connect");
                SQLITE_MIGRATIONS.run_to(before, &pool).await.expect("migrate to 20");
                for sql in seed {
                    sqlx::query(sql).bind(&hash).bind(at).execute(&pool).await.expect("seed");
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.expect("connect");
                POSTGRES_MIGRATIONS.run_to(before, &pool).await.expect("migrate to 20");
                for sql in seed {
                    sqlx::query(sql).bind(&hash).bind(at).execute(&pool).await.expect("seed");
                }
                pool.close().await;
            }
        }
        let s = store::connect(&url).await.expect("migrate the rest");
        let t = s.token_by_hash(&hash).await.expect("read").expect("the old token");
        assert_eq!((t.name.as_str(), t.role, t.unit.as_str()), ("ke-toan", Role::Accountant, "01"));
        assert_eq!(t.display_name.as_deref(), Some("Nguyễn Thị Hoa"));
        let live = s.session_by_hash("sess", at - Duration::seconds(1)).await.expect("read");
        assert_eq!(live.map(|w| w.token.id), Some(t.id), "its session still points at it");
        // Revoking it still deletes its sessions (the rebuilt foreign key).
        assert!(s.revoke_token("ke-toan", ACTOR).await.expect("revoke"));
        assert!(s.session_by_hash("sess", at - Duration::seconds(1)).await.expect("read").is_none());
        let approver = NewToken {
            name: "ktt".into(),
            role: Role::Approver,
            bank_code: None,
            unit: "01".into(),
            token_hash: sha256_hex(b"ds_ktt"),
            webhook_secret: None,
            display_name: None,
        };
        let made = s.create_token(approver, ACTOR).await.expect("an approver token");
        assert_eq!(made.role, Role::Approver);
        assert!(made.id > t.id, "ids go on after the copied rows");
    })
    .await;
}
