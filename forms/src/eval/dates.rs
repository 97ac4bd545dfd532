//! The date functions (`date()`, `date-time()`, `decimal-date-time()`, `format-date()`) as ODK
//! Collect (JavaRosa) computes them. A date, and a date-time written without an offset, mean a
//! moment of the local day: local is the offset of the session's clock (`Context::now`), so that
//! `decimal-date-time('2024-03-01')` in Ecuador (UTC-5) is five hours past UTC midnight.

use super::scalar::{date_from_days, parse_date_like_in, Scalar, XValue};
use chrono::{DateTime, Datelike, FixedOffset, NaiveTime, TimeZone, Timelike};

const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// `date()`: a day number or an ISO text as a date (a text with a time keeps it); a date-time
/// value as its local day (JavaRosa's `DateUtils.roundDate`); NaN stays NaN (JavaRosa's `toDate`
/// returns it unchanged); empty if it is none of these.
pub(crate) fn to_date(value: &Scalar, local: FixedOffset) -> XValue {
    let converted = match value {
        Scalar::Date(_) => Some(value.clone()),
        Scalar::DateTime(at) => Some(Scalar::Date(at.with_timezone(&local).date_naive())),
        Scalar::Number(days) if days.is_nan() => Some(value.clone()),
        Scalar::Number(days) => date_from_days(*days).map(Scalar::Date),
        Scalar::Text(t) => parse_date_like_in(t, local)
            .or_else(|| date_from_days(value.to_number()).map(Scalar::Date)),
        Scalar::Boolean(_) => None,
    };
    XValue::One(converted.unwrap_or_default())
}

/// `date-time()`: as `date()`, except that a number keeps its fraction of a day (JavaRosa's
/// `toDate(n, preserveTime)`: `n` days after 1970-01-01T00:00Z), and a date-time is shown at the
/// local offset, the moment unchanged.
pub(crate) fn to_date_time(value: &Scalar, local: FixedOffset) -> XValue {
    let moment = match value {
        Scalar::Number(days) => moment_from_days(*days, local),
        Scalar::Text(t) => match parse_date_like_in(t, local) {
            Some(Scalar::DateTime(at)) => Some(at.with_timezone(&local)),
            parsed => return to_date(&parsed.unwrap_or_else(|| value.clone()), local),
        },
        Scalar::DateTime(at) => Some(at.with_timezone(&local)),
        _ => return to_date(value, local),
    };
    match moment {
        Some(at) => XValue::One(Scalar::DateTime(at)),
        None => to_date(value, local),
    }
}

/// The moment `days` (with fraction) after 1970-01-01T00:00Z, at the local offset.
fn moment_from_days(days: f64, local: FixedOffset) -> Option<DateTime<FixedOffset>> {
    if !days.is_finite() || days.abs() > 3e6 {
        return None;
    }
    local
        .timestamp_millis_opt((days * MILLIS_PER_DAY) as i64)
        .single()
}

/// `decimal-date-time()`: the days, with fraction, from 1970-01-01T00:00Z to the moment. A date
/// (or a date-time without offset) is read at the local offset, as JavaRosa reads it in the
/// device's time zone; a number is already such a count.
pub(crate) fn decimal_date_time(value: &Scalar, local: FixedOffset) -> f64 {
    let parsed = match value {
        Scalar::Number(days) => return *days,
        Scalar::Text(text) => parse_date_like_in(text, local),
        other => Some(other.clone()),
    };
    match parsed {
        Some(Scalar::Date(date)) => {
            let midnight = date.and_hms_opt(0, 0, 0).and_then(|naive| {
                local
                    .from_local_datetime(&naive)
                    .single()
                    .map(|at| at.timestamp_millis())
            });
            midnight.map_or(f64::NAN, |ms| ms as f64 / MILLIS_PER_DAY)
        }
        Some(Scalar::DateTime(at)) => at.timestamp_millis() as f64 / MILLIS_PER_DAY,
        _ => f64::NAN,
    }
}

/// `decimal-time()`: the fraction of the local day a time (`06:00:00.000-07:00`) or a date-time
/// has gone, after moving it to the local offset (JavaRosa's `DateUtils.decimalTimeOfLocalDay`);
/// a number keeps its fraction; NaN for anything else, an hour past 23 or an offset past 23:59.
pub(crate) fn decimal_time(value: &Scalar, local: FixedOffset) -> f64 {
    let seconds = match value {
        Scalar::Number(n) => return n - n.floor(),
        Scalar::DateTime(at) => Some(seconds_of(at.with_timezone(&local).time())),
        Scalar::Text(text) => parse_time(text.trim()).map(|(time, offset)| {
            let shift = local.local_minus_utc() - offset.unwrap_or(local).local_minus_utc();
            (seconds_of(time) + f64::from(shift)).rem_euclid(SECONDS_PER_DAY)
        }),
        _ => None,
    };
    seconds.map_or(f64::NAN, |s| s / SECONDS_PER_DAY)
}

const SECONDS_PER_DAY: f64 = 86_400.0;

/// The seconds since midnight of a time of day.
fn seconds_of(time: NaiveTime) -> f64 {
    f64::from(time.num_seconds_from_midnight()) + f64::from(time.nanosecond()) / 1e9
}

/// `HH:MM:SS[.fff][Z|±HH:MM]`: the time and its offset, if written.
fn parse_time(text: &str) -> Option<(NaiveTime, Option<FixedOffset>)> {
    let split = text
        .char_indices()
        .skip(8)
        .find(|(_, c)| matches!(c, 'Z' | '+' | '-'))
        .map_or(text.len(), |(i, _)| i);
    let (clock, zone) = text.split_at(split);
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f").ok()?;
    let offset = match zone {
        "" => None,
        "Z" => FixedOffset::east_opt(0),
        signed => {
            let (hours, minutes) = signed[1..].split_once(':')?;
            let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 60 + minutes) * 60;
            FixedOffset::east_opt(if signed.starts_with('-') {
                -seconds
            } else {
                seconds
            })
        }
    };
    // chrono reads a leap second (`:60`) as a nanosecond count past one second; ODK refuses it.
    (time.nanosecond() < 1_000_000_000).then_some((time, offset))
}

/// `format-date(d, '%Y-%m-%d')` with ODK's directives (`%Y %y %m %n %b %d %e %a %H %h %M %S %3`).
pub(crate) fn format_date(value: &Scalar, pattern: &str) -> String {
    let at: DateTime<FixedOffset> = match value {
        Scalar::DateTime(at) => *at,
        Scalar::Date(d) => d
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc().fixed_offset())
            .unwrap_or_default(),
        other => match parse_date_like_in(&other.to_text(), FixedOffset::east_opt(0).unwrap())
            .or_else(|| date_from_days(other.to_number()).map(Scalar::Date))
        {
            Some(parsed) if parsed != *other => return format_date(&parsed, pattern),
            _ => return String::new(),
        },
    };
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(directive) = chars.next() else { break };
        out.push_str(&directive_of(&at, directive));
    }
    out
}

/// One `%` directive of `format-date`; an unknown one is written back as it was.
fn directive_of(at: &DateTime<FixedOffset>, directive: char) -> String {
    match directive {
        'Y' => format!("{:04}", at.year()),
        'y' => format!("{:02}", at.year() % 100),
        'm' => format!("{:02}", at.month()),
        'n' => at.month().to_string(),
        'b' => at.format("%b").to_string(),
        'd' => format!("{:02}", at.day()),
        'e' => at.day().to_string(),
        'a' => at.format("%a").to_string(),
        'H' => format!("{:02}", at.hour()),
        'h' => at.hour().to_string(),
        'M' => format!("{:02}", at.minute()),
        'S' => format!("{:02}", at.second()),
        '3' => format!("{:03}", at.timestamp_subsec_millis()),
        other => format!("%{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ecuador() -> FixedOffset {
        FixedOffset::west_opt(5 * 3600).unwrap()
    }

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.into())
    }

    #[test]
    fn decimal_date_time_of_a_date_counts_from_local_midnight() {
        let date = Scalar::Date(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap());
        let five_hours = 5.0 / 24.0;
        assert_eq!(decimal_date_time(&date, ecuador()), 1.0 + five_hours);
        assert_eq!(
            decimal_date_time(&text("1970-01-02"), ecuador()),
            1.0 + five_hours
        );
    }

    #[test]
    fn decimal_date_time_of_a_date_time_without_offset_reads_it_as_local() {
        let local = decimal_date_time(&text("1970-01-02T00:00:00"), ecuador());
        assert_eq!(local, 1.0 + 5.0 / 24.0);
        let utc = decimal_date_time(&text("1970-01-02T00:00:00Z"), ecuador());
        assert_eq!(utc, 1.0, "an explicit offset is kept");
    }

    #[test]
    fn date_time_of_a_number_keeps_the_time_of_day() {
        let XValue::One(Scalar::DateTime(at)) = to_date_time(&Scalar::Number(1.5), ecuador())
        else {
            panic!("a date-time");
        };
        assert_eq!(at.to_rfc3339(), "1970-01-02T07:00:00-05:00");
        let date = to_date(&Scalar::Number(1.5), ecuador());
        assert_eq!(
            date.first(),
            Scalar::Date(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()),
            "date() drops the time, as JavaRosa's toDate(n, false) does"
        );
    }

    #[test]
    fn date_time_of_a_text_with_an_offset_is_shown_at_the_local_offset() {
        let shown = to_date_time(&text("1970-01-01T21:50:49Z"), ecuador()).to_text();
        assert_eq!(shown, "1970-01-01T16:50:49.000-05:00");
    }

    #[test]
    fn date_of_a_date_time_value_is_its_local_day() {
        let late_evening = DateTime::parse_from_rfc3339("2024-03-01T23:30:00-05:00").unwrap();
        let day = to_date(&Scalar::DateTime(late_evening.fixed_offset()), ecuador());
        assert_eq!(day.to_text(), "2024-03-01");
        let utc = to_date(
            &Scalar::DateTime(late_evening.to_utc().fixed_offset()),
            ecuador(),
        );
        assert_eq!(
            utc.to_text(),
            "2024-03-01",
            "the day where the device is, not in UTC"
        );
    }

    #[test]
    fn decimal_time_is_the_fraction_of_the_local_day() {
        assert_eq!(decimal_time(&text("06:00:00.000-05:00"), ecuador()), 0.25);
        assert_eq!(decimal_time(&text("12:00:00.000Z"), ecuador()), 7.0 / 24.0);
        assert_eq!(decimal_time(&text("18:00:00"), ecuador()), 0.75);
        assert!(decimal_time(&text("24:00:00.000-05:00"), ecuador()).is_nan());
        assert!(decimal_time(&text("06:00:60.000-05:00"), ecuador()).is_nan());
        assert!(decimal_time(&text("06:00:00.000-24:00"), ecuador()).is_nan());
        assert_eq!(decimal_time(&Scalar::Number(3.5), ecuador()), 0.5);
    }

    #[test]
    fn date_of_nan_stays_nan_as_in_javarosa() {
        let nan = to_date(&Scalar::Number(f64::NAN), ecuador());
        assert_eq!(nan.to_text(), "NaN");
        assert_eq!(to_date(&text("nonsense"), ecuador()).to_text(), "");
    }
}
