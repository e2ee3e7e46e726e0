//! Signatures on bank callbacks, following Standard Webhooks (<https://www.standardwebhooks.com/>).
//!
//! A bank signs each `POST /api/v1/callbacks/payouts` with its per-bank secret:
//!
//! ```text
//! webhook-id:        msg_2Kfb0Y9vZ1f3h8ngCwYdSKr9yQA
//! webhook-timestamp: 1732250000                         (Unix seconds)
//! webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{raw body}"))>
//! ```
//!
//! where `key` is the base64-decoded part of the secret after `whsec_`. The signature header may
//! carry several space-separated signatures (e.g. while a secret is rotated); the request is
//! authentic if any `v1,` one matches. Pure functions only: the endpoint passes in the headers,
//! the raw body bytes (before any JSON parsing) and the current time. `docs/callbacks.md` is the
//! bank-facing description, with a worked example that the tests below pin.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Largest accepted difference between `webhook-timestamp` and the server clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// Prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";

/// Header names, as the endpoint should look them up.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Accepted length of the decoded key (Standard Webhooks: 24 to 64 bytes).
const KEY_LEN: std::ops::RangeInclusive<usize> = 24..=64;

/// A bank's signing secret. Unlike API tokens it cannot be stored as a hash: the server needs
/// the key itself to recompute signatures.
#[derive(Clone)]
pub struct WebhookSecret {
    /// HMAC-SHA256 already keyed with the decoded secret (the key schedule is done once, and
    /// there is no fallible keying left to do per request). Cloned for every message.
    mac: HmacSha256,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// A new random secret (32 bytes) and its `whsec_…` text, to show once to the bank.
    pub fn generate() -> (WebhookSecret, String) {
        let bytes: [u8; 32] = rand::random();
        let text = format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes));
        match Self::from_key(&bytes) {
            Ok(secret) => (secret, text),
            // 32 bytes is inside KEY_LEN and HMAC takes keys of any length.
            Err(_) => unreachable!("a 32-byte key is always valid"),
        }
    }

    /// `whsec_<base64>` (standard alphabet, padded), or the bare base64. Surrounding whitespace
    /// is ignored. The decoded key must be 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, WebhookError> {
        let text = text.trim();
        let b64 = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = STANDARD.decode(b64).map_err(|_| WebhookError::BadSecret)?;
        Self::from_key(&key)
    }

    fn from_key(key: &[u8]) -> Result<WebhookSecret, WebhookError> {
        if !KEY_LEN.contains(&key.len()) {
            return Err(WebhookError::BadSecret);
        }
        let mac = HmacSha256::new_from_slice(key).map_err(|_| WebhookError::BadSecret)?;
        Ok(WebhookSecret { mac })
    }

    /// The `webhook-signature` value for one message: `v1,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac_for(msg_id, &timestamp.to_string(), body)
            .finalize();
        format!("v1,{}", STANDARD.encode(tag.into_bytes()))
    }

    /// HMAC state after `{id}.{timestamp}.{body}`, ready to finalize or verify.
    fn mac_for(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// Why a callback was refused. The endpoint answers all of them with 401 and stores nothing.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// The named header is absent or empty.
    #[error("{} / {}", self.message_vi(), self.message_en())]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of Unix seconds.
    #[error("{} / {}", self.message_vi(), self.message_en())]
    BadTimestamp,
    /// `webhook-timestamp` is more than [`TOLERANCE_SECS`] away from the server clock.
    /// `skew_secs` = server time − timestamp: positive when the timestamp is in the past.
    #[error("{} / {}", self.message_vi(), self.message_en())]
    StaleTimestamp { skew_secs: i64 },
    /// No `v1,` signature in the header matches.
    #[error("{} / {}", self.message_vi(), self.message_en())]
    BadSignature,
    /// The secret is not `whsec_<base64 of 24–64 bytes>`.
    #[error("{} / {}", self.message_vi(), self.message_en())]
    BadSecret,
}

impl WebhookError {
    pub fn message_vi(&self) -> String {
        match self {
            Self::MissingHeader(name) => format!("thiếu tiêu đề {name}"),
            Self::BadTimestamp => {
                format!("{HEADER_TIMESTAMP} phải là số giây Unix (số nguyên)")
            }
            Self::StaleTimestamp { skew_secs } => format!(
                "{HEADER_TIMESTAMP} lệch {skew_secs} giây so với giờ máy chủ \
                 (cho phép ±{TOLERANCE_SECS} giây); hãy kiểm tra đồng hồ và ký lại"
            ),
            Self::BadSignature => format!("chữ ký {HEADER_SIGNATURE} không hợp lệ"),
            Self::BadSecret => format!(
                "khoá bí mật webhook không hợp lệ (cần {SECRET_PREFIX}<base64 của 24–64 byte>)"
            ),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::MissingHeader(name) => format!("missing header {name}"),
            Self::BadTimestamp => {
                format!("{HEADER_TIMESTAMP} must be Unix seconds (an integer)")
            }
            Self::StaleTimestamp { skew_secs } => format!(
                "{HEADER_TIMESTAMP} is {skew_secs} s away from the server clock \
                 (±{TOLERANCE_SECS} s allowed); check the clock and sign again"
            ),
            Self::BadSignature => format!("{HEADER_SIGNATURE} does not match"),
            Self::BadSecret => {
                format!("invalid webhook secret (expected {SECRET_PREFIX}<base64 of 24–64 bytes>)")
            }
        }
    }
}

/// Verify the three headers against the raw body. `now` is the server's Unix time in seconds.
///
/// Order: missing headers, then the timestamp (format, then ±[`TOLERANCE_SECS`]), then the
/// signatures. The timestamp is signed exactly as it appears in the header. Signatures other
/// than `v1,` and undecodable ones are skipped; each candidate is compared in constant time.
pub fn verify(
    secret: &WebhookSecret,
    msg_id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let msg_id = present(msg_id, HEADER_ID)?;
    let timestamp = present(timestamp, HEADER_TIMESTAMP)?.trim();
    let signature = present(signature, HEADER_SIGNATURE)?;

    // Digits only: i64's parser would also take "+…", which the sender did not sign as such.
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::BadTimestamp);
    }
    let ts: i64 = timestamp.parse().map_err(|_| WebhookError::BadTimestamp)?;
    let skew_secs = now.saturating_sub(ts);
    if skew_secs.unsigned_abs() > TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::StaleTimestamp { skew_secs });
    }

    // Hash the body once; each candidate only finalizes a clone.
    let mac = secret.mac_for(msg_id, timestamp, body);
    let mut matched = false;
    for candidate in signature.split_ascii_whitespace() {
        let Some(("v1", b64)) = candidate.split_once(',') else {
            continue;
        };
        let Ok(tag) = STANDARD.decode(b64) else {
            continue;
        };
        // Constant-time comparison; no early exit, so the timing does not tell which one matched.
        matched |= mac.clone().verify_slice(&tag).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

fn present<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, WebhookError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(WebhookError::MissingHeader(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// The worked example of docs/callbacks.md.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_2Kfb0Y9vZ1f3h8ngCwYdSKr9yQA";
    const TS: i64 = 1732250000;
    const BODY: &str = r#"{"transaction_ref":"FT24264000001","period":"2024-09","population_id":"025038000101","account_number":"4200205123456","beneficiary_name":"NGUYEN VAN AN","amount":"1500000","currency":"VND","status":"success","value_date":"2024-09-20"}"#;
    /// Computed outside this crate, with Python's hmac module and with `openssl dgst -mac HMAC`
    /// (both give the same value); see docs/callbacks.md.
    const EXPECTED: &str = "v1,IWgFX6ylEy0zfrqFBw0FVyXbekGicB6QYPmATSpqz0Q=";

    fn secret(text: &str) -> WebhookSecret {
        WebhookSecret::parse(text).unwrap_or_else(|e| panic!("parse {text}: {e}"))
    }

    fn check(sig: &str, id: &str, ts: &str, body: &[u8], now: i64) -> Result<(), WebhookError> {
        verify(&secret(SECRET), Some(id), Some(ts), Some(sig), body, now)
    }

    /// HMAC-SHA256 written out from RFC 2104 on top of sha2 alone: a second path to the tag.
    fn rfc2104(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |x: u8| block.map(|b| b ^ x);
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(msg)
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }

    #[test]
    fn worked_example_matches_the_docs() {
        assert_eq!(BODY.len(), 234, "one line, no trailing newline");
        let s = secret(SECRET);
        assert_eq!(s.sign(ID, TS, BODY.as_bytes()), EXPECTED);
        // Same value via a hand-written HMAC over the exact string to sign.
        let key = STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_else(|e| panic!("{e}"));
        let tag = rfc2104(&key, format!("{ID}.{TS}.{BODY}").as_bytes());
        assert_eq!(format!("v1,{}", STANDARD.encode(tag)), EXPECTED);
        assert_eq!(
            check(EXPECTED, ID, "1732250000", BODY.as_bytes(), TS),
            Ok(())
        );
        // The bare base64 form of the secret is the same key.
        assert_eq!(
            secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(ID, TS, BODY.as_bytes()),
            EXPECTED
        );
    }

    #[test]
    fn standard_webhooks_test_vector() {
        // From the Standard Webhooks reference libraries (checked with Python's hmac too).
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let (id, ts, body) = (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(secret(SECRET).sign(id, ts, body), sig);
        assert_eq!(check(sig, id, "1614265330", body, ts + 10), Ok(()));
    }

    #[test]
    fn hand_written_hmac_agrees_for_many_inputs() {
        for n in [0usize, 1, 63, 64, 65, 1000] {
            let (s, text) = WebhookSecret::generate();
            let key = STANDARD
                .decode(&text[SECRET_PREFIX.len()..])
                .unwrap_or_else(|e| panic!("{e}"));
            let body: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let mut msg = format!("msg_{n}.{TS}.").into_bytes();
            msg.extend_from_slice(&body);
            let want = format!("v1,{}", STANDARD.encode(rfc2104(&key, &msg)));
            assert_eq!(s.sign(&format!("msg_{n}"), TS, &body), want);
        }
    }

    #[test]
    fn tampering_is_a_bad_signature() {
        let body = BODY.as_bytes();
        let tampered_body = BODY.replace("1500000", "1600000");
        assert_eq!(
            check(EXPECTED, ID, "1732250000", tampered_body.as_bytes(), TS),
            Err(WebhookError::BadSignature)
        );
        let with_newline = format!("{BODY}\n");
        assert_eq!(
            check(EXPECTED, ID, "1732250000", with_newline.as_bytes(), TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(
                EXPECTED,
                "msg_2Kfb0Y9vZ1f3h8ngCwYdSKr9yQB",
                "1732250000",
                body,
                TS
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(EXPECTED, ID, "1732250001", body, TS),
            Err(WebhookError::BadSignature)
        );
        // Another bank's secret.
        let (other, _) = WebhookSecret::generate();
        assert_eq!(
            verify(
                &other,
                Some(ID),
                Some("1732250000"),
                Some(EXPECTED),
                body,
                TS
            ),
            Err(WebhookError::BadSignature)
        );
        // Truncated, garbage, wrong version, empty tag.
        for sig in [
            &EXPECTED[..EXPECTED.len() - 4],
            "v1,not base64!",
            "v1,",
            "v2,IWgFX6ylEy0zfrqFBw0FVyXbekGicB6QYPmATSpqz0Q=",
            "IWgFX6ylEy0zfrqFBw0FVyXbekGicB6QYPmATSpqz0Q=",
            "v1a,IWgFX6ylEy0zfrqFBw0FVyXbekGicB6QYPmATSpqz0Q=",
        ] {
            assert_eq!(
                check(sig, ID, "1732250000", body, TS),
                Err(WebhookError::BadSignature),
                "{sig}"
            );
        }
    }

    #[test]
    fn timestamps_outside_five_minutes_are_stale() {
        let body = BODY.as_bytes();
        assert_eq!(check(EXPECTED, ID, "1732250000", body, TS + 300), Ok(()));
        assert_eq!(check(EXPECTED, ID, "1732250000", body, TS - 300), Ok(()));
        assert_eq!(
            check(EXPECTED, ID, "1732250000", body, TS + 301),
            Err(WebhookError::StaleTimestamp { skew_secs: 301 })
        );
        assert_eq!(
            check(EXPECTED, ID, "1732250000", body, TS - 301),
            Err(WebhookError::StaleTimestamp { skew_secs: -301 })
        );
        // Staleness is reported even with a wrong signature, and huge values do not overflow.
        assert_eq!(
            check("v1,AAAA", ID, "9223372036854775807", body, TS),
            Err(WebhookError::StaleTimestamp {
                skew_secs: TS - i64::MAX
            })
        );
        assert_eq!(
            check(EXPECTED, ID, "1732250000", body, i64::MIN),
            Err(WebhookError::StaleTimestamp {
                skew_secs: i64::MIN
            })
        );
    }

    #[test]
    fn malformed_or_missing_headers() {
        let s = secret(SECRET);
        let body = BODY.as_bytes();
        let ts = Some("1732250000");
        let v = |id, ts, sig| verify(&s, id, ts, sig, body, TS);
        assert_eq!(
            v(None, ts, Some(EXPECTED)),
            Err(WebhookError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            v(Some(" "), ts, Some(EXPECTED)),
            Err(WebhookError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            v(Some(ID), None, Some(EXPECTED)),
            Err(WebhookError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(
            v(Some(ID), ts, None),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        assert_eq!(
            v(Some(ID), ts, Some("")),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        for bad in [
            "abc",
            "1732250000.0",
            "+1732250000",
            "-1",
            "1e9",
            "17322 50000",
            "99999999999999999999",
        ] {
            assert_eq!(
                v(Some(ID), Some(bad), Some(EXPECTED)),
                Err(WebhookError::BadTimestamp),
                "{bad}"
            );
        }
        // Optional whitespace around the header value is not part of it.
        assert_eq!(v(Some(ID), Some(" 1732250000 "), Some(EXPECTED)), Ok(()));
    }

    #[test]
    fn any_one_valid_signature_is_enough() {
        let body = BODY.as_bytes();
        let (old, _) = WebhookSecret::generate();
        let old_sig = old.sign(ID, TS, body);
        for header in [
            format!("{old_sig} {EXPECTED}"),
            format!("{EXPECTED} {old_sig}"),
            format!("v1,garbage!! v2,xyz {EXPECTED}"),
            format!("  {old_sig}   {EXPECTED}  "),
        ] {
            assert_eq!(
                check(&header, ID, "1732250000", body, TS),
                Ok(()),
                "{header}"
            );
        }
        assert_eq!(
            check(&format!("{old_sig} v1,AAAA"), ID, "1732250000", body, TS),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn generated_secrets_round_trip_and_stay_hidden() {
        let (s, text) = WebhookSecret::generate();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(text.len(), 6 + 44, "32 bytes in padded base64");
        let parsed = secret(&format!(" {text}\n"));
        let sig = s.sign(ID, TS, b"{}");
        assert_eq!(parsed.sign(ID, TS, b"{}"), sig);
        assert_eq!(
            verify(&parsed, Some(ID), Some("1732250000"), Some(&sig), b"{}", TS),
            Ok(())
        );
        let (_, other) = WebhookSecret::generate();
        assert_ne!(text, other);

        let debug = format!("{s:?} {parsed:?}");
        assert!(
            !debug.contains(&text[6..]) && !debug.contains(&text[6..16]),
            "{debug}"
        );
        assert_eq!(format!("{s:?}"), "WebhookSecret(<redacted>)");
        let debug = format!("{:?}", secret(SECRET));
        assert!(!debug.contains("MfKQ9r8G"), "{debug}");
    }

    #[test]
    fn bad_secrets_are_refused() {
        for text in [
            "",
            "whsec_",
            "whsec_not base64!",
            "whsec_AAAA",                             // 3 bytes
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", // 22 bytes
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  // bad padding
        ] {
            assert_eq!(
                WebhookSecret::parse(text).map(|_| ()),
                Err(WebhookError::BadSecret),
                "{text}"
            );
        }
        let b64_of = |n: usize| STANDARD.encode(vec![7u8; n]);
        assert!(WebhookSecret::parse(&format!("whsec_{}", b64_of(24))).is_ok());
        assert!(WebhookSecret::parse(&format!("whsec_{}", b64_of(64))).is_ok());
        assert!(WebhookSecret::parse(&format!("whsec_{}", b64_of(65))).is_err());
    }

    #[test]
    fn messages_are_bilingual() {
        let e = WebhookError::StaleTimestamp { skew_secs: -301 };
        assert_eq!(
            e.to_string(),
            format!("{} / {}", e.message_vi(), e.message_en())
        );
        assert!(
            e.message_vi().contains("lệch -301 giây"),
            "{}",
            e.message_vi()
        );
        assert!(e.message_en().contains("-301 s"), "{}", e.message_en());
        assert_eq!(
            WebhookError::MissingHeader("webhook-id").to_string(),
            "thiếu tiêu đề webhook-id / missing header webhook-id"
        );
    }
}
