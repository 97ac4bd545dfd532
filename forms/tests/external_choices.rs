//! External choices: a form's list files (CSV, XML) read by the engine as the caller hands
//! them over: what `select_one_from_file` and `select_multiple_from_file` offer, narrowed by a
//! `choice_filter`, and what `instance('list')` paths and `pulldata()` look up. Then the corpus
//! form that needs them (UCL_Biomass_Plot_Form), with its list files made for the test
//! (`tests/data/ucl-media/`, made as `tests/data/ucl-media.md` says).

mod common;

use common::shared::xlsform_corpus;
use minga_forms::eval::{compile_with_lists, fill_sample, Context, FormSession, ItemPath};
use minga_forms::media::{list_name, media_named, read_list, ExternalLists};
use minga_forms::{xlsform, Answers, Form, Value};
use serde_json::json;
use std::sync::Arc;

const CANTONS_CSV: &str = "name,label,province\n\
    quito,Quito,pichincha\n\
    cayambe,Cayambe,pichincha\n\
    ibarra,Ibarra,imbabura\n\
    otavalo,\"Otavalo, Imbabura\",imbabura\n";

const LANGUAGES_XML: &str = "<root><item><name>es</name><label>Español</label></item>\
    <item><name>qu</name><label>Kichwa</label></item></root>";

fn context() -> Context {
    Context {
        language: None,
        now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:00:00-05:00").unwrap(),
        device_id: "phone-1".into(),
        user_name: "ana".into(),
    }
}

fn question(
    name: &str,
    base: &str,
    list: Option<&str>,
    columns: serde_json::Value,
) -> serde_json::Value {
    let mut item = json!({"kind": "question", "name": name, "type": {"base": base, "list": list}});
    item.as_object_mut()
        .unwrap()
        .extend(columns.as_object().unwrap().clone());
    item
}

fn canton_form() -> Form {
    let survey = vec![
        question("province", "text", None, json!({})),
        question(
            "canton",
            "select_one_from_file",
            Some("cantons.csv"),
            json!({"choice_filter": "province = ${province}"}),
        ),
        question(
            "canton_label",
            "calculate",
            None,
            json!({"calculation": "instance('cantons')/root/item[name = ${canton}]/label"}),
        ),
        question(
            "canton_province",
            "calculate",
            None,
            json!({"calculation": "pulldata('cantons', 'province', 'name', ${canton})"}),
        ),
        question(
            "languages",
            "select_multiple_from_file",
            Some("languages.xml"),
            json!({}),
        ),
    ];
    serde_json::from_value(json!({
        "id": "cantons", "version": "1", "title": {"default": "Cantons"},
        "default_language": null, "languages": [], "instance_name": null,
        "survey": survey, "choices": {},
    }))
    .unwrap()
}

fn lists(files: &[(&str, &str)]) -> ExternalLists {
    files
        .iter()
        .map(|(file, text)| {
            let list = list_name(file).unwrap().to_string();
            (list, read_list(file, text.as_bytes()).unwrap())
        })
        .collect()
}

fn canton_session() -> FormSession {
    let lists = lists(&[
        ("cantons.csv", CANTONS_CSV),
        ("languages.xml", LANGUAGES_XML),
    ]);
    let compiled = compile_with_lists(&canton_form(), lists).unwrap_or_else(|e| panic!("{e:?}"));
    FormSession::new(Arc::new(compiled), Answers::default(), context())
}

fn choices(session: &FormSession, name: &str) -> Vec<String> {
    session
        .item(&ItemPath::top(name))
        .unwrap()
        .choices
        .clone()
        .unwrap()
}

fn value(session: &FormSession, name: &str) -> String {
    session.item(&ItemPath::top(name)).unwrap().value.to_text()
}

#[test]
fn a_choice_filter_narrows_a_csv_list_and_follows_the_answer_it_reads() {
    let mut session = canton_session();
    assert_eq!(choices(&session, "canton"), Vec::<String>::new());
    session
        .set(
            &ItemPath::top("province"),
            Some(Value::Text("imbabura".into())),
        )
        .unwrap();
    assert_eq!(choices(&session, "canton"), ["ibarra", "otavalo"]);
    let delta = session
        .set(
            &ItemPath::top("province"),
            Some(Value::Text("pichincha".into())),
        )
        .unwrap();
    assert!(delta.changed.iter().any(|path| path.name == "canton"));
    assert_eq!(choices(&session, "canton"), ["quito", "cayambe"]);
}

#[test]
fn instance_paths_and_pulldata_look_up_the_row_of_the_answer() {
    let mut session = canton_session();
    session
        .set(
            &ItemPath::top("province"),
            Some(Value::Text("imbabura".into())),
        )
        .unwrap();
    session
        .set(
            &ItemPath::top("canton"),
            Some(Value::Choice("otavalo".into())),
        )
        .unwrap();
    assert_eq!(value(&session, "canton_label"), "Otavalo, Imbabura");
    assert_eq!(value(&session, "canton_province"), "imbabura");
    session
        .set(
            &ItemPath::top("canton"),
            Some(Value::Choice("nowhere".into())),
        )
        .unwrap();
    assert_eq!(value(&session, "canton_province"), "");
}

#[test]
fn an_xml_list_offers_its_items_with_their_labels() {
    let lists = lists(&[
        ("cantons.csv", CANTONS_CSV),
        ("languages.xml", LANGUAGES_XML),
    ]);
    let compiled = compile_with_lists(&canton_form(), lists).unwrap();
    let offered: Vec<(&str, &str)> = compiled
        .list("languages")
        .unwrap()
        .iter()
        .map(|c| (c.name.as_str(), c.label.get(None, None).unwrap()))
        .collect();
    assert_eq!(offered, [("es", "Español"), ("qu", "Kichwa")]);
}

#[test]
fn a_form_compiled_without_its_lists_offers_nothing_and_still_evaluates() {
    let compiled = compile_with_lists(&canton_form(), ExternalLists::new()).unwrap();
    let mut session = FormSession::new(Arc::new(compiled), Answers::default(), context());
    session
        .set(
            &ItemPath::top("province"),
            Some(Value::Text("imbabura".into())),
        )
        .unwrap();
    assert_eq!(choices(&session, "canton"), Vec::<String>::new());
    assert_eq!(value(&session, "canton_province"), "");
}

const UCL_FORM: &str = "UCL_Biomass_Plot_Form.xlsx";

/// The UCL form's list files, made for the test (`tests/data/ucl-media/`).
fn ucl_lists(form: &Form) -> ExternalLists {
    let dir = format!("{}/tests/data/ucl-media", env!("CARGO_MANIFEST_DIR"));
    media_named(form)
        .into_iter()
        .filter_map(|used| {
            let list = list_name(&used.file)?.to_string();
            let bytes = std::fs::read(format!("{dir}/{}", used.file))
                .unwrap_or_else(|e| panic!("{}: {e}", used.file));
            Some((list, read_list(&used.file, &bytes).unwrap()))
        })
        .collect()
}

#[test]
fn the_ucl_biomass_form_fills_with_its_list_files() {
    let Some(corpus) = xlsform_corpus("the_ucl_biomass_form_fills_with_its_list_files") else {
        return;
    };
    let bytes = std::fs::read(corpus.join("pyxform").join(UCL_FORM)).unwrap();
    let form = xlsform::import(&bytes, UCL_FORM).unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<String> = media_named(&form).into_iter().map(|u| u.file).collect();
    files.sort();
    files.dedup();
    assert_eq!(
        files,
        [
            "UCL_districts.csv",
            "UCL_regions.csv",
            "UCL_villages.csv",
            "ULC_Biomass_Plots.csv",
            "species_names.csv"
        ]
    );
    let compiled = compile_with_lists(&form, ucl_lists(&form)).unwrap_or_else(|e| panic!("{e:?}"));
    let mut session = FormSession::new(Arc::new(compiled), Answers::default(), context());
    session
        .set(&ItemPath::top("region_id"), Some(Value::Choice("1".into())))
        .unwrap();
    assert_eq!(choices(&session, "district_id"), ["11", "12"]);
    session
        .set(&ItemPath::top("region_id"), Some(Value::Choice("2".into())))
        .unwrap();
    assert_eq!(choices(&session, "district_id"), ["21"]);
    session
        .set(&ItemPath::top("region_id"), Some(Value::Choice("1".into())))
        .unwrap();
    assert!(fill_sample(&mut session) > 0);
    assert!(session.problems().is_empty(), "{:?}", session.problems());
    assert_eq!(value(&session, "plot_id"), "P1");
}
