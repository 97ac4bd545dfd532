//! Evaluating a form for the UI: compile a form once (`compile`), then open a `FormSession` over
//! a submission's answers and ask it, after each answer, what is shown, required, broken and
//! computed. Only what depends on a changed answer is recomputed.
//!
//! ```
//! use minga_forms::eval::{compile, Context, FormSession, Issue, ItemPath};
//! use minga_forms::{Answers, Form, Value};
//! use std::sync::Arc;
//!
//! let form: Form = serde_json::from_value(serde_json::json!({
//!     "id": "visit", "version": "1", "title": {"default": "Visit"}, "default_language": null,
//!     "languages": [], "instance_name": null, "choices": {},
//!     "survey": [
//!         {"kind": "question", "name": "age", "type": {"base": "integer"}, "required": "yes",
//!          "constraint": ". >= 0 and . <= 120", "constraint_message": {"default": "0 to 120"}},
//!         {"kind": "question", "name": "guardian", "type": {"base": "text"},
//!          "relevant": "${age} < 18", "required": "yes"},
//!     ],
//! }))?;
//! let compiled = Arc::new(compile(&form).map_err(|errors| format!("{errors:?}"))?);
//! let context = Context {
//!     language: None,
//!     now: chrono::Utc::now().fixed_offset(),
//!     device_id: "phone-1".into(),
//!     user_name: "ana".into(),
//! };
//! let mut session = FormSession::new(compiled, Answers::default(), context);
//! let age = ItemPath::top("age");
//! let delta = session.set(&age, Some(Value::Integer(130)))?;
//! assert_eq!(delta.changed, vec![age.clone()]);
//! assert_eq!(session.item(&age).unwrap().violation.as_deref(), Some("0 to 120"));
//! let delta = session.set(&age, Some(Value::Integer(12)))?;
//! assert!(delta.changed.contains(&ItemPath::top("guardian")));
//! assert!(session.item(&ItemPath::top("guardian")).unwrap().relevant);
//! let missing = "This question is required.".to_string();
//! let guardian = ItemPath::top("guardian");
//! assert_eq!(session.problems(), vec![Issue::Missing { path: guardian, message: missing }]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Layers, from the bottom: a file imports from its own layer and the ones listed before it,
// never from a later one (and of the crate, from `expr`, `model`, `value`, `answers`).
// Values and pure functions:
mod dates;
mod functions;
mod geo;
mod scalar;
mod text;
// Types the compiler, evaluator and session share; the graph of numbered cells:
mod cexpr;
mod error;
mod graph;
mod labels;
mod state;
// The compiled form:
mod compiled;
// What reads a compiled form: lowering into it, its cells' dependencies, its instances:
mod dependencies;
mod lower;
mod tree;
// Compiling and evaluating:
mod compile;
mod evaluate;
// The session, and what drives one:
mod sample;
mod session;
#[cfg(test)]
pub(crate) mod testing;

pub use compile::{compile, compile_with_lists};
pub use compiled::CompiledForm;
pub use error::{Column, CompileError, Problem};
pub(crate) use labels::split as text_parts;
pub use sample::fill_sample;
pub use scalar::Scalar;
pub use session::FormSession;
pub use state::{
    Context, Delta, InstanceStep, Issue, ItemPath, ItemState, SessionEdit, SessionError,
};
