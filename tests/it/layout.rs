//! The source's shape (issue 15): no module uses, directly or through others,
//! a module that uses it back. Read from src/ as text: every `crate::` and
//! `super::` path of a file is an edge from its module to the module the path
//! names. A parent and its own children may use each other (a folder's
//! `mod.rs` and its files); any other edge is lifted to the two siblings under
//! the modules' nearest common parent, and those sibling graphs must have no
//! cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of src/ (the crate root's files; not main.rs) and its text.
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut module = prefix.clone();
            module.push(name);
            modules(&path, &module, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "mod" => prefix.clone(),
                "lib" | "main" if prefix.is_empty() => continue,
                _ => [prefix.clone(), vec![name]].concat(),
            };
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The text without comments (a line's `//` onwards), so that a path a
/// comment names is no edge.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths that follow `anchor` (`crate::` or `super::`) in `text`, with a
/// `{a, b::c}` group read as one path per item.
fn paths_after(text: &str, anchor: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(anchor) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        read_path(&text[at + anchor.len()..], Vec::new(), &mut out);
    }
    out
}

fn read_path(rest: &str, mut path: Vec<String>, out: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    read_path(&group[start..i], path.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    read_path(&group[start..i], path.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        out.push(path);
        return;
    }
    path.push(name.clone());
    match rest[name.len()..].strip_prefix("::") {
        Some(more) => read_path(more, path, out),
        None => out.push(path),
    }
}

/// The longest module that `path` starts with, if any.
fn module_of(path: &[String], known: &BTreeMap<Module, String>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| known.contains_key(m))
}

fn edges(known: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let mut edges = BTreeSet::new();
    for (module, text) in known {
        let text = code(text);
        let mut targets = paths_after(&text, "crate::");
        // `super::` from a.rs or a/mod.rs is the parent of module `a`, and
        // each further `super::` one more up.
        for path in paths_after(&text, "super::") {
            let ups = 1 + path.iter().take_while(|s| *s == "super").count();
            let base = module[..module.len().saturating_sub(ups)].to_vec();
            targets.push([base, path[ups - 1..].to_vec()].concat());
        }
        for target in targets.iter().filter_map(|p| module_of(p, known)) {
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            // The same module, or a parent and its descendant.
            if common == module.len() || common == target.len() {
                continue;
            }
            edges.insert((module[..=common].to_vec(), target[..=common].to_vec()));
        }
    }
    edges
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn cycle(edges: &BTreeSet<(Module, Module)>) -> Option<Vec<Module>> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (from, to) in edges {
        next.entry(from).or_default().push(to);
    }
    // Depth-first, with the path so far; every node is finished once.
    let mut done: BTreeSet<&Module> = BTreeSet::new();
    fn visit<'a>(
        node: &'a Module,
        next: &BTreeMap<&'a Module, Vec<&'a Module>>,
        path: &mut Vec<&'a Module>,
        done: &mut BTreeSet<&'a Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|m| *m == node) {
            return Some(path[at..].iter().map(|m| (*m).clone()).collect());
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for to in next.get(node).into_iter().flatten() {
            if let Some(found) = visit(to, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let starts: Vec<&Module> = next.keys().copied().collect();
    for start in starts {
        let mut path = Vec::new();
        if let Some(found) = visit(start, &next, &mut path, &mut done) {
            return Some(found);
        }
    }
    None
}

fn show(modules: &[Module]) -> String {
    modules
        .iter()
        .map(|m| m.join("::"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let mut known = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &Vec::new(),
        &mut known,
    );
    assert!(known.len() > 20, "src/ was read: {:?}", known.keys());
    let edges = edges(&known);
    assert!(
        edges
            .iter()
            .any(|(a, b)| a == &["cmd".to_string()] && b == &["journal".to_string()]),
        "the reader finds the commands' use of the journal: {edges:?}"
    );
    if let Some(found) = cycle(&edges) {
        panic!(
            "modules use each other in a circle: {} -> {}",
            show(&found),
            found[0].join("::")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let mut known = BTreeMap::new();
    let module = |s: &str| s.split("::").map(str::to_string).collect::<Module>();
    known.insert(module("a"), "use crate::b::thing;".to_string());
    known.insert(module("b"), "use crate::{c, x};".to_string());
    // c's own text names a only in a comment; its child d uses a, which
    // makes the edge c -> a under their common parent, the crate.
    known.insert(module("c"), "fn f() {} // crate::a".to_string());
    known.insert(module("c::d"), "use super::super::a::go;".to_string());
    let found = cycle(&edges(&known)).expect("a -> b -> c -> a is found");
    assert_eq!(found.len(), 3, "{}", show(&found));
    known.insert(
        module("c::d"),
        "use super::e; fn g() { crate::c::f() }".to_string(),
    );
    assert_eq!(cycle(&edges(&known)), None);
}
