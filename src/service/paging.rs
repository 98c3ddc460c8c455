//! Cursor paging over time-ordered (v7) UUID keys: the cursor is the last id seen.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

pub fn limit(requested: Option<u64>) -> Result<u64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

pub fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| ApiError::field("cursor", "is not a cursor returned by this list"))
}

/// Given `limit + 1` fetched rows, trims the extra one and says where to continue.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: u64,
    id_of: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(|r| encode(id_of(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode(Some(&encode(id))).unwrap(), Some(id));
        assert!(decode(Some("not a cursor")).is_err());
        assert_eq!(decode(None).unwrap(), None);
    }

    #[test]
    fn finish_trims_and_points_at_the_last_row() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let (rows, next) = finish(ids.clone(), 3, |u| *u);
        assert_eq!(rows, ids[..3]);
        assert_eq!(next, Some(encode(ids[2])));
        let (rows, next) = finish(ids[..2].to_vec(), 3, |u| *u);
        assert_eq!(rows.len(), 2);
        assert!(next.is_none());
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
