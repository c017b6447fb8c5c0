//! agent-lite's modules form no import cycle: a module may use its children and anything that
//! does not lead back to it. A cycle is how the house made every new room touch the whole
//! building (the state hub and the collectors' health, the registry and the notifier), so a
//! new one fails here, naming the modules that make it.
//!
//! Each source file is parsed with syn; every `crate::`, `super::` and `self::` path (in `use`
//! items and in expressions), and every bare path that starts with a child module's name
//! (`use history::History`), is resolved to the deepest module file it names. A child naming
//! its own ancestor is Rust's usual layout (`super::Output`), not a cycle; test modules are
//! left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Module path (`monitors::registry`) -> its file, for every file under src/.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] || parts.last().is_some_and(|p| p == "tests") {
                continue;
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// Every path that starts at `crate`, `super` or `self`, as segments.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.push(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.tree(prefix, t)),
        }
    }

    fn push(&mut self, prefix: &[String], last: &str) {
        let mut p = prefix.to_vec();
        if last != "self" {
            p.push(last.to_owned());
        }
        self.0.push(p);
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let is_test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !is_test {
            syn::visit::visit_item_mod(self, m);
        }
    }
}

/// The deepest module a path names, seen from module `from`.
fn resolve(from: &str, path: &[String], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut base: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        // A bare path whose first segment is a child module (`use history::History`,
        // `registry::Registry::new()`) is relative to `from`, as `self::` would be: a
        // parent-to-child edge, part of a cycle when the child leads back. Any other bare
        // path is an outside crate, a local item or a variable.
        Some(first) => {
            let child = base.iter().copied().chain([first]).collect::<Vec<_>>();
            if !known.contains_key(&child.join("::")) {
                return None;
            }
        }
        None => return None,
    }
    (0..=rest.len()).rev().find_map(|n| {
        let mut segs: Vec<&str> = base.clone();
        segs.extend(rest[..n].iter().map(String::as_str));
        let name = segs.join("::");
        known.contains_key(&name).then_some(name)
    })
}

/// Strongly connected components of more than one module (Tarjan's).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.found.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

/// The modules `module`'s source uses, its ancestors left out.
fn edges(module: &str, ast: &syn::File, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let mut paths = Paths::default();
    paths.visit_file(ast);
    paths
        .0
        .iter()
        .filter_map(|p| resolve(module, p, known))
        .filter(|target| {
            let ancestor = module.starts_with(&format!("{target}::"));
            target != module && !target.is_empty() && !ancestor
        })
        .collect()
}

#[test]
fn agent_lite_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    assert!(known.contains_key("monitors::registry"), "{known:?}");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &known {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        graph.insert(module.clone(), edges(module, &ast, &known));
    }
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles between agent-lite's modules (each list uses itself through the others): {found:#?}"
    );
}

/// The guard sees a cycle that goes down to a child by a bare path (`use child::X`), through
/// another module and back up with `crate::`; an outside crate's path is no edge.
#[test]
fn a_cycle_through_a_bare_child_path_is_found() {
    let sources = [
        ("a", "use child::X; use serde::Serialize;"),
        ("a::child", "fn f() { crate::b::g(); }"),
        ("b", "use crate::a::Y;"),
        ("c", "use child::X;"),
    ];
    let known: BTreeMap<String, PathBuf> = sources
        .iter()
        .map(|(m, _)| ((*m).to_owned(), PathBuf::new()))
        .collect();
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .map(|(m, text)| {
            let ast = syn::parse_file(text).expect("parses");
            ((*m).to_owned(), edges(m, &ast, &known))
        })
        .collect();
    assert_eq!(graph["a"], BTreeSet::from(["a::child".to_owned()]));
    assert!(graph["c"].is_empty(), "c has no child module: {graph:?}");
    assert_eq!(cycles(&graph), vec![vec!["a", "a::child", "b"]]);
}
