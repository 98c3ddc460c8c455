//! Mediation: the offers ledger, settlement agreements and good-faith assessments.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Offers {
    Table,
    Id,
    ComplaintId,
    Side,
    MadeBy,
    MadeByRole,
    Terms,
    Note,
    ExpiresAt,
    Status,
    AnsweredBy,
    AnsweredAt,
    AnswerReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Settlements {
    Table,
    Id,
    ComplaintId,
    OfferId,
    Terms,
    MediatorId,
    AgreedAt,
    DueAt,
    Status,
    FulfilledAt,
    ConfirmedAt,
    ReportedAt,
    ReportNote,
}

#[derive(DeriveIden)]
enum GoodFaith {
    Table,
    ComplaintId,
    MediatorId,
    LearnerEngaged,
    LearnerNote,
    InstitutionEngaged,
    InstitutionNote,
    CreatedAt,
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
                    .table(Offers::Table)
                    .col(pk_uuid(Offers::Id))
                    .col(uuid(Offers::ComplaintId))
                    .col(
                        string_len(Offers::Side, 16)
                            .check(Expr::col(Offers::Side).is_in(["learner", "institution"])),
                    )
                    .col(uuid(Offers::MadeBy))
                    .col(string_len(Offers::MadeByRole, 24))
                    .col(text(Offers::Terms))
                    .col(text_null(Offers::Note))
                    .col(timestamp_with_time_zone(Offers::ExpiresAt))
                    .col(
                        string_len(Offers::Status, 16).check(Expr::col(Offers::Status).is_in([
                            "open",
                            "accepted",
                            "declined",
                            "superseded",
                        ])),
                    )
                    .col(uuid_null(Offers::AnsweredBy))
                    .col(timestamp_with_time_zone_null(Offers::AnsweredAt))
                    .col(text_null(Offers::AnswerReason))
                    .col(timestamp_with_time_zone(Offers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Offers::Table, Offers::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offers_complaint")
                    .table(Offers::Table)
                    .col(Offers::ComplaintId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Settlements::Table)
                    .col(pk_uuid(Settlements::Id))
                    .col(uuid_uniq(Settlements::ComplaintId))
                    .col(uuid(Settlements::OfferId))
                    .col(text(Settlements::Terms))
                    .col(uuid_null(Settlements::MediatorId))
                    .col(timestamp_with_time_zone(Settlements::AgreedAt))
                    .col(timestamp_with_time_zone(Settlements::DueAt))
                    .col(string_len(Settlements::Status, 16).check(
                        Expr::col(Settlements::Status).is_in([
                            "pending",
                            "fulfilled",
                            "confirmed",
                            "unfulfilled",
                            "overdue",
                        ]),
                    ))
                    .col(timestamp_with_time_zone_null(Settlements::FulfilledAt))
                    .col(timestamp_with_time_zone_null(Settlements::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(Settlements::ReportedAt))
                    .col(text_null(Settlements::ReportNote))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Settlements::Table, Settlements::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GoodFaith::Table)
                    .col(uuid(GoodFaith::ComplaintId).primary_key())
                    .col(uuid(GoodFaith::MediatorId))
                    .col(boolean(GoodFaith::LearnerEngaged))
                    .col(text_null(GoodFaith::LearnerNote))
                    .col(boolean(GoodFaith::InstitutionEngaged))
                    .col(text_null(GoodFaith::InstitutionNote))
                    .col(timestamp_with_time_zone(GoodFaith::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GoodFaith::Table, GoodFaith::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GoodFaith::Table.into_iden(),
            Settlements::Table.into_iden(),
            Offers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
