//! Use cases: load, decide with `domain`, write rows in one transaction. Every function
//! takes `&impl ConnectionTrait`, so it works on a pool or inside a transaction.
pub mod accounts;
pub mod associations;
pub mod attachments;
pub mod calendars;
pub mod complaints;
pub mod email;
pub mod filing_queue;
pub mod institutions;
pub mod mediation;
pub mod open_data;
pub mod paging;
pub mod secrets;
pub mod sla;
pub mod stats;
pub mod throttle;
pub mod timeline;
pub mod webhook_delivery;
pub mod webhooks;
