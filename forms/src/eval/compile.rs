//! Compiling a form once: every item flattened with its place (group, repeat), every expression
//! parsed and resolved to items, and the dependency graph ordered, with cycles reported.

use super::cexpr::CExpr;
use super::compiled::{Columns, CompiledForm, ItemInfo, ItemKind, ScopeInfo};
use super::dependencies::graph_of;
use super::error::{Column, CompileError, Problem};
use super::graph::Graph;
use super::labels::Template;
use super::lower::{lower, LowerContext};
use super::scalar::Scalar;
use crate::answers::AnswerKeys;
use crate::expr;
use crate::media::{list_name, media_named, ExternalLists};
use crate::model::{Form, Item, LocalizedText, Logic, QuestionType};
use std::collections::HashMap;

/// The expression sources of one item, kept while the form is flattened.
struct Sources<'a> {
    logic: &'a Logic,
    label: &'a LocalizedText,
    hint: Option<&'a LocalizedText>,
    calculation: Option<&'a str>,
    default: Option<&'a str>,
    choice_filter: Option<&'a str>,
    repeat_count: Option<&'a str>,
}

/// Compiles `form`: parses every expression, resolves every reference, orders the dependency
/// graph. Reports every mistake found, not only the first. The form's list files read as
/// empty lists: [`compile_with_lists`] gives them.
pub fn compile(form: &Form) -> Result<CompiledForm, Vec<CompileError>> {
    compile_with_lists(form, ExternalLists::new())
}

/// Compiles `form` as [`compile`] does, with the lists its list files hold (`lists`, by list
/// name, as [`crate::media::read_list`] reads them): what `select_one_from_file` offers and
/// `instance('list')` paths and `pulldata('list', …)` read. A list file the form declares
/// and `lists` lacks is an empty list (the form still compiles: a hub or an export that has
/// no media evaluates the rest). Cost: as `compile`, plus moving the lists in.
pub fn compile_with_lists(
    form: &Form,
    mut lists: ExternalLists,
) -> Result<CompiledForm, Vec<CompileError>> {
    for declared in media_named(form) {
        if let Some(list) = list_name(&declared.file) {
            lists.entry(list.to_string()).or_default();
        }
    }
    let mut builder = Builder {
        items: Vec::new(),
        scopes: vec![ScopeInfo::default()],
        sources: Vec::new(),
        errors: Vec::new(),
    };
    builder.flatten(&form.survey, None, 0);
    let (by_name, by_key) = index_items(form, &mut builder.items, &mut builder.errors);
    let mut compiled = CompiledForm {
        form: form.clone(),
        items: builder.items,
        by_key,
        by_name,
        scopes: builder.scopes,
        instance_name: None,
        choice_labels: HashMap::new(),
        external: lists,
        graph: Graph::default(),
    };
    let mut errors = builder.errors;
    lower_columns(&mut compiled, &builder.sources, &mut errors);
    compiled.choice_labels = compile_choice_labels(&compiled, &mut errors);
    compiled.instance_name = form.instance_name.as_deref().and_then(|source| {
        let ctx = LowerContext {
            form: &compiled,
            item: None,
            column: Column::InstanceName,
        };
        compile_column(&ctx, source, &mut errors)
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    match graph_of(&compiled) {
        Ok(graph) => {
            compiled.graph = graph;
            Ok(compiled)
        }
        Err(cycles) => Err(cycles),
    }
}

struct Builder<'a> {
    items: Vec<ItemInfo>,
    scopes: Vec<ScopeInfo>,
    sources: Vec<Sources<'a>>,
    errors: Vec<CompileError>,
}

impl<'a> Builder<'a> {
    fn flatten(&mut self, items: &'a [Item], parent: Option<usize>, scope: usize) {
        for item in items {
            let id = self.items.len();
            let (name, logic, kind, children) = match item {
                Item::Question(q) => (&q.name, &q.logic, ItemKind::Question(q.kind.clone()), None),
                Item::Group(g) => (&g.name, &g.logic, ItemKind::Group, Some(&g.children)),
                Item::Repeat(r) => {
                    let child_scope = self.scopes.len();
                    let mut chain = self.scopes[scope].chain.clone();
                    chain.push(child_scope);
                    self.scopes.push(ScopeInfo {
                        repeat: Some(id),
                        chain,
                        ..ScopeInfo::default()
                    });
                    let slot = self.scopes[scope].repeats.len();
                    self.scopes[scope].repeats.push(id);
                    (
                        &r.name,
                        &r.logic,
                        ItemKind::Repeat {
                            scope: child_scope,
                            slot,
                        },
                        Some(&r.children),
                    )
                }
            };
            let slot = self.scopes[scope].items.len();
            self.scopes[scope].items.push(id);
            let child_scope = match kind {
                ItemKind::Repeat { scope: s, .. } => s,
                _ => scope,
            };
            self.items.push(ItemInfo {
                name: name.clone(),
                key: String::new(),
                kind,
                parent,
                scope,
                slot,
                columns: Columns::default(),
                required_message: logic.required_message.clone(),
                constraint_message: logic.constraint_message.clone(),
            });
            self.sources.push(sources_of(item, logic));
            if let Some(children) = children {
                self.flatten(children, Some(id), child_scope);
            }
        }
    }
}

/// Gives every item its key and indexes the items by name and by key. Two items with one key
/// (the same name in the same group) and two repeats of one name are refused, as pyxform
/// refuses them.
fn index_items(
    form: &Form,
    items: &mut [ItemInfo],
    errors: &mut Vec<CompileError>,
) -> (HashMap<String, Vec<usize>>, HashMap<String, usize>) {
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (id, item) in items.iter().enumerate() {
        by_name.entry(item.name.clone()).or_default().push(id);
    }
    for (id, key) in answer_keys(form, items) {
        items[id].key = key;
    }
    let mut by_key = HashMap::new();
    for (id, item) in items.iter().enumerate() {
        let is_repeat = |id: &usize| matches!(items[*id].kind, ItemKind::Repeat { .. });
        let shared_repeat_name =
            is_repeat(&id) && by_name[&item.name].iter().filter(|i| is_repeat(i)).count() > 1;
        if by_key.insert(item.key.clone(), id).is_some() || shared_repeat_name {
            errors.push(CompileError {
                item: Some(item.key.clone()),
                column: Column::Name,
                problem: Problem::DuplicateName,
            });
        }
    }
    (by_name, by_key)
}

/// Each item's key, by [`AnswerKeys`]: its name when no other item carries it, else its path.
/// Keeping unique names as they are keeps every form without repeated names stored exactly as
/// before; only the repeated ones need their groups to tell them apart.
fn answer_keys(form: &Form, items: &[ItemInfo]) -> Vec<(usize, String)> {
    let keys = AnswerKeys::of(form);
    items
        .iter()
        .enumerate()
        .map(|(id, item)| {
            let mut parents = Vec::new();
            let mut at = item.parent;
            while let Some(parent) = at {
                parents.push(items[parent].name.as_str());
                at = items[parent].parent;
            }
            parents.reverse();
            (id, keys.key(&parents, &item.name))
        })
        .collect()
}

fn sources_of<'a>(item: &'a Item, logic: &'a Logic) -> Sources<'a> {
    let label = match item {
        Item::Question(q) => &q.label,
        Item::Group(g) => &g.label,
        Item::Repeat(r) => &r.label,
    };
    let mut sources = Sources {
        logic,
        label,
        hint: None,
        calculation: None,
        default: None,
        choice_filter: None,
        repeat_count: None,
    };
    match item {
        Item::Question(q) => {
            sources.calculation = q.calculation.as_deref();
            sources.default = q.default.as_deref();
            sources.choice_filter = q.choice_filter.as_deref();
            sources.hint = Some(&q.hint);
        }
        Item::Repeat(r) => sources.repeat_count = r.repeat_count.as_deref(),
        Item::Group(_) => {}
    }
    sources
}

fn lower_columns(
    compiled: &mut CompiledForm,
    sources: &[Sources<'_>],
    errors: &mut Vec<CompileError>,
) {
    let mut all = Vec::with_capacity(sources.len());
    for (id, source) in sources.iter().enumerate() {
        let ctx = |column| LowerContext {
            form: compiled,
            item: Some(id),
            column,
        };
        let logic = source.logic;
        let columns = Columns {
            relevant: compile_opt(&ctx(Column::Relevant), logic.relevant.as_deref(), errors),
            required: compile_flag(&ctx(Column::Required), logic.required.as_deref(), errors),
            constraint: compile_opt(
                &ctx(Column::Constraint),
                logic.constraint.as_deref(),
                errors,
            ),
            calculation: compile_opt(&ctx(Column::Calculation), source.calculation, errors),
            read_only: compile_flag(&ctx(Column::ReadOnly), logic.read_only.as_deref(), errors),
            choice_filter: compile_choice_filter(
                &ctx(Column::ChoiceFilter),
                source.choice_filter,
                errors,
            ),
            repeat_count: compile_opt(&ctx(Column::RepeatCount), source.repeat_count, errors),
            default: source
                .default
                .and_then(|d| compile_default(&ctx(Column::Default), d, errors)),
            label: compile_text(&ctx(Column::Label), source.label, errors),
            hint: source
                .hint
                .and_then(|hint| compile_text(&ctx(Column::Hint), hint, errors)),
        };
        all.push(columns);
    }
    for (item, columns) in compiled.items.iter_mut().zip(all) {
        item.columns = columns;
    }
}

/// The choice lists with a label naming an answer, compiled (see
/// [`CompiledForm::choice_labels`]); an unknown name is an error at the list.
fn compile_choice_labels(
    compiled: &CompiledForm,
    errors: &mut Vec<CompileError>,
) -> HashMap<String, Vec<(String, Template)>> {
    let ctx = LowerContext {
        form: compiled,
        item: None,
        column: Column::ChoiceLabel,
    };
    let mut lists = HashMap::new();
    for (list, choices) in &compiled.form.choices {
        let names = |c: &&crate::model::Choice| c.label.0.values().any(|l| l.contains("${"));
        if !choices.iter().any(|c| names(&c)) {
            continue;
        }
        let mut list_errors = Vec::new();
        let labels = choices
            .iter()
            .map(|c| {
                let label = compile_text(&ctx, &c.label, &mut list_errors);
                (c.name.clone(), label.unwrap_or_default())
            })
            .collect();
        errors.extend(list_errors.into_iter().map(|error| CompileError {
            item: Some(list.clone()),
            ..error
        }));
        lists.insert(list.clone(), labels);
    }
    lists
}

fn compile_opt(
    ctx: &LowerContext<'_>,
    source: Option<&str>,
    errors: &mut Vec<CompileError>,
) -> Option<CExpr> {
    let source = source.filter(|s| !s.trim().is_empty())?;
    compile_column(ctx, source, errors)
}

/// A `choice_filter` over options the form holds or a list file's; over the `external_choices`
/// sheet's (an `itemsets.csv` the engine never sees), an `Unsupported` problem.
fn compile_choice_filter(
    ctx: &LowerContext<'_>,
    source: Option<&str>,
    errors: &mut Vec<CompileError>,
) -> Option<CExpr> {
    let source = source.filter(|s| !s.trim().is_empty())?;
    let kind = ctx.item.map(|id| &ctx.form.items[id].kind);
    let outside = match kind {
        Some(ItemKind::Question(QuestionType::SelectOneExternal(list))) => {
            format!("the list '{list}' of the external_choices sheet (attached as itemsets.csv)")
        }
        _ => return compile_column(ctx, source, errors),
    };
    let problem = Problem::Unsupported(format!("a choice_filter over the options of {outside}"));
    errors.push(ctx.error(problem));
    None
}

/// `required` and `read_only`: `yes`/`no` (and `true`/`false`) as written in a sheet, or an
/// expression.
fn compile_flag(
    ctx: &LowerContext<'_>,
    source: Option<&str>,
    errors: &mut Vec<CompileError>,
) -> Option<CExpr> {
    let source = source?.trim();
    match source.to_ascii_lowercase().as_str() {
        "yes" | "true" | "true()" => Some(CExpr::Const(Scalar::Boolean(true))),
        "" | "no" | "false" | "false()" => None,
        _ => compile_column(ctx, source, errors),
    }
}

/// A default is a literal value unless it reads as an expression (a reference or a call), as
/// pyxform decides.
fn compile_default(
    ctx: &LowerContext<'_>,
    source: &str,
    errors: &mut Vec<CompileError>,
) -> Option<CExpr> {
    if source.contains("${") || source.contains('(') {
        compile_column(ctx, source, errors)
    } else {
        Some(CExpr::Const(Scalar::Text(source.to_string())))
    }
}

fn compile_column(
    ctx: &LowerContext<'_>,
    source: &str,
    errors: &mut Vec<CompileError>,
) -> Option<CExpr> {
    match expr::parse(source) {
        Ok(parsed) => match lower(ctx, &parsed) {
            Ok(lowered) => Some(lowered),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|problem| ctx.error(problem)));
                None
            }
        },
        Err(parse_error) => {
            errors.push(ctx.error(Problem::Parse(parse_error)));
            None
        }
    }
}

/// A label, hint or choice label with each `${name}` resolved in `ctx`; an unknown name is an
/// error at `ctx`'s item and column. `None` for an empty text.
fn compile_text(
    ctx: &LowerContext<'_>,
    text: &LocalizedText,
    errors: &mut Vec<CompileError>,
) -> Option<Template> {
    Template::parse(text, |name| {
        match lower(ctx, &expr::Expr::Reference(name.to_string())) {
            Ok(reference) => reference,
            Err(problems) => {
                errors.extend(problems.into_iter().map(|problem| ctx.error(problem)));
                CExpr::Const(Scalar::Text(String::new()))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::{form, group, question, repeat};
    use serde_json::json;

    fn errors(survey: Vec<serde_json::Value>) -> Vec<CompileError> {
        compile(&form(
            survey,
            json!({"yn": [{"name": "yes"}, {"name": "no", "extra": {"kind": "x"}}]}),
        ))
        .expect_err("the form should not compile")
    }

    /// A question `a` with `columns` fails to compile as unsupported, saying `says`.
    fn assert_unsupported(columns: serde_json::Value, says: &str) {
        let found = errors(vec![question("a", "integer", columns)]);
        assert!(
            matches!(&found[..], [CompileError { problem: Problem::Unsupported(what), .. }] if what.contains(says)),
            "{found:?}"
        );
    }

    #[test]
    fn a_sound_form_compiles_with_groups_and_repeats_flattened() {
        let compiled = compile(&form(
            vec![
                question("consent", "select_one:yn", json!({})),
                group(
                    "g",
                    json!({"relevant": "${consent} = 'yes'"}),
                    vec![question("age", "integer", json!({"constraint": ". >= 0"}))],
                ),
                repeat(
                    "people",
                    json!({"repeat_count": "${age}"}),
                    vec![question("pname", "text", json!({"required": "yes"}))],
                ),
            ],
            json!({"yn": [{"name": "yes"}]}),
        ))
        .unwrap();
        assert_eq!(compiled.items.len(), 5);
        assert_eq!(compiled.scopes.len(), 2);
        let pname = &compiled.items[compiled.by_key["pname"]];
        assert_eq!(
            (pname.scope, pname.parent),
            (1, Some(compiled.by_key["people"]))
        );
    }

    #[test]
    fn every_mistake_is_reported_with_item_and_column() {
        let found = errors(vec![
            question("a", "integer", json!({"relevant": "${b} > 1"})),
            question(
                "c",
                "integer",
                json!({"constraint": ". >", "calculation": "nope(1)"}),
            ),
            question("d", "select_one:yn", json!({"read_only": "selected(${a})"})),
            question("a", "text", json!({})),
        ]);
        let found: Vec<(Option<&str>, Column, String)> = found
            .iter()
            .map(|e| (e.item.as_deref(), e.column, e.problem.to_string()))
            .collect();
        assert!(found.contains(&(
            Some("a"),
            Column::Name,
            "the name is used by more than one item".into()
        )));
        assert!(found.contains(&(
            Some("a"),
            Column::Relevant,
            "${b} is not a question, group or repeat of this form".into()
        )));
        assert!(found.contains(&(
            Some("c"),
            Column::Constraint,
            "at 3: expected an expression, found end of input".into()
        )));
        assert!(found.contains(&(
            Some("c"),
            Column::Calculation,
            "unknown function nope()".into()
        )));
        assert!(found.contains(&(
            Some("d"),
            Column::ReadOnly,
            "selected() takes 2 arguments, not 1".into()
        )));
        assert_eq!(found.len(), 5);
    }

    #[test]
    fn cycles_are_reported_with_the_names_on_them() {
        let found = errors(vec![
            question("a", "calculate", json!({"calculation": "${b} + 1"})),
            question("b", "calculate", json!({"calculation": "${a} * 2"})),
            question("self", "calculate", json!({"calculation": "${self}"})),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].column, Column::Calculation);
        assert!(
            matches!(&found[0].problem, Problem::Cycle(names) if names.len() == 3 && names.contains(&"a".to_string()) && names.contains(&"b".to_string()))
        );
        assert_eq!(
            found[1].problem,
            Problem::Cycle(vec!["self".into(), "self".into()])
        );
    }

    #[test]
    fn a_group_shown_only_by_its_own_child_is_a_cycle() {
        let found = errors(vec![group(
            "g",
            json!({"relevant": "${inner} = 1"}),
            vec![question("inner", "integer", json!({}))],
        )]);
        assert_eq!(
            (found[0].item.as_deref(), found[0].column),
            (Some("g"), Column::Relevant)
        );
    }

    #[test]
    fn paths_resolve_by_name_and_unsupported_ones_say_so() {
        let compiled = compile(&form(
            vec![
                question("a", "integer", json!({})),
                question(
                    "b",
                    "integer",
                    json!({"relevant": "/data/a > 1 and ../a < 5 and current()/../a != 3"}),
                ),
            ],
            json!({}),
        ));
        assert!(compiled.is_ok());
        assert_unsupported(
            json!({"relevant": "instance('x')/root/item[name = 1]/label = 'y'"}),
            "instance('x'), which is no choice list",
        );
    }

    #[test]
    fn a_choice_filter_over_the_external_choices_sheet_is_unsupported_naming_the_list() {
        let found = errors(vec![
            question("region", "text", json!({})),
            question(
                "district",
                "select_one_external:districts",
                json!({"choice_filter": "region_id = ${region}"}),
            ),
        ]);
        let found: Vec<(Option<&str>, Column, String)> = found
            .iter()
            .map(|e| (e.item.as_deref(), e.column, e.problem.to_string()))
            .collect();
        assert_eq!(
            found,
            [(
                Some("district"),
                Column::ChoiceFilter,
                "a choice_filter over the options of the list 'districts' of the external_choices sheet (attached as itemsets.csv) is not supported".into()
            )]
        );
    }

    #[test]
    fn pulldata_with_a_computed_list_or_column_is_unsupported() {
        assert_unsupported(
            json!({"calculation": "pulldata(concat('f', ''), 'a', 'b', 'c')"}),
            "pulldata() other than pulldata('list', 'column', 'key column', key)",
        );
    }

    #[test]
    fn jr_itext_of_anything_but_a_choice_label_is_unsupported() {
        assert_unsupported(
            json!({"calculation": "jr:itext('/data/a:label')"}),
            "only a choice's label has an id",
        );
    }

    #[test]
    fn a_name_in_several_groups_is_keyed_by_its_path_and_reached_by_a_path_not_by_name() {
        let compiled = compile(&form(
            vec![
                group("site", json!({}), vec![question("name", "text", json!({}))]),
                group(
                    "owner",
                    json!({}),
                    vec![
                        question("name", "text", json!({})),
                        question("same", "text", json!({"relevant": "../name = 'x'"})),
                    ],
                ),
                question("copy", "text", json!({"relevant": "/data/site/name != ''"})),
            ],
            json!({}),
        ))
        .unwrap();
        let keys: Vec<&str> = compiled.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["site", "site/name", "owner", "owner/name", "same", "copy"]
        );
        let read = |item: &str| match compiled.items[compiled.by_key[item]].columns.relevant {
            Some(CExpr::Binary(_, ref left, _)) => match **left {
                CExpr::Ref(id) => compiled.items[id].key.clone(),
                _ => panic!("a reference"),
            },
            _ => panic!("a comparison"),
        };
        assert_eq!(read("same"), "owner/name", "../ is the sibling");
        assert_eq!(read("copy"), "site/name", "an absolute path is the key");
        let found = errors(vec![
            group("a", json!({}), vec![question("name", "text", json!({}))]),
            group("b", json!({}), vec![question("name", "text", json!({}))]),
            question("q", "text", json!({"relevant": "${name} = 'x'"})),
        ]);
        assert_eq!(found[0].problem, Problem::AmbiguousReference("name".into()));
    }

    #[test]
    fn two_repeats_of_one_name_or_one_name_twice_in_a_group_are_refused() {
        let found = errors(vec![
            group("a", json!({}), vec![repeat("r", json!({}), vec![])]),
            group("b", json!({}), vec![repeat("r", json!({}), vec![])]),
            group(
                "c",
                json!({}),
                vec![
                    question("x", "text", json!({})),
                    question("x", "integer", json!({})),
                ],
            ),
        ]);
        let duplicates: Vec<Option<&str>> = found
            .iter()
            .filter(|e| e.problem == Problem::DuplicateName)
            .map(|e| e.item.as_deref())
            .collect();
        assert_eq!(duplicates, [Some("a/r"), Some("b/r"), Some("c/x")]);
    }

    #[test]
    fn the_instance_name_is_checked_too() {
        let mut bad = form(vec![question("a", "text", json!({}))], json!({}));
        bad.instance_name = Some("concat(${a}, ${missing})".into());
        let found = compile(&bad).unwrap_err();
        assert_eq!(
            (found[0].item.as_ref(), found[0].column),
            (None, Column::InstanceName)
        );
    }

    #[test]
    fn only_a_name_used_in_several_groups_is_keyed_by_its_path() {
        let keys = crate::AnswerKeys::of(&form(
            vec![
                group("site", json!({}), vec![question("name", "text", json!({}))]),
                repeat(
                    "people",
                    json!({}),
                    vec![group(
                        "contact",
                        json!({}),
                        vec![question("name", "text", json!({}))],
                    )],
                ),
                question("age", "integer", json!({})),
            ],
            json!({}),
        ));
        assert_eq!(keys.key(&["site"], "name"), "site/name");
        assert_eq!(
            keys.key(&["people", "contact"], "name"),
            "people/contact/name"
        );
        assert_eq!(keys.key(&[], "age"), "age");
        assert_eq!(keys.key(&["people"], "contact"), "contact");
    }
}
