//! The operator API's authentication, as Argus 2.x does it: `Authorization:
//! Bearer <JWT>` signed with the shared HMAC secret (HS256; HS384 and HS512 accepted too), at
//! most five minutes old by its `iat`, whose `reqUrl` must be the request's path and query and
//! whose `reqBody` must equal the request's JSON body (`{}` without one). Unlike Argus, a token
//! is good for one call: a token seen in a log or on the wire could be replayed for the rest of
//! its five or six minutes (issue 14, defect 17), so the tokens used are kept until they would
//! have expired. The secret is never logged, and must be at least [`MIN_SECRET_BYTES`] long.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A token older than this is refused.
pub const MAX_AGE_SECS: u64 = 300;

/// The shortest operator secret accepted: one token lets anyone try secrets offline, so the
/// secret must be out of reach of guessing (256 bits of a random string; RFC 7518 §3.2 asks
/// HS256 keys to be at least as long as the hash).
pub const MIN_SECRET_BYTES: usize = 32;

/// Tokens used at most kept at once; more valid tokens than this within their lifetime (each
/// needs the secret) are refused until older ones expire.
const MAX_SEEN: usize = 100_000;

/// The tokens already used, each until it would have expired.
#[derive(Debug, Default)]
pub struct Seen(std::sync::Mutex<std::collections::HashMap<String, u64>>);

impl Seen {
    /// Records `token` as used until `until` (unix seconds); an error if it was used before.
    fn admit(&self, token: &str, until: u64, now: u64) -> Result<(), AuthError> {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, expires| *expires >= now);
        if seen.contains_key(token) {
            return Err(AuthError::Replayed);
        }
        if seen.len() >= MAX_SEEN {
            return Err(AuthError::Invalid(
                "too many operator calls; retry later".into(),
            ));
        }
        seen.insert(token.to_string(), until);
        Ok(())
    }
}

/// The claims of an operator call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The request's path and query, e.g. `/api/v1/set-buckets`.
    #[serde(rename = "reqUrl")]
    pub req_url: String,
    /// The request's body.
    #[serde(rename = "reqBody")]
    pub req_body: Value,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires, seconds since the epoch (optional, checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// A token id, unique per signature, so two calls signed in the same second are two tokens
    /// (Argus's CLI sends none: its identical tokens within a second count as one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// The operator API has no secret configured.
    #[error("operator calls are disabled (no operator_secret configured)")]
    Disabled,
    /// Bad signature, algorithm or shape.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Older than [`MAX_AGE_SECS`], or expired.
    #[error("token expired")]
    Expired,
    /// Signed for another URL.
    #[error("token is for {0}, not this request")]
    WrongUrl(String),
    /// Signed for another body.
    #[error("token was signed for another request body")]
    WrongBody,
    /// Used for a call already.
    #[error("token already used; sign each call anew")]
    Replayed,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks the `Authorization` header value of a request to `url` with `body`, and that its
/// token was not used before (`seen` then keeps it).
pub fn verify(
    authorization: Option<&str>,
    secret: &str,
    url: &str,
    body: &Value,
    seen: &Seen,
) -> Result<(), AuthError> {
    if secret.is_empty() {
        return Err(AuthError::Disabled);
    }
    let header = authorization.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    validation.required_spec_claims = ["iat".to_string()].into_iter().collect();
    validation.validate_exp = false;
    let data = decode::<Claims>(
        token.trim(),
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| AuthError::Invalid(e.to_string()))?;
    let c = data.claims;
    let now = now();
    if c.iat + MAX_AGE_SECS < now || c.exp.is_some_and(|e| e < now) {
        return Err(AuthError::Expired);
    }
    if c.iat > now + 60 {
        return Err(AuthError::Invalid("issued in the future".into()));
    }
    if c.req_url != url {
        return Err(AuthError::WrongUrl(c.req_url));
    }
    if c.req_body != *body {
        return Err(AuthError::WrongBody);
    }
    let until = c.exp.unwrap_or(u64::MAX).min(c.iat + MAX_AGE_SECS);
    seen.admit(token.trim(), until, now)
}

/// Signs a call to `url` with `body`, valid for a minute (as Argus's CLI signs).
pub fn sign(secret: &str, url: &str, body: &Value) -> Result<String, AuthError> {
    let iat = now();
    static SIGNED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = SIGNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let claims = Claims {
        req_url: url.to_string(),
        req_body: body.clone(),
        iat,
        exp: Some(iat + 60),
        jti: Some(format!("{nanos:x}-{:x}-{n}", std::process::id())),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| AuthError::Invalid(e.to_string()))
}

/// Signs `claims` as given (tests forge old or mismatched tokens with it).
pub fn sign_claims(secret: &str, claims: &Claims) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_is_good_for_one_call() {
        let body = json!({});
        let token = sign("s", "/api/v1/shutdown", &body).unwrap();
        let auth = format!("Bearer {token}");
        let seen = Seen::default();
        assert_eq!(
            verify(Some(&auth), "s", "/api/v1/shutdown", &body, &seen),
            Ok(())
        );
        assert_eq!(
            verify(Some(&auth), "s", "/api/v1/shutdown", &body, &seen),
            Err(AuthError::Replayed)
        );
    }

    #[test]
    fn good_bad_expired_and_mismatched_tokens() {
        let body = json!({"workerId": 3});
        let token = sign("s", "/api/v1/set-worker", &body).unwrap();
        let auth = format!("Bearer {token}");
        assert_eq!(
            verify(
                Some(&auth),
                "s",
                "/api/v1/set-worker",
                &body,
                &Seen::default()
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                Some(&format!("bearer {token}")),
                "s",
                "/api/v1/set-worker",
                &body,
                &Seen::default()
            ),
            Ok(())
        );
        assert!(matches!(
            verify(
                Some(&auth),
                "other",
                "/api/v1/set-worker",
                &body,
                &Seen::default()
            ),
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(
            verify(
                Some(&auth),
                "s",
                "/api/v1/shutdown",
                &body,
                &Seen::default()
            ),
            Err(AuthError::WrongUrl("/api/v1/set-worker".into()))
        );
        assert_eq!(
            verify(
                Some(&auth),
                "s",
                "/api/v1/set-worker",
                &json!({"workerId": 4}),
                &Seen::default()
            ),
            Err(AuthError::WrongBody)
        );
        assert_eq!(
            verify(None, "s", "/x", &body, &Seen::default()),
            Err(AuthError::Missing)
        );
        assert_eq!(
            verify(
                Some(&auth),
                "",
                "/api/v1/set-worker",
                &body,
                &Seen::default()
            ),
            Err(AuthError::Disabled)
        );
        let old = sign_claims(
            "s",
            &Claims {
                req_url: "/api/v1/shutdown".into(),
                req_body: json!({}),
                iat: now() - MAX_AGE_SECS - 1,
                exp: None,
                jti: None,
            },
        );
        assert_eq!(
            verify(
                Some(&format!("Bearer {old}")),
                "s",
                "/api/v1/shutdown",
                &json!({}),
                &Seen::default()
            ),
            Err(AuthError::Expired)
        );
    }
}
