//! The Z report of a shift, printable at the till (80 mm paper by default): sales by payment
//! method, tax, discounts, refunds, cash movements, and the count against what was expected.
//! The admin console shows the same figures on its own page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use storefort_store::pos_shifts::ZReport;

use super::error::{PosError, PosResult};
use super::receipt::PaperQuery;
use super::till::Till;
use crate::pages::render::{page as render_page, utc};
use crate::AppState;

/// One row: label and amount.
pub struct Row {
    /// What.
    pub label: String,
    /// How much.
    pub amount: String,
}

#[derive(askama::Template)]
#[template(path = "pos_z.html")]
struct ZPage {
    shop_name: String,
    paper: &'static str,
    number: i64,
    till: String,
    location: String,
    opened: String,
    closed: String,
    sales: Vec<Row>,
    summary: Vec<Row>,
    refunds: Vec<Row>,
    cash: Vec<Row>,
    movements: Vec<Row>,
    open: bool,
}

fn rows(r: &ZReport, s: &AppState) -> ZPage {
    let c = &s.cfg.currency;
    let f = |m: i64| c.format(m);
    let sh = &r.shift;
    let method = |m: &str| match m {
        "cash" => "Cash".to_string(),
        "card" | "card_terminal" => "Card (terminal)".to_string(),
        other => other.to_string(),
    };
    let mut cash = vec![
        Row {
            label: "Float".into(),
            amount: f(sh.float_minor),
        },
        Row {
            label: "Cash in".into(),
            amount: f(r.cash_in_minor),
        },
        Row {
            label: "Cash out".into(),
            amount: f(-r.cash_out_minor),
        },
        Row {
            label: "Expected in drawer".into(),
            amount: f(r.expected_minor),
        },
    ];
    if let Some(counted) = sh.counted_minor {
        cash.push(Row {
            label: "Counted".into(),
            amount: f(counted),
        });
    }
    if let Some(v) = sh.variance_minor {
        cash.push(Row {
            label: if v > 0 {
                "Over".into()
            } else if v < 0 {
                "Short".into()
            } else {
                "Variance".into()
            },
            amount: f(v),
        });
    }
    if let Some(by) = &sh.variance_approved_by_name {
        cash.push(Row {
            label: "Variance approved by".into(),
            amount: by.clone(),
        });
    }
    ZPage {
        shop_name: s.cfg.shop_name.clone(),
        paper: "80",
        number: sh.number,
        till: sh.device_name.clone(),
        location: sh.location_name.clone(),
        opened: format!("{} by {}", utc(sh.opened_at), sh.opened_by_name),
        closed: match (sh.closed_at, &sh.closed_by_name) {
            (Some(at), Some(by)) => format!("{} by {by}", utc(at)),
            _ => String::new(),
        },
        sales: r
            .by_method
            .iter()
            .map(|(m, n, a)| Row {
                label: format!("{} ({n})", method(m)),
                amount: f(*a),
            })
            .collect(),
        summary: vec![
            Row {
                label: format!("Sales ({})", r.sales_count),
                amount: f(r.gross_minor),
            },
            Row {
                label: "Discounts".into(),
                amount: f(-r.discounts_minor),
            },
            Row {
                label: "Tax".into(),
                amount: f(r.tax_minor),
            },
            Row {
                label: format!("Offline sales ({})", r.offline_sales),
                amount: String::new(),
            },
        ],
        refunds: std::iter::once(Row {
            label: format!("Refunds ({})", r.refunds_count),
            amount: f(-r.refunds_minor),
        })
        .chain(r.refunds_by_method.iter().map(|(m, a)| Row {
            label: method(m),
            amount: f(-a),
        }))
        .collect(),
        cash,
        movements: r
            .movements
            .iter()
            .map(|m| Row {
                label: format!("{} {} · {} · {}", utc(m.at), m.kind, m.actor_name, m.reason),
                amount: f(if m.kind == "out" {
                    -m.amount_minor
                } else {
                    m.amount_minor
                }),
            })
            .collect(),
        open: sh.status == "open",
    }
}

/// `GET /pos/z/{shift_id}`: a shift of this till.
pub async fn page(
    State(s): State<AppState>,
    till: Till,
    Path(id): Path<String>,
    axum::extract::Query(q): Query<PaperQuery>,
) -> PosResult<Response> {
    let r = s.db.z_report(&id).await?;
    if r.shift.device_id != till.device.id {
        return Err(PosError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such shift on this till.",
        ));
    }
    let mut t = rows(&r, &s);
    if q.paper.as_deref() == Some("58") {
        t.paper = "58";
    }
    Ok(render_page(StatusCode::OK, &t))
}
