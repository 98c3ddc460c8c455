//! HS256 access tokens. Verification pins the algorithm and requires `exp`, `iss`,
//! `aud` and `sub`; expiry is checked against the service clock (so tests can move it).
use chrono::{DateTime, Utc};
use entity::account::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Principal;
use crate::error::ApiError;

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inst: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assoc: Option<Uuid>,
    /// The account's token version when the token was issued; a password change or a
    /// disabling bumps it, and older tokens are refused. Tokens from before versions
    /// existed carry none and count as version 0.
    #[serde(default)]
    ver: i32,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// What a valid token says: whose it is, at which token version, and the role and
/// bindings it was issued with (checked against the stored account, never trusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub account_id: Uuid,
    pub token_version: i32,
    pub claimed: Principal,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: u64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_secs: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= 32,
            "the JWT secret must be at least 32 bytes"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false; // checked against the service clock below
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs,
        })
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn issue(
        &self,
        who: &Principal,
        token_version: i32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: who.account_id,
            role: who.role,
            inst: who.institution_id,
            assoc: who.association_id,
            ver: token_version,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl_secs as i64,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm, issuer, audience and expiry. Whether the account
    /// may still act, and as what, is the caller's next question.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Verified, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                let why = match e.kind() {
                    ErrorKind::InvalidSignature => "the token signature is invalid",
                    ErrorKind::InvalidAlgorithm => "the token algorithm is not accepted",
                    ErrorKind::InvalidIssuer => "the token issuer is not accepted",
                    ErrorKind::InvalidAudience => "the token audience is not accepted",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the token is malformed",
                };
                ApiError::Unauthorized(why.into())
            })?;
        let claims = data.claims;
        if claims.exp + LEEWAY_SECS <= now.timestamp() {
            return Err(ApiError::Unauthorized("the token has expired".into()));
        }
        Ok(Verified {
            account_id: claims.sub,
            token_version: claims.ver,
            claimed: Principal {
                account_id: claims.sub,
                role: claims.role,
                institution_id: claims.inst,
                association_id: claims.assoc,
            },
        })
    }
}
