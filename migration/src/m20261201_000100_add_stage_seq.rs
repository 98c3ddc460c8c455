//! A case's stage entries are numbered (`complaints.stage_seq`, bumped only when the
//! state changes), and a timer belongs to one entry (`timers.epoch`), so a change that
//! keeps the case where it is (an offer, a rating) no longer drops its deadline.
//!
//! Before this, `epoch` held the case `version` at the stage's entry and a timer did
//! nothing once the version had moved. Every pending timer belongs to the case's
//! current stage entry (a stage change cancels the others), so numbering that entry
//! with today's version and giving it to the pending timers revives the deadlines an
//! in-stage change had silently dropped; overdue ones fire at the next sweep.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Complaints {
    Table,
    StageSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Complaints::Table)
                    .add_column(integer(Complaints::StageSeq).default(1))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE complaints SET stage_seq = version")
            .await?;
        db.execute_unprepared(
            "UPDATE timers SET epoch = \
               (SELECT c.version FROM complaints c WHERE c.id = timers.complaint_id) \
             WHERE state = 'pending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Complaints::Table)
                    .drop_column(Complaints::StageSeq)
                    .to_owned(),
            )
            .await
    }
}
