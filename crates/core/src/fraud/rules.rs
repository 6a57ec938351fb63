//! Custom rules: the owner's own conditions as CEL expressions
//! (<https://github.com/google/cel-spec>), e.g.
//! `order.total > 50000 && billing.country != shipping.country`.
//!
//! A rule is checked when saved ([`CompiledRule::compile`]): it must parse, use only the
//! variables in [`VARIABLES`], and give true or false on sample orders. At checkout a rule that
//! fails to evaluate is skipped rather than blocking the sale.

use std::panic::AssertUnwindSafe;

use cel_interpreter::{Context, ExecutionError, Program, Value};

use super::rule_check::{check_source, check_tree};
pub use super::rule_context::VARIABLES;
use super::rule_context::{context, ROOT};
use super::{RiskInput, Rule};
use crate::ValidationError;

/// A rule that passed every check, ready to evaluate.
#[derive(Debug)]
pub struct CompiledRule {
    rule: Rule,
    program: Program,
}

impl CompiledRule {
    /// Check a rule as the owner wrote it. Errors name the field: `name`, `points`, `reason`,
    /// `expression` (with the reason it was refused, e.g. "compares a number with text").
    pub fn compile(rule: &Rule) -> Result<CompiledRule, ValidationError> {
        let name = rule.name.trim();
        let name_ok = (1..=40).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(ValidationError::new(
                "name",
                "use 1 to 40 letters, digits, _ or -",
            ));
        }
        if !(-100..=100).contains(&rule.points) {
            return Err(ValidationError::new(
                "points",
                "must be between -100 and 100",
            ));
        }
        let reason = rule.reason.trim();
        if !(1..=200).contains(&reason.chars().count()) {
            return Err(ValidationError::new(
                "reason",
                "write a sentence staff will see when the rule fires (at most 200 characters)",
            ));
        }
        let bad = |m: String| ValidationError::new("expression", format!("the expression {m}"));
        let src = rule.expression.trim();
        check_source(src).map_err(bad)?;
        // The parser is generated code; treat a panic as a refusal, never a crash.
        let parsed = std::panic::catch_unwind(|| {
            (cel_parser::Parser::new().parse(src), Program::compile(src))
        })
        .map_err(|_| {
            bad(
                "could not be read: look for an operator with nothing after it, or a bracket \
                 or quote left open"
                    .into(),
            )
        })?;
        let (tree, program) = match parsed {
            (Ok(tree), Ok(program)) => (tree, program),
            (Err(e), _) | (_, Err(e)) => return Err(bad(parse_message(&e))),
        };
        check_tree(&tree).map_err(bad)?;
        let compiled = CompiledRule {
            rule: Rule {
                name: name.to_string(),
                expression: src.to_string(),
                points: rule.points,
                reason: reason.to_string(),
            },
            program,
        };
        for sample in samples() {
            compiled.eval(&sample).map_err(bad)?;
        }
        Ok(compiled)
    }

    /// The rule as saved (trimmed).
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Is the rule true for this order? `Err` says why it could not be evaluated, in words
    /// that never contain the order's values (so it is safe to log).
    pub fn eval(&self, input: &RiskInput) -> Result<bool, String> {
        let phone = crate::checkout::phone_country(&input.phone);
        let ctx = context(&ROOT, input, phone.as_deref().unwrap_or(""));
        self.eval_in(&ctx)
    }

    fn eval_in(&self, ctx: &Context) -> Result<bool, String> {
        // The interpreter panics on a few shapes (a list check over a number); skip, not crash.
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| self.program.execute(ctx)));
        match run {
            Ok(Ok(Value::Bool(b))) => Ok(b),
            Ok(Ok(v)) => Err(format!("gives {} instead of true or false", type_name(&v))),
            Ok(Err(e)) => Err(exec_message(&e)),
            Err(_) => Err("could not be evaluated".into()),
        }
    }
}

/// The shop's compiled rules. Cheap to share: put it in an `Arc`.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

impl RuleSet {
    /// Hold these rules.
    pub fn new(rules: Vec<CompiledRule>) -> Self {
        Self { rules }
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Each rule's answer for this order: `Ok(true)` fired, `Ok(false)` did not, `Err` could
    /// not be evaluated (the caller shows it to staff rather than hiding it).
    /// `phone_country` is the phone's country ("" when invalid), worked out once by the caller.
    pub(super) fn results(
        &self,
        input: &RiskInput,
        phone_country: &str,
    ) -> Vec<(&Rule, Result<bool, ()>)> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let ctx = context(&ROOT, input, phone_country);
        self.rules
            .iter()
            .map(|r| (&r.rule, r.eval_in(&ctx).map_err(|_| ())))
            .collect()
    }
}

// Shared across request handlers: keep it so (a compile error here means a field lost it).
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<RuleSet>();
    shared::<Context<'static>>();
};

/// Two sample orders a saved rule must evaluate on: a plain one and a risky one, so both sides
/// of a typical condition are exercised.
fn samples() -> [RiskInput; 2] {
    super::sample::plain_and_risky()
}

/// "line 1, column 9: mismatched input ..." from the parser's errors (first one only).
fn parse_message(e: &cel_interpreter::ParseErrors) -> String {
    match e.errors.first() {
        Some(first) => {
            let msg = first.msg.trim_start_matches("Syntax error: ");
            // "expecting {'[', '{', '(', ...}" lists grammar tokens; say it plainly.
            let msg = match msg.split_once(" expecting {") {
                Some((head, _)) => format!("{head}, where a value was expected"),
                None => msg.to_string(),
            };
            format!(
                "could not be read at line {}, column {}: {msg}",
                first.pos.0.max(1),
                first.pos.1.max(1)
            )
        }
        None => "could not be read".into(),
    }
}

/// Interpreter errors in words, naming types rather than values.
fn exec_message(e: &ExecutionError) -> String {
    match e {
        ExecutionError::ValuesNotComparable(a, b) => format!(
            "compares {} with {}; compare like with like (amounts are whole minor units, text goes in quotes)",
            type_name(a),
            type_name(b)
        ),
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => format!(
            "cannot {op} {} and {}",
            type_name(a),
            type_name(b)
        ),
        ExecutionError::UndeclaredReference(name) => {
            format!("uses `{name}`, which screening does not know")
        }
        ExecutionError::NoSuchKey(k) => format!("uses a field `{k}` that does not exist there"),
        ExecutionError::UnexpectedType { got, want } => format!("expected {want} but got {got}"),
        ExecutionError::DivisionByZero(_) | ExecutionError::RemainderByZero(_) => {
            "divides by zero".into()
        }
        ExecutionError::Overflow(..) => "overflows (a number too large)".into(),
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("calls a function with {actual} arguments where it takes {expected}")
        }
        ExecutionError::FunctionError { function, .. } => format!("fails in {function}()"),
        _ => "could not be evaluated".into(),
    }
}

/// A value's type for people.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Int(_) | Value::UInt(_) => "a whole number",
        Value::Float(_) => "a decimal number",
        Value::String(_) => "text",
        Value::Bool(_) => "true/false",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Null => "null",
        _ => "a value of another kind",
    }
}
