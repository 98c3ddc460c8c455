//! Evidence files on a case: checked by content, stored on disk (written to a temporary
//! name, synced, then renamed, so a crash never leaves half a file under the real name),
//! recorded with their SHA-256 in the timeline.
use std::path::{Path, PathBuf};

use entity::attachment;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{complaints, complaints::Rules, timeline};
use crate::{
    auth::{Principal, policy},
    db,
    domain::{file_type, lifecycle::CaseState},
    error::ApiError,
};

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PER_CASE: u64 = 20;

fn path_of(dir: &Path, complaint_id: Uuid, id: Uuid) -> PathBuf {
    dir.join(complaint_id.to_string()).join(id.to_string())
}

fn clean_name(name: Option<&str>) -> String {
    let base = name
        .unwrap_or("attachment")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("attachment");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

async fn write_durably(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("attachment path has no parent"))?;
    tokio::fs::create_dir_all(dir).await?;
    let tmp = path.with_extension("part");
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(bytes).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, path).await?;
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
    Ok(())
}

pub async fn upload(
    db: &DatabaseConnection,
    rules: &Rules,
    dir: &Path,
    who: &Principal,
    complaint_id: Uuid,
    file_name: Option<&str>,
    bytes: Vec<u8>,
) -> Result<attachment::Model, ApiError> {
    if bytes.len() > MAX_BYTES {
        return Err(ApiError::field("file", "must be at most 10 MiB"));
    }
    let kind = file_type::sniff(&bytes).ok_or_else(|| {
        ApiError::field("file", "must be a PDF, JPEG, PNG, WebP or plain-text file")
    })?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let name = clean_name(file_name);
    let id = Uuid::now_v7();

    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, complaint_id).await?;
    policy::take_part(who, actor, &case)?;
    if CaseState::from(case.state).is_terminal() {
        return Err(ApiError::conflict(
            "the case is closed; no more attachments",
        ));
    }
    let count = attachment::Entity::find()
        .filter(attachment::Column::ComplaintId.eq(complaint_id))
        .count(&txn)
        .await?;
    if count >= MAX_PER_CASE {
        return Err(ApiError::conflict(format!(
            "a case holds at most {MAX_PER_CASE} attachments"
        )));
    }
    // The file is on disk before the row that points at it is committed.
    write_durably(&path_of(dir, complaint_id, id), &bytes).await?;
    let row = attachment::Entity::insert(attachment::ActiveModel {
        id: Set(id),
        complaint_id: Set(complaint_id),
        uploader_id: Set(who.account_id),
        file_name: Set(name.clone()),
        content_type: Set(kind.mime().to_owned()),
        size_bytes: Set(bytes.len() as i64),
        sha256: Set(sha.clone()),
        created_at: Set(rules.now),
    })
    .exec_with_returning(&txn)
    .await?;
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "attachment",
            from_state: None,
            to_state: None,
            payload: json!({
                "attachment_id": id,
                "file_name": name,
                "content_type": kind.mime(),
                "size_bytes": bytes.len(),
                "sha256": sha,
            }),
            at: rules.now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn list(
    db: &DatabaseConnection,
    who: &Principal,
    complaint_id: Uuid,
) -> Result<Vec<attachment::Model>, ApiError> {
    complaints::get(db, who, complaint_id).await?;
    Ok(attachment::Entity::find()
        .filter(attachment::Column::ComplaintId.eq(complaint_id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?)
}

/// The file of an attachment on a case the caller may see.
pub async fn read(
    db: &DatabaseConnection,
    dir: &Path,
    who: &Principal,
    complaint_id: Uuid,
    id: Uuid,
) -> Result<(attachment::Model, Vec<u8>), ApiError> {
    complaints::get(db, who, complaint_id).await?;
    let row = attachment::Entity::find_by_id(id)
        .filter(attachment::Column::ComplaintId.eq(complaint_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let bytes = tokio::fs::read(path_of(dir, complaint_id, id))
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("attachment file unreadable: {e}")))?;
    Ok((row, bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(super::clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(super::clean_name(Some("C:\\x\\收据.pdf")), "收据.pdf");
        assert_eq!(super::clean_name(Some("\"<>")), "attachment");
        assert_eq!(super::clean_name(None), "attachment");
    }
}
