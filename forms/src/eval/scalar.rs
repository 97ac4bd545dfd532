//! XPath values as the engine computes them, and XPath 1.0's conversions and comparisons
//! between them: empty is the empty string, comparing with a number compares numbers, NaN is
//! unequal to everything, dates compare as dates.

use crate::expr::BinaryOp;
use crate::value::Value;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};
use std::cmp::Ordering;

/// One computed value: a calculation's result, or an answer as expressions see it. Equality is
/// sameness (NaN equals NaN), so that an unchanged NaN does not count as a change.
#[derive(Debug, Clone)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Boolean(bool),
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Scalar::Number(a), Scalar::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Scalar::Text(a), Scalar::Text(b)) => a == b,
            (Scalar::Boolean(a), Scalar::Boolean(b)) => a == b,
            (Scalar::Date(a), Scalar::Date(b)) => a == b,
            (Scalar::DateTime(a), Scalar::DateTime(b)) => a == b && a.offset() == b.offset(),
            _ => false,
        }
    }
}

impl Default for Scalar {
    fn default() -> Self {
        Scalar::Text(String::new())
    }
}

/// What an expression yields: one value, or the values of a question in every repeat instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XValue {
    One(Scalar),
    Nodes(Vec<Scalar>),
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => panic!("1970-01-01 is a date"),
};
const SECONDS_PER_DAY: f64 = 86_400.0;

impl Scalar {
    /// An answer as expressions see it: a select_multiple is its names separated by spaces.
    pub fn from_value(value: &Value) -> Scalar {
        match value {
            Value::Text(text) | Value::Choice(text) => Scalar::Text(text.clone()),
            Value::Integer(n) => Scalar::Number(*n as f64),
            Value::Decimal(n) => Scalar::Number(*n),
            Value::Choices(names) => Scalar::Text(
                names
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Value::Date(date) => Scalar::Date(*date),
            Value::Time(time) => Scalar::Text(time.format("%H:%M:%S%.3f").to_string()),
            Value::DateTime(at) => Scalar::DateTime(*at),
            Value::GeoPoint(point) => Scalar::Text(format!(
                "{} {} {} {}",
                point.latitude,
                point.longitude,
                point.altitude.unwrap_or(0.0),
                point.accuracy.unwrap_or(0.0)
            )),
            Value::Attachment(file) => Scalar::Text(file.file_name.clone()),
        }
    }

    /// Whether this is the empty string (an unanswered or hidden question).
    pub fn is_empty(&self) -> bool {
        matches!(self, Scalar::Text(text) if text.is_empty())
    }

    /// XPath `string()`.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(text) => text.clone(),
            Scalar::Number(n) => number_to_text(*n),
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Date(date) => date.format("%Y-%m-%d").to_string(),
            Scalar::DateTime(at) => at.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
        }
    }

    /// XPath `number()`; dates count days since 1970-01-01.
    pub fn to_number(&self) -> f64 {
        match self {
            Scalar::Text(text) => text_to_number(text),
            Scalar::Number(n) => *n,
            Scalar::Boolean(b) => f64::from(u8::from(*b)),
            Scalar::Date(date) => (*date - EPOCH).num_days() as f64,
            Scalar::DateTime(at) => at.timestamp_millis() as f64 / 1000.0 / SECONDS_PER_DAY,
        }
    }

    /// XPath `boolean()`.
    pub fn to_bool(&self) -> bool {
        match self {
            Scalar::Text(text) => !text.is_empty(),
            Scalar::Number(n) => *n != 0.0 && !n.is_nan(),
            Scalar::Boolean(b) => *b,
            Scalar::Date(_) | Scalar::DateTime(_) => true,
        }
    }

    /// As a day number, reading text as an ISO date or date-time; NaN if it is neither.
    pub(crate) fn to_day_number(&self) -> f64 {
        match self {
            Scalar::Text(text) => parse_date_like(text).map_or(f64::NAN, |s| s.to_number()),
            other => other.to_number(),
        }
    }

    fn is_date(&self) -> bool {
        matches!(self, Scalar::Date(_) | Scalar::DateTime(_))
    }
}

/// Reads `2024-03-01` as a date and `2024-03-01T10:00:00+05:00` (or without offset, read as UTC)
/// as a date-time.
pub(crate) fn parse_date_like(text: &str) -> Option<Scalar> {
    parse_date_like_in(text, FixedOffset::east_opt(0).expect("UTC is an offset"))
}

/// As `parse_date_like`, reading a date-time written without offset at the offset `local`.
pub(crate) fn parse_date_like_in(text: &str, local: FixedOffset) -> Option<Scalar> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Scalar::Date(date));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(Scalar::DateTime(at));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(Scalar::DateTime(naive.and_local_timezone(local).single()?))
}

/// The date `days` after 1970-01-01 (fractions dropped).
pub(crate) fn date_from_days(days: f64) -> Option<NaiveDate> {
    if !days.is_finite() || days.abs() > 3e6 {
        return None;
    }
    EPOCH
        .checked_add_signed(chrono::Duration::days(days.floor() as i64))
        .filter(|d| d.year() > 0)
}

/// XPath number-to-string: integers without a decimal point, `NaN`, `Infinity`.
pub fn number_to_text(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// XPath string-to-number: optional `-`, digits, optional `.digits`; anything else is NaN.
fn text_to_number(text: &str) -> f64 {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let well_formed = !digits.is_empty()
        && digits != "."
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    if well_formed {
        trimmed.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

impl XValue {
    /// The first node (XPath's string value of a node-set), or the value itself.
    pub(crate) fn first(&self) -> Scalar {
        match self {
            XValue::One(scalar) => scalar.clone(),
            XValue::Nodes(nodes) => nodes.first().cloned().unwrap_or_default(),
        }
    }

    pub(crate) fn to_text(&self) -> String {
        match self {
            XValue::One(scalar) => scalar.to_text(),
            XValue::Nodes(nodes) => nodes.first().map(Scalar::to_text).unwrap_or_default(),
        }
    }

    pub(crate) fn to_number(&self) -> f64 {
        match self {
            XValue::One(scalar) => scalar.to_number(),
            XValue::Nodes(nodes) => nodes.first().map_or(f64::NAN, Scalar::to_number),
        }
    }

    pub(crate) fn to_bool(&self) -> bool {
        match self {
            XValue::One(scalar) => scalar.to_bool(),
            XValue::Nodes(nodes) => !nodes.is_empty(),
        }
    }

    /// Every value: the nodes of a node-set, or the one value.
    pub(crate) fn items(&self) -> &[Scalar] {
        match self {
            XValue::One(scalar) => std::slice::from_ref(scalar),
            XValue::Nodes(nodes) => nodes,
        }
    }
}

/// An XPath comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`); node-sets compare if any node does.
pub(crate) fn compare(op: BinaryOp, left: &XValue, right: &XValue) -> bool {
    match (left, right) {
        (XValue::Nodes(_), XValue::One(b @ Scalar::Boolean(_))) => {
            compare_scalars(op, &Scalar::Boolean(left.to_bool()), b)
        }
        (XValue::One(b @ Scalar::Boolean(_)), XValue::Nodes(_)) => {
            compare_scalars(op, b, &Scalar::Boolean(right.to_bool()))
        }
        _ => left
            .items()
            .iter()
            .any(|l| right.items().iter().any(|r| compare_scalars(op, l, r))),
    }
}

/// Equality with a boolean compares booleans before anything else, a date included (JavaRosa's
/// `XPathEqExpr`: `true() = date('1999-09-09')` holds).
fn compare_scalars(op: BinaryOp, left: &Scalar, right: &Scalar) -> bool {
    let equality = matches!(op, BinaryOp::Eq | BinaryOp::Ne);
    let ordering = if equality
        && matches!(
            (left, right),
            (Scalar::Boolean(_), _) | (_, Scalar::Boolean(_))
        ) {
        Some(left.to_bool().cmp(&right.to_bool()))
    } else if left.is_date() || right.is_date() {
        left.to_day_number().partial_cmp(&right.to_day_number())
    } else if equality
        && !matches!(
            (left, right),
            (Scalar::Number(_), _) | (_, Scalar::Number(_))
        )
    {
        Some(left.to_text().cmp(&right.to_text()))
    } else {
        left.to_number().partial_cmp(&right.to_number())
    };
    holds(op, ordering)
}

/// Whether `op` holds for an ordering; an unordered pair (NaN) only satisfies `!=`.
fn holds(op: BinaryOp, ordering: Option<Ordering>) -> bool {
    match ordering {
        None => op == BinaryOp::Ne,
        Some(o) => match op {
            BinaryOp::Eq => o == Ordering::Equal,
            BinaryOp::Ne => o != Ordering::Equal,
            BinaryOp::Lt => o == Ordering::Less,
            BinaryOp::Le => o != Ordering::Greater,
            BinaryOp::Gt => o == Ordering::Greater,
            BinaryOp::Ge => o != Ordering::Less,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: Scalar) -> XValue {
        XValue::One(s)
    }
    fn text(s: &str) -> XValue {
        one(Scalar::Text(s.into()))
    }
    fn num(n: f64) -> XValue {
        one(Scalar::Number(n))
    }

    #[test]
    fn numbers_print_the_xpath_way() {
        assert_eq!(number_to_text(3.0), "3");
        assert_eq!(number_to_text(-0.0), "0");
        assert_eq!(number_to_text(2.5), "2.5");
        assert_eq!(number_to_text(f64::NAN), "NaN");
        assert_eq!(number_to_text(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn text_converts_to_numbers_strictly() {
        assert_eq!(text_to_number(" 12.5 "), 12.5);
        assert_eq!(text_to_number("-3"), -3.0);
        assert!(text_to_number("").is_nan());
        assert!(text_to_number("1e3").is_nan());
        assert!(text_to_number("abc").is_nan());
        assert!(text_to_number(".").is_nan());
    }

    #[test]
    fn comparisons_with_a_number_are_numeric_and_nan_is_unequal() {
        assert!(compare(BinaryOp::Eq, &text("10"), &num(10.0)));
        assert!(compare(BinaryOp::Gt, &text("10"), &text("9")));
        assert!(!compare(BinaryOp::Eq, &text("10"), &text("10.0")));
        assert!(!compare(BinaryOp::Eq, &text(""), &num(0.0)));
        assert!(compare(BinaryOp::Ne, &text(""), &num(0.0)));
        assert!(!compare(BinaryOp::Lt, &text(""), &num(5.0)));
        assert!(!compare(BinaryOp::Ge, &text(""), &num(5.0)));
    }

    #[test]
    fn booleans_compare_as_booleans() {
        assert!(compare(
            BinaryOp::Eq,
            &one(Scalar::Boolean(true)),
            &text("x")
        ));
        assert!(compare(
            BinaryOp::Eq,
            &one(Scalar::Boolean(false)),
            &num(0.0)
        ));
        let empty = XValue::Nodes(vec![]);
        assert!(compare(BinaryOp::Eq, &empty, &one(Scalar::Boolean(false))));
    }

    #[test]
    fn dates_compare_as_dates_with_text_and_numbers() {
        let date = one(Scalar::Date(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()));
        assert!(compare(BinaryOp::Eq, &date, &text("2024-03-01")));
        assert!(compare(BinaryOp::Lt, &date, &text("2024-03-02")));
        assert!(compare(BinaryOp::Gt, &date, &num(0.0)));
        assert_eq!(date.to_number(), 19783.0);
        assert!(!compare(BinaryOp::Eq, &date, &text("")));
    }

    #[test]
    fn comparing_a_boolean_with_a_date_converts_the_date_to_a_boolean() {
        let date = one(Scalar::Date(NaiveDate::from_ymd_opt(1999, 9, 9).unwrap()));
        let yes = one(Scalar::Boolean(true));
        assert!(compare(BinaryOp::Eq, &yes, &date));
        assert!(!compare(BinaryOp::Ne, &date, &yes));
        assert!(!compare(BinaryOp::Eq, &one(Scalar::Boolean(false)), &date));
    }

    #[test]
    fn a_date_time_without_offset_is_read_at_the_offset_given() {
        let quito = FixedOffset::west_opt(5 * 3600).unwrap();
        let Some(Scalar::DateTime(at)) = parse_date_like_in("2024-03-01T10:00:00", quito) else {
            panic!("a date-time");
        };
        assert_eq!(at.to_rfc3339(), "2024-03-01T10:00:00-05:00");
    }

    #[test]
    fn node_sets_compare_if_any_node_does() {
        let nodes = XValue::Nodes(vec![Scalar::Text("a".into()), Scalar::Number(3.0)]);
        assert!(compare(BinaryOp::Eq, &nodes, &text("a")));
        assert!(compare(BinaryOp::Gt, &nodes, &num(2.0)));
        assert!(!compare(BinaryOp::Eq, &nodes, &text("b")));
    }

    #[test]
    fn answers_convert_with_select_multiple_as_space_separated_names() {
        let choices = Value::Choices(["b".to_string(), "a".to_string()].into_iter().collect());
        assert_eq!(Scalar::from_value(&choices), Scalar::Text("a b".into()));
        assert_eq!(Scalar::from_value(&Value::Integer(4)), Scalar::Number(4.0));
    }
}
