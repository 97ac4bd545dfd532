//! ODK's own XPath function tests, run against Minga's engine: every case of getodk/web-forms'
//! `packages/xpath/test` that needs no XML document, carried as data in `tests/data/odk-xpath/`
//! (see its README.md for the source, the licence and what was left out and why).
//!
//! Each case is one expression with the value it must have, read as the upstream assertion reads
//! it (`boolean()`, `number()` or `string()` of the result). A case named in `deviations.json`
//! is checked against Minga's value instead: ODK Collect's where Collect and Web Forms disagree,
//! each rule citing the JavaRosa source, or Minga's own where it departs from both on purpose. A
//! case calling a function listed in `not-in-minga.json` must be refused when the form is
//! compiled (so that the list shrinks as functions are added).

use chrono::DateTime;
use minga_forms::eval::{compile, Context, FormSession, ItemPath, Scalar};
use minga_forms::{Answers, Form};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The carried cases and the context the upstream tests assume.
#[derive(Deserialize)]
struct Carried {
    utc_offset: String,
    now: String,
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
struct Case {
    source: String,
    test: String,
    expression: String,
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    expected: Json,
    rounding: Option<f64>,
    #[serde(default)]
    upstream_expects_mismatch: bool,
}

/// How the upstream test reads the result.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    Boolean,
    Number,
    String,
    StringLength,
    StringMatching,
    /// The expression must be refused.
    Error,
}

/// One rule by which Minga departs from the upstream expectation, with the cases it decides.
#[derive(Deserialize)]
struct Deviation {
    rule: String,
    /// `collect` where Minga gives ODK Collect's value (Collect and Web Forms disagree), `neither`
    /// where Minga departs from both, on purpose.
    follows: Follows,
    /// The JavaRosa source that shows Collect's behaviour: a file and what it does.
    javarosa: String,
    why: String,
    cases: Vec<DeviatingCase>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Follows {
    Collect,
    Neither,
}

/// A case and the value Minga gives for it (`null`: the expression is refused), read rounded as
/// `rounding` says where it is given.
#[derive(Deserialize)]
struct DeviatingCase {
    source: String,
    expression: String,
    #[serde(rename = "type")]
    kind: Kind,
    minga: Json,
    rounding: Option<f64>,
}

/// A function that the upstream tests call and Minga does not provide.
#[derive(Deserialize)]
struct Missing {
    function: String,
    why: String,
}

fn data(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/data/odk-xpath", name]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn carried() -> Carried {
    serde_json::from_str(&data("cases.json")).expect("cases.json reads")
}

/// `deviations.json`: its rules.
#[derive(Deserialize)]
struct Deviations {
    deviations: Vec<Deviation>,
}

/// `not-in-minga.json`: its functions.
#[derive(Deserialize)]
struct NotInMinga {
    functions: Vec<Missing>,
}

fn deviations() -> Vec<Deviation> {
    let file: Deviations =
        serde_json::from_str(&data("deviations.json")).expect("deviations.json reads");
    file.deviations
}

fn not_in_minga() -> Vec<Missing> {
    let file: NotInMinga =
        serde_json::from_str(&data("not-in-minga.json")).expect("not-in-minga.json reads");
    file.functions
}

/// The upstream context: their fixed clock, in America/Phoenix (UTC-7).
fn context(now: &str) -> Context {
    Context {
        language: None,
        now: DateTime::parse_from_rfc3339(now).expect("the carried clock is RFC 3339"),
        device_id: "device".into(),
        user_name: "user".into(),
    }
}

/// A form whose only item is the calculation `calculation`.
fn form_calculating(calculation: &str) -> Form {
    serde_json::from_value(json!({
        "id": "odk_xpath", "version": "1", "title": {"default": "ODK XPath case"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [{"kind": "question", "name": "result", "type": {"base": "calculate"},
                    "calculation": calculation}],
    }))
    .expect("a one-calculation form")
}

/// The expression as the upstream assertion reads its result.
fn as_asserted(case: &Case) -> String {
    let conversion = match case.kind {
        Kind::Boolean => "boolean",
        Kind::Number => "number",
        Kind::String | Kind::StringLength | Kind::StringMatching => "string",
        Kind::Error => return case.expression.clone(),
    };
    format!("{conversion}({})", case.expression)
}

/// What Minga gives for the case: its value, or why the form was refused.
fn evaluate(case: &Case, now: &str) -> Result<Scalar, String> {
    let compiled = compile(&form_calculating(&as_asserted(case)))
        .map_err(|errors| format!("refused: {}", errors[0].problem))?;
    let session = FormSession::new(Arc::new(compiled), Answers::default(), context(now));
    let state = session.item(&ItemPath::top("result")).expect("the result");
    Ok(state.value.clone())
}

/// Whether `value` is what `expected` says, read the way the case's assertion reads it.
fn agrees(kind: Kind, value: &Scalar, expected: &Json, rounding: Option<f64>) -> bool {
    match (kind, value) {
        (Kind::Boolean, Scalar::Boolean(b)) => expected.as_bool() == Some(*b),
        // Numbers are carried as JavaScript prints them (`NaN`, `-Infinity`, `0.1`), and read
        // back exactly.
        (Kind::Number, Scalar::Number(n)) => match expected.as_str().map(str::parse::<f64>) {
            Some(Ok(e)) if e.is_nan() => n.is_nan(),
            // As JavaScript's Math.round(n * factor) / factor.
            Some(Ok(e)) => e == rounding.map_or(*n, |factor| (n * factor + 0.5).floor() / factor),
            _ => false,
        },
        (Kind::String, Scalar::Text(s)) => expected.as_str() == Some(s.as_str()),
        (Kind::StringLength, Scalar::Text(s)) => {
            expected.as_u64() == Some(s.encode_utf16().count() as u64)
        }
        (Kind::StringMatching, Scalar::Text(s)) => expected
            .as_str()
            .and_then(|pattern| regex::Regex::new(pattern).ok())
            .is_some_and(|re| re.is_match(s)),
        // Only a deviation gives an expression upstream refuses a value.
        (Kind::Error, value) => expected.as_str() == Some(value.to_text().as_str()),
        _ => false,
    }
}

/// Runs one case against what it expects: upstream's value, or Minga's where a deviation names
/// the case; `None` if it holds, else what went wrong.
fn check(case: &Case, deviation: Option<&DeviatingCase>, now: &str) -> Option<String> {
    let outcome = evaluate(case, now);
    let holds = match (&outcome, deviation) {
        (Err(_), Some(d)) => d.minga.is_null(),
        (Ok(value), Some(d)) => agrees(case.kind, value, &d.minga, d.rounding.or(case.rounding)),
        (Err(_), None) => case.kind == Kind::Error,
        (Ok(_), None) if case.kind == Kind::Error => false,
        (Ok(value), None) => {
            agrees(case.kind, value, &case.expected, case.rounding)
                != case.upstream_expects_mismatch
        }
    };
    let expected = deviation.map_or(&case.expected, |d| &d.minga);
    (!holds).then(|| {
        format!(
            "{} [{}] {:?} {}: expected {expected}{}, Minga gives {:?}",
            case.source,
            case.test,
            case.kind,
            case.expression,
            if case.upstream_expects_mismatch && deviation.is_none() {
                " NOT to hold"
            } else {
                ""
            },
            outcome
        )
    })
}

/// The function names a case calls (names followed by `(`, outside string literals).
fn functions_called(expression: &str) -> Vec<String> {
    let bare = regex::Regex::new(r#""[^"]*"|'[^']*'"#)
        .expect("a literal pattern")
        .replace_all(expression, "''");
    regex::Regex::new(r"([A-Za-z_][\w.:-]*)\s*\(")
        .expect("a call pattern")
        .captures_iter(&bare)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn the_carried_cases_pin_phoenix_as_the_upstream_tests_do() {
    let carried = carried();
    assert_eq!(carried.utc_offset, "-07:00");
    let now = DateTime::parse_from_rfc3339(&carried.now).unwrap();
    assert_eq!(now.offset().local_minus_utc(), -7 * 3600);
}

#[test]
fn every_carried_odk_case_holds_in_minga() {
    let Carried { now, cases, .. } = carried();
    let deviations = deviations();
    let missing = not_in_minga();
    let by_case: HashMap<(&str, &str, Kind), &DeviatingCase> = deviations
        .iter()
        .flat_map(|d| &d.cases)
        .map(|c| ((c.source.as_str(), c.expression.as_str(), c.kind), c))
        .collect();
    let (mut passing, mut deviating, mut not_provided) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let lacking = functions_called(&case.expression)
            .into_iter()
            .find(|f| missing.iter().any(|m| &m.function == f));
        if let Some(function) = lacking {
            // Listed as missing: the form must be refused, not computed wrongly.
            match evaluate(case, &now) {
                Err(_) => not_provided += 1,
                Ok(v) => failures.push(format!(
                    "{function}() is listed as not in Minga, yet {} gives {v:?}",
                    case.expression
                )),
            }
            continue;
        }
        let key = (case.source.as_str(), case.expression.as_str(), case.kind);
        let deviation = by_case.get(&key).copied();
        match check(case, deviation, &now) {
            None => {
                passing += 1;
                deviating += usize::from(deviation.is_some());
            }
            Some(failure) => failures.push(failure),
        }
    }
    println!(
        "{} carried cases: {passing} hold ({deviating} by a listed deviation), {not_provided} \
         call a function Minga does not provide, {} fail",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_deviation_names_carried_cases_and_cites_javarosa() {
    let cases = carried().cases;
    for deviation in deviations() {
        let Deviation {
            rule,
            javarosa,
            why,
            ..
        } = &deviation;
        assert!(javarosa.contains(".java"), "{rule}: cite a JavaRosa file");
        assert!(!why.is_empty(), "{rule}: say why");
        for c in &deviation.cases {
            let carried = cases.iter().any(|case| {
                case.source == c.source && case.expression == c.expression && case.kind == c.kind
            });
            assert!(carried, "{rule}: {} is not a carried case", c.expression);
        }
    }
    for m in not_in_minga() {
        assert!(!m.why.is_empty(), "{}: say why", m.function);
    }
}

/// One upstream assertion not carried, and why.
#[derive(Deserialize)]
struct Excluded {
    expression: Option<String>,
    category: String,
    detail: String,
}

#[derive(Deserialize)]
struct ExcludedFile {
    excluded: Vec<Excluded>,
}

#[test]
fn every_assertion_left_out_is_listed_with_why_and_none_is_also_carried() {
    let file: ExcludedFile = serde_json::from_str(&data("excluded.json")).expect("reads");
    let categories = [
        "needs the XML document",
        "node-set and document tests",
        "uses the evaluator API",
        "asserted by the test's own code",
        "skipped upstream",
    ];
    let carried = carried().cases;
    for left_out in &file.excluded {
        assert!(
            categories.contains(&left_out.category.as_str()),
            "{}",
            left_out.category
        );
        assert!(!left_out.detail.is_empty());
        if let Some(expression) = &left_out.expression {
            let excluded_for_the_document = left_out.category == "needs the XML document";
            let also_carried = carried.iter().any(|c| &c.expression == expression);
            assert!(
                !(excluded_for_the_document && also_carried),
                "{expression} is both carried and said to need the document"
            );
        }
    }
}

#[test]
fn minga_departs_from_both_odk_engines_only_where_it_says_why() {
    let neither: Vec<String> = deviations()
        .into_iter()
        .filter(|d| d.follows == Follows::Neither)
        .map(|d| d.rule)
        .collect();
    // Each such rule is a choice of Minga's, written out in README.md beside the data.
    let readme = data("README.md");
    for rule in &neither {
        assert!(readme.contains(rule.as_str()), "README.md explains: {rule}");
    }
}
