//! Runs one compiled expression for one item in one repeat instance, reading the values already
//! computed for the items it refers to.

use super::cexpr::{CExpr, ChoiceLookup};
use super::compiled::{CompiledForm, ItemKind};
use super::functions::{apply, Function};
use super::scalar::{compare, Scalar, XValue};
use super::state::Context;
use super::tree::{chain_of, shared_depth, Instance};
use crate::expr::BinaryOp;
use crate::model::Choice;

/// Everything an expression can see.
pub(crate) struct Evaluator<'a> {
    pub form: &'a CompiledForm,
    pub root: &'a Instance,
    pub context: &'a Context,
    /// The item whose column is evaluated (`None` for `instance_name`), and its instance path.
    pub item: Option<usize>,
    pub path: &'a [usize],
    /// The choice being tested by a `choice_filter`.
    pub choice: Option<&'a Choice>,
}

impl Evaluator<'_> {
    pub(crate) fn eval(&self, expr: &CExpr) -> XValue {
        match expr {
            CExpr::Const(value) => XValue::One(value.clone()),
            CExpr::Ref(id) => self.reference(*id),
            CExpr::CurrentAnswer => XValue::One(self.own_answer()),
            CExpr::CurrentValue => XValue::One(self.own_value()),
            CExpr::ChoiceColumn(column) => XValue::One(Scalar::Text(self.choice_column(column))),
            CExpr::NoNodes => XValue::Nodes(Vec::new()),
            CExpr::ChoiceLookup(lookup) => self.choice_lookup(lookup),
            CExpr::Negate(inner) => number(-self.eval(inner).to_number()),
            CExpr::Binary(op, left, right) => self.binary(*op, left, right),
            CExpr::Call(function, args) => self.call(*function, args),
            CExpr::Matches(subject, re) => boolean(re.is_match(&self.eval(subject).to_text())),
            CExpr::IndexedRepeat { target, levels } => self.indexed_repeat(*target, levels),
            CExpr::ChoiceName { list, value } => XValue::One(Scalar::Text(
                self.choice_label(list, &self.eval(value).to_text()),
            )),
        }
    }

    /// Evaluates to one value (the first node of a node-set).
    pub(crate) fn scalar(&self, expr: &CExpr) -> Scalar {
        self.eval(expr).first()
    }

    fn binary(&self, op: BinaryOp, left: &CExpr, right: &CExpr) -> XValue {
        match op {
            BinaryOp::Or => boolean(self.eval(left).to_bool() || self.eval(right).to_bool()),
            BinaryOp::And => boolean(self.eval(left).to_bool() && self.eval(right).to_bool()),
            BinaryOp::Union => {
                let mut nodes = self.eval(left).items().to_vec();
                nodes.extend_from_slice(self.eval(right).items());
                XValue::Nodes(nodes)
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => boolean(compare(op, &self.eval(left), &self.eval(right))),
            _ => {
                let (a, b) = (self.eval(left).to_number(), self.eval(right).to_number());
                number(match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    _ => a % b,
                })
            }
        }
    }

    fn call(&self, function: Function, args: &[CExpr]) -> XValue {
        match function {
            Function::If => {
                let branch = if self.eval(&args[0]).to_bool() {
                    &args[1]
                } else {
                    &args[2]
                };
                self.eval(branch)
            }
            Function::Once => {
                let stored = self.own_answer();
                if stored.is_empty() {
                    self.eval(&args[0])
                } else {
                    XValue::One(stored)
                }
            }
            Function::Position => number(self.path.last().map_or(1.0, |&p| (p + 1) as f64)),
            Function::Today => XValue::One(Scalar::Date(self.context.now.date_naive())),
            Function::Now => XValue::One(Scalar::DateTime(self.context.now)),
            Function::Uuid => XValue::One(Scalar::Text(match args.first() {
                None => uuid::Uuid::new_v4().to_string(),
                Some(length) => random_token(self.eval(length).to_number()),
            })),
            _ => {
                let values: Vec<XValue> = args.iter().map(|a| self.eval(a)).collect();
                let local = *self.context.now.offset();
                apply(function, &values, &XValue::One(self.own_answer()), local)
            }
        }
    }

    /// `${name}`: the value in the same repeat instance where the two share a repeat, else the
    /// values of every instance (a node-set).
    fn reference(&self, id: usize) -> XValue {
        let target = &self.form.items[id];
        let here = self.item.map_or(&[][..], |item| chain_of(self.form, item));
        let (chain, slot) = match target.kind {
            ItemKind::Repeat { scope, .. } => (&self.form.scopes[scope].chain[..], None),
            _ => (chain_of(self.form, id), Some(target.slot)),
        };
        let depth = shared_depth(here, chain);
        let value_in = |instance: &Instance| {
            slot.map_or_else(Scalar::default, |s| instance.cells[s].value.clone())
        };
        if depth == chain.len() {
            return XValue::One(
                self.root
                    .descend(self.form, chain, &self.path[..depth])
                    .map(value_in)
                    .unwrap_or_default(),
            );
        }
        let mut nodes = Vec::new();
        self.root
            .for_each_under(self.form, chain, &self.path[..depth], &mut |instance, _| {
                nodes.push(value_in(instance))
            });
        XValue::Nodes(nodes)
    }

    /// `indexed-repeat(${q}, ${repeat}, n, …)`: `q` in the n-th (from 1) instance of `repeat`;
    /// repeats not named keep the current instance, or the first.
    fn indexed_repeat(&self, target: usize, levels: &[(usize, CExpr)]) -> XValue {
        let here = self.item.map_or(&[][..], |item| chain_of(self.form, item));
        let chain = chain_of(self.form, target);
        let mut path = Vec::with_capacity(chain.len());
        for (level, &scope) in chain.iter().enumerate() {
            let named = levels
                .iter()
                .find(|(repeat, _)| self.form.scopes[scope].repeat == Some(*repeat));
            let position = match named {
                Some((_, index)) => {
                    let n = self.eval(index).to_number();
                    // Also refuses NaN (an empty index).
                    if n.is_nan() || n < 1.0 {
                        return XValue::One(Scalar::default());
                    }
                    n as usize - 1
                }
                None if here.get(level) == Some(&scope) => self.path[level],
                None => 0,
            };
            path.push(position);
        }
        let instance = self.root.descend(self.form, chain, &path);
        XValue::One(
            instance
                .map(|i| i.cells[self.form.items[target].slot].value.clone())
                .unwrap_or_default(),
        )
    }

    fn own_instance(&self) -> Option<(&Instance, usize)> {
        let item = self.item?;
        let instance = self
            .root
            .descend(self.form, chain_of(self.form, item), self.path)?;
        Some((instance, self.form.items[item].slot))
    }

    fn own_answer(&self) -> Scalar {
        self.own_instance()
            .and_then(|(instance, slot)| instance.answers[slot].as_ref().map(Scalar::from_value))
            .unwrap_or_default()
    }

    fn own_value(&self) -> Scalar {
        self.own_instance()
            .map(|(instance, slot)| instance.cells[slot].value.clone())
            .unwrap_or_default()
    }

    fn choice_column(&self, column: &str) -> String {
        let Some(choice) = self.choice else {
            return String::new();
        };
        match column {
            "name" => choice.name.clone(),
            "label" => self.label(&choice.label),
            other => choice.extra.get(other).cloned().unwrap_or_default(),
        }
    }

    /// The `column` of every choice of `list` that passes the predicates, each predicate
    /// applied to what the ones before it kept (so that a position counts among those).
    fn choice_lookup(&self, lookup: &ChoiceLookup) -> XValue {
        let ChoiceLookup {
            list,
            predicates,
            column,
        } = lookup;
        let mut kept: Vec<&Choice> = self
            .form
            .list(list)
            .map_or_else(Vec::new, |c| c.iter().collect());
        for predicate in predicates {
            let mut position = 0.0;
            kept.retain(|choice| {
                position += 1.0;
                match (Evaluator {
                    choice: Some(choice),
                    ..*self
                })
                .eval(predicate)
                {
                    XValue::One(Scalar::Number(n)) => n == position,
                    value => value.to_bool(),
                }
            });
        }
        let values = kept.into_iter().map(|choice| {
            Scalar::Text(
                Evaluator {
                    choice: Some(choice),
                    ..*self
                }
                .choice_column(column),
            )
        });
        XValue::Nodes(values.collect())
    }

    fn choice_label(&self, list: &str, name: &str) -> String {
        let choices = self.form.list(list).unwrap_or(&[]);
        choices
            .iter()
            .find(|c| c.name == name)
            .map(|c| self.label(&c.label))
            .unwrap_or_default()
    }

    fn label(&self, text: &crate::model::LocalizedText) -> String {
        let fallback = self.form.form.default_language.as_deref();
        text.get(self.context.language.as_deref(), fallback)
            .unwrap_or_default()
            .to_string()
    }
}

/// `uuid(n)`: `n` random letters and digits, as JavaRosa's `PropertyUtils.genGUID(n)` gives.
/// Cost: O(n); at most 1,000 characters (a longer request is cut there).
fn random_token(length: f64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let wanted = if length.is_nan() {
        0
    } else {
        length.clamp(0.0, 1000.0) as usize
    };
    let mut token = String::with_capacity(wanted);
    while token.len() < wanted {
        // The 14 random bytes of a v4 UUID (bytes 6 and 8 carry its version and variant), each
        // picking one of 62 characters (a slight bias is harmless for an identifier).
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let random = bytes.iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8);
        token.extend(
            random
                .take(wanted - token.len())
                .map(|(_, b)| ALPHABET[usize::from(*b) % ALPHABET.len()] as char),
        );
    }
    token
}

fn number(n: f64) -> XValue {
    XValue::One(Scalar::Number(n))
}

fn boolean(b: bool) -> XValue {
    XValue::One(Scalar::Boolean(b))
}

#[cfg(test)]
mod tests {
    use crate::eval::testing::{form, question, repeat, session};
    use crate::eval::{compile, ItemPath};
    use crate::value::Value;
    use proptest::prelude::*;
    use serde_json::json;

    const LEAVES: &[&str] = &[
        "${n}",
        "${t}",
        "${day}",
        "${x}",
        "${r}",
        ".",
        "1",
        "0",
        // In parentheses: XPath's `|` joins paths, and `${n} | -3.5` does not parse.
        "(-3.5)",
        "'1e3'",
        "'a'",
        "''",
        "'2024-02-30'",
        "'2024-01-31T23:59:59Z'",
        "position(..)",
        "today()",
        "now()",
        "true()",
        "0 div 0",
        "1 div 0",
    ];
    const OPERATORS: &[&str] = &[
        "+", "-", "*", "div", "mod", "and", "or", "=", "!=", "<", ">=", "|",
    ];
    /// Functions with the number of arguments given to them.
    const FUNCTIONS: &[(&str, usize)] = &[
        ("selected", 2),
        ("concat", 3),
        ("substr", 3),
        ("substring", 2),
        ("round", 2),
        ("date", 1),
        ("format-date", 2),
        ("if", 3),
        ("sum", 1),
        ("count", 1),
        ("max", 2),
        ("min", 1),
        ("regex", 2),
        ("pow", 2),
        ("int", 1),
        ("translate", 3),
        ("selected-at", 2),
        ("decimal-date-time", 1),
        ("once", 1),
        ("coalesce", 2),
        ("number", 1),
        ("not", 1),
        ("string-length", 1),
        ("normalize-space", 1),
        ("join", 2),
        ("count-selected", 1),
        ("boolean-from-string", 1),
        ("log", 1),
        ("exp", 1),
    ];

    /// Random well-formed expressions over the test form's questions.
    fn expression() -> impl Strategy<Value = String> {
        let leaf = proptest::sample::select(LEAVES).prop_map(str::to_string);
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (
                    inner.clone(),
                    proptest::sample::select(OPERATORS),
                    inner.clone()
                )
                    .prop_map(|(l, op, r)| format!("({l} {op} {r})")),
                (
                    proptest::sample::select(FUNCTIONS),
                    proptest::collection::vec(inner.clone(), 3)
                )
                    .prop_map(|((name, count), args)| format!(
                        "{name}({})",
                        args[..count].join(", ")
                    )),
                inner
                    .clone()
                    .prop_map(|e| format!("indexed-repeat(${{x}}, ${{r}}, {e})")),
                inner.prop_map(|e| format!("(-{e})")),
            ]
        })
    }

    fn value(expression: &str, t: &str) -> String {
        let answers = [("t", Value::Text(t.into()))];
        crate::eval::testing::evaluate(expression, &answers).to_text()
    }

    #[test]
    fn lookups_into_the_forms_own_choice_lists() {
        let label = "instance('colours')/root/item[name = ${t}]/label";
        assert_eq!(value(label, "red"), "Red");
        assert_eq!(value(label, "green"), "");
        assert_eq!(
            value(
                "jr:itext(instance('colours')/root/item[name = ${t}]/itextId)",
                "blue"
            ),
            "Blue"
        );
        assert_eq!(value("instance('colours')/root/item[2]/name", ""), "blue");
        assert_eq!(
            value("instance('colours')/root/item[name != 'red'][1]/name", ""),
            "blue",
            "a position counts among what the predicates before it kept"
        );
        assert_eq!(
            value(
                "instance('colours')/root/item[name != ${t} and label = 'Red']/name",
                "blue"
            ),
            "red"
        );
        assert_eq!(
            value("count(instance('colours')/root/item[true()]/name)", ""),
            "2"
        );
        assert_eq!(
            value("count(instance('colours')/root/item[1]/nope)", ""),
            "0"
        );
    }

    #[test]
    fn a_bare_name_naming_nothing_is_empty_as_in_xpath() {
        assert_eq!(value("if(${t} = 'x', 1, null)", "y"), "");
        assert_eq!(value("count(null)", ""), "0");
    }

    #[test]
    fn a_lookup_is_recomputed_when_its_predicate_changes() {
        let survey = vec![
            question("t", "text", json!({})),
            question(
                "shown",
                "calculate",
                json!({"calculation": "instance('colours')/root/item[name = ${t}]/label"}),
            ),
            question(
                "pastel",
                "select_one:colours",
                json!({"choice_filter": "pastel = yes"}),
            ),
        ];
        let choices = json!({"colours": [
            {"name": "red", "label": {"English (en)": "Red"}, "extra": {"pastel": "no"}},
            {"name": "pink", "label": {"English (en)": "Pink"}, "extra": {"pastel": "yes"}},
        ]});
        let mut session = session(&form(survey, choices), &[("t", Value::Text("red".into()))]);
        let shown = ItemPath::top("shown");
        assert_eq!(session.item(&shown).unwrap().value.to_text(), "Red");
        let delta = session
            .set(&ItemPath::top("t"), Some(Value::Text("pink".into())))
            .unwrap();
        assert!(delta.changed.contains(&shown), "{delta:?}");
        assert_eq!(session.item(&shown).unwrap().value.to_text(), "Pink");
        // `yes` is no column: XPath reads it as a child that is not there, so nothing matches.
        let pastel = session.item(&ItemPath::top("pastel")).unwrap();
        assert_eq!(pastel.choices.as_deref(), Some(&[][..]));
    }

    proptest! {
        #[test]
        fn any_expression_evaluates_without_panicking(expression in expression()) {
            let calculate = |name: &str| question(name, "calculate", json!({"calculation": expression.clone()}));
            let survey = vec![
                question("n", "integer", json!({})),
                question("t", "text", json!({})),
                question("day", "date", json!({})),
                repeat("r", json!({}), vec![question("x", "decimal", json!({})), calculate("inner")]),
                calculate("outer"),
            ];
            let form = form(survey, json!({}));
            let compiled = compile(&form);
            prop_assert!(compiled.is_ok(), "{}: {:?}", expression, compiled.err());
            let mut session = session(&form, &[("n", Value::Integer(7)), ("t", Value::Text("a b".into()))]);
            session.add_instance(&ItemPath::top("r"), "i1").unwrap();
            session.set(&ItemPath::top("").inside("r", "i1", "x"), Some(Value::Decimal(1e300))).unwrap();
            prop_assert!(session.item(&ItemPath::top("outer")).is_some());
        }
    }
}
