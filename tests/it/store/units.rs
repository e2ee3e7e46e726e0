//! Units and programmes on both backends, and periods stored before programmes existed.

use chrono::Utc;
use doisoat::store::{self, NATION, NewUpload, Programme, StoreError, UnitLevel};
use doisoat::store::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use std::str::FromStr;

use super::{ACTOR, period};
use crate::support::{Backend, for_each_empty_database, for_each_store};

/// Three periods (free text, a code in lower case, none), a list for the first and a
/// callback for it, as version 6 stored them. Gives the three period ids and the upload's.
/// A macro: the same statements on either pool, without sqlx's generic executor bounds.
macro_rules! seed_old {
    ($pool:expr, $at:expr) => {{
        let mut ids: Vec<i64> = Vec::new();
        for (code, programme) in [
            ("2024-09", Some("Trợ cấp xã hội hằng tháng")),
            ("2024-10", Some(" ncc ")),
            ("2024-11", None),
        ] {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO periods (code, programme, locality, target_bp, created_at, \
                 created_by) VALUES ($1, $2, NULL, NULL, $3, 'admin') RETURNING id",
            )
            .bind(code)
            .bind(programme)
            .bind($at)
            .fetch_one($pool)
            .await
            .expect("period");
            ids.push(id);
        }
        let upload: i64 = sqlx::query_scalar(
            "INSERT INTO uploads (period_id, kind, version, file_name, format, sha256, \
             size_bytes, uploaded_by, created_at, header_row, data_rows, accepted_rows, \
             rejected_rows, errors_json, notices_json, current_since) \
             VALUES ($1, 'beneficiaries', 1, 'ds.csv', 'csv', 'abc', 10, 'admin', $2, 1, 0, 0, \
             0, '[]', '[]', $2) RETURNING id",
        )
        .bind(ids[0])
        .bind($at)
        .fetch_one($pool)
        .await
        .expect("upload");
        ids.push(upload);
        sqlx::query(
            "INSERT INTO callback_payouts (bank_code, transaction_ref, period_code, \
             population_id, account_number, beneficiary_name, amount, status, value_date, \
             reason, content_sha256, version, received_at, updated_at) \
             VALUES ('VBA', 'FT1', '2024-09', NULL, '123', NULL, 100, 'success', $1, NULL, \
             'x', 1, $2, $2)",
        )
        .bind(chrono::NaiveDate::from_ymd_opt(2024, 9, 20).expect("date"))
        .bind($at)
        .execute($pool)
        .await
        .expect("callback");
        ids
    }};
}

#[tokio::test]
async fn the_2025_tree_is_seeded() {
    for_each_store(|s| async move {
        let provinces = s.store.child_units(NATION).await.expect("provinces");
        assert_eq!(provinces.len(), 34);
        assert!(provinces.iter().all(|u| u.level == UnitLevel::Province));
        assert!(
            provinces.windows(2).all(|w| w[0].code < w[1].code),
            "by code"
        );
        let mut communes = 0;
        for p in &provinces {
            let children = s.store.child_units(&p.code).await.expect("communes");
            assert!(!children.is_empty(), "{}", p.code);
            assert!(
                children
                    .iter()
                    .all(|c| c.parent.as_deref() == Some(p.code.as_str()))
            );
            communes += children.len();
        }
        assert_eq!(communes, 3321);
        let ba_dinh = s
            .store
            .get_unit("00004")
            .await
            .expect("get")
            .expect("Ba Đình");
        assert_eq!(ba_dinh.full_name, "Phường Ba Đình");
        assert_eq!(ba_dinh.parent.as_deref(), Some("01"));
        assert_eq!(ba_dinh.level, UnitLevel::Commune);
        let vn = s.store.get_unit(NATION).await.expect("get").expect("VN");
        assert_eq!((vn.level, vn.parent), (UnitLevel::Nation, None));
        assert!(s.store.get_unit("99999").await.expect("get").is_none());
        assert!(s.store.child_units("00004").await.expect("none").is_empty());
    })
    .await;
}

#[tokio::test]
async fn programmes_each_have_their_own_periods() {
    for_each_store(|s| async move {
        let codes: Vec<String> = s
            .store
            .list_programmes()
            .await
            .expect("programmes")
            .into_iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(codes, ["HTXH", "NCC", "TCXH"]);

        let tcxh = s
            .store
            .create_period(period("2024-09"), ACTOR)
            .await
            .expect("TCXH");
        let mut ncc = period("2024-09");
        ncc.programme = "NCC".into();
        let ncc = s
            .store
            .create_period(ncc, ACTOR)
            .await
            .expect("NCC, same month");
        assert_ne!(tcxh.id, ncc.id);
        assert_eq!(ncc.programme_name, "Trợ cấp ưu đãi người có công");
        let again = s.store.create_period(period("2024-09"), ACTOR).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let mut unknown = period("2024-10");
        unknown.programme = "XYZ".into();
        let unknown = s.store.create_period(unknown, ACTOR).await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound(_))),
            "{unknown:?}"
        );

        let found = s
            .store
            .period_by_code("NCC", "2024-09")
            .await
            .expect("by code");
        assert_eq!(found.map(|p| p.id), Some(ncc.id));
        assert!(
            s.store
                .period_by_code("HTXH", "2024-09")
                .await
                .expect("none")
                .is_none()
        );

        let new = Programme {
            code: "TEST".into(),
            name: "Thử".into(),
        };
        s.store
            .create_programme(new.clone(), ACTOR)
            .await
            .expect("create");
        let twice = s.store.create_programme(new, ACTOR).await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
        let entries = super::all_audit(s.store.as_ref()).await;
        assert_eq!(super::count_action(&entries, "programme.create"), 1);
        super::assert_chain(&entries, entries.len());
    })
    .await;
}

/// A database with periods of free-text programmes, an upload and a callback, migrated:
/// every period becomes TCXH with its callbacks (even one whose text looked like a code),
/// the text is kept aside, nothing else changes, and the old one-period-per-code rule is gone.
#[tokio::test]
async fn periods_from_before_programmes_migrate() {
    for_each_empty_database(|backend, url| async move {
        let before = 6;
        let at = Utc::now();
        let ids: Vec<i64> = match backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .create_if_missing(true)
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.expect("connect");
                SQLITE_MIGRATIONS
                    .run_to(before, &pool)
                    .await
                    .expect("migrate to 6");
                let ids = seed_old!(&pool, at);
                pool.close().await;
                ids
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.expect("connect");
                POSTGRES_MIGRATIONS
                    .run_to(before, &pool)
                    .await
                    .expect("migrate to 6");
                let ids = seed_old!(&pool, at);
                pool.close().await;
                ids
            }
        };
        let s = store::connect(&url).await.expect("migrate the rest");
        let periods = s.list_periods().await.expect("periods");
        let got: Vec<(i64, &str, &str)> = periods
            .iter()
            .map(|p| (p.id, p.code.as_str(), p.programme.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (ids[0], "2024-09", "TCXH"),
                (ids[1], "2024-10", "TCXH"),
                (ids[2], "2024-11", "TCXH")
            ]
        );
        let upload = s.get_upload(ids[3]).await.expect("upload").expect("kept");
        assert_eq!(upload.period_id, ids[0]);
        assert_eq!(s.list_uploads(ids[0]).await.expect("uploads").len(), 1);
        let callbacks = s
            .callback_payouts("TCXH", "2024-09")
            .await
            .expect("callbacks");
        assert_eq!(callbacks.len(), 1);
        assert_eq!(callbacks[0].payout.programme, "TCXH");
        // The same month for another programme is a new period now.
        let mut ncc = period("2024-09");
        ncc.programme = "NCC".into();
        s.create_period(ncc, ACTOR).await.expect("NCC September");
        let orphan = s
            .save_beneficiary_list(999_999, empty_list(), &[], &[], ACTOR)
            .await;
        assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
        // The free text is kept aside, not lost.
        let legacy: Vec<Option<String>> = match backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .expect("url")
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.expect("connect");
                // The rebuilt table is what the uploads' foreign keys point at, and they hold.
                let broken: Vec<(String, i64, String, i64)> =
                    sqlx::query_as("PRAGMA foreign_key_check")
                        .fetch_all(&pool)
                        .await
                        .expect("check");
                assert!(broken.is_empty(), "{broken:?}");
                let orphan = sqlx::query(
                    "INSERT INTO reconciliations (period_id, list_upload_id, created_at, \
                     created_by, meta_json, report_json, exceptions_json, report_sha256) \
                     VALUES (999999, $1, 'x', 'x', '{}', '{}', '[]', 'x')",
                )
                .bind(ids[3])
                .execute(&pool)
                .await;
                assert!(orphan.is_err(), "a run for no period must be refused");
                sqlx::query_scalar("SELECT legacy_programme FROM periods ORDER BY id")
                    .fetch_all(&pool)
                    .await
                    .expect("legacy")
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.expect("connect");
                sqlx::query_scalar("SELECT legacy_programme FROM periods ORDER BY id")
                    .fetch_all(&pool)
                    .await
                    .expect("legacy")
            }
        };
        assert_eq!(
            legacy[..3],
            [
                Some("Trợ cấp xã hội hằng tháng".to_owned()),
                Some(" ncc ".to_owned()),
                None
            ]
        );
    })
    .await;
}

/// An empty list's upload, for a store call that must fail before it is stored.
fn empty_list() -> NewUpload {
    NewUpload {
        file_name: "ds.csv".into(),
        format: "csv".into(),
        sheet: None,
        bank_code: None,
        sha256: "0".repeat(64),
        size_bytes: 0,
        header_row: 1,
        data_rows: 0,
        accepted_rows: 0,
        rejected_rows: 0,
        control_total: None,
        errors: Vec::new(),
        notices: Vec::new(),
        unit: "VN".into(),
    }
}
