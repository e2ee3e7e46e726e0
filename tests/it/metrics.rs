//! `GET /metrics`: the Prometheus text of what the service did, for admins on the service's
//! address (and without a token on `DOISOAT_METRICS_BIND`, through a real `doisoat serve`).

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::support::for_each_backend;
use crate::support::loadgen::{Client, Server, free_port};

/// The value of the first sample line starting with `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn admins_scrape_what_the_service_did() {
    for_each_backend(|app| async move {
        let scrape = || async {
            let r = app.get(&app.tokens.admin, "/metrics").await;
            r.expect_status(StatusCode::OK, "metrics");
            assert!(r.content_type().starts_with("application/openmetrics-text"));
            r.text()
        };
        // Counters are the process's: compare before and after.
        let before = scrape().await;
        let rows = |t: &str| sample(t, "doisoat_rows_ingested_total{kind=\"beneficiaries\"}").unwrap_or(0.0);
        let runs = |t: &str| sample(t, "doisoat_reconciliation_duration_seconds_count").unwrap_or(0.0);
        let acked = |t: &str| sample(t, "doisoat_callback_requests_total{outcome=\"acknowledged\"}").unwrap_or(0.0);
        let refused = |t: &str| sample(t, "doisoat_callback_requests_total{outcome=\"refused\"}").unwrap_or(0.0);
        let s = app.seed_sample("2024-09").await;
        app.get(&app.tokens.accountant, &format!("/api/v1/periods/{}/coverage", s.period))
            .await
            .expect_status(StatusCode::OK, "live figures");
        let item = |tref: &str| {
            json!({"transaction_ref": tref, "period": "2024-09", "account_number": "4200205123457",
                   "amount": 1500000, "currency": "VND", "status": "success", "value_date": "2024-09-20"})
            .to_string()
        };
        let t = &app.tokens;
        app.post_callback(&t.bank, &t.bank_secret, &item("M-1"), 0)
            .await
            .expect_status(StatusCode::OK, "a callback");
        app.post_callback(&t.bank, &t.bank_secret, &item("M-2"), 3600)
            .await
            .expect_status(StatusCode::UNAUTHORIZED, "a stale signature");
        let after = scrape().await;
        assert!(rows(&after) >= rows(&before) + 10.0, "the sample list's rows");
        assert!(runs(&after) >= runs(&before) + 1.0);
        assert!(acked(&after) >= acked(&before) + 1.0);
        assert!(refused(&after) >= refused(&before) + 1.0);
        for series in [
            "doisoat_http_requests_total{method=\"POST\",route=\"/api/v1/periods/{id}/beneficiary-lists\",status=\"201\"}",
            "doisoat_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/periods/{id}/coverage\"}",
            "doisoat_live_figures_refresh_duration_seconds_count",
            "doisoat_rows_ingested_total{kind=\"payouts\"}",
            "doisoat_db_pool_connections{pool=\"writer\",state=\"idle\"}",
            "doisoat_db_pool_connections{pool=\"reader\",state=\"in_use\"}",
        ] {
            assert!(sample(&after, series).is_some(), "{series} in\n{after}");
        }
        // Paths never label a series: only route patterns do.
        assert!(!after.contains(&format!("/api/v1/periods/{}/", s.period)));
        // Others may not read it.
        app.get(&app.tokens.accountant, "/metrics")
            .await
            .expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), "an accountant");
        app.send(axum::http::Method::GET, "/metrics", None, None, Vec::new())
            .await
            .expect_status(StatusCode::UNAUTHORIZED, "no token");
    })
    .await;
}

#[tokio::test]
async fn a_scraper_reads_the_metrics_listener_without_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("m.db").display());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_doisoat"));
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let server = Server::start_with(
        &bin,
        &url,
        &dir.path().join("serve.log"),
        Duration::from_secs(60),
        &[("DOISOAT_METRICS_BIND", &bind)],
    )
    .await;
    // A request on the service's address, then the scrape on the metrics address.
    let mut service = Client::new(server.port);
    let r = service
        .request("GET", "/healthz", &[], b"")
        .await
        .expect("healthz");
    assert_eq!(r.status, 200);
    let mut scraper = Client::new(port);
    let r = scraper
        .request("GET", "/metrics", &[], b"")
        .await
        .expect("metrics");
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    // The harness polled /healthz too until the server was ready.
    let healthz = sample(
        &text,
        "doisoat_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
    );
    assert!(healthz.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        text.contains("doisoat_db_pool_connections{pool=\"writer\""),
        "{text}"
    );
    // The service's own address still wants an admin token.
    let r = service
        .request("GET", "/metrics", &[], b"")
        .await
        .expect("metrics");
    assert_eq!(r.status, 401);
}
