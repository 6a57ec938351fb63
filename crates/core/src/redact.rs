//! Redaction for log lines: card-number-like runs (see [`crate::pan`]) and email addresses are
//! masked before a line is written anywhere, so a log never holds a card number or a
//! customer's address even when one slips into a message or a field.

use std::borrow::Cow;
use std::ops::Range;

use crate::pan::{find_card_number, mask_card_numbers};

/// What a masked email address is replaced with.
pub const EMAIL_MASK: &str = "[email removed]";

/// `line` with card numbers and email addresses masked; borrowed when there was nothing to mask.
pub fn redact(line: &str) -> Cow<'_, str> {
    let without_emails = mask_emails(line);
    if find_card_number(&without_emails).is_none() {
        return without_emails;
    }
    Cow::Owned(mask_card_numbers(&without_emails).into_owned())
}

/// `text` with every email address replaced by [`EMAIL_MASK`]; borrowed when there is none.
///
/// An address here is `local@domain` where the local part is letters, digits and `._%+-`, and
/// the domain is letters, digits, dots and dashes with at least one dot inside it. This is
/// looser than the standard on purpose: masking a little too much in a log does no harm.
pub fn mask_emails(text: &str) -> Cow<'_, str> {
    let spans = email_spans(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for s in spans {
        out.push_str(&text[copied..s.start]);
        out.push_str(EMAIL_MASK);
        copied = s.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn is_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// Byte ranges of the email addresses in `text`, in order, not overlapping.
fn email_spans(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let mut spans = Vec::new();
    let mut floor = 0; // no span may start before the end of the previous one
    let mut k = 0;
    while k < chars.len() {
        if chars[k].1 != '@' {
            k += 1;
            continue;
        }
        let mut start = k;
        while start > floor && is_local(chars[start - 1].1) {
            start -= 1;
        }
        let mut end = k + 1;
        while end < chars.len() && is_domain(chars[end].1) {
            end += 1;
        }
        while end > k + 1 && matches!(chars[end - 1].1, '.' | '-') {
            end -= 1;
        }
        let domain = &text[byte_at(k + 1)..byte_at(end)];
        let dotted = domain.contains('.') && !domain.starts_with('.');
        if start < k && dotted {
            spans.push(byte_at(start)..byte_at(end));
            floor = end;
            k = end;
        } else {
            k += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pan::CARD_MASK;

    #[test]
    fn masks_emails() {
        assert_eq!(
            redact("login.failure email=owner@example.com ip=127.0.0.1"),
            format!("login.failure email={EMAIL_MASK} ip=127.0.0.1")
        );
        assert_eq!(
            redact("to: Ann.Lee+shop@mail.example.co.uk."),
            format!("to: {EMAIL_MASK}.")
        );
        assert_eq!(
            redact("\"a@b.io\",\"jörg@bücher.de\""),
            format!("\"{EMAIL_MASK}\",\"{EMAIL_MASK}\"")
        );
    }

    #[test]
    fn masks_card_numbers() {
        assert_eq!(
            redact("note=\"pay with 4111 1111 1111 1111 please\""),
            format!("note=\"pay with {CARD_MASK} please\"")
        );
        assert_eq!(
            redact("{\"n\":5555-5555-5555-4444,\"m\":\"x@y.com\"}"),
            format!("{{\"n\":{CARD_MASK},\"m\":\"{EMAIL_MASK}\"}}")
        );
    }

    #[test]
    fn leaves_ordinary_lines_alone() {
        for line in [
            "2024-05-01T10:00:00.123456Z  INFO storefort: listening on 0.0.0.0:8443",
            "GET /admin/products/0190f0a0-0000-7000-8000-000000000000 status=200 ms=12",
            "price=12.50 phone=+44 20 7946 0958 order=100234",
            "an @ sign alone, user@localhost, @handle, trailing@",
            "",
        ] {
            assert!(matches!(redact(line), Cow::Borrowed(_)), "{line:?}");
        }
    }
}
