//! Webhook secrets are stored sealed under the master key (`sealed:v1:<key id>:<base64>`,
//! about 150 characters for a 32-byte key), longer than the 128 characters the columns
//! were made with. SQLite does not enforce lengths; PostgreSQL's columns are widened.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    Secret,
    PreviousSecret,
}

async fn set_length(manager: &SchemaManager<'_>, len: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .alter_table(
            Table::alter()
                .table(WebhookSubscriptions::Table)
                .modify_column(ColumnDef::new(WebhookSubscriptions::Secret).string_len(len))
                .modify_column(ColumnDef::new(WebhookSubscriptions::PreviousSecret).string_len(len))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 512).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 128).await
    }
}
