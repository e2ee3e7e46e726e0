//! A small load client for the bank-callback endpoint, shared by tests/it/crash.rs and
//! benches/callbacks.rs (`#[path]`-included): raw HTTP/1.1 keep-alive on loopback, signed
//! Standard Webhooks requests, and a guard around a `doisoat serve` child process.
//! Everything is bounded: each request has a deadline, each wait a count and a time limit,
//! and only 127.0.0.1 is ever contacted.
#![allow(dead_code)]
// Each includer uses a different part.
// Test-support code: the benches include this file as it is, outside the tests' allowance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use doisoat::webhook::WebhookSecret;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Longest a single request (write + full response) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response header block / body accepted.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server asked to close the connection.
    pub close: bool,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response {} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One keep-alive connection to 127.0.0.1:`port`; reconnects after a close or an error.
pub struct Client {
    port: u16,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(port: u16) -> Self {
        Client { port, conn: None }
    }

    /// One request, with a deadline; `headers` are extra lines (name, value).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, headers, body))
            .await
        {
            Ok(Ok(r)) => {
                if r.close {
                    self.conn = None;
                }
                Ok(r)
            }
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}"),
                ))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        if self.conn.is_none() {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        let mut req = Vec::with_capacity(256 + body.len());
        req.extend_from_slice(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
                self.port
            )
            .as_bytes(),
        );
        for (name, value) in headers {
            req.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if !body.is_empty() || method != "GET" {
            req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(body);
        conn.get_mut().write_all(&req).await?;
        read_response(conn).await
    }
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// One line without its CRLF; EOF before any byte is an error (the server went away).
async fn read_line(conn: &mut BufReader<TcpStream>, budget: &mut usize) -> io::Result<String> {
    let mut line = Vec::new();
    let n = (&mut *conn)
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    if n > *budget || !line.ends_with(b"\n") {
        return Err(bad("response head too long or truncated"));
    }
    *budget -= n;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad("response head is not UTF-8"))
}

async fn read_response(conn: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let mut budget = MAX_HEAD;
    let status_line = read_line(conn, &mut budget).await?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| bad(format!("bad status line: {status_line:?}")))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    loop {
        let line = read_line(conn, &mut budget).await?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("bad header line: {line:?}")));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = Some(
                    value
                        .parse()
                        .map_err(|_| bad(format!("bad content-length: {value:?}")))?,
                );
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(conn).await?
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(bad(format!("body of {n} bytes is too large")));
        }
        let mut body = vec![0; n];
        conn.read_exact(&mut body).await?;
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs to the end of the connection.
        let mut body = Vec::new();
        (&mut *conn)
            .take(MAX_BODY as u64)
            .read_to_end(&mut body)
            .await?;
        close = true;
        body
    };
    Ok(Response {
        status,
        body,
        close,
    })
}

async fn read_chunked(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    // At most MAX_BODY bytes, so at most that many non-empty chunks.
    for _ in 0..MAX_BODY {
        let mut budget = 1024;
        let line = read_line(conn, &mut budget).await?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| bad(format!("bad chunk size: {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            let mut budget = MAX_HEAD;
            for _ in 0..1024 {
                if read_line(conn, &mut budget).await?.is_empty() {
                    return Ok(body);
                }
            }
            return Err(bad("too many trailers"));
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("chunked body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..]).await?;
        let mut crlf = [0u8; 2];
        conn.read_exact(&mut crlf).await?;
        if &crlf != b"\r\n" {
            return Err(bad("chunk not followed by CRLF"));
        }
    }
    Err(bad("too many chunks"))
}

/// A bank's API token and webhook secret, as `doisoat token create --role bank` printed them.
#[derive(Clone)]
pub struct Bank {
    pub token: String,
    pub secret: WebhookSecret,
    pub authorization: String,
}

impl Bank {
    pub fn new(token: &str, secret: &str) -> Self {
        Bank {
            token: token.to_owned(),
            secret: WebhookSecret::parse(secret).expect("webhook secret from the CLI"),
            authorization: format!("Bearer {token}"),
        }
    }
}

/// A fresh `msg_…` id: unique per process run.
pub fn message_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "msg_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sign `body` with a fresh id and the current time and post it to the callback endpoint.
/// Returns the status, the response body and the latency (write to last byte read).
pub async fn post_callback(
    client: &mut Client,
    bank: &Bank,
    body: &[u8],
) -> io::Result<(u16, Vec<u8>, Duration)> {
    let id = message_id();
    let ts = chrono::Utc::now().timestamp();
    let signature = bank.secret.sign(&id, ts, body);
    let ts_text = ts.to_string();
    let headers = [
        ("Authorization", bank.authorization.as_str()),
        ("Content-Type", "application/json"),
        ("webhook-id", id.as_str()),
        ("webhook-timestamp", ts_text.as_str()),
        ("webhook-signature", signature.as_str()),
    ];
    let start = Instant::now();
    let r = client
        .request("POST", "/api/v1/callbacks/payouts", &headers, body)
        .await?;
    Ok((r.status, r.body, start.elapsed()))
}

/// One payout item (period 2024-09), distinct content per `transaction_ref`.
pub fn item(transaction_ref: &str, n: u64) -> serde_json::Value {
    serde_json::json!({
        "transaction_ref": transaction_ref,
        "period": "2024-09",
        "population_id": format!("{:012}", 25_038_000_000u64 + n % 1_000_000),
        "account_number": format!("42002{:08}", n % 100_000_000),
        "beneficiary_name": "NGUYEN VAN AN",
        "amount": format!("{}", 500_000 + (n % 2_000) * 1_000),
        "currency": "VND",
        "status": if n % 10 == 9 { "failed" } else { "success" },
        "value_date": "2024-09-20",
    })
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Run `doisoat ARGS` with DATABASE_URL set; panics with its output unless it succeeds.
pub fn run_cli(bin: &Path, database_url: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DOISOAT_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run the doisoat CLI");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "doisoat {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

/// `doisoat token create --role ROLE --name NAME`: the token it printed.
pub fn create_token(bin: &Path, database_url: &str, role: &str, name: &str) -> String {
    let out = run_cli(
        bin,
        database_url,
        &["token", "create", "--role", role, "--name", name],
    );
    out.lines()
        .find_map(|l| l.strip_prefix("token:"))
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| panic!("no token in {out}"))
}

/// `doisoat token create --role bank --bank Agribank --name NAME`, parsed.
pub fn create_bank_token(bin: &Path, database_url: &str, name: &str) -> Bank {
    let out = run_cli(
        bin,
        database_url,
        &[
            "token", "create", "--role", "bank", "--bank", "Agribank", "--name", name,
        ],
    );
    let field = |key: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("no '{key}' line in the token output:\n{out}"))
            .to_owned()
    };
    Bank::new(&field("token:"), &field("webhook_secret:"))
}

/// Create the period callbacks are posted for (they are refused for a period that does not
/// exist), straight through the store.
pub async fn create_period(database_url: &str, code: &str) {
    let store = doisoat::store::connect(database_url)
        .await
        .expect("connect the store");
    let new = doisoat::store::NewPeriod {
        code: code.to_owned(),
        programme: "TCXH".into(),
        locality: None,
        targets: Default::default(),
    };
    store
        .create_period(new, "test")
        .await
        .expect("create the period");
}

/// A running `doisoat serve`; killed (SIGKILL) and reaped when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    /// Start `serve` on a free port, logging to `log` (appended), and wait for /healthz
    /// (at most `ready_within`).
    pub async fn start(
        bin: &Path,
        database_url: &str,
        log: &Path,
        ready_within: Duration,
    ) -> Server {
        Self::start_with(bin, database_url, log, ready_within, &[]).await
    }

    /// The same, with extra settings in the environment.
    pub async fn start_with(
        bin: &Path,
        database_url: &str,
        log: &Path,
        ready_within: Duration,
        settings: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the server log");
        let file2 = file.try_clone().expect("clone the server log handle");
        let child = Command::new(bin)
            .arg("serve")
            .envs(settings.iter().copied())
            .env("DATABASE_URL", database_url)
            .env("DOISOAT_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2)
            .spawn()
            .expect("spawn doisoat serve");
        let mut server = Server {
            child: Some(child),
            port,
            log: log.to_owned(),
        };
        server.wait_ready(ready_within).await;
        server
    }

    async fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let mut client = Client::new(self.port);
        // At most one attempt per 20 ms until the deadline.
        for _ in 0..(within.as_millis() / 20 + 1) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "doisoat serve exited ({status}) before it was ready; log {}:\n{}",
                    self.log.display(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if let Ok(r) = client.request("GET", "/healthz", &[], b"").await
                && r.status == 200
            {
                return;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "doisoat serve on port {} not ready within {within:?}; log {}:\n{}",
            self.port,
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// SIGKILL (on Unix `Child::kill` sends SIGKILL) and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Peak resident memory so far (VmHWM, from the OS), in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        let pid = self.pid().expect("the server is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .expect("read the server's /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .expect("a VmHWM line in the server's /proc/PID/status")
    }

    /// Start measuring the peak anew from what the server holds now (`clear_refs` 5 resets
    /// VmHWM); false where the OS refuses.
    #[allow(dead_code)]
    pub fn reset_peak(&self) -> bool {
        self.pid()
            .is_some_and(|pid| std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok())
    }

    /// Still running (not exited or aborted)?
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sorted latencies → (p50, p99, max).
pub fn percentiles(sorted: &[Duration]) -> (Duration, Duration, Duration) {
    if sorted.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    let at =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    (at(0.50), at(0.99), sorted[sorted.len() - 1])
}
