//! A compiled expression: what lowering makes of a parsed one (references resolved to items,
//! functions looked up), and what the evaluator runs. Knows no form: items are their numbers.

use super::functions::Function;
use super::scalar::Scalar;
use crate::expr::BinaryOp;

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
    /// A column of the choice being tested: by a `choice_filter`, or by a predicate of a
    /// [`CExpr::ChoiceLookup`].
    ChoiceColumn(String),
    /// A path naming nothing (a bare `null`, a column no choice has): XPath's empty node-set.
    NoNodes,
    /// `instance('list')/root/item[…]/column` (boxed: rare, and it keeps every `CExpr` small).
    ChoiceLookup(Box<ChoiceLookup>),
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

/// `instance('list')/root/item[predicates]/column` over one of the form's own choice lists: the
/// column's values of the choices every predicate holds for, in list order (a number as a
/// predicate picks by position, as in XPath). `label` is in the chosen language.
#[derive(Debug, Clone)]
pub(crate) struct ChoiceLookup {
    pub list: String,
    pub predicates: Vec<CExpr>,
    pub column: String,
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
            CExpr::ChoiceLookup(lookup) => lookup
                .predicates
                .iter()
                .for_each(|a| a.visit(inside_indexed_repeat, f)),
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
            | CExpr::ChoiceColumn(_)
            | CExpr::NoNodes => {}
        }
    }
}
