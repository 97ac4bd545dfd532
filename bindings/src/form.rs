//! Forms as apps see them: the built-in templates, XLSForm import, the form's tree for
//! rendering, and a `Form` object that compiles once and opens evaluation sessions.

use crate::error::{MingaError, Result};
use crate::guard::guarded;
use crate::session::FormSession;
use minga_forms::media::list_name;
use minga_forms::{eval, model, templates, xlsform, LocalizedText};
use std::collections::HashMap;
use std::sync::Arc;

/// A published form version, compiled and ready to evaluate. Immutable.
#[derive(uniffi::Object)]
pub struct Form {
    pub(crate) compiled: Arc<eval::CompiledForm>,
}

/// Every built-in form (a stakeholder dialogue record and a community safety assessment), in
/// Spanish and English.
#[uniffi::export]
pub fn builtin_forms() -> Result<Vec<Arc<Form>>> {
    guarded(|| templates::all().iter().map(Form::compile).collect())
}

/// The built-in forms' XLSForm workbooks, to copy and adapt in a spreadsheet.
#[uniffi::export]
pub fn builtin_form_workbooks() -> Vec<FormWorkbook> {
    let workbook = |t: &templates::Template| FormWorkbook {
        form_id: t.id.to_string(),
        file_name: t.file_name.to_string(),
        xlsx: t.xlsx.to_vec(),
    };
    templates::ALL.iter().map(workbook).collect()
}

/// Imports an XLSForm workbook (`.xlsx` or `.xls`). Every mistake is reported at once in
/// `MingaError.InvalidForm`, each with its sheet, row and column.
#[uniffi::export]
pub fn import_xlsform(bytes: Vec<u8>, file_name: String) -> Result<Arc<Form>> {
    guarded(|| Form::compile(&xlsform::import(&bytes, &file_name)?))
}

/// Reads a form in Minga's own JSON model (what `minga-hub form publish` also takes). JSON
/// that is not such a form is `InvalidForm`, its message naming the line and column.
#[uniffi::export]
pub fn form_from_json(json: String) -> Result<Arc<Form>> {
    guarded(|| {
        let form: model::Form =
            serde_json::from_str(&json).map_err(|error| MingaError::InvalidForm {
                mistakes: vec![crate::error::FormMistake {
                    sheet: None,
                    row: None,
                    column: None,
                    header: None,
                    item: None,
                    message: format!("not a Minga form: {error}"),
                }],
            })?;
        Form::compile(&form)
    })
}

/// A built-in form as its workbook.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FormWorkbook {
    pub form_id: String,
    pub file_name: String,
    pub xlsx: Vec<u8>,
}

impl Form {
    pub(crate) fn compile(form: &model::Form) -> Result<Arc<Form>> {
        let compiled = eval::compile(form)?;
        Ok(Arc::new(Form {
            compiled: Arc::new(compiled),
        }))
    }

    /// A form compiled by the store (with its media's lists).
    pub(crate) fn compiled(compiled: Arc<eval::CompiledForm>) -> Arc<Form> {
        Arc::new(Form { compiled })
    }

    pub(crate) fn model(&self) -> &model::Form {
        self.compiled.form()
    }
}

#[uniffi::export]
impl Form {
    pub fn id(&self) -> String {
        self.model().id.clone()
    }

    pub fn version(&self) -> String {
        self.model().version.clone()
    }

    /// The reference a submission of this form records.
    pub fn form_ref(&self) -> minga_core::FormRef {
        minga_core::FormRef::new(self.id(), self.version())
    }

    /// The form's tree (questions, groups, repeats, choices, labels per language) for
    /// rendering. The options of a list file (`select_one_from_file cantons.csv`) are in
    /// `choices` under the file's name, as the question's kind names it, when the form was
    /// compiled with its media (`Store.form`); an imported form has none.
    pub fn definition(&self) -> FormDefinition {
        let mut definition: FormDefinition = self.model().into();
        for file in &self.model().media {
            let list = list_name(&file.name).and_then(|list| self.compiled.list(list));
            if let Some(choices) = list {
                let choices = choices.iter().map(Into::into).collect();
                definition
                    .choices
                    .entry(file.name.clone())
                    .or_insert(choices);
            }
        }
        definition
    }

    /// Opens an evaluation session over a submission's answers; the app sets each answer in
    /// the store too. Its `answers()` hold the calculations' values as well, which only a
    /// stored session writes to the store: `Store.open_form_session` opens one that stores
    /// its steps (calculations, defaults, counted instances) itself.
    pub fn session(
        &self,
        answers: crate::records::Answers,
        context: Context,
    ) -> Result<Arc<FormSession>> {
        guarded(|| FormSession::open(self.compiled.clone(), answers, context.into()))
    }
}

/// Who fills the form, when and in which language: what `today()`, `now()`, the metadata
/// questions and the messages depend on.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Context {
    /// As the form names it, such as `Español (es)`; none for the form's default.
    pub language: Option<String>,
    pub now: crate::value::IsoDateTime,
    pub device_id: String,
    pub user_name: String,
}

impl From<Context> for eval::Context {
    fn from(context: Context) -> Self {
        Self {
            language: context.language,
            now: context.now.0,
            device_id: context.device_id,
            user_name: context.user_name,
        }
    }
}

/// A form's tree, as its XLSForm gives it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FormDefinition {
    pub id: String,
    pub version: String,
    /// Text by language (`default` for a column without one).
    pub title: HashMap<String, String>,
    pub default_language: Option<String>,
    pub languages: Vec<String>,
    pub instance_name: Option<String>,
    pub survey: Vec<FormItem>,
    /// Option lists by list name, in sheet order.
    pub choices: HashMap<String, Vec<Choice>>,
}

/// A question, or a group or repeat with its children.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum FormItem {
    Question {
        question: Question,
    },
    Group {
        name: String,
        label: HashMap<String, String>,
        logic: Logic,
        appearance: Option<String>,
        children: Vec<FormItem>,
    },
    Repeat {
        name: String,
        label: HashMap<String, String>,
        logic: Logic,
        repeat_count: Option<String>,
        appearance: Option<String>,
        children: Vec<FormItem>,
    },
}

/// One question (or note, calculation, metadata field).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Question {
    pub name: String,
    /// The type, such as `select_one` with its list `yes_no`.
    pub kind: QuestionKind,
    pub label: HashMap<String, String>,
    pub hint: HashMap<String, String>,
    pub logic: Logic,
    pub calculation: Option<String>,
    pub default: Option<String>,
    pub choice_filter: Option<String>,
    pub or_other: bool,
    pub appearance: Option<String>,
    pub parameters: Option<String>,
}

/// A question type as Minga's JSON form model names it (`text`, `select_one`, `geo_point`,
/// `date_time`...), with `list`, the choice list (or file) of a select.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuestionKind {
    pub base: String,
    pub list: Option<String>,
}

/// The columns that decide whether and how an item is shown, answered and checked, as
/// XLSForm expressions.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Logic {
    pub relevant: Option<String>,
    pub required: Option<String>,
    pub required_message: HashMap<String, String>,
    pub constraint: Option<String>,
    pub constraint_message: HashMap<String, String>,
    pub read_only: Option<String>,
}

/// One option of a choice list, with its extra columns (used by `choice_filter`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Choice {
    pub name: String,
    pub label: HashMap<String, String>,
    pub extra: HashMap<String, String>,
}

pub(crate) fn text(localized: &LocalizedText) -> HashMap<String, String> {
    localized
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl From<&model::Form> for FormDefinition {
    fn from(form: &model::Form) -> Self {
        Self {
            id: form.id.clone(),
            version: form.version.clone(),
            title: text(&form.title),
            default_language: form.default_language.clone(),
            languages: form.languages.clone(),
            instance_name: form.instance_name.clone(),
            survey: form.survey.iter().map(Into::into).collect(),
            choices: form
                .choices
                .iter()
                .map(|(list, choices)| (list.clone(), choices.iter().map(Into::into).collect()))
                .collect(),
        }
    }
}

impl From<&model::Item> for FormItem {
    fn from(item: &model::Item) -> Self {
        let children = |items: &[model::Item]| items.iter().map(Into::into).collect();
        match item {
            model::Item::Question(question) => Self::Question {
                question: question.into(),
            },
            model::Item::Group(group) => Self::Group {
                name: group.name.clone(),
                label: text(&group.label),
                logic: (&group.logic).into(),
                appearance: group.appearance.clone(),
                children: children(&group.children),
            },
            model::Item::Repeat(repeat) => Self::Repeat {
                name: repeat.name.clone(),
                label: text(&repeat.label),
                logic: (&repeat.logic).into(),
                repeat_count: repeat.repeat_count.clone(),
                appearance: repeat.appearance.clone(),
                children: children(&repeat.children),
            },
        }
    }
}

impl From<&model::Question> for Question {
    fn from(question: &model::Question) -> Self {
        Self {
            name: question.name.clone(),
            kind: (&question.kind).into(),
            label: text(&question.label),
            hint: text(&question.hint),
            logic: (&question.logic).into(),
            calculation: question.calculation.clone(),
            default: question.default.clone(),
            choice_filter: question.choice_filter.clone(),
            or_other: question.or_other,
            appearance: question.appearance.clone(),
            parameters: question.parameters.clone(),
        }
    }
}

/// Read through the model's own serde names (`{"base": "select_one", "list": "yn"}`), so that
/// a type the model gains needs no change here.
impl From<&model::QuestionType> for QuestionKind {
    fn from(kind: &model::QuestionType) -> Self {
        let json = serde_json::to_value(kind).unwrap_or_default();
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
        Self {
            base: field("base").unwrap_or_default(),
            list: field("list"),
        }
    }
}

impl From<&model::Logic> for Logic {
    fn from(logic: &model::Logic) -> Self {
        Self {
            relevant: logic.relevant.clone(),
            required: logic.required.clone(),
            required_message: text(&logic.required_message),
            constraint: logic.constraint.clone(),
            constraint_message: text(&logic.constraint_message),
            read_only: logic.read_only.clone(),
        }
    }
}

impl From<&model::Choice> for Choice {
    fn from(choice: &model::Choice) -> Self {
        Self {
            name: choice.name.clone(),
            label: text(&choice.label),
            extra: choice
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}
