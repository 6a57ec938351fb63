//! Cart pricing: tax per line, shipping methods, discount codes and the checkout [`quote`].
//!
//! # Rounding
//! Every rounded figure is computed from the exact rational value in `i128` and rounded once,
//! half up (away from zero), to the minor unit. Tax is worked out per line on the line's amount
//! after discount (never per unit), and separately for shipping.
//! - 3 x £0.99 at 20%, prices include tax: line 297p, tax 297 x 2000 / 12000 = 49.5 -> 50p,
//!   total 297p. Prices exclude tax: tax 297 x 0.2 = 59.4 -> 59p, total 356p (per unit it would
//!   have been 3 x 20p = 60p, which is why we never round per unit).
//! - 1p at 20%: inclusive 0.1667 -> 0p, exclusive 0.2 -> 0p. 3p exclusive at 20%: 0.6 -> 1p.
//! - 25% off £1.50 is 37.5 -> 38p; 10% off £3.33 is 33.3 -> 33p.
//!
//! # Discount allocation
//! The discount (on goods only, never shipping) is rounded once for the whole order and then
//! shared out to lines pro rata by gross with the largest-remainder method, so the line discounts
//! add up to the order discount exactly. £1.00 off three £1.00 lines: exact shares 33.33p each,
//! floors 33p, the 1p left over goes to the largest remainder, ties to the earlier line: 34/33/33.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::{validate_price, Currency};
use crate::ValidationError;

/// Most of one item a single order line may hold.
pub const MAX_QUANTITY: i64 = 999;
/// 100% in basis points.
const FULL_BP: i128 = 10_000;

/// Whether prices (and shipping amounts) are entered with tax included or before tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceMode {
    /// Prices include tax (UK/EU retail): the tax is carved out of the price.
    TaxInclusive,
    /// Prices are before tax (US style): tax is added on top.
    TaxExclusive,
}

impl PriceMode {
    /// The mode for the shop setting "prices include tax".
    pub fn from_prices_include_tax(include: bool) -> PriceMode {
        if include {
            PriceMode::TaxInclusive
        } else {
            PriceMode::TaxExclusive
        }
    }
}

/// One cart line to price: what the catalog says now, never what the browser sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingLine {
    /// The variant sold.
    pub variant_id: String,
    /// Its SKU, copied onto the order.
    pub sku: String,
    /// Its name, copied onto the order.
    pub name: String,
    /// Unit price in minor units, in the shop's [`PriceMode`].
    pub unit_price_minor: i64,
    /// How many, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Tax rate in basis points (2000 = 20%).
    pub tax_rate_bp: i64,
}

/// How a shipping method charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShippingKind {
    /// Always `amount_minor`.
    Flat,
    /// `amount_minor`, or free once goods after discount reach `threshold_minor`.
    FreeOver,
    /// Collect in person: `amount_minor` (usually 0) and no delivery address.
    Pickup,
}

impl ShippingKind {
    /// Stored name: `flat`, `free_over`, `pickup`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShippingKind::Flat => "flat",
            ShippingKind::FreeOver => "free_over",
            ShippingKind::Pickup => "pickup",
        }
    }

    /// Parse a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<ShippingKind> {
        [
            ShippingKind::Flat,
            ShippingKind::FreeOver,
            ShippingKind::Pickup,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A delivery option the shop offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingMethod {
    /// The method's ID.
    pub id: String,
    /// Name shown to shoppers ("Royal Mail 2nd class").
    pub name: String,
    /// How it charges.
    pub kind: ShippingKind,
    /// Charge in minor units, in the shop's [`PriceMode`].
    pub amount_minor: i64,
    /// For [`ShippingKind::FreeOver`]: goods after discount at or above this ship free.
    /// Ignored by the other kinds.
    pub threshold_minor: Option<i64>,
    /// Offered to shoppers.
    pub enabled: bool,
}

impl ShippingMethod {
    /// Check the method before it is saved: a name, sane amounts, a threshold for free-over.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ValidationError::new(
                "name",
                "give the delivery option a name (up to 200 characters)",
            ));
        }
        validate_price("amount_minor", self.amount_minor)?;
        match (self.kind, self.threshold_minor) {
            (ShippingKind::FreeOver, None) => Err(ValidationError::new(
                "threshold_minor",
                "enter the order amount above which delivery is free",
            )),
            (ShippingKind::FreeOver, Some(t)) => validate_price("threshold_minor", t).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// The charge for goods worth `goods_after_discount_minor` (as entered, same mode as the
    /// amount). Free-over is free when goods reach the threshold exactly; without a threshold it
    /// is never free.
    pub fn price(&self, goods_after_discount_minor: i64) -> i64 {
        match (self.kind, self.threshold_minor) {
            (ShippingKind::FreeOver, Some(t)) if goods_after_discount_minor >= t => 0,
            _ => self.amount_minor,
        }
    }

    /// Whether the shopper must give a delivery address (not for pickup).
    pub fn needs_address(&self) -> bool {
        self.kind != ShippingKind::Pickup
    }
}

/// How a discount code takes money off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// `value` is a percentage in basis points, 1..=10000 (1000 = 10% off).
    Percent,
    /// `value` is an amount in minor units, capped at the goods total.
    Fixed,
}

impl DiscountKind {
    /// Stored name: `percent`, `fixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountKind::Percent => "percent",
            DiscountKind::Fixed => "fixed",
        }
    }

    /// Parse a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<DiscountKind> {
        [DiscountKind::Percent, DiscountKind::Fixed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A discount code as stored (the code upper-case, see [`normalize_code`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiscountCode {
    /// The code's ID.
    pub id: String,
    /// What shoppers type, stored normalized.
    pub code: String,
    /// Percent or fixed.
    pub kind: DiscountKind,
    /// Basis points for percent, minor units for fixed.
    pub value: i64,
    /// Goods (before discount) must reach this; 0 for no minimum.
    pub min_spend_minor: i64,
    /// Expires at this instant (UTC ms, exclusive: unusable from then on).
    pub expires_at: Option<i64>,
    /// How many orders may use it; `None` for unlimited.
    pub usage_limit: Option<i64>,
    /// How many orders have used it.
    pub used_count: i64,
    /// Switched on by staff.
    pub enabled: bool,
}

impl DiscountCode {
    /// Check the code before it is saved. The code is checked in its [`normalize_code`] form,
    /// which is what the store must save.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let code = normalize_code(&self.code);
        let ok = (1..=40).contains(&code.chars().count())
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(ValidationError::new(
                "code",
                "use 1 to 40 letters, digits, '-' or '_' (e.g. SUMMER10)",
            ));
        }
        self.check_value()?;
        validate_price("min_spend_minor", self.min_spend_minor)?;
        if self.usage_limit.is_some_and(|n| n < 1) {
            return Err(ValidationError::new(
                "usage_limit",
                "must be at least 1; leave it empty for no limit",
            ));
        }
        if self.used_count < 0 {
            return Err(ValidationError::new("used_count", "must not be negative"));
        }
        Ok(())
    }

    fn check_value(&self) -> Result<(), ValidationError> {
        match self.kind {
            DiscountKind::Percent if !(1..=10_000).contains(&self.value) => Err(
                ValidationError::new("value", "enter a percentage from 0.01% to 100%"),
            ),
            DiscountKind::Fixed if self.value < 1 => {
                Err(ValidationError::new("value", "enter an amount above zero"))
            }
            DiscountKind::Fixed => validate_price("value", self.value).map(|_| ()),
            DiscountKind::Percent => Ok(()),
        }
    }

    /// May a shopper use this code now on goods worth `goods_minor` (before discount)?
    /// Errors name the field `discount_code`.
    pub fn check(
        &self,
        now_ms: i64,
        goods_minor: i64,
        currency: &Currency,
    ) -> Result<(), ValidationError> {
        let err = |m: String| Err(ValidationError::new("discount_code", m));
        if !self.enabled {
            return err("this code is not active".into());
        }
        if self.expires_at.is_some_and(|t| now_ms >= t) {
            return err("this code has expired".into());
        }
        if self.usage_limit.is_some_and(|n| self.used_count >= n) {
            return err("this code has been used up".into());
        }
        if goods_minor < self.min_spend_minor {
            let min = currency.format(self.min_spend_minor);
            return err(format!("spend at least {min} to use this code"));
        }
        Ok(())
    }

    /// The amount off goods worth `goods_minor`: percent rounded half up, fixed capped at the
    /// goods, never negative.
    pub fn amount_off(&self, goods_minor: i64) -> i64 {
        let goods = i128::from(goods_minor.max(0));
        let off = match self.kind {
            DiscountKind::Percent => div_half_up(goods * i128::from(self.value), FULL_BP),
            DiscountKind::Fixed => i128::from(self.value),
        };
        // Clamped into 0..=goods, so it fits back into i64.
        i64::try_from(off.clamp(0, goods)).unwrap_or(0)
    }
}

/// A code as shoppers may type it, ready to look up: trimmed and upper-case.
pub fn normalize_code(s: &str) -> String {
    s.trim().to_uppercase()
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuoteLine {
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
    /// `unit_price_minor * quantity`, as entered.
    pub gross_minor: i64,
    /// This line's share of the order discount.
    pub discount_minor: i64,
    /// Tax on `gross - discount`.
    pub tax_minor: i64,
    /// What the shopper pays for the line: tax included, after discount.
    pub total_minor: i64,
}

/// A discount line a plugin added to a cart ("Bulk discount: 10% off 10 or more items").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Adjustment {
    /// What the shopper reads.
    pub label: String,
    /// Money off goods, minor units, as entered (after capping: see [`quote_with`]).
    pub amount_minor: i64,
}

/// A priced cart: what checkout charges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Quote {
    /// The lines, in the order given.
    pub lines: Vec<QuoteLine>,
    /// Sum of line grosses, as entered (tax included or not, per the mode).
    pub goods_minor: i64,
    /// Discount on goods, as entered; equals the sum of line discounts.
    pub discount_minor: i64,
    /// Shipping charged, tax included.
    pub shipping_minor: i64,
    /// Tax within `shipping_minor`.
    pub shipping_tax_minor: i64,
    /// All tax, shipping's included.
    pub tax_minor: i64,
    /// What the shopper pays: sum of line totals plus shipping.
    pub total_minor: i64,
    /// Whether prices were entered with tax included.
    pub prices_include_tax: bool,
    /// Plugins' discount lines, as applied (already inside `discount_minor`).
    pub adjustments: Vec<Adjustment>,
}

/// Price a cart. `shipping` is the chosen method (which must be enabled) with the tax rate
/// (basis points) that applies to shipping; `discount` must already have passed
/// [`DiscountCode::check`]. Every overflow or out-of-range input is a [`ValidationError`].
/// An empty cart prices to zero.
pub fn quote(
    lines: &[PricingLine],
    mode: PriceMode,
    shipping: Option<(&ShippingMethod, i64)>,
    discount: Option<&DiscountCode>,
) -> Result<Quote, ValidationError> {
    quote_with(lines, mode, shipping, discount, &[])
}

/// [`quote`] with plugins' discount lines added to the code's discount. Together they never
/// take more than the goods: the code applies first, then each adjustment in turn is capped at
/// what is left (one capped to zero is dropped), so `adjustments` in the quote are the amounts
/// actually taken off.
pub fn quote_with(
    lines: &[PricingLine],
    mode: PriceMode,
    shipping: Option<(&ShippingMethod, i64)>,
    discount: Option<&DiscountCode>,
    adjustments: &[Adjustment],
) -> Result<Quote, ValidationError> {
    let mut grosses = Vec::with_capacity(lines.len());
    for l in lines {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            let msg = format!("{}: choose a quantity from 1 to {MAX_QUANTITY}", l.name);
            return Err(ValidationError::new("quantity", msg));
        }
        validate_price("unit_price_minor", l.unit_price_minor)?;
        check_rate(l.tax_rate_bp)?;
        grosses.push(i128::from(l.unit_price_minor) * i128::from(l.quantity));
    }
    let goods_minor = to_i64(grosses.iter().sum())?;
    let discount_minor = match discount {
        Some(d) => {
            d.check_value()
                .map_err(|e| ValidationError::new("discount_code", e.message))?;
            d.amount_off(goods_minor)
        }
        None => 0,
    };
    let mut applied = Vec::new();
    let mut discount_minor = discount_minor;
    for a in adjustments {
        let take = a.amount_minor.clamp(0, goods_minor - discount_minor);
        if take > 0 {
            discount_minor += take;
            applied.push(Adjustment {
                label: a.label.clone(),
                amount_minor: take,
            });
        }
    }
    let shares = allocate(i128::from(discount_minor), &grosses);
    let (mut tax, mut total) = (0i128, 0i128);
    let mut out = Vec::with_capacity(lines.len());
    for ((l, gross), share) in lines.iter().zip(&grosses).zip(shares) {
        let (line_tax, line_total) = tax_on(gross - share, l.tax_rate_bp, mode);
        tax += line_tax;
        total += line_total;
        out.push(QuoteLine {
            variant_id: l.variant_id.clone(),
            sku: l.sku.clone(),
            name: l.name.clone(),
            unit_price_minor: l.unit_price_minor,
            quantity: l.quantity,
            tax_rate_bp: l.tax_rate_bp,
            gross_minor: to_i64(*gross)?,
            discount_minor: to_i64(share)?,
            tax_minor: to_i64(line_tax)?,
            total_minor: to_i64(line_total)?,
        });
    }
    let (ship_tax, ship_total) = match shipping {
        None => (0, 0),
        Some((method, rate)) => {
            method.validate()?;
            if !method.enabled {
                return Err(ValidationError::new(
                    "shipping_method_id",
                    "that delivery option is no longer offered; choose another",
                ));
            }
            check_rate(rate)?;
            let amount = method.price(goods_minor - discount_minor);
            tax_on(i128::from(amount), rate, mode)
        }
    };
    Ok(Quote {
        lines: out,
        goods_minor,
        discount_minor,
        shipping_minor: to_i64(ship_total)?,
        shipping_tax_minor: to_i64(ship_tax)?,
        tax_minor: to_i64(tax + ship_tax)?,
        total_minor: to_i64(total + ship_total)?,
        prices_include_tax: mode == PriceMode::TaxInclusive,
        adjustments: applied,
    })
}

fn check_rate(rate_bp: i64) -> Result<(), ValidationError> {
    if (0..=10_000).contains(&rate_bp) {
        Ok(())
    } else {
        Err(ValidationError::new(
            "tax_rate_bp",
            "a tax rate must be from 0% to 100%",
        ))
    }
}

/// `(tax, total incl. tax)` for an amount entered in `mode`.
fn tax_on(amount: i128, rate_bp: i64, mode: PriceMode) -> (i128, i128) {
    let r = i128::from(rate_bp);
    match mode {
        PriceMode::TaxInclusive => (div_half_up(amount * r, FULL_BP + r), amount),
        PriceMode::TaxExclusive => {
            let tax = div_half_up(amount * r, FULL_BP);
            (tax, amount + tax)
        }
    }
}

/// `num / den` rounded half away from zero; `den` must be positive.
fn div_half_up(num: i128, den: i128) -> i128 {
    if num >= 0 {
        (2 * num + den) / (2 * den)
    } else {
        -((-2 * num + den) / (2 * den))
    }
}

/// Share `total` (0..=sum of weights) out by `weights` with the largest-remainder method; ties
/// go to the earlier index. Weights are line grosses bounded by i64, so products fit in i128.
fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    if sum <= 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<(i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (total * w % sum, i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = total - shares.iter().sum::<i128>();
    for (_, i) in order {
        if left <= 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

fn to_i64(v: i128) -> Result<i64, ValidationError> {
    i64::try_from(v).map_err(|_| {
        ValidationError::new(
            "total",
            "the order is too large to price; split it into smaller orders",
        )
    })
}

#[cfg(test)]
mod tests;
