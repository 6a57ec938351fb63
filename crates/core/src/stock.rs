//! Stock rules: every change is a ledger movement with a reason; stock never goes negative
//! unless the product allows backorders.

use crate::ValidationError;

/// Largest quantity a single movement may carry; protects sums from overflow and typos.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Why stock changed. Stored as text in the ledger.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Goods received from a supplier.
    Received,
    /// Sold to a customer.
    Sale,
    /// Returned by a customer.
    Return,
    /// Damaged, lost or stolen.
    Damaged,
    /// A manual correction.
    Correction,
    /// Moved out to another location.
    TransferOut,
    /// Moved in from another location.
    TransferIn,
    /// Set by a physical stock count.
    Count,
}

impl Reason {
    /// The reasons a person may choose for a manual adjustment.
    pub const MANUAL: [Reason; 5] = [
        Reason::Received,
        Reason::Return,
        Reason::Damaged,
        Reason::Correction,
        Reason::Sale,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Received => "received",
            Reason::Sale => "sale",
            Reason::Return => "return",
            Reason::Damaged => "damaged",
            Reason::Correction => "correction",
            Reason::TransferOut => "transfer_out",
            Reason::TransferIn => "transfer_in",
            Reason::Count => "count",
        }
    }

    /// Parse a stored or submitted name.
    pub fn parse(s: &str) -> Option<Reason> {
        [
            Reason::Received,
            Reason::Sale,
            Reason::Return,
            Reason::Damaged,
            Reason::Correction,
            Reason::TransferOut,
            Reason::TransferIn,
            Reason::Count,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Human label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Received => "Received",
            Reason::Sale => "Sale",
            Reason::Return => "Customer return",
            Reason::Damaged => "Damaged / lost",
            Reason::Correction => "Correction",
            Reason::TransferOut => "Transfer out",
            Reason::TransferIn => "Transfer in",
            Reason::Count => "Stock count",
        }
    }
}

/// Check a manual adjustment's delta: non-zero, within bounds, and a reason people may use.
pub fn validate_adjustment(delta: i64, reason: Reason) -> Result<(), ValidationError> {
    if delta == 0 {
        return Err(ValidationError::new("delta", "must not be zero"));
    }
    if delta.unsigned_abs() > MAX_QUANTITY as u64 {
        return Err(ValidationError::new(
            "delta",
            format!("must be within ±{MAX_QUANTITY}"),
        ));
    }
    if !Reason::MANUAL.contains(&reason) {
        return Err(ValidationError::new(
            "reason",
            "transfers and counts have their own actions",
        ));
    }
    Ok(())
}

/// Check a positive quantity (transfers, sales).
pub fn validate_quantity(field: &str, qty: i64) -> Result<(), ValidationError> {
    if qty <= 0 {
        return Err(ValidationError::new(field, "must be at least 1"));
    }
    if qty > MAX_QUANTITY {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_QUANTITY}"),
        ));
    }
    Ok(())
}

/// Check a counted quantity (a stock count): zero or more.
pub fn validate_count(counted: i64) -> Result<(), ValidationError> {
    if !(0..=MAX_QUANTITY).contains(&counted) {
        return Err(ValidationError::new(
            "counted",
            format!("must be between 0 and {MAX_QUANTITY}"),
        ));
    }
    Ok(())
}

/// Would applying `delta` to `on_hand` be allowed? Returns the new quantity.
pub fn apply(on_hand: i64, delta: i64, allow_backorder: bool) -> Result<i64, ValidationError> {
    let after = on_hand
        .checked_add(delta)
        .ok_or_else(|| ValidationError::new("delta", "is too large"))?;
    if after < 0 && !allow_backorder {
        return Err(ValidationError::new(
            "quantity",
            format!("only {on_hand} in stock at this location"),
        ));
    }
    Ok(after)
}

/// How a shopper sees availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Plenty available.
    InStock,
    /// A few left (at or below the low-stock threshold).
    Low(i64),
    /// None, but orders are accepted.
    Backorder,
    /// None, and no backorders.
    OutOfStock,
}

/// Threshold at or below which shoppers see "only N left".
pub const LOW_STOCK: i64 = 5;

/// Availability of a quantity for shoppers.
pub fn availability(available: i64, allow_backorder: bool) -> Availability {
    match available {
        n if n > LOW_STOCK => Availability::InStock,
        n if n > 0 => Availability::Low(n),
        _ if allow_backorder => Availability::Backorder,
        _ => Availability::OutOfStock,
    }
}

impl Availability {
    /// Text shown on storefront pages.
    pub fn label(self) -> String {
        match self {
            Availability::InStock => "In stock".into(),
            Availability::Low(n) => format!("Only {n} left"),
            Availability::Backorder => "Available to order".into(),
            Availability::OutOfStock => "Out of stock".into(),
        }
    }

    /// Can a shopper buy it now?
    pub fn purchasable(self) -> bool {
        !matches!(self, Availability::OutOfStock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_negative_without_backorder() {
        assert_eq!(apply(5, -5, false).unwrap(), 0);
        assert_eq!(apply(5, -6, false).unwrap_err().field, "quantity");
        assert_eq!(apply(5, -6, true).unwrap(), -1);
        assert!(apply(i64::MAX, 1, true).is_err());
    }

    #[test]
    fn adjustment_rules() {
        assert!(validate_adjustment(0, Reason::Received).is_err());
        assert!(validate_adjustment(3, Reason::TransferIn).is_err());
        assert!(validate_adjustment(MAX_QUANTITY + 1, Reason::Received).is_err());
        assert!(validate_adjustment(-2, Reason::Damaged).is_ok());
        assert!(validate_quantity("quantity", 0).is_err());
        assert!(validate_count(-1).is_err());
        assert_eq!(Reason::parse("transfer_out"), Some(Reason::TransferOut));
        assert_eq!(Reason::parse("nope"), None);
    }

    #[test]
    fn shopper_availability() {
        assert_eq!(availability(10, false), Availability::InStock);
        assert_eq!(availability(3, false).label(), "Only 3 left");
        assert_eq!(availability(0, true), Availability::Backorder);
        assert!(!availability(0, false).purchasable());
    }
}
