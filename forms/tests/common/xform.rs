//! Reading the XForm that pyxform writes into the same summary as our forms: binds give the
//! type and logic of each field, the body gives its control, itemsets give a select's options.

use super::{normalise, FieldSummary, Summary};
use roxmltree::{Document, Node};
use std::collections::BTreeMap;

/// The summary of an XForm document. Fields under `meta/` (which pyxform adds itself) are left
/// out.
pub fn summarise_xform(xml: &str) -> Summary {
    let document = Document::parse(xml).expect("pyxform writes well-formed XML");
    let model = document
        .descendants()
        .find(|n| n.has_tag_name("model"))
        .expect("an XForm has a model");
    let instances: Vec<Node> = model
        .children()
        .filter(|n| n.has_tag_name("instance"))
        .collect();
    let primary = instances
        .iter()
        .find(|n| n.attribute("id").is_none())
        .expect("a primary instance");
    let root = primary
        .first_element_child()
        .expect("the data root")
        .tag_name()
        .name()
        .to_string();
    let lists: BTreeMap<String, Vec<String>> = instances
        .iter()
        .filter(|n| n.attribute("src").is_none())
        .filter_map(|n| Some((n.attribute("id")?.to_string(), item_names(*n))))
        .collect();
    let controls = body_controls(&document);

    let binds: Vec<Node> = model
        .children()
        .filter(|n| n.has_tag_name("bind"))
        .collect();
    let relevant_of: BTreeMap<&str, String> = binds
        .iter()
        .filter_map(|b| {
            Some((
                b.attribute("nodeset")?,
                normalise(&to_references(b.attribute("relevant")?, &root)),
            ))
        })
        .collect();
    let leaf = |path: &str| path.rsplit('/').next().unwrap_or_default().to_string();
    let mut leaf_count: BTreeMap<String, usize> = BTreeMap::new();
    for nodeset in binds.iter().filter_map(|b| b.attribute("nodeset")) {
        *leaf_count.entry(leaf(nodeset)).or_default() += 1;
    }
    // A name pyxform uses more than once is a loop's copy: Minga names it `<name>_<option>`.
    let key_of = |nodeset: &str| {
        let mut segments = nodeset.rsplit('/');
        match (segments.next(), segments.next()) {
            (Some(name), Some(option)) if leaf_count.get(name).is_some_and(|n| *n > 1) => {
                format!("{name}_{option}")
            }
            (name, _) => name.unwrap_or_default().to_string(),
        }
    };
    let mut summary = Summary::new();
    for bind in &binds {
        let Some(nodeset) = bind.attribute("nodeset") else {
            continue;
        };
        let path = nodeset.trim_start_matches(&format!("/{root}/")).to_string();
        if path.starts_with("meta/") || is_generated(&path) {
            continue;
        }
        let name = key_of(nodeset);
        if !controls.contains_key(nodeset) && has_children(&binds, nodeset) {
            continue; // a group or repeat: its condition counts in its children's
        }
        // The conditions of the groups the field is in, then its own.
        let relevant: Vec<String> = nodeset
            .match_indices('/')
            .map(|(i, _)| &nodeset[..i])
            .chain([nodeset])
            .filter_map(|prefix| relevant_of.get(prefix).cloned())
            .collect();
        let control = controls.get(nodeset);
        let data_type = bind.attribute("type");
        let kind = match (data_type, control) {
            (None, None) => None,
            (data, control) => {
                let control = control.map(|c| c.tag.as_str()).unwrap_or("");
                Some(
                    format!("{} {control}", data.unwrap_or(""))
                        .trim()
                        .to_string(),
                )
            }
        };
        let logic = |name: &str| {
            bind.attribute(name)
                .map(|e| normalise(&to_references(e, &root)))
        };
        let required = logic("required").filter(|r| r != "false()");
        let options = control
            .and_then(|c| c.list.as_ref())
            .and_then(|list| lists.get(list).cloned());
        summary.insert(
            name,
            FieldSummary {
                kind,
                relevant,
                constraint: logic("constraint"),
                required,
                calculation: logic("calculate"),
                options,
            },
        );
    }
    // Controls without a bind (a `trigger` stores nothing).
    for (reference, control) in &controls {
        let name = key_of(reference);
        if !summary.contains_key(&name) && !is_generated(reference) {
            summary.insert(
                name,
                FieldSummary {
                    kind: Some(control.tag.clone()),
                    ..FieldSummary::default()
                },
            );
        }
    }
    summary
}

fn has_children(binds: &[Node], nodeset: &str) -> bool {
    let prefix = format!("{nodeset}/");
    binds.iter().any(|b| {
        b.attribute("nodeset")
            .is_some_and(|n| n.starts_with(&prefix))
    })
}

/// The questions pyxform makes up for a `table-list` group's header row.
fn is_generated(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.starts_with("generated_table_list_label_")
        || name.starts_with("reserved_name_for_field_list_labels_")
}

struct Control {
    tag: String,
    /// The secondary instance of its itemset, for selects.
    list: Option<String>,
}

fn body_controls(document: &Document) -> BTreeMap<String, Control> {
    let Some(body) = document.descendants().find(|n| n.has_tag_name("body")) else {
        return BTreeMap::new();
    };
    body.descendants()
        .filter(|n| n.is_element() && !n.has_tag_name("group") && !n.has_tag_name("repeat"))
        .filter_map(|n| {
            let reference = n.attribute("ref")?;
            if n.has_tag_name("label") || n.has_tag_name("hint") || n.has_tag_name("value") {
                return None;
            }
            let tag = match n.tag_name().namespace() {
                Some(ns) if ns.contains("opendatakit") => format!("odk:{}", n.tag_name().name()),
                _ => n.tag_name().name().to_string(),
            };
            let list = n
                .children()
                .find(|c| c.has_tag_name("itemset"))
                .and_then(|itemset| itemset.attribute("nodeset"))
                .and_then(|nodeset| {
                    nodeset
                        .split_once("instance('")?
                        .1
                        .split_once('\'')
                        .map(|(l, _)| l.to_string())
                });
            Some((reference.to_string(), Control { tag, list }))
        })
        .collect()
}

fn item_names(instance: Node) -> Vec<String> {
    instance
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .filter_map(|item| {
            item.children()
                .find(|c| c.has_tag_name("name"))
                .and_then(|n| n.text())
                .map(str::to_string)
        })
        .collect()
}

/// pyxform's paths back to `${name}`: `/root/group/name`, `../name`, `current()/../g/name`.
pub fn to_references(expression: &str, root: &str) -> String {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let absolute: Vec<char> = format!("/{root}/").chars().collect();
    while i < chars.len() {
        if chars[i] == '\'' || chars[i] == '"' {
            // Copy string literals untouched, but for a literal that is a whole path (the
            // question of `jr:choice-name(value, '${q}')`, which pyxform writes as a path).
            let quote = chars[i];
            let end = chars[i + 1..]
                .iter()
                .position(|c| *c == quote)
                .map_or(chars.len(), |p| i + 1 + p + 1);
            let inside: String = chars[i + 1..end.saturating_sub(1).max(i + 1)]
                .iter()
                .collect();
            let absolute_text: String = absolute.iter().collect();
            match inside.trim().strip_prefix(&absolute_text) {
                Some(path) if path.chars().all(|c| is_name_char(c) || c == '/') => {
                    let last = path.rsplit('/').next().unwrap_or(path);
                    out.push_str(&format!("{quote}${{{last}}}{quote}"));
                }
                _ => out.extend(&chars[i..end]),
            }
            i = end;
            continue;
        }
        let starts_path = chars[i..].starts_with(&absolute)
            || chars[i..].starts_with(&['.', '.', '/'])
            || chars[i..].starts_with(&"current()/..".chars().collect::<Vec<_>>());
        if starts_path && (i == 0 || !is_name_char(chars[i - 1])) {
            let mut end = i;
            while end < chars.len()
                && (is_name_char(chars[end]) || matches!(chars[end], '/' | '(' | ')'))
            {
                if chars[end] == '('
                    && !chars[i..end]
                        .iter()
                        .collect::<String>()
                        .ends_with("current")
                {
                    break;
                }
                if chars[end] == ')'
                    && !chars[i..end]
                        .iter()
                        .collect::<String>()
                        .ends_with("current(")
                {
                    break;
                }
                end += 1;
            }
            let path: String = chars[i..end].iter().collect();
            let last = path.rsplit('/').next().unwrap_or("");
            if !last.is_empty() && last != ".." {
                out.push_str(&format!("${{{last}}}"));
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}
