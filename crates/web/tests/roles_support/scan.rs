//! The admin routes as the source declares them: a plain text scan of `.route("...", ...)`
//! calls in `crates/web/src` but not `src/api`, whose routes are relative to `/api/v1` (the
//! path is a string literal or a `const` of the same file; the methods are the `get(..)`,
//! `post(..)`, ... calls of the second argument). Anything the scan cannot read fails loudly,
//! so a new way of declaring routes cannot slip past the role test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// `{id}`, `{product}`, ... all become `{}`, so table paths and source paths compare.
pub fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut in_brace = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_brace = true;
                out.push_str("{}");
            }
            '}' => in_brace = false,
            _ if in_brace => {}
            _ => out.push(c),
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every (METHOD, normalized path) of an `/admin` route in the web crate's source.
pub fn admin_routes() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    rust_files(&src, &mut files);
    // The API's routes are relative to `/api/v1` (its `/admin/...` paths are not pages); the
    // OpenAPI document proves the API table complete instead.
    let api = src.join("api");
    let mut out = BTreeSet::new();
    for f in files.into_iter().filter(|f| !f.starts_with(&api)) {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.display().to_string();
        for (call, args) in calls(&text, &name) {
            let (first, rest) = split_first_arg(&args);
            let path = resolve(first.trim(), &text, &name);
            if !path.starts_with("/admin") {
                continue;
            }
            assert!(
                call == "route",
                "{name}: .{call}(\"{path}\", ..) hides admin routes from the role test; \
                 declare them with .route or teach roles_support/scan.rs"
            );
            for m in methods(rest, &name, &path) {
                out.insert((m.to_uppercase(), normalize(&path)));
            }
        }
    }
    assert!(
        out.len() > 10,
        "the scan found almost no admin routes: {out:?}"
    );
    out
}

/// The argument text of every `.route(`, `.nest(`, `.route_service(` and `.nest_service(` call.
fn calls(text: &str, file: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for call in ["route", "nest", "route_service", "nest_service"] {
        let needle = format!(".{call}(");
        let mut from = 0;
        while let Some(at) = text[from..].find(&needle) {
            let start = from + at + needle.len();
            let len = closing_paren(&text[start..])
                .unwrap_or_else(|| panic!("{file}: unclosed .{call}( at byte {start}"));
            out.push((call, text[start..start + len].to_string()));
            from = start;
        }
    }
    out
}

/// Length of the text up to the `)` closing an already opened `(`, skipping string literals.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 1;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The first argument and the rest, split at the first top-level comma.
fn split_first_arg(args: &str) -> (&str, &str) {
    let mut depth = 0;
    let mut in_str = false;
    for (i, c) in args.char_indices() {
        match c {
            '"' => in_str = !in_str,
            _ if in_str => {}
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return (&args[..i], &args[i + 1..]),
            _ => {}
        }
    }
    (args, "")
}

/// A string literal, or a `const NAME: &str = "...";` of the same file.
fn resolve(arg: &str, text: &str, file: &str) -> String {
    if let Some(lit) = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        return lit.to_string();
    }
    let ident = arg.rsplit("::").next().unwrap_or(arg);
    let decl = format!("const {ident}: &str = \"");
    let at = text
        .find(&decl)
        .unwrap_or_else(|| panic!("{file}: cannot read the route path `{arg}`"));
    let rest = &text[at + decl.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The HTTP methods of a method router like `get(a).post(b)`: the calls at the top level.
fn methods(expr: &str, file: &str, path: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut word = String::new();
    for c in expr.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    let w = word.rsplit("::").next().unwrap_or("");
                    let m = METHODS.iter().find(|m| **m == w).unwrap_or_else(|| {
                        panic!("{file}: route {path}: cannot read the method call `{word}(`")
                    });
                    out.push(*m);
                }
                depth += 1;
                word.clear();
            }
            ')' => depth -= 1,
            c if depth == 0 && (c.is_alphanumeric() || c == '_' || c == ':') => word.push(c),
            _ => word.clear(),
        }
    }
    assert!(
        !out.is_empty(),
        "{file}: route {path}: no method in `{expr}`"
    );
    out
}
