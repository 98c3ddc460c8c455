//! The spine: accounts, institutions, consumer associations, login throttling and
//! server secrets.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    PasswordHash,
    DisplayName,
    Role,
    InstitutionId,
    AssociationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Institutions {
    Table,
    Id,
    Name,
    CreditCode,
    FilingNumber,
    RegionCode,
    Website,
    Status,
    ServiceRules,
    FeesAndPrepayment,
    RefundPolicy,
    TeacherQualifications,
    ComplaintContact,
    DisclosureUpdatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Associations {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AssociationRegions {
    Table,
    AssociationId,
    RegionCode,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    BlockedUntil,
}

#[derive(DeriveIden)]
enum AppSecrets {
    Table,
    Name,
    Value,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Institutions::Table)
                    .col(pk_uuid(Institutions::Id))
                    .col(string_len(Institutions::Name, 200))
                    .col(string_len_uniq(Institutions::CreditCode, 18))
                    .col(string_len(Institutions::FilingNumber, 64))
                    .col(string_len(Institutions::RegionCode, 6))
                    .col(string_len_null(Institutions::Website, 300))
                    .col(string_len(Institutions::Status, 16).check(
                        Expr::col(Institutions::Status).is_in(["active", "suspended", "exited"]),
                    ))
                    .col(text(Institutions::ServiceRules))
                    .col(text(Institutions::FeesAndPrepayment))
                    .col(text(Institutions::RefundPolicy))
                    .col(text(Institutions::TeacherQualifications))
                    .col(text(Institutions::ComplaintContact))
                    .col(timestamp_with_time_zone_null(
                        Institutions::DisclosureUpdatedAt,
                    ))
                    .col(timestamp_with_time_zone(Institutions::CreatedAt))
                    .col(timestamp_with_time_zone(Institutions::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_institutions_region")
                    .table(Institutions::Table)
                    .col(Institutions::RegionCode)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Associations::Table)
                    .col(pk_uuid(Associations::Id))
                    .col(string_len(Associations::Name, 200))
                    .col(timestamp_with_time_zone(Associations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssociationRegions::Table)
                    .col(uuid(AssociationRegions::AssociationId))
                    .col(string_len(AssociationRegions::RegionCode, 6))
                    .primary_key(
                        Index::create()
                            .col(AssociationRegions::AssociationId)
                            .col(AssociationRegions::RegionCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssociationRegions::Table, AssociationRegions::AssociationId)
                            .to(Associations::Table, Associations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_association_regions_region")
                    .table(AssociationRegions::Table)
                    .col(AssociationRegions::RegionCode)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_uuid(Accounts::Id))
                    .col(string_len_uniq(Accounts::Email, 254))
                    .col(string_len(Accounts::PasswordHash, 200))
                    .col(string_len(Accounts::DisplayName, 100))
                    .col(
                        string_len(Accounts::Role, 24).check(Expr::col(Accounts::Role).is_in([
                            "learner",
                            "institution_staff",
                            "mediator",
                            "regulator",
                            "admin",
                        ])),
                    )
                    .col(uuid_null(Accounts::InstitutionId))
                    .col(uuid_null(Accounts::AssociationId))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Accounts::Table, Accounts::InstitutionId)
                            .to(Institutions::Table, Institutions::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Accounts::Table, Accounts::AssociationId)
                            .to(Associations::Table, Associations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string_len(LoginThrottle::Key, 300).primary_key())
                    .col(integer(LoginThrottle::Failures))
                    .col(timestamp_with_time_zone(LoginThrottle::WindowStartedAt))
                    .col(timestamp_with_time_zone_null(LoginThrottle::BlockedUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppSecrets::Table)
                    .col(string_len(AppSecrets::Name, 64).primary_key())
                    .col(text(AppSecrets::Value))
                    .col(timestamp_with_time_zone(AppSecrets::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AppSecrets::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            Accounts::Table.into_iden(),
            AssociationRegions::Table.into_iden(),
            Associations::Table.into_iden(),
            Institutions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
