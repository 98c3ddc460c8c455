//! Pure logic: no I/O, no database. Everything here is tested without a server.
pub mod account;
pub mod calendar;
pub mod credit_code;
pub mod email;
pub mod file_type;
pub mod lifecycle;
pub mod mediation;
pub mod redaction;
pub mod refund;
pub mod region;
pub mod sla;
pub mod timeline;
pub mod webhook_event;
pub mod webhook_retry;
pub mod webhook_signature;
pub mod webhook_target;
