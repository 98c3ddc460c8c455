//! Signing and verifying outgoing webhooks under the Standard Webhooks scheme.
//!
//! A message is signed as `HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")`, sent as
//! `v1,<base64>` in the `webhook-signature` header next to `webhook-id` and
//! `webhook-timestamp`. Secrets travel as `whsec_<base64 of the key bytes>`.
//!
//! Secret length: the Standard Webhooks spec asks for keys of 24 to 64 bytes, and
//! [`WebhookSecret::parse`] enforces exactly that range. The spec's own example secret
//! decodes to 24 bytes, so it passes through the normal public API;
//! [`WebhookSecret::generate`] makes 32-byte keys.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of the textual form of a secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest key accepted by [`WebhookSecret::parse`], in bytes.
pub const MIN_SECRET_BYTES: usize = 24;
/// Longest key accepted by [`WebhookSecret::parse`], in bytes.
pub const MAX_SECRET_BYTES: usize = 64;
/// Size of keys made by [`WebhookSecret::generate`], in bytes.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// How far the `webhook-timestamp` may be from the receiver's clock, either way, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Name of the header carrying the message id.
pub const HEADER_ID: &str = "webhook-id";
/// Name of the header carrying the send time in unix seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Name of the header carrying the signature(s).
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// A webhook signing key (raw bytes). `Debug` never shows the key.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

/// Why a `whsec_...` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text does not start with `whsec_`.
    #[error("webhook secret must start with \"whsec_\"")]
    MissingPrefix,
    /// The part after the prefix is not standard (padded) base64.
    #[error("webhook secret is not valid base64")]
    BadBase64,
    /// The key is shorter than [`MIN_SECRET_BYTES`].
    #[error("webhook secret is {0} bytes, at least {MIN_SECRET_BYTES} are required")]
    TooShort(usize),
    /// The key is longer than [`MAX_SECRET_BYTES`].
    #[error("webhook secret is {0} bytes, at most {MAX_SECRET_BYTES} are allowed")]
    TooLong(usize),
}

impl WebhookSecret {
    /// A fresh random 32-byte key from the thread-local CSPRNG.
    pub fn generate() -> Self {
        let bytes: [u8; GENERATED_SECRET_BYTES] = rand::random();
        Self(bytes.to_vec())
    }

    /// Parses `whsec_` + standard base64 (with padding). The key must be 24..=64 bytes.
    /// The input is not trimmed: strip surrounding whitespace before calling.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let encoded = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::BadBase64)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The textual form, `whsec_` + standard base64; [`WebhookSecret::parse`] reads it back.
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// An HMAC already fed with `"{msg_id}.{timestamp}.{body}"`.
    fn mac_for(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The `v1,<base64>` signature of one message under one secret.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac_for(msg_id, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// Value for the `webhook-signature` header when signing with several secrets (rotation):
/// the `v1` signatures for each secret, in order, separated by single spaces.
/// An empty slice gives an empty string, which no receiver will accept.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| sign(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a received webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header (named) is absent or blank.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a non-negative decimal number of seconds.
    #[error("webhook-timestamp is not a decimal number of seconds")]
    BadTimestamp,
    /// The timestamp is more than [`TOLERANCE_SECS`] in the past.
    #[error("webhook timestamp is too old")]
    TimestampTooOld,
    /// The timestamp is more than [`TOLERANCE_SECS`] in the future.
    #[error("webhook timestamp is too far in the future")]
    TimestampTooNew,
    /// No `v1` entry in `webhook-signature` matches.
    #[error("no matching webhook signature")]
    NoValidSignature,
}

/// Verify headers as a receiver would.
///
/// `timestamp_header` is the `webhook-timestamp` text (decimal unix seconds, ASCII digits
/// only), `signature_header` the `webhook-signature` value (one or more space-separated
/// `vN,base64` entries), `now` the receiver's clock in unix seconds. The timestamp must be
/// within [`TOLERANCE_SECS`] of `now` either way (the bound itself is accepted) and is
/// checked before any signature. Only `v1` entries count; each is base64-decoded and
/// compared with HMAC `verify_slice` (constant time), so a bare `v1,`, a truncated
/// signature, another version or garbage base64 never verifies. Any one match is enough.
pub fn verify(
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    if msg_id.is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_ID));
    }
    if timestamp_header.is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_TIMESTAMP));
    }
    if signature_header.trim().is_empty() {
        return Err(VerifyError::MissingHeader(HEADER_SIGNATURE));
    }

    let timestamp = parse_timestamp(timestamp_header)?;
    // i128 so that no `now` can overflow the subtraction.
    let age = i128::from(now) - i128::from(timestamp);
    if age > i128::from(TOLERANCE_SECS) {
        return Err(VerifyError::TimestampTooOld);
    }
    if -age > i128::from(TOLERANCE_SECS) {
        return Err(VerifyError::TimestampTooNew);
    }

    // Re-format the parsed value, as `sign` does (and as the reference libraries do).
    let mac = secret.mac_for(msg_id, &timestamp.to_string(), body);
    let matched = signature_header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, b64)| STANDARD.decode(b64).ok())
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoValidSignature)
    }
}

/// Decimal ASCII digits only: no sign, no spaces, no fraction.
fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::BadTimestamp);
    }
    text.parse::<i64>().map_err(|_| VerifyError::BadTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vector from the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TS: i64 = 1_649_367_553;
    const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn spec_secret() -> WebhookSecret {
        WebhookSecret::parse(SPEC_SECRET).expect("spec secret parses")
    }

    fn spec_verify(sig: &str, now: i64) -> Result<(), VerifyError> {
        verify(
            &spec_secret(),
            SPEC_ID,
            &SPEC_TS.to_string(),
            sig,
            SPEC_BODY,
            now,
        )
    }

    #[test]
    fn spec_secret_is_exactly_the_minimum_length() {
        assert_eq!(spec_secret().0.len(), MIN_SECRET_BYTES);
    }

    #[test]
    fn sign_matches_spec_vector() {
        assert_eq!(sign(&spec_secret(), SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIG);
    }

    #[test]
    fn verify_accepts_spec_vector_within_tolerance() {
        for delta in [0, 299, -299, 300, -300] {
            assert_eq!(
                spec_verify(SPEC_SIG, SPEC_TS + delta),
                Ok(()),
                "delta {delta}"
            );
        }
    }

    #[test]
    fn verify_refuses_outside_tolerance() {
        assert_eq!(
            spec_verify(SPEC_SIG, SPEC_TS + 301),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            spec_verify(SPEC_SIG, SPEC_TS - 301),
            Err(VerifyError::TimestampTooNew)
        );
    }

    #[test]
    fn verify_refuses_malformed_signatures() {
        let b64 = SPEC_SIG.strip_prefix("v1,").unwrap();
        let cases = [
            "v1,".to_string(),
            "v1".to_string(),
            ",".to_string(),
            // Truncated, still valid base64 (30 bytes).
            format!("v1,{}", &b64[..40]),
            // Truncated, invalid base64.
            format!("v1,{}", &b64[..b64.len() - 1]),
            // Right bytes, wrong version.
            format!("v2,{b64}"),
            format!("V1,{b64}"),
            format!("v1a,{b64}"),
            // Garbage.
            "v1,!!!not-base64!!!".to_string(),
            format!("v1,{}", b64.replace('+', "-")),
            // Correct signature glued to extra text.
            format!("{SPEC_SIG}x"),
        ];
        for sig in &cases {
            assert_eq!(
                spec_verify(sig, SPEC_TS),
                Err(VerifyError::NoValidSignature),
                "{sig:?}"
            );
        }
    }

    #[test]
    fn verify_refuses_wrong_id_body_or_secret() {
        let ts = SPEC_TS.to_string();
        let secret = spec_secret();
        assert_eq!(
            verify(&secret, "msg_other", &ts, SPEC_SIG, SPEC_BODY, SPEC_TS),
            Err(VerifyError::NoValidSignature)
        );
        assert_eq!(
            verify(&secret, SPEC_ID, &ts, SPEC_SIG, b"{}", SPEC_TS),
            Err(VerifyError::NoValidSignature)
        );
        let other = WebhookSecret::generate();
        assert_eq!(
            verify(&other, SPEC_ID, &ts, SPEC_SIG, SPEC_BODY, SPEC_TS),
            Err(VerifyError::NoValidSignature)
        );
    }

    #[test]
    fn verify_refuses_a_different_timestamp_in_range() {
        // Signature was made for SPEC_TS; header claims one second later.
        let ts = (SPEC_TS + 1).to_string();
        assert_eq!(
            verify(&spec_secret(), SPEC_ID, &ts, SPEC_SIG, SPEC_BODY, SPEC_TS),
            Err(VerifyError::NoValidSignature)
        );
    }

    #[test]
    fn verify_refuses_bad_timestamps() {
        let secret = spec_secret();
        for ts in [
            "abc",
            "1649367553.0",
            " 1649367553",
            "+1649367553",
            "-1649367553",
            "99999999999999999999999",
        ] {
            assert_eq!(
                verify(&secret, SPEC_ID, ts, SPEC_SIG, SPEC_BODY, SPEC_TS),
                Err(VerifyError::BadTimestamp),
                "{ts:?}"
            );
        }
    }

    #[test]
    fn verify_reports_missing_headers() {
        let secret = spec_secret();
        let ts = SPEC_TS.to_string();
        assert_eq!(
            verify(&secret, "", &ts, SPEC_SIG, SPEC_BODY, SPEC_TS),
            Err(VerifyError::MissingHeader(HEADER_ID))
        );
        assert_eq!(
            verify(&secret, SPEC_ID, "", SPEC_SIG, SPEC_BODY, SPEC_TS),
            Err(VerifyError::MissingHeader(HEADER_TIMESTAMP))
        );
        assert_eq!(
            verify(&secret, SPEC_ID, &ts, "  ", SPEC_BODY, SPEC_TS),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE))
        );
    }

    #[test]
    fn verify_handles_extreme_clocks_without_overflow() {
        let secret = spec_secret();
        let ts = SPEC_TS.to_string();
        assert_eq!(
            verify(&secret, SPEC_ID, &ts, SPEC_SIG, SPEC_BODY, i64::MAX),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            verify(&secret, SPEC_ID, &ts, SPEC_SIG, SPEC_BODY, i64::MIN),
            Err(VerifyError::TimestampTooNew)
        );
    }

    #[test]
    fn verify_accepts_when_any_entry_is_valid() {
        let header = format!("v2,abc v1,AAAA v1, {SPEC_SIG}  v1,zzzz");
        assert_eq!(spec_verify(&header, SPEC_TS), Ok(()));
    }

    #[test]
    fn rotated_pair_verifies_with_either_secret() {
        let old = spec_secret();
        let new = WebhookSecret::generate();
        let header = signature_header(&[&old, &new], SPEC_ID, SPEC_TS, SPEC_BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with(SPEC_SIG));
        let ts = SPEC_TS.to_string();
        for s in [&old, &new] {
            assert_eq!(verify(s, SPEC_ID, &ts, &header, SPEC_BODY, SPEC_TS), Ok(()));
        }
        let stranger = WebhookSecret::generate();
        assert_eq!(
            verify(&stranger, SPEC_ID, &ts, &header, SPEC_BODY, SPEC_TS),
            Err(VerifyError::NoValidSignature)
        );
    }

    #[test]
    fn signature_header_of_no_secrets_is_empty() {
        assert_eq!(signature_header(&[], SPEC_ID, SPEC_TS, SPEC_BODY), "");
    }

    #[test]
    fn debug_hides_the_key() {
        let secret = spec_secret();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "WebhookSecret(***)");
        assert!(!shown.contains("C2FVsBQIhrscChlQIMV"));
        let shown = format!("{:#?}", WebhookSecret::generate());
        assert_eq!(shown, "WebhookSecret(***)");
    }

    #[test]
    fn generate_round_trips_through_whsec() {
        let secret = WebhookSecret::generate();
        assert_eq!(secret.0.len(), GENERATED_SECRET_BYTES);
        let text = secret.to_whsec();
        assert!(text.starts_with(SECRET_PREFIX));
        let back = WebhookSecret::parse(&text).unwrap();
        assert_eq!(back.0, secret.0);
        assert_eq!(back.to_whsec(), text);
        // Two generated keys differ.
        assert_ne!(WebhookSecret::generate().0, secret.0);
    }

    #[test]
    fn parse_round_trips_spec_secret() {
        assert_eq!(spec_secret().to_whsec(), SPEC_SECRET);
    }

    #[test]
    fn parse_rejects_bad_secrets() {
        assert_eq!(
            WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap_err(),
            SecretError::MissingPrefix
        );
        assert_eq!(
            WebhookSecret::parse("WHSEC_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap_err(),
            SecretError::MissingPrefix
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!").unwrap_err(),
            SecretError::BadBase64
        );
        // URL-safe alphabet is not standard base64.
        assert_eq!(
            WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD").unwrap_err(),
            SecretError::BadBase64
        );
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(
            WebhookSecret::parse(&short).unwrap_err(),
            SecretError::TooShort(23)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_").unwrap_err(),
            SecretError::TooShort(0)
        );
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(
            WebhookSecret::parse(&long).unwrap_err(),
            SecretError::TooLong(65)
        );
        let max = format!("whsec_{}", STANDARD.encode([7u8; 64]));
        assert!(WebhookSecret::parse(&max).is_ok());
        // Trailing newline (e.g. from a file) is not silently accepted.
        assert_eq!(
            WebhookSecret::parse(&format!("{SPEC_SECRET}\n")).unwrap_err(),
            SecretError::BadBase64
        );
    }
}
