//! Disclosure statistics and open data: per-institution monthly counters (with a
//! histogram of working days to first answer, so medians are exact), each case's
//! current contribution to them, and the case columns that publication needs.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Complaints {
    Table,
    Id,
    FirstResponseWorkingDays,
    PublishedAt,
    PublicResponseKind,
    PublicResponseText,
    PublicResponseAt,
    PublicationText,
    PublicationAmendedBy,
    PublicationAmendedAt,
}

#[derive(DeriveIden)]
enum ComplaintStats {
    Table,
    ComplaintId,
    InstitutionId,
    Month,
    Answered,
    TimelyKnown,
    Timely,
    Escalated,
    Breaches,
    Outcome,
    SettlementsUnfulfilled,
    Rating,
    FirstAnswerDays,
}

#[derive(DeriveIden)]
enum InstitutionStatsMonthly {
    Table,
    InstitutionId,
    Month,
    Received,
    Answered,
    TimelyKnown,
    Timely,
    Escalated,
    Breaches,
    OutcomeMonetaryRelief,
    OutcomeNonMonetaryRelief,
    OutcomeExplanationOnly,
    OutcomeNoAgreement,
    OutcomeWithdrawn,
    OutcomeRejected,
    SettlementsUnfulfilled,
    RatingSum,
    RatingCount,
}

#[derive(DeriveIden)]
enum InstitutionStatsDays {
    Table,
    InstitutionId,
    Month,
    Days,
    Cases,
}

#[derive(DeriveIden)]
enum Institutions {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            integer_null(Complaints::FirstResponseWorkingDays),
            timestamp_with_time_zone_null(Complaints::PublishedAt),
            string_len_null(Complaints::PublicResponseKind, 32),
            text_null(Complaints::PublicResponseText),
            timestamp_with_time_zone_null(Complaints::PublicResponseAt),
            text_null(Complaints::PublicationText),
            uuid_null(Complaints::PublicationAmendedBy),
            timestamp_with_time_zone_null(Complaints::PublicationAmendedAt),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Complaints::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        // Cases filed before this migration: public from their first answer, or from
        // their response deadline unless paused or rejected before an answer.
        // (Their statistics come from `redress stats rebuild`.)
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE complaints SET published_at = CASE \
                   WHEN first_response_at IS NOT NULL THEN first_response_at \
                   WHEN state <> 'rejected' AND paused_at IS NULL THEN response_due_at \
                 END",
            )
            .await?;
        // Open data pages through published cases by id.
        manager
            .create_index(
                Index::create()
                    .name("idx_complaints_published")
                    .table(Complaints::Table)
                    .col(Complaints::PublishedAt)
                    .col(Complaints::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ComplaintStats::Table)
                    .col(pk_uuid(ComplaintStats::ComplaintId))
                    .col(uuid(ComplaintStats::InstitutionId))
                    .col(string_len(ComplaintStats::Month, 7))
                    .col(integer(ComplaintStats::Answered))
                    .col(integer(ComplaintStats::TimelyKnown))
                    .col(integer(ComplaintStats::Timely))
                    .col(integer(ComplaintStats::Escalated))
                    .col(integer(ComplaintStats::Breaches))
                    .col(string_len_null(ComplaintStats::Outcome, 24))
                    .col(integer(ComplaintStats::SettlementsUnfulfilled))
                    .col(small_integer_null(ComplaintStats::Rating))
                    .col(integer_null(ComplaintStats::FirstAnswerDays))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComplaintStats::Table, ComplaintStats::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;

        let counter = |c: InstitutionStatsMonthly| big_integer(c).default(0).to_owned();
        manager
            .create_table(
                Table::create()
                    .table(InstitutionStatsMonthly::Table)
                    .col(uuid(InstitutionStatsMonthly::InstitutionId))
                    .col(string_len(InstitutionStatsMonthly::Month, 7))
                    .col(counter(InstitutionStatsMonthly::Received))
                    .col(counter(InstitutionStatsMonthly::Answered))
                    .col(counter(InstitutionStatsMonthly::TimelyKnown))
                    .col(counter(InstitutionStatsMonthly::Timely))
                    .col(counter(InstitutionStatsMonthly::Escalated))
                    .col(counter(InstitutionStatsMonthly::Breaches))
                    .col(counter(InstitutionStatsMonthly::OutcomeMonetaryRelief))
                    .col(counter(InstitutionStatsMonthly::OutcomeNonMonetaryRelief))
                    .col(counter(InstitutionStatsMonthly::OutcomeExplanationOnly))
                    .col(counter(InstitutionStatsMonthly::OutcomeNoAgreement))
                    .col(counter(InstitutionStatsMonthly::OutcomeWithdrawn))
                    .col(counter(InstitutionStatsMonthly::OutcomeRejected))
                    .col(counter(InstitutionStatsMonthly::SettlementsUnfulfilled))
                    .col(counter(InstitutionStatsMonthly::RatingSum))
                    .col(counter(InstitutionStatsMonthly::RatingCount))
                    .primary_key(
                        Index::create()
                            .col(InstitutionStatsMonthly::InstitutionId)
                            .col(InstitutionStatsMonthly::Month),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                InstitutionStatsMonthly::Table,
                                InstitutionStatsMonthly::InstitutionId,
                            )
                            .to(Institutions::Table, Institutions::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InstitutionStatsDays::Table)
                    .col(uuid(InstitutionStatsDays::InstitutionId))
                    .col(string_len(InstitutionStatsDays::Month, 7))
                    .col(integer(InstitutionStatsDays::Days))
                    .col(big_integer(InstitutionStatsDays::Cases).default(0))
                    .primary_key(
                        Index::create()
                            .col(InstitutionStatsDays::InstitutionId)
                            .col(InstitutionStatsDays::Month)
                            .col(InstitutionStatsDays::Days),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                InstitutionStatsDays::Table,
                                InstitutionStatsDays::InstitutionId,
                            )
                            .to(Institutions::Table, Institutions::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InstitutionStatsDays::Table.into_iden(),
            InstitutionStatsMonthly::Table.into_iden(),
            ComplaintStats::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_complaints_published")
                    .table(Complaints::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Complaints::PublicationAmendedAt,
            Complaints::PublicationAmendedBy,
            Complaints::PublicationText,
            Complaints::PublicResponseAt,
            Complaints::PublicResponseText,
            Complaints::PublicResponseKind,
            Complaints::PublishedAt,
            Complaints::FirstResponseWorkingDays,
        ] {
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
