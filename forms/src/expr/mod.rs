//! XLSForm expressions: the syntax tree, the parser and a printer that reads back as the same tree.
//!
//! `parse` accepts XLSForm's syntax (`${name}` references, `.`, `and`/`or`, comparisons,
//! arithmetic with `div` and `mod`, literals, function calls) and the plain XPath paths that real
//! forms use (`/data/group/q`, `../q`, `current()/..`). Whether a path or a function is supported
//! is decided when a form is compiled, by the evaluator above this module, not here: the syntax
//! knows nothing of what uses it.

mod lexer;
mod parser;

use std::fmt;

/// Parses one expression. Costs one pass over the text.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    parser::parse(source)
}

/// A parse error: the byte offset (from 0) where it was found and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {position}: expected {expected}, found {found}")]
pub struct ParseError {
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl ParseError {
    pub(crate) fn new(
        position: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ParseError {
            position,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// An expression's syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Literal(String),
    /// `${name}`.
    Reference(String),
    /// `.`: the answer of the question the expression belongs to.
    Current,
    /// An XPath location path (`/data/q`, `../q`, a bare `name` in a `choice_filter`).
    Path(Path),
    /// Unary minus.
    Negate(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call; `name` keeps its prefix (`jr:choice-name`).
    Call(String, Vec<Expr>),
}

/// Binary operators, from the loosest binding to the tightest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// `|`, node-set union.
    Union,
}

impl BinaryOp {
    /// How tightly the operator binds, as the parser's levels do: `or` loosest (1), `|`
    /// tightest (8), a unary minus between `*` and `|`.
    fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
            BinaryOp::Union => 8,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "div",
            BinaryOp::Mod => "mod",
            BinaryOp::Union => "|",
        }
    }
}

/// A location path: where it starts, then its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub start: PathStart,
    pub steps: Vec<Step>,
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStart {
    /// `/…`: the document root.
    Root,
    /// `a/b`, `../a`: the context node.
    Relative,
    /// `current()/..`, `instance('x')/root/item`, `${rep}/q`: the node-set an expression yields.
    Expr(Box<Expr>),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `.`
    SelfNode,
    /// `..`
    Parent,
    /// `name` or `prefix:name`, with its predicates (`item[name = 'x']`).
    Child { name: String, predicates: Vec<Expr> },
    /// `*`
    AnyChild,
    /// `@name`
    Attribute(String),
    /// The empty step that `//` stands for (descendant-or-self).
    Descendants,
}

impl Expr {
    /// The names of every `${name}` reference, in order of appearance (repeats included).
    pub fn references(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit(&mut |expr| {
            if let Expr::Reference(name) = expr {
                names.push(name.as_str());
            }
        });
        names
    }

    /// Calls `f` on this expression and every expression inside it, parents first.
    pub fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Negate(inner) => inner.visit(f),
            Expr::Binary(_, left, right) => {
                left.visit(f);
                right.visit(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|arg| arg.visit(f)),
            Expr::Path(path) => {
                if let PathStart::Expr(start) = &path.start {
                    start.visit(f);
                }
                for step in &path.steps {
                    if let Step::Child { predicates, .. } = step {
                        predicates.iter().for_each(|p| p.visit(f));
                    }
                }
            }
            Expr::Number(_) | Expr::Literal(_) | Expr::Reference(_) | Expr::Current => {}
        }
    }
}

/// How tightly a unary minus binds: below `|`, above `*`.
const NEGATE_PRECEDENCE: u8 = 7;
/// Numbers, literals, references, paths and calls never need parentheses.
const ATOM_PRECEDENCE: u8 = 9;

impl Expr {
    /// How tightly the expression's outermost operation binds (higher binds tighter).
    fn precedence(&self) -> u8 {
        match self {
            Expr::Binary(op, ..) => op.precedence(),
            Expr::Negate(_) => NEGATE_PRECEDENCE,
            // A bare `/` followed by an operator would read the operator as a path step
            // (`/ div /a` is the path `/div/a`): as an operand it always goes in parentheses.
            Expr::Path(path) if path.start == PathStart::Root && path.steps.is_empty() => 0,
            _ => ATOM_PRECEDENCE,
        }
    }
}

/// Writes `expr`, in parentheses if it binds looser than `at_least`.
fn operand(f: &mut fmt::Formatter<'_>, expr: &Expr, at_least: u8) -> fmt::Result {
    if expr.precedence() < at_least {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

/// Prints with parentheses only where the tree needs them (binary operators associate to the
/// left), so that printing and parsing again gives back the same tree, and the printed text
/// never nests deeper than any source that parses to the tree: what parses prints back as
/// something that parses.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Literal(text) if text.contains('\'') => write!(f, "\"{text}\""),
            Expr::Literal(text) => write!(f, "'{text}'"),
            Expr::Reference(name) => write!(f, "${{{name}}}"),
            Expr::Current => write!(f, "."),
            Expr::Path(path) => write!(f, "{path}"),
            Expr::Negate(inner) => {
                write!(f, "-")?;
                operand(f, inner, NEGATE_PRECEDENCE)
            }
            Expr::Binary(op, left, right) => {
                operand(f, left, op.precedence())?;
                write!(f, " {} ", op.symbol())?;
                operand(f, right, op.precedence() + 1)
            }
            Expr::Call(name, args) => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                write!(f, ")")
            }
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.start {
            PathStart::Root => write!(f, "/")?,
            PathStart::Relative => {}
            PathStart::Expr(start) => match start.as_ref() {
                Expr::Call(..) | Expr::Reference(_) => write!(f, "{start}/")?,
                other => write!(f, "({other})/")?,
            },
        }
        for (i, step) in self.steps.iter().enumerate() {
            let follows_descendants = i > 0 && self.steps[i - 1] == Step::Descendants;
            if i > 0 && !follows_descendants {
                write!(f, "/")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SelfNode => write!(f, "."),
            Step::Parent => write!(f, ".."),
            Step::AnyChild => write!(f, "*"),
            Step::Attribute(name) => write!(f, "@{name}"),
            Step::Descendants => write!(f, "/"),
            Step::Child { name, predicates } => {
                write!(f, "{name}")?;
                predicates.iter().try_for_each(|p| write!(f, "[{p}]"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
