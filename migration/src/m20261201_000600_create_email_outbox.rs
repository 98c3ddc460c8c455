//! Learner emails: a durable outbox written in the transaction of the change that
//! causes a mail, sent after by the email worker; and each account's language.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    AccountId,
    ToAddress,
    Language,
    Kind,
    ComplaintId,
    Vars,
    State,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    ClaimToken,
    SentAt,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Language,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(string_len_null(Accounts::Language, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(uuid_null(EmailOutbox::AccountId))
                    .col(string_len(EmailOutbox::ToAddress, 254))
                    .col(string_len(EmailOutbox::Language, 16))
                    .col(string_len(EmailOutbox::Kind, 40))
                    .col(uuid_null(EmailOutbox::ComplaintId))
                    .col(text(EmailOutbox::Vars))
                    .col(
                        string_len(EmailOutbox::State, 16).check(
                            Expr::col(EmailOutbox::State).is_in(["pending", "sent", "failed"]),
                        ),
                    )
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(EmailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::LeaseUntil))
                    .col(uuid_null(EmailOutbox::ClaimToken))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailOutbox::Table, EmailOutbox::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The sender reads only pending mails by due time.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_email_outbox_due ON email_outbox (next_attempt_at) \
                 WHERE state = 'pending'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_complaint")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::ComplaintId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::Language)
                    .to_owned(),
            )
            .await
    }
}
