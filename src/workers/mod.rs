//! Background loops around a `run_once` step that tests call directly, each run under
//! the supervisor (`crate::supervisor`).
pub mod calendar;
pub mod email;
pub mod sla;
pub mod webhooks;
