//! Flagging, at ingest, a submission whose answers break its form version (issue "Form
//! fidelity"): what devices send is stored whatever its content and flagged instead, with its
//! reasons, through the forms crate's one checker ([`FormChecker`]), the one the phones use
//! when typing and the core's store uses on arrival, so that the reasons read the same
//! everywhere. A submission of a form version the project has not published is not flagged.
//!
//! Each published form version's checker (its form, compiled once) is kept in a small
//! process-wide cache keyed by the version's stored definition itself (the write path reads
//! the definition by primary key per checked write), and two databases (tests, or a hub serving a copy) that
//! hold different forms under one name can never share a checker.

use crate::error::{HubError, Result};
use automerge::Automerge;
use minga_forms::check::{checking_context, encode_reasons, CheckerCache};
use minga_forms::Form;

/// The checkers of the published versions this process checked against, by definition.
static CHECKERS: CheckerCache<String> = CheckerCache::new(32);

/// What in submission `doc` (`complete` or not) breaks its form version, whose stored
/// `definition` the caller read (`None` when the project has not published that version:
/// nothing is flagged), as the projection keeps it ([`encode_reasons`]); `None` when it fits.
/// Cost: the checker from the cache (parsing and compiling the form on a miss), a walk of the
/// answers, and one evaluation if the submission is complete or answers a filtered question.
pub fn reasons(
    definition: Option<String>,
    doc: &Automerge,
    complete: bool,
) -> Result<Option<String>> {
    let Some(definition) = definition else {
        return Ok(None);
    };
    // A definition this hub wrote reads back; one that does not is left unchecked.
    let checker = CHECKERS.get_or_build(&definition, || {
        Ok::<_, HubError>(serde_json::from_str::<Form>(&definition).ok())
    })?;
    let Some(checker) = checker else {
        return Ok(None);
    };
    let answers = minga_core::read_answers(doc);
    Ok(encode_reasons(&checker.problems(
        &answers,
        complete,
        checking_context(),
    )))
}
