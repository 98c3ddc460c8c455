//! Webhooks: subscriptions, the event outbox, deliveries with their retry state, and
//! the log of every attempt.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    Id,
    Scope,
    InstitutionId,
    AssociationId,
    CreatedBy,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    DisabledAt,
    FailingSince,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    EventType,
    ComplaintId,
    InstitutionId,
    AssociationId,
    SubscriptionId,
    Payload,
    CreatedAt,
    FannedOutAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EventId,
    SubscriptionId,
    EventType,
    State,
    Attempts,
    Failures,
    NextAttemptAt,
    LeaseUntil,
    ClaimToken,
    LastAttemptAt,
    LastStatus,
    LastError,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    AttemptedAt,
    WebhookTimestamp,
    StatusCode,
    Error,
    LatencyMs,
    ResponseBody,
    Succeeded,
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

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookSubscriptions::Table)
                    .col(pk_uuid(WebhookSubscriptions::Id))
                    .col(string_len(WebhookSubscriptions::Scope, 16).check(
                        Expr::col(WebhookSubscriptions::Scope).is_in([
                            "institution",
                            "association",
                            "platform",
                        ]),
                    ))
                    .col(uuid_null(WebhookSubscriptions::InstitutionId))
                    .col(uuid_null(WebhookSubscriptions::AssociationId))
                    .col(uuid(WebhookSubscriptions::CreatedBy))
                    .col(string_len(WebhookSubscriptions::Url, 2000))
                    .col(string_len(WebhookSubscriptions::Description, 500))
                    .col(text_null(WebhookSubscriptions::EventTypes))
                    .col(boolean(WebhookSubscriptions::Enabled))
                    .col(text_null(WebhookSubscriptions::DisabledReason))
                    .col(timestamp_with_time_zone_null(
                        WebhookSubscriptions::DisabledAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookSubscriptions::FailingSince,
                    ))
                    .col(string_len(WebhookSubscriptions::Secret, 128))
                    .col(string_len_null(WebhookSubscriptions::PreviousSecret, 128))
                    .col(timestamp_with_time_zone_null(
                        WebhookSubscriptions::PreviousSecretExpiresAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookSubscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookSubscriptions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                WebhookSubscriptions::Table,
                                WebhookSubscriptions::InstitutionId,
                            )
                            .to(Institutions::Table, Institutions::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                WebhookSubscriptions::Table,
                                WebhookSubscriptions::AssociationId,
                            )
                            .to(Associations::Table, Associations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookSubscriptions::Table, WebhookSubscriptions::CreatedBy)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_subscriptions_owner")
                    .table(WebhookSubscriptions::Table)
                    .col(WebhookSubscriptions::Scope)
                    .col(WebhookSubscriptions::InstitutionId)
                    .col(WebhookSubscriptions::AssociationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(string_len(WebhookEvents::Id, 64).primary_key())
                    .col(string_len(WebhookEvents::EventType, 64))
                    .col(uuid_null(WebhookEvents::ComplaintId))
                    .col(uuid_null(WebhookEvents::InstitutionId))
                    .col(uuid_null(WebhookEvents::AssociationId))
                    .col(uuid_null(WebhookEvents::SubscriptionId))
                    .col(text(WebhookEvents::Payload))
                    .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookEvents::FannedOutAt))
                    .to_owned(),
            )
            .await?;
        // The dispatcher reads only events still in the outbox, oldest first.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_webhook_events_outbox ON webhook_events (created_at) \
                 WHERE fanned_out_at IS NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(string_len(WebhookDeliveries::EventId, 64))
                    .col(uuid(WebhookDeliveries::SubscriptionId))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(string_len(WebhookDeliveries::State, 16).check(
                        Expr::col(WebhookDeliveries::State).is_in([
                            "pending",
                            "succeeded",
                            "failed",
                        ]),
                    ))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(integer(WebhookDeliveries::Failures))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .col(uuid_null(WebhookDeliveries::ClaimToken))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatus))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::CompletedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                            .to(WebhookEvents::Table, WebhookEvents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::SubscriptionId)
                            .to(WebhookSubscriptions::Table, WebhookSubscriptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One delivery per event and subscription, however often fan-out runs.
        manager
            .create_index(
                Index::create()
                    .name("uq_webhook_deliveries_event_subscription")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EventId)
                    .col(WebhookDeliveries::SubscriptionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_subscription")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::SubscriptionId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        // The dispatcher reads only pending deliveries by due time.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) \
                 WHERE state = 'pending'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_uuid(WebhookAttempts::Id))
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(big_integer(WebhookAttempts::WebhookTimestamp))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(text_null(WebhookAttempts::Error))
                    .col(integer(WebhookAttempts::LatencyMs))
                    .col(text(WebhookAttempts::ResponseBody))
                    .col(boolean(WebhookAttempts::Succeeded))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_delivery")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .col(WebhookAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            WebhookSubscriptions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
