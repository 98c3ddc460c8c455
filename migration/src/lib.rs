//! Database migrations. Each migration is frozen once released: it never imports the
//! `entity` crate, so later changes to entities cannot rewrite history.
pub use sea_orm_migration::prelude::*;

mod m20261130_000001_create_spine;
mod m20261130_000002_create_complaints;
mod m20261130_000003_create_timers;
mod m20261130_000004_create_webhooks;
mod m20261130_000005_create_stats;
mod m20261130_000006_create_mediation;
mod m20261130_000007_index_recent_published;
mod m20261201_000100_add_stage_seq;
mod m20261201_000101_anchor_timelines;
mod m20261201_000200_add_account_revocation;
mod m20261201_000201_widen_sealed_secrets;
mod m20261201_000600_create_email_outbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_create_spine::Migration),
            Box::new(m20261130_000002_create_complaints::Migration),
            Box::new(m20261130_000003_create_timers::Migration),
            Box::new(m20261130_000004_create_webhooks::Migration),
            Box::new(m20261130_000005_create_stats::Migration),
            Box::new(m20261130_000006_create_mediation::Migration),
            Box::new(m20261130_000007_index_recent_published::Migration),
            Box::new(m20261201_000200_add_account_revocation::Migration),
            Box::new(m20261201_000201_widen_sealed_secrets::Migration),
            Box::new(m20261201_000600_create_email_outbox::Migration),
            Box::new(m20261201_000100_add_stage_seq::Migration),
            Box::new(m20261201_000101_anchor_timelines::Migration),
        ]
    }
}
