//! Who is calling, and what they may do.
pub mod jwt;
pub mod password;
pub mod policy;
pub mod principal;

pub use principal::{BearerAuth, Principal};
