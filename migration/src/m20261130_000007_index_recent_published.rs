//! An institution's most recently published cases (its disclosure page) are read by
//! publication time, without stepping over the newest cases, which are not published yet.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Complaints {
    Table,
    InstitutionId,
    PublishedAt,
    Id,
}

const NAME: &str = "idx_complaints_institution_published";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Complaints::Table)
                    .col(Complaints::InstitutionId)
                    .col(Complaints::PublishedAt)
                    .col(Complaints::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Complaints::Table).to_owned())
            .await
    }
}
