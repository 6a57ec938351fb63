//! Finding payment card numbers (PANs) in free text, so they can be refused at the door and
//! masked in logs. storefort never takes card numbers: they belong on the payment provider's page.
//!
//! What counts as a card number here:
//! - a *run* of ASCII digits in which neighbouring digits may be separated by one space or one
//!   dash (`4111 1111 1111 1111`, `4111-1111-1111-1111`, `4111111111111111`); the separators
//!   split the run into *groups*;
//! - some stretch of 13 to 19 of its digits passes the Luhn check and does not start with `0`
//!   (no card scheme issues numbers under major industry identifier 0), where a stretch is
//!   a whole number of groups (the person's own grouping: "4111 1111 1111 1111 123" with the
//!   security code after it, "1 4111111111111111" after a list number);
//! - the run does not follow a `+` (an international phone number such as `+86 138 1000 0002`),
//!   and a 13-digit stretch is not a valid EAN-13 barcode.
//!
//! This is the safe side of a trade-off. Checking every window of every run would refuse about
//! two thirds of all 16-digit numbers; following the grouping keeps false alarms near the 1 in
//! 10 that the Luhn check itself allows, while still catching a card next to other digits.
//! Known gaps: a card glued to more digits with no separator is checked only as a whole
//! (`4111111111111111123`; a group of more than 19 digits, such as a parcel tracking number,
//! is never a card). Twelve digits or fewer are never a card,
//! and other punctuation breaks a run (`12.50`, `2024/01/15`; `+44 20 7946 0958` is 12 digits).
//!
//! UUIDs (`8-4-4-4-12` hex digits with dashes) are skipped: their dashes would otherwise join
//! their digit groups into long runs, and no one types a card number in that shape.

use std::borrow::Cow;
use std::ops::Range;

/// What a masked card number is replaced with.
pub const CARD_MASK: &str = "[card number removed]";

/// Fewest digits in a card number.
pub const MIN_DIGITS: usize = 13;
/// Most digits in a card number.
pub const MAX_DIGITS: usize = 19;

/// True when `digits` (ASCII `b'0'..=b'9'`, at least one) passes the Luhn check. Any other
/// byte, or no digits at all, gives `false`.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The first card-like run in `text`: the byte range of the whole run (its digits and the
/// separators between them), or `None`. See the module documentation for the rules.
pub fn find_card_number(text: &str) -> Option<Range<usize>> {
    find_from(text.as_bytes(), &uuid_mask(text.as_bytes()), 0)
}

/// `text` with every card-like run replaced by [`CARD_MASK`]; borrowed when there is none.
pub fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let blocked = uuid_mask(bytes);
    let Some(mut hit) = find_from(bytes, &blocked, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    loop {
        // Runs are bounded by ASCII bytes, so these are always character boundaries.
        out.push_str(&text[copied..hit.start]);
        out.push_str(CARD_MASK);
        copied = hit.end;
        match find_from(bytes, &blocked, hit.end) {
            Some(next) => hit = next,
            None => break,
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Scan from `from` for the first run holding a card-like stretch.
fn find_from(bytes: &[u8], blocked: &[bool], from: usize) -> Option<Range<usize>> {
    let is_digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit) && !blocked[i];
    let mut i = from;
    let mut digits = Vec::with_capacity(MAX_DIGITS * 2);
    let mut groups = Vec::new();
    while i < bytes.len() {
        if !is_digit(i) {
            i += 1;
            continue;
        }
        let start = i;
        digits.clear();
        groups.clear();
        groups.push(0);
        let end = loop {
            digits.push(bytes[i]);
            i += 1;
            if is_digit(i) {
                continue;
            }
            if matches!(bytes.get(i), Some(b' ' | b'-')) && is_digit(i + 1) {
                groups.push(digits.len());
                i += 1;
                continue;
            }
            break i;
        };
        // `+44 …`, `+86 138 1000 0002`: a run right after `+` is an international phone number.
        let phone = start > 0 && bytes[start - 1] == b'+';
        if !phone && digits.len() >= MIN_DIGITS && has_card_stretch(&digits, &groups) {
            return Some(start..end);
        }
    }
    None
}

/// One run's digits and where each of its groups starts: is some stretch card-like?
fn has_card_stretch(digits: &[u8], group_starts: &[usize]) -> bool {
    let card_like = |d: &[u8]| d[0] != b'0' && luhn_valid(d) && !is_barcode(d);
    let mut bounds = group_starts.to_vec();
    bounds.push(digits.len());
    for (a, &from) in bounds.iter().enumerate() {
        for &to in &bounds[a + 1..] {
            let len = to - from;
            if len > MAX_DIGITS {
                break;
            }
            if len >= MIN_DIGITS && card_like(&digits[from..to]) {
                return true;
            }
        }
    }
    // One unbroken group of more than 19 digits (a parcel tracking number, an account
    // reference) is not a card number: looking for cards inside it would refuse nearly all of
    // them, so only whole groups count, like card-data scanners do.
    false
}

/// A 13-digit EAN barcode with a valid GS1 check digit. About 1 in 10 barcodes also pass the
/// Luhn check, and shops search for their own barcodes all day, while 13-digit card numbers
/// (early Visa) are no longer issued; so a 13-digit stretch that is a valid EAN-13 is taken
/// for a barcode. Longer card numbers are never exempt.
fn is_barcode(d: &[u8]) -> bool {
    d.len() == 13 && std::str::from_utf8(d).is_ok_and(crate::text::gtin_valid)
}

/// For each byte, whether it lies inside a UUID (`8-4-4-4-12` hex with dashes, not touching
/// other hex digits).
fn uuid_mask(bytes: &[u8]) -> Vec<bool> {
    const LEN: usize = 36;
    let mut blocked = vec![false; bytes.len()];
    if bytes.len() < LEN {
        return blocked;
    }
    let mut i = 0;
    while i + LEN <= bytes.len() {
        let touches = |j: Option<usize>| {
            j.and_then(|j| bytes.get(j))
                .is_some_and(u8::is_ascii_hexdigit)
        };
        if !touches(i.checked_sub(1)) && !touches(Some(i + LEN)) && is_uuid(&bytes[i..i + LEN]) {
            blocked[i..i + LEN].iter_mut().for_each(|b| *b = true);
            i += LEN;
        } else {
            i += 1;
        }
    }
    blocked
}

/// `b` is exactly a UUID in its usual text form.
pub fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_CARDS: &[&str] = &[
        "4111111111111111",    // Visa
        "4242424242424242",    // Visa
        "378282246310005",     // American Express (15)
        "5555555555554444",    // Mastercard
        "6011111111111117",    // Discover
        "30569309025904",      // Diners Club (14)
        "4222222222222",       // old Visa (13)
        "6304000000000000000", // Maestro (19)
    ];

    #[test]
    fn luhn_accepts_test_cards_and_rejects_one_digit_off() {
        for c in TEST_CARDS {
            assert!(luhn_valid(c.as_bytes()), "{c}");
            let mut off = c.as_bytes().to_vec();
            let last = off.len() - 1;
            off[last] = if off[last] == b'9' {
                b'0'
            } else {
                off[last] + 1
            };
            assert!(!luhn_valid(&off), "{c} with its check digit changed");
        }
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"4111 1111"));
    }

    #[test]
    fn finds_test_cards_plain_spaced_and_dashed() {
        for c in TEST_CARDS {
            let spaced: String = c
                .chars()
                .enumerate()
                .flat_map(|(i, ch)| (i > 0 && i % 4 == 0).then_some(' ').into_iter().chain([ch]))
                .collect();
            let dashed = spaced.replace(' ', "-");
            for form in [c.to_string(), spaced, dashed] {
                let text = format!("Note: {form}, thanks");
                let r = find_card_number(&text).unwrap_or_else(|| panic!("missed {form:?}"));
                assert_eq!(&text[r], form, "the range covers the whole number");
            }
        }
    }

    #[test]
    fn finds_a_card_among_other_digits() {
        for text in [
            "4111 1111 1111 1111 123", // security code after it
            "1 4111111111111111",      // list number before it
            "x4111111111111111y",      // letters touching it
            "order 12 / card 378282246310005",
        ] {
            assert!(find_card_number(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn ordinary_numbers_are_not_cards() {
        for text in [
            "4111111111111112",       // Luhn-invalid
            "+86 138 1000 0002",      // an international mobile (13 digits, Luhn-valid)
            "9400111899223197428490", // a 22-digit parcel tracking number
            "411111111111",           // 12 digits
            "+44 20 7946 0958",       // phone number
            "call 020 7946 0958 or 07700 900123",
            "Order #100234, 3 items",
            "12.50",
            "£1,234,567.89",
            "1718000000010",          // 13 digits, Luhn-invalid
            "0000000000000000",       // starts with 0
            "4111  1111  1111  1111", // double spaces break the run
            "4111.1111.1111.1111",
            "2024-01-15",
            "0190f0a0-0000-7000-8000-000000000000",
            "see /admin/products/01911111-1111-7111-8111-111111111111/edit",
            "dGhpcyBpcyBhIDQzLWNoYXJhY3RlciB0b2tlbiBvaw", // 43-char base64url
            "",
        ] {
            assert_eq!(find_card_number(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_plain_number_is_judged_as_a_whole() {
        // Of ten numbers differing only in the last digit, exactly one passes Luhn; none of the
        // others is refused because of a shorter window inside it.
        let hits = (0..10)
            .filter(|d| find_card_number(&format!("411111111111111{d}")).is_some())
            .count();
        assert_eq!(hits, 1);
    }

    #[test]
    fn uuid_digits_do_not_join_neighbours() {
        // The digits before the UUID do not run into it.
        assert_eq!(
            find_card_number("1 01911111-1111-7111-8111-111111111111"),
            None
        );
        // But a card written next to a UUID is still found.
        let text = "01911111-1111-7111-8111-111111111111 4111111111111111";
        assert_eq!(&text[find_card_number(text).unwrap()], "4111111111111111");
    }

    #[test]
    fn masking_replaces_every_card_and_keeps_the_rest() {
        assert!(matches!(mask_card_numbers("no cards"), Cow::Borrowed(_)));
        let text = "a 4111-1111-1111-1111 b 5555555555554444 c £12.50 ☃";
        assert_eq!(
            mask_card_numbers(text),
            format!("a {CARD_MASK} b {CARD_MASK} c £12.50 ☃")
        );
    }

    #[test]
    fn shop_barcodes_are_not_cards() {
        // Valid EAN-13 barcodes of the demo shop that also pass the Luhn check.
        for code in ["5000010001092", "5000010000019"] {
            assert!(crate::text::gtin_valid(code));
            assert_eq!(find_card_number(code), None, "{code}");
        }
        // A 16-digit card is never exempt, even next to a barcode.
        assert!(find_card_number("5000010001092 4111111111111111").is_some());
    }

    #[test]
    fn long_runs_are_fast_enough() {
        let text = "1".repeat(256 * 1024);
        // Only tests that it finishes; the answer depends on the windows.
        let _ = find_card_number(&text);
    }
}
