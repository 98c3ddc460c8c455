//! Each case row anchors its timeline: how many events it has (`timeline_len`) and
//! the hash of the last one (`timeline_head`), written in the transaction of every
//! append, so removing events from the end, or rewriting the head event, no longer
//! verifies. Existing cases are anchored on the timeline they have now.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Complaints {
    Table,
    TimelineLen,
    TimelineHead,
}

/// The `prev_hash` of a first event (`domain::timeline::GENESIS`).
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            integer(Complaints::TimelineLen).default(0).to_owned(),
            string_len(Complaints::TimelineHead, 64)
                .default(GENESIS)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Complaints::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE complaints SET \
                   timeline_len = COALESCE((SELECT MAX(e.seq) FROM complaint_events e \
                     WHERE e.complaint_id = complaints.id), 0), \
                   timeline_head = COALESCE((SELECT e.hash FROM complaint_events e \
                     WHERE e.complaint_id = complaints.id ORDER BY e.seq DESC LIMIT 1), \
                     '{GENESIS}')"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Complaints::TimelineHead, Complaints::TimelineLen] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Complaints::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
