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

/// The association that mediates for an institution in `region`: the most specific
/// region served (county, then city, then province), the whole country as fallback.
/// Ties go to the association registered first.
pub async fn route(db: &impl ConnectionTrait, region: &str) -> Result<Option<Uuid>, ApiError> {
    let candidates = candidates(region);
    let rows = association_region::Entity::find()
        .filter(association_region::Column::RegionCode.is_in(candidates.clone()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .min_by_key(|r| {
            let rank = candidates.iter().position(|c| *c == r.region_code);
            (rank, r.association_id)
        })
        .map(|r| r.association_id))
}

fn candidates(region: &str) -> Vec<String> {
    let mut out = vec![region.to_owned()];
    if region.len() == 6 {
        out.push(format!("{}00", &region[..4]));
        out.push(format!("{}0000", &region[..2]));
    }
    out.push(crate::domain::region::NATIONAL.to_owned());
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn candidates_go_from_specific_to_national() {
        assert_eq!(
            super::candidates("440305"),
            ["440305", "440300", "440000", "000000"]
        );
        assert_eq!(super::candidates("440000"), ["440000", "000000"]);
    }
}
