//! `begin loop over list`: pyxform's old shorthand for asking the same questions once per option
//! of a list. Minga has no loop in its model; a loop imports as a group holding one group per
//! option. Each copy of a question gets a name of its own (which keeps its answers under a plain
//! name, as they were stored before names could repeat in groups):
//! `<question>_<option>`, and `%(label)s` in a label becomes the option's label.

use crate::model::{Choice, Group, Item, LocalizedText};

/// The loop `group` over `options`, with `children` asked once per option.
pub fn expand(group: Group, options: &[Choice], children: &[Item]) -> Group {
    let per_option = options
        .iter()
        .map(|option| {
            Item::Group(Group {
                name: option.name.clone(),
                label: option.label.clone(),
                logic: Default::default(),
                appearance: None,
                children: children.iter().map(|item| copy_for(item, option)).collect(),
            })
        })
        .collect();
    Group {
        children: per_option,
        ..group
    }
}

/// Adds the "other" option an `or_other` select adds to its list, as pyxform does: labelled
/// "Other" in every language the list's labels are given in, and not when the list already has
/// an option named `other`.
pub fn add_other_option(options: &mut Vec<Choice>) {
    if options.iter().any(|c| c.name == OTHER) {
        return;
    }
    let mut languages: Vec<&String> = options.iter().flat_map(|c| c.label.0.keys()).collect();
    let no_language = LocalizedText::NO_LANGUAGE.to_string();
    if languages.is_empty() {
        languages.push(&no_language);
    }
    let label = languages
        .into_iter()
        .map(|language| (language.clone(), "Other".to_string()))
        .collect();
    options.push(Choice {
        name: OTHER.into(),
        label: LocalizedText(label),
        extra: Default::default(),
        media: Default::default(),
    });
}

/// The name of the option `or_other` adds.
const OTHER: &str = "other";

fn copy_for(item: &Item, option: &Choice) -> Item {
    let rename = |name: &str| format!("{name}_{}", option.name);
    match item {
        Item::Question(q) => {
            let mut q = q.clone();
            q.name = rename(&q.name);
            q.label = substitute(&q.label, &option.label);
            Item::Question(q)
        }
        Item::Group(g) => Item::Group(Group {
            name: rename(&g.name),
            label: substitute(&g.label, &option.label),
            children: g.children.iter().map(|c| copy_for(c, option)).collect(),
            ..g.clone()
        }),
        Item::Repeat(r) => {
            let mut r = r.clone();
            r.name = rename(&r.name);
            r.label = substitute(&r.label, &option.label);
            r.children = r.children.iter().map(|c| copy_for(c, option)).collect();
            Item::Repeat(r)
        }
    }
}

/// `%(label)s` replaced, language by language, with the option's label in that language (or the
/// option's label in any language when it lacks that one).
fn substitute(text: &LocalizedText, option_label: &LocalizedText) -> LocalizedText {
    LocalizedText(
        text.0
            .iter()
            .map(|(language, value)| {
                let label = option_label.get(Some(language), None).unwrap_or_default();
                (language.clone(), value.replace("%(label)s", label))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Question, QuestionType};
    use std::collections::BTreeMap;

    fn text(value: &str) -> LocalizedText {
        LocalizedText(BTreeMap::from([("english".to_string(), value.to_string())]))
    }

    #[test]
    fn a_loop_asks_its_questions_once_per_option() {
        let question = Question {
            label: text("How many %(label)s?"),
            ..Question::new("number", QuestionType::Integer)
        };
        let options: Vec<Choice> = ["pit", "bucket"]
            .iter()
            .map(|n| Choice {
                name: n.to_string(),
                label: text(&n.to_uppercase()),
                extra: BTreeMap::new(),
                media: BTreeMap::new(),
            })
            .collect();
        let group = Group {
            name: "toilets".into(),
            label: text(""),
            logic: Default::default(),
            appearance: None,
            children: vec![],
        };
        let looped = expand(group, &options, &[Item::Question(question)]);
        let names: Vec<(String, String, String)> = looped
            .children
            .iter()
            .map(|item| match item {
                Item::Group(g) => match &g.children[0] {
                    Item::Question(q) => {
                        (g.name.clone(), q.name.clone(), q.label.0["english"].clone())
                    }
                    _ => panic!("a question"),
                },
                _ => panic!("a group per option"),
            })
            .collect();
        assert_eq!(
            names,
            [
                ("pit".into(), "number_pit".into(), "How many PIT?".into()),
                (
                    "bucket".into(),
                    "number_bucket".into(),
                    "How many BUCKET?".into()
                )
            ]
        );
    }
}
