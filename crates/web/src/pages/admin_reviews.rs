//! The phone-check review queue (owners and managers: the OrdersManage permission): orders
//! screening held, highest score first, each with its top reasons, total, when it was placed,
//! how long its card authorization has left and how many calls were logged. One order's review
//! page is in [`super::admin_reviews_view`], its actions (approve, cancel, log a call, ask to
//! pay again) in [`super::admin_reviews_actions`].

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use storefort_store::reviews::ReviewSummary;

use super::admin::AdminChrome;
use super::admin_orders_format::money;
use super::admin_reviews_actions as actions;
use super::admin_reviews_format::{time_left, TimeLeft};
use super::admin_reviews_view as view;
use super::render::{ok, seg, url_with, utc, PageError};
use crate::auth::{perm, Admin};
use crate::AppState;

/// Staff who may work the queue: look at held orders and approve, cancel or call them.
pub type Reviewer = Admin<perm::OrdersManage>;

/// The queue page.
pub const QUEUE: &str = "/admin/reviews";
/// Most orders the queue shows at once.
const QUEUE_LIMIT: i64 = 200;
/// Reasons shown per order in the queue (the review page shows all of them).
const TOP_REASONS: usize = 3;

/// This module's routes (the queue, one order's review page and its actions).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(QUEUE, get(queue))
        .route("/admin/reviews/{id}", get(view::show))
        .route("/admin/reviews/{id}/approve", post(actions::approve))
        .route("/admin/reviews/{id}/cancel", post(actions::cancel))
        .route("/admin/reviews/{id}/calls", post(actions::call))
        .route("/admin/reviews/{id}/ask-to-pay", post(actions::ask_to_pay))
}

/// The review page of order `id`, with a `done` notice (empty for none).
pub fn review_url(id: &str, done: &str) -> String {
    let path = format!("{QUEUE}/{}", seg(id));
    if done.is_empty() {
        path
    } else {
        url_with(&path, &[("done", done)])
    }
}

struct Row {
    url: String,
    number: i64,
    score: i64,
    reasons: Vec<String>,
    more: usize,
    total: String,
    placed: String,
    left: Option<TimeLeft>,
    calls: i64,
}

#[derive(Template)]
#[template(path = "admin_reviews.html")]
struct QueuePage {
    admin: AdminChrome,
    rows: Vec<Row>,
    /// The queue holds more than is shown.
    capped: bool,
}

fn row(state: &AppState, now: i64, r: &ReviewSummary) -> Row {
    Row {
        url: review_url(&r.order_id, ""),
        number: r.number,
        score: r.score,
        reasons: r
            .reasons
            .iter()
            .take(TOP_REASONS)
            .map(|x| x.text.clone())
            .collect(),
        more: r.reasons.len().saturating_sub(TOP_REASONS),
        total: money(state, &r.currency, r.total_minor),
        placed: utc(r.created_at),
        left: r.auth_expires_at.map(|at| time_left(now, at)),
        calls: r.calls,
    }
}

/// `GET /admin/reviews`: orders waiting for a phone check, highest score first. The queue
/// shows no contact details (reasons never hold any), so looking at it is not audited; each
/// order's page is.
pub async fn queue(s: Reviewer, State(state): State<AppState>) -> Result<Response, PageError> {
    let held = state.db.review_queue(QUEUE_LIMIT + 1).await?;
    let now = state.db.now();
    let capped = held.len() as i64 > QUEUE_LIMIT;
    let rows = held
        .iter()
        .take(QUEUE_LIMIT as usize)
        .map(|r| row(&state, now, r))
        .collect();
    ok(&QueuePage {
        admin: AdminChrome::new(&state, &s, "reviews"),
        rows,
        capped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_links() {
        assert_eq!(review_url("abc", ""), "/admin/reviews/abc");
        assert_eq!(
            review_url("abc", "approved"),
            "/admin/reviews/abc?done=approved"
        );
        assert_eq!(review_url("a/b", ""), "/admin/reviews/a%2Fb");
    }
}
