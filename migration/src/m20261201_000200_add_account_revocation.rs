//! Revocation: an account can be disabled (`disabled_at`), and every token carries the
//! account's `token_version`, which a password change or a disabling bumps so that
//! tokens issued before stop working. An account's successful login addresses are
//! remembered (as keyed hashes, never the address) so that the owner can sign in from
//! a known address while an attacker's failures hold the account locked.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    DisabledAt,
    TokenVersion,
    Role,
}

#[derive(DeriveIden)]
enum LoginKnownAddresses {
    Table,
    AccountId,
    AddressHash,
    LastSuccessAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(timestamp_with_time_zone_null(Accounts::DisabledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(integer(Accounts::TokenVersion).default(0))
                    .to_owned(),
            )
            .await?;
        // The admin's account list of one role, newest (highest v7 id) first.
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_role_id")
                    .table(Accounts::Table)
                    .col(Accounts::Role)
                    .col(Accounts::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginKnownAddresses::Table)
                    .col(uuid(LoginKnownAddresses::AccountId))
                    .col(string_len(LoginKnownAddresses::AddressHash, 64))
                    .col(timestamp_with_time_zone(LoginKnownAddresses::LastSuccessAt))
                    .primary_key(
                        Index::create()
                            .col(LoginKnownAddresses::AccountId)
                            .col(LoginKnownAddresses::AddressHash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginKnownAddresses::Table, LoginKnownAddresses::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginKnownAddresses::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_accounts_role_id")
                    .table(Accounts::Table)
                    .to_owned(),
            )
            .await?;
        for col in [Accounts::TokenVersion, Accounts::DisabledAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
