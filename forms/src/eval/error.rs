//! What can be wrong with a form's logic when it is compiled, named by item and column so that
//! an importer can point at the sheet, row and column.

use crate::expr::ParseError;
use std::fmt;

/// The column of the survey (or settings) sheet an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    Relevant,
    Required,
    Constraint,
    Calculation,
    ReadOnly,
    ChoiceFilter,
    RepeatCount,
    Default,
    /// `instance_name`, on the settings sheet.
    InstanceName,
    /// A label naming answers with `${name}` (rendered by the session).
    Label,
    Hint,
    /// A choice's label on the choices sheet (the error's item is the list's name).
    ChoiceLabel,
}

impl Column {
    /// The column's header in an XLSForm.
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Relevant => "relevant",
            Column::Required => "required",
            Column::Constraint => "constraint",
            Column::Calculation => "calculation",
            Column::ReadOnly => "read_only",
            Column::ChoiceFilter => "choice_filter",
            Column::RepeatCount => "repeat_count",
            Column::Default => "default",
            Column::InstanceName => "instance_name",
            Column::Label => "label",
            Column::Hint => "hint",
            Column::ChoiceLabel => "label (choices sheet)",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header())
    }
}

/// One mistake in a form's logic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{column}: {problem}", item.as_ref().map(|name| format!("'{name}', ")).unwrap_or_default())]
pub struct CompileError {
    /// The question, group or repeat, by its key (its name, or its path from the root when
    /// its name is used in different groups); `None` for the settings sheet's
    /// `instance_name`; the list's name for a choice label.
    pub item: Option<String>,
    pub column: Column,
    pub problem: Problem,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("${{{0}}} is not a question, group or repeat of this form")]
    UnknownReference(String),
    #[error("the name is used by more than one item")]
    DuplicateName,
    /// `${name}` where several items (in different groups) carry the name.
    #[error("${{{0}}} is ambiguous: more than one question, group or repeat has this name")]
    AmbiguousReference(String),
    #[error("the logic goes round in a circle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("unknown function {0}()")]
    UnknownFunction(String),
    #[error("{function}() takes {expected} arguments, not {found}")]
    WrongArgumentCount {
        function: String,
        expected: String,
        found: usize,
    },
    #[error("{0} is not supported")]
    Unsupported(String),
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
}
