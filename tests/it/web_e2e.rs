//! End-to-end browser test of the web pages: a real `doisoat serve` on a fresh database
//! (SQLite always; PostgreSQL too when `TEST_DATABASE_URL` is set), tokens made with the
//! CLI, and headless Chromium driven by Playwright (`tests/e2e/web.mjs`) through the whole
//! story: sign in, create a period, upload the sample list and bank files, read the live
//! figures, run, download the workbook, filter exceptions, switch language, sign out; then
//! the auditor's view. The script writes what it read off the pages to `result.json`; this
//! side checks those figures against the API's for the same period and run, formatted the
//! Vietnamese way, and opens the downloaded workbook with calamine.
//!
//! Needs node (20+), `tests/e2e/node_modules` (`cd tests/e2e && npm ci`) and
//! `/usr/bin/chromium` (`apt-get install -y chromium`). A slow test (`support::gate::slow`):
//! a plain `cargo test` prints a loud note and passes without running it; it runs under CI
//! (`CI` set) or with `DOISOAT_SLOW_TESTS=1`, and then fails if any of these is missing.
//!
//!   DOISOAT_SLOW_TESTS=1 cargo test --test it web_e2e:: -- --nocapture
//!   DOISOAT_SLOW_TESTS=1 DOISOAT_E2E_SCREENSHOTS=docs/screenshots cargo test --test it web_e2e::   # regenerate PNGs
//!   DOISOAT_SLOW_TESTS=1 DOISOAT_E2E_KEEP=1 cargo test --test it web_e2e:: -- --nocapture   # keep result.json, logs, xlsx

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use calamine::{Data, Reader};
use doisoat::domain::money::{format_pct, format_thousands, format_vnd};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use crate::support::{gate, loadgen, pg};

use loadgen::{Client, Server};

const CHROMIUM: &str = "/usr/bin/chromium";
const READY_WITHIN: Duration = Duration::from_secs(30);
/// The whole browser scenario, both roles (it has its own per-step timeouts).
const SCRIPT_TIME_LIMIT: Duration = Duration::from_secs(300);
const FIGURES: [&str; 7] = [
    "account_coverage_pct",
    "cashless_rate_pct",
    "amount_paid",
    "beneficiaries",
    "amount_due",
    "amount_due_cashless",
    "amount_due_cash",
];
/// The report workbook's sheets (src/report/xlsx/mod.rs: Vietnamese names in every language).
const SHEETS: [&str; 5] = ["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu", "Mã băm"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn e2e_dir() -> PathBuf {
    manifest_dir().join("tests").join("e2e")
}

/// node, the npm packages and Chromium; or what is missing.
fn tools() -> Result<PathBuf, Vec<String>> {
    let mut missing = Vec::new();
    let node = PathBuf::from("node");
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let v = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let major: u32 = v
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!("node 20 or later (found {v})"));
            }
        }
        _ => missing.push("node (20 or later) on PATH".to_owned()),
    }
    let pw = e2e_dir().join("node_modules/playwright-core/package.json");
    if !pw.is_file() {
        missing.push(format!(
            "the npm packages ({} missing: run `cd tests/e2e && npm ci`)",
            pw.display()
        ));
    }
    if !Path::new(CHROMIUM).is_file() {
        missing.push(format!(
            "{CHROMIUM} (Debian: `apt-get install -y chromium`)"
        ));
    }
    if missing.is_empty() {
        Ok(node)
    } else {
        Err(missing)
    }
}

/// `doisoat token create --role ROLE --name NAME`: the `token: …` line.
fn create_token(bin: &Path, database_url: &str, role: &str, name: &str) -> String {
    let out = loadgen::run_cli(
        bin,
        database_url,
        &["token", "create", "--role", role, "--name", name],
    );
    out.lines()
        .find_map(|l| l.trim().strip_prefix("token:").map(str::trim))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("no 'token:' line in the output of token create:\n{out}"))
        .to_owned()
}

/// The node process, ended (and reaped) when dropped, so a failing test leaves nothing behind:
/// SIGTERM first, which Playwright handles by closing its Chromium, then SIGKILL.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let Some(mut c) = self.0.take() else { return };
        if matches!(c.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            for _ in 0..30 {
                if !matches!(c.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs web.mjs to the end (or the time limit); returns its exit status text, None on success.
async fn run_script(node: &Path, envs: &[(&str, String)], log: &Path) -> Option<String> {
    let file = std::fs::File::create(log).expect("create the script log");
    let file2 = file.try_clone().expect("clone the script log handle");
    let mut cmd = Command::new(node);
    cmd.arg(e2e_dir().join("web.mjs"))
        .current_dir(e2e_dir())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn node tests/e2e/web.mjs");
    let mut guard = ChildGuard(Some(child));
    let deadline = Instant::now() + SCRIPT_TIME_LIMIT;
    loop {
        let Some(child) = guard.0.as_mut() else {
            return Some("node vanished".to_owned());
        };
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return None,
            Ok(Some(status)) => return Some(format!("web.mjs exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                return Some(format!(
                    "web.mjs still running after {SCRIPT_TIME_LIMIT:?}: killed"
                ));
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => return Some(format!("waiting for web.mjs: {e}")),
        }
    }
}

/// GET an API path with the bearer token; the JSON body or a failure message.
async fn api(port: u16, token: &str, path: &str) -> Result<Value, String> {
    let mut client = Client::new(port);
    let auth = format!("Bearer {token}");
    let r = client
        .request("GET", path, &[("Authorization", auth.as_str())], b"")
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    if r.status != 200 {
        return Err(format!(
            "GET {path} answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    serde_json::from_slice(&r.body).map_err(|e| format!("GET {path}: not JSON: {e}"))
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

/// A figure of the report JSON as the pages must show it (`63,16%`, `1.234.567 ₫`, `16.923`).
fn formatted(report: &Value, key: &str) -> Option<String> {
    let v = &report[key];
    match key {
        "account_coverage_pct" | "cashless_rate_pct" => decimal(v).map(format_pct),
        "amount_paid" | "amount_due" | "amount_due_cashless" | "amount_due_cash" => {
            decimal(v).map(format_vnd)
        }
        _ => v.as_i64().map(|n| format_thousands(i128::from(n))),
    }
}

/// The page's figures (`result[field]`) against the report, each one named in `failures`.
fn compare_figures(what: &str, page: &Value, report: &Value, failures: &mut Vec<String>) {
    for key in FIGURES {
        let Some(want) = formatted(report, key) else {
            failures.push(format!("{what}: the API has no {key} ({})", report[key]));
            continue;
        };
        match page[key].as_str() {
            Some(got) if got == want => {}
            Some(got) => {
                let squashed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
                let hint = if squashed(got) == squashed(&want) {
                    " (same apart from whitespace: a non-breaking or doubled space?)"
                } else {
                    ""
                };
                failures.push(format!(
                    "{what}: [data-figure={key}] shows {got:?}, the API's {} formats as {want:?}{hint}",
                    report[key]
                ));
            }
            None => failures.push(format!("{what}: [data-figure={key}] not read off the page")),
        }
    }
}

/// Rows as absolute positions (row 0 = spreadsheet row 1).
fn cell(range: &calamine::Range<Data>, r: u32, c: u32) -> Data {
    range.get_value((r, c)).cloned().unwrap_or(Data::Empty)
}

/// The value beside the first label in column A that is one of `labels`.
fn labelled(range: &calamine::Range<Data>, labels: &[&str]) -> Option<Data> {
    let (start, end) = (range.start()?, range.end()?);
    (start.0..=end.0)
        .find(|&r| matches!(cell(range, r, 0), Data::String(s) if labels.contains(&s.trim())))
        .map(|r| cell(range, r, 1))
}

/// The downloaded workbook: its sheets, and the summary's figures against the run's report.
fn check_workbook(path: &Path, report: &Value, failures: &mut Vec<String>) {
    let mut book = match calamine::open_workbook_auto(path) {
        Ok(b) => b,
        Err(e) => {
            failures.push(format!(
                "the downloaded workbook {} does not open: {e}",
                path.display()
            ));
            return;
        }
    };
    let names = book.sheet_names();
    if names != SHEETS {
        failures.push(format!(
            "the downloaded workbook has sheets {names:?}, want {SHEETS:?}"
        ));
    }
    let Some(first) = names.first().cloned() else {
        failures.push("the downloaded workbook has no sheet".to_owned());
        return;
    };
    let summary = match book.worksheet_range(&first) {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("workbook sheet {first}: {e}"));
            return;
        }
    };
    // Labels in both languages: the workbook may follow the page's language.
    let rows: [(&str, &[&str]); 7] = [
        ("beneficiaries", &["Tổng số đối tượng", "Beneficiaries"]),
        (
            "account_coverage_pct",
            &["Tỷ lệ có tài khoản", "Account coverage"],
        ),
        (
            "cashless_rate_pct",
            &["Tỷ lệ chi không dùng tiền mặt", "Cashless payment rate"],
        ),
        ("amount_due", &["Tổng số tiền phải chi", "Total amount due"]),
        (
            "amount_due_cashless",
            &[
                "Trong đó: phải chi qua tài khoản",
                "Of which due to account holders",
            ],
        ),
        (
            "amount_due_cash",
            &[
                "Trong đó: phải chi bằng tiền mặt (bưu điện)",
                "Of which due in cash (post office)",
            ],
        ),
        (
            "amount_paid",
            &["Số tiền đã chi qua tài khoản", "Amount paid to accounts"],
        ),
    ];
    for (key, labels) in rows {
        // Percentages are fractions in the workbook (0.9731 under a % format).
        let scale = if key.ends_with("_pct") {
            rust_decimal::Decimal::ONE_HUNDRED
        } else {
            rust_decimal::Decimal::ONE
        };
        let Some(want) = decimal(&report[key]).and_then(|d| (d / scale).to_f64()) else {
            failures.push(format!("the API's {key} is not a number: {}", report[key]));
            continue;
        };
        match labelled(&summary, labels) {
            Some(Data::Float(got)) if (got - want).abs() < 1e-9 => {}
            Some(Data::Int(got)) if (got as f64 - want).abs() < 1e-9 => {}
            Some(other) => failures.push(format!(
                "workbook sheet {first}: {} is {other:?}, the API says {want}",
                labels[0]
            )),
            None => failures.push(format!(
                "workbook sheet {first}: no row labelled {:?}",
                labels
            )),
        }
    }
}

fn ids_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// What the pages showed against the API, after the script ran; failures appended.
async fn check_against_api(
    port: u16,
    token: &str,
    r: &Value,
    out_dir: &Path,
    failures: &mut Vec<String>,
) {
    let Some(pid) = r["period_id"].as_i64() else {
        failures.push("the script created no period: nothing to compare".to_owned());
        return;
    };

    check_live_figures(port, token, r, pid, failures).await;
    check_uploads(port, token, r, pid, failures).await;
    let Some(rid) = r["run_id"].as_i64() else {
        failures.push("the script ran no reconciliation: no run to compare".to_owned());
        return;
    };
    check_run(port, token, r, rid, out_dir, failures).await;
    check_exceptions_total(port, token, r, rid, failures).await;
    check_search(port, token, r, rid, failures).await;
    check_second_period(port, token, r, failures).await;
    check_runs_table(port, token, r, pid, rid, failures).await;
    check_approved_report(port, token, r, rid, failures).await;
}

/// The approved run as the approver left it, and the official report downloaded from its
/// page: the national motto, the signature block naming who submitted and who approved it,
/// the report's digest in the footer.
async fn check_approved_report(
    port: u16,
    token: &str,
    r: &Value,
    rid: i64,
    failures: &mut Vec<String>,
) {
    let meta = match api(port, token, &format!("/api/v1/reconciliations/{rid}/meta")).await {
        Ok(m) => m,
        Err(e) => return failures.push(e),
    };
    if meta["state"] != "approved" {
        failures.push(format!(
            "run {rid} is {} after the approver's step, want approved",
            meta["state"]
        ));
    }
    let Some(path) = r["approval"]["xlsx"].as_str() else {
        return failures.push("the approver downloaded no official report".to_owned());
    };
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut book: calamine::Xlsx<_> =
        match calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())) {
            Ok(b) => b,
            Err(e) => return failures.push(format!("the official report does not open: {e}")),
        };
    let cells: Vec<String> = calamine::Reader::worksheet_range(&mut book, "Tổng hợp")
        .map(|range| range.cells().map(|(_, _, c)| c.to_string()).collect())
        .unwrap_or_default();
    // The tokens of this scenario carry no display names: the signers are named by token.
    for want in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Người lập biểu",
        "Kế toán trưởng",
        "Thủ trưởng đơn vị",
        "ke-toan",
        "ke-toan-truong",
    ] {
        if !cells.iter().any(|c| c == want) {
            failures.push(format!(
                "the official report's summary has no cell {want:?}"
            ));
        }
    }
    if !cells.iter().any(|c| c.starts_with("Duyệt ngày ")) {
        failures.push("the official report does not say when it was approved".to_owned());
    }
    let sha = meta["report_sha256"].as_str().unwrap_or("-");
    let text = String::from_utf8_lossy(&unzipped(&bytes, "xl/worksheets/sheet1.xml")).into_owned();
    if !text.contains(sha) || !text.contains("paperSize=\"9\"") {
        failures
            .push("the official report's first sheet has no digest footer or is not A4".to_owned());
    }
}

/// One member of a zip archive (empty when it is not there).
fn unzipped(bytes: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        && let Ok(mut f) = zip.by_name(name)
    {
        let _ = f.read_to_end(&mut out);
    }
    out
}

/// The live figures (period page before the run; the auditor's view afterwards: no
/// callbacks, so both are the list against the files) and the chart.
async fn check_live_figures(
    port: u16,
    token: &str,
    r: &Value,
    pid: i64,
    failures: &mut Vec<String>,
) {
    match api(port, token, &format!("/api/v1/periods/{pid}/coverage")).await {
        Ok(live) => {
            compare_figures("period page (live)", &r["live"], &live, failures);
            if r["auditor"]["figures"].is_object() {
                compare_figures(
                    "period page (auditor)",
                    &r["auditor"]["figures"],
                    &live,
                    failures,
                );
            }
            let communes = live["by_commune"].as_array().map_or(0, Vec::len);
            let rects = r["chart_rects"].as_u64().unwrap_or(0);
            if (rects as usize) < communes {
                failures.push(format!(
                    "svg#commune-chart has {rects} rect for {communes} communes"
                ));
            }
        }
        Err(e) => failures.push(e),
    }
}

/// The uploads table: one row per stored upload, its counts, its row errors by row number.
async fn check_uploads(port: u16, token: &str, r: &Value, pid: i64, failures: &mut Vec<String>) {
    match api(port, token, &format!("/api/v1/periods/{pid}/uploads")).await {
        Ok(uploads) => {
            let list = uploads.as_array().cloned().unwrap_or_default();
            let shown = r["uploads"].as_array().cloned().unwrap_or_default();
            if list.len() != shown.len() {
                failures.push(format!(
                    "table#uploads has {} rows, the API lists {} uploads ({:?})",
                    shown.len(),
                    list.len(),
                    ids_of(&uploads)
                ));
            }
            for u in &list {
                let id = u["id"].as_i64().unwrap_or(-1);
                let name = u["file_name"].as_str().unwrap_or("");
                let Some(row) = shown.iter().find(|s| s["id"].as_i64() == Some(id)) else {
                    failures.push(format!(
                        "table#uploads has no tr[data-upload-id={id}] ({name})"
                    ));
                    continue;
                };
                if !row["text"].as_str().unwrap_or("").contains(name) {
                    failures.push(format!(
                        "upload row {id} does not show its file name {name}"
                    ));
                }
                for (cell, key) in [("td.accepted", "accepted"), ("td.rejected", "rejected")] {
                    let want = u[format!("{key}_rows")].as_i64();
                    if row[key].as_i64() != want {
                        failures.push(format!(
                            "upload row {id} ({name}): {cell} shows {}, the API says {}",
                            row[format!("{key}_text")],
                            want.map_or("?".to_owned(), |n| n.to_string())
                        ));
                    }
                }
                let shown_errors: Vec<&str> = row["errors"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for e in u["row_errors"].as_array().cloned().unwrap_or_default() {
                    let n = e["row"].as_u64().unwrap_or(0);
                    let needle = format!("dòng {n}");
                    let hit = shown_errors.iter().any(|t| {
                        t.match_indices(&needle).any(|(i, _)| {
                            !t[i + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
                        })
                    });
                    if !hit {
                        failures.push(format!(
                            "upload row {id} ({name}): the row error at spreadsheet row {n} is not listed \
                             as \"{needle}\" in its details.row-errors (shown: {shown_errors:?})"
                        ));
                    }
                }
            }
        }
        Err(e) => failures.push(e),
    }
}

/// The run page's figures (the accountant's and the auditor's), the downloaded workbook, and
/// the filtered exceptions against the API's filter.
async fn check_run(
    port: u16,
    token: &str,
    r: &Value,
    rid: i64,
    out_dir: &Path,
    failures: &mut Vec<String>,
) {
    match api(port, token, &format!("/api/v1/reconciliations/{rid}")).await {
        Ok(report) => {
            compare_figures("run page", &r["run"], &report, failures);
            if r["auditor"]["run"].is_object() {
                compare_figures(
                    "run page (auditor)",
                    &r["auditor"]["run"],
                    &report,
                    failures,
                );
            }
            match r["xlsx"].as_str() {
                Some(p) => check_workbook(Path::new(p), &report, failures),
                None => failures.push(format!(
                    "no workbook was downloaded (expected {})",
                    out_dir.join("report.xlsx").display()
                )),
            }
            // The filtered exceptions against the API's filter, when the option is an API code.
            let outcome = r["filter"]["value"].as_str().unwrap_or("");
            let known = outcome == "unmatched_payout" || report["outcomes"].get(outcome).is_some();
            if let Some(filtered) = r["filtered_total"].as_u64() {
                if known {
                    let path =
                        format!("/api/v1/reconciliations/{rid}/exceptions?outcome={outcome}");
                    match api(port, token, &path).await {
                        Ok(p) if p["total"].as_u64() == Some(filtered) => {}
                        Ok(p) => failures.push(format!(
                            "exceptions filtered by outcome {outcome}: data-total {filtered}, the API's total {}",
                            p["total"]
                        )),
                        Err(e) => failures.push(e),
                    }
                } else if !outcome.is_empty() {
                    eprintln!(
                        "note: the outcome option value {outcome:?} is not an API outcome code; filtered total not compared"
                    );
                }
            }
        }
        Err(e) => failures.push(e),
    }
}

/// The exceptions table's total against the run's.
async fn check_exceptions_total(
    port: u16,
    token: &str,
    r: &Value,
    rid: i64,
    failures: &mut Vec<String>,
) {
    match api(
        port,
        token,
        &format!("/api/v1/reconciliations/{rid}/exceptions"),
    )
    .await
    {
        Ok(p) => {
            if r["exceptions_total"].as_u64() != p["total"].as_u64() {
                failures.push(format!(
                    "table#exceptions data-total is {}, the API's run {rid} has {} exceptions",
                    r["exceptions_total"], p["total"]
                ));
            }
        }
        Err(e) => failures.push(e),
    }
}

/// The exceptions searched for a name against the API's search.
async fn check_search(port: u16, token: &str, r: &Value, rid: i64, failures: &mut Vec<String>) {
    if let Some(q) = r["search"]["q"].as_str() {
        let path = format!("/api/v1/reconciliations/{rid}/exceptions?q={q}");
        match api(port, token, &path).await {
            Ok(p) if p["total"].as_u64() == r["search"]["total"].as_u64() => {}
            Ok(p) => failures.push(format!(
                "exceptions searched for {q:?}: data-total {}, the API's total {}",
                r["search"]["total"], p["total"]
            )),
            Err(e) => failures.push(e),
        }
    }
}

/// The target typed the Vietnamese way ("80,5") is stored as 80.5.
async fn check_second_period(port: u16, token: &str, r: &Value, failures: &mut Vec<String>) {
    if let Some(id) = r["second_period_id"].as_i64() {
        match api(port, token, &format!("/api/v1/periods/{id}")).await {
            Ok(p) if decimal(&p["target_pct"]) == Some(Decimal::new(805, 1)) => {}
            Ok(p) => failures.push(format!(
                "the target typed as \"80,5\" was stored as {}",
                p["target_pct"]
            )),
            Err(e) => failures.push(e),
        }
    }
}

/// The runs table shows the run's report digest.
async fn check_runs_table(
    port: u16,
    token: &str,
    r: &Value,
    pid: i64,
    rid: i64,
    failures: &mut Vec<String>,
) {
    match api(
        port,
        token,
        &format!("/api/v1/periods/{pid}/reconciliations"),
    )
    .await
    {
        Ok(runs) => {
            let want = runs
                .as_array()
                .and_then(|a| a.iter().find(|x| x["id"].as_i64() == Some(rid)))
                .and_then(|x| x["report_sha256"].as_str())
                .unwrap_or("")
                .to_owned();
            let shown = r["runs_table"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["id"].as_i64() == Some(rid)))
                .and_then(|x| x["digest"].as_str())
                .unwrap_or("")
                .to_owned();
            if want.is_empty() || shown != want {
                failures.push(format!(
                    "table#runs shows the digest {shown:?} for run {rid}, the API's report_sha256 is {want:?}"
                ));
            }
        }
        Err(e) => failures.push(e),
    }
}

/// One backend, start to end; the failures found.
async fn scenario(
    backend: &str,
    database_url: &str,
    node: &Path,
    screenshots: Option<&Path>,
) -> Vec<String> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_doisoat"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_owned();
    let dir = dir.as_path();
    if std::env::var_os("DOISOAT_E2E_KEEP").is_some() {
        eprintln!(
            "{backend}: keeping {} (result.json, report.xlsx, logs)",
            dir.display()
        );
        let _ = tmp.keep();
    }
    let accountant = create_token(&bin, database_url, "accountant", "ke-toan");
    let auditor = create_token(&bin, database_url, "auditor", "kiem-toan");
    let approver = create_token(&bin, database_url, "approver", "ke-toan-truong");
    let server_log = dir.join("serve.log");
    let server = Server::start(&bin, database_url, &server_log, READY_WITHIN).await;

    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).expect("create the script's out folder");
    let mut envs = vec![
        ("BASE_URL", format!("http://127.0.0.1:{}", server.port)),
        ("ACCOUNTANT_TOKEN", accountant.clone()),
        ("AUDITOR_TOKEN", auditor),
        ("APPROVER_TOKEN", approver),
        (
            "FIXTURES",
            manifest_dir().join("fixtures").display().to_string(),
        ),
        ("OUT_DIR", out_dir.display().to_string()),
        ("CHROMIUM", CHROMIUM.to_owned()),
    ];
    if let Some(s) = screenshots {
        envs.push(("SCREENSHOT_DIR", s.display().to_string()));
    }
    let script_log = dir.join("web.log");
    let started = Instant::now();
    let exit = run_script(node, &envs, &script_log).await;
    eprintln!(
        "{backend}: web.mjs ran in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut failures = Vec::new();
    let result_path = out_dir.join("result.json");
    let result: Option<Value> = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match &result {
        Some(r) => {
            for key in ["fatal", "failures"] {
                for m in r[key].as_array().cloned().unwrap_or_default() {
                    failures.push(format!("{key}: {}", m.as_str().unwrap_or("?")));
                }
            }
            check_against_api(server.port, &accountant, r, &out_dir, &mut failures).await;
        }
        None => failures.push(format!(
            "web.mjs wrote no readable {}",
            result_path.display()
        )),
    }
    if let Some(e) = exit
        && failures.is_empty()
    {
        failures.push(e);
    }
    drop(server);
    if !failures.is_empty() {
        failures = failures
            .into_iter()
            .map(|f| format!("[{backend}] {f}"))
            .collect();
        failures.push(format!(
            "[{backend}] web.mjs log (last 60 lines):\n{}\n[{backend}] serve log (last 40 lines):\n{}",
            tail(&script_log, 60),
            tail(&server_log, 40)
        ));
    } else if let Some(r) = &result {
        eprintln!(
            "{backend}: {} steps passed; run {} figures {}",
            r["steps"].as_array().map_or(0, Vec::len),
            r["run_id"],
            r["run"]
        );
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_work_end_to_end() {
    if !gate::slow("web_e2e, the browser tests of the web pages") {
        return;
    }
    // Once it runs (CI, or asked for), a missing prerequisite fails it: never a silent skip.
    let node = match tools() {
        Ok(node) => node,
        Err(missing) => panic!(
            "the browser tests need: {}. Install: apt-get install -y chromium && (cd tests/e2e \
             && npm ci); .ci/run installs them; see README (Kiểm thử / Test).",
            missing.join("; ")
        ),
    };
    let screenshots = std::env::var("DOISOAT_E2E_SCREENSHOTS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let p = PathBuf::from(s.trim());
            if p.is_absolute() {
                p
            } else {
                manifest_dir().join(p)
            }
        });

    let mut failures = Vec::new();
    let sqlite_dir = tempfile::tempdir().expect("tempdir");
    let sqlite_url = format!("sqlite:{}/web.db", sqlite_dir.path().display());
    failures.extend(scenario("sqlite", &sqlite_url, &node, screenshots.as_deref()).await);

    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            let db = pg::PgTestDb::create(admin.trim(), "doisoat_web").await;
            let url = db.url.clone();
            let node2 = node.clone();
            // In a task, so the database is dropped even when the scenario panics.
            let run =
                tokio::spawn(async move { scenario("postgres", &url, &node2, None).await }).await;
            db.drop_db().await;
            match run {
                Ok(f) => failures.extend(f),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        _ => eprintln!("TEST_DATABASE_URL not set: the PostgreSQL run of web_e2e is skipped"),
    }

    assert!(
        failures.is_empty(),
        "the web pages break their contract ({} findings):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
