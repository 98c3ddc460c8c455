//! Complaints, their hash-chained timeline, filing idempotency, readable references and
//! attachments.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Complaints {
    Table,
    Id,
    Reference,
    LearnerId,
    InstitutionId,
    AssociationId,
    MediatorId,
    State,
    Version,
    Category,
    Title,
    Narrative,
    DesiredRemedy,
    DesiredAmountMinor,
    Currency,
    AmountInDisputeMinor,
    CourseReference,
    PurchaseDate,
    PrepaidMinor,
    HoursBought,
    HoursUsed,
    PrepaidPeriodDays,
    FiledForMinor,
    MinorAgeBand,
    MinorInitials,
    ConsentToPublish,
    PrepaymentWarnings,
    ResponseRemedy,
    Outcome,
    Timely,
    DueAt,
    Clock,
    ResponseDueAt,
    PausedAt,
    FirstResponseAt,
    ClosedAt,
    Rating,
    RatingComment,
    RatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ComplaintEvents {
    Table,
    Id,
    ComplaintId,
    Seq,
    ActorId,
    ActorRole,
    Action,
    FromState,
    ToState,
    Payload,
    CreatedAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    AccountId,
    Key,
    RequestHash,
    ComplaintId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReferenceCounters {
    Table,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ComplaintId,
    UploaderId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Institutions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Associations {
    Table,
    Id,
}

const STATES: [&str; 11] = [
    "submitted",
    "awaiting_response",
    "info_requested",
    "responded",
    "awaiting_mediation",
    "in_mediation",
    "resolved",
    "settled",
    "unresolved",
    "rejected",
    "withdrawn",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Complaints::Table)
                    .col(pk_uuid(Complaints::Id))
                    .col(string_len_uniq(Complaints::Reference, 24))
                    .col(uuid(Complaints::LearnerId))
                    .col(uuid(Complaints::InstitutionId))
                    .col(uuid_null(Complaints::AssociationId))
                    .col(uuid_null(Complaints::MediatorId))
                    .col(
                        string_len(Complaints::State, 24)
                            .check(Expr::col(Complaints::State).is_in(STATES)),
                    )
                    .col(integer(Complaints::Version))
                    .col(string_len(Complaints::Category, 32))
                    .col(string_len(Complaints::Title, 200))
                    .col(text(Complaints::Narrative))
                    .col(string_len(Complaints::DesiredRemedy, 32))
                    .col(big_integer_null(Complaints::DesiredAmountMinor))
                    .col(string_len(Complaints::Currency, 3))
                    .col(big_integer_null(Complaints::AmountInDisputeMinor))
                    .col(string_len_null(Complaints::CourseReference, 200))
                    .col(date_null(Complaints::PurchaseDate))
                    .col(big_integer_null(Complaints::PrepaidMinor))
                    .col(integer_null(Complaints::HoursBought))
                    .col(integer_null(Complaints::HoursUsed))
                    .col(integer_null(Complaints::PrepaidPeriodDays))
                    .col(boolean(Complaints::FiledForMinor))
                    .col(string_len_null(Complaints::MinorAgeBand, 16))
                    .col(string_len_null(Complaints::MinorInitials, 8))
                    .col(boolean(Complaints::ConsentToPublish))
                    .col(text_null(Complaints::PrepaymentWarnings))
                    .col(string_len_null(Complaints::ResponseRemedy, 32))
                    .col(string_len_null(Complaints::Outcome, 24))
                    .col(boolean_null(Complaints::Timely))
                    .col(timestamp_with_time_zone_null(Complaints::DueAt))
                    .col(string_len_null(Complaints::Clock, 16))
                    .col(timestamp_with_time_zone_null(Complaints::ResponseDueAt))
                    .col(timestamp_with_time_zone_null(Complaints::PausedAt))
                    .col(timestamp_with_time_zone_null(Complaints::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Complaints::ClosedAt))
                    .col(small_integer_null(Complaints::Rating))
                    .col(text_null(Complaints::RatingComment))
                    .col(timestamp_with_time_zone_null(Complaints::RatedAt))
                    .col(timestamp_with_time_zone(Complaints::CreatedAt))
                    .col(timestamp_with_time_zone(Complaints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Complaints::Table, Complaints::LearnerId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Complaints::Table, Complaints::InstitutionId)
                            .to(Institutions::Table, Institutions::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Complaints::Table, Complaints::AssociationId)
                            .to(Associations::Table, Associations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Complaints::Table, Complaints::MediatorId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_complaints_learner", Complaints::LearnerId),
            ("idx_complaints_institution", Complaints::InstitutionId),
            ("idx_complaints_association", Complaints::AssociationId),
            ("idx_complaints_due", Complaints::DueAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Complaints::Table)
                        .col(col)
                        .col(Complaints::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ComplaintEvents::Table)
                    .col(pk_uuid(ComplaintEvents::Id))
                    .col(uuid(ComplaintEvents::ComplaintId))
                    .col(integer(ComplaintEvents::Seq))
                    .col(uuid_null(ComplaintEvents::ActorId))
                    .col(string_len(ComplaintEvents::ActorRole, 24))
                    .col(string_len(ComplaintEvents::Action, 40))
                    .col(string_len_null(ComplaintEvents::FromState, 24))
                    .col(string_len_null(ComplaintEvents::ToState, 24))
                    .col(text(ComplaintEvents::Payload))
                    .col(timestamp_with_time_zone(ComplaintEvents::CreatedAt))
                    .col(string_len(ComplaintEvents::PrevHash, 64))
                    .col(string_len(ComplaintEvents::Hash, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ComplaintEvents::Table, ComplaintEvents::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_complaint_events_seq")
                    .table(ComplaintEvents::Table)
                    .col(ComplaintEvents::ComplaintId)
                    .col(ComplaintEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::AccountId))
                    .col(string_len(IdempotencyKeys::Key, 200))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(uuid(IdempotencyKeys::ComplaintId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::AccountId)
                            .col(IdempotencyKeys::Key),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReferenceCounters::Table)
                    .col(integer(ReferenceCounters::Year).primary_key())
                    .col(big_integer(ReferenceCounters::Last))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(pk_uuid(Attachments::Id))
                    .col(uuid(Attachments::ComplaintId))
                    .col(uuid(Attachments::UploaderId))
                    .col(string_len(Attachments::FileName, 255))
                    .col(string_len(Attachments::ContentType, 64))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(string_len(Attachments::Sha256, 64))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::ComplaintId)
                            .to(Complaints::Table, Complaints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachments_complaint")
                    .table(Attachments::Table)
                    .col(Attachments::ComplaintId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Attachments::Table.into_iden(),
            ReferenceCounters::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            ComplaintEvents::Table.into_iden(),
            Complaints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
