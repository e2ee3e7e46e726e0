//! Signed-in sessions for the web pages: a random id in an HttpOnly, SameSite=Strict
//! cookie, stored server-side only as its SHA-256 (so sign-out and token revocation end
//! it), and a per-session CSRF token every form carries.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};

use crate::app::AppState;
use crate::domain::Lang;
use crate::domain::access::Role;
use crate::store::{TokenInfo, WebSession};

pub const SESSION_COOKIE: &str = "doisoat_session";
pub const LOGIN_COOKIE: &str = "doisoat_login";
pub const LANG_COOKIE: &str = "doisoat_lang";
/// A working day; signing in again after that is cheap, a stolen cookie's life is short.
pub const SESSION_HOURS: i64 = 8;

/// 32 random bytes, base64url: session ids and CSRF tokens.
pub fn random_secret() -> String {
    crate::tokens::random_base64url()
}

pub fn session_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(SESSION_HOURS)
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Secure` when the request reached us over TLS (a proxy in front says so), so the
/// cookie still works on plain http://127.0.0.1 during local use.
fn secure(headers: &HeaderMap, force: bool) -> &'static str {
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if force || tls { "; Secure" } else { "" }
}

pub fn set_cookie(
    headers: &HeaderMap,
    force_secure: bool,
    name: &str,
    value: &str,
    max_age_secs: i64,
) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        secure(headers, force_secure)
    )
}

pub fn clear_cookie(headers: &HeaderMap, force_secure: bool, name: &str) -> String {
    set_cookie(headers, force_secure, name, "", 0)
}

/// The page language: the cookie, else the browser's first choice, else Vietnamese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => return Lang::En,
        Some("vi") => return Lang::Vi,
        _ => {}
    }
    let first = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("");
    if first.trim().to_ascii_lowercase().starts_with("en") {
        Lang::En
    } else {
        Lang::Vi
    }
}

/// Constant-time equality for CSRF tokens.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where to come back to after signing in: a path on this site only. Browsers drop tabs and
/// newlines and read `\` as `/` in a location, so `/\t/evil.example` and `/\\evil.example`
/// would leave the site; any control character, whitespace or backslash is refused, and so
/// is `//` (another host).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/periods".to_owned(),
    }
}

/// The signed-in user of a page. Without a live session, pages redirect to sign-in.
pub struct Viewer {
    pub session: WebSession,
    pub lang: Lang,
}

impl Viewer {
    pub fn token(&self) -> &TokenInfo {
        &self.session.token
    }

    pub fn role(&self) -> Role {
        self.session.token.role
    }

    /// As written in the audit trail (the same form as API callers).
    pub fn actor(&self) -> String {
        self.session.token.actor()
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    pub fn can_write(&self) -> bool {
        self.role().can_write()
    }

    pub fn can_audit(&self) -> bool {
        self.role().can_audit()
    }

    pub fn sees_full_ids(&self) -> bool {
        self.role().sees_full_ids()
    }

    pub fn csrf_ok(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|s| same_secret(s, self.csrf()))
    }
}

pub fn session_hash(id: &str) -> String {
    crate::domain::sha256_hex(id.as_bytes())
}

/// Redirect to sign-in (pages) or refuse (form posts, whose data would be lost anyway).
pub struct SignInRequired {
    next: Option<String>,
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        match self.next {
            Some(next) => {
                let q: String = url_encode(&next);
                Redirect::to(&format!("/login?next={q}")).into_response()
            }
            None => Redirect::to("/login").into_response(),
        }
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let next = (parts.method == Method::GET).then(|| {
            parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned())
        });
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(SignInRequired { next }.into_response());
        };
        match state
            .store
            .session_by_hash(&session_hash(&id), Utc::now())
            .await
        {
            Ok(Some(session)) => Ok(Viewer { session, lang }),
            Ok(None) => Err(SignInRequired { next }.into_response()),
            Err(e) => Err(super::pages::WebError::from(e)
                .into_page(lang)
                .into_response()),
        }
    }
}

/// The site's own origin, for checking `Origin` on posts (defence in depth beside the
/// CSRF token and SameSite).
pub fn cross_site_post(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    !origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_read_from_any_header_and_pair() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; doisoat_lang=en"));
        h.append(COOKIE, HeaderValue::from_static("doisoat_session=abc"));
        assert_eq!(cookie(&h, "doisoat_session").as_deref(), Some("abc"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn session_cookie_flags() {
        let mut h = HeaderMap::new();
        let c = set_cookie(&h, false, SESSION_COOKIE, "x", 60);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(set_cookie(&h, false, SESSION_COOKIE, "x", 60).ends_with("; Secure"));
        assert!(set_cookie(&HeaderMap::new(), true, SESSION_COOKIE, "x", 60).ends_with("; Secure"));
    }

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/periods/3?page=2")), "/periods/3?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/periods");
        assert_eq!(safe_next(Some("https://evil.example")), "/periods");
        assert_eq!(safe_next(None), "/periods");
    }

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site_post(&h));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!cross_site_post(&h));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(cross_site_post(&h));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
