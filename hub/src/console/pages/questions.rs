//! The questions of a project's forms that the table's answer filters and the indicators offer:
//! top-level select questions (with their options) and numeric questions, labelled in the
//! form's language matching the console's. Read from the published forms' definitions, never
//! from submissions.

use super::submission::form_language;
use crate::console::i18n::Lang;
use minga_forms::{Form, Item, LocalizedText, Question, QuestionType};

/// What a question asks for, as the indicators count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// One option (select_one).
    One,
    /// Any options (select_multiple).
    Many,
    /// A number (integer, decimal, range).
    Number,
}

/// One question as the console offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    pub name: String,
    pub label: String,
    pub asked: Asked,
    /// The options (name, label) of a select; empty for a number.
    pub options: Vec<(String, String)>,
}

impl Offered {
    /// The label of option `value`, or the value itself when the form has no such option.
    pub fn option_label(&self, value: &str) -> String {
        self.options
            .iter()
            .find(|(name, _)| name == value)
            .map_or_else(|| value.to_string(), |(_, label)| label.clone())
    }

    pub fn is_select(&self) -> bool {
        self.asked != Asked::Number
    }
}

/// The offered questions of form `form_id` (its newest version), or of every form of the
/// project when `None` (the first form naming a question wins), in the forms' order.
/// Cost: a walk of the definitions, whatever the number of submissions.
pub fn offered(forms: &[Form], form_id: Option<&str>, lang: Lang) -> Vec<Offered> {
    let mut found: Vec<Offered> = Vec::new();
    let newest_first = forms.iter().rev();
    for form in newest_first.filter(|f| form_id.is_none_or(|id| f.id == id)) {
        let language = form_language(&form.languages, lang);
        let mut questions = Vec::new();
        top_level(&form.survey, &mut questions);
        for question in questions {
            if found.iter().any(|o| o.name == question.name) {
                continue;
            }
            if let Some(offered) = offer(form, question, language.as_deref()) {
                found.push(offered);
            }
        }
    }
    found
}

/// The questions whose answers sit at the top of a submission's answers: those of the survey
/// and of its groups, not of repeats.
fn top_level<'a>(items: &'a [Item], into: &mut Vec<&'a Question>) {
    for item in items {
        match item {
            Item::Question(question) => into.push(question),
            Item::Group(group) => top_level(&group.children, into),
            Item::Repeat(_) => {}
        }
    }
}

fn offer(form: &Form, question: &Question, language: Option<&str>) -> Option<Offered> {
    let (asked, list) = match &question.kind {
        QuestionType::SelectOne(list) => (Asked::One, Some(list)),
        QuestionType::SelectMultiple(list) => (Asked::Many, Some(list)),
        QuestionType::Integer | QuestionType::Decimal | QuestionType::Range => {
            (Asked::Number, None)
        }
        _ => return None,
    };
    let options = list
        .and_then(|list| form.choices.get(list))
        .map(|choices| {
            choices
                .iter()
                .map(|c| (c.name.clone(), text(&c.label, language, &c.name)))
                .collect()
        })
        .unwrap_or_default();
    Some(Offered {
        name: question.name.clone(),
        label: text(&question.label, language, &question.name),
        asked,
        options,
    })
}

/// `text` in `language`, else the form's fallback, else `name`.
fn text(text: &LocalizedText, language: Option<&str>, name: &str) -> String {
    text.get(language, None).unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(offered: &[Offered], name: &str) -> Offered {
        offered.iter().find(|o| o.name == name).unwrap().clone()
    }

    #[test]
    fn selects_and_numbers_are_offered_with_labels_in_the_consoles_language() {
        let forms = [minga_forms::templates::community_safety_assessment()];
        let english = offered(&forms, None, Lang::En);
        let province = find(&english, "province");
        assert_eq!(
            (province.label.as_str(), province.asked),
            ("Province", Asked::One)
        );
        assert!(!province.options.is_empty());
        let age = find(&english, "respondent_age");
        assert_eq!(age.asked, Asked::Number);
        assert!(age.options.is_empty());
        assert_eq!(find(&english, "incidents").asked, Asked::Many);
        let spanish = offered(&forms, Some("minga_community_safety_assessment"), Lang::Es);
        assert_eq!(find(&spanish, "province").label, "Provincia");
        assert!(offered(&forms, Some("another"), Lang::Es).is_empty());
        assert!(
            english.iter().all(|o| o.name != "location"),
            "a geopoint is not offered"
        );
    }
}
