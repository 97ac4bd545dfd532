//! What makes a document structurally unfit to store: an id that is not one, an id of another
//! kind, a shape that is not its kind's, a `meta.id` that names another document. One rule,
//! applied wherever documents arrive (the hub's write path, a store's received changes), so
//! that no route stores what another would refuse. Content (a type, a choice, a coordinate) is
//! not judged here: it is someone's data, kept and flagged where it is read.
//!
//! The kind of an id shows in its UUID version: form ids are v5 ([`crate::form_document_id`]),
//! review ids v8 ([`crate::review_id`]), and a submission id is any other UUID (the core makes
//! v7), so a submission can never be stored under the id a review or a form version will take.

use super::form::form_document_id;
use super::ids::{DocId, DocKind};
use super::review::reviewed_submission;
use crate::fields::{object_at, string_at};
use crate::malformed::Malformed;
use automerge::{ReadDoc, ROOT};

/// The most characters of an id a refusal repeats: a 10 kB id does not make a 10 kB error.
const SHOWN_ID_CHARS: usize = 80;

/// `text` as a refusal shows it: control characters escaped, cut after [`SHOWN_ID_CHARS`].
fn shown(text: &str) -> String {
    let mut escaped = text.escape_debug();
    let mut shown: String = escaped.by_ref().take(SHOWN_ID_CHARS).collect();
    if escaped.next().is_some() {
        shown.push('…');
    }
    shown
}

/// The kind whose ids have `id`'s UUID version.
fn kind_of_id(id: &DocId) -> DocKind {
    match id.as_uuid().get_version_num() {
        5 => DocKind::Form,
        8 => DocKind::Review,
        _ => DocKind::Submission,
    }
}

/// Checks that `id` is an id of `kind`'s format, without looking at any document. Cost: a
/// UUID parse.
pub fn check_id(id: &str, kind: DocKind) -> Result<DocId, Malformed> {
    let parsed = match id.parse::<DocId>() {
        Ok(parsed) if parsed.to_string() == id => parsed,
        _ => return Err(Malformed::NotAnId { id: shown(id) }),
    };
    let belongs_to = kind_of_id(&parsed);
    if belongs_to != kind {
        return Err(Malformed::IdOfAnotherKind {
            id: id.into(),
            kind,
            belongs_to,
        });
    }
    Ok(parsed)
}

/// Checks that `doc` may be stored as the document `id` of `kind` ([`check_id`], then its
/// kind's shape): a submission has `meta` with `id` (equal to `id`), `form_id` and
/// `form_version`; a review's `submission` field names a submission whose review id is `id`; a
/// form document's `form_id` and `version` derive `id`. Cost: a few map lookups.
pub fn check_structure<D: ReadDoc>(id: &str, kind: DocKind, doc: &D) -> Result<DocId, Malformed> {
    let parsed = check_id(id, kind)?;
    let wrong_shape = |missing| Malformed::WrongShape {
        id: id.into(),
        kind,
        missing,
    };
    let derives_another = |names: String| Malformed::DerivesAnotherId {
        id: id.into(),
        kind,
        names: shown(&names),
    };
    match kind {
        DocKind::Submission => {
            let meta = object_at(doc, &ROOT, "meta").ok_or_else(|| wrong_shape("meta map"))?;
            let meta_id = string_at(doc, &meta, "id").ok_or_else(|| wrong_shape("meta.id"))?;
            if meta_id != id {
                return Err(Malformed::MetaIdMismatch {
                    id: id.into(),
                    meta_id: shown(&meta_id),
                });
            }
            for (field, missing) in [
                ("form_id", "meta.form_id"),
                ("form_version", "meta.form_version"),
            ] {
                string_at(doc, &meta, field).ok_or_else(|| wrong_shape(missing))?;
            }
        }
        DocKind::Review => {
            let named = string_at(doc, &ROOT, "submission")
                .ok_or_else(|| wrong_shape("`submission` field"))?;
            let names_a_submission = check_id(&named, DocKind::Submission).is_ok();
            if !names_a_submission || reviewed_submission(&parsed, doc).is_none() {
                return Err(derives_another(format!("submission {named}")));
            }
        }
        DocKind::Form => {
            let form_id = string_at(doc, &ROOT, "form_id").ok_or_else(|| wrong_shape("form_id"))?;
            let version = string_at(doc, &ROOT, "version").ok_or_else(|| wrong_shape("version"))?;
            if form_document_id(&form_id, &version) != parsed {
                return Err(derives_another(format!("form {form_id} version {version}")));
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::review_id;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType};

    const SUBMISSION: &str = "0192f1a0-7c3e-7000-8000-00000000a11a";

    fn submission_doc(meta_id: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
        doc.put(&meta, "id", meta_id).unwrap();
        doc.put(&meta, "form_id", "safety_walk").unwrap();
        doc.put(&meta, "form_version", "1").unwrap();
        doc
    }

    fn review_doc(submission: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "submission", submission).unwrap();
        doc
    }

    fn form_doc(form_id: &str, version: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "form_id", form_id).unwrap();
        doc.put(ROOT, "version", version).unwrap();
        doc
    }

    fn review_of(submission: &str) -> String {
        review_id(&submission.parse().unwrap()).to_string()
    }

    #[test]
    fn a_well_formed_document_of_each_kind_passes() {
        let doc = submission_doc(SUBMISSION);
        assert!(check_structure(SUBMISSION, DocKind::Submission, &doc).is_ok());
        let review = review_of(SUBMISSION);
        assert!(check_structure(&review, DocKind::Review, &review_doc(SUBMISSION)).is_ok());
        let form = form_document_id("safety_walk", "1").to_string();
        assert!(check_structure(&form, DocKind::Form, &form_doc("safety_walk", "1")).is_ok());
    }

    #[test]
    fn an_id_that_is_not_a_canonical_uuid_is_refused_and_shown_escaped_and_cut() {
        for id in [
            "../../etc/passwd",
            "a\0b",
            "0192F1A0-7C3E-7000-8000-00000000A11A",
            "0192f1a07c3e7000800000000000a11a",
            "",
        ] {
            let refused = check_id(id, DocKind::Submission).unwrap_err();
            assert!(matches!(refused, Malformed::NotAnId { .. }), "{id:?}");
        }
        let Malformed::NotAnId { id } = check_id("a\0b", DocKind::Submission).unwrap_err() else {
            unreachable!()
        };
        assert_eq!(id, "a\\0b");
        let long = "x".repeat(10_000);
        let message = check_id(&long, DocKind::Submission)
            .unwrap_err()
            .to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn review_and_form_ids_are_never_submission_ids_nor_the_reverse() {
        let review = review_of(SUBMISSION);
        let form = form_document_id("safety_walk", "2").to_string();
        assert_eq!(
            check_id(&review, DocKind::Submission).unwrap_err(),
            Malformed::IdOfAnotherKind {
                id: review.clone(),
                kind: DocKind::Submission,
                belongs_to: DocKind::Review
            }
        );
        assert!(matches!(
            check_id(&form, DocKind::Submission),
            Err(Malformed::IdOfAnotherKind {
                belongs_to: DocKind::Form,
                ..
            })
        ));
        assert!(matches!(
            check_id(SUBMISSION, DocKind::Review),
            Err(Malformed::IdOfAnotherKind {
                belongs_to: DocKind::Submission,
                ..
            })
        ));
    }

    #[test]
    fn a_submission_must_name_itself_in_meta_id_and_name_its_form() {
        let colleague = "0192f1a0-7c3e-7000-8000-00000000b22b";
        assert_eq!(
            check_structure(SUBMISSION, DocKind::Submission, &submission_doc(colleague)),
            Err(Malformed::MetaIdMismatch {
                id: SUBMISSION.into(),
                meta_id: colleague.into()
            })
        );
        assert!(matches!(
            check_structure(SUBMISSION, DocKind::Submission, &AutoCommit::new()),
            Err(Malformed::WrongShape {
                missing: "meta map",
                ..
            })
        ));
        let mut no_form = AutoCommit::new();
        let meta = no_form.put_object(ROOT, "meta", ObjType::Map).unwrap();
        no_form.put(&meta, "id", SUBMISSION).unwrap();
        assert!(matches!(
            check_structure(SUBMISSION, DocKind::Submission, &no_form),
            Err(Malformed::WrongShape {
                missing: "meta.form_id",
                ..
            })
        ));
    }

    #[test]
    fn a_review_or_form_whose_content_derives_another_id_is_refused() {
        let review = review_of(SUBMISSION);
        let other = "0192f1a0-7c3e-7000-8000-00000000b22b";
        assert!(matches!(
            check_structure(&review, DocKind::Review, &review_doc(other)),
            Err(Malformed::DerivesAnotherId { .. })
        ));
        assert!(matches!(
            check_structure(&review, DocKind::Review, &submission_doc(SUBMISSION)),
            Err(Malformed::WrongShape { .. })
        ));
        let form = form_document_id("safety_walk", "1").to_string();
        assert!(matches!(
            check_structure(&form, DocKind::Form, &form_doc("safety_walk", "2")),
            Err(Malformed::DerivesAnotherId { .. })
        ));
    }
}
