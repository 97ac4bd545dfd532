//! The engine over the real corpus: every form pyxform converts compiles, opens a session and
//! can be filled with sample answers, except the form that filters options of the
//! `external_choices` sheet (which pyxform writes to an `itemsets.csv` the engine never sees),
//! which fails to compile with an `Unsupported` problem naming the question and column. (The
//! form with list files, UCL_Biomass_Plot_Form, compiles without them, offering nothing from
//! them; `external_choices.rs` fills it with them.)

use minga_forms::eval::{compile, fill_sample, Column, Context, FormSession, ItemPath, Problem};
use minga_forms::{xlsform, Answers, Form};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;
use common::shared::xlsform_corpus;

/// Forms that import but do not compile, and why: each filters options the engine never sees.
const OUT: [(&str, &str); 1] = [(
    "case_insensitivity.xlsx",
    "q2 filters a select_one_external list, which pyxform writes to itemsets.csv",
)];

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["pyxform", "webforms"]
        .iter()
        .flat_map(|folder| std::fs::read_dir(dir.join(folder)).expect("the corpus is there"))
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("xlsx" | "xls")))
        .collect();
    files.sort();
    files
}

/// Every form of the corpus that imports, by file name; `None` once `test` has said SKIPPED
/// (no corpus beside this clone).
fn importable(test: &str) -> Option<Vec<(String, Form)>> {
    let corpus = xlsform_corpus(test)?;
    let forms = corpus_files(&corpus)
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            let form = xlsform::import(&std::fs::read(&path).ok()?, &name).ok()?;
            Some((name, form))
        })
        .collect();
    Some(forms)
}

fn session(form: &Form) -> FormSession {
    let compiled = compile(form).unwrap_or_else(|errors| panic!("{}: {errors:?}", form.id));
    let context = Context {
        language: None,
        now: chrono::Utc::now().fixed_offset(),
        device_id: "phone-1".into(),
        user_name: "ana".into(),
    };
    FormSession::new(Arc::new(compiled), Answers::default(), context)
}

#[test]
fn every_importable_corpus_form_but_one_compiles_and_fills() {
    let Some(forms) = importable("every_importable_corpus_form_but_one_compiles_and_fills") else {
        return;
    };
    assert_eq!(forms.len(), 16, "the 18 files less the 2 pyxform refuses");
    let mut compiled = 0;
    for (name, form) in forms
        .iter()
        .filter(|(n, _)| !OUT.iter().any(|(o, _)| o == n))
    {
        let mut session = session(form);
        let answered = fill_sample(&mut session);
        // bad_calc's one question is a calculation that does not parse: nothing to answer.
        assert!(
            answered > 0 || name == "bad_calc.xlsx",
            "{name}: nothing filled"
        );
        compiled += 1;
    }
    assert_eq!(compiled, 15);
}

#[test]
fn the_forms_left_out_say_which_question_and_column_need_outside_data() {
    let Some(forms) =
        importable("the_forms_left_out_say_which_question_and_column_need_outside_data")
    else {
        return;
    };
    for (name, why) in OUT {
        let (_, form) = forms
            .iter()
            .find(|(n, _)| n == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} imports"));
        let errors = compile(&form).expect_err(why);
        for error in &errors {
            assert_eq!(error.column, Column::ChoiceFilter, "{name}: {error}");
            assert!(
                matches!(&error.problem, Problem::Unsupported(what) if what.contains("choice_filter over the options of")),
                "{name}: {error}"
            );
            let item = error.item.as_deref().expect("the question");
            assert!(why.contains(item), "{name}: {error}");
        }
    }
}

#[test]
fn a_translated_choice_label_is_looked_up_by_jr_itext() {
    let Some(forms) = importable("a_translated_choice_label_is_looked_up_by_jr_itext") else {
        return;
    };
    let (_, form) = forms
        .into_iter()
        .find(|(n, _)| n.starts_with("socio-economic-survey"))
        .expect("the socio-economic survey imports");
    let mut session = session(&form);
    let class = ItemPath::top("SEClass");
    assert_eq!(session.item(&class).unwrap().value.to_text(), "");
    fill_sample(&mut session);
    let income = session
        .item(&ItemPath::top("householdIncome"))
        .unwrap()
        .value
        .to_text();
    let list = &form.choices["seclass"];
    let chosen = list
        .iter()
        .find(|c| c.name == income)
        .expect("an income class chosen");
    let expected = chosen
        .label
        .get(None, form.default_language.as_deref())
        .unwrap();
    assert_eq!(session.item(&class).unwrap().value.to_text(), expected);
}

/// Every label and hint of a filled corpus form comes back rendered: no `${name}` is left in
/// the text to show, and the corpus holds labels that name answers.
#[test]
fn corpus_labels_naming_answers_come_back_rendered() {
    let Some(forms) = importable("corpus_labels_naming_answers_come_back_rendered") else {
        return;
    };
    let mut rendered = 0;
    for (name, form) in forms
        .iter()
        .filter(|(n, _)| !OUT.iter().any(|(o, _)| o == n))
    {
        let mut session = session(form);
        fill_sample(&mut session);
        for (path, state) in session.state() {
            for text in [&state.label, &state.hint].into_iter().flatten() {
                assert!(!text.contains("${"), "{name}, {path}: {text}");
            }
        }
        let names_answers =
            |text: &minga_forms::LocalizedText| text.0.values().any(|t| t.contains("${"));
        rendered += common::questions(&form.survey)
            .into_iter()
            .filter(|q| names_answers(&q.label) || names_answers(&q.hint))
            .count();
    }
    assert!(rendered > 0, "no corpus label names an answer");
}
