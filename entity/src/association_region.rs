//! A region (6-digit administrative division code) served by an association.
//! `000000` means the whole country.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "association_regions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub association_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_code: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::association::Entity",
        from = "Column::AssociationId",
        to = "super::association::Column::Id"
    )]
    Association,
}

impl Related<super::association::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Association.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
