//! Checks on a custom rule's expression before it is saved: it must parse, name only the
//! variables and fields screening provides, call only built-in functions, and stay small
//! enough that it cannot slow checkout down or crash the interpreter.

use cel_parser::ast::{EntryExpr, Expr, IdedExpr};
use cel_parser::reference::Val;

use super::rule_context::VARIABLES;

/// Longest expression accepted, in characters.
pub(super) const MAX_EXPRESSION_CHARS: usize = 500;
/// Deepest nesting of brackets in the source (the parser recurses on them).
const MAX_BRACKETS: usize = 16;
/// Deepest expression tree (the interpreter recurses on it).
const MAX_DEPTH: usize = 64;
/// Most list macros (`all`, `exists`, `map`, `filter`, ...) in one rule, never one inside another:
/// a loop inside a loop over literal lists could take seconds per order.
const MAX_LOOPS: usize = 2;

/// Functions the interpreter provides (without its regex and time features).
const FUNCTIONS: &[&str] = &[
    "contains",
    "size",
    "max",
    "min",
    "startsWith",
    "endsWith",
    "string",
    "bytes",
    "double",
    "int",
    "uint",
];

/// Cheap checks on the source text, before the parser sees it.
pub(super) fn check_source(src: &str) -> Result<(), String> {
    let chars = src.chars().count();
    if src.trim().is_empty() {
        return Err("write an expression, e.g. order.total > 50000".into());
    }
    if chars > MAX_EXPRESSION_CHARS {
        return Err(format!(
            "is too long ({chars} characters, at most {MAX_EXPRESSION_CHARS}); split it into several rules"
        ));
    }
    let mut depth = 0usize;
    for c in src.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return Err(format!(
                        "has brackets nested more than {MAX_BRACKETS} deep; simplify it"
                    ));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Walk the parsed expression.
pub(super) fn check_tree(e: &IdedExpr) -> Result<(), String> {
    let mut w = Walker {
        bound: Vec::new(),
        loops: 0,
    };
    w.walk(e, 0, false)
}

struct Walker {
    /// Names bound by list macros around the current node (`l` in `lines.all(l, ...)`).
    bound: Vec<String>,
    loops: usize,
}

impl Walker {
    fn walk(&mut self, e: &IdedExpr, depth: usize, in_loop: bool) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("is nested too deeply; simplify it".into());
        }
        let d = depth + 1;
        match &e.expr {
            Expr::Unspecified | Expr::Struct(_) => {
                Err("uses a message type, which rules do not support".into())
            }
            // Amounts are whole minor units: "order.total > 500.00" would mean 5 pence.
            Expr::Literal(Val::Double(_)) => Err(
                "has a number with a decimal point; amounts are whole pence or cents \
                 (write 50000 for 500.00)"
                    .into(),
            ),
            Expr::Literal(_) => Ok(()),
            Expr::Ident(name) => self.ident(name),
            Expr::Select(sel) => {
                if let Expr::Ident(top) = &sel.operand.expr {
                    self.ident(top)?;
                    if !self.is_bound(top) {
                        return field(top, &sel.field);
                    }
                    return Ok(());
                }
                self.walk(&sel.operand, d, in_loop)
            }
            Expr::Call(call) => {
                let name = call.func_name.as_str();
                let operator =
                    name.starts_with('_') || name.starts_with('@') || name == "!_" || name == "-_";
                if !operator && !FUNCTIONS.contains(&name) {
                    return Err(format!(
                        "uses `{name}`, which is not a function rules can call (available: {})",
                        FUNCTIONS.join(", ")
                    ));
                }
                if let Some(t) = &call.target {
                    self.walk(t, d, in_loop)?;
                }
                call.args
                    .iter()
                    .try_for_each(|a| self.walk(a, d, in_loop))?;
                if operator && call.args.len() == 2 && call.target.is_none() {
                    self.same_types(name, &call.args[0], &call.args[1])?;
                }
                Ok(())
            }
            Expr::List(list) => list
                .elements
                .iter()
                .try_for_each(|a| self.walk(a, d, in_loop)),
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(m) => {
                            self.walk(&m.key, d, in_loop)?;
                            self.walk(&m.value, d, in_loop)?;
                        }
                        EntryExpr::StructField(_) => {
                            return Err("uses a message type, which rules do not support".into())
                        }
                    }
                }
                Ok(())
            }
            Expr::Comprehension(c) => {
                self.loops += 1;
                if in_loop {
                    return Err("has a list check inside another; rules allow one level".into());
                }
                if self.loops > MAX_LOOPS {
                    return Err(format!(
                        "has more than {MAX_LOOPS} list checks (all, exists, map, filter)"
                    ));
                }
                self.walk(&c.iter_range, d, false)?;
                if let Some(t) = self.type_of(&c.iter_range) {
                    if t != Ty::List {
                        return Err(format!(
                            "checks each item of {}; only lists such as order.lines have items",
                            t.name()
                        ));
                    }
                }
                self.walk(&c.accu_init, d, false)?;
                let before = self.bound.len();
                self.bound.push(c.iter_var.clone());
                if let Some(v) = &c.iter_var2 {
                    self.bound.push(v.clone());
                }
                self.bound.push(c.accu_var.clone());
                let inner = [&c.loop_cond, &c.loop_step, &c.result]
                    .into_iter()
                    .try_for_each(|x| self.walk(x, d, true));
                self.bound.truncate(before);
                inner
            }
        }
    }

    /// `order.total > "500"` is refused here, before any order is seen.
    fn same_types(&self, op: &str, a: &IdedExpr, b: &IdedExpr) -> Result<(), String> {
        const CHECKED: &[&str] = &[
            "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "_+_", "_-_", "_*_", "_/_", "_%_",
        ];
        if !CHECKED.contains(&op) {
            return Ok(());
        }
        match (self.type_of(a), self.type_of(b)) {
            (Some(x), Some(y)) if x != y => Err(format!(
                "compares {} with {}; compare like with like (amounts are whole minor units \
                 without quotes, text goes in quotes)",
                x.name(),
                y.name()
            )),
            _ => Ok(()),
        }
    }

    /// The type of a literal or a known variable's field; `None` when it takes evaluating.
    fn type_of(&self, e: &IdedExpr) -> Option<Ty> {
        match &e.expr {
            Expr::Literal(Val::Int(_) | Val::UInt(_) | Val::Double(_)) => Some(Ty::Number),
            Expr::Literal(Val::String(_)) => Some(Ty::Text),
            Expr::Literal(Val::Boolean(_)) => Some(Ty::Bool),
            Expr::List(_) => Some(Ty::List),
            Expr::Select(sel) => match &sel.operand.expr {
                Expr::Ident(top) if !sel.test && !self.is_bound(top) => {
                    Some(field_type(top, &sel.field))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|b| b == name)
    }

    fn ident(&self, name: &str) -> Result<(), String> {
        if self.is_bound(name) || top_level(name) {
            return Ok(());
        }
        Err(format!(
            "uses `{name}`, which screening does not know (available: {})",
            tops().join(", ")
        ))
    }
}

/// What a value is, as far as the checks need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Number,
    Text,
    Bool,
    List,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Number => "a number",
            Ty::Text => "text",
            Ty::Bool => "true/false",
            Ty::List => "a list",
        }
    }
}

/// The type of a known field (see [`VARIABLES`]); anything not listed here is text.
fn field_type(top: &str, field: &str) -> Ty {
    match (top, field) {
        ("order", "lines") => Ty::List,
        ("customer", "new") => Ty::Bool,
        ("order", "total" | "units")
        | ("customer", "orders" | "paid_orders")
        | ("velocity", _)
        | ("shop", _) => Ty::Number,
        _ => Ty::Text,
    }
}

/// `order`, `billing`, ... as listed in [`VARIABLES`].
fn tops() -> Vec<&'static str> {
    let mut v: Vec<&str> = VARIABLES
        .iter()
        .map(|(n, _)| n.split('.').next().unwrap_or(n))
        .collect();
    v.dedup();
    v
}

fn top_level(name: &str) -> bool {
    VARIABLES
        .iter()
        .any(|(n, _)| n.split_once('.').is_some_and(|(t, _)| t == name))
}

/// `order.total` is known; `order.totl` is refused with the fields `order` has.
fn field(top: &str, f: &str) -> Result<(), String> {
    let fields: Vec<&str> = VARIABLES
        .iter()
        .filter_map(|(n, _)| n.split_once('.'))
        .filter(|(t, _)| *t == top)
        .map(|(_, f)| f)
        .collect();
    if fields.contains(&f) {
        return Ok(());
    }
    Err(format!(
        "uses `{top}.{f}`, but `{top}` has only: {}",
        fields.join(", ")
    ))
}
