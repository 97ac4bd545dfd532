//! Turns a parsed expression into the form the evaluator runs: references resolved to items,
//! functions looked up and their argument counts checked, literal regexes compiled.

use super::cexpr::{CExpr, ChoiceLookup};
use super::compiled::{CompiledForm, ItemKind};
use super::error::{Column, CompileError, Problem};
use super::functions::{lookup, Function};
use super::scalar::Scalar;
use crate::expr::{BinaryOp, Expr, Path, PathStart, Step};

/// Where an expression sits: which item's which column.
pub(crate) struct LowerContext<'a> {
    pub form: &'a CompiledForm,
    pub item: Option<usize>,
    pub column: Column,
}

impl LowerContext<'_> {
    /// The item's key (its name unless the name is used in different groups).
    pub(crate) fn item_name(&self) -> Option<&str> {
        self.item.map(|id| self.form.items[id].key.as_str())
    }

    /// `problem` as an error at this item and column.
    pub(crate) fn error(&self, problem: Problem) -> CompileError {
        CompileError {
            item: self.item_name().map(str::to_string),
            column: self.column,
            problem,
        }
    }
}

/// Resolves `expr`; on failure, every problem found.
pub(crate) fn lower(ctx: &LowerContext<'_>, expr: &Expr) -> Result<CExpr, Vec<Problem>> {
    let filtered_list = match ctx.column {
        Column::ChoiceFilter => ctx.item.and_then(|id| ctx.form.items[id].choice_list()),
        _ => None,
    };
    let mut lowerer = Lowerer {
        ctx,
        problems: Vec::new(),
        choice_list: filtered_list.map(str::to_string),
    };
    let lowered = lowerer.expr(expr);
    if lowerer.problems.is_empty() {
        Ok(lowered)
    } else {
        Err(lowerer.problems)
    }
}

struct Lowerer<'a, 'b> {
    ctx: &'a LowerContext<'b>,
    problems: Vec<Problem>,
    /// The choice list whose columns a bare name reads: the filtered select's in a
    /// `choice_filter`, the looked-up list's inside an `instance()` predicate.
    choice_list: Option<String>,
}

/// Stands in for a part that failed, so that lowering goes on and finds every problem.
const INVALID: CExpr = CExpr::Const(Scalar::Boolean(false));

impl Lowerer<'_, '_> {
    fn fail(&mut self, problem: Problem) -> CExpr {
        self.problems.push(problem);
        INVALID
    }

    fn expr(&mut self, expr: &Expr) -> CExpr {
        match expr {
            Expr::Number(n) => CExpr::Const(Scalar::Number(*n)),
            Expr::Literal(text) => CExpr::Const(Scalar::Text(text.clone())),
            Expr::Reference(name) => self.reference(name),
            Expr::Current => self.current(),
            Expr::Path(path) => self.path(path),
            Expr::Negate(inner) => CExpr::Negate(Box::new(self.expr(inner))),
            Expr::Binary(op, left, right) => {
                CExpr::Binary(*op, Box::new(self.expr(left)), Box::new(self.expr(right)))
            }
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    fn current(&self) -> CExpr {
        if self.ctx.column == Column::Constraint {
            CExpr::CurrentValue
        } else {
            CExpr::CurrentAnswer
        }
    }

    fn reference(&mut self, name: &str) -> CExpr {
        match self.ctx.form.by_name.get(name).map(Vec::as_slice) {
            Some(&[id]) => CExpr::Ref(id),
            Some([_, _, ..]) => self.fail(Problem::AmbiguousReference(name.to_string())),
            _ => self.fail(Problem::UnknownReference(name.to_string())),
        }
    }

    /// A path to a name several items carry, where the path tells which: `../name` (a sibling
    /// of the item, as pyxform writes `or_other`'s question) or `/root/group/name` (by key).
    fn disambiguated(&self, path: &Path, name: &str) -> Option<CExpr> {
        let form = self.ctx.form;
        if form.by_name.get(name).is_none_or(|items| items.len() < 2) {
            return None;
        }
        let names: Vec<&str> = path
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Child { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let id = match (&path.start, path.steps.first()) {
            (PathStart::Root, _) => *form.by_key.get(&names[1.min(names.len())..].join("/"))?,
            (_, Some(Step::Parent)) if path.steps.len() == 2 => {
                let parent = form.items[self.ctx.item?].parent;
                *form.by_name[name]
                    .iter()
                    .find(|&&id| form.items[id].parent == parent)?
            }
            _ => return None,
        };
        Some(CExpr::Ref(id))
    }

    /// Paths name an item by their last step (by the whole path, or as `../name`, where the
    /// name is used in several groups); a bare name in
    /// a `choice_filter` (or an `instance()` predicate) is a column of the choice list, and a
    /// bare name that is neither reads, as in XPath, as a child that is not there: empty.
    fn path(&mut self, path: &Path) -> CExpr {
        if let Some(column) = self.choice_column(path) {
            return column;
        }
        let unsupported = |what: &str| Problem::Unsupported(format!("{what} ('{path}')"));
        match &path.start {
            PathStart::Root | PathStart::Relative => {}
            PathStart::Expr(start) if matches!(start.as_ref(), Expr::Call(name, args) if name == "current" && args.is_empty()) =>
                {}
            PathStart::Expr(start) => {
                return match start.as_ref() {
                    Expr::Call(name, args) if name == "instance" => {
                        self.instance_lookup(args, &path.steps, false)
                    }
                    _ => self.fail(unsupported("a path that starts with an expression")),
                };
            }
        }
        let plain = path.steps.iter().all(|step| match step {
            Step::SelfNode | Step::Parent => true,
            Step::Child { predicates, .. } => predicates.is_empty(),
            _ => false,
        });
        match path.steps.last() {
            Some(Step::Child { name, .. })
                if plain
                    && path.start == PathStart::Relative
                    && path.steps.len() == 1
                    && !self.ctx.form.by_name.contains_key(name) =>
            {
                CExpr::NoNodes
            }
            Some(Step::Child { name, .. }) if plain => self
                .disambiguated(path, name)
                .unwrap_or_else(|| self.reference(name)),
            Some(Step::SelfNode) if plain && path.start != PathStart::Root => self.current(),
            _ => self.fail(unsupported("this path")),
        }
    }

    fn choice_column(&mut self, path: &Path) -> Option<CExpr> {
        let list = self.choice_list.as_deref()?;
        if path.start != PathStart::Relative {
            return None;
        }
        let [Step::Child { name, predicates }] = path.steps.as_slice() else {
            return None;
        };
        if !predicates.is_empty() {
            return None;
        }
        Some(if self.is_choice_column(list, name) {
            CExpr::ChoiceColumn(name.clone())
        } else {
            CExpr::NoNodes
        })
    }

    fn is_choice_column(&self, list: &str, name: &str) -> bool {
        let choices = self.ctx.form.list(list);
        name == "name"
            || name == "label"
            || choices.is_some_and(|choices| choices.iter().any(|c| c.extra.contains_key(name)))
    }

    /// `instance('list')/root/item[…]/column` over one of the form's choice lists. With
    /// `itext_label`, the path ends in `itextId` (as inside `jr:itext()`) and gives the label.
    fn instance_lookup(&mut self, args: &[Expr], steps: &[Step], itext_label: bool) -> CExpr {
        let [Expr::Literal(list)] = args else {
            return self.fail(Problem::Unsupported(
                "instance() with anything but a quoted name".into(),
            ));
        };
        if self.ctx.form.list(list).is_none() {
            return self.fail(Problem::Unsupported(format!(
                "instance('{list}'), which is no choice list of this form nor a list file it declares"
            )));
        }
        let shape = match steps {
            [Step::Child {
                name: root,
                predicates: none,
            }, Step::Child {
                name: item,
                predicates,
            }, Step::Child {
                name: column,
                predicates: none_either,
            }] if root == "root" && item == "item" && none.is_empty() && none_either.is_empty() => {
                Some((predicates, column))
            }
            _ => None,
        };
        let Some((predicates, column)) = shape else {
            return self.fail(Problem::Unsupported(format!(
                "a path into instance('{list}') other than instance('{list}')/root/item[…]/column"
            )));
        };
        let column = match (itext_label, column.as_str()) {
            (true, "itextId") => "label",
            (true, _) => return self.fail(jr_itext_unsupported()),
            (false, column) if self.is_choice_column(list, column) => column,
            (false, _) => return CExpr::NoNodes,
        };
        let outer = self.choice_list.replace(list.clone());
        let predicates = predicates.iter().map(|p| self.expr(p)).collect();
        self.choice_list = outer;
        CExpr::ChoiceLookup(Box::new(ChoiceLookup {
            list: list.clone(),
            predicates,
            column: column.to_string(),
        }))
    }

    /// `pulldata('list', 'column', 'key column', key)`: the `column` of the first row of the
    /// list file whose `key column` equals `key`, which is
    /// `instance('list')/root/item[key column = key]/column` (ODK's own definition of it).
    fn pulldata(&mut self, args: &[Expr]) -> CExpr {
        let [Expr::Literal(list), Expr::Literal(column), Expr::Literal(key_column), key] = args
        else {
            return self.fail(Problem::Unsupported(
                "pulldata() other than pulldata('list', 'column', 'key column', key)".into(),
            ));
        };
        if self.ctx.form.list(list).is_none() {
            return self.fail(Problem::Unsupported(format!(
                "pulldata('{list}', …), which names no list file of this form"
            )));
        }
        let key = self.expr(key);
        let column = if self.is_choice_column(list, column) {
            column.clone()
        } else {
            return CExpr::NoNodes;
        };
        let matches = CExpr::Binary(
            BinaryOp::Eq,
            Box::new(CExpr::ChoiceColumn(key_column.clone())),
            Box::new(key),
        );
        CExpr::ChoiceLookup(Box::new(ChoiceLookup {
            list: list.clone(),
            predicates: vec![matches, CExpr::Const(Scalar::Number(1.0))],
            column,
        }))
    }

    /// `jr:itext(instance('list')/root/item[…]/itextId)`: the label of the choice found, in the
    /// chosen language (pyxform writes that for a choice's translated label).
    fn itext(&mut self, args: &[Expr]) -> CExpr {
        if let [Expr::Path(Path {
            start: PathStart::Expr(start),
            steps,
        })] = args
        {
            if let Expr::Call(name, instance_args) = start.as_ref() {
                if name == "instance" {
                    return self.instance_lookup(instance_args, steps, true);
                }
            }
        }
        self.fail(jr_itext_unsupported())
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> CExpr {
        match name {
            "current" if args.is_empty() => return CExpr::CurrentAnswer,
            "jr:choice-name" => return self.choice_name(args),
            "indexed-repeat" => return self.indexed_repeat(args),
            "jr:itext" => return self.itext(args),
            "instance" => {
                return self.fail(Problem::Unsupported(
                    "instance() other than instance('list')/root/item[…]/column".into(),
                ))
            }
            "pulldata" => return self.pulldata(args),
            _ => {}
        }
        let Some((function, least, most)) = lookup(name) else {
            return self.fail(Problem::UnknownFunction(name.to_string()));
        };
        if args.len() < least || args.len() > most {
            return self.fail(wrong_count(name, least, most, args.len()));
        }
        if function == Function::Position {
            // position(..) and position(): the instance's place in its repeat.
            return CExpr::Call(Function::Position, Vec::new());
        }
        if let (Function::Regex, [subject, Expr::Literal(pattern)]) = (function, args) {
            return match regex::Regex::new(pattern) {
                Ok(re) => CExpr::Matches(Box::new(self.expr(subject)), re),
                Err(e) => self.fail(Problem::InvalidRegex(e.to_string())),
            };
        }
        CExpr::Call(function, args.iter().map(|a| self.expr(a)).collect())
    }

    fn choice_name(&mut self, args: &[Expr]) -> CExpr {
        let [value, Expr::Literal(question)] = args else {
            return self.fail(Problem::Unsupported(
                "jr:choice-name() other than jr:choice-name(value, '${question}')".into(),
            ));
        };
        let name = question
            .trim()
            .trim_start_matches("${")
            .trim_end_matches('}');
        let name = name.rsplit('/').next().unwrap_or(name);
        let CExpr::Ref(id) = self.reference(name) else {
            return INVALID;
        };
        match self.ctx.form.items[id].choice_list() {
            Some(list) => CExpr::ChoiceName {
                list: list.to_string(),
                value: Box::new(self.expr(value)),
            },
            None => self.fail(Problem::Unsupported(format!(
                "jr:choice-name() of '{name}', which is not a select"
            ))),
        }
    }

    fn indexed_repeat(&mut self, args: &[Expr]) -> CExpr {
        if args.len() < 3 || args.len().is_multiple_of(2) {
            return self.fail(wrong_count("indexed-repeat", 3, usize::MAX, args.len()));
        }
        let CExpr::Ref(target) = self.expr(&args[0]) else {
            return self.fail(Problem::Unsupported(
                "indexed-repeat() of something other than a question".into(),
            ));
        };
        let mut levels = Vec::new();
        for pair in args[1..].chunks(2) {
            match self.expr(&pair[0]) {
                CExpr::Ref(repeat)
                    if matches!(self.ctx.form.items[repeat].kind, ItemKind::Repeat { .. }) =>
                {
                    levels.push((repeat, self.expr(&pair[1])));
                }
                CExpr::Ref(other) => {
                    let name = self.ctx.form.items[other].name.clone();
                    return self.fail(Problem::Unsupported(format!(
                        "indexed-repeat() over '{name}', which is not a repeat"
                    )));
                }
                _ => return INVALID,
            }
        }
        CExpr::IndexedRepeat { target, levels }
    }
}

/// Only a choice's label has an id to look up: Minga's model gives its other texts none.
fn jr_itext_unsupported() -> Problem {
    Problem::Unsupported(
        "jr:itext() of anything but instance('list')/root/item[…]/itextId (only a choice's label has an id)"
            .into(),
    )
}

fn wrong_count(function: &str, least: usize, most: usize, found: usize) -> Problem {
    let expected = match (least, most) {
        (l, m) if l == m => l.to_string(),
        (l, usize::MAX) => format!("at least {l}"),
        (l, m) => format!("{l} to {m}"),
    };
    Problem::WrongArgumentCount {
        function: function.to_string(),
        expected,
        found,
    }
}
