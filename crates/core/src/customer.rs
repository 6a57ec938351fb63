//! Customers and their addresses as the rest of the code sees them: plain text. The store
//! encrypts every personal field before it reaches the database; nothing here knows about that.

use serde::{Deserialize, Serialize};

use crate::ids::{AddressId, CustomerId, OrderId};
use crate::ValidationError;

/// Longest name, email, phone or address line accepted.
pub const MAX_FIELD: usize = 200;
/// Longest note accepted.
pub const MAX_NOTE: usize = 2000;

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    /// Who receives post there.
    pub name: String,
    /// First line (street and number).
    pub line1: String,
    /// Second line (flat, building), may be empty.
    #[serde(default)]
    pub line2: String,
    /// Town or city.
    pub city: String,
    /// County, state or region, may be empty.
    #[serde(default)]
    pub region: String,
    /// Postcode or ZIP, may be empty where a country has none.
    #[serde(default)]
    pub postcode: String,
    /// ISO 3166-1 alpha-2 country code, upper case (`GB`, `DE`).
    pub country: String,
}

impl Address {
    /// Check lengths and the country code; `prefix` names the form (`billing`, `shipping`).
    pub fn validate(&self, prefix: &str) -> Result<(), ValidationError> {
        let f = |name: &str| format!("{prefix}.{name}");
        required(&f("name"), &self.name)?;
        required(&f("line1"), &self.line1)?;
        required(&f("city"), &self.city)?;
        for (name, v) in [
            ("line2", &self.line2),
            ("region", &self.region),
            ("postcode", &self.postcode),
        ] {
            max_len(&f(name), v, MAX_FIELD)?;
        }
        if !is_country_code(self.country.trim()) {
            return Err(ValidationError::new(
                f("country"),
                "use the two-letter ISO country code, e.g. GB, DE or US (UK is written GB)",
            ));
        }
        Ok(())
    }
}

/// A saved address with its ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedAddress {
    /// The address's ID.
    pub id: AddressId,
    /// Label such as "Home" or "Work" (may be empty).
    pub label: String,
    /// The address.
    pub address: Address,
}

/// What is needed to create a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewCustomer {
    /// Full name.
    pub name: String,
    /// Email address (unique among customers, compared case-insensitively).
    pub email: String,
    /// Phone number, may be empty.
    #[serde(default)]
    pub phone: String,
    /// Agreed to marketing email.
    #[serde(default)]
    pub marketing_consent: bool,
    /// Staff note, may be empty.
    #[serde(default)]
    pub note: String,
}

impl NewCustomer {
    /// Check every field; the first broken rule is returned, naming its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        required("name", &self.name)?;
        validate_email(&self.email)?;
        validate_phone(&self.phone)?;
        max_len("note", &self.note, MAX_NOTE)
    }
}

/// A customer, decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    /// The customer's ID.
    pub id: CustomerId,
    /// Full name (empty once erased).
    pub name: String,
    /// Email (empty once erased).
    pub email: String,
    /// Phone (may be empty).
    pub phone: String,
    /// Agreed to marketing email.
    pub marketing_consent: bool,
    /// Staff note.
    pub note: String,
    /// Has a shopper account (a password); otherwise a guest.
    pub has_account: bool,
    /// Saved addresses.
    pub addresses: Vec<SavedAddress>,
    /// Created, UTC ms.
    pub created_at: i64,
    /// Last changed, UTC ms.
    pub updated_at: i64,
    /// When the personal data was erased (or anonymized), UTC ms.
    pub erased_at: Option<i64>,
}

/// An order as far as the customer vault is concerned: who, where, how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderRecord {
    /// The order's ID.
    pub id: OrderId,
    /// Human order number.
    pub number: i64,
    /// The customer who placed it.
    pub customer_id: CustomerId,
    /// Order status (`pending_payment`, `paid`, ...).
    pub status: String,
    /// ISO currency code.
    pub currency: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Contact email given at checkout (empty once erased).
    pub email: String,
    /// Contact phone given at checkout.
    pub phone: String,
    /// Billing address (`None` once erased).
    pub billing: Option<Address>,
    /// Shipping address (`None` once erased or for collection).
    pub shipping: Option<Address>,
    /// Placed, UTC ms.
    pub created_at: i64,
}

/// What is needed to record an order's customer-facing details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewOrder {
    /// The customer placing it (a guest customer for guest checkout).
    pub customer_id: CustomerId,
    /// Starting status, e.g. `pending_payment`.
    pub status: String,
    /// ISO currency code.
    pub currency: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Contact email.
    pub email: String,
    /// Contact phone, may be empty.
    pub phone: String,
    /// Billing address.
    pub billing: Address,
    /// Shipping address; `None` for collection.
    pub shipping: Option<Address>,
}

/// ISO 3166-1 alpha-2 codes officially assigned.
const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Is `code` an assigned ISO 3166-1 alpha-2 country code (upper case)?
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.binary_search(&code).is_ok()
}

/// The normalized form of an email used for lookups: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The normalized form of a phone number used for lookups: digits only, with a leading `+`
/// kept. `+44 (0)20 7946-0958` and `+44 20 7946 0958` are different strings to a person
/// but should find the same customer, so the "(0)" trunk prefix is dropped too.
pub fn normalize_phone(phone: &str) -> String {
    let p = phone.trim().replace("(0)", "");
    let mut out = String::new();
    for (i, ch) in p.chars().enumerate() {
        if ch.is_ascii_digit() || (i == 0 && ch == '+') {
            out.push(ch);
        }
    }
    out
}

/// A plausible email: one `@`, something before, a dotted domain after, no spaces.
pub fn validate_email(email: &str) -> Result<(), ValidationError> {
    let e = email.trim();
    required("email", e)?;
    max_len("email", e, MAX_FIELD)?;
    let ok = match e.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "email",
            "enter an email address like name@example.com",
        ))
    }
}

/// An empty phone is allowed; otherwise 6 to 15 digits (E.164's limit), optional leading `+`.
pub fn validate_phone(phone: &str) -> Result<(), ValidationError> {
    if phone.trim().is_empty() {
        return Ok(());
    }
    max_len("phone", phone, 40)?;
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = normalize_phone(phone).trim_start_matches('+').len();
    if allowed && (6..=15).contains(&digits) {
        Ok(())
    } else {
        Err(ValidationError::new(
            "phone",
            "enter a phone number of 6 to 15 digits, e.g. +44 20 7946 0958",
        ))
    }
}

fn required(field: &str, v: &str) -> Result<(), ValidationError> {
    if v.trim().is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    max_len(field, v, MAX_FIELD)
}

fn max_len(field: &str, v: &str, max: usize) -> Result<(), ValidationError> {
    if v.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_for_lookup() {
        assert_eq!(normalize_email("  Ann@Example.COM "), "ann@example.com");
        assert_eq!(normalize_phone("+44 (0)20 7946-0958"), "+442079460958");
        assert_eq!(normalize_phone("020 7946 0958"), "02079460958");
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = NewCustomer {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        c.email = "ann at example".into();
        assert_eq!(c.validate().unwrap_err().field, "email");
        c.email = "ann@example.com".into();
        c.phone = "12".into();
        assert_eq!(c.validate().unwrap_err().field, "phone");
        c.phone = "+44 20 7946 0958".into();
        c.name = " ".into();
        assert_eq!(c.validate().unwrap_err().field, "name");
        c.name = "Ann".into();
        c.note = "x".repeat(MAX_NOTE + 1);
        assert_eq!(c.validate().unwrap_err().field, "note");
    }

    #[test]
    fn address_country_must_be_a_code() {
        let mut a = Address {
            name: "Ann".into(),
            line1: "1 High St".into(),
            city: "Leeds".into(),
            country: "GB".into(),
            ..Default::default()
        };
        assert!(a.validate("billing").is_ok());
        a.country = "United Kingdom".into();
        assert_eq!(a.validate("billing").unwrap_err().field, "billing.country");
        for bad in ["UK", "ZZ", "gb", ""] {
            a.country = bad.into();
            assert!(a.validate("billing").is_err(), "{bad}");
        }
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]), "sorted");
        a.country = "GB".into();
        a.line1.clear();
        assert_eq!(a.validate("shipping").unwrap_err().field, "shipping.line1");
    }
}
