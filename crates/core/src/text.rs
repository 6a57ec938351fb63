//! Small text rules shared by the catalog: names, slugs, SKUs, barcodes.

use crate::ValidationError;

/// Trim a required name and check its length in characters.
pub fn required(field: &str, value: &str, max_chars: usize) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    optional(field, v, max_chars)
}

/// Trim optional text and check its length; control characters other than newlines are refused.
pub fn optional(field: &str, value: &str, max_chars: usize) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_string())
}

/// A URL-safe slug: lowercase ASCII letters, digits and single dashes.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(80);
    out
}

/// Check a slug given by the user (or derive one from `name` when empty).
pub fn slug(field: &str, given: Option<&str>, name: &str) -> Result<String, ValidationError> {
    let s = match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            if slugify(s) != s {
                return Err(ValidationError::new(
                    field,
                    "may contain only lowercase letters, digits and single dashes",
                ));
            }
            s.to_string()
        }
        None => slugify(name),
    };
    if s.is_empty() {
        return Err(ValidationError::new(
            field,
            "needs at least one letter or digit",
        ));
    }
    Ok(s)
}

/// Text used for case-insensitive search on both database engines.
pub fn search_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A stock-keeping unit: 1 to 64 of letters, digits, `-`, `_`, `.`, `/`.
pub fn sku(value: &str) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new("sku", "is required"));
    }
    if v.len() > 64 {
        return Err(ValidationError::new("sku", "must be at most 64 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        return Err(ValidationError::new(
            "sku",
            "may contain only letters, digits and - _ . /",
        ));
    }
    Ok(v.to_string())
}

/// A barcode: a GTIN (8, 12, 13 or 14 digits with a valid check digit) or another printable code
/// of up to 48 characters. An empty value means "no barcode".
pub fn barcode(value: &str) -> Result<Option<String>, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 48 || !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "barcode",
            "must be up to 48 printable characters without spaces",
        ));
    }
    if v.bytes().all(|b| b.is_ascii_digit())
        && matches!(v.len(), 8 | 12 | 13 | 14)
        && !gtin_valid(v)
    {
        return Err(ValidationError::new("barcode", "GTIN check digit is wrong"));
    }
    Ok(Some(v.to_string()))
}

/// The GS1 check digit for the digits before it (used for EAN-8/UPC-A/EAN-13/GTIN-14).
pub fn gtin_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d * 3
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Does an all-digit `code` end in its GS1 check digit?
pub fn gtin_valid(code: &str) -> bool {
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (body, check) = code.split_at(code.len() - 1);
    check.bytes().next().map(|b| u32::from(b - b'0')) == Some(gtin_check_digit(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("  Men's T-Shirt (Blue) "), "men-s-t-shirt-blue");
        assert_eq!(slug("slug", None, "Café Crème").unwrap(), "caf-cr-me");
        assert!(slug("slug", Some("Bad Slug"), "x").is_err());
        assert!(slug("slug", None, "!!!").is_err());
    }

    #[test]
    fn skus_and_barcodes() {
        assert_eq!(sku(" TEE-BLU-M ").unwrap(), "TEE-BLU-M");
        assert!(sku("has space").is_err());
        assert!(sku("").is_err());
        assert_eq!(
            barcode("4006381333931").unwrap().as_deref(),
            Some("4006381333931")
        );
        assert_eq!(barcode("4006381333932").unwrap_err().field, "barcode");
        assert_eq!(barcode("").unwrap(), None);
        assert_eq!(
            barcode("CODE128-XYZ").unwrap().as_deref(),
            Some("CODE128-XYZ")
        );
        assert_eq!(gtin_check_digit("400638133393"), 1);
    }

    #[test]
    fn text_limits() {
        assert!(required("name", "  ", 10).is_err());
        assert!(required("name", "abcdefghijk", 10).is_err());
        assert!(optional("d", "a\u{0}b", 10).is_err());
        assert_eq!(required("name", " ok ", 10).unwrap(), "ok");
    }
}
