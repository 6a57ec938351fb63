//! What a shopper submits at checkout, and its rules: contact details, addresses, phone numbers
//! in E.164 form.

use phonenumber::country::Id as CountryId;
use phonenumber::Mode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::{is_country_code, validate_email, Address};
use crate::ValidationError;

/// Most digits accepted in a typed phone number: E.164's 15 plus an international prefix.
/// It also keeps the parser away from numbers too large for it (it has panicked on those).
const MAX_PHONE_DIGITS: usize = 17;

/// Turn a phone number as typed into E.164 (`+442079460958`). A number without a country code
/// is read as a national number of `default_country` (ISO alpha-2, e.g. `GB`). Only digits,
/// spaces and `+ - ( ) .` are accepted; the UK habit `+44 (0)20 ...` is understood.
/// Errors name the field `phone`.
pub fn normalize_phone(phone: &str, default_country: &str) -> Result<String, ValidationError> {
    let bad = || {
        ValidationError::new(
            "phone",
            "enter a phone number we can call, e.g. 020 7946 0958 or +44 20 7946 0958",
        )
    };
    // "(0)" marks a trunk prefix to drop when dialling from abroad; the parser does not know it.
    let cleaned = phone.replace("(0)", "");
    let p = cleaned.trim();
    if phone.trim().is_empty() {
        return Err(ValidationError::new("phone", "enter a phone number"));
    }
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let allowed = p
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || " -().".contains(c) || (c == '+' && i == 0));
    if !allowed || p.chars().count() > 40 || !(3..=MAX_PHONE_DIGITS).contains(&digits) {
        return Err(bad());
    }
    let country = default_country
        .trim()
        .to_ascii_uppercase()
        .parse::<CountryId>()
        .ok();
    let parsed = parse_guarded(country, p).ok_or_else(bad)?;
    if !parsed.is_valid() {
        return Err(bad());
    }
    Ok(parsed.format().mode(Mode::E164).to_string())
}

/// The ISO alpha-2 region (`GB`, `US`) of a valid E.164 number; `None` if it is not one.
/// For numbers shared by several regions (+1, +44 crown dependencies) it is the region the
/// number itself belongs to.
pub fn phone_country(e164: &str) -> Option<String> {
    let p = e164.trim();
    let shape = p.len() <= 16
        && p.starts_with('+')
        && p.len() > 1
        && p[1..].bytes().all(|b| b.is_ascii_digit());
    if !shape {
        return None;
    }
    let parsed = parse_guarded(None, p)?;
    if !parsed.is_valid() {
        return None;
    }
    parsed.country().id().map(|id| id.as_ref().to_string())
}

/// Parse with the `phonenumber` crate. It has panicked on malformed input in the past, so a
/// panic is caught and treated as "not a phone number"; checkout must never crash on input.
fn parse_guarded(country: Option<CountryId>, p: &str) -> Option<phonenumber::PhoneNumber> {
    std::panic::catch_unwind(|| phonenumber::parse(country, p).ok())
        .ok()
        .flatten()
}

/// What the shopper submits at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// Where the receipt goes.
    pub email: String,
    /// A number to call about the order; stored in E.164 form.
    pub phone: String,
    /// Billing address.
    pub billing: Address,
    /// Deliver to the billing address.
    #[serde(default)]
    pub shipping_same_as_billing: bool,
    /// Delivery address, when not the billing one.
    #[serde(default)]
    pub shipping: Option<Address>,
    /// The chosen delivery option.
    pub shipping_method_id: String,
    /// The chosen way to pay (a gateway id such as `sandbox` or `manual`).
    pub payment_method: String,
}

impl CheckoutInput {
    /// Check and clean the input: email trimmed and checked, phone in E.164 (numbers without a
    /// country code are read as the billing country's, else `shop_country`'s), addresses trimmed
    /// and checked (`billing.*`, `shipping.*`). The shipping address is the billing one when
    /// `shipping_same_as_billing`, and `None` when the method `needs_address` is false.
    pub fn validate(
        mut self,
        shop_country: &str,
        needs_address: bool,
    ) -> Result<CheckoutInput, ValidationError> {
        self.email = self.email.trim().to_string();
        validate_email(&self.email)?;
        self.billing = trimmed(self.billing);
        self.billing.validate("billing")?;
        let default_country = if is_country_code(&self.billing.country) {
            self.billing.country.as_str()
        } else {
            shop_country
        };
        self.phone = normalize_phone(&self.phone, default_country)?;
        self.shipping = match (needs_address, self.shipping_same_as_billing, self.shipping) {
            (false, _, _) => None,
            (true, true, _) => Some(self.billing.clone()),
            (true, false, Some(a)) => {
                let a = trimmed(a);
                a.validate("shipping")?;
                Some(a)
            }
            (true, false, None) => {
                return Err(ValidationError::new(
                    "shipping.line1",
                    "enter a delivery address, or deliver to the billing address",
                ))
            }
        };
        self.shipping_method_id = self.shipping_method_id.trim().to_string();
        if self.shipping_method_id.is_empty() {
            return Err(ValidationError::new(
                "shipping_method_id",
                "choose a delivery option",
            ));
        }
        self.payment_method = self.payment_method.trim().to_string();
        if self.payment_method.is_empty() {
            return Err(ValidationError::new("payment_method", "choose how to pay"));
        }
        Ok(self)
    }
}

fn trimmed(a: Address) -> Address {
    let t = |s: String| s.trim().to_string();
    Address {
        name: t(a.name),
        line1: t(a.line1),
        line2: t(a.line2),
        city: t(a.city),
        region: t(a.region),
        postcode: t(a.postcode),
        country: t(a.country),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str) -> Address {
        Address {
            name: " Ann Smith ".into(),
            line1: "1 High St".into(),
            city: "Leeds".into(),
            postcode: "LS1 1AA".into(),
            country: country.into(),
            ..Default::default()
        }
    }

    fn input() -> CheckoutInput {
        CheckoutInput {
            email: "  ann@example.com ".into(),
            phone: "020 7946 0958".into(),
            billing: address("GB"),
            shipping_same_as_billing: true,
            shipping: None,
            shipping_method_id: "royal-mail".into(),
            payment_method: "sandbox".into(),
        }
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            normalize_phone("020 7946 0958", "GB").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_phone("+44 (0)20 7946-0958", "US").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_phone(" 07400 123456 ", "gb").unwrap(),
            "+447400123456"
        );
        assert_eq!(
            normalize_phone("+1 650 253 0000", "GB").unwrap(),
            "+16502530000"
        );
        assert_eq!(
            normalize_phone("+1 415 555 2671", "GB").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            normalize_phone("(650) 253-0000", "US").unwrap(),
            "+16502530000"
        );
        assert_eq!(normalize_phone("030 123456", "DE").unwrap(), "+4930123456");
        assert_eq!(phone_country("+442079460958").as_deref(), Some("GB"));
        assert_eq!(phone_country("+16502530000").as_deref(), Some("US"));
        assert_eq!(phone_country("+14155552671").as_deref(), Some("US"));
        assert_eq!(phone_country("+4930123456").as_deref(), Some("DE"));
        for bad in [
            "",
            "+",
            "02079460958x",
            "1 1",
            "abc",
            "+44 20 7946 095",
            "12345678901234567890",
        ] {
            assert_eq!(phone_country(bad), None, "{bad}");
        }
    }

    #[test]
    fn garbage_phones_are_refused_not_panics() {
        for bad in [
            "",
            "   ",
            "hello",
            "020 7946 0958 ext 12",
            "  2 22#:",
            "003-836-4618x3001",
            "0xd2dc00a30027c9d5",
            "tel:+44-20-7946-0958",
            "+44 20 7946 095",
            "12",
            "++442079460958",
            "44+2079460958",
            "999999999999999999999999",
            "020 7946 0958",
        ] {
            let country = if bad == "020 7946 0958" { "ZZ" } else { "GB" };
            let e = normalize_phone(bad, country).unwrap_err();
            assert_eq!(e.field, "phone", "{bad}");
            assert!(!e.message.is_empty());
        }
        // A deterministic sweep over short strings of the accepted characters.
        let alphabet = b"0123456789+-() .";
        let mut seed: u64 = 42;
        for _ in 0..3000 {
            let len = (seed % 20) as usize;
            let s: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()] as char
                })
                .collect();
            if let Ok(e164) = normalize_phone(&s, "GB") {
                assert!(
                    e164.starts_with('+') && phone_country(&e164).is_some(),
                    "{s}"
                );
            }
        }
    }

    #[test]
    fn checkout_input_is_cleaned() {
        let ok = input().validate("GB", true).unwrap();
        assert_eq!(ok.email, "ann@example.com");
        assert_eq!(ok.phone, "+442079460958");
        assert_eq!(ok.billing.name, "Ann Smith");
        assert_eq!(ok.shipping.as_ref(), Some(&ok.billing));
        // Pickup: no shipping address even if one was sent.
        let mut pickup = input();
        pickup.shipping_same_as_billing = false;
        pickup.shipping = Some(address("FR"));
        assert_eq!(pickup.validate("GB", false).unwrap().shipping, None);
        // A separate delivery address is checked under `shipping.`.
        let mut other = input();
        other.shipping_same_as_billing = false;
        other.shipping = Some(address("FR"));
        assert_eq!(
            other
                .clone()
                .validate("GB", true)
                .unwrap()
                .shipping
                .unwrap()
                .country,
            "FR"
        );
        // National numbers follow the billing country, then the shop's.
        other.billing = address("US");
        other.phone = "(650) 253-0000".into();
        assert_eq!(other.validate("GB", true).unwrap().phone, "+16502530000");
    }

    #[test]
    fn checkout_input_errors_name_the_field() {
        let field = |f: fn(&mut CheckoutInput), needs: bool| {
            let mut i = input();
            f(&mut i);
            i.validate("GB", needs).unwrap_err().field
        };
        assert_eq!(field(|i| i.email = "ann at example".into(), true), "email");
        assert_eq!(field(|i| i.phone = "call me".into(), true), "phone");
        assert_eq!(field(|i| i.phone = " ".into(), false), "phone");
        assert_eq!(field(|i| i.billing.city = " ".into(), true), "billing.city");
        assert_eq!(
            field(|i| i.billing.country = "UK".into(), true),
            "billing.country"
        );
        assert_eq!(
            field(|i| i.shipping_same_as_billing = false, true),
            "shipping.line1"
        );
        let blank_line1 = |i: &mut CheckoutInput| {
            i.shipping_same_as_billing = false;
            let mut a = address("GB");
            a.line1 = "  ".into();
            i.shipping = Some(a);
        };
        assert_eq!(field(blank_line1, true), "shipping.line1");
        let no_name = |i: &mut CheckoutInput| {
            i.shipping_same_as_billing = false;
            i.shipping = Some(Address {
                name: String::new(),
                ..address("GB")
            });
        };
        assert_eq!(field(no_name, true), "shipping.name");
        assert_eq!(
            field(|i| i.shipping_method_id = " ".into(), true),
            "shipping_method_id"
        );
        assert_eq!(
            field(|i| i.payment_method = String::new(), true),
            "payment_method"
        );
    }

    #[test]
    fn checkout_input_json() {
        let json = r#"{"email":"a@b.co","phone":"+16502530000","billing":{"name":"A",
            "line1":"1 Main St","city":"Mountain View","country":"US"},
            "shipping_method_id":"s","payment_method":"manual"}"#;
        let i: CheckoutInput = serde_json::from_str(json).unwrap();
        assert!(!i.shipping_same_as_billing && i.shipping.is_none());
        let extra = json.replace(
            r#""payment_method""#,
            r#""card_number":"4242","payment_method""#,
        );
        assert!(serde_json::from_str::<CheckoutInput>(&extra).is_err());
    }
}
