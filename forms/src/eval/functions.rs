//! The XLSForm/XPath function library: which names exist, how many arguments each takes, and
//! the functions that only need their arguments' values. Functions that need the form's context
//! (`if`, `once`, `position`, `today`, `indexed-repeat`, `jr:choice-name`...) are in `evaluate`.

use super::dates::{decimal_date_time, decimal_time, format_date, to_date, to_date_time};
use super::geo;
use super::scalar::{Scalar, XValue};
use super::text::{base64_decode, substr, substring, translate};
use chrono::FixedOffset;

/// A function an expression may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Selected,
    CountSelected,
    SelectedAt,
    If,
    Coalesce,
    Concat,
    StringLength,
    Contains,
    StartsWith,
    EndsWith,
    Substr,
    Substring,
    SubstringBefore,
    SubstringAfter,
    Translate,
    NormalizeSpace,
    Regex,
    Number,
    Int,
    Round,
    String,
    Boolean,
    True,
    False,
    Not,
    Sum,
    Count,
    CountNonEmpty,
    Min,
    Max,
    Position,
    Today,
    Now,
    FormatDate,
    DecimalDateTime,
    DecimalTime,
    Date,
    DateTime,
    Once,
    Uuid,
    Join,
    BooleanFromString,
    Pow,
    Abs,
    Log,
    Log10,
    Exp,
    Sqrt,
    Floor,
    Ceiling,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Exp10,
    Pi,
    Checklist,
    WeightedChecklist,
    Base64Decode,
    Area,
    Distance,
    Geofence,
}

/// Unbounded argument count.
const MANY: usize = usize::MAX;

/// The function called `name`, with its least and greatest argument count.
pub(crate) fn lookup(name: &str) -> Option<(Function, usize, usize)> {
    use Function::*;
    let found = match name {
        "selected" => (Selected, 2, 2),
        "count-selected" => (CountSelected, 1, 1),
        "selected-at" => (SelectedAt, 2, 2),
        "if" => (If, 3, 3),
        "coalesce" => (Coalesce, 2, MANY),
        "concat" => (Concat, 0, MANY),
        "string-length" => (StringLength, 0, 1),
        "contains" => (Contains, 2, 2),
        "starts-with" => (StartsWith, 2, 2),
        "ends-with" => (EndsWith, 2, 2),
        "substr" => (Substr, 2, 3),
        "substring" => (Substring, 2, 3),
        "substring-before" => (SubstringBefore, 2, 2),
        "substring-after" => (SubstringAfter, 2, 2),
        "translate" => (Translate, 3, 3),
        "normalize-space" => (NormalizeSpace, 0, 1),
        "regex" => (Regex, 2, 2),
        "number" => (Number, 0, 1),
        "int" => (Int, 1, 1),
        "round" => (Round, 1, 2),
        "string" => (String, 0, 1),
        "boolean" => (Boolean, 1, 1),
        "true" => (True, 0, 0),
        "false" => (False, 0, 0),
        "not" => (Not, 1, 1),
        "sum" => (Sum, 1, 1),
        "count" => (Count, 1, 1),
        "count-non-empty" => (CountNonEmpty, 1, 1),
        "min" => (Min, 1, MANY),
        "max" => (Max, 1, MANY),
        "position" => (Position, 0, 1),
        "today" => (Today, 0, 0),
        "now" => (Now, 0, 0),
        "format-date" | "format-date-time" => (FormatDate, 2, 2),
        "decimal-date-time" => (DecimalDateTime, 1, 1),
        "decimal-time" => (DecimalTime, 1, 1),
        "date" => (Date, 1, 1),
        "date-time" => (DateTime, 1, 1),
        "once" => (Once, 1, 1),
        "uuid" => (Uuid, 0, 1),
        // JavaRosa joins nothing to "" (`join(' ## ')`).
        "join" => (Join, 1, MANY),
        "boolean-from-string" => (BooleanFromString, 1, 1),
        "pow" => (Pow, 2, 2),
        "abs" => (Abs, 1, 1),
        "log" => (Log, 1, 1),
        "log10" => (Log10, 1, 1),
        "exp" => (Exp, 1, 1),
        "sqrt" => (Sqrt, 1, 1),
        "floor" => (Floor, 1, 1),
        "ceiling" => (Ceiling, 1, 1),
        "sin" => (Sin, 1, 1),
        "cos" => (Cos, 1, 1),
        "tan" => (Tan, 1, 1),
        "asin" => (Asin, 1, 1),
        "acos" => (Acos, 1, 1),
        "atan" => (Atan, 1, 1),
        "atan2" => (Atan2, 2, 2),
        "exp10" => (Exp10, 1, 1),
        "pi" => (Pi, 0, 0),
        "checklist" => (Checklist, 2, MANY),
        "weighted-checklist" => (WeightedChecklist, 2, MANY),
        "base64-decode" => (Base64Decode, 1, 1),
        "area" | "enclosed-area" => (Area, 1, 1),
        "distance" => (Distance, 1, MANY),
        "geofence" => (Geofence, 2, 2),
        _ => return None,
    };
    Some(found)
}

fn text(s: impl Into<String>) -> XValue {
    XValue::One(Scalar::Text(s.into()))
}

fn number(n: f64) -> XValue {
    XValue::One(Scalar::Number(n))
}

fn boolean(b: bool) -> XValue {
    XValue::One(Scalar::Boolean(b))
}

/// The space-separated names of a select_multiple value.
fn selections(value: &XValue) -> Vec<String> {
    value
        .to_text()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Applies a function that needs only its arguments' values. `context` is the value `.` has,
/// used by the functions whose argument defaults to it (`string-length()`, `number()`...);
/// `local` is the session's offset from UTC, for the date functions.
pub(crate) fn apply(
    function: Function,
    args: &[XValue],
    context: &XValue,
    local: FixedOffset,
) -> XValue {
    use Function::*;
    let arg = |i: usize| args.get(i).unwrap_or(context);
    let text_of = |i: usize| arg(i).to_text();
    let number_of = |i: usize| arg(i).to_number();
    match function {
        Selected => boolean(selections(arg(0)).contains(&text_of(1).trim().to_string())),
        CountSelected => number(selections(arg(0)).len() as f64),
        SelectedAt => text(selected_at(&selections(arg(0)), number_of(1))),
        Coalesce => XValue::One(
            args.iter()
                .map(XValue::first)
                .find(|v| !is_null(v))
                .unwrap_or_default(),
        ),
        Concat => text(
            args.iter()
                .flat_map(|a| a.items().iter().map(Scalar::to_text))
                .collect::<std::string::String>(),
        ),
        StringLength => number(text_of(0).chars().count() as f64),
        Contains => boolean(text_of(0).contains(&text_of(1))),
        StartsWith => boolean(text_of(0).starts_with(&text_of(1))),
        EndsWith => boolean(text_of(0).ends_with(&text_of(1))),
        Substr => text(substr(
            &text_of(0),
            number_of(1),
            args.get(2).map(XValue::to_number),
        )),
        Substring => text(substring(
            &text_of(0),
            number_of(1),
            args.get(2).map(XValue::to_number),
        )),
        SubstringBefore => text(
            text_of(0)
                .split_once(&text_of(1))
                .map(|(before, _)| before.to_string())
                .unwrap_or_default(),
        ),
        SubstringAfter => text(
            text_of(0)
                .split_once(&text_of(1))
                .map(|(_, after)| after.to_string())
                .unwrap_or_default(),
        ),
        Translate => text(translate(&text_of(0), &text_of(1), &text_of(2))),
        NormalizeSpace => text(text_of(0).split_whitespace().collect::<Vec<_>>().join(" ")),
        Regex => boolean(regex::Regex::new(&text_of(1)).is_ok_and(|re| re.is_match(&text_of(0)))),
        Number => number(number_of(0)),
        Int => number(number_of(0).trunc()),
        Round => number(round(number_of(0), args.get(1).map(XValue::to_number))),
        String => text(text_of(0)),
        Boolean => boolean(arg(0).to_bool()),
        True => boolean(true),
        False => boolean(false),
        Not => boolean(!arg(0).to_bool()),
        Sum => number(arg(0).items().iter().map(Scalar::to_number).sum()),
        Count => number(arg(0).items().len() as f64),
        CountNonEmpty => number(arg(0).items().iter().filter(|s| !s.is_empty()).count() as f64),
        Min => number(extreme(args, f64::min)),
        Max => number(extreme(args, f64::max)),
        FormatDate => text(format_date(&arg(0).first(), &text_of(1))),
        DecimalDateTime => number(decimal_date_time(&arg(0).first(), local)),
        Date => to_date(&arg(0).first(), local),
        DateTime => to_date_time(&arg(0).first(), local),
        Join => text(
            args[1..]
                .iter()
                .flat_map(|a| a.items().iter().map(Scalar::to_text))
                .collect::<Vec<_>>()
                .join(&text_of(0)),
        ),
        BooleanFromString => boolean(matches!(text_of(0).trim(), "true" | "1")),
        Pow => number(number_of(0).powf(number_of(1))),
        Abs => number(number_of(0).abs()),
        Log => number(number_of(0).ln()),
        Log10 => number(number_of(0).log10()),
        Exp => number(number_of(0).exp()),
        Sqrt => number(number_of(0).sqrt()),
        Floor => number(number_of(0).floor()),
        Ceiling => number(number_of(0).ceil()),
        // Angles in radians, as in ODK.
        Sin => number(number_of(0).sin()),
        Cos => number(number_of(0).cos()),
        Tan => number(number_of(0).tan()),
        Asin => number(number_of(0).asin()),
        Acos => number(number_of(0).acos()),
        Atan => number(number_of(0).atan()),
        Atan2 => number(number_of(0).atan2(number_of(1))),
        Exp10 => number(10f64.powf(number_of(0))),
        Pi => number(std::f64::consts::PI),
        DecimalTime => number(decimal_time(&arg(0).first(), local)),
        Checklist => boolean(within(number_of(0), number_of(1), checklist(&args[2..]))),
        WeightedChecklist => boolean(within(
            number_of(0),
            number_of(1),
            weighted_checklist(&args[2..]),
        )),
        Base64Decode => text(base64_decode(&text_of(0))),
        Area => number(geo::area(args)),
        Distance => number(geo::distance(args)),
        Geofence => boolean(geo::geofence(&arg(0).first(), &args[1..])),
        // Evaluated with the form's context; never reach here.
        If | Once | Position | Today | Now | Uuid => text(""),
    }
}

fn selected_at(names: &[String], index: f64) -> String {
    if index.is_nan() || index < 0.0 {
        return String::new();
    }
    names.get(index as usize).cloned().unwrap_or_default()
}

/// `checklist(min, max, …)`: how many of the factors (values, or the nodes of node-sets) hold.
fn checklist(factors: &[XValue]) -> f64 {
    let holding = factors
        .iter()
        .flat_map(XValue::items)
        .filter(|f| f.to_bool())
        .count();
    holding as f64
}

/// `weighted-checklist(min, max, factor, weight, …)`: the sum of the weights whose factor holds;
/// two node-sets pair their nodes in order. An odd last factor has no weight and counts nothing.
fn weighted_checklist(args: &[XValue]) -> f64 {
    let pairs: Vec<(Scalar, Scalar)> = match args {
        [XValue::Nodes(factors), XValue::Nodes(weights)] => factors
            .iter()
            .cloned()
            .zip(weights.iter().cloned())
            .collect(),
        _ => args
            .chunks_exact(2)
            .map(|pair| (pair[0].first(), pair[1].first()))
            .collect(),
    };
    pairs
        .iter()
        .filter(|(factor, _)| factor.to_bool())
        .map(|(_, weight)| weight.to_number())
        .sum()
}

/// JavaRosa's checklist bounds: `count` is at least `min` and at most `max`, a negative bound
/// meaning none.
fn within(min: f64, max: f64, count: f64) -> bool {
    (min < 0.0 || count >= min) && (max < 0.0 || count <= max)
}

/// JavaRosa's `isNull`: empty text, or a number that is not one.
fn is_null(value: &Scalar) -> bool {
    match value {
        Scalar::Number(n) => n.is_nan(),
        other => other.is_empty(),
    }
}

/// XPath's `round()` (half up), or rounded to `digits` decimals as ODK's two-argument form does.
fn round(n: f64, digits: Option<f64>) -> f64 {
    match digits {
        None => (n + 0.5).floor(),
        Some(d) if d.is_nan() => f64::NAN,
        Some(d) => {
            let scale = 10f64.powi(d.trunc().clamp(-15.0, 15.0) as i32);
            ((n * scale) + 0.5).floor() / scale
        }
    }
}

/// The least or greatest number of all the arguments' values; NaN if any is not a number or
/// there are none.
fn extreme(args: &[XValue], pick: fn(f64, f64) -> f64) -> f64 {
    let mut numbers = args
        .iter()
        .flat_map(|a| a.items().iter().map(Scalar::to_number));
    let Some(first) = numbers.next() else {
        return f64::NAN;
    };
    numbers
        .try_fold(
            first,
            |acc, n| if n.is_nan() { None } else { Some(pick(acc, n)) },
        )
        .filter(|n| !n.is_nan())
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use crate::eval::testing::evaluate;
    use crate::eval::Scalar;
    use crate::value::Value;
    use chrono::NaiveDate;

    fn text(expression: &str) -> String {
        evaluate(expression, &[]).to_text()
    }

    fn with(expression: &str, answers: &[(&str, Value)]) -> String {
        evaluate(expression, answers).to_text()
    }

    fn colours(names: &[&str]) -> Value {
        Value::Choices(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn selects() {
        let s = [("s", colours(&["red", "blue"]))];
        assert_eq!(with("selected(${s}, 'red')", &s), "true");
        assert_eq!(with("selected(${s}, 're')", &s), "false");
        assert_eq!(with("count-selected(${s})", &s), "2");
        assert_eq!(text("count-selected(${s})"), "0");
        assert_eq!(with("selected-at(${s}, 1)", &s), "red");
        assert_eq!(with("selected-at(${s}, 5)", &s), "");
        assert_eq!(
            with("jr:choice-name(selected-at(${s}, 0), '${s}')", &s),
            "Blue"
        );
        assert_eq!(with("join(', ', ${s})", &s), "blue red");
    }

    #[test]
    fn logic_and_conditionals() {
        assert_eq!(text("if(${n} = '', 'none', 'some')"), "none");
        assert_eq!(
            with("if(${n} > 3, 'big', 'small')", &[("n", Value::Integer(5))]),
            "big"
        );
        assert_eq!(text("coalesce(${t}, ${n}, 'fallback')"), "fallback");
        assert_eq!(text("not(${t}) and true() and not(false())"), "true");
        assert_eq!(text("boolean('0')"), "true");
        assert_eq!(text("boolean(0)"), "false");
        assert_eq!(
            text("boolean-from-string('1') and not(boolean-from-string('yes'))"),
            "true"
        );
    }

    #[test]
    fn strings() {
        let t = [("t", Value::Text("  Hello   wide world ".into()))];
        assert_eq!(text("concat('a', 1, true(), 2.5)"), "a1true2.5");
        assert_eq!(with("string-length(${t})", &t), "21");
        assert_eq!(with("normalize-space(${t})", &t), "Hello wide world");
        assert_eq!(
            text("contains('abc', 'b') and starts-with('abc', 'ab') and ends-with('abc', 'bc')"),
            "true"
        );
        assert_eq!(text("substr('ñandú', 1, 3)"), "an");
        assert_eq!(text("substr('abc', 1)"), "bc");
        assert_eq!(text("substr('abc', 1.9, 2.9)"), "b");
        assert_eq!(text("substring('12345', 2, 3)"), "234");
        assert_eq!(text("substring('12345', 1.5, 2.6)"), "234");
        assert_eq!(text("substring-before('a=b', '=')"), "a");
        assert_eq!(text("substring-after('a=b', '=')"), "b");
        assert_eq!(text("substring-after('ab', 'x')"), "");
        assert_eq!(text("translate('bar', 'abc', 'ABC')"), "BAr");
        assert_eq!(text("translate('--aaa--', 'a-', 'A')"), "AAA");
        assert_eq!(text("regex('0991234567', '^09[0-9]{8}$')"), "true");
        assert_eq!(text("regex('x', concat('^', 'y'))"), "false");
        assert_eq!(text("string(1 div 0)"), "Infinity");
    }

    #[test]
    fn coalesce_treats_nan_as_empty() {
        assert_eq!(text("coalesce(1 div '', 0)"), "0");
        assert_eq!(text("coalesce('' div 0, 'x')"), "x");
        assert_eq!(text("coalesce(1 div 0, 0)"), "Infinity");
        assert_eq!(text("coalesce(0, 5)"), "0", "zero is a value");
    }

    #[test]
    fn checklists_count_what_holds_between_their_bounds() {
        assert_eq!(text("checklist(1, 2, true(), false(), 1 = 1)"), "true");
        assert_eq!(text("checklist(-1, 1, true(), true())"), "false");
        assert_eq!(text("checklist(3, -1, true(), true())"), "false");
        let weighted = "weighted-checklist(2, 3, true(), 2, false(), 5, true(), 1)";
        assert_eq!(text(weighted), "true");
        assert_eq!(
            text("weighted-checklist(4, -1, true(), 2, false(), 5)"),
            "false"
        );
    }

    #[test]
    fn join_of_nothing_is_empty() {
        assert_eq!(text("join(' ## ')"), "");
    }

    #[test]
    fn numbers_follow_xpath() {
        assert_eq!(text("number('12.5') + 1"), "13.5");
        assert_eq!(text("number('')"), "NaN");
        assert_eq!(text("${n} + 1"), "NaN");
        assert_eq!(text("int(-3.7)"), "-3");
        assert_eq!(text("round(2.5)"), "3");
        assert_eq!(text("round(-2.5)"), "-2");
        assert_eq!(text("round(3.14159, 2)"), "3.14");
        assert_eq!(text("7 mod 3 + 7 div 2"), "4.5");
        assert_eq!(text("-7 mod 3"), "-1");
        assert_eq!(
            text("pow(2, 10) + abs(-1) + floor(1.5) + ceiling(1.2) + sqrt(9)"),
            "1031"
        );
        assert_eq!(text("round(exp(log(5)))"), "5");
        assert_eq!(text("log10(1000)"), "3");
        assert_eq!(text("exp10(3)"), "1000");
        assert_eq!(text("round(pi() * 1000)"), "3142");
        assert_eq!(text("sin(0) + cos(0) + tan(0)"), "1");
        assert_eq!(text("round(asin(1) * 2 div pi())"), "1");
        assert_eq!(text("round(acos(-1) * 1000)"), "3142");
        assert_eq!(text("round(atan(1) * 4000)"), "3142");
        assert_eq!(text("round(atan2(1, -1) * 1000)"), "2356");
        assert_eq!(
            text("round(15 div sqrt(cos(atan(20 div 100))), 2)"),
            "15.15"
        );
        assert_eq!(text("asin(2)"), "NaN");
        assert_eq!(text("min(3, 1, 2)"), "1");
        assert_eq!(text("max(3, 1, 2)"), "3");
        assert_eq!(text("max(3, 'x')"), "NaN");
        assert_eq!(text("0 div 0 = 0 div 0"), "false");
        assert_eq!(text("0 div 0 != 0 div 0"), "true");
        assert_eq!(text("count(${n} | ${d} | ${t})"), "3");
        assert_eq!(
            with(
                "sum(${n} | ${d})",
                &[("n", Value::Integer(2)), ("d", Value::Decimal(0.5))]
            ),
            "2.5"
        );
    }

    #[test]
    fn dates() {
        let day = [(
            "day",
            Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()),
        )];
        assert_eq!(text("today()"), "2024-03-15");
        assert_eq!(
            text("format-date(now(), '%Y-%m-%d %H:%M')"),
            "2024-03-15 10:30"
        );
        assert_eq!(
            with("format-date(${day}, '%e/%n/%y %b %a')", &day),
            "31/1/24 Jan Wed"
        );
        assert_eq!(with("${day} < today()", &day), "true");
        assert_eq!(with("${day} = '2024-01-31'", &day), "true");
        assert_eq!(with("today() - ${day}", &day), "44");
        assert_eq!(with("date(${day} + 1)", &day), "2024-02-01");
        assert_eq!(text("date('2024-02-29')"), "2024-02-29");
        assert_eq!(text("date('nonsense')"), "");
        assert_eq!(text("format-date('', '%Y')"), "");
        assert_eq!(text("decimal-date-time('1970-01-02T12:00:00Z')"), "1.5");
        assert!(matches!(evaluate("date(0)", &[]), Scalar::Date(_)));
    }

    #[test]
    fn uuid_of_a_length_is_a_random_token_that_long() {
        let token = text("uuid(20)");
        assert_eq!(token.len(), 20);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
        assert_ne!(token, text("uuid(20)"));
        assert_eq!(text("uuid(0)"), "");
    }

    #[test]
    fn the_date_functions_use_the_offset_of_the_sessions_clock() {
        // The test context's clock is at UTC-5.
        assert_eq!(
            text("date-time(1.5)"),
            "1970-01-02T07:00:00.000-05:00",
            "date-time(number) keeps the time"
        );
        assert_eq!(text("decimal-date-time('1970-01-02') * 24"), "29");
        assert_eq!(text("decimal-date-time(date('1970-01-02')) * 24"), "29");
        assert_eq!(text("decimal-date-time('1970-01-02T00:00:00') * 24"), "29");
    }

    #[test]
    fn identifiers_and_once() {
        let id = text("uuid()");
        assert_eq!(id.len(), 36);
        assert_eq!(text("once(concat('x', 'y'))"), "xy");
        assert_eq!(text("position(..)"), "1");
    }
}
