//! The survey sheet: rows into the form's tree of questions, groups and repeats, checking types,
//! names, choice lists and begin/end pairs, and noting every expression cell for the checks that
//! need the whole form.

use super::error::{ImportError, Location, Problem};
use super::headers::Field;
use super::rows::Row;
use super::types::{parse_type, Block, RowKind};
use crate::model::{
    Choice, Group, Item, LocalizedText, Logic, Question, QuestionType, Repeat, MAX_PIXELS,
};
use std::collections::{BTreeMap, HashMap};

/// An expression written in a cell, kept with its place for the checks done once every name is
/// known.
#[derive(Debug, Clone)]
pub struct ExpressionCell {
    pub location: Location,
    pub source: String,
    /// The question, group or repeat of the row.
    pub item: String,
    /// Its path from the root: the names of the groups and repeats it is in, then its own,
    /// joined by `/` (what the engine keys an item by when its name is used in several groups).
    pub path: String,
    /// The column as the engine names it; `None` for text with `${name}` inside (a label, a
    /// hint), which the engine does not compile.
    pub column: Option<crate::eval::Column>,
}

/// What the survey sheet holds.
#[derive(Debug, Default)]
pub struct Survey {
    pub items: Vec<Item>,
    pub expressions: Vec<ExpressionCell>,
    /// Every name given to a question, group or repeat, with the rows that give it (more than
    /// one where the name is used in different groups).
    pub names: HashMap<String, Vec<u32>>,
    /// The choice lists an `or_other` select uses: each gets pyxform's `other` choice.
    pub lists_with_other: Vec<String>,
}

/// `yes`/`true`/`TRUE`/`true()` and their negatives, as pyxform reads them.
pub fn yes_no(cell: &str) -> Option<bool> {
    match cell.to_lowercase().as_str() {
        "yes" | "true" | "true()" => Some(true),
        "no" | "false" | "false()" => Some(false),
        _ => None,
    }
}

/// Reads the survey rows into a tree. Mistakes go into `errors`; the rest still imports, so that
/// one pass finds them all.
pub fn read_survey<'a>(
    rows: impl Iterator<Item = Row<'a>>,
    choices: &BTreeMap<String, Vec<Choice>>,
    errors: &mut Vec<ImportError>,
) -> Survey {
    let mut builder = Builder {
        choices,
        errors,
        survey: Survey::default(),
        lists_with_other: Vec::new(),
        stack: vec![Frame::root()],
        repeat_names: HashMap::new(),
    };
    for row in rows {
        builder.row(&row);
    }
    builder.finish()
}

/// An open `begin` block, collecting its children until its `end`.
struct Frame {
    head: Head,
    opened: Option<Location>,
    children: Vec<Item>,
    /// The names given inside this block (not inside blocks within it), with their rows: a
    /// name must be unique among them, as pyxform requires.
    names: HashMap<String, u32>,
}

enum Head {
    Root,
    Group(Group),
    Repeat(Repeat),
    Loop { group: Group, list: String },
}

impl Frame {
    fn root() -> Frame {
        Frame {
            head: Head::Root,
            opened: None,
            children: Vec::new(),
            names: HashMap::new(),
        }
    }

    fn block(&self) -> Option<Block> {
        match self.head {
            Head::Root => None,
            Head::Group(_) => Some(Block::Group),
            Head::Repeat(_) => Some(Block::Repeat),
            Head::Loop { .. } => Some(Block::Loop),
        }
    }

    fn name(&self) -> &str {
        match &self.head {
            Head::Root => "",
            Head::Group(g) | Head::Loop { group: g, .. } => &g.name,
            Head::Repeat(r) => &r.name,
        }
    }
}

struct Builder<'c, 'e> {
    choices: &'c BTreeMap<String, Vec<Choice>>,
    errors: &'e mut Vec<ImportError>,
    survey: Survey,
    /// Lists an `or_other` select uses: a loop over one is asked for "other" too, as pyxform does.
    lists_with_other: Vec<String>,
    stack: Vec<Frame>,
    /// The repeats' names with their rows: unique anywhere in a form, as pyxform requires.
    repeat_names: HashMap<String, u32>,
}

impl Builder<'_, '_> {
    fn row(&mut self, row: &Row) {
        let Some(type_cell) = row.get(&Field::Type) else {
            self.untyped_row(row);
            return;
        };
        let Some(kind) = parse_type(type_cell) else {
            self.errors
                .push(row.error(&Field::Type, Problem::UnknownType(type_cell.to_string())));
            // Keep the name known, so references to it do not add errors of their own.
            if let Some(name) = row.get(&Field::Name) {
                let rows = self.survey.names.entry(name.to_string()).or_default();
                rows.push(row.number);
            }
            return;
        };
        match kind {
            RowKind::End(block) => self.close(row, block, type_cell),
            RowKind::BeginGroup | RowKind::BeginRepeat | RowKind::BeginLoop(_) => {
                self.open(row, kind)
            }
            RowKind::Question {
                kind,
                or_other,
                implied_constraint,
            } => self.question(row, kind, or_other, implied_constraint),
        }
    }

    /// A row without a type is a note for the reader, unless it names or labels something.
    fn untyped_row(&mut self, row: &Row) {
        let what = if row.get(&Field::Name).is_some() {
            "name"
        } else if !row.localized(label_column).is_empty() {
            "label"
        } else {
            return;
        };
        self.errors
            .push(row.error(&Field::Type, Problem::MissingType(what)));
    }

    /// Checks and records the row's name; `None` when it has none worth using.
    fn name(&mut self, row: &Row) -> Option<String> {
        let Some(name) = row.get(&Field::Name) else {
            self.errors
                .push(row.error(&Field::Name, Problem::MissingName));
            return None;
        };
        if !is_valid_name(name) {
            self.errors
                .push(row.error(&Field::Name, Problem::InvalidName(name.to_string())));
        }
        self.record_name(name, row.number, row);
        Some(name.to_string())
    }

    /// Notes `name`, given on row `number`; a name already given in the same group (or repeat,
    /// or at the top) is a mistake at `row`. The same name in different groups is legal.
    fn record_name(&mut self, name: &str, number: u32, row: &Row) {
        let frame = self.stack.last_mut().expect("the root frame stays");
        if let Some(&first_row) = frame.names.get(name) {
            let problem = Problem::DuplicateName {
                name: name.to_string(),
                first_row,
            };
            self.errors.push(row.error(&Field::Name, problem));
            return;
        }
        frame.names.insert(name.to_string(), number);
        let rows = self.survey.names.entry(name.to_string()).or_default();
        rows.push(number);
    }

    /// A repeat's name is unique in the whole form, not only in its group.
    fn record_repeat_name(&mut self, name: &str, row: &Row) {
        if let Some(&first_row) = self.repeat_names.get(name) {
            let problem = Problem::DuplicateRepeatName {
                name: name.to_string(),
                first_row,
            };
            self.errors.push(row.error(&Field::Name, problem));
        } else {
            self.repeat_names.insert(name.to_string(), row.number);
        }
    }

    /// The path of the item `name` on the row being read: the open blocks' names, then its own.
    fn path_of(&self, name: &str) -> String {
        let mut names: Vec<&str> = self.stack[1..].iter().map(Frame::name).collect();
        names.push(name);
        names.join("/")
    }

    fn open(&mut self, row: &Row, kind: RowKind) {
        let name = self.name(row).unwrap_or_default();
        if matches!(kind, RowKind::BeginRepeat) {
            self.record_repeat_name(&name, row);
        }
        let label = self.texts(row, label_column);
        let logic = self.logic(row, None);
        let appearance = row.owned(&Field::Appearance);
        let group = || Group {
            name: name.clone(),
            label: label.clone(),
            logic: logic.clone(),
            appearance: appearance.clone(),
            children: vec![],
        };
        let head = match kind {
            RowKind::BeginRepeat => Head::Repeat(Repeat {
                name: name.clone(),
                label: label.clone(),
                logic: logic.clone(),
                repeat_count: self.expression(row, &Field::RepeatCount),
                appearance: appearance.clone(),
                children: vec![],
            }),
            RowKind::BeginLoop(list) => {
                self.check_list(row, &list);
                Head::Loop {
                    group: group(),
                    list,
                }
            }
            _ => Head::Group(group()),
        };
        self.stack.push(Frame {
            head,
            opened: Some(row.location(&Field::Type)),
            children: vec![],
            names: HashMap::new(),
        });
    }

    fn close(&mut self, row: &Row, block: Block, type_cell: &str) {
        if self.stack.len() == 1 {
            self.errors
                .push(row.error(&Field::Type, Problem::UnmatchedEnd(type_cell.to_string())));
            return;
        }
        let frame = self.stack.pop().expect("more than the root is open");
        if let (Some(open), Some(location)) = (frame.block(), &frame.opened) {
            if open != block {
                let problem = Problem::MismatchedEnd {
                    found: type_cell.to_string(),
                    open: open.noun(),
                    name: frame.name().to_string(),
                    opened_row: location.row,
                };
                self.errors.push(row.error(&Field::Type, problem));
            }
        }
        let item = self.item_of(frame);
        self.push(item);
    }

    fn item_of(&self, frame: Frame) -> Item {
        match frame.head {
            Head::Root => unreachable!("the root frame is never closed"),
            Head::Group(group) => Item::Group(Group {
                children: frame.children,
                ..group
            }),
            Head::Repeat(repeat) => Item::Repeat(Repeat {
                children: frame.children,
                ..repeat
            }),
            Head::Loop { group, list } => {
                let mut options = self.choices.get(&list).cloned().unwrap_or_default();
                if self.lists_with_other.contains(&list) {
                    super::loops::add_other_option(&mut options);
                }
                Item::Group(super::loops::expand(group, &options, &frame.children))
            }
        }
    }

    fn push(&mut self, item: Item) {
        self.stack
            .last_mut()
            .expect("the root frame stays")
            .children
            .push(item);
    }

    fn question(&mut self, row: &Row, kind: QuestionType, or_other: bool, implied: Option<&str>) {
        let name = self.name(row).unwrap_or_default();
        if let (true, QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list)) =
            (or_other, &kind)
        {
            self.lists_with_other.push(list.clone());
        }
        if let QuestionType::SelectOne(list)
        | QuestionType::SelectMultiple(list)
        | QuestionType::Rank(list) = &kind
        {
            self.check_list(row, list);
        }
        let question = Question {
            name,
            kind,
            label: self.texts(row, label_column),
            hint: self.texts(row, |f| match f {
                Field::Hint(language) => Some(language),
                _ => None,
            }),
            logic: self.logic(row, implied),
            calculation: self.expression(row, &Field::Calculation),
            default: self.default(row),
            choice_filter: self.expression(row, &Field::ChoiceFilter),
            or_other,
            appearance: row.owned(&Field::Appearance),
            parameters: row.owned(&Field::Parameters),
            media: row.media(),
            guidance_hint: self.texts(row, |f| match f {
                Field::GuidanceHint(language) => Some(language),
                _ => None,
            }),
            extra: row.others(),
        };
        self.check_parameters(row, &question);
        let other = question
            .or_other
            .then(|| self.specify_other(row, &question));
        self.push(Item::Question(question));
        if let Some(Some(other)) = other {
            self.push(Item::Question(other));
        }
    }

    /// An image question's `max-pixels` must be a whole number above zero (pyxform refuses
    /// anything else too), or photos would be stored at a size nobody chose.
    fn check_parameters(&mut self, row: &Row, question: &Question) {
        let Some(value) = question.parameter(MAX_PIXELS) else {
            return;
        };
        if matches!(question.kind, QuestionType::Image) && question.max_pixels().is_none() {
            let problem = Problem::InvalidParameter {
                name: MAX_PIXELS,
                value: value.to_owned(),
                expected: "a whole number of pixels above zero",
            };
            self.errors.push(row.error(&Field::Parameters, problem));
        }
    }

    /// The text question pyxform adds after an `or_other` select: `<name>_other`, labelled
    /// "Specify other.", shown while `other` is chosen (`selected(../<name>, 'other')`, as
    /// pyxform writes it: the sibling, also where the select's name is used in other groups). `None` (and a mistake noted) for an
    /// `or_other` with a `choice_filter`, which pyxform refuses, or on a type that is no select.
    fn specify_other(&mut self, row: &Row, select: &Question) -> Option<Question> {
        if !matches!(
            select.kind,
            QuestionType::SelectOne(_) | QuestionType::SelectMultiple(_)
        ) {
            return None;
        }
        if select.choice_filter.is_some() {
            self.errors
                .push(row.error(&Field::ChoiceFilter, Problem::OrOtherWithChoiceFilter));
            return None;
        }
        let name = format!("{}_other", select.name);
        self.record_name(&name, row.number, row);
        Some(Question {
            label: LocalizedText(
                [(
                    LocalizedText::NO_LANGUAGE.to_string(),
                    "Specify other.".to_string(),
                )]
                .into(),
            ),
            logic: Logic {
                relevant: Some(format!("selected(../{}, 'other')", select.name)),
                ..Logic::default()
            },
            ..Question::new(name, QuestionType::Text)
        })
    }

    fn check_list(&mut self, row: &Row, list: &str) {
        if !self.choices.contains_key(list) {
            self.errors
                .push(row.error(&Field::Type, Problem::UnknownChoiceList(list.to_string())));
        }
    }

    fn logic(&mut self, row: &Row, implied_constraint: Option<&str>) -> Logic {
        Logic {
            relevant: self.expression(row, &Field::Relevant),
            required: self.flag(row, &Field::Required),
            required_message: self.texts(row, |f| match f {
                Field::RequiredMessage(language) => Some(language),
                _ => None,
            }),
            constraint: self
                .expression(row, &Field::Constraint)
                .or(implied_constraint.map(String::from)),
            constraint_message: self.texts(row, |f| match f {
                Field::ConstraintMessage(language) => Some(language),
                _ => None,
            }),
            read_only: self.flag(row, &Field::ReadOnly),
        }
    }

    /// An expression cell, noted for checking once every name is known. `yes`/`no` and
    /// `TRUE`/`FALSE` (what a spreadsheet makes of a ticked box) become `true()`/`false()`, as
    /// pyxform does: as XPath they would name a question called `FALSE`.
    fn expression(&mut self, row: &Row, field: &Field) -> Option<String> {
        let source = row.owned(field)?;
        if let Some(flag) = yes_no(&source) {
            return Some(if flag { "true()" } else { "false()" }.to_string());
        }
        let item = row.owned(&Field::Name).unwrap_or_default();
        let column = engine_column(field);
        let location = row.location(field);
        self.survey.expressions.push(ExpressionCell {
            location,
            source: source.clone(),
            path: self.path_of(&item),
            item,
            column,
        });
        Some(source)
    }

    /// `required` and `read_only`: yes or no, or an expression. `no` means the column is unset.
    fn flag(&mut self, row: &Row, field: &Field) -> Option<String> {
        match row.get(field).map(yes_no) {
            None => None,
            Some(Some(true)) => Some("true()".into()),
            Some(Some(false)) => None,
            Some(None) => self.expression(row, field),
        }
    }

    /// `default`: a literal, unless it refers to other answers.
    fn default(&mut self, row: &Row) -> Option<String> {
        let value = row.owned(&Field::Default)?;
        if value.contains("${") {
            return self.expression(row, &Field::Default);
        }
        Some(value)
    }

    /// A translatable text; any `${name}` in it is noted for the reference check.
    fn texts(
        &mut self,
        row: &Row,
        pick: impl Fn(&Field) -> Option<&Option<String>> + Copy,
    ) -> LocalizedText {
        let texts = row.localized(pick);
        for (index, field) in row.columns.fields.iter().enumerate() {
            let Some((field, _)) = field else { continue };
            let Some(text) = pick(field).and(row.cells.get(index)) else {
                continue;
            };
            if text.contains("${") {
                let item = row.owned(&Field::Name).unwrap_or_default();
                let cell = ExpressionCell {
                    location: row.location(field),
                    source: text.clone(),
                    path: self.path_of(&item),
                    item,
                    column: None,
                };
                self.survey.expressions.push(cell);
            }
        }
        texts
    }

    fn finish(mut self) -> Survey {
        while self.stack.len() > 1 {
            let frame = self.stack.pop().expect("checked above");
            if let (Some(block), Some(location)) = (frame.block(), frame.opened.clone()) {
                let problem = Problem::UnclosedBlock {
                    kind: block.noun(),
                    name: frame.name().to_string(),
                };
                self.errors.push(ImportError {
                    location: Some(location),
                    problem,
                });
            }
            let item = self.item_of(frame);
            self.push(item);
        }
        let root = self.stack.pop().expect("the root frame stays");
        Survey {
            items: root.children,
            lists_with_other: self.lists_with_other,
            ..self.survey
        }
    }
}

/// The engine's name for an expression column.
fn engine_column(field: &Field) -> Option<crate::eval::Column> {
    use crate::eval::Column;
    Some(match field {
        Field::Relevant => Column::Relevant,
        Field::Required => Column::Required,
        Field::Constraint => Column::Constraint,
        Field::Calculation => Column::Calculation,
        Field::ReadOnly => Column::ReadOnly,
        Field::ChoiceFilter => Column::ChoiceFilter,
        Field::RepeatCount => Column::RepeatCount,
        Field::Default => Column::Default,
        _ => return None,
    })
}

fn label_column(field: &Field) -> Option<&Option<String>> {
    match field {
        Field::Label(language) => Some(language),
        _ => None,
    }
}

/// XML names, as XForms need them: a letter or `_` first, then letters, digits, `_`, `-`, `.`.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
