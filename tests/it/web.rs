//! The web pages through the router (no browser): sessions, CSRF, roles, masking,
//! language, bad uploads. The browser walk-through is tests/it/web_e2e.rs.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use doisoat::domain::money;
use serde_json::json;
use support::{
    TestApp, TestResponse, fixture_path, for_each_backend, for_each_backend_with, multipart,
    read_file,
};

/// A browser's cookie jar over the test app.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
    lang: Option<&'static str>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: Vec::new(),
            lang: None,
        }
    }

    async fn request(
        &mut self,
        method: Method,
        path: &str,
        ct: Option<&str>,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        if let Some(l) = self.lang {
            req = req.header("accept-language", l);
        }
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(body)).expect("request");
        let resp = self.app.dispatch(req).await;
        for v in resp.headers.get_all(header::SET_COOKIE) {
            let text = v.to_str().expect("cookie text");
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (k, val) = pair.split_once('=').expect("cookie pair");
            self.cookies.retain(|(name, _)| name != k);
            if !val.is_empty() {
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
        resp
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None, Vec::new()).await
    }

    async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.request(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    async fn sign_in(&mut self, token: &str) -> TestResponse {
        let page = self.get("/login").await;
        page.expect_status(StatusCode::OK, "login page");
        let csrf = csrf_of(&page.text());
        self.post_form(
            "/login",
            &[("token", token), ("csrf", &csrf), ("next", "/periods")],
        )
        .await
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(k, _)| k == name)
    }
}

fn urlencode(s: &str) -> String {
    doisoat::web::session::url_encode(s)
}

/// The first CSRF token on a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a csrf field on the page");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of value")].to_owned()
}

fn location(r: &TestResponse) -> String {
    r.headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn period_with_list(app: &TestApp) -> i64 {
    let t = app.tokens.accountant.clone();
    let p = app
        .create_period(
            &t,
            &json!({"code": "2024-09", "locality": "Xã Tân Lập", "target_pct": 80}),
        )
        .await;
    p.expect_status(StatusCode::CREATED, "create period");
    let id = p.json()["id"].as_i64().expect("period id");
    app.upload_list(&t, id, &fixture_path("danh_sach_xa_tan_lap.xlsx"))
        .await
        .expect_status(StatusCode::CREATED, "list");
    id
}

#[tokio::test]
async fn sign_in_session_and_sign_out() {
    for_each_backend(|app| async move {
        let mut b = Browser::new(&app);
        let r = b.get("/periods").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/login?next=/periods");

        let bad = b.sign_in("ds_wrong").await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(
            bad.text().contains("class=\"error\" role=\"alert\""),
            "{}",
            bad.text()
        );
        assert!(!b.has_cookie("doisoat_session"));

        let ok = b.sign_in(&app.tokens.accountant).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
        assert_eq!(location(&ok), "/periods");
        let set: Vec<String> = ok
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .filter(|c| c.starts_with("doisoat_session="))
            .collect();
        assert_eq!(set.len(), 1, "{set:?}");
        assert!(
            set[0].contains("HttpOnly") && set[0].contains("SameSite=Strict"),
            "{}",
            set[0]
        );
        let page = b.get("/periods").await;
        page.expect_status(StatusCode::OK, "periods page");
        assert!(page.text().contains("<html lang=\"vi\">"));
        assert!(page.text().contains("id=\"create-period\""));
        assert_eq!(
            page.headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );

        let csrf = csrf_of(&page.text());
        let out = b.post_form("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(!b.has_cookie("doisoat_session"));
        // The old cookie is dead server-side too, not just cleared in this browser.
        let entries = app.store.audit_entries(0, 1000).await.expect("audit");
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&"session.sign_in") && actions.contains(&"session.sign_out"),
            "{actions:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stolen_cookie_dies_with_sign_out_and_revocation() {
    for_each_backend(|app| async move {
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let stolen = b.cookies.clone();
        let csrf = csrf_of(&b.get("/periods").await.text());
        b.post_form("/logout", &[("csrf", &csrf)]).await;
        let mut thief = Browser::new(&app);
        thief.cookies = stolen;
        assert_eq!(thief.get("/periods").await.status, StatusCode::SEE_OTHER);

        let mut c = Browser::new(&app);
        c.sign_in(&app.tokens.admin).await;
        assert_eq!(c.get("/periods").await.status, StatusCode::OK);
        app.store
            .revoke_token("test-admin", "test")
            .await
            .expect("revoke");
        assert_eq!(c.get("/periods").await.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_change_nothing() {
    for_each_backend(|app| async move {
        let mut b = Browser::new(&app);
        // Sign-in itself needs the login form's token.
        let r = b
            .post_form("/login", &[("token", &app.tokens.accountant)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        b.sign_in(&app.tokens.accountant).await;
        let before = app.counts(1).await;
        for fields in [vec![], vec![("csrf", "forged")]] {
            let mut f = fields.clone();
            f.extend([("code", "2024-10"), ("target_pct", "80")]);
            let r = b.post_form("/periods", &f).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{fields:?}");
        }
        let r = b
            .request(Method::POST, "/periods/1/runs", None, Vec::new())
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a post with no body");
        // A valid token from another site's page is refused by the Origin check.
        let csrf = csrf_of(&b.get("/periods").await.text());
        let req = Request::builder()
            .method(Method::POST)
            .uri("/periods")
            .header(header::HOST, "localhost")
            .header("origin", "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::COOKIE,
                b.cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
            .body(Body::from(format!("csrf={csrf}&code=2024-11")))
            .expect("request");
        assert_eq!(app.dispatch(req).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.counts(1).await, before);

        let ok = b
            .post_form(
                "/periods",
                &[("csrf", &csrf), ("code", "2024-10"), ("target_pct", "97,5")],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
        let id: i64 = location(&ok)
            .trim_start_matches("/periods/")
            .parse()
            .expect("period id");
        let p = app
            .store
            .get_period(id)
            .await
            .expect("get")
            .expect("period");
        assert_eq!(p.targets.all, Some(9750));
        let bad = b
            .post_form(
                "/periods",
                &[
                    ("csrf", &csrf),
                    ("code", "tháng mười"),
                    ("target_pct", "120"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.text().contains("value=\"tháng mười\""),
            "the form keeps what was typed"
        );
    })
    .await;
}

#[tokio::test]
async fn auditors_read_with_masked_ids_and_cannot_write() {
    for_each_backend(|app| async move {
        let id = period_with_list(&app).await;
        let mut acc = Browser::new(&app);
        acc.sign_in(&app.tokens.accountant).await;
        let full = acc.get(&format!("/periods/{id}")).await;
        full.expect_status(StatusCode::OK, "accountant period page");
        assert!(
            full.text().contains("<td class=\"id\">025038000101"),
            "accountants see full IDs"
        );

        let mut aud = Browser::new(&app);
        aud.sign_in(&app.tokens.auditor).await;
        let page = aud.get(&format!("/periods/{id}")).await;
        page.expect_status(StatusCode::OK, "auditor period page");
        let html = page.text();
        assert!(!html.contains("id=\"upload-list\"") && !html.contains("id=\"run\""));
        assert!(!html.contains("025038000101"), "no full ID for auditors");
        assert!(
            html.contains("<td class=\"id\">********0101"),
            "masked ID shown"
        );
        assert!(
            !aud.get("/periods")
                .await
                .text()
                .contains("id=\"create-period\"")
        );

        let csrf = csrf_of(&html);
        let before = app.counts(id).await;
        let (ct, body) = multipart(&[
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "danh_sach_xa_tan_lap.xlsx",
                bytes: &read_file(&fixture_path("danh_sach_xa_tan_lap.xlsx")),
            },
        ]);
        let r = aud
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/list"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = aud
            .post_form(&format!("/periods/{id}/runs"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.counts(id).await, before);

        let audit = aud.get("/audit").await;
        audit.expect_status(StatusCode::OK, "audit page");
        let html = audit.text();
        assert!(html.contains("data-audit-verified=\"true\""));
        // Actions and subjects in words, people by name (the stored actor beside them).
        assert!(html.contains("Tải lên danh sách đối tượng"), "{html}");
        assert!(html.contains("Đăng nhập"));
        assert!(html.contains(&format!("<a href=\"/periods/{id}\">Kỳ ")));
        let rows = |h: &str| h.matches("<tr data-seq=").count();
        let actions = |h: &str| -> Vec<String> {
            h.split("data-action=\"")
                .skip(1)
                .filter_map(|s| s.split('"').next().map(str::to_owned))
                .collect()
        };
        assert!(rows(&html) >= 4);
        // Filters: by action, by person, by dates (Vietnam days).
        let signed_in = aud.get("/audit?action=session.sign_in").await.text();
        let got = actions(&signed_in);
        assert_eq!(got, ["session.sign_in", "session.sign_in"], "{signed_in}");
        let mine = aud
            .get("/audit?actor=accountant%3Atest-accountant")
            .await
            .text();
        assert!(mine.contains("accountant:test-accountant"));
        assert!(!mine.contains("<code class=\"muted\">auditor:"), "{mine}");
        let today = doisoat::domain::dates::vietnam_time(chrono::Utc::now()).date_naive();
        let today_only = aud
            .get(&format!("/audit?from={today}&to={today}"))
            .await
            .text();
        assert_eq!(rows(&today_only), rows(&html));
        let tomorrow = today.succ_opt().expect("a date");
        let none = aud.get(&format!("/audit?from={tomorrow}")).await.text();
        assert_eq!(rows(&none), 0);
        assert!(
            none.contains("id=\"audit-matching\" class=\"muted\">0 mục"),
            "{none}"
        );
        assert_eq!(
            acc.get("/audit").await.status,
            StatusCode::FORBIDDEN,
            "accountants do not read the audit log"
        );

        let mut bank = Browser::new(&app);
        assert_eq!(
            bank.sign_in(&app.tokens.bank).await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test]
async fn uploads_runs_downloads_and_language() {
    for_each_backend(|app| async move {
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let csrf = csrf_of(&b.get("/periods").await.text());
        let created = b
            .post_form(
                "/periods",
                &[("csrf", &csrf), ("code", "2024-09"), ("target_pct", "80")],
            )
            .await;
        let path = location(&created);
        let id: i64 = path.trim_start_matches("/periods/").parse().expect("id");

        // Two files in one form: one readable, one not. The readable one is stored; the
        // page says which file failed and why.
        let (ct, body) = multipart(&[
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "ket_qua_ngan_hang.csv",
                bytes: &read_file(&fixture_path("ket_qua_ngan_hang.csv")),
            },
            support::Part::File {
                name: "files",
                file_name: "hong.xlsx",
                bytes: b"not a workbook",
            },
        ]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/payouts"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("hong.xlsx"), "{}", r.text());
        assert_eq!(app.store.list_uploads(id).await.expect("uploads").len(), 1);
        // A bank file naming no bank: the page says what to do here, in its language only.
        let no_bank = "Số tham chiếu,Số định danh,Số tài khoản,Số tiền,Trạng thái\nFT9,025038000101,4200205123456,1500000,Thành công\n";
        let (ct, body) = multipart(&[
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "kq_khong_ngan_hang.csv",
                bytes: no_bank.as_bytes(),
            },
        ]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/payouts"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let said = r.text();
        assert!(said.contains("kq_khong_ngan_hang.csv: tệp không có cột Ngân hàng"), "{said}");
        assert!(!said.contains("--payouts") && !said.contains("no bank column and"), "{said}");

        let page = b.get(&path).await.text();
        assert!(
            page.contains("period.no_list") || page.contains("chưa có danh sách"),
            "no list yet"
        );
        let (ct, body) = multipart(&[
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "danh_sach_xa_tan_lap.xlsx",
                bytes: &read_file(&fixture_path("danh_sach_xa_tan_lap.xlsx")),
            },
        ]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/list"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = b.get(&location(&r)).await.text();
        assert!(
            page.contains("details class=\"row-errors\""),
            "row errors listed"
        );
        // The confirmation says what was stored, in the page's words and figures.
        assert!(
            page.contains("<p class=\"ok\" >Đã tải lên danh sách: danh_sach_xa_tan_lap.xlsx (lần 1) — 12 dòng hợp lệ, 2 dòng lỗi</p>"),
            "{page}"
        );
        assert!(
            page.contains("dòng 27") || page.contains("dòng "),
            "row numbers as the sheet shows them"
        );
        assert!(page.contains("data-figure=\"account_coverage_pct\">"));
        assert!(page.contains("<svg id=\"commune-chart\""));

        let r = b
            .post_form(&format!("/periods/{id}/runs"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let run_path = location(&r);
        let run_id: i64 = run_path
            .trim_start_matches("/runs/")
            .trim_end_matches("?new=1")
            .parse()
            .expect("run id");
        let api = app
            .get(
                &app.tokens.accountant,
                &format!("/api/v1/reconciliations/{run_id}"),
            )
            .await
            .json();
        let pct = doisoat::domain::money::format_pct(
            api["account_coverage_pct"]
                .to_string()
                .parse()
                .expect("decimal"),
        );
        let run_page = b.get(&run_path).await.text();
        assert!(
            run_page.contains(&format!("data-figure=\"account_coverage_pct\">{pct}<")),
            "page shows {pct}"
        );
        assert!(run_page.contains("Đã chạy đối soát và lưu số liệu"), "{run_page}");
        // The lists to work, each a download of the run's filtered exceptions.
        let repay = format!("/runs/{run_id}/exceptions.xlsx?outcome=failed%2Creturned%2Cunpaid");
        assert!(run_page.contains(&format!("<a href=\"{repay}\" download>")), "{run_page}");
        let by_commune = format!("{repay}&#38;commune=X%C3%A3%20T%C3%A2n%20L%E1%BA%ADp");
        assert!(run_page.contains(&by_commune), "per commune: {run_page}");
        // A commune's list holds its people only (as the CSV of the same filter counts).
        let csv = b
            .get(&by_commune.replace("&#38;", "&").replace(".xlsx", ".csv"))
            .await;
        csv.expect_status(StatusCode::OK, "a commune's list");
        let listed = String::from_utf8_lossy(&csv.body).lines().count() - 1;
        assert!(
            run_page.contains(&format!("{by_commune}\" download>{listed}</a>")),
            "{listed} people: {run_page}"
        );
        let x = b.get(&repay).await;
        x.expect_status(StatusCode::OK, "the re-payment list");
        assert!(x.body.starts_with(b"PK"));
        let again = b.get(&format!("/runs/{run_id}")).await.text();
        assert!(!again.contains("Đã chạy đối soát và lưu số liệu"), "said once");
        // The cashless rate shows its base (account holders) and the share of everyone.
        let n = |k: &str| api[k].as_u64().expect("a count");
        let (paid, holders, all) = (n("paid_cashless"), n("with_account"), n("beneficiaries"));
        let base = format!(
            "<span data-figure=\"paid_cashless\">{}</span> / {} người có tài khoản",
            money::format_thousands(i128::from(paid)),
            money::format_thousands(i128::from(holders))
        );
        assert!(run_page.contains(&base), "{base} on the run page");
        let share = money::percent(paid, all).map(money::format_pct);
        let share = format!("{} tổng số đối tượng", share.expect("beneficiaries"));
        assert!(run_page.contains(&share), "{share} on the run page");
        // The amount due, split: cashless + cash = total, each as the API gives it.
        let amount = |k: &str| -> rust_decimal::Decimal {
            api[k]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an amount")
        };
        let (cashless, cash) = (amount("amount_due_cashless"), amount("amount_due_cash"));
        assert_eq!(cashless + cash, amount("amount_due"));
        for (k, v) in [("amount_due_cashless", cashless), ("amount_due_cash", cash)] {
            let shown = format!("data-figure=\"{k}\">{}<", money::format_vnd(v));
            assert!(run_page.contains(&shown), "{shown} on the run page");
        }
        // Several outcomes ticked (the form repeats the key), and the view's own download.
        let view = b
            .get(&format!("/runs/{run_id}?outcome=unpaid&outcome=failed#exceptions"))
            .await
            .text();
        // Each row of the exceptions table, from its outcome on; and just the outcomes.
        let table_rows = |html: &str| -> Vec<String> {
            html.split("<table id=\"exceptions\"")
                .nth(1)
                .and_then(|s| s.split("</table>").next())
                .unwrap_or("")
                .split("<tr data-outcome=\"")
                .skip(1)
                .map(str::to_owned)
                .collect()
        };
        let table = |html: &str| -> Vec<String> {
            table_rows(html)
                .iter()
                .filter_map(|s| s.split('"').next().map(str::to_owned))
                .collect()
        };
        let shown = table(&view);
        assert!(!shown.is_empty(), "{view}");
        assert!(shown.iter().all(|k| k == "unpaid" || k == "failed"), "{shown:?}");
        assert!(view.contains("value=\"unpaid\" checked"));
        let link = format!("/runs/{run_id}/exceptions.csv?outcome=unpaid%2Cfailed");
        assert!(view.contains(&format!("href=\"{link}\"")), "{view}");
        let csv = b.get(&link).await;
        csv.expect_status(StatusCode::OK, "the filtered CSV");
        assert_eq!(
            String::from_utf8_lossy(&csv.body).lines().count(),
            shown.len() + 1
        );
        // Everything but the people paid in cash; the page size kept across pages.
        let no_cash = b
            .get(&format!("/runs/{run_id}?exclude=no_account&per_page=100"))
            .await
            .text();
        let shown = table(&no_cash);
        assert!(!shown.is_empty() && !shown.contains(&"no_account".to_owned()));
        // The unpaid are owed their amount; the people paid in cash are owed nothing here.
        let cash = b
            .get(&format!("/runs/{run_id}?outcome=no_account,unpaid"))
            .await
            .text();
        let row_of = |kind: &str| -> String {
            cash.split(&format!("<tr data-outcome=\"{kind}\">"))
                .nth(1)
                .and_then(|s| s.split("</tr>").next())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(!row_of("no_account").is_empty() && !row_of("no_account").contains("thiếu"));
        assert!(row_of("unpaid").contains("thiếu "), "{}", row_of("unpaid"));
        assert!(no_cash.contains("id=\"exclude-cash\" name=\"exclude\" value=\"no_account\" checked"));
        assert!(no_cash.contains("<option value=\"100\" selected>"));
        // Column heads sort: each links to the list sorted by it, keeping the filters and
        // the page size; the column sorted now says so (arrow, aria-sort) and links to the
        // other direction; the pages, the page-size form and the downloads keep the sort.
        let due_asc = format!("/runs/{run_id}?exclude=no_account&#38;sort=due&#38;per_page=100#exceptions");
        assert!(no_cash.contains(&format!("href=\"{due_asc}\"")), "{no_cash}");
        assert!(!no_cash.contains("aria-sort"), "the run's order: no column sorted");
        let sorted = b
            .get(&format!("/runs/{run_id}?exclude=no_account&per_page=100&sort=due"))
            .await
            .text();
        let due_desc = format!(
            "/runs/{run_id}?exclude=no_account&#38;sort=due&#38;dir=desc&#38;per_page=100#exceptions"
        );
        assert!(sorted.contains(&format!("aria-sort=\"ascending\"><a class=\"sort\" href=\"{due_desc}\">Phải chi <span aria-hidden=\"true\">▲</span>")), "{sorted}");
        assert_eq!(sorted.matches("aria-sort").count(), 1);
        assert!(sorted.contains(&format!("/runs/{run_id}/exceptions.csv?exclude=no_account&#38;sort=due\"")), "{sorted}");
        assert!(sorted.contains("<input type=\"hidden\" name=\"sort\" value=\"due\">"));
        let desc = b
            .get(&format!("/runs/{run_id}?exclude=no_account&per_page=100&sort=due&dir=desc"))
            .await
            .text();
        assert!(desc.contains("aria-sort=\"descending\""));
        let amounts = |html: &str| -> Vec<String> {
            table_rows(html)
                .iter()
                .map(|r| r.split("<td class=\"num\">").nth(1).and_then(|c| c.split('<').next()).unwrap_or("").to_owned())
                .collect()
        };
        let (up, down) = (amounts(&sorted), amounts(&desc));
        assert_eq!(up.len(), table(&no_cash).len());
        let key = |a: &String| a.chars().filter(char::is_ascii_digit).collect::<String>().parse::<u64>().ok();
        let up_keys: Vec<Option<u64>> = up.iter().map(key).collect();
        let valued: Vec<u64> = up_keys.iter().map_while(|k| *k).collect();
        assert!(valued.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
        assert!(up_keys[valued.len()..].iter().all(Option::is_none), "no amount due last: {up:?}");
        let down_valued: Vec<u64> = down.iter().map(key).map_while(|k| k).collect();
        assert!(down_valued.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
        // The value date column: the bank's dd/mm/yyyy.
        assert!(no_cash.contains("<td class=\"value-date\">23/09/2024</td>"), "{no_cash}");
        // Sorting is bounded: a column that is none is the run's order.
        let odd = b
            .get(&format!("/runs/{run_id}?exclude=no_account&per_page=100&sort=row_json&dir=up"))
            .await;
        odd.expect_status(StatusCode::OK, "an unknown sort");
        assert_eq!(table(&odd.text()), table(&no_cash));
        let x = b.get(&format!("/runs/{run_id}/report.xlsx")).await;
        x.expect_status(StatusCode::OK, "xlsx");
        assert!(x.body.starts_with(b"PK"), "an xlsx (zip) file");
        // Its digest is on the run page from now on, for a filed copy to be checked against.
        let digest = doisoat::domain::sha256_hex(&x.body);
        assert!(!run_page.contains(&digest));
        let run_page = b.get(&run_path).await.text();
        assert!(
            run_page.contains(&digest),
            "the workbook's SHA-256 on the run page"
        );
        assert!(run_page.contains("Số liệu đã lưu của lần đối soát"));
        let api_x = app
            .download(&app.tokens.accountant, run_id, "report.csv")
            .await;
        assert_eq!(
            b.get(&format!("/runs/{run_id}/report.csv")).await.body,
            api_x.body
        );

        b.get(&format!("/lang/en?next={path}")).await;
        let en = b.get(&path).await.text();
        assert!(en.contains("<html lang=\"en\">") && en.contains("Run reconciliation"));
        let r = b.get("/lang/en?next=https://evil.example").await;
        assert_eq!(location(&r), "/periods", "no open redirect");
    })
    .await;
}

/// Issue 9: no open redirect whatever `next` holds; dashboard paging works and a bad query
/// value gets the site's error page; the upload form checks role and CSRF before reading any
/// file, names a too-large file as such, and takes one list file per submit.
#[tokio::test]
async fn redirects_paging_and_upload_form_checks() {
    for_each_backend_with(&[("DOISOAT_MAX_UPLOAD_MB", "1")], |app| async move {
        let mut anon = Browser::new(&app);
        for next in [
            "/%09/evil.example",
            "/%0d%0aSet-Cookie:%20x=1",
            "/%5Cevil.example",
            "/%5C%5Cevil.example",
            "//evil.example",
            "/%2F/evil.example",
            "https://evil.example",
            "/%20/evil.example",
            "/periods%0a",
        ] {
            let r = anon.get(&format!("/lang/en?next={next}")).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}");
            assert_eq!(location(&r), "/periods", "{next}");
        }
        let r = anon.get("/lang/vi?next=/periods/3?page=2").await;
        assert_eq!(location(&r), "/periods/3?page=2", "a real path is kept");

        let id = period_with_list(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let page1 = b.get(&format!("/periods/{id}?per_page=2")).await;
        page1.expect_status(StatusCode::OK, "page 1");
        let page2 = b.get(&format!("/periods/{id}?page=2&per_page=2")).await;
        page2.expect_status(StatusCode::OK, "page 2");
        assert_ne!(page1.text(), page2.text(), "page 2 shows other rows");
        // The live list's heads do not sort: here `sort` and `dir` are the drill-down's.
        assert!(!page1.text().contains("<a class=\"sort\""), "{}", page1.text());
        let drill = b.get(&format!("/periods/{id}?per_page=2&sort=due&dir=desc")).await;
        drill.expect_status(StatusCode::OK, "the drill-down sorted by amount due");
        for bad in ["page=abc", "per_page=-1", "page=2.5"] {
            let r = b.get(&format!("/periods/{id}?{bad}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(
                r.content_type().starts_with("text/html") && r.text().contains("<html"),
                "{bad}: the site's error page, not plain text"
            );
        }
        let api = app
            .get(
                &app.tokens.accountant,
                "/api/v1/reconciliations/1/exceptions?page=abc",
            )
            .await;
        api.expect_problem(StatusCode::BAD_REQUEST, Some("bad-query"), "API bad query");

        // Upload form: a file part before the CSRF token is never read; an auditor is
        // refused before the body; an oversized file is named as too large.
        let page = b.get(&format!("/periods/{id}")).await.text();
        let csrf = csrf_of(&page);
        let list = read_file(&fixture_path("danh_sach_xa_tan_lap.xlsx"));
        let upload = |parts: Vec<support::Part<'_>>| multipart(&parts);
        let (ct, body) = upload(vec![support::Part::File {
            name: "files",
            file_name: "a.xlsx",
            bytes: &list,
        }]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/list"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "no token first: {}",
            r.text()
        );
        let big = vec![b'x'; 2 * 1024 * 1024];
        let (ct, body) = upload(vec![
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "big.csv",
                bytes: &big,
            },
        ]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/payouts"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.text().contains("quá lớn") || r.text().contains("too large"),
            "named as too large, not as a CSRF failure: {}",
            r.text()
        );
        let before = app.counts(id).await;
        let (ct, body) = upload(vec![
            support::Part::Text {
                name: "csrf",
                value: &csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "a.xlsx",
                bytes: &list,
            },
            support::Part::File {
                name: "files",
                file_name: "b.ods",
                bytes: &read_file(&fixture_path("danh_sach_xa_tan_lap.ods")),
            },
        ]);
        let r = b
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/list"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "two lists at once"
        );
        assert!(r.text().contains("một danh sách"), "says why: {}", r.text());
        assert_eq!(app.counts(id).await, before, "nothing stored");

        let mut auditor = Browser::new(&app);
        auditor.sign_in(&app.tokens.auditor).await;
        let a_page = auditor.get(&format!("/periods/{id}")).await.text();
        let a_csrf = csrf_of(&a_page);
        let (ct, body) = upload(vec![
            support::Part::Text {
                name: "csrf",
                value: &a_csrf,
            },
            support::Part::File {
                name: "files",
                file_name: "a.xlsx",
                bytes: &list,
            },
        ]);
        let r = auditor
            .request(
                Method::POST,
                &format!("/periods/{id}/uploads/list"),
                Some(&ct),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "auditor");

        // The current list is marked; an earlier version can be made current, and retired.
        let page = b.get(&format!("/periods/{id}")).await.text();
        assert_eq!(page.matches("data-current=\"true\"").count(), 1, "one current list");
        let short = b"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,S\xe1\xbb\x91 \xc4\x91\xe1\xbb\x8bnh danh,S\xe1\xbb\x91 ti\xe1\xbb\x81n\nNguy\xe1\xbb\x85n V\xc4\x83n An,025038000101,1500000\n";
        let (ct, body) = upload(vec![
            support::Part::Text { name: "csrf", value: &csrf },
            support::Part::File { name: "files", file_name: "ngan.csv", bytes: short },
        ]);
        let r = b
            .request(Method::POST, &format!("/periods/{id}/uploads/list"), Some(&ct), body)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let uploads = app.store.list_uploads(id).await.expect("uploads");
        let first = uploads.iter().find(|u| u.version == Some(1)).expect("v1");
        assert!(!first.current);
        let r = b
            .post_form(&format!("/uploads/{}/make-current", first.id), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let page = b.get(&location(&r)).await.text();
        assert!(page.contains(&format!("data-upload-id=\"{}\" data-kind=\"beneficiaries\" data-current=\"true\"", first.id)), "v1 marked current");
        let r = b
            .post_form(&format!("/uploads/{}/retire", first.id), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = b.get(&location(&r)).await.text();
        assert!(page.contains("Đã loại bỏ"), "shown as retired");
        let r = b
            .post_form(&format!("/uploads/{}/retire", first.id), &[("csrf", "forged")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "CSRF");
    })
    .await;
}

/// A province drills down to its wards; a ward sees its own unit and nothing of another's.
#[tokio::test]
async fn a_province_drills_down_and_a_ward_sees_only_its_own() {
    for_each_backend(|app| async move {
        use doisoat::domain::access::Role;
        let s = app.store.as_ref();
        let province = support::make_token_in(s, "tinh", Role::Accountant, None, "01").await;
        let ward = support::make_token_in(s, "phuong", Role::Accountant, None, "00004").await;
        let other = support::make_token_in(s, "phuong-khac", Role::Accountant, None, "00008").await;
        let p = app
            .create_period(&app.tokens.accountant, &json!({"code": "2025-09", "target_pct": 80}))
            .await;
        let p = p.json()["id"].as_i64().expect("period");
        let list = |rows: &str| {
            format!("population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n{rows}")
        };
        let upload = |token: String, name: &'static str, bytes: String, slot: &'static str| {
            let app = &app;
            async move {
                let path = format!("/api/v1/periods/{p}/{slot}");
                let r = app
                    .upload_bytes(&token, &path, name, bytes.as_bytes(), None)
                    .await;
                r.expect_status(StatusCode::CREATED, name);
                r.json()["id"].as_i64().expect("upload id")
            }
        };
        upload(ward.clone(), "ds_ba_dinh.csv", list("001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,NCT,1500000,1001,Agribank\n001090000003,LE VAN CUONG,1990,Ba Đình,NCT,1000000,,\n"), "beneficiary-lists").await;
        let other_list = upload(other.clone(), "ds_ngoc_ha.csv", list("001090000004,PHAM VAN DUNG,1990,Ngọc Hà,NCT,2000000,2001,Agribank\n"), "beneficiary-lists").await;
        upload(province.clone(), "kq_01.csv", "transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank\nFT1,001090000001,1001,NGUYEN VAN AN,1500000,success,2025-09-20,Agribank\nFT3,001090000004,2001,PHAM VAN DUNG,2000000,success,2025-09-20,Agribank\n".to_owned(), "payout-files").await;
        let run = app
            .post_json(&other, &format!("/api/v1/periods/{p}/reconciliations"), &json!({}))
            .await;
        let other_run = run.json()["id"].as_i64().expect("run");

        // The province: its wards against the target, sortable, each a link down.
        let mut b = Browser::new(&app);
        b.sign_in(&province).await;
        let page = b.get(&format!("/periods/{p}")).await;
        page.expect_status(StatusCode::OK, "the province's page");
        let html = page.text();
        assert!(html.contains("id=\"unit-table\""), "the drill-down table");
        let at = |code: &str| html.find(&format!("<tr data-unit=\"{code}\"")).unwrap_or(usize::MAX);
        assert!(at("00004") < at("00008"), "by code at first");
        assert!(html.contains(&format!("href=\"/periods/{p}?unit=00004\"")));
        assert!(html.contains("svg id=\"unit-chart\""));
        let sorted = b.get(&format!("/periods/{p}?unit=01&sort=account&dir=desc")).await.text();
        let at = |code: &str| sorted.find(&format!("<tr data-unit=\"{code}\"")).unwrap_or(usize::MAX);
        assert!(at("00008") < at("00004"), "100% before 50% when sorted by accounts, highest first");
        assert!(sorted.contains("aria-sort=\"descending\""));
        let down = b.get(&format!("/periods/{p}?unit=00004")).await.text();
        assert!(down.contains("id=\"unit-shown\" data-unit=\"00004\""), "Ba Đình shown");
        assert!(down.contains(&format!("href=\"/periods/{p}?unit=01\"")), "the way back up");
        assert!(down.contains("LE VAN CUONG"), "Ba Đình's exceptions");

        // A ward: its own unit, only its uploads and runs; the other ward's are not found.
        let mut w = Browser::new(&app);
        w.sign_in(&ward).await;
        let html = w.get(&format!("/periods/{p}")).await.text();
        assert!(html.contains("id=\"unit-shown\" data-unit=\"00004\""));
        assert!(html.contains("ds_ba_dinh.csv") && !html.contains("ds_ngoc_ha.csv"));
        assert!(!html.contains(&format!("data-run-id=\"{other_run}\"")));
        assert!(!html.contains("value=\"00008\""), "no other ward to upload for");
        for path in [
            format!("/periods/{p}?unit=00008"),
            format!("/periods/{p}?unit=01"),
            format!("/runs/{other_run}"),
            format!("/runs/{other_run}/report.xlsx"),
        ] {
            w.get(&path).await.expect_status(StatusCode::NOT_FOUND, &path);
        }
        let csrf = csrf_of(&html);
        let r = w.post_form(&format!("/uploads/{other_list}/retire"), &[("csrf", &csrf)]).await;
        r.expect_status(StatusCode::FORBIDDEN, "another ward's upload");
        let (ct, body) = multipart(&[
            support::Part::Text { name: "csrf", value: &csrf },
            support::Part::Text { name: "unit", value: "00008" },
            support::Part::File { name: "files", file_name: "x.csv", bytes: b"a,b\n1,2\n" },
        ]);
        let r = w.request(Method::POST, &format!("/periods/{p}/uploads/list"), Some(&ct), body).await;
        r.expect_status(StatusCode::FORBIDDEN, "an upload for another ward");
        let r = w.post_form(&format!("/periods/{p}/runs"), &[("csrf", &csrf), ("unit", "00008")]).await;
        r.expect_status(StatusCode::NOT_FOUND, "a run of another ward");
        // Its own run, from its page.
        let r = w.post_form(&format!("/periods/{p}/runs"), &[("csrf", &csrf), ("unit", "00004")]).await;
        r.expect_status(StatusCode::SEE_OTHER, "its own run");
        let run_page = w.get(&location(&r)).await.text();
        assert!(run_page.contains("id=\"run-unit\" data-unit=\"00004\""));
        assert_eq!(app.store.list_uploads(p).await.map(|u| u.len()).ok(), Some(3));
    })
    .await;
}

/// People are named as the office knows them: a token's display name where it has one,
/// else its name, never `accountant:ke-toan`.
#[tokio::test]
async fn people_are_named_by_their_display_names() {
    for_each_backend(|app| async move {
        let issued = doisoat::service::tokens::issue_token(
            app.store.as_ref(),
            doisoat::service::tokens::TokenRequest {
                name: "ke-toan-hoa".into(),
                role: "accountant".into(),
                bank: None,
                unit: None,
                display_name: Some(" Nguyễn Thị Hoa ".into()),
            },
            "test-harness",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(issued.info.display_name.as_deref(), Some("Nguyễn Thị Hoa"));
        let p = app
            .create_period(&issued.secret, &json!({"code": "2024-09"}))
            .await;
        p.expect_status(StatusCode::CREATED, "create period");
        let id = p.json()["id"].as_i64().expect("period id");
        app.upload_list(
            &issued.secret,
            id,
            &fixture_path("danh_sach_xa_tan_lap.xlsx"),
        )
        .await
        .expect_status(StatusCode::CREATED, "list");
        app.upload_payouts(
            &app.tokens.accountant,
            id,
            &fixture_path("ket_qua_agribank.xlsx"),
            Some("Agribank"),
        )
        .await
        .expect_status(StatusCode::CREATED, "payouts");

        let mut b = Browser::new(&app);
        b.sign_in(&issued.secret).await;
        let html = b.get(&format!("/periods/{id}")).await.text();
        assert!(html.contains("<strong>Nguyễn Thị Hoa</strong>"), "{html}");
        assert!(
            html.contains("<td>Nguyễn Thị Hoa</td>"),
            "uploaded by: {html}"
        );
        assert!(
            html.contains("<td>test-accountant</td>"),
            "no display name: {html}"
        );
        assert!(!html.contains("accountant:"), "{html}");
        // A display name too long is refused.
        let long = doisoat::service::tokens::issue_token(
            app.store.as_ref(),
            doisoat::service::tokens::TokenRequest {
                name: "x".into(),
                role: "accountant".into(),
                bank: None,
                unit: None,
                display_name: Some("a".repeat(101)),
            },
            "test-harness",
        )
        .await;
        assert!(long.is_err());
    })
    .await;
}

/// The period page shows what each bank has sent by callback: how many, how they ended,
/// when the last arrived.
#[tokio::test]
async fn the_period_page_shows_what_banks_sent_by_callback() {
    for_each_backend(|app| async move {
        let id = period_with_list(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let html = b.get(&format!("/periods/{id}")).await.text();
        assert!(html.contains("id=\"callbacks-none\""), "{html}");
        let item = |tref: &str, status: &str| {
            json!({
                "transaction_ref": tref, "period": "2024-09",
                "population_id": "025142000102", "account_number": "4200205123457",
                "amount": "1500000", "currency": "VND", "status": status,
                "value_date": "2024-09-20",
            })
        };
        let body = json!([item("CB-1", "success"), item("CB-2", "failed")]).to_string();
        let t = &app.tokens;
        app.post_callback(&t.bank, &t.bank_secret, &body, 0)
            .await
            .expect_status(StatusCode::OK, "callbacks");
        let html = b.get(&format!("/periods/{id}")).await.text();
        let table = html
            .split("<table id=\"callbacks\"")
            .nth(1)
            .and_then(|s| s.split("</table>").next())
            .unwrap_or_else(|| panic!("no callbacks table: {html}"));
        assert!(
            table.contains("<td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td>"),
            "{table}"
        );
        // A new state of a payout already counted: the table is counted again (it is
        // kept between loads only while no callback changes).
        let body = json!([item("CB-1", "returned")]).to_string();
        app.post_callback(&t.bank, &t.bank_secret, &body, 0)
            .await
            .expect_status(StatusCode::OK, "new state");
        let html = b.get(&format!("/periods/{id}")).await.text();
        assert!(
            html.contains("<td class=\"num\">2</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">1</td>"),
            "{html}"
        );
    })
    .await;
}

/// Two runs of a period side by side: the figures that changed, and the inputs that made
/// them change (API and page).
#[tokio::test]
async fn two_runs_are_compared_with_the_inputs_that_changed() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let id = period_with_list(&app).await;
        let first = app.reconcile(&t, id).await.json()["id"].as_i64().expect("run");
        app.upload_payouts(&t, id, &fixture_path("ket_qua_agribank.xlsx"), Some("Agribank"))
            .await
            .expect_status(StatusCode::CREATED, "payouts");
        let second = app.reconcile(&t, id).await.json()["id"].as_i64().expect("run");

        let c = app
            .get(&t, &format!("/api/v1/reconciliations/{second}/compare/{first}"))
            .await;
        c.expect_status(StatusCode::OK, "compare");
        let c = c.json();
        assert_eq!(c["a"]["id"], first, "the earlier run first");
        let figure = |key: &str| {
            c["figures"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| f["key"] == key)
                .cloned()
                .unwrap_or_else(|| panic!("{key} in {c}"))
        };
        assert_eq!(figure("beneficiaries")["change"], "0");
        assert_eq!(figure("amount_paid")["a"], "0");
        assert_ne!(figure("amount_paid")["change"], "0");
        let changes: Vec<(String, String)> = c["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["name"].as_str().unwrap_or("").to_owned(),
                    i["change"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert!(changes.contains(&("danh_sach_xa_tan_lap.xlsx".into(), "kept".into())));
        assert!(changes.contains(&("ket_qua_agribank.xlsx".into(), "added".into())));

        let mut b = Browser::new(&app);
        b.sign_in(&t).await;
        let run_page = b.get(&format!("/runs/{second}")).await.text();
        assert!(run_page.contains(&format!("<option value=\"{first}\">#{first}</option>")));
        let page = b.get(&format!("/runs/{second}/compare?with={first}")).await;
        page.expect_status(StatusCode::OK, "compare page");
        let html = page.text();
        assert!(html.contains("<tr data-change=\"added\"><td>Kết quả chi</td><td>ket_qua_agribank.xlsx</td><td>Thêm ở lần sau</td>"), "{html}");
        assert!(html.contains("<tr class=\"changed\"><th scope=\"row\">Đã chi qua tài khoản</th>"), "{html}");

        // Runs of two periods are not compared.
        let other = app
            .create_period(&t, &json!({"code": "2024-10"}))
            .await
            .json()["id"]
            .as_i64()
            .expect("period");
        // (Its title names September: confirmed as this period's list.)
        app.upload_form(
            &t,
            &format!("/api/v1/periods/{other}/beneficiary-lists"),
            "danh_sach_xa_tan_lap.xlsx",
            &read_file(&fixture_path("danh_sach_xa_tan_lap.xlsx")),
            &[("confirm", "true")],
        )
        .await
        .expect_status(StatusCode::CREATED, "a list of the other period");
        let elsewhere = app.reconcile(&t, other).await.json()["id"]
            .as_i64()
            .expect("run");
        let r = app
            .get(&t, &format!("/api/v1/reconciliations/{elsewhere}/compare/{first}"))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn each_rate_is_shown_against_its_own_target() {
    for_each_backend(|app| async move {
        let t = app.tokens.admin.clone();
        let mut b = Browser::new(&app);
        b.sign_in(&t).await;
        // The page's form: each rate its own target, in Vietnamese notation.
        let csrf = csrf_of(&b.get("/periods").await.text());
        let made = b
            .post_form(
                "/periods",
                &[
                    ("csrf", &csrf),
                    ("code", "2024-09"),
                    ("programme", "TCXH"),
                    ("account_coverage_target_pct", "90"),
                    ("cashless_rate_target_pct", "95,5"),
                    ("target_pct", ""),
                ],
            )
            .await;
        made.expect_status(StatusCode::SEE_OTHER, "period made");
        let id: i64 = location(&made)
            .trim_start_matches("/periods/")
            .parse()
            .expect("period id");
        let listed = b.get("/periods").await.text();
        assert!(
            listed.contains("Mở TK 90,00% · Chi qua TK 95,50%"),
            "{listed}"
        );
        for (is_list, file, bank) in [
            (true, "danh_sach_xa_tan_lap.xlsx", None),
            (false, "ket_qua_agribank.xlsx", Some("Agribank")),
            (false, "ket_qua_ngan_hang.csv", None),
        ] {
            let path = fixture_path(file);
            let r = if is_list {
                app.upload_list(&t, id, &path).await
            } else {
                app.upload_payouts(&t, id, &path, bank).await
            };
            r.expect_status(StatusCode::CREATED, file);
        }
        let run = app.reconcile(&t, id).await.json()["id"]
            .as_i64()
            .expect("run");
        let html = b.get(&format!("/runs/{run}")).await.text();
        // The run's 10 of 11 with an account against 90%; 7 of those 10 paid without cash
        // against 95,5%.
        assert!(
            html.contains("Chỉ tiêu 90,00%: đạt 90,91%, vượt 0,91 điểm phần trăm so với chỉ tiêu"),
            "{html}"
        );
        assert!(
            html.contains(
                "Chỉ tiêu 95,50%: chưa đạt: 70,00%, thiếu 25,50 điểm phần trăm so với chỉ tiêu"
            ),
            "{html}"
        );
        let live = b.get(&format!("/periods/{id}")).await.text();
        assert!(
            live.contains("class=\"target target-account\""),
            "two lines on the chart"
        );
        assert!(live.contains("class=\"target target-cashless\""));
    })
    .await;
}

/// The run page's approval section as each role sees it: the accountant submits, the
/// approver approves (not the submitter, who is told why), the closed period shows its
/// note instead of the upload forms, the approver reopens it with a reason; in both
/// languages.
#[tokio::test]
async fn the_approval_section_walks_submit_approve_and_reopen() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        let run_path = format!("/runs/{}", s.run);

        let mut accountant = Browser::new(&app);
        accountant.sign_in(&app.tokens.accountant).await;
        let page = accountant.get(&run_path).await.text();
        assert!(page.contains("data-state=\"draft\""), "a draft");
        assert!(page.contains("id=\"submit-form\"") && !page.contains("id=\"approve-form\""));
        let csrf = csrf_of(&page);
        let r = accountant
            .post_form(
                &format!("{run_path}/submit"),
                &[("csrf", &csrf), ("reason", "Số liệu tháng 9")],
            )
            .await;
        r.expect_status(StatusCode::SEE_OTHER, "submit from the page");
        assert_eq!(location(&r), format!("{run_path}?done=submit#approval"));
        let page = accountant
            .get(&format!("{run_path}?done=submit"))
            .await
            .text();
        assert!(page.contains("Đã trình duyệt") && page.contains("data-state=\"submitted\""));
        assert!(page.contains("Số liệu tháng 9"), "the note in the steps");
        assert!(!page.contains("id=\"submit-form\""), "no second submission");
        // Without the CSRF token nothing happens.
        accountant
            .post_form(&format!("{run_path}/approve"), &[("reason", "")])
            .await
            .expect_status(StatusCode::FORBIDDEN, "a post without CSRF");

        let mut approver = Browser::new(&app);
        approver.lang = Some("en");
        approver.sign_in(&app.tokens.approver).await;
        let page = approver.get(&run_path).await.text();
        assert!(
            page.contains("Awaiting approval") && page.contains("id=\"approve-form\""),
            "English, with the approve form"
        );
        let csrf = csrf_of(&page);
        approver
            .post_form(&format!("{run_path}/approve"), &[("csrf", &csrf)])
            .await
            .expect_status(StatusCode::SEE_OTHER, "approve from the page");
        let page = approver.get(&run_path).await.text();
        assert!(page.contains("data-state=\"approved\"") && page.contains("id=\"run-closed\""));
        assert!(page.contains("id=\"reopen-form\""));
        let period = approver.get(&format!("/periods/{}", s.period)).await.text();
        assert!(period.contains("id=\"period-closed\""), "the closed note");
        let mut accountant_period = accountant
            .get(&format!("/periods/{}", s.period))
            .await
            .text();
        assert!(
            !accountant_period.contains("id=\"upload-list\""),
            "no upload form once closed"
        );
        // A reopen without a reason is refused with the reason named; with one it opens.
        let r = approver
            .post_form(
                &format!("/periods/{}/reopen", s.period),
                &[("csrf", &csrf), ("unit", "VN"), ("reason", " ")],
            )
            .await;
        r.expect_status(StatusCode::BAD_REQUEST, "reopen without a reason");
        assert!(r.text().contains("reason"), "the page says what is missing");
        let r = approver
            .post_form(
                &format!("/periods/{}/reopen", s.period),
                &[("csrf", &csrf), ("unit", "VN"), ("reason", "Bổ sung")],
            )
            .await;
        r.expect_status(StatusCode::SEE_OTHER, "reopen");
        assert_eq!(location(&r), format!("{run_path}?done=reopen#approval"));
        accountant_period = accountant
            .get(&format!("/periods/{}", s.period))
            .await
            .text();
        assert!(
            accountant_period.contains("id=\"upload-list\""),
            "the upload form is back"
        );

        // The submitter, were it an approver too, is told why it cannot decide.
        let mut admin = Browser::new(&app);
        admin.sign_in(&app.tokens.admin).await;
        let r = app.reconcile(&app.tokens.admin, s.period).await;
        let second = r.json()["id"].as_i64().unwrap();
        let page = admin.get(&format!("/runs/{second}")).await.text();
        let csrf = csrf_of(&page);
        admin
            .post_form(&format!("/runs/{second}/submit"), &[("csrf", &csrf)])
            .await
            .expect_status(StatusCode::SEE_OTHER, "the admin submits");
        let page = admin.get(&format!("/runs/{second}")).await.text();
        assert!(page.contains("id=\"own-submission\"") && !page.contains("id=\"approve-form\""));
        admin
            .post_form(&format!("/runs/{second}/approve"), &[("csrf", &csrf)])
            .await
            .expect_status(StatusCode::FORBIDDEN, "self-approval from the page");
    })
    .await;
}

#[tokio::test]
async fn the_period_page_compares_with_the_previous_period() {
    for_each_backend(|app| async move {
        let (august, september) = crate::comparison::two_months(&app).await;
        let mut acc = Browser::new(&app);
        acc.sign_in(&app.tokens.accountant).await;
        let page = acc.get(&format!("/periods/{september}")).await;
        page.expect_status(StatusCode::OK, "September's page");
        let html = page.text();
        assert!(html.contains("id=\"comparison\""), "the section");
        assert!(
            html.contains(&format!(
                "Kỳ trước: <a href=\"/periods/{august}?unit=VN\">Tháng 8 năm 2024</a>"
            )),
            "the previous period named"
        );
        for (change, n) in [
            ("added", 2),
            ("removed", 1),
            ("amount_changed", 1),
            ("account_changed", 2),
        ] {
            let row = html
                .split(&format!("<tr data-change=\"{change}\">"))
                .nth(1)
                .and_then(|r| r.split("</tr>").next())
                .unwrap_or_default();
            assert!(
                row.contains(&format!("<td class=\"num\">{n}</td>")),
                "{change}: {row}"
            );
        }
        // The first rows, whole for an accountant, with before and after.
        assert!(html.contains("<code>001090000003</code>"));
        assert!(html.contains("1.000.000 ₫ · Agribank 1005"));
        assert!(html.contains("1.000.000 ₫ · Agribank 2005"));
        assert!(html.contains(&format!(
            "href=\"/periods/{september}/comparison.csv?unit=VN\""
        )));

        // An auditor sees IDs and accounts masked.
        let mut aud = Browser::new(&app);
        aud.sign_in(&app.tokens.auditor).await;
        let html = aud.get(&format!("/periods/{september}")).await.text();
        assert!(html.contains("<code>********0003</code>"));
        assert!(!html.contains("001090000003"));
        // (Accounts are masked the same way: these four-digit ones keep all four.)

        // In English.
        let mut en = Browser::new(&app);
        en.lang = Some("en");
        en.sign_in(&app.tokens.accountant).await;
        let html = en.get(&format!("/periods/{september}")).await.text();
        assert!(html.contains("Compared with the previous period"));
        assert!(html.contains("Previous period: <a"));
        assert!(html.contains("August 2024"));

        // Everything as CSV, whole even for an auditor (downloads stay whole).
        let csv = aud
            .get(&format!("/periods/{september}/comparison.csv"))
            .await;
        csv.expect_status(StatusCode::OK, "the CSV");
        assert!(csv.content_type().starts_with("text/csv"));
        let text = csv.text();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[0].contains("Số định danh"));
        assert!(lines[3].starts_with("Không còn tên,001090000002,TRAN THI BINH,00004,"));
        assert!(lines[5].ends_with(",1000000,1005,Agribank,1000000,2005,Agribank"));
        let one = aud
            .get(&format!(
                "/periods/{september}/comparison.csv?change=added&unit=00004"
            ))
            .await
            .text();
        assert_eq!(one.lines().count(), 2, "{one}");
        aud.get(&format!("/periods/{september}/comparison.csv?change=x"))
            .await
            .expect_status(StatusCode::BAD_REQUEST, "no such change");

        // The first month: nothing before it.
        let html = acc.get(&format!("/periods/{}", august - 1)).await.text();
        assert!(html.contains("id=\"comparison-none\""), "July");
    })
    .await;
}

/// The run page shows each exception's resolution state; an accountant records one with
/// the row's small form (CSRF-checked), an auditor sees the state and no form.
#[tokio::test]
async fn run_page_resolves_exceptions() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        let items = app
            .get(
                &app.tokens.auditor,
                &format!("/api/v1/reconciliations/{}/exceptions", s.run),
            )
            .await
            .json();
        let key = items["items"][0]["key"].as_str().expect("a key").to_owned();
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let page = b.get(&format!("/runs/{}", s.run)).await;
        page.expect_status(StatusCode::OK, "run page");
        let html = page.text();
        assert!(html.contains(&format!("action=\"/runs/{}/resolutions\"", s.run)));
        assert!(html.contains("Chưa xử lý"), "open, in words");
        let csrf = csrf_of(&html);
        let path = format!("/runs/{}/resolutions", s.run);
        let forged = b
            .post_form(
                &path,
                &[
                    ("csrf", "forged"),
                    ("key", &key),
                    ("action", "note"),
                    ("note", "x"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "a forged CSRF token");
        let r = b
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("key", &key),
                    ("action", "note"),
                    ("state", "in_progress"),
                    ("note", "Đang gọi xã"),
                    ("beneficiary", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(
            location(&r),
            format!("/runs/{}?resolved=1#exceptions", s.run)
        );
        let html = b.get(&location(&r)).await.text();
        assert!(
            html.contains("Đang xử lý: Đang gọi xã"),
            "the state and the note"
        );
        let bad = b
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("key", &key),
                    ("action", "note"),
                    ("state", "closed"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        let mut a = Browser::new(&app);
        a.sign_in(&app.tokens.auditor).await;
        let html = a.get(&format!("/runs/{}", s.run)).await.text();
        assert!(html.contains("Đang xử lý"), "the auditor sees the state");
        assert!(!html.contains(&format!("action=\"/runs/{}/resolutions\"", s.run)));
        let csrf = csrf_of(&html);
        let r = a
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("key", &key),
                    ("action", "note"),
                    ("note", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "an auditor may not act");
    })
    .await;
}

/// The period page's arrears: the accountant carries an approved run of the month before
/// into the next period from its page; the page then shows the figures, the carry-over and
/// the people, in both languages; an auditor reads them without the form.
#[tokio::test]
async fn the_period_page_carries_an_approved_run_over() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        for (token, step) in [
            (&app.tokens.accountant, "submit"),
            (&app.tokens.approver, "approve"),
        ] {
            app.post_json(
                token,
                &format!("/api/v1/reconciliations/{}/{step}", s.run),
                &serde_json::json!({}),
            )
            .await
            .expect_status(StatusCode::OK, step);
        }
        let r = app
            .create_period(&app.tokens.admin, &serde_json::json!({"code": "2024-10"}))
            .await;
        r.expect_status(StatusCode::CREATED, "October");
        let october = r.json()["id"].as_i64().unwrap();
        let path = format!("/periods/{october}");

        let mut accountant = Browser::new(&app);
        accountant.sign_in(&app.tokens.accountant).await;
        let page = accountant.get(&path).await.text();
        assert!(page.contains("id=\"arrears-none\""), "nothing carried yet");
        assert!(page.contains("id=\"carry-over\""), "the form");
        assert!(
            page.contains(&format!("<option value=\"{}\"", s.run)),
            "the approved run offered"
        );
        let csrf = csrf_of(&page);
        let r = accountant
            .post_form(
                &format!("{path}/carry-over"),
                &[
                    ("csrf", &csrf),
                    ("unit", "VN"),
                    ("from_run", &s.run.to_string()),
                ],
            )
            .await;
        r.expect_status(StatusCode::SEE_OTHER, "carry over from the page");
        assert_eq!(location(&r), format!("{path}?unit=VN&done=carry#arrears"));
        let page = accountant
            .get(&format!("{path}?unit=VN&done=carry"))
            .await
            .text();
        assert!(
            page.contains("Đã chuyển truy lĩnh sang kỳ này"),
            "the confirmation"
        );
        assert!(page.contains("id=\"arrears-figures\"") && page.contains("id=\"carry-overs\""));
        assert!(
            page.contains("id=\"arrears-rows\"")
                && page.contains("Không có trong danh sách kỳ này")
        );
        assert!(
            !page.contains("id=\"carry-over\""),
            "carried once: nothing left to offer"
        );
        // Twice is refused with the reason on the page.
        let r = accountant
            .post_form(
                &format!("{path}/carry-over"),
                &[
                    ("csrf", &csrf),
                    ("unit", "VN"),
                    ("from_run", &s.run.to_string()),
                ],
            )
            .await;
        r.expect_status(StatusCode::BAD_REQUEST, "carried twice");
        assert!(
            r.text().contains("carried over into this period already"),
            "the page says why"
        );

        let mut auditor = Browser::new(&app);
        auditor.lang = Some("en");
        auditor.sign_in(&app.tokens.auditor).await;
        let page = auditor.get(&path).await.text();
        assert!(page.contains("Arrears carried over") && page.contains("Not on this period"));
        assert!(
            !page.contains("id=\"carry-over\""),
            "an auditor carries nothing"
        );
    })
    .await;
}

/// The period page writes a bank's payment orders: a form post behind the CSRF token (the
/// orders are stored and audited), the pain.001 file or the xlsx bảng kê downloaded; a bank
/// nobody on the list banks with is said on the page, the form still there; readers see
/// no form and may not post it.
#[tokio::test]
async fn the_period_page_writes_payment_orders() {
    for_each_backend(|app| async move {
        let id = period_with_list(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&app.tokens.accountant).await;
        let page = b.get(&format!("/periods/{id}")).await;
        page.expect_status(StatusCode::OK, "period page");
        let html = page.text();
        assert!(html.contains("id=\"payment-orders\""), "{html}");
        // Banks' own files are offered in the payout upload's file picker.
        assert!(html.contains(".xml,.sta"), "{html}");
        let csrf = csrf_of(&html);
        let path = format!("/periods/{id}/payment-orders");
        let fields = |csrf: &str, bank: &str, format: &str| -> Vec<(String, String)> {
            [
                ("csrf", csrf),
                ("bank", bank),
                ("debtor_account", "1234567890"),
                ("debtor_name", "Phòng VHXH xã Tân Lập"),
                ("format", format),
                ("execution_date", "2024-09-05"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
        };
        // Without the session's token: refused, nothing stored.
        let r = send(&mut b, &path, fields("forged", "VBA", "pain.001")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(audited(&app).await, 0);

        let r = send(&mut b, &path, fields(&csrf, "Agribank", "pain.001")).await;
        r.expect_status(StatusCode::OK, "orders");
        assert!(r.content_type().contains("xml"), "{}", r.content_type());
        let disposition = r
            .headers
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        let xml = r.text();
        assert!(xml.contains("pain.001.001.10"), "{xml}");
        assert!(
            xml.contains("<ReqdExctnDt><Dt>2024-09-05</Dt></ReqdExctnDt>"),
            "{xml}"
        );
        let orders = xml.matches("<CdtTrfTxInf>").count();
        assert!(orders > 0);
        assert!(xml.contains(&format!("<NbOfTxs>{orders}</NbOfTxs>")));
        assert!(xml.contains("<EndToEndId>DS-202409-"), "{xml}");
        assert_eq!(audited(&app).await, 1);

        // The same orders as the xlsx bảng kê: nothing new stored.
        let r = send(&mut b, &path, fields(&csrf, "VBA", "xlsx")).await;
        r.expect_status(StatusCode::OK, "xlsx");
        assert!(r.content_type().contains("spreadsheetml"));
        assert_eq!(audited(&app).await, 1);

        // A bank nobody on the list banks with: said on the page, with the form.
        let r = send(&mut b, &path, fields(&csrf, "TCB", "pain.001")).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let html = r.text();
        assert!(html.contains("Không lập được lệnh chi"), "{html}");
        assert!(html.contains("id=\"payment-orders\""));
        // An unknown bank and a bad date likewise.
        let r = send(
            &mut b,
            &path,
            fields(&csrf, "Ngân hàng Mặt Trăng", "pain.001"),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("Không nhận ra ngân hàng"));
        let mut bad_date = fields(&csrf, "VBA", "pain.001");
        bad_date[5].1 = "31/02/2024".into();
        let r = send(&mut b, &path, bad_date).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // A ward's accountant writes no orders for a unit outside its subtree.
        let ward = support::make_token_in(
            app.store.as_ref(),
            "phuong",
            doisoat::domain::access::Role::Accountant,
            None,
            "00004",
        )
        .await;
        let mut w = Browser::new(&app);
        w.sign_in(&ward).await;
        let csrf_w = csrf_of(&w.get(&format!("/periods/{id}")).await.text());
        let mut outside = fields(&csrf_w, "VBA", "pain.001");
        outside.push(("unit".into(), "VN".into()));
        let r = send(&mut w, &path, outside).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(audited(&app).await, 1);

        // An auditor sees no form and may not post one.
        let mut auditor = Browser::new(&app);
        auditor.sign_in(&app.tokens.auditor).await;
        let html = auditor.get(&format!("/periods/{id}")).await.text();
        assert!(!html.contains("id=\"payment-orders\""));
        let csrf = csrf_of(&html);
        let r = send(&mut auditor, &path, fields(&csrf, "VBA", "pain.001")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(audited(&app).await, 1);
    })
    .await;
}

async fn send(b: &mut Browser<'_>, path: &str, fields: Vec<(String, String)>) -> TestResponse {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post_form(path, &refs).await
}

/// How many times payment orders were stored, as the audit trail says.
async fn audited(app: &TestApp) -> usize {
    app.get(&app.tokens.auditor, "/api/v1/audit?limit=1000")
        .await
        .text()
        .matches("period.payment_orders")
        .count()
}
