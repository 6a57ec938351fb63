//! Money is an integer count of minor units (pence, cents) in one ISO 4217 currency. Never floats.

use crate::ValidationError;

/// The largest price a single item may carry: 100 million major units. Anything above is a typo,
/// and keeping far below `i64::MAX` means totals of many lines cannot overflow.
pub const MAX_PRICE_MINOR: i64 = 10_000_000_000;

/// Check a unit price in minor units: not negative, not absurd.
pub fn validate_price(field: &str, minor: i64) -> Result<i64, ValidationError> {
    if minor < 0 {
        return Err(ValidationError::new(field, "must not be negative"));
    }
    if minor > MAX_PRICE_MINOR {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_PRICE_MINOR} minor units"),
        ));
    }
    Ok(minor)
}

/// A currency the shop can trade in: ISO code, symbol and number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code, e.g. `GBP`.
    pub code: &'static str,
    /// Symbol shown before amounts.
    pub symbol: &'static str,
    /// Digits after the decimal point (2 for GBP, 0 for JPY).
    pub exponent: u32,
}

const CURRENCIES: &[Currency] = &[
    Currency {
        code: "GBP",
        symbol: "£",
        exponent: 2,
    },
    Currency {
        code: "EUR",
        symbol: "€",
        exponent: 2,
    },
    Currency {
        code: "USD",
        symbol: "$",
        exponent: 2,
    },
    Currency {
        code: "CAD",
        symbol: "CA$",
        exponent: 2,
    },
    Currency {
        code: "AUD",
        symbol: "A$",
        exponent: 2,
    },
    Currency {
        code: "CHF",
        symbol: "CHF ",
        exponent: 2,
    },
    Currency {
        code: "SEK",
        symbol: "kr ",
        exponent: 2,
    },
    Currency {
        code: "JPY",
        symbol: "¥",
        exponent: 0,
    },
];

impl Currency {
    /// Look a currency up by its ISO code (case-insensitive).
    pub fn from_code(code: &str) -> Result<Currency, ValidationError> {
        CURRENCIES
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code))
            .copied()
            .ok_or_else(|| {
                ValidationError::new("currency", format!("unsupported currency {code:?}"))
            })
    }

    /// Render an amount for people: `format(1250)` is `£12.50` in GBP.
    pub fn format(&self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        if self.exponent == 0 {
            return format!("{sign}{}{abs}", self.symbol);
        }
        let scale = 10u64.pow(self.exponent);
        format!(
            "{sign}{}{}.{:0width$}",
            self.symbol,
            abs / scale,
            abs % scale,
            width = self.exponent as usize
        )
    }

    /// Parse a decimal amount typed by a person (`12.5`, `12.50`, `12`) into minor units.
    /// Rejects more decimals than the currency has, signs, and anything not a number.
    pub fn parse(&self, field: &str, text: &str) -> Result<i64, ValidationError> {
        let t = text.trim().trim_start_matches(self.symbol.trim());
        let bad = || ValidationError::new(field, "enter an amount like 12.50");
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > self.exponent as usize {
            return Err(bad());
        }
        let scale = 10i64.pow(self.exponent);
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let mut frac_minor: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        for _ in frac.len()..self.exponent as usize {
            frac_minor *= 10;
        }
        let minor = whole
            .checked_mul(scale)
            .and_then(|m| m.checked_add(frac_minor))
            .ok_or_else(bad)?;
        validate_price(field, minor)
    }

    /// Show minor units as a plain decimal for an input field (`1250` -> `12.50`).
    pub fn to_decimal(&self, minor: i64) -> String {
        let s = self.format(minor);
        s.replacen(self.symbol, "", 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pounds_and_yen() {
        let gbp = Currency::from_code("gbp").unwrap();
        assert_eq!(gbp.format(1250), "£12.50");
        assert_eq!(gbp.format(5), "£0.05");
        assert_eq!(gbp.format(-199), "-£1.99");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(jpy.format(1200), "¥1200");
    }

    #[test]
    fn parses_typed_amounts() {
        let gbp = Currency::from_code("GBP").unwrap();
        assert_eq!(gbp.parse("p", "12.5").unwrap(), 1250);
        assert_eq!(gbp.parse("p", "12").unwrap(), 1200);
        assert_eq!(gbp.parse("p", "£0.07").unwrap(), 7);
        assert_eq!(gbp.to_decimal(1250), "12.50");
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            "abc",
            "1.2.3",
            "99999999999999999999",
        ] {
            let e = gbp.parse("price", bad).unwrap_err();
            assert_eq!(e.field, "price", "{bad}");
        }
    }

    #[test]
    fn price_bounds() {
        assert!(validate_price("p", -1).is_err());
        assert!(validate_price("p", MAX_PRICE_MINOR + 1).is_err());
        assert_eq!(validate_price("p", 0).unwrap(), 0);
        assert!(Currency::from_code("XXX").is_err());
    }
}
