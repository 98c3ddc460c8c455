//! Background loops around a `run_once` step that tests call directly.
pub mod sla;
pub mod webhooks;
