//! Working-day calendar and deadline arithmetic for redress cases.
//!
//! * Working days are Monday–Friday, minus public holidays, plus make-up working
//!   days (调休) that fall on weekends. Holiday data comes from holiday-cn style
//!   year files (`{year, papers[], days[{name, date, isOffDay}]}`); years without
//!   data fall back to plain weekends.
//! * Day arithmetic happens on local dates in a configured time zone
//!   ([`DEFAULT_TZ`] is Asia/Shanghai); instants are UTC.
//! * The day a case enters a stage is not counted: a limit of N working days ends
//!   at 24:00 local time (00:00 of the following calendar day) of the Nth working
//!   day after the entry date.
//!
//! The module is pure: no I/O apart from parsing strings handed to it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The time zone day arithmetic uses unless configured otherwise.
pub const DEFAULT_TZ: Tz = chrono_tz::Asia::Shanghai;

/// Earliest calendar year a year file may describe.
pub const MIN_YEAR: i32 = 1970;
/// Latest calendar year a year file may describe.
pub const MAX_YEAR: i32 = 2200;
/// Largest working-day limit [`Limit::from_str`] accepts (about 40 years).
pub const MAX_WORKING_DAYS: u32 = 10_000;
/// Largest plain-duration limit [`Limit::from_str`] accepts, in days (about 27 years).
pub const MAX_DURATION_DAYS: u64 = 10_000;

/// Share of a plain-duration limit by which the warning precedes the deadline.
const DURATION_WARN_DIVISOR: i32 = 5; // 20 %

const SECONDS_PER_DAY: u64 = 86_400;

/// The China calendars shipped with the service (holiday-cn data, 2019–2026).
const BUILTIN_CN: [&str; 8] = [
    include_str!("calendars/cn/2019.json"),
    include_str!("calendars/cn/2020.json"),
    include_str!("calendars/cn/2021.json"),
    include_str!("calendars/cn/2022.json"),
    include_str!("calendars/cn/2023.json"),
    include_str!("calendars/cn/2024.json"),
    include_str!("calendars/cn/2025.json"),
    include_str!("calendars/cn/2026.json"),
];

/// Errors from loading calendar data or parsing limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The year file is not JSON of the expected shape.
    #[error("calendar file is not valid JSON of the form {{year, days[{{date, isOffDay}}]}}: {0}")]
    Json(String),
    /// The year file's `year` lies outside 1970..=2200.
    #[error("calendar year {0} is out of range (expected 1970..=2200)")]
    YearOutOfRange(i64),
    /// A listed date is not a real `YYYY-MM-DD` date.
    #[error("calendar for {year}: {date:?} is not a valid YYYY-MM-DD date")]
    BadDate { year: i32, date: String },
    /// A listed date is further than one year away from the file's year.
    #[error(
        "calendar for {year}: date {date} is too far from {year} (a year file may only list dates of that year and the years either side)"
    )]
    DateOutOfYear { year: i32, date: NaiveDate },
    /// The same date is listed twice, once as a holiday and once as a working day.
    #[error("calendar for {year}: date {date} is listed twice with different isOffDay flags")]
    ConflictingDate { year: i32, date: NaiveDate },
    /// A limit setting such as `"10wd"` or `"72h"` could not be parsed.
    #[error("invalid limit {input:?}: {reason}")]
    InvalidLimit { input: String, reason: String },
}

/// One holiday-cn year file. Unknown fields (`$schema`, `papers`, `name`, ...) are ignored.
#[derive(Deserialize)]
struct RawYear {
    year: i64,
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// A working-day calendar: weekends plus the holidays and make-up days of the
/// loaded year files. The default (empty) calendar is plain weekends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Listed dates (date -> isOffDay) per loaded file, keyed by the file's `year`.
    files: BTreeMap<i32, BTreeMap<NaiveDate, bool>>,
    /// Every listed date keyed by its own date. Where two files list the same
    /// date, the file with the later `year` (the newer notice) wins.
    days: BTreeMap<NaiveDate, bool>,
}

impl WorkCalendar {
    /// An empty calendar: Monday–Friday are working days, nothing else.
    pub fn new() -> Self {
        Self::default()
    }

    /// The calendar with every embedded China year file (2019–2026) loaded.
    pub fn builtin_cn() -> Self {
        let mut calendar = Self::new();
        for json in BUILTIN_CN {
            calendar
                .load_year_json(json)
                .expect("embedded China calendar files are valid");
        }
        calendar
    }

    /// Parses one holiday-cn year file and loads it, replacing any data loaded
    /// earlier from a file for the same year. Returns the file's year.
    ///
    /// On error the calendar is left unchanged.
    pub fn load_year_json(&mut self, json: &str) -> Result<i32, CalendarError> {
        let raw: RawYear =
            serde_json::from_str(json).map_err(|e| CalendarError::Json(e.to_string()))?;
        let year = i32::try_from(raw.year)
            .ok()
            .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
            .ok_or(CalendarError::YearOutOfRange(raw.year))?;

        let mut listed = BTreeMap::new();
        for day in raw.days {
            let date = parse_iso_date(&day.date).ok_or_else(|| CalendarError::BadDate {
                year,
                date: day.date.clone(),
            })?;
            if (date.year() - year).abs() > 1 {
                return Err(CalendarError::DateOutOfYear { year, date });
            }
            if let Some(previous) = listed.insert(date, day.is_off_day)
                && previous != day.is_off_day
            {
                return Err(CalendarError::ConflictingDate { year, date });
            }
        }

        self.files.insert(year, listed);
        self.days.clear();
        for listed in self.files.values() {
            self.days.extend(listed.iter().map(|(d, off)| (*d, *off)));
        }
        Ok(year)
    }

    /// The years whose files are loaded, ascending.
    pub fn loaded_years(&self) -> Vec<i32> {
        self.files.keys().copied().collect()
    }

    /// Whether a file for `year` is loaded.
    pub fn has_year(&self, year: i32) -> bool {
        self.files.contains_key(&year)
    }

    /// The years in `from_year..=to_year` without a loaded file (their days
    /// fall back to plain weekends). Empty when `from_year > to_year`.
    pub fn missing_years(&self, from_year: i32, to_year: i32) -> Vec<i32> {
        (from_year..=to_year)
            .filter(|year| !self.has_year(*year))
            .collect()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(&is_off_day) => !is_off_day,
            None => is_weekday(date),
        }
    }

    /// The `n`th working day strictly after `start`; `start` itself when `n == 0`.
    ///
    /// Saturates at [`NaiveDate::MAX`] if the result would be out of range.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut remaining = n;
        while remaining > 0 {
            let Some((&next_listed, _)) = self.days.range((Excluded(day), Unbounded)).next() else {
                return add_weekdays(day, remaining);
            };
            // Any 7 consecutive unlisted days hold exactly 5 working days, so
            // skip whole weeks that end before the next listed date, keeping at
            // least one working day to find by stepping.
            let clear_days = (next_listed - day).num_days() - 1;
            let weeks = u32::try_from(clear_days / 7)
                .unwrap_or(u32::MAX)
                .min((remaining - 1) / 5);
            if weeks > 0 {
                day = match day.checked_add_days(Days::new(u64::from(weeks) * 7)) {
                    Some(d) => d,
                    None => return NaiveDate::MAX,
                };
                remaining -= weeks * 5;
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => return NaiveDate::MAX,
            };
            if self.is_working_day(day) {
                remaining -= 1;
            }
        }
        day
    }

    /// The number of working days `d` with `from < d <= to` (0 if `to <= from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let mut count = weekdays_since_epoch(to) - weekdays_since_epoch(from);
        for (&date, &is_off_day) in self.days.range((Excluded(from), Included(to))) {
            count += i64::from(!is_off_day) - i64::from(is_weekday(date));
        }
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Deadline and warning instant for a case entering a stage at `entered`.
    ///
    /// * `WorkingDays(n)`: due at 24:00 local of the nth working day after the
    ///   local entry date; warned at 24:00 local of the (n-1)th working day, or
    ///   at `entered` itself when n <= 1. (`WorkingDays(0)`, which
    ///   [`Limit::from_str`] never produces, is due at the end of the entry day.)
    /// * `Duration(d)`: due at `entered + d`, warned 20 % of `d` earlier.
    pub fn deadline(&self, entered: DateTime<Utc>, limit: Limit, tz: Tz) -> Deadlines {
        match limit {
            Limit::WorkingDays(n) => {
                let start = local_date(entered, tz);
                let due_at = end_of_local_day(self.add_working_days(start, n), tz);
                let warn_at = if n <= 1 {
                    entered
                } else {
                    end_of_local_day(self.add_working_days(start, n - 1), tz)
                };
                Deadlines { due_at, warn_at }
            }
            Limit::Duration(length) => {
                let due_at = add_saturating(entered, length);
                let warn_at = sub_saturating(due_at, warn_lead(length));
                Deadlines { due_at, warn_at }
            }
        }
    }

    /// New deadlines for a clock with deadline `due_at` that was paused at
    /// `paused_at` and resumed at `resumed_at`: the clock keeps the time it had left.
    ///
    /// * `WorkingDays(_)`: remaining = working days strictly after the local
    ///   pause date up to and including the local date of the deadline's last
    ///   day, at least 1 if the deadline was still in the future when paused;
    ///   the result is [`deadline`](Self::deadline)`(resumed_at, remaining wd)`.
    /// * `Duration(d)`: remaining = `due_at - paused_at` (at least zero); due at
    ///   `resumed_at + remaining`, warned 20 % of `d` earlier but not before
    ///   `resumed_at`.
    ///
    /// A clock already overdue when paused has nothing left: it is due (and
    /// warned) at `resumed_at`.
    pub fn resume(
        &self,
        limit: Limit,
        due_at: DateTime<Utc>,
        paused_at: DateTime<Utc>,
        resumed_at: DateTime<Utc>,
        tz: Tz,
    ) -> Deadlines {
        match limit {
            Limit::WorkingDays(_) => {
                if due_at <= paused_at {
                    return Deadlines {
                        due_at: resumed_at,
                        warn_at: resumed_at,
                    };
                }
                let paused_day = local_date(paused_at, tz);
                let last_moment = due_at
                    .checked_sub_signed(Duration::nanoseconds(1))
                    .unwrap_or(due_at);
                let last_day = local_date(last_moment, tz);
                let remaining = self.working_days_between(paused_day, last_day).max(1);
                self.deadline(resumed_at, Limit::WorkingDays(remaining), tz)
            }
            Limit::Duration(length) => {
                let remaining = due_at
                    .signed_duration_since(paused_at)
                    .max(Duration::zero());
                let new_due = add_saturating(resumed_at, remaining);
                let warn_at = sub_saturating(new_due, warn_lead(length)).max(resumed_at);
                Deadlines {
                    due_at: new_due,
                    warn_at,
                }
            }
        }
    }

    /// Working days between the local dates of `from` and `to` (see
    /// [`working_days_between`](Self::working_days_between)).
    pub fn working_days_elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> u32 {
        self.working_days_between(local_date(from, tz), local_date(to, tz))
    }
}

/// A time limit from policy settings: working days (`"10wd"`) or a plain
/// duration (`"72h"`, `"30m"`, `"30s"`, `"2d"` = 48 hours).
///
/// Serialized as its string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    WorkingDays(u32),
    Duration(Duration),
}

impl FromStr for Limit {
    type Err = CalendarError;

    /// Accepts a positive whole number immediately followed by a lower-case
    /// unit: `wd` (working days), `d` (24 hours), `h`, `m` (minutes) or `s`.
    /// Surrounding whitespace is ignored. Zero, signs, decimals and values
    /// above [`MAX_WORKING_DAYS`] / [`MAX_DURATION_DAYS`] are rejected.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| CalendarError::InvalidLimit {
            input: input.to_string(),
            reason,
        };
        const EXAMPLES: &str = "e.g. \"10wd\" (working days), \"2d\", \"72h\", \"30m\" or \"30s\"";

        let text = input.trim();
        if text.is_empty() {
            return Err(invalid(format!("empty; expected {EXAMPLES}")));
        }
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        if number.is_empty() {
            return Err(invalid(format!(
                "must start with a whole number of units (no sign or decimals), {EXAMPLES}"
            )));
        }
        let unit_seconds = match unit {
            "wd" => None,
            "d" => Some(SECONDS_PER_DAY),
            "h" => Some(3_600),
            "m" => Some(60),
            "s" => Some(1),
            "" => {
                return Err(invalid(format!(
                    "missing unit; use wd, d, h, m or s, {EXAMPLES}"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "unknown unit {other:?}; use wd, d, h, m or s (lower case), {EXAMPLES}"
                )));
            }
        };
        let value: u64 = number
            .parse()
            .map_err(|_| invalid("number is too large".to_string()))?;
        if value == 0 {
            return Err(invalid("a limit must be greater than zero".to_string()));
        }
        match unit_seconds {
            None => u32::try_from(value)
                .ok()
                .filter(|n| *n <= MAX_WORKING_DAYS)
                .map(Limit::WorkingDays)
                .ok_or_else(|| {
                    invalid(format!(
                        "at most {MAX_WORKING_DAYS} working days are allowed"
                    ))
                }),
            Some(unit_seconds) => value
                .checked_mul(unit_seconds)
                .filter(|secs| *secs <= MAX_DURATION_DAYS * SECONDS_PER_DAY)
                .and_then(|secs| i64::try_from(secs).ok())
                .map(|secs| Limit::Duration(Duration::seconds(secs)))
                .ok_or_else(|| {
                    invalid(format!(
                        "a duration may be at most {MAX_DURATION_DAYS} days"
                    ))
                }),
        }
    }
}

impl fmt::Display for Limit {
    /// Writes the form [`Limit::from_str`] reads back to an equal value, using
    /// the largest unit that divides the duration exactly (`48h` shows as `2d`).
    /// Sub-second parts of a duration (not producible by parsing) are dropped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::WorkingDays(n) => write!(f, "{n}wd"),
            Limit::Duration(length) => {
                let secs = length.num_seconds();
                if secs != 0 && secs % 86_400 == 0 {
                    write!(f, "{}d", secs / 86_400)
                } else if secs != 0 && secs % 3_600 == 0 {
                    write!(f, "{}h", secs / 3_600)
                } else if secs != 0 && secs % 60 == 0 {
                    write!(f, "{}m", secs / 60)
                } else {
                    write!(f, "{secs}s")
                }
            }
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// When a stage clock is due, and when its warning fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadlines {
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
}

fn is_weekday(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Signed count of Monday–Friday dates in (1970-01-04, date]; 1970-01-04 is a
/// Sunday. Differences give the weekdays in any half-open range.
fn weekdays_since_epoch(date: NaiveDate) -> i64 {
    let sunday = NaiveDate::from_ymd_opt(1970, 1, 4).expect("valid date");
    let days = (date - sunday).num_days();
    days.div_euclid(7) * 5 + days.rem_euclid(7).min(5)
}

/// The nth Monday–Friday strictly after `start` (n >= 1), for stretches with no
/// listed dates. Saturates at [`NaiveDate::MAX`].
fn add_weekdays(start: NaiveDate, n: u32) -> NaiveDate {
    if n == 0 {
        return start;
    }
    let weeks = (n - 1) / 5;
    let Some(mut day) = start.checked_add_days(Days::new(u64::from(weeks) * 7)) else {
        return NaiveDate::MAX;
    };
    let mut remaining = n - weeks * 5;
    while remaining > 0 {
        day = match day.succ_opt() {
            Some(d) => d,
            None => return NaiveDate::MAX,
        };
        if is_weekday(day) {
            remaining -= 1;
        }
    }
    day
}

/// Strict `YYYY-MM-DD`.
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let year = text[0..4].parse().ok()?;
    let month = text[5..7].parse().ok()?;
    let day = text[8..10].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

fn local_date(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// 24:00 local of `date`, i.e. the start of the following local day.
fn end_of_local_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    match date.succ_opt() {
        Some(next) => start_of_local_day(next, tz),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The first instant of local `date`: local midnight, its earlier occurrence
/// if a clock change repeats it, or the end of the gap if a clock change skips it.
fn start_of_local_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(instant) = tz.from_local_datetime(&midnight).earliest() {
        return instant.with_timezone(&Utc);
    }
    // Midnight falls in a gap: binary-search (in whole seconds; transitions
    // happen on whole seconds) the first instant whose local time is at or
    // after midnight. UTC offsets stay well within ±26 hours.
    let window = 26 * 3_600;
    let as_utc = midnight.and_utc().timestamp();
    let (mut before, mut after) = (as_utc - window, as_utc + window);
    let instant = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        match instant(middle) {
            Some(t) if t.with_timezone(&tz).naive_local() < midnight => before = middle,
            _ => after = middle,
        }
    }
    instant(after).unwrap_or_else(|| midnight.and_utc())
}

fn add_saturating(instant: DateTime<Utc>, length: Duration) -> DateTime<Utc> {
    instant
        .checked_add_signed(length)
        .unwrap_or(if length < Duration::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

fn sub_saturating(instant: DateTime<Utc>, length: Duration) -> DateTime<Utc> {
    instant
        .checked_sub_signed(length)
        .unwrap_or(if length < Duration::zero() {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        })
}

/// How long before the deadline a plain-duration limit warns: 20 % of it.
fn warn_lead(length: Duration) -> Duration {
    (length / DURATION_WARN_DIVISOR).max(Duration::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    static CN: LazyLock<WorkCalendar> = LazyLock::new(WorkCalendar::builtin_cn);

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    /// An instant given as Asia/Shanghai wall-clock time.
    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        DEFAULT_TZ
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn naive_add(cal: &WorkCalendar, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().unwrap();
            if cal.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    fn naive_between(cal: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| cal.is_working_day(*d))
            .count() as u32
    }

    fn year_json(year: i32, days: &[(&str, bool)]) -> String {
        let days: Vec<String> = days
            .iter()
            .map(|(d, off)| format!(r#"{{"name": "x", "date": "{d}", "isOffDay": {off}}}"#))
            .collect();
        format!(
            r#"{{"year": {year}, "papers": [], "days": [{}]}}"#,
            days.join(", ")
        )
    }

    // ---- shipped data -------------------------------------------------------

    #[test]
    fn builtin_loads_every_embedded_year() {
        assert_eq!(CN.loaded_years(), (2019..=2026).collect::<Vec<_>>());
        assert!(CN.has_year(2019) && CN.has_year(2026));
        assert!(!CN.has_year(2018) && !CN.has_year(2027));
    }

    /// (first holiday day, last holiday day, first working day after).
    const SPRING_FESTIVAL: [(NaiveDate, NaiveDate, NaiveDate); 8] = [
        (ymd(2019, 2, 4), ymd(2019, 2, 10), ymd(2019, 2, 11)),
        // 2020 was extended to Feb 2 (COVID-19); Feb 3 is listed as a working day.
        (ymd(2020, 1, 24), ymd(2020, 2, 2), ymd(2020, 2, 3)),
        (ymd(2021, 2, 11), ymd(2021, 2, 17), ymd(2021, 2, 18)),
        (ymd(2022, 1, 31), ymd(2022, 2, 6), ymd(2022, 2, 7)),
        // Back to work on a make-up Saturday.
        (ymd(2023, 1, 21), ymd(2023, 1, 27), ymd(2023, 1, 28)),
        // Back to work on a make-up Sunday.
        (ymd(2024, 2, 10), ymd(2024, 2, 17), ymd(2024, 2, 18)),
        (ymd(2025, 1, 28), ymd(2025, 2, 4), ymd(2025, 2, 5)),
        (ymd(2026, 2, 15), ymd(2026, 2, 23), ymd(2026, 2, 24)),
    ];

    const NATIONAL_DAY: [(NaiveDate, NaiveDate, NaiveDate); 8] = [
        (ymd(2019, 10, 1), ymd(2019, 10, 7), ymd(2019, 10, 8)),
        (ymd(2020, 10, 1), ymd(2020, 10, 8), ymd(2020, 10, 9)),
        (ymd(2021, 10, 1), ymd(2021, 10, 7), ymd(2021, 10, 8)),
        (ymd(2022, 10, 1), ymd(2022, 10, 7), ymd(2022, 10, 8)),
        (ymd(2023, 9, 29), ymd(2023, 10, 6), ymd(2023, 10, 7)),
        (ymd(2024, 10, 1), ymd(2024, 10, 7), ymd(2024, 10, 8)),
        (ymd(2025, 10, 1), ymd(2025, 10, 8), ymd(2025, 10, 9)),
        (ymd(2026, 10, 1), ymd(2026, 10, 7), ymd(2026, 10, 8)),
    ];

    const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        match NaiveDate::from_ymd_opt(y, m, d) {
            Some(d) => d,
            None => panic!("invalid test date"),
        }
    }

    fn check_holiday_windows(windows: &[(NaiveDate, NaiveDate, NaiveDate)]) {
        for &(first, last, back_to_work) in windows {
            for day in first.iter_days().take_while(|d| *d <= last) {
                assert!(!CN.is_working_day(day), "{day} should be a holiday");
            }
            assert!(CN.is_working_day(back_to_work), "{back_to_work}");
            assert_eq!(CN.add_working_days(first, 1), back_to_work, "{first}");
            let day_before = first.pred_opt().unwrap();
            assert_eq!(CN.add_working_days(day_before, 1), back_to_work);
            assert_eq!(CN.working_days_between(day_before, last), 0);
            assert_eq!(CN.working_days_between(day_before, back_to_work), 1);
        }
    }

    #[test]
    fn spring_festival_windows() {
        check_holiday_windows(&SPRING_FESTIVAL);
    }

    #[test]
    fn national_day_windows() {
        check_holiday_windows(&NATIONAL_DAY);
    }

    #[test]
    fn make_up_weekend_days_are_working_days() {
        // 2025-09-28 is a make-up Sunday, 2025-10-11 a make-up Saturday.
        assert_eq!(date(2025, 9, 28).weekday(), Weekday::Sun);
        assert!(CN.is_working_day(date(2025, 9, 28)));
        assert_eq!(date(2025, 10, 11).weekday(), Weekday::Sat);
        assert!(CN.is_working_day(date(2025, 10, 11)));
        // Friday 2025-09-26 + 1wd = the make-up Sunday.
        assert_eq!(CN.add_working_days(date(2025, 9, 26), 1), date(2025, 9, 28));
        // Thu 10-09, Fri 10-10, Sat 10-11 (make-up) after the 2025 National Day.
        assert_eq!(
            CN.add_working_days(date(2025, 10, 8), 3),
            date(2025, 10, 11)
        );
        assert_eq!(
            CN.working_days_between(date(2025, 9, 30), date(2025, 10, 11)),
            3
        );
        // An ordinary weekend stays off.
        assert!(!CN.is_working_day(date(2025, 10, 12)));
        // A listed working day on a weekday changes nothing (2020-02-03, Monday).
        assert!(CN.is_working_day(date(2020, 2, 3)));
    }

    #[test]
    fn dates_of_an_adjacent_year_are_keyed_by_their_own_date() {
        // The 2019 file lists 2018-12-29 (Sat, make-up) and 2018-12-30/31 (holidays).
        assert!(CN.is_working_day(date(2018, 12, 29)));
        assert!(!CN.is_working_day(date(2018, 12, 31)));
        // The 2023 file lists 2022-12-31 (Sat, holiday).
        assert!(!CN.is_working_day(date(2022, 12, 31)));
        // But 2018 itself is not loaded.
        assert!(!CN.has_year(2018));
        assert_eq!(CN.missing_years(2018, 2019), vec![2018]);
    }

    #[test]
    fn deadline_crossing_new_year_2026() {
        // Wed 2025-12-24: 25, 26, 29, 30, 31 Dec; 1–3 Jan off; Sun 4 Jan make-up;
        // 5, 6, 7, 8 Jan -> the 10th working day is Thu 2026-01-08.
        assert_eq!(
            CN.add_working_days(date(2025, 12, 24), 10),
            date(2026, 1, 8)
        );
        assert_eq!(
            CN.working_days_between(date(2025, 12, 24), date(2026, 1, 8)),
            10
        );
        let d = CN.deadline(
            shanghai(2025, 12, 24, 10, 0),
            Limit::WorkingDays(10),
            DEFAULT_TZ,
        );
        assert_eq!(d.due_at, utc(2026, 1, 8, 16, 0));
        assert_eq!(d.warn_at, utc(2026, 1, 7, 16, 0));
    }

    #[test]
    fn year_without_data_falls_back_to_weekends() {
        assert!(!CN.has_year(2030));
        assert_eq!(
            CN.missing_years(2025, 2031),
            vec![2027, 2028, 2029, 2030, 2031]
        );
        assert!(CN.missing_years(2019, 2026).is_empty());
        assert!(CN.missing_years(2026, 2025).is_empty());
        // 2030-10-01 (Tue) would be National Day, but there is no data.
        assert!(CN.is_working_day(date(2030, 10, 1)));
        assert!(!CN.is_working_day(date(2030, 10, 5))); // Saturday
        // Fri 2030-09-27 + 5wd = Fri 2030-10-04.
        assert_eq!(CN.add_working_days(date(2030, 9, 27), 5), date(2030, 10, 4));
    }

    #[test]
    fn empty_calendar_is_plain_weekends() {
        let cal = WorkCalendar::new();
        assert_eq!(cal, WorkCalendar::default());
        assert!(cal.loaded_years().is_empty());
        assert!(cal.is_working_day(date(2025, 10, 1)));
        assert!(!cal.is_working_day(date(2025, 9, 28)));
        assert_eq!(
            cal.add_working_days(date(2025, 9, 26), 1),
            date(2025, 9, 29)
        );
        assert_eq!(cal.missing_years(2019, 2020), vec![2019, 2020]);
    }

    // ---- deadlines ------------------------------------------------------------

    #[test]
    fn deadline_is_local_midnight_after_the_nth_working_day() {
        // Mon 2025-11-03 09:00 Shanghai; no holidays in November 2025.
        let entered = shanghai(2025, 11, 3, 9, 0);
        let d = CN.deadline(entered, Limit::WorkingDays(10), DEFAULT_TZ);
        // 10th working day: Mon 2025-11-17 -> 2025-11-18 00:00 +08 = 2025-11-17 16:00Z.
        assert_eq!(d.due_at, utc(2025, 11, 17, 16, 0));
        assert_eq!(d.warn_at, utc(2025, 11, 14, 16, 0));
        // Same day earlier or later gives the same deadline.
        let d_early = CN.deadline(
            shanghai(2025, 11, 3, 0, 0),
            Limit::WorkingDays(10),
            DEFAULT_TZ,
        );
        assert_eq!(d_early.due_at, d.due_at);
    }

    #[test]
    fn entry_late_in_the_local_day_uses_the_local_date() {
        // 23:30 Shanghai on Wed 2025-12-24 = 15:30Z the same day.
        let late = shanghai(2025, 12, 24, 23, 30);
        assert_eq!(late, utc(2025, 12, 24, 15, 30));
        let d = CN.deadline(late, Limit::WorkingDays(10), DEFAULT_TZ);
        assert_eq!(d.due_at, utc(2026, 1, 8, 16, 0));
        // 00:30 Shanghai on Thu 2025-12-25 is still 24 Dec in UTC, but the local
        // entry date is 25 Dec, so the deadline is one working day later.
        let after_midnight = shanghai(2025, 12, 25, 0, 30);
        assert_eq!(after_midnight, utc(2025, 12, 24, 16, 30));
        let d = CN.deadline(after_midnight, Limit::WorkingDays(10), DEFAULT_TZ);
        assert_eq!(d.due_at, utc(2026, 1, 9, 16, 0));
        // In UTC as the calendar zone the same instant is 24 Dec.
        let d_utc = CN.deadline(after_midnight, Limit::WorkingDays(10), chrono_tz::UTC);
        assert_eq!(d_utc.due_at, utc(2026, 1, 9, 0, 0));
    }

    #[test]
    fn entry_on_a_holiday_or_make_up_day() {
        // Entered on a holiday: first working day after the 2025 National Day.
        let d = CN.deadline(
            shanghai(2025, 10, 3, 12, 0),
            Limit::WorkingDays(1),
            DEFAULT_TZ,
        );
        assert_eq!(d.due_at, utc(2025, 10, 9, 16, 0));
        // Entered on the make-up Sunday 2025-09-28: the day itself does not count.
        let d = CN.deadline(
            shanghai(2025, 9, 28, 12, 0),
            Limit::WorkingDays(1),
            DEFAULT_TZ,
        );
        assert_eq!(d.due_at, utc(2025, 9, 29, 16, 0));
    }

    #[test]
    fn warn_at_rules() {
        let entered = shanghai(2025, 11, 3, 9, 0);
        // 1wd: warn at entry, due at the end of Tue 2025-11-04.
        let d = CN.deadline(entered, Limit::WorkingDays(1), DEFAULT_TZ);
        assert_eq!(d.warn_at, entered);
        assert_eq!(d.due_at, utc(2025, 11, 4, 16, 0));
        // 2wd: warn at the end of the 1st working day.
        let d = CN.deadline(entered, Limit::WorkingDays(2), DEFAULT_TZ);
        assert_eq!(d.warn_at, utc(2025, 11, 4, 16, 0));
        assert_eq!(d.due_at, utc(2025, 11, 5, 16, 0));
        // Warning one working day before, across a weekend: 5wd from Mon ends
        // Mon 11-10, warning at the end of Fri 11-07.
        let d = CN.deadline(entered, Limit::WorkingDays(5), DEFAULT_TZ);
        assert_eq!(d.warn_at, utc(2025, 11, 7, 16, 0));
        assert_eq!(d.due_at, utc(2025, 11, 10, 16, 0));
        // Plain durations: 20 % before.
        let t = utc(2025, 11, 3, 1, 0);
        let d = CN.deadline(t, "72h".parse().unwrap(), DEFAULT_TZ);
        assert_eq!(d.due_at, t + Duration::hours(72));
        assert_eq!(d.warn_at, t + Duration::minutes(72 * 60 * 4 / 5));
        let d = CN.deadline(t, "30s".parse().unwrap(), DEFAULT_TZ);
        assert_eq!(d.due_at, t + Duration::seconds(30));
        assert_eq!(d.warn_at, t + Duration::seconds(24));
        // Plain durations ignore holidays and weekends entirely.
        let d = CN.deadline(
            shanghai(2025, 9, 30, 12, 0),
            "2d".parse().unwrap(),
            DEFAULT_TZ,
        );
        assert_eq!(d.due_at, shanghai(2025, 10, 2, 12, 0));
    }

    #[test]
    fn working_days_elapsed_uses_local_dates() {
        let from = shanghai(2025, 9, 30, 10, 0);
        assert_eq!(
            CN.working_days_elapsed(from, shanghai(2025, 10, 9, 10, 0), DEFAULT_TZ),
            1
        );
        assert_eq!(
            CN.working_days_elapsed(from, shanghai(2025, 10, 11, 0, 5), DEFAULT_TZ),
            3
        );
        assert_eq!(
            CN.working_days_elapsed(from, shanghai(2025, 9, 30, 23, 59), DEFAULT_TZ),
            0
        );
        assert_eq!(
            CN.working_days_elapsed(shanghai(2025, 10, 9, 10, 0), from, DEFAULT_TZ),
            0
        );
    }

    // ---- pause / resume -----------------------------------------------------

    #[test]
    fn resume_keeps_remaining_working_days() {
        let limit = Limit::WorkingDays(10);
        let d = CN.deadline(shanghai(2025, 11, 3, 9, 0), limit, DEFAULT_TZ);
        assert_eq!(d.due_at, utc(2025, 11, 17, 16, 0)); // end of Mon 11-17
        // Paused Tue 11-11 14:00: left are 12, 13, 14, 17 Nov = 4 working days.
        let paused = shanghai(2025, 11, 11, 14, 0);
        assert_eq!(
            CN.working_days_between(date(2025, 11, 11), date(2025, 11, 17)),
            4
        );
        // Resumed a week later (Tue 11-18): 19, 20, 21, 24 Nov.
        let resumed = shanghai(2025, 11, 18, 10, 0);
        let r = CN.resume(limit, d.due_at, paused, resumed, DEFAULT_TZ);
        assert_eq!(r.due_at, utc(2025, 11, 24, 16, 0));
        assert_eq!(r.warn_at, utc(2025, 11, 21, 16, 0));
        assert_eq!(r, CN.deadline(resumed, Limit::WorkingDays(4), DEFAULT_TZ));
    }

    #[test]
    fn resume_across_a_holiday() {
        // Mon 2025-09-15 + 10wd: 16–19, 22–26 Sep, then the make-up Sunday 09-28.
        let limit = Limit::WorkingDays(10);
        let d = CN.deadline(shanghai(2025, 9, 15, 9, 0), limit, DEFAULT_TZ);
        assert_eq!(d.due_at, utc(2025, 9, 28, 16, 0));
        // Paused Tue 09-23 with 24, 25, 26, 28 Sep left; resumed Tue 09-30:
        // 10-09, 10-10, 10-11 (make-up Sat), 10-13.
        let r = CN.resume(
            limit,
            d.due_at,
            shanghai(2025, 9, 23, 14, 0),
            shanghai(2025, 9, 30, 9, 0),
            DEFAULT_TZ,
        );
        assert_eq!(r.due_at, utc(2025, 10, 13, 16, 0));
        assert_eq!(r.warn_at, utc(2025, 10, 11, 16, 0));
    }

    #[test]
    fn clock_paused_on_its_last_day_keeps_that_day() {
        let limit = Limit::WorkingDays(10);
        let due = utc(2025, 11, 17, 16, 0); // end of Mon 11-17
        let paused = shanghai(2025, 11, 17, 10, 0);
        let resumed = shanghai(2025, 11, 20, 10, 0); // Thu
        let r = CN.resume(limit, due, paused, resumed, DEFAULT_TZ);
        assert_eq!(r.due_at, utc(2025, 11, 21, 16, 0)); // end of Fri 11-21
        assert_eq!(r.warn_at, resumed);
        // Paused on a weekend before a last Monday: still that one day.
        let r = CN.resume(
            limit,
            due,
            shanghai(2025, 11, 16, 10, 0),
            resumed,
            DEFAULT_TZ,
        );
        assert_eq!(r.due_at, utc(2025, 11, 21, 16, 0));
    }

    #[test]
    fn clock_paused_when_overdue_is_due_on_resume() {
        let due = utc(2025, 11, 17, 16, 0);
        let paused = shanghai(2025, 11, 19, 10, 0);
        let resumed = shanghai(2025, 11, 25, 10, 0);
        let r = CN.resume(Limit::WorkingDays(10), due, paused, resumed, DEFAULT_TZ);
        assert_eq!(r.due_at, resumed);
        assert_eq!(r.warn_at, resumed);
        let r = CN.resume(
            Limit::Duration(Duration::hours(72)),
            due,
            paused,
            resumed,
            DEFAULT_TZ,
        );
        assert_eq!(r.due_at, resumed);
        assert_eq!(r.warn_at, resumed);
    }

    #[test]
    fn resume_keeps_remaining_duration() {
        let limit = Limit::Duration(Duration::hours(72));
        let t = utc(2025, 11, 3, 1, 0);
        let d = CN.deadline(t, limit, DEFAULT_TZ);
        let paused = t + Duration::hours(10);
        let resumed = t + Duration::hours(100);
        let r = CN.resume(limit, d.due_at, paused, resumed, DEFAULT_TZ);
        assert_eq!(r.due_at, resumed + Duration::hours(62));
        assert_eq!(r.warn_at, r.due_at - Duration::minutes(72 * 60 / 5));
        // Paused after the warning already fired: warn at once on resume.
        let paused = t + Duration::hours(70);
        let r = CN.resume(limit, d.due_at, paused, resumed, DEFAULT_TZ);
        assert_eq!(r.due_at, resumed + Duration::hours(2));
        assert_eq!(r.warn_at, resumed);
    }

    // ---- time zones -----------------------------------------------------------

    #[test]
    fn local_midnight_in_zones_with_clock_changes() {
        // Havana skipped 2019-03-10 00:00 (00:00 -05 -> 01:00 -04): the day
        // starts at 05:00Z.
        let havana = chrono_tz::America::Havana;
        assert_eq!(
            start_of_local_day(date(2019, 3, 10), havana),
            utc(2019, 3, 10, 5, 0)
        );
        // Havana repeated 00:00–01:00 on 2019-11-03: the day starts at the
        // first occurrence, 04:00Z.
        assert_eq!(
            start_of_local_day(date(2019, 11, 3), havana),
            utc(2019, 11, 3, 4, 0)
        );
        // Sao Paulo skipped 2018-11-04 00:00 (-03 -> -02): starts at 03:00Z.
        assert_eq!(
            start_of_local_day(date(2018, 11, 4), chrono_tz::America::Sao_Paulo),
            utc(2018, 11, 4, 3, 0)
        );
        assert_eq!(
            end_of_local_day(date(2025, 11, 17), DEFAULT_TZ),
            utc(2025, 11, 17, 16, 0)
        );
    }

    #[test]
    fn huge_limits_saturate_instead_of_panicking() {
        let t = utc(2025, 11, 3, 1, 0);
        assert_eq!(
            CN.add_working_days(date(2025, 1, 1), u32::MAX),
            NaiveDate::MAX
        );
        let d = CN.deadline(t, Limit::WorkingDays(u32::MAX), DEFAULT_TZ);
        assert_eq!(d.due_at, DateTime::<Utc>::MAX_UTC);
        let d = CN.deadline(t, Limit::Duration(Duration::MAX), DEFAULT_TZ);
        assert_eq!(d.due_at, DateTime::<Utc>::MAX_UTC);
        // Largest parseable limits are fine.
        let d = CN.deadline(t, Limit::WorkingDays(MAX_WORKING_DAYS), DEFAULT_TZ);
        assert!(d.warn_at < d.due_at);
    }

    // ---- limits ---------------------------------------------------------------

    #[test]
    fn limit_parsing() {
        assert_eq!("10wd".parse(), Ok(Limit::WorkingDays(10)));
        assert_eq!("72h".parse(), Ok(Limit::Duration(Duration::hours(72))));
        assert_eq!("30m".parse(), Ok(Limit::Duration(Duration::minutes(30))));
        assert_eq!("30s".parse(), Ok(Limit::Duration(Duration::seconds(30))));
        assert_eq!("2d".parse(), Ok(Limit::Duration(Duration::hours(48))));
        assert_eq!(" 5wd\n".parse(), Ok(Limit::WorkingDays(5)));
        assert_eq!("10000wd".parse(), Ok(Limit::WorkingDays(MAX_WORKING_DAYS)));
        assert_eq!(
            "10000d".parse(),
            Ok(Limit::Duration(Duration::days(10_000)))
        );
    }

    #[test]
    fn limit_parsing_rejects_garbage() {
        for bad in [
            "",
            "  ",
            "wd",
            "h",
            "0wd",
            "0h",
            "00s",
            "-1h",
            "+1h",
            "1.5h",
            "10",
            "10x",
            "10 wd",
            "10WD",
            "10H",
            "ten days",
            "10wd ago",
            "1w",
            "10001wd",
            "10001d",
            "240001h",
            "99999999999999999999999h",
        ] {
            let err = bad.parse::<Limit>().expect_err(bad);
            let message = err.to_string();
            assert!(
                matches!(err, CalendarError::InvalidLimit { .. }),
                "{bad}: {message}"
            );
            assert!(message.starts_with("invalid limit"), "{message}");
        }
        let message = "0wd".parse::<Limit>().unwrap_err().to_string();
        assert!(message.contains("greater than zero"), "{message}");
        let message = "10x".parse::<Limit>().unwrap_err().to_string();
        assert!(message.contains("unknown unit \"x\""), "{message}");
        let message = "10".parse::<Limit>().unwrap_err().to_string();
        assert!(message.contains("missing unit"), "{message}");
    }

    #[test]
    fn limit_display_round_trips() {
        for (text, shown) in [
            ("10wd", "10wd"),
            ("72h", "3d"),
            ("25h", "25h"),
            ("30m", "30m"),
            ("90m", "90m"),
            ("120m", "2h"),
            ("30s", "30s"),
            ("2d", "2d"),
            ("48h", "2d"),
            ("010wd", "10wd"),
        ] {
            let limit: Limit = text.parse().unwrap();
            assert_eq!(limit.to_string(), shown);
            assert_eq!(shown.parse::<Limit>(), Ok(limit));
        }
    }

    #[test]
    fn limit_serde_uses_the_string_form() {
        let limit = Limit::WorkingDays(10);
        assert_eq!(serde_json::to_string(&limit).unwrap(), r#""10wd""#);
        assert_eq!(
            serde_json::from_str::<Limit>(r#""72h""#).unwrap(),
            Limit::Duration(Duration::hours(72))
        );
        let err = serde_json::from_str::<Limit>(r#""0wd""#).unwrap_err();
        assert!(err.to_string().contains("greater than zero"), "{err}");
    }

    // ---- loading --------------------------------------------------------------

    #[test]
    fn load_year_json_replaces_the_year() {
        let mut cal = WorkCalendar::builtin_cn();
        assert!(!cal.is_working_day(date(2026, 10, 1)));
        assert!(cal.is_working_day(date(2026, 10, 10)));
        // A (hypothetical) revised 2026 file with a single holiday.
        let year = cal
            .load_year_json(&year_json(2026, &[("2026-03-02", true)]))
            .unwrap();
        assert_eq!(year, 2026);
        assert_eq!(cal.loaded_years(), (2019..=2026).collect::<Vec<_>>());
        assert!(!cal.is_working_day(date(2026, 3, 2)));
        assert!(cal.is_working_day(date(2026, 10, 1))); // old data gone
        assert!(!cal.is_working_day(date(2026, 10, 10)));
        // Other years untouched.
        assert!(!cal.is_working_day(date(2025, 10, 1)));

        // Loading a new year without a new release.
        let mut cal = WorkCalendar::new();
        assert_eq!(
            cal.load_year_json(&year_json(
                2027,
                &[("2027-01-01", true), ("2026-12-27", false)]
            )),
            Ok(2027)
        );
        assert!(cal.has_year(2027));
        assert!(!cal.is_working_day(date(2027, 1, 1)));
        assert!(cal.is_working_day(date(2026, 12, 27))); // Sunday make-up day
        assert_eq!(cal.missing_years(2026, 2027), vec![2026]);
    }

    #[test]
    fn later_file_wins_for_a_date_listed_by_two_files() {
        let older = year_json(2018, &[("2018-12-29", true)]);
        let newer = year_json(2019, &[("2018-12-29", false)]);
        for order in [[&older, &newer], [&newer, &older]] {
            let mut cal = WorkCalendar::new();
            for json in order {
                cal.load_year_json(json).unwrap();
            }
            assert!(cal.is_working_day(date(2018, 12, 29)));
        }
        // Reloading 2019 without that date lets the 2018 file show through.
        let mut cal = WorkCalendar::new();
        cal.load_year_json(&older).unwrap();
        cal.load_year_json(&newer).unwrap();
        cal.load_year_json(&year_json(2019, &[])).unwrap();
        assert!(!cal.is_working_day(date(2018, 12, 29)));
    }

    #[test]
    fn load_year_json_rejects_bad_input() {
        type ErrorCheck = fn(&CalendarError) -> bool;
        let cases: [(String, ErrorCheck); 11] = [
            ("not json".into(), |e| matches!(e, CalendarError::Json(_))),
            (r#"{"year": 2026}"#.into(), |e| {
                matches!(e, CalendarError::Json(_))
            }),
            (r#"{"year": "2026", "days": []}"#.into(), |e| {
                matches!(e, CalendarError::Json(_))
            }),
            (
                r#"{"year": 2026, "days": [{"date": "2026-01-01"}]}"#.into(),
                |e| matches!(e, CalendarError::Json(_)),
            ),
            (year_json(1969, &[]), |e| {
                matches!(e, CalendarError::YearOutOfRange(1969))
            }),
            (year_json(2201, &[]), |e| {
                matches!(e, CalendarError::YearOutOfRange(2201))
            }),
            (
                year_json(2026, &[("2026-02-30", true)]),
                |e| matches!(e, CalendarError::BadDate { date, .. } if date == "2026-02-30"),
            ),
            (year_json(2026, &[("2026/02/01", true)]), |e| {
                matches!(e, CalendarError::BadDate { .. })
            }),
            (year_json(2026, &[("2026-2-1", true)]), |e| {
                matches!(e, CalendarError::BadDate { .. })
            }),
            (year_json(2026, &[("2030-01-01", true)]), |e| {
                matches!(e, CalendarError::DateOutOfYear { year: 2026, .. })
            }),
            (
                year_json(2026, &[("2026-01-01", true), ("2026-01-01", false)]),
                |e| matches!(e, CalendarError::ConflictingDate { year: 2026, .. }),
            ),
        ];
        for (json, expected) in cases {
            let mut cal = WorkCalendar::builtin_cn();
            let err = cal.load_year_json(&json).expect_err(&json);
            assert!(expected(&err), "{json}: {err:?}");
            assert!(!err.to_string().is_empty());
            // A failed load leaves the calendar unchanged.
            assert_eq!(cal, *CN, "{json}");
        }
        // Listing a date twice with the same flag is harmless.
        let mut cal = WorkCalendar::new();
        let json = year_json(2026, &[("2026-01-01", true), ("2026-01-01", true)]);
        assert_eq!(cal.load_year_json(&json), Ok(2026));
        // Messages name the problem.
        let err = cal
            .load_year_json(&year_json(2026, &[("2026-02-30", true)]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "calendar for 2026: \"2026-02-30\" is not a valid YYYY-MM-DD date"
        );
    }

    // ---- properties -----------------------------------------------------------

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 2018-01-01 ..= 2027-12-31
        (0i64..3652).prop_map(|offset| date(2018, 1, 1) + Duration::days(offset))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn add_working_days_matches_naive(start in any_date(), n in 0u32..400) {
            let fast = CN.add_working_days(start, n);
            prop_assert_eq!(fast, naive_add(&CN, start, n));
            prop_assert_eq!(CN.working_days_between(start, fast), n);
            if n > 0 {
                prop_assert!(CN.is_working_day(fast));
            }
        }

        #[test]
        fn add_working_days_is_monotonic(a in any_date(), b in any_date(), n in 0u32..400) {
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(CN.add_working_days(early, n) <= CN.add_working_days(late, n));
            prop_assert!(CN.add_working_days(a, n) < CN.add_working_days(a, n + 1));
        }

        #[test]
        fn working_days_between_matches_naive(a in any_date(), b in any_date()) {
            prop_assert_eq!(CN.working_days_between(a, b), naive_between(&CN, a, b));
        }

        #[test]
        fn empty_calendar_matches_naive(
            offset in -200_000i64..200_000,
            n in 0u32..400,
        ) {
            let cal = WorkCalendar::new();
            let start = date(2000, 1, 1) + Duration::days(offset);
            let fast = cal.add_working_days(start, n);
            prop_assert_eq!(fast, naive_add(&cal, start, n));
            prop_assert_eq!(cal.working_days_between(start, fast), n);
        }

        #[test]
        fn random_calendars_match_naive(
            listed in proptest::collection::btree_map(0i64..366, any::<bool>(), 0..60),
            start_offset in -30i64..400,
            n in 0u32..300,
        ) {
            let jan1 = date(2020, 1, 1);
            let days: Vec<(String, bool)> = listed
                .iter()
                .map(|(offset, off)| ((jan1 + Duration::days(*offset)).to_string(), *off))
                .collect();
            let borrowed: Vec<(&str, bool)> =
                days.iter().map(|(d, off)| (d.as_str(), *off)).collect();
            let mut cal = WorkCalendar::new();
            cal.load_year_json(&year_json(2020, &borrowed)).unwrap();
            let start = jan1 + Duration::days(start_offset);
            let fast = cal.add_working_days(start, n);
            prop_assert_eq!(fast, naive_add(&cal, start, n));
            prop_assert_eq!(cal.working_days_between(start, fast), n);
            let other = start + Duration::days(i64::from(n));
            prop_assert_eq!(
                cal.working_days_between(start, other),
                naive_between(&cal, start, other)
            );
        }

        #[test]
        fn deadline_due_is_local_midnight_after_a_working_day(
            start in any_date(),
            minutes in 0i64..1440,
            n in 1u32..60,
        ) {
            let entered = start_of_local_day(start, DEFAULT_TZ) + Duration::minutes(minutes);
            let d = CN.deadline(entered, Limit::WorkingDays(n), DEFAULT_TZ);
            let last_day = CN.add_working_days(start, n);
            prop_assert_eq!(d.due_at, last_day.and_hms_opt(16, 0, 0).unwrap().and_utc());
            prop_assert!(entered <= d.warn_at && d.warn_at < d.due_at);
            // Resuming at once, right after entry, gives the same deadline back.
            let r = CN.resume(Limit::WorkingDays(n), d.due_at, entered, entered, DEFAULT_TZ);
            prop_assert_eq!(r, d);
        }

        #[test]
        fn limit_round_trips(wd in 1u32..=MAX_WORKING_DAYS, secs in 1u64..=MAX_DURATION_DAYS * 86_400) {
            let limit = Limit::WorkingDays(wd);
            prop_assert_eq!(limit.to_string().parse::<Limit>(), Ok(limit));
            let limit = Limit::Duration(Duration::seconds(secs as i64));
            prop_assert_eq!(limit.to_string().parse::<Limit>(), Ok(limit));
        }
    }
}
