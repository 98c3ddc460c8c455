//! Working-day calendars: the shipped China years, plus years an operator loads (stored
//! in the database so every replica and restart uses them).
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;
use entity::calendar_year;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};

use crate::{domain::calendar::WorkCalendar, error::ApiError};

/// Shipped years, then every stored year on top (a stored year replaces a shipped one).
pub async fn load(db: &impl ConnectionTrait) -> anyhow::Result<WorkCalendar> {
    let mut cal = WorkCalendar::builtin_cn();
    for row in calendar_year::Entity::find().all(db).await? {
        if let Err(e) = cal.load_year_json(&row.source) {
            tracing::error!(year = row.year, error = %e, "stored calendar year is invalid; skipped");
        }
    }
    Ok(cal)
}

/// Validates and stores one year (holiday-cn JSON). The year inside must match `year`.
pub async fn put(
    db: &impl ConnectionTrait,
    year: i32,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut scratch = WorkCalendar::new();
    let found = scratch
        .load_year_json(source)
        .map_err(|e| ApiError::field("body", e.to_string()))?;
    if found != year {
        return Err(ApiError::field(
            "year",
            format!("the file is for {found}, not {year}"),
        ));
    }
    calendar_year::Entity::insert(calendar_year::ActiveModel {
        year: Set(year),
        source: Set(source.to_owned()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(calendar_year::Column::Year)
            .update_columns([
                calendar_year::Column::Source,
                calendar_year::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Years that deadlines starting now may reach (about three months ahead) but that have
/// no calendar: they fall back to plain weekends, which an operator should fix.
pub fn warnings(cal: &WorkCalendar, now: DateTime<Utc>, tz: Tz) -> Vec<String> {
    let from = now.with_timezone(&tz).year();
    let to = (now + Duration::days(92)).with_timezone(&tz).year();
    cal.missing_years(from, to)
        .into_iter()
        .map(|y| {
            format!(
                "no working-day calendar is loaded for {y}: deadlines in {y} count plain \
                 weekends only; load it with PUT /api/v1/calendars/{y}"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn warns_about_next_year_from_october() {
        let cal = WorkCalendar::builtin_cn();
        let tz = chrono_tz::Asia::Shanghai;
        let summer = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert!(warnings(&cal, summer, tz).is_empty());
        let late = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let w = warnings(&cal, late, tz);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("2027"));
    }
}
