//! Till sales: pricing a sale with line and order discounts, how big the largest discount is
//! (for the cashier's limit), and checking the payments handed over (cash with change, card on
//! an external terminal, or both).
//!
//! # Pricing
//! A till sale is priced exactly as checkout prices a cart, by [`crate::pricing::quote`]:
//! 1. each line's own discount comes off its gross (`unit price x quantity`); a percentage is
//!    rounded half up once for the line (10% off 3 x £3.33 = 99.9p -> £1.00);
//! 2. the order discount is taken from the goods after line discounts (a percentage rounded half
//!    up once for the sale) and shared out over the lines pro rata by what is left of each, with
//!    the largest-remainder method, so line discounts add up exactly;
//! 3. tax is worked out per line on what is left after both discounts, inclusive or exclusive
//!    as the shop prices, so a discount lowers the tax with it.

use serde::{Deserialize, Serialize};

use crate::money::{validate_price, Currency, MAX_PRICE_MINOR};
use crate::pricing::{self, DiscountCode, DiscountKind, PriceMode, PricingLine};
use crate::ValidationError;

/// Most of one item a single till line may hold.
pub const MAX_LINE_QUANTITY: i64 = 9_999;
/// Most lines in one till sale.
pub const MAX_LINES: usize = 200;
/// Most payments in one till sale.
pub const MAX_TENDERS: usize = 10;
/// Card brands a cashier may record (or none).
pub const CARD_BRANDS: [&str; 6] = ["visa", "mastercard", "amex", "discover", "maestro", "other"];

/// A discount the cashier gives, on one line or on the whole sale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Discount {
    /// No discount.
    #[default]
    None,
    /// Basis points off, 0..=10000 (1000 = 10%).
    Percent(i64),
    /// Minor units off, at most what it applies to.
    Amount(i64),
}

/// One line the till sells, with the catalog's price (never the device's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLineInput {
    /// The variant sold.
    pub variant_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its name ("Mug (Blue)").
    pub name: String,
    /// Unit price in minor units, as the shop enters prices (tax included or not).
    pub unit_price_minor: i64,
    /// How many, 1..=[`MAX_LINE_QUANTITY`].
    pub quantity: i64,
    /// Tax rate in basis points.
    pub tax_rate_bp: i64,
    /// The line's own discount.
    pub discount: Discount,
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    /// The variant sold.
    pub variant_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Unit price as entered.
    pub unit_price_minor: i64,
    /// How many.
    pub quantity: i64,
    /// Tax rate in basis points.
    pub tax_rate_bp: i64,
    /// The line's own discount as asked for (read back from an order: its whole discount as
    /// an amount).
    pub discount: Discount,
    /// `unit_price_minor * quantity`.
    pub gross_minor: i64,
    /// Everything off this line: its own discount plus its share of the order discount.
    pub discount_minor: i64,
    /// Tax within (or on top of) what is left.
    pub tax_minor: i64,
    /// What the customer pays for the line, tax included.
    pub total_minor: i64,
}

/// A priced till sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleTotals {
    /// The lines, in the order given.
    pub lines: Vec<PricedLine>,
    /// The order discount as asked for (`None` when read back from an order).
    pub order_discount: Discount,
    /// Sum of line grosses.
    pub subtotal_minor: i64,
    /// All discounts: lines' own plus the order discount.
    pub discount_minor: i64,
    /// All tax.
    pub tax_minor: i64,
    /// What the customer pays.
    pub total_minor: i64,
}

fn line_field(i: usize, name: &str) -> String {
    format!("lines[{i}].{name}")
}

fn check_discount(field: &str, d: &Discount, base: i64) -> Result<i64, ValidationError> {
    match *d {
        Discount::None => Ok(0),
        Discount::Percent(bp) if !(0..=10_000).contains(&bp) => Err(ValidationError::new(
            field,
            "a percentage discount must be from 0% to 100%",
        )),
        Discount::Percent(0) => Ok(0),
        Discount::Percent(bp) => Ok(percent_code(bp).amount_off(base)),
        Discount::Amount(a) if a < 0 => Err(ValidationError::new(
            field,
            "a discount must not be negative",
        )),
        Discount::Amount(a) if a > base => Err(ValidationError::new(
            field,
            "a discount cannot be more than what it is taken from",
        )),
        Discount::Amount(a) => Ok(a),
    }
}

fn percent_code(bp: i64) -> DiscountCode {
    code(DiscountKind::Percent, bp)
}

fn code(kind: DiscountKind, value: i64) -> DiscountCode {
    DiscountCode {
        id: String::new(),
        code: "POS".into(),
        kind,
        value,
        min_spend_minor: 0,
        expires_at: None,
        usage_limit: None,
        used_count: 0,
        enabled: true,
    }
}

/// Price a till sale exactly as the shop prices (see the module docs). Errors name the field:
/// `lines[2].quantity`, `lines[0].discount`, `order_discount`, `lines`.
pub fn price_sale(
    lines: &[SaleLineInput],
    order_discount: &Discount,
    prices_include_tax: bool,
) -> Result<SaleTotals, ValidationError> {
    if lines.is_empty() {
        return Err(ValidationError::new("lines", "add at least one item"));
    }
    if lines.len() > MAX_LINES {
        return Err(ValidationError::new(
            "lines",
            format!("a sale holds at most {MAX_LINES} lines; split it"),
        ));
    }
    let mut nets = Vec::with_capacity(lines.len());
    let mut own = Vec::with_capacity(lines.len());
    let mut grosses = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if !(1..=MAX_LINE_QUANTITY).contains(&l.quantity) {
            return Err(ValidationError::new(
                line_field(i, "quantity"),
                format!(
                    "{}: choose a quantity from 1 to {MAX_LINE_QUANTITY}",
                    l.name
                ),
            ));
        }
        validate_price(&line_field(i, "unit_price_minor"), l.unit_price_minor)?;
        if !(0..=10_000).contains(&l.tax_rate_bp) {
            return Err(ValidationError::new(
                line_field(i, "tax_rate_bp"),
                "a tax rate must be from 0% to 100%",
            ));
        }
        let gross = l.unit_price_minor * l.quantity; // both bounded: fits easily in i64
        let off = check_discount(&line_field(i, "discount"), &l.discount, gross)?;
        let net = gross - off;
        if net > MAX_PRICE_MINOR {
            return Err(ValidationError::new(
                line_field(i, "quantity"),
                "this line is too large for one sale; split it",
            ));
        }
        grosses.push(gross);
        own.push(off);
        nets.push(net);
    }
    let goods: i64 = nets.iter().sum();
    let order_code = match *order_discount {
        Discount::None | Discount::Percent(0) | Discount::Amount(0) => {
            check_discount("order_discount", order_discount, goods)?;
            None
        }
        Discount::Percent(bp) => {
            check_discount("order_discount", order_discount, goods)?;
            Some(percent_code(bp))
        }
        Discount::Amount(a) => {
            check_discount("order_discount", order_discount, goods)?;
            Some(code(DiscountKind::Fixed, a))
        }
    };
    // Each line goes to the shop's own pricing as one unit at its price after its own
    // discount: the order discount is then shared by what is left of each line, and tax is
    // worked out on the rest, with checkout's rounding.
    let pricing_lines: Vec<PricingLine> = lines
        .iter()
        .zip(&nets)
        .map(|(l, net)| PricingLine {
            variant_id: l.variant_id.clone(),
            sku: l.sku.clone(),
            name: l.name.clone(),
            unit_price_minor: *net,
            quantity: 1,
            tax_rate_bp: l.tax_rate_bp,
        })
        .collect();
    let mode = PriceMode::from_prices_include_tax(prices_include_tax);
    let q = pricing::quote(&pricing_lines, mode, None, order_code.as_ref())
        .map_err(|e| ValidationError::new("order_discount", e.message))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, (l, ql)) in lines.iter().zip(&q.lines).enumerate() {
        out.push(PricedLine {
            variant_id: l.variant_id.clone(),
            sku: l.sku.clone(),
            name: l.name.clone(),
            unit_price_minor: l.unit_price_minor,
            quantity: l.quantity,
            tax_rate_bp: l.tax_rate_bp,
            discount: l.discount,
            gross_minor: grosses[i],
            discount_minor: own[i] + ql.discount_minor,
            tax_minor: ql.tax_minor,
            total_minor: ql.total_minor,
        });
    }
    Ok(SaleTotals {
        subtotal_minor: grosses.iter().sum(),
        discount_minor: out.iter().map(|l| l.discount_minor).sum(),
        tax_minor: q.tax_minor,
        total_minor: q.total_minor,
        lines: out,
        order_discount: *order_discount,
    })
}

/// The largest discount in the sale, in basis points of what it would have cost: for each line,
/// its own discount and the order discount combined (10% off a line plus 10% off the sale is
/// 1900), from the discounts as asked for, so rounding to the minor unit never pushes an exact
/// 10% over a 10% limit. Rounded up: anything above a limit counts as above it.
pub fn discount_bp(t: &SaleTotals) -> i64 {
    let nets: i128 = t
        .lines
        .iter()
        .map(|l| i128::from(l.gross_minor) - i128::from(own_off(l)))
        .sum();
    // The order discount as a fraction n2/d2 of the goods after line discounts.
    let (n2, d2): (i128, i128) = match t.order_discount {
        Discount::Percent(bp) => (i128::from(bp.clamp(0, 10_000)), 10_000),
        Discount::Amount(a) if nets > 0 => (i128::from(a).clamp(0, nets), nets),
        _ => (0, 1),
    };
    let mut max = 0i128;
    for l in &t.lines {
        let gross = i128::from(l.gross_minor);
        if gross <= 0 {
            continue;
        }
        let (n1, d1): (i128, i128) = match l.discount {
            Discount::Percent(bp) => (i128::from(bp.clamp(0, 10_000)), 10_000),
            Discount::Amount(a) => (i128::from(a).clamp(0, gross), gross),
            Discount::None => (0, 1),
        };
        // 1 - (1 - n1/d1)(1 - n2/d2), in basis points, rounded up.
        let den = d1 * d2;
        let num = den - (d1 - n1) * (d2 - n2);
        let bp = (num * 10_000 + den - 1) / den;
        max = max.max(bp);
    }
    i64::try_from(max.clamp(0, 10_000)).unwrap_or(10_000)
}

fn own_off(l: &PricedLine) -> i64 {
    check_discount("", &l.discount, l.gross_minor).unwrap_or(0)
}

/// A payment handed over at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum TenderInput {
    /// Cash: `amount_minor` goes towards the sale, `tendered_minor` is what was handed over.
    Cash {
        /// Part of the total paid in cash.
        amount_minor: i64,
        /// Cash handed over (at least the amount; the rest is change).
        tendered_minor: i64,
    },
    /// A card on an external terminal: at most the brand and last 4 digits are recorded.
    Card {
        /// Part of the total paid by card.
        amount_minor: i64,
        /// One of [`CARD_BRANDS`] or empty.
        #[serde(default)]
        brand: String,
        /// Exactly 4 digits, or empty.
        #[serde(default)]
        last4: String,
    },
}

impl TenderInput {
    /// The part of the total this payment covers.
    pub fn amount_minor(&self) -> i64 {
        match self {
            TenderInput::Cash { amount_minor, .. } | TenderInput::Card { amount_minor, .. } => {
                *amount_minor
            }
        }
    }
}

/// [`check_tenders_in`] with amounts in messages shown in pounds sterling.
pub fn check_tenders(total_minor: i64, t: &[TenderInput]) -> Result<i64, ValidationError> {
    check_tenders_in(&Currency::from_code("GBP")?, total_minor, t)
}

/// Check the payments of a sale of `total_minor` and return the change due. Payments must add
/// up exactly to the total; cash tendered must cover its amount (change is the sum of the
/// differences); a card's brand is one of [`CARD_BRANDS`] (any case) or empty and its last 4
/// exactly 4 digits or empty. Errors name the field: `payments[1].last4`.
pub fn check_tenders_in(
    currency: &Currency,
    total_minor: i64,
    t: &[TenderInput],
) -> Result<i64, ValidationError> {
    if t.len() > MAX_TENDERS {
        return Err(ValidationError::new(
            "payments",
            format!("a sale takes at most {MAX_TENDERS} payments"),
        ));
    }
    let mut sum: i64 = 0;
    let mut change: i64 = 0;
    for (i, p) in t.iter().enumerate() {
        let field = |n: &str| format!("payments[{i}].{n}");
        let amount = p.amount_minor();
        if amount <= 0 {
            return Err(ValidationError::new(
                field("amount_minor"),
                "each payment must be above zero",
            ));
        }
        validate_price(&field("amount_minor"), amount)?;
        match p {
            TenderInput::Cash { tendered_minor, .. } => {
                validate_price(&field("tendered_minor"), *tendered_minor)?;
                if *tendered_minor < amount {
                    return Err(ValidationError::new(
                        field("tendered_minor"),
                        format!(
                            "{} handed over does not cover {}",
                            currency.format(*tendered_minor),
                            currency.format(amount)
                        ),
                    ));
                }
                change += tendered_minor - amount;
            }
            TenderInput::Card { brand, last4, .. } => {
                let b = brand.trim().to_ascii_lowercase();
                if !b.is_empty() && !CARD_BRANDS.contains(&b.as_str()) {
                    return Err(ValidationError::new(
                        field("brand"),
                        "choose visa, mastercard, amex, discover, maestro or other",
                    ));
                }
                let l4 = last4.trim();
                if !l4.is_empty() && (l4.len() != 4 || !l4.bytes().all(|c| c.is_ascii_digit())) {
                    // Never echo what was typed: it may be a whole card number.
                    return Err(ValidationError::new(
                        field("last4"),
                        "enter only the last 4 digits of the card, never the whole number",
                    ));
                }
            }
        }
        sum += amount;
    }
    if sum != total_minor {
        let msg = if t.is_empty() {
            format!("take a payment of {}", currency.format(total_minor))
        } else {
            format!(
                "the payments add up to {} but the total is {}",
                currency.format(sum),
                currency.format(total_minor)
            )
        };
        return Err(ValidationError::new("payments", msg));
    }
    Ok(change)
}

#[cfg(test)]
mod tests;
