//! Evaluating a form for the UI: compile a form once (`compile`), then open a `FormSession` over
//! a submission's answers and ask it, after each answer, what is shown, required, broken and
//! computed. Only what depends on a changed answer is recomputed.

mod compile;
mod error;
mod evaluate;
mod functions;
mod graph;
mod lower;
mod sample;
mod scalar;
mod session;
mod state;
#[cfg(test)]
mod testing;
mod tree;

pub use compile::{compile, CompiledForm};
pub use error::{Column, CompileError, Problem};
pub use sample::fill_sample;
pub use scalar::Scalar;
pub use session::FormSession;
pub use state::{Context, Delta, InstanceStep, Issue, ItemPath, ItemState, SessionError};
