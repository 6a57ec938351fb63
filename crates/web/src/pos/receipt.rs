//! The printable receipt: shop details, lines, tax, payments, change, and the sale number as a
//! Code 128 barcode (a scanner reads it back on the refund screen). Laid out for 80 mm or 58 mm
//! thermal paper by print CSS; the page's Print button is the only script.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::error::{PosError, PosResult};
use super::till::Till;
use crate::pages::render::page as render_page;
use crate::AppState;

/// Read a sale number as typed or scanned: `1042`, `#1042`.
pub fn parse_number(s: &str) -> PosResult<i64> {
    s.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PosError::invalid("number", "a sale number is digits, like 1042"))
}

/// The bars of a Code 128 barcode of `text` as an SVG (black rectangles, no styles, so the
/// strict CSP holds). `None` when the text cannot be encoded.
pub fn barcode_svg(text: &str) -> Option<String> {
    let code = barcoders::sym::code128::Code128::new(format!("\u{0181}{text}")).ok()?;
    let bars = code.encode();
    let mut rects = String::new();
    let mut x = 0;
    while x < bars.len() {
        if bars[x] == 1 {
            let start = x;
            while x < bars.len() && bars[x] == 1 {
                x += 1;
            }
            rects.push_str(&format!(
                "<rect x=\"{start}\" y=\"0\" width=\"{}\" height=\"40\"/>",
                x - start
            ));
        } else {
            x += 1;
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"barcode\" viewBox=\"-10 0 {} 40\" \
         preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Barcode {text}\" fill=\"#000\">{rects}</svg>",
        bars.len() + 20
    ))
}

/// `?paper=80|58`.
#[derive(Debug, Deserialize)]
pub struct PaperQuery {
    /// Paper width in mm.
    pub paper: Option<String>,
}

/// A line on the receipt.
pub struct ReceiptLine {
    /// Name.
    pub name: String,
    /// "2 x £4.50".
    pub detail: String,
    /// Line total.
    pub total: String,
    /// Discount, if any.
    pub discount: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "pos_receipt.html")]
struct Receipt {
    shop_name: String,
    location: String,
    public_url: String,
    paper: &'static str,
    number: i64,
    when: String,
    cashier: String,
    till: String,
    lines: Vec<ReceiptLine>,
    subtotal: String,
    discount: Option<String>,
    tax: String,
    tax_included: bool,
    total: String,
    payments: Vec<(String, String)>,
    tendered: Option<String>,
    change: Option<String>,
    refunded: Option<String>,
    barcode: String,
}

use crate::pages::render::utc as when;

/// `GET /pos/receipt/{number}?paper=80|58`.
pub async fn page(
    State(s): State<AppState>,
    till: Till,
    Path(number): Path<String>,
    Query(q): Query<PaperQuery>,
) -> PosResult<Response> {
    let n = parse_number(&number)?;
    let paper = match q.paper.as_deref() {
        None | Some("80") => "80",
        Some("58") => "58",
        Some(_) => return Err(PosError::invalid("paper", "use 80 or 58 (mm)")),
    };
    let v = s.db.pos_sale(n).await?;
    // Receipts are for the shop the till stands in, not every location's sales.
    if v.sale.location_name != till.device.location_name {
        return Err(PosError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No sale with this number at this shop.",
        ));
    }
    let d = s.db.order_detail(&v.sale.order_id).await?;
    let c = &s.cfg.currency;
    let lines = d
        .lines
        .iter()
        .map(|l| ReceiptLine {
            name: l.name.clone(),
            detail: format!("{} x {}", l.quantity, c.format(l.unit_price_minor)),
            total: c.format(l.unit_price_minor * l.quantity),
            discount: (l.discount_minor > 0).then(|| c.format(-l.discount_minor)),
        })
        .collect();
    let payments = v
        .sale
        .payments
        .iter()
        .map(|p| {
            let label = match (&p.card_brand, &p.card_last4) {
                (Some(b), Some(l4)) if !l4.is_empty() => {
                    format!("{} ending {l4}", crate::pages::render::capitalize(b))
                }
                _ if p.gateway == "cash" => "Cash".to_string(),
                _ => "Card".to_string(),
            };
            (label, c.format(p.amount_minor))
        })
        .collect();
    let has_cash = v.sale.payments.iter().any(|p| p.gateway == "cash");
    // What was handed over in cash: the sale's tendered total less what went on cards.
    let card_paid: i64 = v
        .sale
        .payments
        .iter()
        .filter(|p| p.gateway != "cash")
        .map(|p| p.amount_minor)
        .sum();
    let cash_given = v.sale.tendered_minor - card_paid;
    let t = Receipt {
        shop_name: s.cfg.shop_name.clone(),
        location: v.sale.location_name.clone(),
        public_url: s.cfg.public_url.clone(),
        paper,
        number: n,
        when: when(v.sale.sold_at),
        cashier: v.sale.cashier_name.clone(),
        till: v.sale.device_name.clone(),
        lines,
        subtotal: c.format(d.subtotal_minor),
        discount: (d.discount_minor > 0).then(|| c.format(-d.discount_minor)),
        tax: c.format(d.tax_minor),
        tax_included: d.prices_include_tax,
        total: c.format(d.summary.total_minor),
        payments,
        tendered: has_cash.then(|| c.format(cash_given)),
        change: has_cash.then(|| c.format(v.sale.change_minor)),
        refunded: {
            let r: i64 = v.refunds.iter().map(|r| r.amount_minor).sum();
            (r > 0).then(|| c.format(r))
        },
        barcode: barcode_svg(&n.to_string()).unwrap_or_default(),
    };
    Ok(render_page(StatusCode::OK, &t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_or_scanned() {
        assert_eq!(parse_number("1042").unwrap(), 1042);
        assert_eq!(parse_number(" #7 ").unwrap(), 7);
        assert!(parse_number("abc").is_err());
        assert!(parse_number("0").is_err());
        assert!(parse_number("-3").is_err());
    }

    #[test]
    fn barcode_is_bars_only() {
        let svg = barcode_svg("1042").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<rect"));
        assert!(!svg.contains("style"), "no inline styles under the CSP");
        // Different numbers, different bars.
        assert_ne!(svg, barcode_svg("1043").unwrap());
    }
}
