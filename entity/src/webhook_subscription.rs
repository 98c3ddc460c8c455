//! A webhook subscription: where to send which events, for whom, signed with what.
use std::fmt;

use sea_orm::entity::prelude::*;

/// Whose events a subscription receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Scope {
    /// One institution's cases (its staff subscribe).
    #[sea_orm(string_value = "institution")]
    Institution,
    /// Cases mediated by one consumer association (its mediators subscribe).
    #[sea_orm(string_value = "association")]
    Association,
    /// Every case (regulators subscribe).
    #[sea_orm(string_value = "platform")]
    Platform,
}

/// A signing secret as stored: the `whsec_…` text sealed under the master key
/// (`sealed:v1:…`, see `service::secrets`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct StoredSecret(pub String);

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredSecret(***)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scope: Scope,
    /// Set when `scope` is `institution`.
    pub institution_id: Option<Uuid>,
    /// Set when `scope` is `association`.
    pub association_id: Option<Uuid>,
    pub created_by: Uuid,
    pub url: String,
    pub description: String,
    /// JSON array of event type names; NULL for every type.
    pub event_types: Option<String>,
    pub enabled: bool,
    /// Why the endpoint was disabled, when the platform disabled it.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    /// Start of the current run of failed attempts (cleared by any success).
    pub failing_since: Option<DateTimeUtc>,
    pub secret: StoredSecret,
    /// The secret before the last rotation, still signed with until it expires.
    pub previous_secret: Option<StoredSecret>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
