//! Order emails (confirmation, refund, cancellation): one plain-text and one HTML template
//! (`email_order.txt`, `email_order.html`) shared by the three kinds. The HTML is escaped by
//! askama; the text is laid out for a plain mail client. Amounts arrive already formatted.
//! Card numbers never appear: anything card-like in `payment` is masked.

use askama::Template;
use storefort_core::pan::mask_card_numbers;

/// One line of an order, as the email shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLine {
    /// Product (and variant) name.
    pub name: String,
    /// How many.
    pub quantity: i64,
    /// What the line costs, formatted (`£90.00`).
    pub amount: String,
}

/// An order as the emails show it; amounts are formatted strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailOrder {
    /// The shop's name (greeting, subject and signature).
    pub shop_name: String,
    /// The order's number.
    pub order_number: i64,
    /// The order's lines.
    pub lines: Vec<EmailLine>,
    /// Goods before discount.
    pub subtotal: String,
    /// The discount taken off, if any (shown with a minus sign).
    pub discount: Option<String>,
    /// Shipping.
    pub shipping: String,
    /// Tax (included or added, as the order was priced).
    pub tax: String,
    /// Prices included tax: the tax is shown as "of which tax" after the total.
    pub tax_included: bool,
    /// How to pay offline (bank transfer details), when the order waits for that.
    pub instructions: Option<String>,
    /// What was paid.
    pub total: String,
    /// Shipping address, one line each; empty for collection.
    pub shipping_address: Vec<String>,
    /// How it was paid, e.g. `Visa ending 4242` or `Bank transfer`.
    pub payment: String,
    /// Where the shopper can see the order (http or https; otherwise left out).
    pub order_url: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// What the templates see.
struct View<'a> {
    o: &'a EmailOrder,
    heading: String,
    intro: String,
    /// Label and amount of each total row.
    totals: Vec<(&'static str, String)>,
    /// The text version's blocks: indented lines, amounts lined up.
    text_lines: String,
    text_totals: String,
    text_address: String,
    payment: String,
    link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email_order.txt")]
struct Text<'a> {
    v: &'a View<'a>,
}

#[derive(Template)]
#[template(path = "email_order.html")]
struct Html<'a> {
    v: &'a View<'a>,
}

/// The confirmation sent when an order is placed.
pub fn order_confirmation(o: &EmailOrder) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!("{}: order {} received", o.shop_name, o.order_number),
        "Thank you for your order".into(),
        format!(
            "We have received your order {}. Here is what you ordered.",
            o.order_number
        ),
    )
}

/// Sent when money that was paid offline (bank transfer) has arrived and staff marked it paid.
pub fn payment_received(o: &EmailOrder) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!(
            "{}: payment received for order {}",
            o.shop_name, o.order_number
        ),
        "Payment received".into(),
        format!(
            "We have received your payment for order {}. We will send your order soon.",
            o.order_number
        ),
    )
}

/// Sent when money is refunded; `amount` is the formatted refund.
pub fn refund_notice(o: &EmailOrder, amount: &str) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!("{}: refund for order {}", o.shop_name, o.order_number),
        format!("Refund of {amount}"),
        format!(
            "We have refunded {amount} for order {} to your original payment method. \
             It can take a few working days to show on your statement.",
            o.order_number
        ),
    )
}

/// Sent when screening holds an order for a phone check: nothing about why (that would teach a
/// fraudster), only that the order is being confirmed.
pub fn under_review(o: &EmailOrder) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!("{}: order {} received", o.shop_name, o.order_number),
        "Thank you: we will confirm your order shortly".into(),
        format!(
            "We have received order {}. Your payment is reserved, not yet taken; we will \
             email you as soon as your order is confirmed. We may call you to check a detail.",
            o.order_number
        ),
    )
}

/// Sent when staff ask a customer to pay again (the card authorization ran out).
pub fn pay_again(o: &EmailOrder) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!("{}: please pay for order {}", o.shop_name, o.order_number),
        "Please complete your payment".into(),
        format!(
            "Thank you for confirming order {}. The payment we had reserved has run out, so \
             nothing was taken. Please pay again within 48 hours with the link below; your \
             items are kept for you until then.",
            o.order_number
        ),
    )
}

/// Sent when an order is cancelled.
pub fn cancellation_notice(o: &EmailOrder) -> Result<Rendered, askama::Error> {
    render(
        o,
        format!("{}: order {} cancelled", o.shop_name, o.order_number),
        "Your order was cancelled".into(),
        format!(
            "Order {} has been cancelled. If a payment was taken, it will be returned to \
             your original payment method.",
            o.order_number
        ),
    )
}

fn render(
    o: &EmailOrder,
    subject: String,
    heading: String,
    intro: String,
) -> Result<Rendered, askama::Error> {
    let mut totals: Vec<(&'static str, String)> = vec![("Subtotal", o.subtotal.clone())];
    if let Some(d) = &o.discount {
        let d = d.trim();
        let d = if d.starts_with(['-', '\u{2212}']) {
            d.to_string()
        } else {
            format!("-{d}")
        };
        totals.push(("Discount", d));
    }
    totals.push(("Shipping", o.shipping.clone()));
    if o.tax_included {
        totals.push(("Total", o.total.clone()));
        totals.push(("Of which tax", o.tax.clone()));
    } else {
        totals.push(("Tax", o.tax.clone()));
        totals.push(("Total", o.total.clone()));
    }
    let link = o.order_url.trim();
    let link = (link.starts_with("https://") || link.starts_with("http://")).then_some(link);
    let v = View {
        o,
        heading,
        intro,
        text_lines: padded(
            o.lines
                .iter()
                .map(|l| (format!("{} x {}", l.quantity, l.name), l.amount.as_str())),
        ),
        text_totals: padded(totals.iter().map(|(l, a)| (format!("{l}:"), a.as_str()))),
        text_address: indented(o.shipping_address.iter().map(|a| a.trim().to_string())),
        totals,
        payment: mask_card_numbers(o.payment.trim()).into_owned(),
        link,
    };
    Ok(Rendered {
        subject: mask_card_numbers(&subject).replace(['\r', '\n'], " "),
        text: Text { v: &v }.render()? + "\n",
        html: Html { v: &v }.render()?,
    })
}

/// Rows like `  2 x Linen Shirt (M)   £90.00`, labels padded so the amounts line up (up to a
/// width that suits a 72-column mail client).
fn padded<'a>(rows: impl Iterator<Item = (String, &'a str)>) -> String {
    let rows: Vec<(String, &str)> = rows.collect();
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    indented(rows.into_iter().map(|(label, amount)| {
        let pad = width.saturating_sub(label.chars().count()) + 2;
        format!("{label}{}{amount}", " ".repeat(pad))
    }))
}

/// Lines indented by two spaces, one per line (empty lines dropped).
fn indented(lines: impl Iterator<Item = String>) -> String {
    lines
        .filter(|l| !l.is_empty())
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
