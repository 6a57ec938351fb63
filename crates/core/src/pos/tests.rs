//! Till pricing, discount size and payment checks: worked examples, rounding and bad input.
use super::*;

fn line(price: i64, qty: i64, rate: i64, discount: Discount) -> SaleLineInput {
    SaleLineInput {
        variant_id: format!("v{price}"),
        sku: "SKU".into(),
        name: "Mug".into(),
        unit_price_minor: price,
        quantity: qty,
        tax_rate_bp: rate,
        discount,
    }
}

#[test]
fn a_plain_sale_prices_like_checkout() {
    let t = price_sale(&[line(99, 3, 2000, Discount::None)], &Discount::None, true).unwrap();
    // 297p tax included at 20%: 49.5 -> 50p.
    assert_eq!(
        (t.subtotal_minor, t.tax_minor, t.total_minor),
        (297, 50, 297)
    );
    let t = price_sale(&[line(99, 3, 2000, Discount::None)], &Discount::None, false).unwrap();
    // Exclusive: 59.4 -> 59p on top.
    assert_eq!((t.tax_minor, t.total_minor), (59, 356));
}

#[test]
fn line_percent_rounds_half_up_once_per_line() {
    // 10% off 3 x 333 = 99.9 -> 100.
    let t = price_sale(
        &[line(333, 3, 2000, Discount::Percent(1000))],
        &Discount::None,
        true,
    )
    .unwrap();
    assert_eq!(t.lines[0].discount_minor, 100);
    assert_eq!(t.total_minor, 899);
    // Tax on what is left: 899 * 2000 / 12000 = 149.83 -> 150.
    assert_eq!(t.tax_minor, 150);
    // 25% off 150 = 37.5 -> 38.
    let t = price_sale(
        &[line(150, 1, 0, Discount::Percent(2500))],
        &Discount::None,
        true,
    )
    .unwrap();
    assert_eq!(t.discount_minor, 38);
}

#[test]
fn line_amount_and_order_discount_keep_tax_right() {
    let lines = [
        line(1000, 1, 2000, Discount::Amount(200)),
        line(500, 2, 0, Discount::None),
    ];
    // Goods after line discounts: 800 + 1000 = 1800; £1.00 off shared 44/56 pro rata.
    let t = price_sale(&lines, &Discount::Amount(100), true).unwrap();
    assert_eq!(t.subtotal_minor, 2000);
    assert_eq!(t.discount_minor, 300);
    assert_eq!(t.lines[0].discount_minor, 200 + 44);
    assert_eq!(t.lines[1].discount_minor, 56);
    assert_eq!(t.total_minor, 1700);
    // Tax only on the taxed line, after both discounts: 756 * 2000 / 12000 = 126.
    assert_eq!(t.lines[0].tax_minor, 126);
    assert_eq!(t.lines[1].tax_minor, 0);
    assert_eq!(t.tax_minor, 126);
    let sum: i64 = t.lines.iter().map(|l| l.total_minor).sum();
    assert_eq!(sum, t.total_minor);
    // £1.00 off three £1.00 lines: 34/33/33 (the earlier line takes the odd penny).
    let three = [
        line(100, 1, 0, Discount::None),
        line(100, 1, 0, Discount::None),
        line(100, 1, 0, Discount::None),
    ];
    let t = price_sale(&three, &Discount::Amount(100), false).unwrap();
    let shares: Vec<i64> = t.lines.iter().map(|l| l.discount_minor).collect();
    assert_eq!(shares, vec![34, 33, 33]);
    // An order percentage, tax exclusive: 10% of 2000 = 200; tax 20% on 1800 = 360.
    let t = price_sale(
        &[line(1000, 2, 2000, Discount::None)],
        &Discount::Percent(1000),
        false,
    )
    .unwrap();
    assert_eq!(
        (t.discount_minor, t.tax_minor, t.total_minor),
        (200, 360, 2160)
    );
}

#[test]
fn bad_lines_and_discounts_name_their_field() {
    let e = price_sale(&[], &Discount::None, true).unwrap_err();
    assert_eq!(e.field, "lines");
    let e = price_sale(
        &[
            line(100, 1, 0, Discount::None),
            line(100, 0, 0, Discount::None),
        ],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[1].quantity");
    let e = price_sale(
        &[line(100, 10_000, 0, Discount::None)],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[0].quantity");
    let e = price_sale(&[line(-1, 1, 0, Discount::None)], &Discount::None, true).unwrap_err();
    assert_eq!(e.field, "lines[0].unit_price_minor");
    let e = price_sale(
        &[line(100, 1, 0, Discount::Amount(101))],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[0].discount");
    let e = price_sale(
        &[line(100, 1, 0, Discount::Percent(10_001))],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[0].discount");
    let e = price_sale(
        &[line(100, 1, 0, Discount::Amount(-1))],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[0].discount");
    let e = price_sale(
        &[line(100, 1, 0, Discount::Amount(50))],
        &Discount::Amount(51),
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "order_discount");
    let e = price_sale(
        &[line(100, 1, 10_001, Discount::None)],
        &Discount::None,
        true,
    )
    .unwrap_err();
    assert_eq!(e.field, "lines[0].tax_rate_bp");
    // Everything off is allowed: the sale is free.
    let t = price_sale(
        &[line(100, 1, 2000, Discount::None)],
        &Discount::Percent(10_000),
        true,
    )
    .unwrap();
    assert_eq!((t.total_minor, t.tax_minor), (0, 0));
}

#[test]
fn discount_bp_is_the_largest_combined_discount() {
    let t = price_sale(
        &[line(335, 1, 0, Discount::Percent(1000))],
        &Discount::None,
        true,
    )
    .unwrap();
    // 33.5 rounds to 34p (10.15% of 335) but the cashier asked for exactly 10%.
    assert_eq!(t.discount_minor, 34);
    assert_eq!(discount_bp(&t), 1000);
    let t = price_sale(
        &[
            line(1000, 1, 0, Discount::Percent(1000)),
            line(1000, 1, 0, Discount::None),
        ],
        &Discount::Percent(1000),
        true,
    )
    .unwrap();
    // 10% then 10% again on the first line: 19% off it.
    assert_eq!(discount_bp(&t), 1900);
    // An amount: 34p off 333p is 10.21% -> 1022 (rounded up).
    let t = price_sale(
        &[line(333, 1, 0, Discount::Amount(34))],
        &Discount::None,
        true,
    )
    .unwrap();
    assert_eq!(discount_bp(&t), 1022);
    // An order amount over two lines: £2 off £20 is 10% of each line.
    let t = price_sale(
        &[
            line(1000, 1, 0, Discount::None),
            line(1000, 1, 0, Discount::None),
        ],
        &Discount::Amount(200),
        true,
    )
    .unwrap();
    assert_eq!(discount_bp(&t), 1000);
    let t = price_sale(&[line(1000, 1, 0, Discount::None)], &Discount::None, true).unwrap();
    assert_eq!(discount_bp(&t), 0);
}

fn cash(amount: i64, tendered: i64) -> TenderInput {
    TenderInput::Cash {
        amount_minor: amount,
        tendered_minor: tendered,
    }
}

fn card(amount: i64, brand: &str, last4: &str) -> TenderInput {
    TenderInput::Card {
        amount_minor: amount,
        brand: brand.into(),
        last4: last4.into(),
    }
}

#[test]
fn tenders_give_change_and_must_add_up() {
    assert_eq!(check_tenders(1250, &[cash(1250, 2000)]).unwrap(), 750);
    assert_eq!(
        check_tenders(3000, &[cash(1000, 1000), card(2000, "Visa", "4242")]).unwrap(),
        0
    );
    assert_eq!(check_tenders(500, &[card(500, "", "")]).unwrap(), 0);
    assert_eq!(check_tenders(0, &[]).unwrap(), 0);
    let e = check_tenders(1250, &[cash(1000, 2000)]).unwrap_err();
    assert_eq!(e.field, "payments");
    assert!(
        e.message.contains("£10.00") && e.message.contains("£12.50"),
        "{e}"
    );
    let e = check_tenders(1250, &[]).unwrap_err();
    assert_eq!(e.field, "payments");
    let e = check_tenders(1250, &[cash(1250, 1000)]).unwrap_err();
    assert_eq!(e.field, "payments[0].tendered_minor");
    let e = check_tenders(0, &[cash(0, 0)]).unwrap_err();
    assert_eq!(e.field, "payments[0].amount_minor");
}

#[test]
fn card_details_are_brand_and_last_four_only() {
    let e = check_tenders(
        1000,
        &[cash(500, 500), card(500, "visa", "4242424242424242")],
    )
    .unwrap_err();
    assert_eq!(e.field, "payments[1].last4");
    assert!(!e.message.contains("4242"), "never echoed: {e}");
    let e = check_tenders(1000, &[card(1000, "visa", "42a2")]).unwrap_err();
    assert_eq!(e.field, "payments[0].last4");
    let e = check_tenders(1000, &[card(1000, "dinersclub", "4242")]).unwrap_err();
    assert_eq!(e.field, "payments[0].brand");
    let too_many: Vec<TenderInput> = (0..11).map(|_| cash(1, 1)).collect();
    assert_eq!(check_tenders(11, &too_many).unwrap_err().field, "payments");
}

#[test]
fn discounts_read_from_json() {
    let d: Discount = serde_json::from_str(r#"{"kind":"percent","value":1000}"#).unwrap();
    assert_eq!(d, Discount::Percent(1000));
    let d: Discount = serde_json::from_str(r#"{"kind":"none"}"#).unwrap();
    assert_eq!(d, Discount::None);
    let t: TenderInput =
        serde_json::from_str(r#"{"method":"cash","amount_minor":5,"tendered_minor":10}"#).unwrap();
    assert_eq!(t, cash(5, 10));
}
