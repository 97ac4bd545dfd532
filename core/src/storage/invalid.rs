//! Flagging a submission whose answers break its form version (issue "Form fidelity"): what
//! arrives by sync, bundle or import is kept whatever its content, and flagged instead, with
//! its reasons, through the forms crate's one checker ([`FormChecker`]), the one the device
//! uses when typing. The projection (`projection.rs`) stores what [`reasons`] finds in the
//! row's `invalid_reasons` column; a submission of a form version this store lacks is not
//! flagged (nothing to check against) until the form arrives ([`reflag_form`]).
//!
//! Each form version's checker (its form, compiled once) is kept in a small process-wide
//! cache keyed by the form document's id and heads: the same id and heads are the same form
//! in any store, so stores may share it, and a changed form document is a new key.

use super::chunks;
use super::documents;
use super::submissions;
use crate::document::form::read_form;
use crate::document::{self, form_document_id, DocId, DocKind, Status};
use crate::error::Result;
use automerge::{AutoCommit, ChangeHash};
use minga_forms::check::{checking_context, encode_reasons, CheckerCache, FormChecker};
use rusqlite::Connection;
use std::sync::Arc;

/// The checkers of the form versions this process checked against, by form document id and
/// heads.
static CHECKERS: CheckerCache<(DocId, Vec<ChangeHash>)> = CheckerCache::new(16);

/// What in submission `doc` breaks its form version, as the row stores it (a JSON list of
/// `{question, reason}`), or `None` when it fits or this store lacks its form version.
/// Cost: one primary-key lookup of the form's row; decoding and compiling the form on a cache
/// miss; then the checker's walk over the answers (and one evaluation if the submission is
/// complete or answers a filtered question).
pub(crate) fn reasons(conn: &Connection, doc: &AutoCommit) -> Result<Option<String>> {
    let Some(meta) = document::read_meta(doc) else {
        return Ok(None);
    };
    let form = form_document_id(&meta.form.form_id, &meta.form.form_version);
    let Some(checker) = checker(conn, &form)? else {
        return Ok(None);
    };
    let complete = document::read_status(doc) == Status::Complete;
    let found = checker.problems(&document::read_answers(doc), complete, checking_context());
    Ok(encode_reasons(&found))
}

/// The checker of form document `form`, from the cache or built; `None` if this store lacks
/// the form or its document holds no readable form.
fn checker(conn: &Connection, form: &DocId) -> Result<Option<Arc<FormChecker>>> {
    let Some((DocKind::Form, heads)) = documents::kind_and_heads(conn, form)? else {
        return Ok(None);
    };
    CHECKERS.get_or_build(&(*form, heads), || {
        let reader = automerge::ActorId::random();
        let loaded = chunks::load(conn, form, &reader)?;
        Ok(loaded.and_then(|loaded| read_form(&loaded.doc, form).ok()))
    })
}

/// Flags again every submission of the form version that document `form` holds, now that it
/// is stored: submissions that arrived before their form could not be checked. Cost: one scan
/// of the list rows (no index on the form), and a decode and check of each submission of that
/// version.
pub(crate) fn reflag_form(conn: &Connection, form: &DocId, doc: &AutoCommit) -> Result<()> {
    let Ok(definition) = read_form(doc, form) else {
        return Ok(());
    };
    let reader = automerge::ActorId::random();
    for id in submissions::ids_of_version(conn, &definition.id, &definition.version)? {
        if let Some(loaded) = chunks::load(conn, &id, &reader)? {
            submissions::write_invalid_reasons(conn, &id, reasons(conn, &loaded.doc)?)?;
        }
    }
    Ok(())
}
