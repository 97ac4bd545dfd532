//! JSON: every submission with its facts (why it was flagged as invalid on arrival among
//! them) and its answers as plain JSON. Geopoints are kept as
//! stored, even one that is no place on Earth (the export's report names it); a NaN or an
//! infinity, which JSON cannot hold, is written `null`.

use super::{plain_answers, submission_meta, ExportSubmission};
use minga_forms::Form;
use serde_json::{json, Value as Json};

/// The export document: the form's id, version list and every submission.
pub fn submissions(form: &Form, submissions: &[ExportSubmission]) -> Json {
    let items: Vec<Json> = submissions
        .iter()
        .map(|submission| {
            let mut object = submission_meta(form, submission);
            object.insert("invalid_reasons".into(), json!(submission.invalid_reasons));
            object.insert("answers".into(), plain_answers(&submission.answers));
            Json::Object(object)
        })
        .collect();
    json!({ "form_id": form.id, "submissions": items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::export::fixtures;

    #[test]
    fn answers_are_plain_values_and_repeats_keep_their_ids() {
        let export = submissions(&fixtures::form(), &fixtures::submissions());
        let first = &export["submissions"][0];
        assert_eq!(first["key"], "uuid:0b6f3a52-0000-4000-8000-000000000001");
        assert_eq!(first["review_state"], "approved");
        assert_eq!(first["answers"]["visit_date"], "2026-11-03");
        assert_eq!(first["answers"]["concerns"], json!(["gangs", "theft"]));
        assert_eq!(first["answers"]["household"][1]["_id"], "m2");
        assert_eq!(first["answers"]["household"][1]["member_role"], "child");
        assert_eq!(export["submissions"][1]["review_state"], Json::Null);
        assert_eq!(first["invalid_reasons"][0]["question"], "age");
        assert_eq!(export["submissions"][1]["invalid_reasons"], json!([]));
    }
}
