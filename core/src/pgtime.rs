//! Stripe's times (Unix seconds) and Postgres' (microseconds since 2000-01-01 00:00 UTC), converted
//! with chrono: out-of-range values are None, never wrapped.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// Postgres' epoch, 2000-01-01 00:00:00 UTC.
fn pg_epoch() -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Now, in Unix seconds (what a webhook signature's `t=` is compared with).
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// Stripe's Unix seconds as a Postgres timestamp (microseconds since Postgres' epoch).
pub fn from_unix_secs(secs: i64) -> Option<i64> {
    let t = DateTime::<Utc>::from_timestamp(secs, 0)?;
    t.signed_duration_since(pg_epoch()?).num_microseconds()
}

/// A Postgres timestamp (microseconds since Postgres' epoch) as Unix microseconds.
pub fn to_unix_micros(pg_micros: i64) -> Option<i64> {
    pg_epoch()?
        .checked_add_signed(TimeDelta::microseconds(pg_micros))
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epochs_line_up() {
        assert_eq!(from_unix_secs(946_684_800), Some(0));
        assert_eq!(from_unix_secs(946_684_801), Some(1_000_000));
        assert_eq!(from_unix_secs(0), Some(-946_684_800_000_000));
        assert_eq!(to_unix_micros(0), Some(946_684_800_000_000));
        assert_eq!(to_unix_micros(-946_684_800_000_000), Some(0));
    }

    #[test]
    fn a_round_trip_keeps_the_second() {
        for secs in [0, 1_700_003_600, 4_102_444_800, -62_135_596_800] {
            let pg = from_unix_secs(secs);
            assert_eq!(
                pg.and_then(to_unix_micros),
                Some(secs * 1_000_000),
                "{secs}"
            );
        }
    }

    #[test]
    fn now_is_after_this_was_written() {
        assert!(unix_now() > 1_780_000_000);
    }

    #[test]
    fn out_of_range_is_none() {
        assert_eq!(from_unix_secs(i64::MAX), None);
        assert_eq!(from_unix_secs(i64::MIN), None);
        assert_eq!(to_unix_micros(i64::MAX), None);
    }
}
