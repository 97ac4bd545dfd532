//! Minga's UniFFI surface: a thin facade over `minga-core` and `minga-forms` that Kotlin,
//! Swift and Python apps load as `libminga`. Every exported type maps onto a core type; no
//! survey logic lives here.
//!
//! - [`Store`]: one open store file, and every call on submissions; [`attachments`]: photos,
//!   recordings and signatures added, read back and their state.
//! - [`records`]: the records and enums those calls take and return; [`Value`] is an answer.
//! - [`form`]: built-in templates, XLSForm and JSON import, a form's tree; [`session`]
//!   evaluates one (and, opened from a store, stores each step with the form's defaults and
//!   counted repeats);
//!   [`published`]: the form versions a store holds (they sync).
//! - [`observer`]: change observers (local edits and synced changes) and the handle that
//!   cancels one.
//! - [`sync`]: sync with a hub over HTTP or with a peer over a host transport, progress and
//!   reports; [`hub`]: enrolment ([`credentials`]: saving them, hidden in prints; [`enrolment_link`]:
//!   the QR code's link); [`bundle`]: encrypted sync files; [`review`]: reviews;
//!   [`export`]: CSV, GeoJSON and JSON for analysis; [`agent`]: a sync agent that syncs by
//!   itself.
//! - [`MingaError`]: the one error type, whose variants are what an app acts on.

pub mod agent;
pub mod attachments;
pub mod bundle;
pub mod credentials;
pub mod enrolment_link;
mod error;
pub mod export;
mod fill;
pub mod form;
mod guard;
pub mod hub;
pub mod observer;
pub mod published;
pub mod records;
pub mod review;
mod running;
pub mod session;
mod store;
pub mod sync;
mod value;

pub use credentials::hub_credentials_from_json;
pub use enrolment_link::{parse_enrolment_link, EnrolmentLink, EnrolmentLinkError};
pub use error::{FormMistake, MingaError, Result};
pub use form::Form;
pub use hub::{enrol, HubCredentials, Role};
pub use observer::{ChangeEvent, ChangeObserver, ChangedDocument, ObserverHandle};
pub use review::Review;
pub use session::FormSession;
pub use store::Store;
pub use sync::{SyncReport, SyncResponder, SyncTransport};
pub use value::{IsoDate, IsoDateTime, IsoTime, Value};

uniffi::setup_scaffolding!();
