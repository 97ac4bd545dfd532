//! Who may read and write what: the authorisation rules as plain functions, so that every
//! route and the sync responder's policy apply the same ones.
//!
//! A device is enrolled into one project with one role. A facilitator receives the project's
//! forms, its own submissions and the reviews of them; a supervisor receives everything in the
//! project; only supervisors write reviews; nobody writes forms over sync (they are published).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A device's role in its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Facilitator,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Facilitator => "facilitator",
            Role::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::error::HubError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "facilitator" => Ok(Role::Facilitator),
            "supervisor" => Ok(Role::Supervisor),
            other => Err(crate::error::HubError::BadRole(other.into())),
        }
    }
}

/// An authenticated, unrevoked device making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub device_id: String,
    pub project: String,
    pub role: Role,
}

/// What kind of document a request touches: the one kind type of every crate (sync's), its
/// name in JSON and in the hub's tables.
pub use minga_sync::DocKind;

/// What the rules need to know of a document: its project, kind, and the device that authored
/// the submission it is (or, for a review, the submission it judges). `None` for a document the
/// hub has not seen yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocAccess<'a> {
    pub project: &'a str,
    pub kind: DocKind,
    pub submission_author: Option<&'a str>,
}

/// Why a request was refused; each maps to its own HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The document belongs to a project the device is not enrolled in.
    OtherProject,
    /// A facilitator asked for (or wrote) another facilitator's submission or its review.
    NotTheAuthor,
    /// A facilitator tried to write a review.
    ReviewsAreForSupervisors,
    /// Forms are published by an administrator, never written by a device.
    FormsArePublished,
}

impl Refusal {
    /// A short machine-readable reason, sent in the error body.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::OtherProject => "other_project",
            Refusal::NotTheAuthor => "not_the_author",
            Refusal::ReviewsAreForSupervisors => "reviews_are_for_supervisors",
            Refusal::FormsArePublished => "forms_are_published",
        }
    }
}

fn is_author(who: &Principal, doc: &DocAccess<'_>) -> bool {
    doc.submission_author == Some(who.device_id.as_str())
}

/// Whether `who` may receive `doc`.
pub fn may_read(who: &Principal, doc: &DocAccess<'_>) -> Result<(), Refusal> {
    if doc.project != who.project {
        return Err(Refusal::OtherProject);
    }
    match (who.role, doc.kind) {
        (Role::Supervisor, _) | (_, DocKind::Form) => Ok(()),
        (Role::Facilitator, DocKind::Submission | DocKind::Review) if is_author(who, doc) => Ok(()),
        (Role::Facilitator, _) => Err(Refusal::NotTheAuthor),
    }
}

/// Whether `who` may write (create or change) `doc`. A facilitator may create a submission (it
/// becomes its author) and change its own; a supervisor may change any submission in the project.
pub fn may_write(who: &Principal, doc: &DocAccess<'_>) -> Result<(), Refusal> {
    if doc.project != who.project {
        return Err(Refusal::OtherProject);
    }
    match (who.role, doc.kind) {
        (_, DocKind::Form) => Err(Refusal::FormsArePublished),
        (Role::Facilitator, DocKind::Review) => Err(Refusal::ReviewsAreForSupervisors),
        (Role::Supervisor, _) => Ok(()),
        (Role::Facilitator, DocKind::Submission)
            if doc.submission_author.is_none() || is_author(who, doc) =>
        {
            Ok(())
        }
        (Role::Facilitator, DocKind::Submission) => Err(Refusal::NotTheAuthor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, role: Role) -> Principal {
        Principal {
            device_id: id.into(),
            project: "p1".into(),
            role,
        }
    }

    fn doc(kind: DocKind, author: Option<&'static str>) -> DocAccess<'static> {
        DocAccess {
            project: "p1",
            kind,
            submission_author: author,
        }
    }

    #[test]
    fn a_facilitator_reads_forms_and_its_own_work_only() {
        let ana = device("ana", Role::Facilitator);
        assert_eq!(may_read(&ana, &doc(DocKind::Form, None)), Ok(()));
        assert_eq!(
            may_read(&ana, &doc(DocKind::Submission, Some("ana"))),
            Ok(())
        );
        assert_eq!(may_read(&ana, &doc(DocKind::Review, Some("ana"))), Ok(()));
        assert_eq!(
            may_read(&ana, &doc(DocKind::Submission, Some("ben"))),
            Err(Refusal::NotTheAuthor)
        );
        assert_eq!(
            may_read(&ana, &doc(DocKind::Review, Some("ben"))),
            Err(Refusal::NotTheAuthor)
        );
    }

    #[test]
    fn a_supervisor_reads_everything_in_its_project_and_nothing_outside() {
        let sara = device("sara", Role::Supervisor);
        assert_eq!(
            may_read(&sara, &doc(DocKind::Submission, Some("ben"))),
            Ok(())
        );
        assert_eq!(may_read(&sara, &doc(DocKind::Review, Some("ben"))), Ok(()));
        let elsewhere = DocAccess {
            project: "p2",
            kind: DocKind::Form,
            submission_author: None,
        };
        assert_eq!(may_read(&sara, &elsewhere), Err(Refusal::OtherProject));
        assert_eq!(may_write(&sara, &elsewhere), Err(Refusal::OtherProject));
    }

    #[test]
    fn only_supervisors_write_reviews_and_nobody_writes_forms() {
        let ana = device("ana", Role::Facilitator);
        let sara = device("sara", Role::Supervisor);
        assert_eq!(
            may_write(&ana, &doc(DocKind::Review, Some("ana"))),
            Err(Refusal::ReviewsAreForSupervisors)
        );
        assert_eq!(may_write(&sara, &doc(DocKind::Review, Some("ana"))), Ok(()));
        assert_eq!(
            may_write(&sara, &doc(DocKind::Form, None)),
            Err(Refusal::FormsArePublished)
        );
        assert_eq!(
            may_write(&ana, &doc(DocKind::Form, None)),
            Err(Refusal::FormsArePublished)
        );
    }

    #[test]
    fn a_facilitator_creates_submissions_and_edits_only_its_own() {
        let ana = device("ana", Role::Facilitator);
        assert_eq!(may_write(&ana, &doc(DocKind::Submission, None)), Ok(()));
        assert_eq!(
            may_write(&ana, &doc(DocKind::Submission, Some("ana"))),
            Ok(())
        );
        assert_eq!(
            may_write(&ana, &doc(DocKind::Submission, Some("ben"))),
            Err(Refusal::NotTheAuthor)
        );
        let sara = device("sara", Role::Supervisor);
        assert_eq!(
            may_write(&sara, &doc(DocKind::Submission, Some("ben"))),
            Ok(())
        );
    }
}
