//! Turns a parsed expression into the form the evaluator runs: references resolved to items,
//! functions looked up and their argument counts checked, literal regexes compiled.

use super::compile::{CompiledForm, ItemKind};
use super::error::{Column, Problem};
use super::functions::{lookup, Function};
use super::scalar::Scalar;
use crate::expr::{BinaryOp, Expr, Path, PathStart, Step};

/// A resolved expression.
#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    Const(Scalar),
    /// The value of an item, resolved against the repeat instance being evaluated.
    Ref(usize),
    /// `.` where it means the stored answer (every column but `constraint`).
    CurrentAnswer,
    /// `.` in a `constraint`: the answer as checked (a calculation's result if it has one).
    CurrentValue,
    /// A column of the choice being filtered (`choice_filter` only).
    ChoiceColumn(String),
    Negate(Box<CExpr>),
    Binary(BinaryOp, Box<CExpr>, Box<CExpr>),
    Call(Function, Vec<CExpr>),
    /// `regex(s, 'literal')`, compiled once.
    Matches(Box<CExpr>, regex::Regex),
    /// `indexed-repeat(target, repeat, index, …)`.
    IndexedRepeat {
        target: usize,
        levels: Vec<(usize, CExpr)>,
    },
    /// `jr:choice-name(value, '${q}')`: the label of a choice of `q`'s list.
    ChoiceName {
        list: String,
        value: Box<CExpr>,
    },
}

/// Where an expression sits: which item's which column.
pub(crate) struct LowerContext<'a> {
    pub form: &'a CompiledForm,
    pub item: Option<usize>,
    pub column: Column,
}

impl LowerContext<'_> {
    pub(crate) fn item_name(&self) -> Option<&str> {
        self.item.map(|id| self.form.items[id].name.as_str())
    }
}

/// Resolves `expr`; on failure, every problem found.
pub(crate) fn lower(ctx: &LowerContext<'_>, expr: &Expr) -> Result<CExpr, Vec<Problem>> {
    let mut lowerer = Lowerer {
        ctx,
        problems: Vec::new(),
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
        match self.ctx.form.by_name.get(name) {
            Some(&id) => CExpr::Ref(id),
            None => self.fail(Problem::UnknownReference(name.to_string())),
        }
    }

    /// Paths name an item by their last step, since names are unique in a form; a bare name in
    /// a `choice_filter` is a column of the choices sheet.
    fn path(&mut self, path: &Path) -> CExpr {
        if let Some(column) = self.choice_column(path) {
            return column;
        }
        let unsupported = |what: &str| Problem::Unsupported(format!("{what} ('{path}')"));
        match &path.start {
            PathStart::Root | PathStart::Relative => {}
            PathStart::Expr(start) if matches!(start.as_ref(), Expr::Call(name, args) if name == "current" && args.is_empty()) =>
                {}
            PathStart::Expr(start) if matches!(start.as_ref(), Expr::Call(name, _) if name == "instance") =>
            {
                return self.fail(unsupported("instance() lookups"));
            }
            PathStart::Expr(_) => {
                return self.fail(unsupported("a path that starts with an expression"))
            }
        }
        let plain = path.steps.iter().all(|step| match step {
            Step::SelfNode | Step::Parent => true,
            Step::Child { predicates, .. } => predicates.is_empty(),
            _ => false,
        });
        match path.steps.last() {
            Some(Step::Child { name, .. }) if plain => self.reference(name),
            Some(Step::SelfNode) if plain && path.start != PathStart::Root => self.current(),
            _ => self.fail(unsupported("this path")),
        }
    }

    fn choice_column(&mut self, path: &Path) -> Option<CExpr> {
        if self.ctx.column != Column::ChoiceFilter || path.start != PathStart::Relative {
            return None;
        }
        let [Step::Child { name, predicates }] = path.steps.as_slice() else {
            return None;
        };
        if !predicates.is_empty() {
            return None;
        }
        let item = &self.ctx.form.items[self.ctx.item?];
        let choices = item
            .choice_list()
            .and_then(|list| self.ctx.form.form.choices.get(list));
        let known = name == "name"
            || name == "label"
            || choices.is_some_and(|choices| choices.iter().any(|c| c.extra.contains_key(name)));
        if known {
            Some(CExpr::ChoiceColumn(name.clone()))
        } else {
            Some(self.fail(Problem::UnknownChoiceColumn(name.clone())))
        }
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> CExpr {
        match name {
            "current" if args.is_empty() => return CExpr::CurrentAnswer,
            "jr:choice-name" => return self.choice_name(args),
            "indexed-repeat" => return self.indexed_repeat(args),
            "instance" => return self.fail(Problem::Unsupported("instance() lookups".into())),
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
        let Some(&id) = self.ctx.form.by_name.get(name) else {
            return self.fail(Problem::UnknownReference(name.to_string()));
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

impl CExpr {
    /// Calls `f` on this expression and every expression inside it.
    pub(crate) fn visit(&self, inside_indexed_repeat: bool, f: &mut impl FnMut(&CExpr, bool)) {
        f(self, inside_indexed_repeat);
        match self {
            CExpr::Negate(inner)
            | CExpr::Matches(inner, _)
            | CExpr::ChoiceName { value: inner, .. } => inner.visit(inside_indexed_repeat, f),
            CExpr::Binary(_, left, right) => {
                left.visit(inside_indexed_repeat, f);
                right.visit(inside_indexed_repeat, f);
            }
            CExpr::Call(_, args) => args.iter().for_each(|a| a.visit(inside_indexed_repeat, f)),
            CExpr::IndexedRepeat { target, levels } => {
                f(&CExpr::Ref(*target), true);
                levels
                    .iter()
                    .for_each(|(_, index)| index.visit(inside_indexed_repeat, f));
            }
            CExpr::Const(_)
            | CExpr::Ref(_)
            | CExpr::CurrentAnswer
            | CExpr::CurrentValue
            | CExpr::ChoiceColumn(_) => {}
        }
    }
}
