//! One shift's Z report for the admin (owners and managers: the Devices permission): sales by
//! payment method, tax, discounts, refunds, cash movements, the float, expected and counted
//! cash, the variance and who approved it. Printable (the print rules in `style.css` drop the
//! console around it).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::admin::AdminChrome;
use super::admin_devices::TillManager;
use super::admin_pos::signed;
use super::render::{capitalize, ok, utc, PageError};
use crate::AppState;

struct MethodRow {
    method: String,
    count: i64,
    amount: String,
}

struct MovementRow {
    kind: &'static str,
    amount: String,
    reason: String,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "admin_shift.html")]
struct ZPage {
    admin: AdminChrome,
    number: i64,
    device: String,
    location: String,
    open: bool,
    opened_by: String,
    opened: String,
    closed_by: String,
    closed: String,
    sales_count: i64,
    offline_sales: i64,
    gross: String,
    discounts: String,
    tax: String,
    by_method: Vec<MethodRow>,
    refunds_count: i64,
    refunds: String,
    refunds_by_method: Vec<MethodRow>,
    movements: Vec<MovementRow>,
    float: String,
    cash_in: String,
    cash_out: String,
    expected: String,
    counted: String,
    variance: String,
    approved_by: String,
    note: String,
}

/// A payment method as people say it (`cash`, `card_terminal` -> "Card terminal").
fn method_label(m: &str) -> String {
    capitalize(&m.replace('_', " "))
}

/// `GET /admin/shifts/{id}`: the Z report (for an open shift, the figures so far).
pub async fn show(
    s: TillManager,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let z = state.db.z_report(&id).await?;
    let cur = state.cfg.currency;
    let sh = &z.shift;
    let open = sh.status == "open";
    ok(&ZPage {
        admin: AdminChrome::new(&state, &s, "pos"),
        number: sh.number,
        device: sh.device_name.clone(),
        location: sh.location_name.clone(),
        open,
        opened_by: sh.opened_by_name.clone(),
        opened: utc(sh.opened_at),
        closed_by: sh.closed_by_name.clone().unwrap_or_default(),
        closed: sh.closed_at.map(utc).unwrap_or_default(),
        sales_count: z.sales_count,
        offline_sales: z.offline_sales,
        gross: cur.format(z.gross_minor),
        discounts: cur.format(z.discounts_minor),
        tax: cur.format(z.tax_minor),
        by_method: z
            .by_method
            .iter()
            .map(|(m, n, a)| MethodRow {
                method: method_label(m),
                count: *n,
                amount: cur.format(*a),
            })
            .collect(),
        refunds_count: z.refunds_count,
        refunds: cur.format(z.refunds_minor),
        refunds_by_method: z
            .refunds_by_method
            .iter()
            .map(|(m, a)| MethodRow {
                method: method_label(m),
                count: 0,
                amount: cur.format(*a),
            })
            .collect(),
        movements: z
            .movements
            .iter()
            .map(|m| MovementRow {
                kind: if m.kind == "in" {
                    "Cash in"
                } else {
                    "Cash out"
                },
                amount: cur.format(m.amount_minor),
                reason: m.reason.clone(),
                by: m.actor_name.clone(),
                at: utc(m.at),
            })
            .collect(),
        float: cur.format(sh.float_minor),
        cash_in: cur.format(z.cash_in_minor),
        cash_out: cur.format(z.cash_out_minor),
        expected: cur.format(z.expected_minor),
        counted: sh.counted_minor.map(|m| cur.format(m)).unwrap_or_default(),
        variance: sh
            .variance_minor
            .map(|m| signed(&state, m))
            .unwrap_or_default(),
        approved_by: sh.variance_approved_by_name.clone().unwrap_or_default(),
        note: sh.note.clone(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn methods_in_words() {
        assert_eq!(super::method_label("card_terminal"), "Card terminal");
        assert_eq!(super::method_label("cash"), "Cash");
    }
}
