//! sea-orm entities: one module per table. Enums are stored as short strings so the
//! same schema works on SQLite and PostgreSQL.

pub mod account;
pub mod app_secret;
pub mod association;
pub mod association_region;
pub mod attachment;
pub mod calendar_year;
pub mod complaint;
pub mod complaint_event;
pub mod complaint_stats;
pub mod email_outbox;
pub mod good_faith;
pub mod idempotency_key;
pub mod institution;
pub mod institution_stats_days;
pub mod institution_stats_monthly;
pub mod login_throttle;
pub mod offer;
pub mod reference_counter;
pub mod settlement;
pub mod sla_breach;
pub mod timer;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_event;
pub mod webhook_subscription;
