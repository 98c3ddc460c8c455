//! The institution registry and each institution's mandatory disclosures.
use chrono::{DateTime, Utc};
use entity::institution::{self, InstitutionStatus};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

use super::paging;
use crate::{
    domain::{credit_code::CreditCode, region::RegionCode},
    error::ApiError,
};

/// The mandatory disclosures (DESIGN §5).
#[derive(Debug, Clone, Default)]
pub struct Disclosure {
    pub service_rules: String,
    pub fees_and_prepayment: String,
    pub refund_policy: String,
    pub teacher_qualifications: String,
    pub complaint_contact: String,
}

pub struct NewInstitution {
    pub name: String,
    pub credit_code: CreditCode,
    pub filing_number: String,
    pub region: RegionCode,
    pub website: Option<String>,
    pub status: InstitutionStatus,
    pub disclosure: Disclosure,
}

/// A registry edit: `None` leaves a field as it is; `website: Some(None)` clears it.
#[derive(Default)]
pub struct InstitutionChanges {
    pub name: Option<String>,
    pub credit_code: Option<CreditCode>,
    pub filing_number: Option<String>,
    pub region: Option<RegionCode>,
    pub website: Option<Option<String>>,
    pub status: Option<InstitutionStatus>,
}

#[derive(Default)]
pub struct Filter {
    pub name_contains: Option<String>,
    pub region: Option<RegionCode>,
    /// Leading digits of the region code (`11` = Beijing), for the directory page.
    pub region_prefix: Option<String>,
    pub status: Option<InstitutionStatus>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    new: NewInstitution,
    now: DateTime<Utc>,
) -> Result<institution::Model, ApiError> {
    ensure_code_free(db, &new.credit_code, None).await?;
    let d = new.disclosure;
    let row = institution::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name),
        credit_code: Set(new.credit_code.as_str().to_owned()),
        filing_number: Set(new.filing_number),
        region_code: Set(new.region.as_str().to_owned()),
        website: Set(new.website),
        status: Set(new.status),
        service_rules: Set(d.service_rules),
        fees_and_prepayment: Set(d.fees_and_prepayment),
        refund_policy: Set(d.refund_policy),
        teacher_qualifications: Set(d.teacher_qualifications),
        complaint_contact: Set(d.complaint_contact),
        disclosure_updated_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(institution::Entity::insert(row)
        .exec_with_returning(db)
        .await?)
}

async fn ensure_code_free(
    db: &impl ConnectionTrait,
    code: &CreditCode,
    except: Option<Uuid>,
) -> Result<(), ApiError> {
    let existing = institution::Entity::find()
        .filter(institution::Column::CreditCode.eq(code.as_str()))
        .one(db)
        .await?;
    match existing {
        Some(other) if Some(other.id) != except => Err(ApiError::conflict(
            "an institution with this credit code is already registered",
        )),
        _ => Ok(()),
    }
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<institution::Model, ApiError> {
    institution::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: InstitutionChanges,
    now: DateTime<Utc>,
) -> Result<institution::Model, ApiError> {
    let current = get(db, id).await?;
    if let Some(code) = &changes.credit_code {
        ensure_code_free(db, code, Some(id)).await?;
    }
    let mut row: institution::ActiveModel = current.into();
    if let Some(v) = changes.name {
        row.name = Set(v);
    }
    if let Some(v) = changes.credit_code {
        row.credit_code = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.filing_number {
        row.filing_number = Set(v);
    }
    if let Some(v) = changes.region {
        row.region_code = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.website {
        row.website = Set(v);
    }
    if let Some(v) = changes.status {
        row.status = Set(v);
    }
    row.updated_at = Set(now);
    Ok(row.update(db).await?)
}

pub async fn set_disclosure(
    db: &impl ConnectionTrait,
    id: Uuid,
    d: Disclosure,
    now: DateTime<Utc>,
) -> Result<institution::Model, ApiError> {
    let mut row: institution::ActiveModel = get(db, id).await?.into();
    row.service_rules = Set(d.service_rules);
    row.fees_and_prepayment = Set(d.fees_and_prepayment);
    row.refund_policy = Set(d.refund_policy);
    row.teacher_qualifications = Set(d.teacher_qualifications);
    row.complaint_contact = Set(d.complaint_contact);
    row.disclosure_updated_at = Set(Some(now));
    row.updated_at = Set(now);
    Ok(row.update(db).await?)
}

/// Lists institutions in registration order, filtered; `limit + 1` rows are read to
/// know whether another page exists.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: Filter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<institution::Model>, Option<String>), ApiError> {
    let mut q = institution::Entity::find();
    if let Some(name) = filter.name_contains.filter(|n| !n.trim().is_empty()) {
        let pattern = format!("%{}%", escape_like(&name.trim().to_lowercase()));
        q = q.filter(
            Expr::expr(Func::lower(Expr::col(institution::Column::Name)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        );
    }
    if let Some(region) = filter.region {
        q = q.filter(institution::Column::RegionCode.eq(region.as_str()));
    }
    if let Some(prefix) = filter
        .region_prefix
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        q = q.filter(institution::Column::RegionCode.starts_with(prefix));
    }
    if let Some(status) = filter.status {
        q = q.filter(institution::Column::Status.eq(status));
    }
    if let Some(after) = after {
        q = q.filter(institution::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(institution::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(paging::finish(rows, limit, |r| r.id))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
