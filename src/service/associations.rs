//! Consumer associations and the regions they serve.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{association, association_region};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::paging;
use crate::{domain::region::RegionCode, error::ApiError};

pub struct AssociationView {
    pub model: association::Model,
    pub regions: Vec<String>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    name: String,
    regions: Vec<RegionCode>,
    now: DateTime<Utc>,
) -> Result<AssociationView, ApiError> {
    let id = Uuid::now_v7();
    let model = association::Entity::insert(association::ActiveModel {
        id: Set(id),
        name: Set(name),
        created_at: Set(now),
    })
    .exec_with_returning(db)
    .await?;
    let mut codes: Vec<String> = regions.iter().map(|r| r.as_str().to_owned()).collect();
    codes.sort();
    codes.dedup();
    association_region::Entity::insert_many(codes.iter().map(|code| {
        association_region::ActiveModel {
            association_id: Set(id),
            region_code: Set(code.clone()),
        }
    }))
    .exec(db)
    .await?;
    Ok(AssociationView {
        model,
        regions: codes,
    })
}

pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<AssociationView>, Option<String>), ApiError> {
    let mut q = association::Entity::find();
    if let Some(after) = after {
        q = q.filter(association::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(association::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let (rows, next) = paging::finish(rows, limit, |r| r.id);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut regions: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for r in association_region::Entity::find()
        .filter(association_region::Column::AssociationId.is_in(ids))
        .order_by_asc(association_region::Column::RegionCode)
        .all(db)
        .await?
    {
        regions
            .entry(r.association_id)
            .or_default()
            .push(r.region_code);
    }
    let views = rows
        .into_iter()
        .map(|model| AssociationView {
            regions: regions.remove(&model.id).unwrap_or_default(),
            model,
        })
        .collect();
    Ok((views, next))
}
