//! Minga's form engine: what a form is, what an answer is, and (as they land) the expression
//! language, evaluation for the UI, and XLSForm import. Pure logic: no storage, no I/O beyond
//! reading a spreadsheet's bytes.

pub mod answers;
pub mod check;
pub mod eval;
pub mod expr;
pub mod media;
pub mod model;
pub mod templates;
pub mod value;
pub mod xlsform;

pub use answers::{Answer, AnswerKeys, Answers, RepeatInstance};
pub use model::{
    Choice, Form, Group, Item, LocalizedText, Logic, MediaFile, Question, QuestionType, Repeat,
};
pub use value::{Attachment, GeoPoint, ImpossibleValue, Value};
