//! Texts shown to the person (labels, hints, choice labels) that name answers: `${name}` in a
//! text is the value of `name` (as pyxform writes it, an `<output>`), rendered by the session in
//! its language and recomputed, like any other output, when what it names changes. Resolving
//! the names (`compile`) and evaluating them (`session`) are the callers' part: a text here
//! knows only its pieces.

use super::cexpr::CExpr;
use crate::model::{pick_language, LocalizedText};
use std::collections::BTreeMap;

/// One part of a text: written as is, or the value of an item.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Text(String),
    Value(CExpr),
}

/// A text per language, each cut into pieces.
#[derive(Debug, Clone, Default)]
pub(crate) struct Template(BTreeMap<String, Vec<Piece>>);

/// The parts of `text`: plain runs and the names inside `${…}` (trimmed), in order. A `${`
/// without its `}` is plain text.
pub(crate) fn split(text: &str) -> Vec<Result<&str, &str>> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start + 2..].find('}') else {
            break;
        };
        if start > 0 {
            parts.push(Ok(&rest[..start]));
        }
        parts.push(Err(rest[start + 2..start + 2 + length].trim()));
        rest = &rest[start + 3 + length..];
    }
    if !rest.is_empty() {
        parts.push(Ok(rest));
    }
    parts
}

impl Template {
    /// `text` cut into pieces in every language, each `${name}` made a value by `resolve`.
    /// `None` for an empty text.
    pub(crate) fn parse(
        text: &LocalizedText,
        mut resolve: impl FnMut(&str) -> CExpr,
    ) -> Option<Template> {
        if text.is_empty() {
            return None;
        }
        let mut languages = BTreeMap::new();
        for (language, source) in &text.0 {
            let pieces = split(source)
                .into_iter()
                .map(|part| match part {
                    Ok(plain) => Piece::Text(plain.to_string()),
                    Err(name) => Piece::Value(resolve(name)),
                })
                .collect();
            languages.insert(language.clone(), pieces);
        }
        Some(Template(languages))
    }

    /// Every value the text reads, in every language.
    pub(crate) fn values(&self) -> impl Iterator<Item = &CExpr> {
        self.0.values().flatten().filter_map(|piece| match piece {
            Piece::Value(expr) => Some(expr),
            Piece::Text(_) => None,
        })
    }

    /// The text to show, in `language` else `fallback` (as [`LocalizedText::get`] picks), each
    /// value shown as `show` gives it.
    /// Cost: one call of `show` per name in it.
    pub(crate) fn render(
        &self,
        language: Option<&str>,
        fallback: Option<&str>,
        show: impl Fn(&CExpr) -> String,
    ) -> String {
        let Some(pieces) = pick_language(&self.0, language, fallback) else {
            return String::new();
        };
        let mut text = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(plain) => text.push_str(plain),
                Piece::Value(expr) => text.push_str(&show(expr)),
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::{context, form, question, repeat, session};
    use crate::eval::{compile, Column, Context, ItemPath};
    use crate::value::Value;
    use serde_json::json;

    fn label(session: &crate::eval::FormSession, path: &ItemPath) -> Option<String> {
        session.item(path).unwrap().label.clone()
    }

    /// `age`, `risk` (a calculation on it), a note naming both in two languages, a hint, and a
    /// select whose choice labels name `age`.
    fn visit() -> crate::model::Form {
        form(
            vec![
                question("age", "integer", json!({"label": {"English (en)": "Age"}})),
                question(
                    "risk",
                    "calculate",
                    json!({"calculation": "if(${age} > 60, 'high', 'low')"}),
                ),
                question(
                    "summary",
                    "note",
                    json!({
                        "label": {"English (en)": "Risk at ${age}: ${risk}",
                                  "Español (es)": "Riesgo a los ${ age } años: ${risk}"},
                        "hint": {"English (en)": "Computed from ${age}"},
                    }),
                ),
                question(
                    "plan",
                    "select_one:plans",
                    json!({"label": {"English (en)": "Plan"}}),
                ),
                question("name", "text", json!({"label": {"English (en)": "Name"}})),
            ],
            json!({"plans": [
                {"name": "visit", "label": {"English (en)": "Visit at ${age}"}},
                {"name": "call", "label": {"English (en)": "Call"}},
            ]}),
        )
    }

    #[test]
    fn a_label_shows_the_values_it_names_in_the_sessions_language() {
        let mut session = session(&visit(), &[]);
        let summary = ItemPath::top("summary");
        assert_eq!(label(&session, &summary).as_deref(), Some("Risk at : low"));
        session
            .set(&ItemPath::top("age"), Some(Value::Integer(72)))
            .unwrap();
        assert_eq!(
            label(&session, &summary).as_deref(),
            Some("Risk at 72: high")
        );
        let state = session.item(&summary).unwrap();
        assert_eq!(state.hint.as_deref(), Some("Computed from 72"));
        assert_eq!(
            label(&session, &ItemPath::top("name")).as_deref(),
            Some("Name")
        );
        session.set_context(Context {
            language: Some("Español (es)".into()),
            ..context()
        });
        assert_eq!(
            label(&session, &summary).as_deref(),
            Some("Riesgo a los 72 años: high")
        );
    }

    #[test]
    fn only_the_labels_naming_a_changed_answer_are_reported_changed() {
        let mut session = session(&visit(), &[]);
        let delta = session
            .set(&ItemPath::top("name"), Some(Value::Text("Ana".into())))
            .unwrap();
        assert_eq!(delta.changed, [ItemPath::top("name")]);
        let delta = session
            .set(&ItemPath::top("age"), Some(Value::Integer(30)))
            .unwrap();
        for named in ["summary", "plan"] {
            assert!(delta.changed.contains(&ItemPath::top(named)), "{named}");
        }
        assert!(!delta.changed.contains(&ItemPath::top("name")));
    }

    #[test]
    fn choice_labels_that_name_answers_are_rendered_and_plain_lists_are_not() {
        let mut session = session(&visit(), &[]);
        session
            .set(&ItemPath::top("age"), Some(Value::Integer(30)))
            .unwrap();
        let plan = session.item(&ItemPath::top("plan")).unwrap();
        assert_eq!(
            plan.choice_labels,
            Some(vec![
                ("visit".to_string(), "Visit at 30".to_string()),
                ("call".to_string(), "Call".to_string())
            ])
        );
        let plain = form(
            vec![question("q", "select_one:yn", json!({}))],
            json!({"yn": [{"name": "yes", "label": {"English (en)": "Yes"}}]}),
        );
        let plain = crate::eval::testing::session(&plain, &[]);
        assert_eq!(plain.item(&ItemPath::top("q")).unwrap().choice_labels, None);
    }

    #[test]
    fn a_label_in_a_repeat_names_its_own_instance() {
        let people = form(
            vec![repeat(
                "people",
                json!({}),
                vec![
                    question("pname", "text", json!({})),
                    question(
                        "greet",
                        "note",
                        json!({"label": {"English (en)": "Hello ${pname}"}}),
                    ),
                ],
            )],
            json!({}),
        );
        let mut session = session(&people, &[]);
        let top = ItemPath::top("people");
        for (id, name) in [("a", "Ana"), ("b", "Luis")] {
            session.add_instance(&top, id).unwrap();
            let pname = top.inside("people", id, "pname");
            session.set(&pname, Some(Value::Text(name.into()))).unwrap();
        }
        for (id, name) in [("a", "Ana"), ("b", "Luis")] {
            let greet = ItemPath::top("").inside("people", id, "greet");
            assert_eq!(label(&session, &greet), Some(format!("Hello {name}")));
        }
    }

    #[test]
    fn a_label_naming_no_item_does_not_compile() {
        let broken = form(
            vec![question(
                "q",
                "note",
                json!({"label": {"English (en)": "Hi ${ghost}"}}),
            )],
            json!({}),
        );
        let errors = compile(&broken).unwrap_err();
        assert_eq!(errors[0].column, Column::Label);
        let broken_choice = form(
            vec![question("q", "select_one:yn", json!({}))],
            json!({"yn": [{"name": "yes", "label": {"English (en)": "Yes, ${ghost}"}}]}),
        );
        let errors = compile(&broken_choice).unwrap_err();
        assert_eq!(
            (errors[0].item.as_deref(), errors[0].column),
            (Some("yn"), Column::ChoiceLabel)
        );
    }

    #[test]
    fn names_are_cut_out_of_the_text_and_a_lone_brace_stays_text() {
        assert_eq!(
            split("Hello ${name}, age ${ age }"),
            [Ok("Hello "), Err("name"), Ok(", age "), Err("age")]
        );
        assert_eq!(split("${a}${b}"), [Err("a"), Err("b")]);
        assert_eq!(split("cost: $5 {x} ${open"), [Ok("cost: $5 {x} ${open")]);
    }
}
