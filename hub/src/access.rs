//! Who may read and write what: the authorisation rules as plain functions, so that every
//! route and the sync responder's policy apply the same ones. They live in minga-sync
//! (`minga_sync::access`), so that devices syncing directly apply the hub's own rules; the hub
//! uses them from here.
//!
//! A device is enrolled into one project with one role. A facilitator receives the project's
//! forms, its own submissions and the reviews of them; a supervisor receives everything in the
//! project; only supervisors write reviews; nobody writes forms over sync (they are published).
//! Each new change is judged by its signer (`judge_delivery`), whoever delivers it.

pub use minga_sync::access::{
    judge_delivery, may_read, may_write, DeliveryRefused, DocAccess, Principal, Refusal, Role,
    SignedBy, UnknownRole,
};

/// What kind of document a request touches: the one kind type of every crate (sync's), its
/// name in JSON and in the hub's tables.
pub use minga_sync::DocKind;

impl From<UnknownRole> for crate::error::HubError {
    fn from(unknown: UnknownRole) -> Self {
        crate::error::HubError::BadRole(unknown.0)
    }
}
