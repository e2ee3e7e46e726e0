//! Administrative units, programmes and periods per programme through the API, on SQLite
//! and, when `TEST_DATABASE_URL` is set, PostgreSQL.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::for_each_backend;

#[tokio::test]
async fn units_as_the_2025_tree() {
    for_each_backend(|app| async move {
        let t = app.tokens.auditor.clone();
        let provinces = app.get(&t, "/api/v1/units").await;
        provinces.expect_status(StatusCode::OK, "provinces");
        let provinces = provinces.json();
        let provinces = provinces.as_array().cloned().unwrap_or_default();
        assert_eq!(provinces.len(), 34);
        assert_eq!(
            provinces[0],
            json!({"code": "01", "name": "Hà Nội", "full_name": "Thành phố Hà Nội",
                   "level": "province", "parent": "VN", "kind": "Thành phố"})
        );
        let hanoi = app.get(&t, "/api/v1/units?parent=01").await;
        hanoi.expect_status(StatusCode::OK, "Hà Nội's communes");
        let hanoi = hanoi.json();
        let communes = hanoi.as_array().cloned().unwrap_or_default();
        assert!(communes.len() > 100, "{}", communes.len());
        assert!(
            communes
                .iter()
                .all(|c| c["level"] == "commune" && c["parent"] == "01")
        );

        let ba_dinh = app.get(&t, "/api/v1/units/00004").await;
        ba_dinh.expect_status(StatusCode::OK, "a commune");
        assert_eq!(ba_dinh.json()["full_name"], "Phường Ba Đình");
        let vn = app.get(&t, "/api/v1/units/VN").await;
        vn.expect_status(StatusCode::OK, "the nation");
        assert_eq!(vn.json()["level"], "nation");
        assert_eq!(vn.json()["parent"], Value::Null);

        for path in [
            "/api/v1/units/99999",
            "/api/v1/units?parent=99999",
            "/api/v1/units?parent=0123456789012345678901234567890",
        ] {
            app.get(&t, path)
                .await
                .expect_status(StatusCode::NOT_FOUND, path);
        }
        app.send(Method::GET, "/api/v1/units", None, None, Vec::new())
            .await
            .expect_status(StatusCode::UNAUTHORIZED, "no token");
    })
    .await;
}

#[tokio::test]
async fn programmes_are_listed_and_only_an_admin_adds_one() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let listed = app.get(&t.accountant, "/api/v1/programmes").await;
        listed.expect_status(StatusCode::OK, "programmes");
        let codes: Vec<String> = listed
            .json()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(codes, ["HTXH", "NCC", "TCXH"]);

        let body = json!({"code": "btxh", "name": "Bảo trợ xã hội"});
        let before = app.counts(0).await;
        for token in [&t.accountant, &t.auditor, &t.bank] {
            app.post_json(token, "/api/v1/programmes", &body)
                .await
                .expect_status(StatusCode::FORBIDDEN, "not an admin");
        }
        let bad = app
            .post_json(
                &t.admin,
                "/api/v1/programmes",
                &json!({"code": "a b", "name": ""}),
            )
            .await;
        bad.expect_status(StatusCode::BAD_REQUEST, "bad code and name");
        assert_eq!(bad.json()["fields"], json!(["code", "name"]));
        let after = app.counts(0).await;
        assert_eq!(before, after, "refused requests change nothing");

        let made = app.post_json(&t.admin, "/api/v1/programmes", &body).await;
        made.expect_status(StatusCode::CREATED, "admin creates");
        assert_eq!(
            made.json(),
            json!({"code": "BTXH", "name": "Bảo trợ xã hội"})
        );
        app.post_json(&t.admin, "/api/v1/programmes", &body)
            .await
            .expect_status(StatusCode::CONFLICT, "twice");
        // A period of the new programme.
        app.create_period(
            &t.accountant,
            &json!({"code": "2024-09", "programme": "BTXH"}),
        )
        .await
        .expect_status(StatusCode::CREATED, "period of the new programme");
        // A name another programme has, or a code as a name, is refused; a code always
        // means its own programme.
        for name in ["trợ cấp xã hội hằng tháng", "NCC"] {
            let r = app
                .post_json(
                    &t.admin,
                    "/api/v1/programmes",
                    &json!({"code": "XX", "name": name}),
                )
                .await;
            r.expect_status(StatusCode::BAD_REQUEST, name);
            assert_eq!(r.json()["fields"], json!(["name"]), "{name}");
        }
        app.post_json(
            &t.admin,
            "/api/v1/programmes",
            &json!({"code": "AAA", "name": "BTXH2"}),
        )
        .await
        .expect_status(StatusCode::CREATED, "AAA");
        let p = app
            .create_period(
                &t.accountant,
                &json!({"code": "2024-10", "programme": "btxh"}),
            )
            .await;
        p.expect_status(StatusCode::CREATED, "by code");
        assert_eq!(p.json()["programme"], "BTXH");
    })
    .await;
}

#[tokio::test]
async fn each_programme_has_its_own_september() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let tcxh = app
            .create_period(&t.accountant, &json!({"code": "2024-09"}))
            .await;
        tcxh.expect_status(StatusCode::CREATED, "TCXH by default");
        assert_eq!(tcxh.json()["programme"], "TCXH");
        let ncc = app
            .create_period(
                &t.accountant,
                &json!({"code": "09/2024", "programme": "ncc"}),
            )
            .await;
        ncc.expect_status(StatusCode::CREATED, "NCC, same month");
        assert_eq!(ncc.json()["programme"], "NCC");
        assert_eq!(ncc.json()["programme_name"], "Trợ cấp ưu đãi người có công");
        let by_name = app
            .create_period(
                &t.accountant,
                &json!({"code": "Tháng 9/2024", "programme": "trợ cấp hưu trí xã hội"}),
            )
            .await;
        by_name.expect_status(StatusCode::CREATED, "HTXH by its name");
        assert_eq!(by_name.json()["programme"], "HTXH");

        let before = app.counts(0).await;
        for (body, status) in [
            (json!({"code": "2024-09"}), StatusCode::CONFLICT),
            (
                json!({"code": "2024-09", "programme": "TCXH"}),
                StatusCode::CONFLICT,
            ),
            (
                json!({"code": "2024-10", "programme": "XYZ"}),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let r = app.create_period(&t.accountant, &body).await;
            r.expect_status(status, &body.to_string());
            if status == StatusCode::BAD_REQUEST {
                assert_eq!(r.json()["fields"], json!(["programme"]));
                assert!(
                    r.text().contains("TCXH"),
                    "names the programmes: {}",
                    r.text()
                );
            }
        }
        assert_eq!(
            app.counts(0).await,
            before,
            "refused requests change nothing"
        );

        // Callbacks name the programme, TCXH when they do not.
        let item = |tref: &str, programme: Option<&str>| {
            let mut v = json!({
                "transaction_ref": tref, "period": "2024-09",
                "population_id": "025142000102", "account_number": "4200205123457",
                "amount": "1500000", "currency": "VND", "status": "success",
                "value_date": "2024-09-20",
            });
            if let Some(p) = programme {
                v["programme"] = json!(p);
            }
            v.to_string()
        };
        for (tref, programme) in [("FT-1", None), ("FT-2", Some("ncc")), ("FT-3", Some("NCC"))] {
            app.post_callback(&t.bank, &t.bank_secret, &item(tref, programme), 0)
                .await
                .expect_status(StatusCode::OK, tref);
        }
        let r = app
            .post_callback(&t.bank, &t.bank_secret, &item("FT-4", Some("BTXH")), 0)
            .await;
        r.expect_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no such programme's period",
        );
        assert!(r.text().contains("BTXH"), "{}", r.text());
        let count = |programme: &'static str| {
            let store = app.store.clone();
            async move {
                store
                    .callback_payouts(programme, "2024-09")
                    .await
                    .map(|c| c.len())
                    .unwrap_or(usize::MAX)
            }
        };
        assert_eq!((count("TCXH").await, count("NCC").await), (1, 2));
    })
    .await;
}

#[tokio::test]
async fn a_unit_may_have_its_own_target() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let p = app
            .create_period(&t.accountant, &json!({"code": "2024-09", "target_pct": 30}))
            .await;
        p.expect_status(StatusCode::CREATED, "period");
        let id = support::id_of(&p.json());
        let put = |unit: &str, body: Value, token: String| {
            let path = format!("/api/v1/periods/{id}/targets/{unit}");
            let app = &app;
            async move {
                app.send(
                    Method::PUT,
                    &path,
                    Some(&token),
                    Some("application/json"),
                    body.to_string().into_bytes(),
                )
                .await
            }
        };
        let effective = |unit: &str| {
            let path = format!("/api/v1/periods/{id}/targets/{unit}");
            let (app, token) = (&app, t.auditor.clone());
            async move {
                let r = app.get(&token, &path).await;
                r.expect_status(StatusCode::OK, &path);
                let j = r.json();
                (
                    j["target_pct"].as_f64(),
                    j["set_for"].as_str().map(str::to_owned),
                )
            }
        };

        let set = put("01", json!({"target_pct": 50.5}), t.accountant.clone()).await;
        set.expect_status(StatusCode::OK, "Hà Nội's own target");
        assert_eq!(
            set.json(),
            json!({"unit": "01", "target_pct": 50.5, "set_for": "01",
                "account_coverage_target_pct": 50.5, "account_coverage_set_for": "01",
                "cashless_rate_target_pct": 50.5, "cashless_rate_set_for": "01"})
        );
        assert_eq!(
            effective("00004").await,
            (Some(50.5), Some("01".to_owned()))
        );
        assert_eq!(effective("37").await, (Some(30.0), None));
        let listed = app
            .get(&t.auditor, &format!("/api/v1/periods/{id}/targets"))
            .await;
        listed.expect_status(StatusCode::OK, "targets");
        let listed = listed.json();
        assert_eq!(listed["target_pct"], 30.0);
        assert_eq!(listed["units"][0]["unit"], "01");
        assert_eq!(listed["units"][0]["target_pct"], 50.5);

        let before = app.counts(id).await;
        for (unit, body, token, status) in [
            (
                "00004",
                json!({"target_pct": 101}),
                t.accountant.clone(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "99999",
                json!({"target_pct": 50}),
                t.accountant.clone(),
                StatusCode::NOT_FOUND,
            ),
            (
                "00004",
                json!({"target_pct": 50}),
                t.auditor.clone(),
                StatusCode::FORBIDDEN,
            ),
            // A missing or misspelt field must not remove Hà Nội's target.
            (
                "01",
                json!({}),
                t.accountant.clone(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "01",
                json!({"target": 95}),
                t.accountant.clone(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "01",
                json!({"target_pct": 1e28}),
                t.accountant.clone(),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            put(unit, body.clone(), token)
                .await
                .expect_status(status, &body.to_string());
        }
        app.send(
            Method::PUT,
            "/api/v1/periods/999999/targets/01",
            Some(&t.accountant),
            Some("application/json"),
            br#"{"target_pct": 50}"#.to_vec(),
        )
        .await
        .expect_status(StatusCode::NOT_FOUND, "no such period");
        let after = app.counts(id).await;
        assert_eq!(before, after, "refused requests change nothing");

        put("01", json!({"target_pct": null}), t.accountant.clone())
            .await
            .expect_status(StatusCode::OK, "removed");
        assert_eq!(effective("00004").await, (Some(30.0), None));
        let entries = app
            .store
            .audit_entries(0, 1_000_000)
            .await
            .unwrap_or_default();
        let targets = entries
            .iter()
            .filter(|e| e.action == "period.target")
            .count();
        assert_eq!(targets, 2, "set and removed, each audited");
    })
    .await;
}

#[tokio::test]
async fn each_rate_has_its_own_target() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        // Each rate its own target: 90% of beneficiaries with an account, 95% of those
        // paid without cash.
        let p = app
            .create_period(
                &t.admin,
                &json!({"code": "2024-09", "account_coverage_target_pct": 90,
                    "cashless_rate_target_pct": 95}),
            )
            .await;
        p.expect_status(StatusCode::CREATED, "period");
        let pj = p.json();
        assert_eq!(
            (
                &pj["target_pct"],
                &pj["account_coverage_target_pct"],
                &pj["cashless_rate_target_pct"]
            ),
            (&Value::Null, &json!(90.0), &json!(95.0))
        );
        let id = support::id_of(&pj);
        let bad = app
            .create_period(
                &t.admin,
                &json!({"code": "2024-10", "cashless_rate_target_pct": 100.001}),
            )
            .await;
        let problem = bad.expect_problem(StatusCode::BAD_REQUEST, None, "out of range");
        assert_eq!(problem["fields"], json!(["cashless_rate_target_pct"]));

        // Each rate measured against its own, the margin as a province reports it.
        for (is_list, file, bank) in [
            (true, "danh_sach_xa_tan_lap.xlsx", None),
            (false, "ket_qua_agribank.xlsx", Some("Agribank")),
            (false, "ket_qua_ngan_hang.csv", None),
        ] {
            let path = support::fixture_path(file);
            let r = if is_list {
                app.upload_list(&t.admin, id, &path).await
            } else {
                app.upload_payouts(&t.admin, id, &path, bank).await
            };
            r.expect_status(StatusCode::CREATED, file);
        }
        let live = app
            .get(&t.auditor, &format!("/api/v1/periods/{id}/coverage"))
            .await
            .json();
        let f = &live["by_commune"][0];
        assert_eq!(f.get("target_pct"), None, "no target shared by both: {f}");
        // Xã Tân Lập: 87,5% with an account, all of them paid without cash.
        assert_eq!(f["account_coverage_target_pct"], 90.0);
        assert_eq!(f["cashless_rate_target_pct"], 95.0);
        assert_eq!(f["account_coverage_meets_target"], false, "{f}");
        assert_eq!(f["account_coverage_vs_target_points"], -2.5);
        assert_eq!(f["cashless_rate_meets_target"], true);
        assert_eq!(f["cashless_rate_vs_target_points"], 5.0);
        let run = app.reconcile(&t.admin, id).await;
        run.expect_status(StatusCode::CREATED, "reconcile");
        let run = support::id_of(&run.json());
        let run_view = app.download(&t.auditor, run, "meta").await.json();
        let meta = &run_view["meta"];
        assert_eq!(
            (
                &meta["target_pct"],
                &meta["account_coverage_target_pct"],
                &meta["cashless_rate_target_pct"]
            ),
            (&Value::Null, &json!(90.0), &json!(95.0)),
            "{meta}"
        );

        // A unit's own target for one rate: the other still comes from the period.
        let put = |unit: &'static str, body: Value| {
            let (app, token) = (&app, t.admin.clone());
            async move {
                app.send(
                    Method::PUT,
                    &format!("/api/v1/periods/{id}/targets/{unit}"),
                    Some(&token),
                    Some("application/json"),
                    body.to_string().into_bytes(),
                )
                .await
            }
        };
        let r = put("01", json!({"cashless_rate_target_pct": 97.5})).await;
        r.expect_status(StatusCode::OK, "Hà Nội's cashless target");
        let r = app
            .get(&t.auditor, &format!("/api/v1/periods/{id}/targets/00004"))
            .await;
        assert_eq!(
            r.json(),
            json!({"unit": "00004", "target_pct": null, "set_for": null,
                "account_coverage_target_pct": 90.0, "account_coverage_set_for": null,
                "cashless_rate_target_pct": 97.5, "cashless_rate_set_for": "01"})
        );
        // Its target for both rates counts for the account coverage; the cashless rate's
        // own still wins. A field left out is kept.
        put("01", json!({"target_pct": 40}))
            .await
            .expect_status(StatusCode::OK, "both");
        let listed = app
            .get(&t.auditor, &format!("/api/v1/periods/{id}/targets"))
            .await
            .json();
        let hn = &listed["units"][0];
        assert_eq!(
            (
                &hn["unit"],
                &hn["target_pct"],
                &hn["account_coverage_target_pct"],
                &hn["cashless_rate_target_pct"]
            ),
            (&json!("01"), &json!(40.0), &json!(40.0), &json!(97.5)),
            "{listed}"
        );
        // Removing both leaves the unit with none: the period's apply again.
        put(
            "01",
            json!({"target_pct": null, "cashless_rate_target_pct": null}),
        )
        .await
        .expect_status(StatusCode::OK, "removed");
        let listed = app
            .get(&t.auditor, &format!("/api/v1/periods/{id}/targets"))
            .await
            .json();
        assert_eq!(listed["units"], json!([]), "{listed}");
        let audited = app
            .store
            .audit_entries(0, 1_000_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.action == "period.target")
            .count();
        assert_eq!(audited, 3);
    })
    .await;
}
