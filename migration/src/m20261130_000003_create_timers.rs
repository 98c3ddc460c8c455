//! SLA timers (one row per warning or deadline of a stage), breaches recorded against
//! institutions, and working-day calendars loaded by operators.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Timers {
    Table,
    Id,
    ComplaintId,
    Epoch,
    Stage,
    Kind,
    DueAt,
    State,
    LeaseUntil,
    FiredAt,
}

#[derive(DeriveIden)]
enum SlaBreaches {
    Table,
    Id,
    ComplaintId,
    InstitutionId,
    Stage,
    Epoch,
    DueAt,
    FiredAt,
}

#[derive(DeriveIden)]
enum CalendarYears {
    Table,
    Year,
    Source,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Complaints {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Timers::Table)
                    .col(pk_uuid(Timers::Id))
                    .col(uuid(Timers::ComplaintId))
                    .col(integer(Timers::Epoch))
                    .col(string_len(Timers::Stage, 24))
                    .col(
                        string_len(Timers::Kind, 16)
                            .check(Expr::col(Timers::Kind).is_in(["warning", "deadline"])),
                    )
                    .col(timestamp_with_time_zone(Timers::DueAt))
                    .col(
                        string_len(Timers::State, 16).check(Expr::col(Timers::State).is_in([
                            "pending",
                            "fired",
                            "cancelled",
                        ])),
                    )
                    .col(timestamp_with_time_zone_null(Timers::LeaseUntil))
                    .col(timestamp_with_time_zone_null(Timers::FiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Timers::Table, Timers::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One warning and one deadline per stage entry: a second firing cannot exist.
        manager
            .create_index(
                Index::create()
                    .name("uq_timers_stage")
                    .table(Timers::Table)
                    .col(Timers::ComplaintId)
                    .col(Timers::Epoch)
                    .col(Timers::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The sweep reads only pending timers by due time: its cost follows the number of
        // due timers, not the number of cases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_timers_pending_due ON timers (due_at) WHERE state = 'pending'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_timers_complaint")
                    .table(Timers::Table)
                    .col(Timers::ComplaintId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SlaBreaches::Table)
                    .col(pk_uuid(SlaBreaches::Id))
                    .col(uuid(SlaBreaches::ComplaintId))
                    .col(uuid(SlaBreaches::InstitutionId))
                    .col(string_len(SlaBreaches::Stage, 24))
                    .col(integer(SlaBreaches::Epoch))
                    .col(timestamp_with_time_zone(SlaBreaches::DueAt))
                    .col(timestamp_with_time_zone(SlaBreaches::FiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SlaBreaches::Table, SlaBreaches::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sla_breaches_stage")
                    .table(SlaBreaches::Table)
                    .col(SlaBreaches::ComplaintId)
                    .col(SlaBreaches::Stage)
                    .col(SlaBreaches::Epoch)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sla_breaches_institution")
                    .table(SlaBreaches::Table)
                    .col(SlaBreaches::InstitutionId)
                    .col(SlaBreaches::FiredAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CalendarYears::Table)
                    .col(integer(CalendarYears::Year).primary_key())
                    .col(text(CalendarYears::Source))
                    .col(timestamp_with_time_zone(CalendarYears::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CalendarYears::Table.into_iden(),
            SlaBreaches::Table.into_iden(),
            Timers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
