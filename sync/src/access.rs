//! Who may read and write what: the hub's access rules as plain functions, here so that the hub
//! (its sync responder's policy and its document routes) and devices that sync directly apply
//! the same ones. The hub re-exports them (`minga_hub::access`).
//!
//! A device is enrolled into one project with one role. A facilitator receives the project's
//! forms, its own submissions and the reviews of them; a supervisor receives everything in the
//! project; only supervisors write reviews; nobody writes forms over sync (they are published).
//!
//! Rights go by signer ([`judge_delivery`]): whoever delivers changes, each new change is judged
//! by the device (or console user) whose key signed it, and the deliverer need only be allowed
//! to read the document (any device may carry what it may read).

use std::fmt;
use std::str::FromStr;

use automerge::{ActorId, Automerge, ChangeHash};

use crate::ids::DocKind;

/// A device's role in its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
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

/// A role name that is neither `facilitator` nor `supervisor`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role; use facilitator or supervisor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "facilitator" => Ok(Role::Facilitator),
            "supervisor" => Ok(Role::Supervisor),
            other => Err(UnknownRole(other.into())),
        }
    }
}

/// An enrolled, unrevoked device (or a console user, as a supervisor) whose rights are judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub device_id: String,
    pub project: String,
    pub role: Role,
}

/// What the rules need to know of a document: its project, kind, and the device that authored
/// the submission it is (or, for a review, the submission it judges). `None` for a document the
/// judge has not seen yet and whose creator it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocAccess<'a> {
    pub project: &'a str,
    pub kind: DocKind,
    pub submission_author: Option<&'a str>,
}

/// Why a read or write was refused.
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
    /// A short machine-readable reason, sent in the hub's error bodies.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::OtherProject => "other_project",
            Refusal::NotTheAuthor => "not_the_author",
            Refusal::ReviewsAreForSupervisors => "reviews_are_for_supervisors",
            Refusal::FormsArePublished => "forms_are_published",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::OtherProject => "the document belongs to another project",
            Refusal::NotTheAuthor => "it is another facilitator's submission or review",
            Refusal::ReviewsAreForSupervisors => "only supervisors write reviews",
            Refusal::FormsArePublished => "forms are published, never written by a device",
        })
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

/// Whose rights a new change is judged by, as the judge resolved its actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// A key bound to this principal (a device's at enrolment, or a console user's).
    Principal(Principal),
    /// Judged as the delivering device's own: an unkeyed actor of before signed changes, or a
    /// key no enrolment bound (a device enrolled without binding its key).
    Deliverer,
    /// The deterministic first change of a review or form version (its actor is the document's
    /// id): the same on every device, it carries nobody's rights and needs none.
    Skeleton,
    /// A key no credential the judge holds vouches for (a device judging a relayed change by
    /// a signer it never met): refused.
    Unknown,
}

/// A delivery refused: which document, which change, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryRefused {
    /// The delivering device may not read the document, so it may not carry it either.
    #[error("document {doc}: the device delivering it may not carry it: {refusal}")]
    Carrier { doc: String, refusal: Refusal },
    /// A new change's signer may not write the document.
    #[error("document {doc}: change {change} by {signer} is refused: {refusal}")]
    Signer {
        doc: String,
        change: ChangeHash,
        signer: String,
        refusal: Refusal,
    },
    /// A new change's signer is unknown to the judge.
    #[error("document {doc}: change {change} is refused: no credential known here vouches for its signer")]
    UnknownSigner { doc: String, change: ChangeHash },
}

impl DeliveryRefused {
    /// A short machine-readable reason: the rule's code ([`Refusal::code`]), or
    /// `unknown_signer`.
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryRefused::Carrier { refusal, .. } | DeliveryRefused::Signer { refusal, .. } => {
                refusal.code()
            }
            DeliveryRefused::UnknownSigner { .. } => "unknown_signer",
        }
    }
}

/// Whether the new `changes` (each new actor's newest change and whose rights it carries,
/// [`new_changes_by_actor`]) to document `id` may be taken from `deliverer`: the deliverer may
/// read it (or it is a submission no one authored yet), and each change's signer may write it. A delivery of only its own changes is judged
/// as before rights went by signer (the deliverer may write it). Cost: one rule per actor.
pub fn judge_delivery(
    deliverer: &Principal,
    (id, doc): (&str, &DocAccess<'_>),
    changes: &[(ChangeHash, SignedBy)],
) -> Result<(), DeliveryRefused> {
    // A submission with no author yet (its creator's key bound to no one) becomes the first
    // deliverer's, as the hub records it: it may carry what it is about to author.
    let unauthored = doc.kind == DocKind::Submission && doc.submission_author.is_none();
    if !unauthored {
        may_read(deliverer, doc).map_err(|refusal| DeliveryRefused::Carrier {
            doc: id.into(),
            refusal,
        })?;
    }
    for (change, signed_by) in changes {
        let signer = match signed_by {
            SignedBy::Principal(signer) => signer,
            SignedBy::Deliverer => deliverer,
            SignedBy::Skeleton => continue,
            SignedBy::Unknown => {
                return Err(DeliveryRefused::UnknownSigner {
                    doc: id.into(),
                    change: *change,
                })
            }
        };
        may_write(signer, doc).map_err(|refusal| DeliveryRefused::Signer {
            doc: id.into(),
            change: *change,
            signer: format!("{} {}", signer.role, signer.device_id),
            refusal,
        })?;
    }
    Ok(())
}

/// The actors of `doc`'s changes after `before`, each with its newest such change (in the
/// document's order): who a delivery's rights must be judged for. Cost: a walk of the new
/// changes' metadata.
pub fn new_changes_by_actor(doc: &Automerge, before: &[ChangeHash]) -> Vec<(ActorId, ChangeHash)> {
    let mut actors: Vec<(ActorId, ChangeHash)> = Vec::new();
    for change in doc.get_changes_meta(before) {
        match actors.iter_mut().find(|(actor, _)| *actor == *change.actor) {
            Some(entry) => entry.1 = change.hash,
            None => actors.push((change.actor.into_owned(), change.hash)),
        }
    }
    actors
}

/// Whether `actor` is the fixed actor of document `id`'s deterministic first change (a
/// review's or a form version's: the id's sixteen bytes).
pub fn is_skeleton_actor(id: &str, actor: &ActorId) -> bool {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && actor.to_hex_string().eq_ignore_ascii_case(&hex)
}

#[cfg(test)]
mod tests;
