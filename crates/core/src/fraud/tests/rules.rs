//! Custom rules: checks when saved, evaluation, and how they add to the score.

use super::super::*;
use super::helpers::*;

fn rule(name: &str, expr: &str, points: i32) -> Rule {
    Rule {
        name: name.into(),
        expression: expr.into(),
        points,
        reason: "Big order shipped abroad".into(),
    }
}

fn refused(expr: &str) -> String {
    match CompiledRule::compile(&rule("r", expr, 10)) {
        Ok(_) => panic!("{expr} was accepted"),
        Err(e) => {
            assert_eq!(e.field, "expression", "{e:?}");
            e.message
        }
    }
}

#[test]
fn the_issue_example_compiles_and_fires() {
    let r = rule(
        "abroad",
        "order.total > 50000 && billing.country != shipping.country",
        30,
    );
    let c = CompiledRule::compile(&r).expect("compiles");
    assert_eq!(c.rule(), &r);
    assert_eq!(c.eval(&risky()), Ok(true));
    assert_eq!(c.eval(&plain()), Ok(false));
    let mut collect = plain();
    collect.total_minor = 90_000;
    collect.shipping = None; // shipping is the billing address
    assert_eq!(c.eval(&collect), Ok(false));
}

#[test]
fn every_variable_can_be_used() {
    for (name, _) in VARIABLES {
        let expr = match *name {
            "order.lines" => "size(order.lines) >= 0".to_string(),
            "customer.new" => "customer.new || !customer.new".to_string(),
            n if n.starts_with("velocity.")
                || ["order.total", "order.units", "customer.orders"].contains(&n)
                || n == "customer.paid_orders"
                || n == "shop.typical_order" =>
            {
                format!("{n} >= 0")
            }
            n => format!("{n} != 'zz'"),
        };
        let c = CompiledRule::compile(&rule("v", &expr, 1));
        assert!(c.is_ok(), "{expr}: {c:?}");
    }
}

#[test]
fn variables_hold_the_order() {
    let i = risky();
    let t = |expr: &str| {
        CompiledRule::compile(&rule("t", expr, 1))
            .map(|c| c.eval(&i))
            .unwrap_or_else(|e| panic!("{expr}: {e:?}"))
    };
    for expr in [
        "order.units == 12 && order.currency == 'GBP' && order.channel == 'web'",
        "order.lines.exists(l, l.sku == 'POLISHER-XL' && l.price == 45000 && l.quantity == 12)",
        "shipping.country == 'FR' && billing.country == 'GB' && billing.city == 'London'",
        "email.domain == 'mailinator.com' && phone.country == 'US' && ip.country == ''",
        "customer.new && customer.orders == 0 && customer.paid_orders == 0",
        "payment.cvc == 'fail' && payment.postcode == 'unavailable' && payment.three_d_secure == 'fail'",
        "velocity.orders == 6 && velocity.failed_payments == 4 && velocity.cards == 3",
        "velocity.addresses == 3 && shop.typical_order == 4000",
    ] {
        assert_eq!(t(expr), Ok(true), "{expr}");
    }
}

#[test]
fn bad_expressions_are_refused_with_a_reason() {
    assert!(refused("order.total > \"x\"").contains("compares a number with text"));
    assert!(refused("false && order.total > 'x'").contains("compares a number with text"));
    assert!(refused("order.totl > 1").contains("`order` has only: total"));
    assert!(refused("foo > 1").contains("`foo`"));
    assert!(refused("order.total").contains("instead of true or false"));
    assert!(refused("order.total >").contains("could not be read"));
    assert!(refused("(order.total > 5").contains("line 1, column 17"));
    assert!(refused("matches(email.domain, 'x')").contains("not a function"));
    assert!(refused("Foo{a: 1} == 1").contains("message type"));
    assert!(refused("order.total.all(x, x > 1)").contains("only lists"));
    assert!(refused("order.lines.all(a, order.lines.all(b, true))").contains("one level"));
    assert!(refused("1 / 0 == 1").contains("divides by zero"));
    assert!(refused("").contains("write an expression"));
    assert!(refused(&format!("order.total > {}", "1".repeat(600))).contains("too long"));
    assert!(refused(&format!("{}1{} == 1", "(".repeat(17), ")".repeat(17))).contains("nested"));
}

#[test]
fn name_points_and_reason_are_checked() {
    let field = |r: Rule| CompiledRule::compile(&r).err().map(|e| e.field);
    let ok = rule("big-order_2", "order.total > 1", 10);
    assert_eq!(field(ok.clone()), None);
    assert_eq!(
        field(Rule {
            name: "has space".into(),
            ..ok.clone()
        }),
        Some("name".into())
    );
    assert_eq!(
        field(Rule {
            name: "x".repeat(41),
            ..ok.clone()
        }),
        Some("name".into())
    );
    assert_eq!(
        field(Rule {
            points: 101,
            ..ok.clone()
        }),
        Some("points".into())
    );
    assert_eq!(
        field(Rule {
            points: -101,
            ..ok.clone()
        }),
        Some("points".into())
    );
    assert_eq!(
        field(Rule {
            reason: " ".into(),
            ..ok.clone()
        }),
        Some("reason".into())
    );
    assert_eq!(
        field(Rule {
            reason: "x".repeat(201),
            ..ok
        }),
        Some("reason".into())
    );
}

#[test]
fn amounts_with_a_decimal_point_are_refused() {
    let e = refused("order.total > 500.00");
    assert!(e.contains("write 50000 for 500.00"), "{e}");
}

#[test]
fn rules_add_points_and_broken_ones_are_skipped() {
    let abroad = CompiledRule::compile(&rule(
        "abroad",
        "order.total > 50000 && billing.country != shipping.country",
        40,
    ))
    .expect("compiles");
    // Fine on the samples, fails on an order with no lines: evaluated and skipped.
    let first_line =
        CompiledRule::compile(&rule("first", "order.lines[0].quantity > 0", 15)).expect("compiles");
    let trusted = CompiledRule::compile(&rule("trusted", "email.domain == 'example.com'", -20))
        .expect("compiles");
    let rules = RuleSet::new(vec![abroad, first_line, trusted]);
    assert_eq!(rules.len(), 3);
    assert!(!rules.is_empty() && RuleSet::default().is_empty());
    let s = FraudSettings::default();
    let d = DisposableDomains::default();
    let mut i = plain();
    i.total_minor = 90_000;
    i.shipping = Some(other_address("FR"));
    let a = assess(&i, &s, &rules, &d);
    let pts = |c: &str| a.reasons.iter().find(|r| r.code == c).map(|r| r.points);
    assert_eq!(pts("rule:abroad"), Some(40));
    assert_eq!(pts("rule:first"), Some(15));
    assert_eq!(pts("rule:trusted"), Some(-20));
    assert_eq!(
        a.reasons
            .iter()
            .find(|r| r.code == "rule:abroad")
            .map(|r| r.text.as_str()),
        Some("Big order shipped abroad")
    );
    i.lines.clear();
    let a = assess(&i, &s, &rules, &d);
    assert!(a.reasons.iter().all(|r| r.code != "rule:first"), "{a:?}");
    assert!(a.reasons.iter().any(|r| r.code == "rule:abroad"));
    // The skipped rule is shown to staff, with no points.
    let skipped = a.reasons.iter().find(|r| r.code == "rule_error:first");
    assert_eq!(skipped.map(|r| r.points), Some(0), "{a:?}");
    assert!(skipped.is_some_and(|r| r.text.contains("could not be evaluated")));
}
