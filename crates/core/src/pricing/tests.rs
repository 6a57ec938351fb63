//! Tests of the pricing rules: worked rounding examples, every boundary, and an exhaustive
//! sweep of small prices checking the invariants.
use super::*;
use PriceMode::{TaxExclusive as Ex, TaxInclusive as Inc};

fn line(price: i64, qty: i64, rate: i64) -> PricingLine {
    PricingLine {
        variant_id: format!("v{price}"),
        sku: "SKU".into(),
        name: "Mug".into(),
        unit_price_minor: price,
        quantity: qty,
        tax_rate_bp: rate,
    }
}

fn ship(kind: ShippingKind, amount: i64, threshold: Option<i64>) -> ShippingMethod {
    ShippingMethod {
        id: "s1".into(),
        name: "Post".into(),
        kind,
        amount_minor: amount,
        threshold_minor: threshold,
        enabled: true,
    }
}

fn code(kind: DiscountKind, value: i64) -> DiscountCode {
    DiscountCode {
        id: "d1".into(),
        code: "SAVE".into(),
        kind,
        value,
        min_spend_minor: 0,
        expires_at: None,
        usage_limit: None,
        used_count: 0,
        enabled: true,
    }
}

fn q(lines: &[PricingLine], mode: PriceMode, d: Option<&DiscountCode>) -> Quote {
    quote(lines, mode, None, d).unwrap()
}

#[test]
fn three_at_99p_inclusive_vs_exclusive() {
    let inc = q(&[line(99, 3, 2000)], Inc, None);
    assert_eq!(
        (inc.goods_minor, inc.tax_minor, inc.total_minor),
        (297, 50, 297)
    );
    assert!(inc.prices_include_tax);
    let ex = q(&[line(99, 3, 2000)], Ex, None);
    // 59.4 -> 59 on the line, not 3 x round(19.8) = 60.
    assert_eq!(
        (ex.goods_minor, ex.tax_minor, ex.total_minor),
        (297, 59, 356)
    );
    assert_eq!(ex.lines[0].total_minor, 356);
    assert!(!ex.prices_include_tax);
}

#[test]
fn penny_lines_zero_tax_and_half_up() {
    assert_eq!(q(&[line(1, 1, 2000)], Inc, None).tax_minor, 0);
    assert_eq!(q(&[line(1, 1, 2000)], Ex, None).total_minor, 1);
    assert_eq!(q(&[line(3, 1, 2000)], Ex, None).tax_minor, 1); // 0.6 -> 1
    assert_eq!(q(&[line(999, 1, 2000)], Inc, None).tax_minor, 167); // 166.5 -> 167
    assert_eq!(q(&[line(25, 1, 2000)], Ex, None).tax_minor, 5);
    assert_eq!(q(&[line(25, 1, 1000)], Ex, None).tax_minor, 3); // 2.5 -> 3
    let zero = q(&[line(1234, 2, 0)], Ex, None);
    assert_eq!((zero.tax_minor, zero.total_minor), (0, 2468));
    assert_eq!(div_half_up(-5, 2), -3); // away from zero
    assert_eq!(div_half_up(-4, 3), -1);
    let empty = q(&[], Inc, None);
    assert_eq!((empty.total_minor, empty.lines.len()), (0, 0));
}

#[test]
fn discount_rounds_half_up_and_allocates_exactly() {
    let d = code(DiscountKind::Percent, 2500);
    assert_eq!(q(&[line(150, 1, 0)], Inc, Some(&d)).discount_minor, 38); // 37.5
    let ten = code(DiscountKind::Percent, 1000);
    assert_eq!(q(&[line(333, 1, 0)], Inc, Some(&ten)).discount_minor, 33); // 33.3
    let lines = [line(100, 1, 2000), line(100, 1, 2000), line(100, 1, 2000)];
    let quid = code(DiscountKind::Fixed, 100);
    let got = q(&lines, Inc, Some(&quid));
    let shares: Vec<i64> = got.lines.iter().map(|l| l.discount_minor).collect();
    assert_eq!(shares, [34, 33, 33]);
    assert_eq!(got.total_minor, 200);
    // Largest remainder beats position: 5p over 2p/3p/4p is 1.11/1.67/2.22 -> 1/2/2.
    let uneven = [line(2, 1, 0), line(3, 1, 0), line(4, 1, 0)];
    let got = q(&uneven, Ex, Some(&code(DiscountKind::Fixed, 5)));
    let shares: Vec<i64> = got.lines.iter().map(|l| l.discount_minor).collect();
    assert_eq!(shares, [1, 2, 2]);
    // Tax is on the discounted line: 100 - 34 = 66 at 20% exclusive = 13.2 -> 13.
    let ex = q(&lines, Ex, Some(&quid));
    assert_eq!(ex.lines[0].tax_minor, 13);
    assert_eq!(ex.lines[1].tax_minor, 13); // 13.4
    assert_eq!(ex.total_minor, 200 + ex.tax_minor);
}

#[test]
fn full_and_oversized_discounts() {
    let all = code(DiscountKind::Percent, 10_000);
    let lines = [line(99, 3, 2000), line(1, 1, 500)];
    for mode in [Inc, Ex] {
        let got = q(&lines, mode, Some(&all));
        assert_eq!(
            (got.discount_minor, got.tax_minor, got.total_minor),
            (298, 0, 0)
        );
    }
    let big = code(DiscountKind::Fixed, 5_000);
    let got = q(&lines, Inc, Some(&big));
    assert_eq!((got.discount_minor, got.total_minor), (298, 0));
    assert!(got.lines.iter().all(|l| l.discount_minor == l.gross_minor));
    // Shipping is not discounted.
    let post = ship(ShippingKind::Flat, 300, None);
    let got = quote(&lines, Inc, Some((&post, 2000)), Some(&big)).unwrap();
    assert_eq!(
        (got.total_minor, got.shipping_tax_minor, got.tax_minor),
        (300, 50, 50)
    );
}

#[test]
fn shipping_kinds_and_free_over_boundary() {
    let free = ship(ShippingKind::FreeOver, 399, Some(5000));
    let at = quote(&[line(5000, 1, 2000)], Inc, Some((&free, 2000)), None).unwrap();
    assert_eq!((at.shipping_minor, at.total_minor), (0, 5000));
    let below = quote(&[line(4999, 1, 2000)], Inc, Some((&free, 2000)), None).unwrap();
    assert_eq!((below.shipping_minor, below.shipping_tax_minor), (399, 67)); // 66.5
    assert_eq!(below.total_minor, 4999 + 399);
    // A discount that takes goods under the threshold brings the charge back.
    let d = code(DiscountKind::Fixed, 1);
    let got = quote(&[line(5000, 1, 0)], Inc, Some((&free, 0)), Some(&d)).unwrap();
    assert_eq!(got.shipping_minor, 399);
    // Exclusive: shipping tax is added on top.
    let flat = ship(ShippingKind::Flat, 500, None);
    let ex = quote(&[line(1000, 1, 2000)], Ex, Some((&flat, 2000)), None).unwrap();
    assert_eq!((ex.shipping_minor, ex.shipping_tax_minor), (600, 100));
    assert_eq!((ex.tax_minor, ex.total_minor), (300, 1800));
    let pickup = ship(ShippingKind::Pickup, 0, None);
    assert!(!pickup.needs_address() && flat.needs_address() && free.needs_address());
    assert_eq!(pickup.price(1), 0);
    assert_eq!(
        ship(ShippingKind::FreeOver, 399, None).price(1_000_000),
        399
    );
    for k in [
        ShippingKind::Flat,
        ShippingKind::FreeOver,
        ShippingKind::Pickup,
    ] {
        assert_eq!(ShippingKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(ShippingKind::parse("Flat"), None);
}

#[test]
fn shipping_method_rules() {
    assert!(ship(ShippingKind::Flat, 0, None).validate().is_ok());
    let field = |m: ShippingMethod| m.validate().unwrap_err().field;
    assert_eq!(
        field(ship(ShippingKind::FreeOver, 399, None)),
        "threshold_minor"
    );
    assert_eq!(
        field(ship(ShippingKind::FreeOver, 399, Some(-1))),
        "threshold_minor"
    );
    assert_eq!(field(ship(ShippingKind::Flat, -1, None)), "amount_minor");
    let mut m = ship(ShippingKind::Flat, 100, None);
    m.name = "  ".into();
    assert_eq!(field(m.clone()), "name");
    m.name = "Post".into();
    m.enabled = false;
    let e = quote(&[line(1, 1, 0)], Inc, Some((&m, 0)), None).unwrap_err();
    assert_eq!(e.field, "shipping_method_id");
    m.enabled = true;
    let e = quote(&[line(1, 1, 0)], Inc, Some((&m, 10_001)), None).unwrap_err();
    assert_eq!(e.field, "tax_rate_bp");
}

#[test]
fn bad_lines_name_the_field() {
    for (l, field) in [
        (line(100, 0, 0), "quantity"),
        (line(100, 1000, 0), "quantity"),
        (line(100, i64::MAX, 0), "quantity"),
        (line(100, -1, 0), "quantity"),
        (line(-1, 1, 0), "unit_price_minor"),
        (line(i64::MAX, 1, 0), "unit_price_minor"),
        (line(100, 1, 10_001), "tax_rate_bp"),
        (line(100, 1, -1), "tax_rate_bp"),
    ] {
        let e = quote(&[line(5, 1, 0), l], Ex, None, None).unwrap_err();
        assert_eq!(e.field, field);
        assert!(!e.message.is_empty());
    }
    let bad = code(DiscountKind::Percent, 10_001);
    let e = quote(&[line(5, 1, 0)], Ex, None, Some(&bad)).unwrap_err();
    assert_eq!(e.field, "discount_code");
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    // Quantity and price limits keep a line under 1e13, so only ~925,000 lines of the
    // largest price overflow i64 (names empty to keep the test's memory small).
    let max = PricingLine {
        variant_id: String::new(),
        sku: String::new(),
        name: String::new(),
        unit_price_minor: crate::money::MAX_PRICE_MINOR,
        quantity: MAX_QUANTITY,
        tax_rate_bp: 10_000,
    };
    let lines = vec![max; 925_000];
    for mode in [Inc, Ex] {
        assert_eq!(quote(&lines, mode, None, None).unwrap_err().field, "total");
    }
    // Half as many fit as goods, but 100% tax added on top doubles past i64.
    let half = &lines[..462_000];
    assert_eq!(quote(half, Ex, None, None).unwrap_err().field, "total");
    assert!(quote(half, Inc, None, None).is_ok());
}

#[test]
fn discount_code_rules() {
    let gbp = Currency::from_code("GBP").unwrap();
    let mut d = code(DiscountKind::Fixed, 500);
    d.min_spend_minor = 2000;
    assert!(d.validate().is_ok());
    assert!(d.check(0, 2000, &gbp).is_ok());
    let e = d.check(0, 1999, &gbp).unwrap_err();
    assert_eq!(e.field, "discount_code");
    assert_eq!(e.message, "spend at least £20.00 to use this code");
    d.expires_at = Some(1000);
    assert!(d.check(999, 5000, &gbp).is_ok());
    assert!(d
        .check(1000, 5000, &gbp)
        .unwrap_err()
        .message
        .contains("expired"));
    d.expires_at = None;
    d.usage_limit = Some(3);
    d.used_count = 2;
    assert!(d.check(0, 5000, &gbp).is_ok());
    d.used_count = 3;
    assert!(d
        .check(0, 5000, &gbp)
        .unwrap_err()
        .message
        .contains("used up"));
    d.enabled = false;
    assert!(d
        .check(0, 5000, &gbp)
        .unwrap_err()
        .message
        .contains("not active"));

    let field = |d: DiscountCode| d.validate().unwrap_err().field;
    assert_eq!(field(code(DiscountKind::Percent, 0)), "value");
    assert_eq!(field(code(DiscountKind::Percent, 10_001)), "value");
    assert_eq!(field(code(DiscountKind::Fixed, 0)), "value");
    let mut bad = code(DiscountKind::Fixed, 1);
    bad.code = "no spaces".into();
    assert_eq!(field(bad.clone()), "code");
    bad.code = " summer-10 ".into();
    assert!(bad.validate().is_ok());
    bad.usage_limit = Some(0);
    assert_eq!(field(bad.clone()), "usage_limit");
    bad.usage_limit = None;
    bad.min_spend_minor = -1;
    assert_eq!(field(bad), "min_spend_minor");
    assert_eq!(normalize_code("  summer10 "), "SUMMER10");
    for k in [DiscountKind::Percent, DiscountKind::Fixed] {
        assert_eq!(DiscountKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(DiscountKind::parse("bogus"), None);
}

/// Every combination of small prices, quantities, rates, discounts, modes and shipping:
/// the sums add up, nothing is negative, and every rounding is half up of the exact value.
#[test]
fn exhaustive_invariants_over_small_prices() {
    let discounts: Vec<Option<DiscountCode>> = std::iter::once(None)
        .chain([1, 3333, 5000, 10_000].map(|v| Some(code(DiscountKind::Percent, v))))
        .chain([1, 50, 10_000].map(|v| Some(code(DiscountKind::Fixed, v))))
        .collect();
    let flat = ship(ShippingKind::Flat, 299, None);
    let free = ship(ShippingKind::FreeOver, 199, Some(100));
    let shippings = [None, Some((&flat, 2000)), Some((&free, 500))];
    let mut checked = 0;
    for p1 in 0..60 {
        for p2 in [0, 1, 7, 33, 99] {
            for qty in 1..=3 {
                for rate in [0, 500, 2000, 10_000] {
                    let lines = [line(p1, qty, rate), line(p2, 1, 2000)];
                    for d in &discounts {
                        for mode in [Inc, Ex] {
                            for s in shippings {
                                let got = quote(&lines, mode, s, d.as_ref()).unwrap();
                                invariants(&got, mode, s.map(|x| x.1));
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 60 * 5 * 3 * 4 * 8 * 2 * 3);
}

fn invariants(got: &Quote, mode: PriceMode, ship_rate: Option<i64>) {
    let sum = |f: fn(&QuoteLine) -> i64| got.lines.iter().map(f).sum::<i64>();
    assert_eq!(sum(|l| l.total_minor) + got.shipping_minor, got.total_minor);
    assert_eq!(sum(|l| l.discount_minor), got.discount_minor);
    assert_eq!(sum(|l| l.gross_minor), got.goods_minor);
    assert_eq!(sum(|l| l.tax_minor) + got.shipping_tax_minor, got.tax_minor);
    assert!(got.tax_minor >= 0 && got.shipping_tax_minor >= 0);
    assert!(got.discount_minor <= got.goods_minor && got.tax_minor <= got.total_minor);
    let lines_tax = got.tax_minor - got.shipping_tax_minor;
    let expect = match mode {
        Inc => got.goods_minor - got.discount_minor + got.shipping_minor,
        Ex => got.goods_minor - got.discount_minor + lines_tax + got.shipping_minor,
    };
    assert_eq!(got.total_minor, expect, "{got:?}");
    for l in &got.lines {
        assert!((0..=l.gross_minor).contains(&l.discount_minor));
        // Each share is within 1 of its exact pro-rata value.
        let exact = i128::from(got.discount_minor) * i128::from(l.gross_minor);
        let err = i128::from(l.discount_minor) * i128::from(got.goods_minor.max(1)) - exact;
        assert!(err.abs() < i128::from(got.goods_minor.max(1)), "{got:?}");
        let net = l.gross_minor - l.discount_minor;
        assert_half_up(l.tax_minor, net, l.tax_rate_bp, mode);
        let tax_in_total = if mode == Inc { 0 } else { l.tax_minor };
        assert_eq!(l.total_minor, net + tax_in_total);
    }
    if let Some(r) = ship_rate {
        let entered = match mode {
            Inc => got.shipping_minor,
            Ex => got.shipping_minor - got.shipping_tax_minor,
        };
        assert_half_up(got.shipping_tax_minor, entered, r, mode);
    }
}

/// `tax` is `amount * r / den` rounded half up: -1/2 < tax - exact <= 1/2.
fn assert_half_up(tax: i64, amount: i64, r: i64, mode: PriceMode) {
    let den = i128::from(if mode == Inc { 10_000 + r } else { 10_000 });
    let err2 = 2 * (i128::from(tax) * den - i128::from(amount) * i128::from(r));
    assert!(-den < err2 && err2 <= den, "tax {tax} on {amount} at {r}");
}

#[test]
fn plugin_adjustments_join_the_code_discount_and_never_exceed_the_goods() {
    let adj = |label: &str, amount| Adjustment {
        label: label.into(),
        amount_minor: amount,
    };
    // £10 of goods, a £2 code, then a plugin's £5 and another's £5: the second is capped at £3.
    let lines = [line(500, 2, 2000)];
    let d = code(DiscountKind::Fixed, 200);
    let q = quote_with(
        &lines,
        Inc,
        None,
        Some(&d),
        &[
            adj("Bulk", 500),
            adj("Loyalty", 500),
            adj("Nothing left", 100),
        ],
    )
    .unwrap();
    assert_eq!(q.discount_minor, 1000);
    assert_eq!(q.total_minor, 0);
    assert_eq!(q.adjustments, vec![adj("Bulk", 500), adj("Loyalty", 300)]);
    // A negative amount (a plugin trying to raise a price) takes nothing off and adds nothing.
    let q = quote_with(&lines, Inc, None, None, &[adj("Sneaky", -500)]).unwrap();
    assert_eq!((q.discount_minor, q.total_minor), (0, 1000));
    assert!(q.adjustments.is_empty());
}
