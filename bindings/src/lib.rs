//! Minga's UniFFI surface: a thin facade over `minga-core` and `minga-forms` that Kotlin,
//! Swift and Python apps load as `libminga`. Every exported type maps onto a core type; no
//! survey logic lives here.
//!
//! - [`Store`]: one open store file, and every call on submissions.
//! - [`records`]: the records and enums those calls take and return; [`Value`] is an answer.
//! - [`form`]: built-in templates, XLSForm import, a form's tree; [`session`] evaluates one.
//! - [`observer`]: change observers and the handle that cancels one.
//! - [`MingaError`]: the one error type, whose variants are what an app acts on.

mod error;
pub mod form;
mod guard;
pub mod observer;
pub mod records;
pub mod session;
mod store;
mod value;

pub use error::{FormMistake, MingaError, Result};
pub use form::Form;
pub use observer::{ChangeEvent, ChangeObserver, ChangedDocument, ObserverHandle};
pub use session::FormSession;
pub use store::Store;
pub use value::{IsoDate, IsoDateTime, IsoTime, Value};

uniffi::setup_scaffolding!();
