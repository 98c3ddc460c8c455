//! Working-day calendars: an operator loads or replaces a year without a release.
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use super::ApiTags;
use crate::{
    auth::{BearerAuth, policy},
    error::{ApiError, ApiResult},
    service::calendars,
    state::AppState,
};

#[derive(Debug, Object)]
pub struct CalendarStatus {
    /// Years with holiday and make-up-day data.
    pub loaded_years: Vec<i32>,
    /// Years that deadlines may soon reach but that have no data.
    pub warnings: Vec<String>,
}

fn status(state: &AppState) -> CalendarStatus {
    CalendarStatus {
        loaded_years: state.rules().calendar.loaded_years(),
        warnings: state.calendar_warnings(),
    }
}

pub struct CalendarsApi;

#[OpenApi(prefix_path = "/calendars", tag = "ApiTags::Calendars")]
impl CalendarsApi {
    /// Which years are loaded, and warnings about missing ones.
    #[oai(path = "/", method = "get", operation_id = "listCalendars")]
    async fn list(&self, state: Data<&AppState>) -> Json<CalendarStatus> {
        Json(status(&state))
    }

    /// Load or replace one year (admin). The body is a year file in the holiday-cn
    /// format: `{year, papers, days: [{name, date, isOffDay}]}`; a listed date with
    /// `isOffDay: true` is a holiday, with `false` a make-up working day.
    #[oai(path = "/:year", method = "put", operation_id = "putCalendarYear")]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        year: Path<i32>,
        body: Json<serde_json::Value>,
    ) -> ApiResult<Json<CalendarStatus>> {
        policy::administer(&auth.0)?;
        calendars::put(&state.db, year.0, &body.0.to_string(), state.clock.now()).await?;
        state
            .reload_calendar()
            .await
            .map_err(ApiError::Unexpected)?;
        Ok(Json(status(&state)))
    }
}
