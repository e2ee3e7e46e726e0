//! Typed settings from the environment (`DOISOAT_*`, `DATABASE_URL`), optionally from a
//! `KEY=VALUE` file named by `DOISOAT_CONFIG`; the environment wins over the file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `sqlite:…` (default: a file under ./data, created on first run) or `postgres://…`.
    pub database_url: String,
    pub bind: SocketAddr,
    /// Largest upload accepted (bytes); larger gets 413.
    pub max_upload_bytes: usize,
    /// Largest total an uploaded workbook may inflate to (zip-bomb guard).
    pub max_uncompressed_bytes: u64,
    /// Largest number of cells one import may hold in memory.
    pub max_cells: u64,
    /// Imports (upload parsing) running at once; more wait their turn.
    pub max_concurrent_imports: usize,
    /// Upload requests read at once (each buffers its file); more wait their turn.
    pub max_concurrent_uploads: usize,
    pub request_timeout: Duration,
    /// How long a client may take to send a request's head (slow-loris guard).
    pub header_read_timeout: Duration,
    pub log_format: LogFormat,
    /// Mark cookies `Secure` even when no proxy says the request came over TLS
    /// (`DOISOAT_SECURE_COOKIES=true` behind a TLS proxy that sends no X-Forwarded-Proto).
    pub secure_cookies: bool,
    /// Where `GET /metrics` is also served without a token (an internal address for a
    /// Prometheus scraper); on the main address it needs an admin token.
    pub metrics_bind: Option<SocketAddr>,
    /// How often the server takes bank callbacks into the live figures of the periods that
    /// keep them (`DOISOAT_LIVE_REFRESH_MS`, default 500; 0: never, and reads take them in
    /// themselves, first; else reads answer at once, `X-Doisoat-Live: catching-up` until
    /// they are in).
    pub live_refresh: Duration,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite:data/doisoat.db";

/// A database URL fit for a log line: the password, if any, becomes `***`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Printed (a startup log, a panic message) without the database password.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redacted_url(&self.database_url))
            .field("bind", &self.bind)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("max_uncompressed_bytes", &self.max_uncompressed_bytes)
            .field("max_cells", &self.max_cells)
            .field("max_concurrent_imports", &self.max_concurrent_imports)
            .field("max_concurrent_uploads", &self.max_concurrent_uploads)
            .field("request_timeout", &self.request_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("log_format", &self.log_format)
            .field("secure_cookies", &self.secure_cookies)
            .field("metrics_bind", &self.metrics_bind)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cấu hình không hợp lệ / invalid setting {key}={value}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl Config {
    /// From the process environment (and the `DOISOAT_CONFIG` file, if set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("DOISOAT_CONFIG") {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
                key: "DOISOAT_CONFIG".into(),
                value: path.clone(),
                reason: e.to_string(),
            })?;
            vars.extend(parse_file(&text));
        }
        vars.extend(
            std::env::vars().filter(|(k, _)| k.starts_with("DOISOAT_") || k == "DATABASE_URL"),
        );
        Self::from_map(&vars)
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let bad = |k: &str, v: &str, reason: &str| ConfigError {
            key: k.into(),
            value: v.into(),
            reason: reason.into(),
        };
        let database_url = get("DATABASE_URL")
            .unwrap_or(DEFAULT_DATABASE_URL)
            .to_owned();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "DATABASE_URL",
                &database_url,
                "use sqlite:PATH or postgres://…",
            ));
        }
        let bind = match get("DOISOAT_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v
                .parse()
                .map_err(|_| bad("DOISOAT_BIND", v, "expected HOST:PORT, e.g. 0.0.0.0:8080"))?,
        };
        let metrics_bind = get("DOISOAT_METRICS_BIND")
            .map(|v| {
                v.parse().map_err(|_| {
                    bad(
                        "DOISOAT_METRICS_BIND",
                        v,
                        "expected HOST:PORT, e.g. 127.0.0.1:9100",
                    )
                })
            })
            .transpose()?;
        let number = |k: &str, default: u64| -> Result<u64, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(k, v, "expected a positive whole number")),
            }
        };
        let log_format = match get("DOISOAT_LOG_FORMAT")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(bad("DOISOAT_LOG_FORMAT", v, "expected text or json")),
        };
        let secure_cookies = match get("DOISOAT_SECURE_COOKIES")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(v) => return Err(bad("DOISOAT_SECURE_COOKIES", v, "expected true or false")),
        };
        Ok(Config {
            database_url,
            bind,
            max_upload_bytes: (number("DOISOAT_MAX_UPLOAD_MB", 50)? * 1024 * 1024) as usize,
            max_uncompressed_bytes: number("DOISOAT_MAX_UNCOMPRESSED_MB", 256)? * 1024 * 1024,
            max_cells: number("DOISOAT_MAX_CELLS", crate::import::guard::DEFAULT_MAX_CELLS)?,
            max_concurrent_imports: number("DOISOAT_MAX_CONCURRENT_IMPORTS", 2)? as usize,
            max_concurrent_uploads: number("DOISOAT_MAX_CONCURRENT_UPLOADS", 8)? as usize,
            request_timeout: Duration::from_secs(number("DOISOAT_REQUEST_TIMEOUT_SECS", 120)?),
            header_read_timeout: Duration::from_secs(number("DOISOAT_HEADER_TIMEOUT_SECS", 10)?),
            log_format,
            secure_cookies,
            metrics_bind,
            live_refresh: Duration::from_millis(number("DOISOAT_LIVE_REFRESH_MS", 500)?),
        })
    }
}

/// `KEY=VALUE` lines; `#` comments and blank lines ignored; optional quotes stripped.
fn parse_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::from_map(&HashMap::new());
        assert_eq!(
            c.as_ref().map(|c| c.database_url.as_str()),
            Ok(DEFAULT_DATABASE_URL)
        );
        assert_eq!(
            c.as_ref().map(|c| c.bind.to_string()),
            Ok("127.0.0.1:8080".to_owned())
        );
        assert_eq!(c.as_ref().map(|c| c.max_upload_bytes), Ok(50 * 1024 * 1024));
        assert_eq!(c.map(|c| c.log_format), Ok(LogFormat::Text));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = Config::from_map(&map(&[("DATABASE_URL", "mysql://x")])).err();
        assert_eq!(e.map(|e| e.key), Some("DATABASE_URL".to_owned()));
        let e = Config::from_map(&map(&[("DOISOAT_MAX_UPLOAD_MB", "lots")])).err();
        assert_eq!(e.map(|e| e.key), Some("DOISOAT_MAX_UPLOAD_MB".to_owned()));
        let e = Config::from_map(&map(&[("DOISOAT_BIND", "8080")])).err();
        assert_eq!(e.map(|e| e.key), Some("DOISOAT_BIND".to_owned()));
    }

    #[test]
    fn debug_hides_the_database_password() {
        let c = Config::from_map(&map(&[(
            "DATABASE_URL",
            "postgres://doisoat:s3cr3t-p@ss@db.example:5432/doisoat?sslmode=require",
        )]));
        let text = format!("{c:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            text.contains("postgres://doisoat:***@db.example:5432/doisoat?sslmode=require"),
            "{text}"
        );
        assert_eq!(
            redacted_url("sqlite:data/doisoat.db"),
            "sqlite:data/doisoat.db"
        );
        assert_eq!(redacted_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn file_lines() {
        let v =
            parse_file("# comment\nDATABASE_URL=\"postgres://a/b\"\n\nDOISOAT_BIND = 0.0.0.0:80\n");
        assert_eq!(
            v,
            vec![
                ("DATABASE_URL".to_owned(), "postgres://a/b".to_owned()),
                ("DOISOAT_BIND".to_owned(), "0.0.0.0:80".to_owned())
            ]
        );
    }
}
