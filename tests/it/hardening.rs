//! The running server under hostile clients (issue 9), as a real `doisoat serve` process:
//! tiny workbooks that ask readers for petabytes, sign-in posts of 50 MB, connections that
//! trickle their request head. The server must answer, stay up, and keep its peak memory
//! (VmHWM, read from the OS) under a bound. SQLite always; PostgreSQL when
//! TEST_DATABASE_URL is set.
//!   cargo test --test it hardening:: -- --nocapture

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{bombs, loadgen, pg};

use loadgen::{Client, Server, create_token};

/// Peak resident memory the server may reach through all of this. An idle server is
/// ~20-30 MiB; before the fixes a single bomb aborted it and 40 sign-ins reached 1.77 GB.
const MAX_PEAK_MIB: u64 = 128;
const BOUNDARY: &str = "hardening-boundary-5c1d";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_doisoat"))
}

fn multipart(file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn hostile_clients(database_url: String, dir: PathBuf) {
    let bin = bin();
    let log = dir.join("serve.log");
    let mut server = Server::start_with(
        &bin,
        &database_url,
        &log,
        Duration::from_secs(15),
        &[("DOISOAT_HEADER_TIMEOUT_SECS", "2")],
    )
    .await;
    let token = create_token(&bin, &database_url, "accountant", "ke-toan");
    let auth = format!("Bearer {token}");
    let mut http = Client::new(server.port);
    let json = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = http
        .request("POST", "/api/v1/periods", &json, br#"{"code":"2024-09"}"#)
        .await
        .expect("create period");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let period = r.json()["id"].as_i64().expect("period id");
    let baseline = server.peak_rss_mib();

    // 1. Tiny workbooks, both upload slots: a clear 422 each, the server stays up.
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let upload = [
        ("Authorization", auth.as_str()),
        ("Content-Type", content_type.as_str()),
    ];
    let cases: [(&str, Vec<u8>); 5] = [
        ("sst.xlsx", bombs::xlsx_shared_strings_lie()),
        ("corners.xlsx", bombs::xlsx_far_corners()),
        ("repeats.ods", bombs::ods_repeats()),
        ("dims.xls", bombs::xls_dimensions_lie()),
        ("corners.xls", bombs::xls_far_corners()),
    ];
    for (name, bytes) in &cases {
        assert!(
            bytes.len() < 16 * 1024,
            "{name} is tiny: {} bytes",
            bytes.len()
        );
        for slot in ["beneficiary-lists", "payout-files"] {
            let path = format!("/api/v1/periods/{period}/{slot}");
            let r = http
                .request("POST", &path, &upload, &multipart(name, bytes))
                .await
                .unwrap_or_else(|e| {
                    panic!("{name} to {slot}: {e} (server alive: {})", server.alive())
                });
            assert_eq!(
                r.status,
                422,
                "{name} to {slot}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        assert!(server.alive(), "the server died on {name}");
    }
    let after_bombs = server.peak_rss_mib();

    // 4. Forty sign-ins of 50 MB each, in parallel, without a session: refused early.
    let big: Arc<Vec<u8>> = Arc::new(vec![b'a'; 50 * 1024 * 1024]);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (big, port) = (big.clone(), server.port);
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(port);
            let form = [("Content-Type", "application/x-www-form-urlencoded")];
            // A refused body may also reset the connection before the answer is read.
            c.request("POST", "/login", &form, &big)
                .await
                .map(|r| r.status)
        }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(status)) => assert_eq!(status, 413, "a 50 MB sign-in"),
            Ok(Err(_)) => {}
            Err(e) => panic!("sign-in task: {e}"),
        }
    }
    assert!(server.alive(), "the server died on big sign-ins");
    let after_logins = server.peak_rss_mib();

    // 6. Connections that trickle their request head are closed after the header timeout.
    let started = Instant::now();
    let mut trickling = Vec::new();
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .expect("write");
        trickling.push(s);
    }
    let mut closed = 0;
    for mut s in trickling {
        // One more header line a second; the server must hang up well before 10 s.
        let mut buf = [0u8; 512];
        for _ in 0..10 {
            if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                closed += 1;
                break;
            }
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await
            {
                closed += 1;
                break;
            }
        }
    }
    assert_eq!(closed, 50, "trickling connections closed");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "closed within the header timeout: {:?}",
        started.elapsed()
    );
    // (An idle keep-alive connection is closed by the same timeout: a new one.)
    let r = Client::new(server.port)
        .request("GET", "/healthz", &[], b"")
        .await
        .expect("healthz");
    assert_eq!(r.status, 200);

    eprintln!(
        "{database_url}: peak RSS {baseline} MiB at start, {after_bombs} MiB after the tiny workbooks, {after_logins} MiB after 40 × 50 MB sign-ins"
    );
    assert!(
        after_logins <= MAX_PEAK_MIB,
        "peak RSS {after_logins} MiB over {MAX_PEAK_MIB} MiB"
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("doisoat.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_server_survives_hostile_clients_in_bounded_memory() {
    let dir = tempdir();
    hostile_clients(sqlite_url(dir.path()), dir.path().to_owned()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_survives_hostile_clients_in_bounded_memory() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL hardening test");
        return;
    };
    let db = pg::PgTestDb::create(&admin, "doisoat_hard").await;
    let dir = tempdir();
    let run = tokio::spawn(hostile_clients(db.url.clone(), dir.path().to_owned())).await;
    db.drop_db().await;
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}
