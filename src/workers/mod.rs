//! Background loops around a `run_once` step that tests call directly.
pub mod email;
pub mod sla;
pub mod webhooks;
