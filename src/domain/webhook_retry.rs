//! When to try a failed webhook delivery again, and when to stop.
//!
//! After the first attempt fails, retries follow [`SCHEDULE`] (5 s, 5 min, 30 min, 2 h,
//! 5 h, 10 h, 10 h: about 28 hours in all), each delay spread by ±[`JITTER`] so that
//! many failed deliveries do not come back at the same instant. After the last retry the
//! delivery is given up. A receiver answering 429 or 503 with `Retry-After` sets the
//! delay itself (within [`MAX_RETRY_AFTER`]); the attempt still counts.
use chrono::{DateTime, Duration, Utc};
use rand::Rng;

/// The delays between attempts: after the first failure wait `SCHEDULE[0]`, and so on.
pub const SCHEDULE: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// Every delivery gets this many attempts at most: the first and one per retry.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

/// Each scheduled delay is multiplied by a random factor in `1 ± JITTER`.
pub const JITTER: f64 = 0.1;

/// The longest `Retry-After` honoured; longer requests are cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(24);

/// How long an endpoint may fail without a single success before it is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);

/// The delay before the next attempt, after `failed_attempts` (1 or more) attempts in a
/// row failed; `None` when the delivery should be given up. `rng` supplies the jitter.
pub fn next_delay(failed_attempts: u32, rng: &mut impl Rng) -> Option<Duration> {
    let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    let base = *SCHEDULE.get(index)?;
    let factor = 1.0 + rng.random_range(-JITTER..=JITTER);
    let millis = (base.num_milliseconds() as f64 * factor).round() as i64;
    Some(Duration::milliseconds(millis.max(1)))
}

/// Reads a `Retry-After` value: delay seconds or an HTTP date. Past dates give zero;
/// unreadable values give `None` (the schedule applies).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = value.parse().unwrap_or(i64::MAX);
        return Some(Duration::seconds(secs.min(MAX_RETRY_AFTER.num_seconds())));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).clamp(Duration::zero(), MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn follows_the_schedule_within_the_jitter_then_gives_up() {
        let mut rng = StdRng::seed_from_u64(7);
        for (i, base) in SCHEDULE.iter().enumerate() {
            for _ in 0..100 {
                let d = next_delay(i as u32 + 1, &mut rng).unwrap();
                let ms = d.num_milliseconds() as f64;
                let b = base.num_milliseconds() as f64;
                assert!(ms >= b * 0.9 - 1.0 && ms <= b * 1.1 + 1.0, "{i}: {d}");
            }
        }
        assert_eq!(next_delay(MAX_ATTEMPTS, &mut rng), None);
        assert_eq!(next_delay(0, &mut rng), None);
        assert_eq!(next_delay(u32::MAX, &mut rng), None);
    }

    #[test]
    fn jitter_actually_varies() {
        let mut rng = StdRng::seed_from_u64(1);
        let delays: std::collections::HashSet<_> =
            (0..20).map(|_| next_delay(3, &mut rng).unwrap()).collect();
        assert!(delays.len() > 10);
    }

    #[test]
    fn the_whole_schedule_spans_about_a_day() {
        let total: Duration = SCHEDULE.iter().copied().sum();
        assert_eq!(
            total,
            Duration::seconds(5) + Duration::minutes(35) + Duration::hours(27)
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: DateTime<Utc> = "2026-03-02T02:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::zero()));
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 02:10:00 GMT", now),
            Some(Duration::minutes(10))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 01:00:00 GMT", now),
            Some(Duration::zero())
        );
        assert_eq!(
            parse_retry_after("99999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
