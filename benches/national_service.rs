//! The national month through a real `doisoat serve` (release build), as a ministry would
//! run it: upload the list (3.35 M rows) and the bank file (2.1 M rows) over HTTP, reconcile,
//! read exception pages (first, deep, filtered, searched), the live coverage of the country,
//! a province and a commune (then again while 64 clients post bank callbacks), and download
//! report.csv, report.xlsx and follow-up.xlsx; then one more bank file arrives while the
//! country's live figures are read. Wall
//! times from the client (curl), the server's peak memory from the OS (VmHWM).
//!
//! The floor, in the same run: PostgreSQL's own `psql \copy` of the same two CSVs into plain
//! tables (when `TEST_DATABASE_URL` is set and `psql` is installed).
//!
//!   cargo build --release
//!   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench national_service
//!
//! `DOISOAT_NATIONAL_PEOPLE` (default 3,350,000) sizes the month; `DOISOAT_BENCH_DIR` keeps
//! the generated files between runs; `DOISOAT_BASELINE_BIN=path/to/older/doisoat` runs the
//! same steps with another build, side by side (before/after); `DOISOAT_BENCH_BACKENDS`
//! (`sqlite,postgres` by default) picks the backends; `DOISOAT_BENCH_KEEP_DB=1` keeps the
//! PostgreSQL database of the last build measured, to look into afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/it/support/loadgen.rs"]
mod loadgen;
#[path = "../tests/it/support/pg.rs"]
mod pg;

use loadgen::Server;

const LIST: &str = "danh_sach_quoc_gia.csv";
const PAYOUTS: &str = "ket_qua_chi_quoc_gia.csv";

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

/// The server binary cargo built for this bench (the bench profile is the release one).
fn server_binary() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_doisoat"));
    if built.is_file() {
        return built;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/doisoat")
}

/// The national files, generated once into `dir`.
fn national_files(bin: &Path, dir: &Path) {
    if dir.join(LIST).is_file() && dir.join(PAYOUTS).is_file() {
        return;
    }
    let people = std::env::var("DOISOAT_NATIONAL_PEOPLE").unwrap_or_else(|_| "3350000".into());
    let out = Command::new(bin)
        .args(["fixtures", "--national", "--people", &people, "--out"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| fail("doisoat fixtures", e));
    if !out.status.success() {
        fail("doisoat fixtures", String::from_utf8_lossy(&out.stderr));
    }
}

/// One HTTP call by curl: status, seconds to the first byte, seconds in all, bytes.
struct Call {
    status: u16,
    first_byte: f64,
    total: f64,
    body: Vec<u8>,
    /// The `x-doisoat-live` header, where the answer has one.
    live: Option<String>,
}

/// `form_file` is sent as the multipart field `file`; a POST without one sends `json`
/// (or `{}`).
fn curl(
    port: u16,
    token: &str,
    method: &str,
    path: &str,
    form_file: Option<&Path>,
    json_body: Option<&str>,
) -> Call {
    let out_file = tempfile::NamedTempFile::new().unwrap_or_else(|e| fail("tempfile", e));
    let head_file = tempfile::NamedTempFile::new().unwrap_or_else(|e| fail("tempfile", e));
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, "-o"])
        .arg(out_file.path())
        .arg("-D")
        .arg(head_file.path())
        .args(["-w", "%{http_code} %{time_starttransfer} %{time_total}"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"));
    if let Some(f) = form_file {
        cmd.arg("-F").arg(format!("file=@{}", f.display()));
    }
    if method == "POST" && form_file.is_none() {
        cmd.args(["-H", "content-type: application/json", "-d"])
            .arg(json_body.unwrap_or("{}"));
    }
    cmd.arg(format!("http://127.0.0.1:{port}{path}"));
    let out = cmd.output().unwrap_or_else(|e| fail("curl", e));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut it = text.split_whitespace();
    let status = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let first_byte = it.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let total = it.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let body = std::fs::read(out_file.path()).unwrap_or_default();
    let head = std::fs::read_to_string(head_file.path()).unwrap_or_default();
    let live = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("x-doisoat-live")
            .then(|| value.trim().to_owned())
    });
    Call {
        status,
        first_byte,
        total,
        body,
        live,
    }
}

fn json(call: &Call) -> serde_json::Value {
    serde_json::from_slice(&call.body).unwrap_or(serde_json::Value::Null)
}

/// A step's figure: seconds (or MiB for memory) and a note.
struct Figure {
    step: String,
    value: f64,
    unit: &'static str,
    note: String,
}

/// Every step against one build on one database; the server's log goes to `log`.
async fn steps(bin: &Path, url: &str, dir: &Path, log: &Path) -> Vec<Figure> {
    let token = loadgen::create_token(bin, url, "admin", "bench-admin");
    let server = Server::start_with(
        bin,
        url,
        log,
        Duration::from_secs(60),
        &[
            ("DOISOAT_MAX_UPLOAD_MB", "400"),
            ("DOISOAT_REQUEST_TIMEOUT_SECS", "600"),
        ],
    )
    .await;
    let port = server.port;
    let figures = std::cell::RefCell::new(Vec::new());
    let add = |step: &str, call: &Call, note: String| {
        let ok = (200..300).contains(&call.status);
        figures.borrow_mut().push(Figure {
            step: step.to_owned(),
            value: call.total,
            unit: "s",
            note: if ok {
                note
            } else {
                format!("HTTP {} {}", call.status, note)
            },
        });
    };
    let created = curl(
        port,
        &token,
        "POST",
        "/api/v1/periods",
        None,
        Some(r#"{"code":"2024-09"}"#),
    );
    let period = json(&created)["id"]
        .as_i64()
        .unwrap_or_else(|| fail("create period", String::from_utf8_lossy(&created.body)));

    let list = curl(
        port,
        &token,
        "POST",
        &format!("/api/v1/periods/{period}/beneficiary-lists"),
        Some(&dir.join(LIST)),
        None,
    );
    add("upload the list", &list, String::new());
    let pay = curl(
        port,
        &token,
        "POST",
        &format!("/api/v1/periods/{period}/payout-files"),
        Some(&dir.join(PAYOUTS)),
        None,
    );
    add("upload the bank file", &pay, String::new());
    // The server's peak memory per phase (VmHWM, reset after each where the OS allows).
    let peaks = std::cell::RefCell::new(Vec::<(&str, u64)>::new());
    let phase = |name: &'static str| {
        peaks.borrow_mut().push((name, server.peak_rss_mib()));
        server.reset_peak();
    };
    phase("ingest");

    let run = curl(
        port,
        &token,
        "POST",
        &format!("/api/v1/periods/{period}/reconciliations"),
        None,
        None,
    );
    add("POST …/reconciliations", &run, String::new());
    phase("reconcile");
    let run_id = json(&run)["id"].as_i64().unwrap_or(0);
    let all = curl(
        port,
        &token,
        "GET",
        &format!("/api/v1/reconciliations/{run_id}/exceptions"),
        None,
        None,
    );
    let total = json(&all)["total"].as_u64().unwrap_or(0);
    add(
        "exceptions, first page",
        &all,
        format!("{total} exceptions"),
    );
    let deep = (total / 50 / 2).max(1);
    for (step, query) in [
        ("exceptions, a deep page", format!("page={deep}")),
        (
            "exceptions, filtered (unpaid, page 100)",
            "outcome=unpaid&page=100".to_owned(),
        ),
        (
            "exceptions, filtered (a bank, page 50)",
            "bank=BIDV&page=50".to_owned(),
        ),
        (
            "exceptions, searched (start of an ID)",
            "q=0252170".to_owned(),
        ),
        ("exceptions, searched (a name)", "q=hung".to_owned()),
        (
            "exceptions, searched (common syllables)",
            "q=thi%20hoa".to_owned(),
        ),
        (
            "exceptions, searched and filtered",
            "outcome=unpaid&q=hung".to_owned(),
        ),
    ] {
        let c = curl(
            port,
            &token,
            "GET",
            &format!("/api/v1/reconciliations/{run_id}/exceptions?{query}"),
            None,
            None,
        );
        let n = json(&c)["total"].as_u64().unwrap_or(0);
        add(step, &c, format!("{query}: {n}"));
    }
    let country = || {
        curl(
            port,
            &token,
            "GET",
            &format!("/api/v1/periods/{period}/coverage"),
            None,
            None,
        )
    };
    phase("exceptions pages");
    let first = country();
    add(
        "live coverage, first read (the period's cells made)",
        &first,
        String::new(),
    );
    phase("live first read");
    for (step, query) in [
        ("live coverage, the country", String::new()),
        ("live coverage, a province", "?unit=01".to_owned()),
        ("live coverage, a commune", "?unit=00004".to_owned()),
    ] {
        let c = curl(
            port,
            &token,
            "GET",
            &format!("/api/v1/periods/{period}/coverage{query}"),
            None,
            None,
        );
        add(step, &c, String::new());
    }
    let during = callbacks_while_reading(bin, url, port, &token, period, dir).await;
    figures.borrow_mut().extend(during);
    phase("callbacks and live reads");
    let after = country();
    // Then until the figures hold every callback (a build without the header always does).
    let callbacks_done = Instant::now();
    let mut settled = country();
    while settled.live.as_deref() == Some("catching-up")
        && callbacks_done.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        settled = country();
    }
    let all_in = callbacks_done.elapsed().as_secs_f64();
    add(
        "live coverage, the country, after the callbacks",
        &after,
        format!(
            "{}; paid cashless {} once all in",
            after.live.as_deref().unwrap_or("no x-doisoat-live header"),
            json(&settled)["paid_cashless"]
        ),
    );
    figures.borrow_mut().push(Figure {
        step: "every callback in the live figures, after the last read above".to_owned(),
        value: all_in,
        unit: "s",
        note: settled
            .live
            .clone()
            .unwrap_or_else(|| "(no header)".to_owned()),
    });
    for (step, file) in [
        ("report.csv", "report.csv"),
        ("report.xlsx", "report.xlsx"),
        ("follow-up.xlsx", "follow-up.xlsx"),
    ] {
        phase(match file {
            "report.csv" => "live reads after the callbacks",
            "report.xlsx" => "report.csv",
            _ => "report.xlsx",
        });
        let c = curl(
            port,
            &token,
            "GET",
            &format!("/api/v1/reconciliations/{run_id}/{file}"),
            None,
            None,
        );
        add(
            step,
            &c,
            format!(
                "first byte {:.2} s, {:.0} MB",
                c.first_byte,
                c.body.len() as f64 / 1e6
            ),
        );
    }
    phase("follow-up.xlsx");

    // A bank sends one more file while a dashboard reads: the read answers at once with
    // the figures before it ("updating"); the server recounts the period in the background.
    let extra = dir.join("ket_qua_chi_them.csv");
    if !extra.is_file() {
        let all = std::fs::read_to_string(dir.join(PAYOUTS))
            .unwrap_or_else(|e| fail("read the bank file", e));
        let head: Vec<&str> = all.lines().take(1_001).collect();
        std::fs::write(&extra, head.join("\n") + "\n")
            .unwrap_or_else(|e| fail("write the extra bank file", e));
    }
    let up = curl(
        port,
        &token,
        "POST",
        &format!("/api/v1/periods/{period}/payout-files"),
        Some(&extra),
        None,
    );
    add("upload one more bank file (1,000 rows)", &up, String::new());
    let coverage = format!("/api/v1/periods/{period}/coverage");
    let c = curl(port, &token, "GET", &coverage, None, None);
    add(
        "live coverage, the country, right after it",
        &c,
        c.live.clone().unwrap_or_default(),
    );
    let started = Instant::now();
    let mut reads = 0;
    let mut slowest: f64 = 0.0;
    let recounted = loop {
        let c = curl(port, &token, "GET", &coverage, None, None);
        reads += 1;
        slowest = slowest.max(c.total);
        if c.live.as_deref() == Some("current") {
            break Some(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(300) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    figures.borrow_mut().push(Figure {
        step: "live figures current again after it".into(),
        value: recounted.unwrap_or(f64::NAN),
        unit: "s",
        note: format!(
            "{reads} reads meanwhile, slowest {:.0} ms",
            slowest * 1000.0
        ),
    });
    phase("one more bank file");
    let mut figures = figures.into_inner();
    let peaks = peaks.into_inner();
    let mut throughout = 0;
    for (name, mib) in peaks {
        throughout = throughout.max(mib);
        figures.push(Figure {
            step: format!("server peak memory, {name}"),
            value: mib as f64,
            unit: "MiB",
            note: String::new(),
        });
    }
    figures.push(Figure {
        step: "server peak memory, throughout".into(),
        value: throughout as f64,
        unit: "MiB",
        note: String::new(),
    });
    drop(server);
    figures
}

/// Banks posting while a dashboard reads: 64 clients post single signed callbacks
/// (Agribank's, for people the list has at Agribank, new references) for `CALLBACK_SECS`,
/// while one reader reads the live coverage of the country, a province and a commune in
/// turn, every 100 ms.
async fn callbacks_while_reading(
    bin: &Path,
    url: &str,
    port: u16,
    token: &str,
    period: i64,
    dir: &Path,
) -> Vec<Figure> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CLIENTS: usize = 64;
    const CALLBACK_SECS: u64 = 10;
    let bank = loadgen::create_bank_token(bin, url, "bench-agribank");
    let list = std::fs::read_to_string(dir.join(LIST)).unwrap_or_else(|e| fail("read list", e));
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        list.lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.len() == 8 && f[7] == "Agribank" && !f[6].is_empty()).then(|| (f[0], f[5], f[6]))
            })
            .take(300_000)
            .enumerate()
            .map(|(n, (id, amount, account))| {
                serde_json::json!({
                    "transaction_ref": format!("LIVE-{n}"),
                    "period": "2024-09",
                    "population_id": id,
                    "account_number": account,
                    "beneficiary_name": "NGUYEN VAN AN",
                    "amount": amount,
                    "currency": "VND",
                    "status": "success",
                    "value_date": "2024-09-20",
                })
                .to_string()
                .into_bytes()
            })
            .collect(),
    );
    drop(list);
    let deadline = Instant::now() + Duration::from_secs(CALLBACK_SECS);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut posters = Vec::new();
    for _ in 0..CLIENTS {
        let (bank, bodies, next) = (bank.clone(), bodies.clone(), next.clone());
        posters.push(tokio::spawn(async move {
            let mut client = loadgen::Client::new(port);
            let (mut ok, mut errors, mut took) = (0usize, 0usize, Vec::new());
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                match loadgen::post_callback(&mut client, &bank, body).await {
                    Ok((200, _, t)) => {
                        ok += 1;
                        took.push(t);
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, took)
        }));
    }
    let reader = {
        let token = token.to_owned();
        tokio::spawn(async move {
            let mut client = loadgen::Client::new(port);
            let auth = format!("Bearer {token}");
            let mut took = Vec::new();
            let mut failed = 0;
            let scopes = ["", "?unit=01", "?unit=00004"];
            let mut k = 0;
            while Instant::now() < deadline {
                let path = format!("/api/v1/periods/{period}/coverage{}", scopes[k % 3]);
                k += 1;
                let t = Instant::now();
                match client
                    .request("GET", &path, &[("Authorization", auth.as_str())], b"")
                    .await
                {
                    Ok(r) if r.status == 200 => took.push(t.elapsed()),
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (took, failed)
        })
    };
    let (mut ok, mut errors, mut took) = (0, 0, Vec::new());
    for p in posters {
        if let Ok((o, e, t)) = p.await {
            ok += o;
            errors += e;
            took.extend(t);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    took.sort();
    let (_, p99, _) = loadgen::percentiles(&took);
    let (mut reads, failed) = reader.await.unwrap_or_default();
    reads.sort();
    let (p50, read_p99, _) = loadgen::percentiles(&reads);
    let max = reads.last().copied().unwrap_or_default();
    vec![
        Figure {
            step: format!("callbacks while the live figures are read ({CLIENTS} clients)"),
            value: ok as f64 / elapsed,
            unit: "/s",
            note: format!(
                "p99 {:.1} ms; {ok} stored, {errors} refused or failed",
                p99.as_secs_f64() * 1000.0
            ),
        },
        Figure {
            step: "live coverage while callbacks arrive (slowest read)".into(),
            value: max.as_secs_f64(),
            unit: "s",
            note: format!(
                "{} reads (country, province, commune), p50 {:.0} ms, p99 {:.0} ms, {failed} failed",
                reads.len(),
                p50.as_secs_f64() * 1000.0,
                read_p99.as_secs_f64() * 1000.0
            ),
        },
    ]
}

/// `psql \copy` of both files into plain text tables: the floor for ingest.
fn copy_floor(url: &str, dir: &Path) -> Option<f64> {
    let psql = |sql: &str| {
        Command::new("psql")
            .arg(url)
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
    };
    let tables = psql(
        "CREATE TABLE floor_list (population_id text, full_name text, year_of_birth text, \
         commune text, category text, amount text, account_number text, bank text); \
         CREATE TABLE floor_payouts (transaction_ref text, population_id text, \
         account_number text, beneficiary_name text, amount text, status text, \
         value_date text, bank text)",
    )
    .ok()?;
    if !tables.status.success() {
        eprintln!("psql: {}", String::from_utf8_lossy(&tables.stderr));
        return None;
    }
    let started = Instant::now();
    for (table, file) in [("floor_list", LIST), ("floor_payouts", PAYOUTS)] {
        let out = psql(&format!(
            "\\copy {table} FROM '{}' CSV HEADER",
            dir.join(file).display()
        ))
        .ok()?;
        if !out.status.success() {
            eprintln!("psql \\copy: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
    }
    let took = started.elapsed().as_secs_f64();
    // The next steps start on a quiet server, not behind the floor's checkpoint.
    let _ = psql("DROP TABLE floor_list, floor_payouts; CHECKPOINT");
    Some(took)
}

struct Column {
    title: String,
    figures: Vec<Figure>,
}

async fn backend(name: &str, bins: &[(String, PathBuf)], dir: &Path) -> (Vec<Column>, Option<f64>) {
    let mut columns = Vec::new();
    let mut floor = None;
    for (label, bin) in bins {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| fail("tempdir", e));
        // The server's log beside the kept files (DOISOAT_BENCH_DIR), else thrown away.
        let log = std::env::var("DOISOAT_BENCH_DIR")
            .map_or_else(|_| tmp.path().to_owned(), PathBuf::from)
            .join(format!("{name}-{}.log", label.replace(' ', "-")));
        let figures = if name == "postgres" {
            let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                println!("TEST_DATABASE_URL not set: PostgreSQL skipped");
                return (columns, None);
            };
            let db = pg::PgTestDb::create(&admin, "doisoat_natbench").await;
            if floor.is_none() {
                floor = copy_floor(&db.url, dir);
            }
            let f = steps(bin, &db.url, dir, &log).await;
            // DOISOAT_BENCH_KEEP_DB keeps the last build's database, to look into afterwards.
            if std::env::var_os("DOISOAT_BENCH_KEEP_DB").is_some() {
                println!("kept the database: {}", db.url);
            } else {
                db.drop_db().await;
            }
            f
        } else {
            let url = format!("sqlite:{}", tmp.path().join("bench.db").display());
            steps(bin, &url, dir, &log).await
        };
        columns.push(Column {
            title: format!("{name}, {label}"),
            figures,
        });
    }
    (columns, floor)
}

fn print(name: &str, columns: &[Column], floor: Option<f64>) {
    if columns.is_empty() {
        return;
    }
    println!("\n### {name}\n");
    let mut head = "| step |".to_owned();
    let mut rule = "|---|".to_owned();
    for c in columns {
        head.push_str(&format!(" {} |", c.title));
        rule.push_str("---:|");
    }
    println!("{head} note |\n{rule}---|");
    for (i, f) in columns[0].figures.iter().enumerate() {
        let mut line = format!("| {} |", f.step);
        for c in columns {
            match c.figures.get(i) {
                Some(g) if g.unit == "s" && g.value < 1.0 => {
                    line.push_str(&format!(" {:.0} ms |", g.value * 1000.0))
                }
                Some(g) if g.unit == "s" => line.push_str(&format!(" {:.1} s |", g.value)),
                Some(g) => line.push_str(&format!(" {:.0} {} |", g.value, g.unit)),
                None => line.push_str(" – |"),
            }
        }
        line.push_str(&format!(" {} |", f.note));
        println!("{line}");
    }
    let ingest: f64 = columns[0].figures.iter().take(2).map(|f| f.value).sum();
    match floor {
        Some(floor) => println!(
            "\nfloor: `psql \\copy` of both files {floor:.1} s; ingest through the service {ingest:.1} s = {:.2}× the floor (target ≤ 1.5×)",
            ingest / floor
        ),
        None => println!(
            "\ningest through the service {ingest:.1} s (no floor measured on this backend)"
        ),
    }
}

fn main() {
    let bin = server_binary();
    let mut bins = vec![("this build".to_owned(), bin.clone())];
    if let Ok(base) = std::env::var("DOISOAT_BASELINE_BIN") {
        bins.push(("baseline".to_owned(), PathBuf::from(base)));
    }
    let keep = std::env::var("DOISOAT_BENCH_DIR").ok().map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail("tempdir", e));
    let dir = keep.unwrap_or_else(|| tmp.path().to_owned());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        fail("bench dir", e);
    }
    national_files(&bin, &dir);
    let backends =
        std::env::var("DOISOAT_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("runtime", e));
    println!(
        "doisoat national month through `doisoat serve`: {} CPUs, files in {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        dir.display()
    );
    for name in backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (columns, floor) = runtime.block_on(backend(name, &bins, &dir));
        print(name, &columns, floor);
    }
}
