//! Send one signed payout callback, as a bank would (see docs/callbacks.md).
//!
//! ```text
//! cargo run --example callback_send -- \
//!     --url http://127.0.0.1:8080/api/v1/callbacks/payouts \
//!     --token ds_… --secret whsec_… --body payout.json      # or --body - for stdin
//! ```
//!
//! Signs the body bytes exactly as read (no re-serialisation) with `doisoat::webhook`, with a fresh
//! random `msg_…` id and the current time, and sends them in a plain HTTP/1.1 request over
//! `std::net::TcpStream`. Only `http://` URLs: there is no TLS here, so use it against a local or
//! test server, or behind a TLS-terminating tunnel; production banks use their own HTTPS client.
//! Prints the response's status line and body; exits with 0 on 2xx, 1 on another status, 2 on
//! a local error (arguments, file, connection).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine;
use doisoat::webhook::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret};

const USAGE: &str = "usage: callback_send --url http://HOST[:PORT]/PATH --token TOKEN \
                     --secret whsec_… --body FILE|-";

struct Args {
    url: String,
    token: String,
    secret: String,
    body: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let (mut url, mut token, mut secret, mut body) = (None, None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--url" => &mut url,
            "--token" => &mut token,
            "--secret" => &mut secret,
            "--body" => &mut body,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        };
        *slot = Some(it.next().with_context(|| format!("{flag} needs a value"))?);
    }
    let need =
        |v: Option<String>, name: &str| v.with_context(|| format!("missing {name}\n{USAGE}"));
    Ok(Args {
        url: need(url, "--url")?,
        token: need(token, "--token")?,
        secret: need(secret, "--secret")?,
        body: need(body, "--body")?,
    })
}

/// `http://host[:port][/path]` → (host, port, path).
fn split_url(url: &str) -> anyhow::Result<(String, u16, String)> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("only http:// URLs are supported (no TLS in this example): {url}");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // "[::1]:8080" keeps its brackets in `host` (for the Host header); "host:8080"; "host".
    let port_sep = match authority.rfind(']') {
        Some(i) => authority[i..].find(':').map(|j| i + j),
        None => authority.rfind(':'),
    };
    let (host, port) = match port_sep {
        Some(i) => (
            &authority[..i],
            authority[i + 1..]
                .parse()
                .with_context(|| format!("bad port in {url}"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        bail!("no host in {url}");
    }
    Ok((host.to_string(), port, path.to_string()))
}

fn no_crlf(what: &str, v: &str) -> anyhow::Result<()> {
    if v.contains(['\r', '\n']) {
        bail!("{what} must not contain line breaks");
    }
    Ok(())
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Ok(true) when the server answered 2xx.
fn run() -> anyhow::Result<bool> {
    let args = parse_args()?;
    let secret =
        WebhookSecret::parse(&args.secret).map_err(|e| anyhow::anyhow!("--secret: {e}"))?;
    let token = args.token.trim();
    let (host, port, path) = split_url(&args.url)?;
    no_crlf("--token", token)?;
    no_crlf("--url", &path)?;

    let body = if args.body == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the body from stdin")?;
        buf
    } else {
        std::fs::read(&args.body).with_context(|| format!("reading {}", args.body))?
    };

    let msg_id = format!(
        "msg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
    );
    let timestamp = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let signature = secret.sign(&msg_id, timestamp, &body);

    let host_header = if port == 80 {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\n\
         Host: {host_header}\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n\
         Content-Length: {}\r\n\
         {HEADER_ID}: {msg_id}\r\n\
         {HEADER_TIMESTAMP}: {timestamp}\r\n\
         {HEADER_SIGNATURE}: {signature}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    eprintln!(
        "{HEADER_ID}: {msg_id}\n{HEADER_TIMESTAMP}: {timestamp}\n{HEADER_SIGNATURE}: {signature}"
    );

    let addr = (host.trim_start_matches('[').trim_end_matches(']'), port);
    let mut stream =
        TcpStream::connect(addr).with_context(|| format!("connecting to {host}:{port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .context("reading the status line")?;
    let status_line = status_line.trim_end();
    if status_line.is_empty() {
        bail!("the server closed the connection without answering");
    }
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    // Connection: close, so the body runs to the end of the stream.
    let mut raw = Vec::new();
    reader
        .read_to_end(&mut raw)
        .context("reading the response body")?;
    let body = if chunked { dechunk(&raw)? } else { raw };

    println!("{status_line}");
    println!("{}", String::from_utf8_lossy(&body));
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    Ok(code.starts_with('2'))
}

/// Undo `Transfer-Encoding: chunked` (sizes in hex, optional extensions, trailers ignored).
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("malformed chunked body")?;
        let size_text = std::str::from_utf8(&raw[..eol])?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).context("malformed chunk size")?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = raw.get(..size).context("truncated chunk")?;
        out.extend_from_slice(chunk);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
}
