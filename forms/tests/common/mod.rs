//! What the corpus and oracle tests compare: a form reduced to its fields (path, kind, the four
//! bindings, the option names of each select), read either from a Minga [`Form`] or from the
//! XForm that pyxform wrote for the same XLSForm.

#![allow(dead_code)] // each test binary uses part of this module

pub mod shared;
pub mod xform;

use minga_forms::xlsform::UNPARSED_CALCULATION;
use minga_forms::{Form, Item, Question, QuestionType};
use std::collections::BTreeMap;

/// One question, group or repeat as both sides can describe it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSummary {
    /// The XForm data type and body control, such as `int input` or `string select1`.
    pub kind: Option<String>,
    /// Every `relevant` the field is under, its groups' first: a group's condition counts for
    /// everything in it (and old pyxform's `flat` forms wrote it on each question).
    pub relevant: Vec<String>,
    pub constraint: Option<String>,
    pub required: Option<String>,
    pub calculation: Option<String>,
    /// Option names, for selects.
    pub options: Option<Vec<String>>,
}

/// Fields by name (names are unique across a form, and keying by name rather than by path lets
/// a form pyxform wrote with its old `flat` setting, groups left out of the data, compare too).
pub type Summary = BTreeMap<String, FieldSummary>;

/// The questions of `items`, groups and repeats opened, in sheet order.
pub fn questions(items: &[Item]) -> Vec<&Question> {
    items
        .iter()
        .flat_map(|item| match item {
            Item::Question(q) => vec![q],
            Item::Group(g) => questions(&g.children),
            Item::Repeat(r) => questions(&r.children),
        })
        .collect()
}

/// Our form, reduced for comparison.
pub fn summarise_form(form: &Form) -> Summary {
    let mut summary = Summary::new();
    let mut bound = BTreeMap::new();
    count_bound_names(&form.survey, &mut bound);
    let at = Place {
        bound: &bound,
        parent: "data",
    };
    add_items(form, &form.survey, &[], at, &mut summary);
    summary
}

/// Where items are summarised: how many items with a bind in pyxform's XForm carry each name,
/// and the name of the group (or repeat, or the root) around them.
#[derive(Clone, Copy)]
struct Place<'a> {
    bound: &'a BTreeMap<String, usize>,
    parent: &'a str,
}

/// Counts the names of what pyxform writes a bind for: every question but a trigger, and the
/// groups and repeats with a condition.
fn count_bound_names(items: &[Item], counts: &mut BTreeMap<String, usize>) {
    for item in items {
        let (name, bound, children) = match item {
            Item::Question(q) => (&q.name, q.kind != QuestionType::Trigger, None),
            Item::Group(g) => (&g.name, g.logic.relevant.is_some(), Some(&g.children)),
            Item::Repeat(r) => (&r.name, r.logic.relevant.is_some(), Some(&r.children)),
        };
        if bound {
            *counts.entry(name.clone()).or_default() += 1;
        }
        if let Some(children) = children {
            count_bound_names(children, counts);
        }
    }
}

fn add_items(form: &Form, items: &[Item], outer: &[String], at: Place, summary: &mut Summary) {
    let under = |relevant: &Option<String>| -> Vec<String> {
        outer
            .iter()
            .cloned()
            .chain(relevant.as_deref().map(ours))
            .collect()
    };
    for item in items {
        match item {
            Item::Question(q) => {
                // A name used in several groups is told apart by its group, as the XForm's
                // summary tells a loop's copies apart (`xform::summarise_xform`).
                let path = match at.bound.get(&q.name) {
                    Some(n) if *n > 1 => format!("{}_{}", q.name, at.parent),
                    _ => q.name.clone(),
                };
                // An `or_other` select's "other" choice and text question are in the form
                // itself: the import adds them as pyxform does.
                let mut question = question_summary(form, q);
                question.relevant = under(&q.logic.relevant);
                summary.insert(path, question);
            }
            Item::Group(g) => {
                let inside = Place {
                    parent: &g.name,
                    ..at
                };
                add_items(
                    form,
                    &g.children,
                    &under(&g.logic.relevant),
                    inside,
                    summary,
                );
            }
            Item::Repeat(r) => {
                if let Some(count) = r.repeat_count.as_deref().filter(|c| !is_reference(c)) {
                    // pyxform computes any other count into a question of its own.
                    let generated = FieldSummary {
                        kind: Some("string".into()),
                        calculation: Some(ours(count)),
                        ..FieldSummary::default()
                    };
                    summary.insert(
                        format!("{}_count", r.name),
                        FieldSummary {
                            relevant: outer.to_vec(),
                            ..generated
                        },
                    );
                }
                let inside = Place {
                    parent: &r.name,
                    ..at
                };
                add_items(
                    form,
                    &r.children,
                    &under(&r.logic.relevant),
                    inside,
                    summary,
                );
            }
        }
    }
}

fn is_reference(expression: &str) -> bool {
    let trimmed = expression.trim();
    trimmed.starts_with("${") && trimmed.ends_with('}') && trimmed.matches("${").count() == 1
}

fn question_summary(form: &Form, q: &Question) -> FieldSummary {
    let options = match &q.kind {
        QuestionType::SelectOne(list)
        | QuestionType::SelectMultiple(list)
        | QuestionType::Rank(list) => {
            let names: Vec<String> = form
                .choices
                .get(list)
                .map(|c| c.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            Some(names)
        }
        _ => None,
    };
    FieldSummary {
        kind: xform_kind(&q.kind, q.parameters.as_deref()),
        relevant: Vec::new(),
        constraint: q.logic.constraint.as_deref().map(ours),
        required: q.logic.required.as_deref().map(ours),
        // A calculation that does not parse is kept beside the question, as pyxform keeps it.
        calculation: q
            .calculation
            .as_deref()
            .or(q.extra.get(UNPARSED_CALCULATION).map(String::as_str))
            .map(ours),
        options,
    }
}

/// The XForm data type and control pyxform writes for a question type.
pub fn xform_kind(kind: &QuestionType, parameters: Option<&str>) -> Option<String> {
    use QuestionType as T;
    let (data, control) = match kind {
        T::Text => ("string", "input"),
        T::Integer => ("int", "input"),
        T::Decimal => ("decimal", "input"),
        T::SelectOne(_) | T::SelectOneFromFile(_) => ("string", "select1"),
        T::SelectMultiple(_) | T::SelectMultipleFromFile(_) => ("string", "select"),
        T::SelectOneExternal(_) => ("string", "input"),
        T::Rank(_) => ("odk:rank", "odk:rank"),
        T::Date => ("date", "input"),
        T::Time => ("time", "input"),
        T::DateTime => ("dateTime", "input"),
        T::GeoPoint => ("geopoint", "input"),
        T::GeoTrace => ("geotrace", "input"),
        T::GeoShape => ("geoshape", "input"),
        T::Barcode => ("barcode", "input"),
        T::Note => ("string", "input"),
        T::Acknowledge => ("string", "trigger"),
        T::Trigger => ("", "trigger"),
        T::Range if parameters.is_some_and(|p| p.contains('.')) => ("decimal", "range"),
        T::Range => ("int", "range"),
        T::Image | T::Audio | T::Video | T::File | T::Osm(_) => ("binary", "upload"),
        T::Calculate | T::Hidden => ("string", ""),
        T::Start | T::End => ("dateTime", ""),
        T::Today => ("date", ""),
        T::DeviceId | T::Username | T::SubscriberId | T::SimSerial | T::PhoneNumber | T::Email => {
            ("string", "")
        }
        T::Audit => ("binary", ""),
        T::StartGeopoint => ("geopoint", ""),
        T::BackgroundAudio => ("binary", ""),
        T::BackgroundGeopoint => ("geopoint", ""),
        T::XmlExternal | T::CsvExternal => return None,
    };
    Some(format!("{data} {control}").trim().to_string())
}

/// One of our expressions made comparable: paths such as `../name` (which the import writes
/// for `or_other`, as pyxform does) written `${name}`, then [`normalise`]d.
fn ours(expression: &str) -> String {
    normalise(&xform::to_references(expression, "data"))
}

/// An expression made comparable: every reference written `${name}` whatever its path, and no
/// whitespace (pyxform pads the paths it substitutes with spaces).
pub fn normalise(expression: &str) -> String {
    let mut out = String::new();
    let mut rest = expression;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap_or(after.len());
        out.push_str(&format!("${{{}}}", after[..end].trim()));
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The differences between two summaries, as readable lines (empty when they agree).
pub fn differences(ours: &Summary, theirs: &Summary) -> Vec<String> {
    let mut found = Vec::new();
    for (path, their) in theirs {
        match ours.get(path) {
            None => found.push(format!("{path}: pyxform has it, we do not")),
            Some(our) if our != their => {
                found.push(format!("{path}:\n  ours   {our:?}\n  pyxform {their:?}"))
            }
            Some(_) => {}
        }
    }
    for path in ours.keys().filter(|p| !theirs.contains_key(*p)) {
        found.push(format!("{path}: we have it, pyxform does not"));
    }
    found
}
